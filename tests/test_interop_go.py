"""Interop with Go's crypto/tls (Go 1.19), both directions: tests/interop/go/tlsecho.go, built
once per session (stdlib only, offline), is an echo server or a client on 127.0.0.1.

TLS 1.2: every suite of the table that crypto/tls has (no DHE in Go: DHE-RSA-AES128-GCM-SHA256 is
left out), client authentication. Go 1.19 has no extended master secret, so every TLS 1.2 case
runs with EMS off (our side offers it, Go ignores it). TLS 1.3: every suite (crypto/tls cannot
restrict TLS 1.3 suites, so our side offers one and Go must take it), x25519, secp256r1,
secp384r1 and secp521r1 (no x448 or FFDHE in Go; the last two also in TLS 1.2 ECDHE), a HelloRetryRequest each way, client authentication. Go writes a key log
(``tls.Config.KeyLogWriter``): its lines equal ours one for one (Go writes no EXPORTER_SECRET).
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from peers import PROCESS_TIMEOUT, TLS13_LABELS, OurServer, _Collector, _kill, lesson  # noqa: F401
from tlslesson import groups, net, suites
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import AlertDescription, NamedGroup
from tlslesson.errors import AlertError

GO = shutil.which("go")
pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(GO is None, reason="the go command is not installed "
                                                    "(apt golang-go)")]

SOURCE = Path(__file__).resolve().parent / "interop" / "go" / "tlsecho.go"
# Go 1.19 has no x448 and no FFDHE
GO_CURVE = {NamedGroup.x25519: "X25519", NamedGroup.secp256r1: "P256",
            NamedGroup.secp384r1: "P384", NamedGroup.secp521r1: "P521"}
TLS12_NEW_CURVES = [NamedGroup.secp384r1, NamedGroup.secp521r1]   # not in our default offer
ECDHE_SUITE = "ECDHE-RSA-AES128-GCM-SHA256"


def accepting(group) -> tuple[int, ...]:
    """Our default groups, and the one given if it is not among them (we do not accept it else)."""
    return groups.DEFAULT if group in groups.DEFAULT else (*groups.DEFAULT, group)
GO_PROTOCOL = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}
SERVER_SUBJECT = "CN=localhost,O=tlslesson (lesson only)"          # pkix.Name.String()
CLIENT_SUBJECT = "CN=lesson client,O=tlslesson (lesson only)"


# ------------------------------------------------------------------------------------------------
# The Go program, built once per session
# ------------------------------------------------------------------------------------------------
@dataclass
class GoPeer:
    binary: str
    build_seconds: float

    def command(self, mode: str, *args: str) -> list[str]:
        return [self.binary, "-mode", mode, "-timeout", "10", *args]


@pytest.fixture(scope="session")
def go(tmp_path_factory) -> GoPeer:
    directory = tmp_path_factory.mktemp("go")
    binary = directory / "tlsecho"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    # no module, no network: the standard library only; the caches in the temp dir
    env.update(GO111MODULE="off", GOFLAGS="", GOPROXY="off", GOCACHE=str(directory / "cache"),
               GOPATH=str(directory / "gopath"), CGO_ENABLED="0")
    started = time.monotonic()
    done = subprocess.run([GO, "build", "-o", str(binary), str(SOURCE)], cwd=str(directory),
                          env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    seconds = time.monotonic() - started
    print(f"\ngo build tlsecho.go: {seconds:.1f} s")
    return GoPeer(str(binary), seconds)


@dataclass
class GoReport:
    returncode: int | None
    output: str

    def field(self, name: str) -> str | None:
        m = re.search(rf"^{name} (.*)$", self.output, re.M)
        return m and m.group(1)

    protocol = property(lambda self: self.field("PROTOCOL"))
    suite = property(lambda self: self.field("SUITE"))
    peer = property(lambda self: self.field("PEER"))
    local = property(lambda self: self.field("LOCAL"))

    @property
    def echo(self) -> bytes | None:
        value = self.field("ECHO")
        return None if value is None else bytes.fromhex(value)

    @property
    def echoed(self) -> int | None:
        value = self.field("ECHOED")
        return None if value is None else int(value)


def _options(version=None, suite=None, group=None, curves=None, keylog=None) -> list[str]:
    args = []
    if version is not None:
        args += ["-version", version]
    if suite is not None and suite.version == "1.2":
        args += ["-suite", suite.name]
    names = curves or ([GO_CURVE[group]] if group is not None else None)
    if names:
        args += ["-curves", ",".join(names)]
    if keylog is not None:
        args += ["-keylog", str(keylog)]
    return args


def run_go_server(go: GoPeer, lesson, client, *, client_auth=False,
                  certs=("server", "server-ecdsa"), **options):
    """Start tlsecho as a server (both lesson server certificates: Go picks the one the
    ClientHello supports), run ``client(port)`` against it, wait for it: (its report, result)."""
    args = ["-cert", ",".join(lesson[f"{c}.crt"] for c in certs),
            "-key", ",".join(lesson[f"{c}.key"] for c in certs), *_options(**options)]
    if client_auth:
        args += ["-ca", lesson["ca.crt"], "-client-auth"]
    proc = subprocess.Popen(go.command("server", *args), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = _Collector(proc.stdout)
    try:
        found = out.wait_for(re.compile(rb"LISTENING (\d+)\n"), PROCESS_TIMEOUT)
        assert found, "tlsecho server did not start: " + out.text()
        result = client(int(found.group(1)))
        try:
            proc.wait(PROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    finally:
        _kill(proc)
    out.finish()
    return GoReport(proc.returncode, out.text()), result


def run_go_client(go: GoPeer, lesson, port: int, message: bytes, *, client_auth=False,
                  **options) -> GoReport:
    args = ["-port", str(port), "-ca", lesson["ca.crt"], "-message", message.hex(),
            *_options(**options)]
    if client_auth:
        args += ["-cert", lesson["client.crt"], "-key", lesson["client.key"]]
    try:
        done = subprocess.run(go.command("client", *args), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired as exc:       # subprocess.run has killed it
        return GoReport(None, (exc.stdout or b"").decode("utf-8", "replace"))
    return GoReport(done.returncode, (done.stdout + done.stderr).decode("utf-8", "replace"))


def assert_same_key_lines(ours: list[str], theirs: Path, version: str) -> None:
    """Go's key log, line for line, is ours without the EXPORTER_SECRET line it doesn't write."""
    go_lines = [line for line in theirs.read_text().splitlines() if line]
    labels = ["CLIENT_RANDOM"] if version == "1.2" else [l for l in TLS13_LABELS
                                                           if l != "EXPORTER_SECRET"]
    assert sorted(line.split()[0] for line in go_lines) == sorted(labels), go_lines
    assert sorted(l for l in ours if not l.startswith("EXPORTER_SECRET ")) == sorted(go_lines)


def _message() -> bytes:
    # > 16 KiB: several records each way
    return f"hello from tlslesson {secrets.token_hex(8)}\n".encode() * 500


def _our_client(lesson, *, version=None, suite=None, client_auth=False, **options):
    kw = {}
    if version is not None:
        kw["versions"] = (version,)
    if suite is not None:
        kw["suites"] = (suite,)
    return ClientConfig(trusted=lesson.trusted, identity=lesson.pki.client if client_auth
                        else None, **kw, **options)


def _our_server(lesson, *, version=None, suite=None, client_auth=False, **options):
    kw = {}
    if version is not None:
        kw["versions"] = (version,)
    if suite is not None:
        kw["suites"] = (suite,)
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        client_ca=lesson.trusted if client_auth else None, **kw, **options)


# ------------------------------------------------------------------------------------------------
# The matrix: (version, suite, client_auth)
# ------------------------------------------------------------------------------------------------
# crypto/tls has no finite-field DHE
TLS12 = [s for s in suites.TLS12_SUITES if s.kx != "DHE"]
TLS13 = list(suites.TLS13_SUITES)
CASES = ([("1.2", s, False) for s in TLS12] + [("1.2", TLS12[0], True)]
         + [("1.3", s, False) for s in TLS13] + [("1.3", TLS13[0], True)])
# suites.MORE_SUITES that crypto/tls 1.19 has (tls.CipherSuites() + InsecureCipherSuites(): the
# _CBC_SHA256 ones are "insecure", off unless named). Left out, Go has none of them: DHE; the
# CBC _SHA384 suites (0xC024, 0xC028) and TLS_RSA_WITH_AES_256_CBC_SHA256; TLS_AES_128_CCM_SHA256
# (and its TLS 1.3 suites cannot be chosen anyway).
GO_MORE = ("ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-SHA",
           "ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
           "ECDHE-RSA-AES128-SHA256", "ECDHE-ECDSA-AES128-SHA256", "AES128-SHA256", "AES256-SHA",
           "AES256-GCM-SHA384")
CASES += [("1.2", suites.get(name), False) for name in GO_MORE]
CASE_IDS = [s.openssl_name + ("-client-cert" if auth else "") for _, s, auth in CASES]


# ------------------------------------------------------------------------------------------------
# 1. our client -> Go's tls.Server
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_our_client_to_go_server(go, lesson, tmp_path, case):
    version, suite, client_auth = case
    theirs_keys, ours_keys = tmp_path / "go.keys", tmp_path / "ours.keys"
    message = _message()
    config = _our_client(lesson, version=version, suite=suite, client_auth=client_auth)
    theirs, result = run_go_server(
        go, lesson, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=5,
                                             keylog=ours_keys),
        version=version, suite=suite, client_auth=client_auth, keylog=theirs_keys)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert (theirs.protocol, theirs.suite) == (GO_PROTOCOL[version], suite.name)
    assert (result.version, result.suite) == (version, suite)
    assert result.data == message and theirs.echoed == len(message)
    assert result.closed_by == "close_notify"
    # Go chose the certificate the suite needs, and saw ours when it asked
    assert theirs.local == f"{SERVER_SUBJECT} {suite.auth or 'RSA'}"
    assert theirs.peer == (CLIENT_SUBJECT if client_auth else "none")
    if version == "1.2":
        assert result.connection.values["extended_master_secret"] is False   # Go 1.19: no EMS
    assert_same_key_lines(ours_keys.read_text().splitlines(), theirs_keys, version)


@pytest.mark.parametrize("group", list(GO_CURVE), ids=lambda g: NamedGroup(g).name)
def test_our_client_to_go_server_tls13_groups(go, lesson, tmp_path, group):
    theirs_keys, ours_keys = tmp_path / "go.keys", tmp_path / "ours.keys"
    message = _message()
    config = _our_client(lesson, version="1.3", groups=(group,))
    theirs, result = run_go_server(
        go, lesson, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=5,
                                             keylog=ours_keys),
        version="1.3", group=group, keylog=theirs_keys)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert theirs.protocol == "TLSv1.3" and theirs.suite == result.suite.name
    assert result.connection.values["group"] == NamedGroup(group).name
    assert "hello_retry_request_group" not in result.connection.values
    assert result.data == message and theirs.echoed == len(message)
    assert_same_key_lines(ours_keys.read_text().splitlines(), theirs_keys, "1.3")


@pytest.mark.parametrize("group", TLS12_NEW_CURVES, ids=lambda g: NamedGroup(g).name)
def test_our_client_to_go_server_tls12_ecdhe_groups(go, lesson, tmp_path, group):
    theirs_keys, ours_keys = tmp_path / "go.keys", tmp_path / "ours.keys"
    message, suite = _message(), suites.get(ECDHE_SUITE)
    config = _our_client(lesson, version="1.2", suite=suite, groups=accepting(group))
    theirs, result = run_go_server(
        go, lesson, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=5,
                                             keylog=ours_keys),
        version="1.2", suite=suite, group=group, keylog=theirs_keys)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert (theirs.protocol, theirs.suite) == ("TLSv1.2", suite.name)
    assert result.connection.values["group"] == NamedGroup(group).name
    assert result.data == message and theirs.echoed == len(message)
    assert_same_key_lines(ours_keys.read_text().splitlines(), theirs_keys, "1.2")


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
def test_our_client_to_go_server_hello_retry_request(go, lesson, tmp_path, client_auth):
    """Go takes only P-256; our client's one key share is x25519: a HelloRetryRequest."""
    theirs_keys, ours_keys = tmp_path / "go.keys", tmp_path / "ours.keys"
    message = _message()
    config = _our_client(lesson, groups=(NamedGroup.x25519, NamedGroup.secp256r1),
                         client_auth=client_auth)
    theirs, result = run_go_server(
        go, lesson, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=5,
                                             keylog=ours_keys),
        group=NamedGroup.secp256r1, client_auth=client_auth, keylog=theirs_keys)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert theirs.protocol == "TLSv1.3"
    values = result.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    names = [(s.sender, s.name) for s in result.connection.log]
    assert names.count(("client", "ClientHello")) == 2
    assert theirs.peer == (CLIENT_SUBJECT if client_auth else "none")
    assert result.data == message and theirs.echoed == len(message)
    assert_same_key_lines(ours_keys.read_text().splitlines(), theirs_keys, "1.3")


