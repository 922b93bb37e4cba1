"""Real TLS peers for the interop tests, all on 127.0.0.1: OpenSSL's s_server / s_client, Python's
``ssl``, our own server in a thread, and the command line in a subprocess.

Every process is bounded by a timeout and killed in ``finally``; every port comes from binding
127.0.0.1:0 (``openssl s_server -accept 127.0.0.1:0`` prints the port it got).

Fixtures here are imported by the test modules that use them (``from peers import lesson``);
tests/conftest.py belongs to the whole suite.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tlslesson import groups, keylog, net, pki
from tlslesson.constants import NamedGroup as NG

ROOT = Path(__file__).resolve().parent.parent
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="the openssl command is not installed")

PROCESS_TIMEOUT = 15.0        # no subprocess of these tests may live longer than this


# ---------------------------------------------------------------------------------------------
# The lesson PKI, written once per session
# ---------------------------------------------------------------------------------------------
@dataclass
class LessonFiles:
    dir: Path
    pki: pki.LessonPKI
    issuer: pki.Identity | None = None      # the intermediate with its key (extra_identities)

    def __getitem__(self, name: str) -> str:
        """``files["ca.crt"]`` -> the path as a string (for command lines)."""
        path = self.dir / name
        assert path.exists(), path
        return str(path)

    @property
    def trusted(self):
        return self.pki.trusted


@pytest.fixture(scope="session")
def lesson(tmp_path_factory) -> LessonFiles:
    directory = tmp_path_factory.mktemp("lesson-pki")
    made = pki.make_pki()
    pki.write_pki(directory, made)
    return LessonFiles(directory, pki.load_pki(directory), made.intermediate)


@pytest.fixture(scope="session")
def extra_identities(lesson) -> dict:
    """{key type: Identity} for pki.EXTRA_KEY_TYPES (P-384, P-521, Ed25519, Ed448, RSA-PSS),
    issued by ``lesson``'s intermediate; written beside it as server-<type>.crt / .key."""
    pki.write_identities(lesson.dir, lesson.issuer)
    return {t: load_identity(lesson[f"server-{t}.crt"], lesson[f"server-{t}.key"])
            for t in pki.EXTRA_KEY_TYPES}


CERT_CURVE = {"ecdsa-p384": NG.secp384r1, "ecdsa-p521": NG.secp521r1}


def suite_for_key_type(key_type: str, version: str):
    """The suite a server with an extra key type (``pki.EXTRA_KEY_TYPES``) is tested with: TLS 1.3
    AES-128-GCM; in TLS 1.2 ECDHE-RSA for the RSA-PSS certificate, ECDHE-ECDSA for the others."""
    from tlslesson import suites
    if version == "1.3":
        return suites.get("TLS_AES_128_GCM_SHA256")
    return suites.get("ECDHE-RSA-AES128-GCM-SHA256" if key_type == "rsa-pss"
                      else "ECDHE-ECDSA-AES128-GCM-SHA256")


def server_signature_scheme(connection, version: str) -> int:
    """The scheme the server signed with: ServerKeyExchange (1.2) or CertificateVerify (1.3)."""
    name = "ServerKeyExchange" if version == "1.2" else "CertificateVerify"
    return next(s.message.scheme for s in connection.log if s.name == name and s.sender == "server")


def groups_for_certificate(key_type, version):
    """A TLS 1.2 server (OpenSSL, GnuTLS) signs with an ECDSA certificate only if the client's
    supported_groups lists its curve (RFC 8422 §5.1, RFC 4492 §5.1): offer it, if we have it."""
    curve = CERT_CURVE.get(key_type)
    if curve is None or version == "1.3":
        return groups.DEFAULT
    try:
        groups.get(curve)
    except KeyError:
        pytest.skip(f"no {curve.name} group in this engine, and a TLS 1.2 client must list "
                    "the certificate's curve in supported_groups (RFC 8422 §5.1; OpenSSL "
                    "enforces it)")
    return (NG.x25519, curve)


