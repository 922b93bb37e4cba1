"""Real TLS peers on 127.0.0.1 for notebook 10: ``openssl s_server`` / ``s_client`` and Python's
``ssl`` module, started and always stopped here, so the notebook shows one call, not the
subprocess and thread plumbing.

    files = pki.write_pki(work)
    with reference_server(files, "1.2", keylog=work / "server.keys") as peer:
        result = net.connect("127.0.0.1", peer.port, config, send=b"GET / HTTP/1.0\\r\\n\\r\\n")

``reference_server`` is ``openssl s_server -www`` when the ``openssl`` command is installed, else a
one-connection Python ``ssl`` server (``peer.kind`` says which). Every wait has a timeout and every
process and thread is stopped on leaving the ``with`` block: a notebook cell can't hang on a peer.
Loopback only.
"""
from __future__ import annotations

import contextlib
import queue
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

TIMEOUT = 5.0


def openssl() -> str | None:
    """Where the ``openssl`` command is, or None."""
    return shutil.which("openssl")


def line_reader(stream) -> queue.Queue:
    """A queue that a daemon thread fills with the lines of a pipe: read with a timeout."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in stream], daemon=True).start()
    return lines


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Peer:
    """A running reference server: its port, what it is, and (Python ssl) the errors it saw."""
    port: int
    kind: str                                    # "openssl s_server" or "python ssl"
    command: str = ""                            # the s_server command line (for the student)
    errors: list = field(default_factory=list)


@contextlib.contextmanager
def openssl_server(files: dict, *options: str, timeout: float = TIMEOUT):
    """``openssl s_server -www`` on 127.0.0.1 (a free port), with the lesson PKI's server
    certificate; yields a ``Peer``. ``-cert`` reads only the first certificate of server.crt,
    so the intermediate goes in again with ``-cert_chain``."""
    binary = openssl()
    if binary is None:
        raise FileNotFoundError("the openssl command is not installed")
    command = [binary, "s_server", "-accept", "127.0.0.1:0", "-www",
               "-cert", str(files["server.crt"]), "-cert_chain", str(files["intermediate.crt"]),
               "-key", str(files["server.key"]), *options]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        lines = line_reader(proc.stdout)
        deadline = time.monotonic() + timeout
        while True:                                   # wait for "ACCEPT 127.0.0.1:PORT"
            try:
                line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"s_server did not start within {timeout} s") from None
            if found := re.match(r"ACCEPT 127\.0\.0\.1:(\d+)", line):
                break
        shown = ["openssl", *(Path(a).name if "/" in a else a for a in command[1:])]
        yield Peer(int(found.group(1)), "openssl s_server", " ".join(shown))
    finally:
        _stop(proc)


_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


@contextlib.contextmanager
def python_ssl_server(files: dict, keylog=None, version: str = "1.2", timeout: float = TIMEOUT,
                      alpn: tuple[str, ...] = (), connections: int = 1):
    """An HTTPS server on Python's ``ssl`` module, in a thread, for ``connections`` connections one
    after the other: it reads one request, answers "New" (or "Reused", for a resumed session),
    the version and "Cipher is <name>", plus the ALPN protocol if one was agreed, as s_server -www
    words it, and closes with close_notify. One SSLContext for all of them, so its TLS 1.3 tickets
    resume. Writes its key log to ``keylog`` (Python can't show the master secret itself).
    Yields a ``Peer``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["server.crt"], files["server.key"])   # server.crt holds the chain
    context.maximum_version = _VERSIONS[version]
    if alpn:
        context.set_alpn_protocols(list(alpn))
    if keylog is not None:
        context.keylog_filename = str(keylog)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(timeout)
    peer = Peer(listener.getsockname()[1], "python ssl")

    def serve():
        for _ in range(connections):
            try:
                sock, _ = listener.accept()
                sock.settimeout(timeout)
                with context.wrap_socket(sock, server_side=True) as tls:
                    tls.recv(4096)                        # the request
                    name, proto, _ = tls.cipher()
                    status = "Reused" if tls.session_reused else "New"
                    agreed = tls.selected_alpn_protocol()
                    tls.sendall((f"HTTP/1.0 200 ok\r\n\r\n{status}, {proto}, Cipher is {name}\n"
                                 + (f"ALPN protocol: {agreed}\n" if agreed else "")).encode())
                    tls.unwrap()                          # close_notify both ways, then close
            except OSError as error:                      # timeouts, resets: report, never hang
                peer.errors.append(error)
                return

    thread = threading.Thread(target=serve, daemon=True, name="tlslesson-python-ssl-server")
    thread.start()
    try:
        yield peer
    finally:
        thread.join(timeout)
        listener.close()