def test_default_client_to_tls12_only_go_server(go, lesson, tmp_path):
    theirs_keys, ours_keys = tmp_path / "go.keys", tmp_path / "ours.keys"
    message = _message()
    theirs, result = run_go_server(
        go, lesson, lambda port: net.connect("127.0.0.1", port, _our_client(lesson),
                                             send=message, timeout=5, keylog=ours_keys),
        version="1.2", keylog=theirs_keys)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert theirs.protocol == "TLSv1.2" and result.version == "1.2"
    assert theirs.suite == result.suite.name and result.data == message
    assert_same_key_lines(ours_keys.read_text().splitlines(), theirs_keys, "1.2")


# ------------------------------------------------------------------------------------------------
# 2. Go's tls.Client -> our server
# ------------------------------------------------------------------------------------------------
def _go_client_to_us(go, lesson, config, message, **go_options):
    with OurServer(config) as server:
        theirs = run_go_client(go, lesson, server.port, message, **go_options)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1, theirs.output[-2000:]
    return theirs, reports[0]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_go_client_to_our_server(go, lesson, tmp_path, case):
    version, suite, client_auth = case
    theirs_keys = tmp_path / "go.keys"
    message = _message()
    config = _our_server(lesson, version=version, suite=suite, client_auth=client_auth)
    theirs, report = _go_client_to_us(go, lesson, config, message, version=version, suite=suite,
                                      client_auth=client_auth, keylog=theirs_keys)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert (theirs.protocol, theirs.suite) == (GO_PROTOCOL[version], suite.name)
    assert (report.version, report.suite) == (version, suite)
    assert theirs.echo == message and report.echoed == len(message)
    assert theirs.peer == SERVER_SUBJECT
    # Go sent its certificate (its CertificateRequest check passed) and our server validated it
    assert theirs.local == (f"{CLIENT_SUBJECT} RSA" if client_auth else "none")
    assert (report.client_certificate is not None) == client_auth
    if version == "1.2":
        assert report.connection.values["extended_master_secret"] is False  # Go 1.19: no EMS
    assert_same_key_lines(report.connection.keylog, theirs_keys, version)