def load_identity(cert_file, key_file):
    leaf, *chain = pki.load_pem_chain(Path(cert_file).read_bytes())
    return pki.Identity(leaf, pki.load_private_key(Path(key_file).read_bytes()), tuple(chain))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_keylog(path) -> dict[tuple[str, bytes], bytes]:
    """{(label, client_random): secret} from an NSS key log file (missing file: {})."""
    path = Path(path)
    if not path.exists():
        return {}
    return {(label, random): secret
            for label, random, secret in keylog.parse(path.read_text()) if label != "RSA"}


def keylog_of(lines) -> dict[tuple[str, bytes], bytes]:
    return {(label, random): secret
            for label, random, secret in keylog.parse("\n".join(lines))}


TLS13_LABELS = ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET")


EARLY_LABELS = ("CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET")     # 0-RTT only


def assert_same_keys(ours: dict, theirs: dict, version: str) -> None:
    """Every secret we logged is the one the other stack logged for the same client random
    (the 0-RTT early secrets too, where a connection had early data)."""
    labels = ("CLIENT_RANDOM",) if version == "1.2" else TLS13_LABELS
    assert {label for label, _ in ours} - set(EARLY_LABELS) == set(labels), ours
    for key, secret in ours.items():
        assert key in theirs, f"{key[0]} for client random {key[1].hex()} missing from peer's log"
        assert theirs[key] == secret, f"{key[0]} differs"


# ---------------------------------------------------------------------------------------------
# Output collection for subprocesses
# ---------------------------------------------------------------------------------------------
class _Collector:
    """Reads a pipe in a thread so the process never blocks on a full pipe."""

    def __init__(self, stream):
        self.data = bytearray()
        self._cond = threading.Condition()
        self._done = False
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream) -> None:
        try:
            while chunk := stream.read1(65536) if hasattr(stream, "read1") else stream.read(1):
                with self._cond:
                    self.data += chunk
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def wait_for(self, pattern: bytes | re.Pattern, timeout: float):
        """The first match of ``pattern`` (bytes or compiled regex) within ``timeout``, else None."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                found = (pattern.search(self.data) if isinstance(pattern, re.Pattern)
                         else (pattern if pattern in self.data else None))
                if found or self._done:
                    return found
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def finish(self, timeout: float = 5.0) -> bytes:
        self._thread.join(timeout)
        return bytes(self.data)

    def text(self) -> str:
        return bytes(self.data).decode("utf-8", "replace")


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


# ---------------------------------------------------------------------------------------------
# openssl s_server
# ---------------------------------------------------------------------------------------------
class OpenSSLServer:
    """``openssl s_server -www -naccept 1`` on 127.0.0.1:0; ``.port`` once it prints ACCEPT."""

    def __init__(self, files: LessonFiles, *args: str, ecdsa: bool = False, keylog=None,
                 www: bool = True, cert: str | None = None):
        # without -www s_server reads its stdin and ends at EOF: it gets a pipe kept open
        cert = cert or ("server-ecdsa" if ecdsa else "server")   # cert: e.g. "server-ed25519"
        self.keylog = keylog
        self.args = [OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-naccept", "1",
                     "-cert", files[f"{cert}.crt"], "-cert_chain", files["intermediate.crt"],
                     "-key", files[f"{cert}.key"], *(["-www"] if www else []),
                     *(["-keylogfile", str(keylog)] if keylog else []), *args]
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> "OpenSSLServer":
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL if "-www" in self.args
                                     else subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = _Collector(self.proc.stdout)
        found = self.output.wait_for(re.compile(rb"ACCEPT 127\.0\.0\.1:(\d+)"), PROCESS_TIMEOUT)
        if not found:
            _kill(self.proc)
            raise RuntimeError("s_server did not start: " + self.output.text())
        self.port = int(found.group(1))
        return self

    def wait(self, timeout: float = 5.0) -> str:
        """Wait for s_server to exit (it does after its one connection); its output."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
        self.output.finish()
        return self.output.text()

    def __exit__(self, *exc) -> None:
        _kill(self.proc)
        self.output.finish()