def reference_server(files: dict, version: str = "1.2", keylog=None, cipher: str | None = None,
                     prefer: str = "openssl", timeout: float = TIMEOUT,
                     alpn: tuple[str, ...] = (), connections: int = 1):
    """A reference TLS server for ``version`` on 127.0.0.1: ``openssl s_server -www`` (``cipher``
    as OpenSSL names it, TLS 1.2 only; ``keylog`` via ``-keylogfile``; ``alpn`` the protocols it
    takes, preferred first, via ``-alpn``) if installed and ``prefer`` is "openssl", else Python's
    ``ssl`` for ``connections`` connections (s_server takes any number until the block ends).
    A context manager yielding a ``Peer``."""
    if prefer == "openssl" and openssl():
        options = ["-tls1_2" if version == "1.2" else "-tls1_3"]
        if cipher and version == "1.2":
            options += ["-cipher", cipher]
        if keylog is not None:
            options += ["-keylogfile", str(keylog)]
        if alpn:
            options += ["-alpn", ",".join(alpn)]
        return openssl_server(files, *options, timeout=timeout)
    return python_ssl_server(files, keylog, version, timeout, alpn, connections)


def run_cli(*args: str, timeout: float = 20) -> tuple[int, str, str]:
    """``python -m tlslesson ARGS`` in a subprocess: (exit status, stdout, stderr)."""
    done = subprocess.run([sys.executable, "-m", "tlslesson", *args], capture_output=True,
                          text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


@dataclass
class EchoRun:
    listening: str          # what our server printed first ("listening on 127.0.0.1:PORT")
    echoed: str             # what s_client read back
    report: str             # our server's one line about the connection


def s_client_to_our_server(files: dict, line: str = "hello from s_client",
                           timeout: float = 10) -> EchoRun | None:
    """``python -m tlslesson serve --once`` (it echoes) with ``openssl s_client`` as its peer,
    sending one line; None if openssl is not installed. Both processes are always stopped."""
    binary = openssl()
    if binary is None:
        return None
    serve = subprocess.Popen([sys.executable, "-m", "tlslesson", "serve", "--port", "0", "--once",
                              "--cert", str(files["server.crt"]), "--key", str(files["server.key"]),
                              "--timeout", "5"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    client = None
    try:
        server_lines = line_reader(serve.stdout)
        listening = server_lines.get(timeout=timeout).strip()
        port = int(listening.rsplit(":", 1)[1])
        client = subprocess.Popen([binary, "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile",
                                   str(files["ca.crt"]), "-verify_return_error", "-quiet",
                                   "-no_ign_eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        client.stdin.write(line + "\n")
        client.stdin.flush()
        echoed = line_reader(client.stdout).get(timeout=timeout).strip()
        client.stdin.close()                            # EOF: s_client closes the connection
        report = server_lines.get(timeout=timeout).strip()
        return EchoRun(listening, echoed, report)
    finally:
        for proc in (client, serve):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.wait(timeout=5)


# ------------------------------------------------------------------------------------------------
# notebook 15: serve --explain from a notebook
# ------------------------------------------------------------------------------------------------
def on_binder() -> bool:
    """Is this kernel on mybinder.org (where the student's browser cannot reach 127.0.0.1)?"""
    import os
    return any(os.environ.get(name) for name in ("BINDER_LAUNCH_HOST", "BINDER_REPO_URL",
                                                   "BINDER_SERVICE_HOST"))


def explain_server(host: str = "127.0.0.1", port: int = 0, timeout: float = TIMEOUT):
    """``python -m tlslesson serve --explain`` inside the kernel (a background thread, the
    lesson certificate for ``localhost``): open ``server.url`` in a browser on this machine.
    ``server.stop()`` ends it; ``last_visit(server)`` is the page of the last request."""
    from .. import net
    from ..connection import ServerConfig
    server = net.Server(ServerConfig(alpn=("http/1.1",)), host, port, timeout=timeout,
                        explain=True, keep_reports=16).start()
    server.url = f"https://localhost:{server.port}/"
    return server


def last_visit(server) -> str | None:
    """The page ``server`` answered its last HTTP request with (HTML), or None before a visit."""
    from ..explain_page import chosen_parameters, page_html
    for report in reversed(list(server.reports)):
        conn = report.connection
        if report.http_request and conn is not None and conn.log:
            steps = conn.log[:next((i for i, s in enumerate(conn.log) if s.name == "Alert"), None)]
            return page_html(steps, chosen_parameters(conn))
    return None