@pytest.mark.parametrize("group", list(GO_CURVE), ids=lambda g: NamedGroup(g).name)
def test_go_client_to_our_server_tls13_groups(go, lesson, tmp_path, group):
    theirs_keys = tmp_path / "go.keys"
    message = _message()
    theirs, report = _go_client_to_us(go, lesson, _our_server(lesson, groups=accepting(group)),
                                      message, version="1.3", group=group, keylog=theirs_keys)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.protocol == "TLSv1.3" and theirs.suite == report.suite.name
    assert report.group == NamedGroup(group).name
    assert "hello_retry_request_group" not in report.connection.values
    assert theirs.echo == message and report.echoed == len(message)
    assert_same_key_lines(report.connection.keylog, theirs_keys, "1.3")


@pytest.mark.parametrize("group", TLS12_NEW_CURVES, ids=lambda g: NamedGroup(g).name)
def test_go_client_to_our_server_tls12_ecdhe_groups(go, lesson, tmp_path, group):
    theirs_keys = tmp_path / "go.keys"
    message, suite = _message(), suites.get(ECDHE_SUITE)
    config = _our_server(lesson, version="1.2", suite=suite, groups=accepting(group))
    theirs, report = _go_client_to_us(go, lesson, config, message, version="1.2", suite=suite,
                                      group=group, keylog=theirs_keys)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert (theirs.protocol, theirs.suite) == ("TLSv1.2", suite.name)
    assert report.group == NamedGroup(group).name
    assert theirs.echo == message and report.echoed == len(message)
    assert_same_key_lines(report.connection.keylog, theirs_keys, "1.2")


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
def test_go_client_to_our_server_hello_retry_request(go, lesson, tmp_path, client_auth):
    """Go 1.19 sends one key share, for its first curve (x25519); our server takes secp256r1."""
    theirs_keys = tmp_path / "go.keys"
    message = _message()
    config = _our_server(lesson, groups=(NamedGroup.secp256r1,), client_auth=client_auth)
    theirs, report = _go_client_to_us(go, lesson, config, message, curves=["X25519", "P256"],
                                      client_auth=client_auth, keylog=theirs_keys)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.protocol == "TLSv1.3"
    values = report.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    assert (report.client_certificate is not None) == client_auth
    assert theirs.echo == message and report.echoed == len(message)
    assert_same_key_lines(report.connection.keylog, theirs_keys, "1.3")