def status_page_cipher(page: str) -> str | None:
    m = re.search(r"New, (\S+), Cipher is (\S+)", page)   # "SSLv3" for AES128-SHA: its minimum version
    return m and m.group(2)


# ---------------------------------------------------------------------------------------------
# openssl s_client
# ---------------------------------------------------------------------------------------------
NO_EMS_CONF = """\
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Options = -ExtendedMasterSecret
"""


@dataclass
class SClientResult:
    returncode: int | None
    output: str
    echoed: bool

    @property
    def cipher(self) -> str | None:
        m = re.search(r"(?:New|Reused), \S+, Cipher is (\S+)", self.output)
        return m and m.group(1)

    @property
    def protocol(self) -> str | None:
        # "New, TLSv1.3, Cipher is ..."; for AES128-SHA that says SSLv3 (the cipher's minimum),
        # so then read the session's "Protocol  : TLSv1.2" line
        m = (re.search(r"(?:New|Reused), (TLSv1\.[23]), Cipher is", self.output)
             or re.search(r"Protocol *: (\S+)", self.output))
        return m and m.group(1)


def s_client(port: int, files: LessonFiles, *args: str, message: bytes | None = None,
             keylog=None, no_ems: bool = False, tmp_path: Path | None = None,
             timeout: float = 10.0) -> SClientResult:
    """Run ``openssl s_client`` against 127.0.0.1:port: write ``message``, wait until it comes
    back (our server echoes), then close stdin so s_client sends close_notify and exits."""
    env = dict(os.environ)
    if no_ems:
        conf = (tmp_path or Path(files.dir)) / "no-ems.cnf"
        conf.write_text(NO_EMS_CONF)
        env["OPENSSL_CONF"] = str(conf)
    cmd = [OPENSSL, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
           "-CAfile", files["ca.crt"], "-verify_return_error", "-no_ign_eof",
           *(["-keylogfile", str(keylog)] if keylog else []), *args]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    out = _Collector(proc.stdout)
    echoed = False
    try:
        if message is not None:
            # s_client reads stdin only once connected; the message waits in the pipe till then
            try:
                proc.stdin.write(message)
                proc.stdin.flush()
            except BrokenPipeError:     # s_client already gave up (e.g. refused): read why below
                pass
            # the echo comes after the handshake summary ("---" + session) has been printed
            echoed = out.wait_for(re.compile(rb"Verify return code[^\n]*\n(?:.|\n)*"
                                             + re.escape(message)), timeout) is not None
        else:
            out.wait_for(re.compile(rb"Verify return code|errno|alert|error"), timeout)
        try:
            proc.stdin.close()          # EOF: s_client sends close_notify and exits
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    finally:
        _kill(proc)
    return SClientResult(proc.returncode, out.finish().decode("utf-8", "replace"), echoed)


# ---------------------------------------------------------------------------------------------
# Our server, in-process
# ---------------------------------------------------------------------------------------------
class OurServer:
    """``net.Server`` in a background thread; the reports and the key log after ``stop``."""

    def __init__(self, config, *, timeout: float = 5.0, keylog=None, **options):
        self.server = net.serve_in_background(config, timeout=timeout, keylog=keylog, **options)
        self.port = self.server.port

    def __enter__(self) -> "OurServer":
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()

    def wait_for_reports(self, count: int = 1, timeout: float = 5.0):
        end = time.monotonic() + timeout
        while len(self.server.reports) < count and time.monotonic() < end:
            time.sleep(0.01)
        return list(self.server.reports)


# ---------------------------------------------------------------------------------------------
# Python's ssl
# ---------------------------------------------------------------------------------------------
def listen_in_background(owner):
    """Listen on a free 127.0.0.1 port (``owner.port``) and run ``owner._run`` in a thread, which
    accepts from ``owner._listener``; every accept and read is bounded by ``owner.timeout``."""
    owner._listener = socket.create_server(("127.0.0.1", 0))
    owner._listener.settimeout(owner.timeout)
    owner.port = owner._listener.getsockname()[1]
    owner._thread = threading.Thread(target=owner._run, daemon=True)
    owner._thread.start()
    return owner


@dataclass
class PySSLServer:
    """An echo server on Python's ``ssl`` for one connection, in a thread."""
    context: ssl.SSLContext
    timeout: float = 10.0
    port: int = 0
    error: BaseException | None = None
    version: str | None = None
    cipher: str | None = None
    received: bytes = b""
    peer_certificate: dict | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def __enter__(self) -> "PySSLServer":
        return listen_in_background(self)

    def _run(self) -> None:
        try:
            raw, _ = self._listener.accept()
            raw.settimeout(self.timeout)
            with self.context.wrap_socket(raw, server_side=True) as tls:
                self.version, self.cipher = tls.version(), tls.cipher()[0]
                self.peer_certificate = tls.getpeercert()
                while data := tls.recv(65536):       # b"" at the client's close_notify
                    self.received += data
                    tls.sendall(data)
                tls.unwrap()                         # our close_notify
        except BaseException as exc:                # reported to the test, not lost in a thread
            self.error = exc
        finally:
            self._listener.close()

    def join(self, timeout: float = 10.0) -> None:
        self._thread.join(timeout)

    def __exit__(self, *exc) -> None:
        self._listener.close()
        self._thread.join(self.timeout)


def py_ssl_client(port: int, context: ssl.SSLContext, message: bytes,
                  timeout: float = 10.0) -> tuple[str, str, bytes]:
    """Python ``ssl`` client: handshake, send, read the echo, close_notify. (version, cipher, echo)"""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(message)
            echo = b""
            while len(echo) < len(message):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                echo += chunk
            result = (tls.version(), tls.cipher()[0], echo)
            tls.unwrap()
    return result


# ---------------------------------------------------------------------------------------------
# The command line in a subprocess
# ---------------------------------------------------------------------------------------------
def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SSLKEYLOGFILE", None)
    env.pop("TLSLESSON_DEBUG", None)
    return env


def run_cli(*args: str, timeout: float = 30.0, input: bytes | None = None):
    """``python -m tlslesson ARGS``; a CompletedProcess with text stdout/stderr."""
    return subprocess.run([sys.executable, "-m", "tlslesson", *args], capture_output=True,
                          env=cli_env(), timeout=timeout, input=input, cwd=str(ROOT))


class CLIServer:
    """``python -m tlslesson serve --port 0 ...`` in a subprocess; ``.port`` from its first line."""

    def __init__(self, *args: str):
        self.args = [sys.executable, "-m", "tlslesson", "serve", "--port", "0", *args]

    def __enter__(self) -> "CLIServer":
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=cli_env(), cwd=str(ROOT))
        self.stdout, self.stderr = _Collector(self.proc.stdout), _Collector(self.proc.stderr)
        found = self.stdout.wait_for(re.compile(rb"listening on 127\.0\.0\.1:(\d+)\n"),
                                     PROCESS_TIMEOUT)
        if not found:
            _kill(self.proc)
            raise RuntimeError("serve did not start: " + self.stderr.text())
        self.port = int(found.group(1))
        return self

    def wait(self, timeout: float = 10.0) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def __exit__(self, *exc) -> None:
        _kill(self.proc)
        self.stdout.finish()
        self.stderr.finish()