def test_default_go_client_to_tls12_only_server(go, lesson, tmp_path):
    theirs_keys = tmp_path / "go.keys"
    message = _message()
    theirs, report = _go_client_to_us(go, lesson, _our_server(lesson, version="1.2"), message,
                                      keylog=theirs_keys)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.protocol == "TLSv1.2" and report.version == "1.2"
    assert theirs.suite == report.suite.name and theirs.echo == message
    assert_same_key_lines(report.connection.keylog, theirs_keys, "1.2")


# ------------------------------------------------------------------------------------------------
# 3. client authentication refused: the alert each side sends
# ------------------------------------------------------------------------------------------------
# a server that needs a client certificate and gets none: what crypto/tls 1.19 sends
# (bad_certificate in 1.3 too; RFC 8446 §4.4.2.4 says MAY certificate_required), what we send
GO_REFUSAL = {"1.2": AlertDescription.bad_certificate, "1.3": AlertDescription.bad_certificate}
OUR_REFUSAL = {"1.2": AlertDescription.handshake_failure,
               "1.3": AlertDescription.certificate_required}


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_our_client_without_certificate_gets_go_alert(go, lesson, version):
    def attempt(port):
        with pytest.raises(AlertError) as caught:
            net.connect("127.0.0.1", port, _our_client(lesson, version=version), send=b"x",
                        timeout=5)
        return caught.value

    theirs, error = run_go_server(go, lesson, attempt, version=version, client_auth=True)
    assert theirs.returncode == 1 and "ERROR" in theirs.output, theirs.output[-2000:]
    assert error.received and error.alert == GO_REFUSAL[version], error


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_go_client_without_certificate_is_refused(go, lesson, version):
    config = _our_server(lesson, version=version, client_auth=True)
    theirs, report = _go_client_to_us(go, lesson, config, b"x", version=version)
    assert isinstance(report.error, AlertError) and not report.error.received
    assert report.error.alert == OUR_REFUSAL[version]
    assert report.version is None
    assert theirs.returncode == 1 and theirs.echo is None
    # crypto/tls names the alert it received: "remote error: tls: handshake failure"
    assert "remote error: tls: " + OUR_REFUSAL[version].name.replace("_", " ") in theirs.output, \
        theirs.output[-2000:]