# ---------------------------------------------------------------------------------------------
# Misbehaving peers for the fault tests
# ---------------------------------------------------------------------------------------------
class FakeServer:
    """A plain TCP server for one client: ``behaviour(sock)`` decides what happens."""

    def __init__(self, behaviour, timeout: float = 10.0):
        self.behaviour, self.timeout = behaviour, timeout
        self.error: BaseException | None = None

    def __enter__(self) -> "FakeServer":
        self._stop = threading.Event()
        return listen_in_background(self)

    def _run(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except OSError:
            return
        with sock:
            sock.settimeout(self.timeout)
            try:
                self.behaviour(sock, self._stop)
            except OSError:
                pass
            except BaseException as exc:
                self.error = exc

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(self.timeout)


def read_some(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def split_records(buffer: bytearray) -> list[bytes]:
    """Take every complete TLS record off the front of ``buffer``."""
    records = []
    while len(buffer) >= 5:
        length = int.from_bytes(buffer[3:5], "big")
        if len(buffer) < 5 + length:
            break
        records.append(bytes(buffer[:5 + length]))
        del buffer[:5 + length]
    return records


class _Proxy:
    """A proxy on 127.0.0.1 for one client of ``upstream_port``; subclasses say how bytes are
    forwarded (``_pump``), one thread per direction ("c2s" / "s2c")."""

    nodelay = False

    def __init__(self, upstream_port: int, timeout: float = 10.0):
        self.upstream_port, self.timeout = upstream_port, timeout

    def __enter__(self):
        return listen_in_background(self)

    def _pump(self, src, dst, direction: str) -> None:
        raise NotImplementedError

    def _forward(self, src, dst, direction: str) -> None:
        try:
            self._pump(src, dst, direction)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _run(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        with client, socket.create_connection(("127.0.0.1", self.upstream_port),
                                              timeout=self.timeout) as server:
            for sock in (client, server):
                sock.settimeout(self.timeout)
                if self.nodelay:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            pumps = [threading.Thread(target=self._forward, args=(client, server, "c2s"),
                                      daemon=True),
                     threading.Thread(target=self._forward, args=(server, client, "s2c"),
                                      daemon=True)]
            for p in pumps:
                p.start()
            for p in pumps:
                p.join(self.timeout)

    def __exit__(self, *exc) -> None:
        self._listener.close()
        self._thread.join(self.timeout)


class TamperProxy(_Proxy):
    """A man in the middle on 127.0.0.1: forwards records between one client and ``upstream``,
    passing each through ``tamper(direction, number, record) -> record`` ("c2s" / "s2c"; number
    counts records per direction from 0)."""

    def __init__(self, upstream_port: int, tamper, timeout: float = 10.0):
        super().__init__(upstream_port, timeout)
        self.tamper = tamper
        self.records: dict[str, list[bytes]] = {"c2s": [], "s2c": []}

    def _pump(self, src, dst, direction: str) -> None:
        buffer = bytearray()
        while data := src.recv(65536):
            buffer += data
            for record in split_records(buffer):
                number = len(self.records[direction])
                self.records[direction].append(record)
                dst.sendall(self.tamper(direction, number, record))


def flip_byte(record: bytes, offset: int = -1) -> bytes:
    """The record with one byte of its fragment flipped (default: the last, inside the tag)."""
    data = bytearray(record)
    data[offset if offset >= 0 else len(data) + offset] ^= 0x01
    return bytes(data)


class DribbleProxy(_Proxy):
    """A proxy on 127.0.0.1 for one client that forwards every byte in its own TCP segment
    (TCP_NODELAY, a ``delay`` after each byte) in the ``dribble`` directions ("s2c" / "c2s"),
    and everything else as it comes. ``segments[direction]`` counts the sends."""

    nodelay = True

    def __init__(self, upstream_port: int, dribble=("s2c", "c2s"), delay: float = 0.0002,
                 timeout: float = 10.0):
        super().__init__(upstream_port, timeout)
        self.dribble, self.delay = set(dribble), delay
        self.segments = {"c2s": 0, "s2c": 0}
        self.bytes = {"c2s": 0, "s2c": 0}

    def _pump(self, src, dst, direction: str) -> None:
        end = time.monotonic() + self.timeout
        while time.monotonic() < end and (data := src.recv(65536)):
            self.bytes[direction] += len(data)
            pieces = ([data[i:i + 1] for i in range(len(data))]
                      if direction in self.dribble else [data])
            for piece in pieces:
                dst.sendall(piece)
                self.segments[direction] += 1
                if direction in self.dribble:
                    time.sleep(self.delay)