# ------------------------------------------------------------------------------------------------
# server keys beyond RSA and P-256: P-384, P-521, Ed25519 (Go 1.19 has no Ed448, and its x509
# does not load id-RSASSA-PSS public keys)
# ------------------------------------------------------------------------------------------------
from peers import extra_identities, groups_for_certificate  # noqa: E402,F401
from peers import server_signature_scheme as _scheme_seen  # noqa: E402
from tlslesson import pki, signatures  # noqa: E402

NEW_CASES = [(k, v) for k in ("ecdsa-p384", "ecdsa-p521", "ed25519") for v in ("1.2", "1.3")]


def _new_suite(version):
    return suites.get("ECDHE-ECDSA-AES128-GCM-SHA256" if version == "1.2"
                      else "TLS_AES_128_GCM_SHA256")


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_our_client_to_go_server_new_key_types(go, lesson, extra_identities, tmp_path, key_type,
                                               version):
    suite = _new_suite(version)
    theirs_keys, ours_keys = tmp_path / "go.keys", tmp_path / "ours.keys"
    message = _message()
    config = _our_client(lesson, version=version, suite=suite,
                         signature_schemes=signatures.MODERN,
                         groups=groups_for_certificate(key_type, version))
    theirs, result = run_go_server(
        go, lesson, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=5,
                                             keylog=ours_keys),
        version=version, suite=suite, certs=(f"server-{key_type}",), keylog=theirs_keys)
    assert theirs.returncode == 0, theirs.output[-2000:]
    assert (theirs.protocol, theirs.suite) == (GO_PROTOCOL[version], suite.name)
    assert result.data == message and theirs.echoed == len(message)
    assert _scheme_seen(result.connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")
    assert_same_key_lines(ours_keys.read_text().splitlines(), theirs_keys, version)


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_go_client_to_our_server_new_key_types(go, lesson, extra_identities, tmp_path, key_type,
                                               version):
    """The new identity first: Go offers its scheme, so our server chooses it."""
    suite, theirs_keys, message = _new_suite(version), tmp_path / "go.keys", _message()
    ident = extra_identities[key_type]
    config = _our_server(lesson, version=version, suite=suite)
    config.identities = (ident, *config.identities)
    theirs, report = _go_client_to_us(go, lesson, config, message, version=version, suite=suite,
                                      keylog=theirs_keys)
    assert report.error is None, (report.error, theirs.output[-2000:])
    assert theirs.returncode == 0 and theirs.echo == message, theirs.output[-2000:]
    assert _scheme_seen(report.connection, version) in signatures.schemes_for(
        ident.key, version == "1.3")
    assert_same_key_lines(report.connection.keylog, theirs_keys, version)


# encrypt_then_mac (RFC 7366) and record_size_limit (RFC 8449): Go 1.19's crypto/tls has neither;
# it ignores both in our hello and answers with neither. Asserted once each way, on a CBC suite.
def test_go_has_no_etm_and_no_record_size_limit(go, lesson, tmp_path):
    suite = next(s for s in TLS12 if not s.aead)
    message = _message()
    config = _our_client(lesson, version="1.2", suite=suite)
    theirs, result = run_go_server(
        go, lesson, lambda port: net.connect("127.0.0.1", port, config, send=message, timeout=5),
        version="1.2", suite=suite, keylog=tmp_path / "go-server.keys")
    assert theirs.returncode == 0 and result.data == message, theirs.output[-2000:]
    theirs, report = _go_client_to_us(go, lesson, _our_server(lesson, version="1.2", suite=suite),
                                      message, version="1.2", suite=suite,
                                      keylog=tmp_path / "go-client.keys")
    assert report.error is None and theirs.echo == message, theirs.output[-2000:]
    for conn in (result.connection, report.connection):
        assert conn.hs.encrypt_then_mac is False and conn.hs.peer_record_size_limit is None
