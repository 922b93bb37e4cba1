"""Interop with GnuTLS 3.7 (Debian's ``gnutls-bin``), both directions, TLS 1.2 and 1.3.

Our client -> ``gnutls-serv --echo``: the data comes back, and the session gnutls-serv prints for
the connection names the version, key exchange, cipher and MAC it negotiated, whether the
extended master secret was used and the client certificate it received. ``gnutls-cli`` -> our
server (net.Server in a thread): ``gnutls-cli`` prints the session it negotiated and the echo.
Both GnuTLS programs write ``SSLKEYLOGFILE``; every line we log equals theirs.

Every suite of the table GnuTLS has (all of them), every TLS 1.3 group it has (x25519,
secp256r1, secp384r1, secp521r1, x448, ffdhe2048/3072/4096; GnuTLS 3.7 has no ML-KEM), every
curve in TLS 1.2 ECDHE, a HelloRetryRequest each way, client
authentication each way, the extended master secret switched off each way (GnuTLS calls it the
session hash: ``%NO_SESSION_HASH``).

GnuTLS picks suites by priority string, not by suite name: ``SUITE`` names the key exchange,
cipher and MAC that together make each of our suites. ``gnutls-serv`` cannot be given port 0
(it prints "port 0" and listens on a port it does not say), so it gets a port the OS chose for
127.0.0.1 a moment before; it listens on every interface, and we dial only 127.0.0.1.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass

import pytest

from peers import (PROCESS_TIMEOUT, OurServer, _Collector, _kill, assert_same_keys, free_port,
                   keylog_of, lesson, read_keylog)  # noqa: F401
from tlslesson import groups, net, suites
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import DOWNGRADE_TLS12, AlertDescription, NamedGroup
from tlslesson.errors import AlertError

GNUTLS_SERV, GNUTLS_CLI = shutil.which("gnutls-serv"), shutil.which("gnutls-cli")
pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(GNUTLS_SERV is None or GNUTLS_CLI is None,
                                 reason="gnutls-serv/gnutls-cli not installed (apt gnutls-bin)")]

# our suite -> (GnuTLS key exchange, cipher, MAC): the priority string and what GnuTLS prints
SUITE = {
    "ECDHE-RSA-AES128-GCM-SHA256": ("ECDHE-RSA", "AES-128-GCM", "AEAD"),
    "ECDHE-RSA-AES256-GCM-SHA384": ("ECDHE-RSA", "AES-256-GCM", "AEAD"),
    "ECDHE-ECDSA-AES128-GCM-SHA256": ("ECDHE-ECDSA", "AES-128-GCM", "AEAD"),
    "ECDHE-RSA-CHACHA20-POLY1305": ("ECDHE-RSA", "CHACHA20-POLY1305", "AEAD"),
    "DHE-RSA-AES128-GCM-SHA256": ("DHE-RSA", "AES-128-GCM", "AEAD"),
    "AES128-GCM-SHA256": ("RSA", "AES-128-GCM", "AEAD"),
    "AES128-SHA": ("RSA", "AES-128-CBC", "SHA1"),
    "TLS_AES_128_GCM_SHA256": (None, "AES-128-GCM", "AEAD"),
    "TLS_AES_256_GCM_SHA384": (None, "AES-256-GCM", "AEAD"),
    "TLS_CHACHA20_POLY1305_SHA256": (None, "CHACHA20-POLY1305", "AEAD"),
    # suites.MORE_SUITES: GnuTLS 3.7 has every one (gnutls-cli -l)
    "ECDHE-ECDSA-AES256-GCM-SHA384": ("ECDHE-ECDSA", "AES-256-GCM", "AEAD"),
    "ECDHE-ECDSA-CHACHA20-POLY1305": ("ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD"),
    "ECDHE-RSA-AES128-SHA": ("ECDHE-RSA", "AES-128-CBC", "SHA1"),
    "ECDHE-RSA-AES256-SHA": ("ECDHE-RSA", "AES-256-CBC", "SHA1"),
    "ECDHE-ECDSA-AES128-SHA": ("ECDHE-ECDSA", "AES-128-CBC", "SHA1"),
    "ECDHE-ECDSA-AES256-SHA": ("ECDHE-ECDSA", "AES-256-CBC", "SHA1"),
    "ECDHE-RSA-AES128-SHA256": ("ECDHE-RSA", "AES-128-CBC", "SHA256"),
    "ECDHE-RSA-AES256-SHA384": ("ECDHE-RSA", "AES-256-CBC", "SHA384"),
    "ECDHE-ECDSA-AES128-SHA256": ("ECDHE-ECDSA", "AES-128-CBC", "SHA256"),
    "ECDHE-ECDSA-AES256-SHA384": ("ECDHE-ECDSA", "AES-256-CBC", "SHA384"),
    "AES128-SHA256": ("RSA", "AES-128-CBC", "SHA256"),
    "AES256-SHA256": ("RSA", "AES-256-CBC", "SHA256"),
    "AES256-SHA": ("RSA", "AES-256-CBC", "SHA1"),
    "DHE-RSA-AES256-GCM-SHA384": ("DHE-RSA", "AES-256-GCM", "AEAD"),
    "DHE-RSA-AES128-SHA": ("DHE-RSA", "AES-128-CBC", "SHA1"),
    "DHE-RSA-AES256-SHA": ("DHE-RSA", "AES-256-CBC", "SHA1"),
    "DHE-RSA-AES128-SHA256": ("DHE-RSA", "AES-128-CBC", "SHA256"),
    "DHE-RSA-AES256-SHA256": ("DHE-RSA", "AES-256-CBC", "SHA256"),
    "AES256-GCM-SHA384": ("RSA", "AES-256-GCM", "AEAD"),
    "TLS_AES_128_CCM_SHA256": (None, "AES-128-CCM", "AEAD"),
}
GROUP = {NamedGroup.x25519: "X25519", NamedGroup.secp256r1: "SECP256R1",
         NamedGroup.ffdhe2048: "FFDHE2048",
         NamedGroup.secp384r1: "SECP384R1", NamedGroup.secp521r1: "SECP521R1",
         NamedGroup.x448: "X448", NamedGroup.ffdhe3072: "FFDHE3072",
         NamedGroup.ffdhe4096: "FFDHE4096"}
# TLS 1.2 ECDHE: every curve (RFC 8422 §5.1.1 has x448 too)
TLS12_CURVES = [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.secp384r1,
                NamedGroup.secp521r1, NamedGroup.x448]


def accepting(group) -> tuple[int, ...]:
    """Our default groups, and the one given if it is not among them (we do not accept it else)."""
    return groups.DEFAULT if group in groups.DEFAULT else (*groups.DEFAULT, group)
TLS12, TLS13 = suites.TLS12_SUITES, suites.TLS13_SUITES
MORE12 = tuple(s for s in suites.MORE_SUITES if s.version == "1.2")     # once each, EMS, no cert
TLS13 += tuple(s for s in suites.MORE_SUITES if s.version == "1.3")     # CCM: the full 1.3 matrix
assert set(SUITE) == {s.openssl_name for s in suites.ALL_SUITES}   # a new suite needs a line here


def suite_id(suite) -> str:
    return suite.openssl_name


def priority(version: str, suite=None, *, group=None, ems: bool = True) -> str:
    """A GnuTLS priority string allowing one version, and one suite / one group if given."""
    p = "NORMAL:-VERS-ALL:+VERS-TLS" + version
    if suite is not None:
        kx, cipher, mac = SUITE[suite.openssl_name]
        p += f":-CIPHER-ALL:+{cipher}:-MAC-ALL:+{mac}"
        if kx:
            p += f":-KX-ALL:+{kx}"
    if group is not None:
        p += f":-GROUP-ALL:+GROUP-{GROUP[group]}"
    return p + ("" if ems else ":%NO_SESSION_HASH")


def message(who: str) -> bytes:
    # one line, LF only: gnutls-serv --echo turns CRLF into LF
    return f"hello from {who} {secrets.token_hex(8)}\n".encode()


@dataclass
class Session:
    """What a GnuTLS program printed about the session it negotiated."""
    text: str

    def field(self, name: str) -> str | None:
        m = re.search(rf"^- {name}: (.*?)\s*$", self.text, re.M)
        return m and m.group(1)

    @property
    def description(self) -> str | None:
        # "(TLS1.3-X.509)-(ECDHE-X25519)-(RSA-PSS-RSAE-SHA256)-(AES-128-GCM)"
        return self.field("Description")

    @property
    def version(self) -> str | None:
        m = re.match(r"\(TLS(1\.[23])", self.description or "")
        return m and m.group(1)

    @property
    def options(self) -> str:
        return self.field("Options") or ""

    @property
    def ems(self) -> bool:
        return "extended master secret" in self.options


def check_session(session: Session, version: str, suite, *, ems: bool | None = None) -> None:
    """GnuTLS negotiated what we did: version, and the suite's parts in its Description."""
    assert session.version == version, session.text[-3000:]
    kx, cipher, mac = SUITE[suite.openssl_name]
    parts = re.findall(r"\(([^)]*)\)", session.description)
    assert parts[-1 if mac == "AEAD" else -2] == cipher, session.description
    if mac != "AEAD":
        assert parts[-1] == mac, session.description
    if kx is not None:
        # "(ECDHE-SECP256R1)", "(DHE-FFDHE2048)" or "(RSA)"; the signature part says RSA/ECDSA
        assert parts[1].split("-")[0] == kx.split("-")[0], session.description
        if kx != "RSA":
            assert kx.split("-")[1] in parts[2], session.description
    if ems is not None:
        assert session.ems is ems, session.options


# ------------------------------------------------------------------------------------------------
# gnutls-serv and gnutls-cli
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chains(lesson, tmp_path_factory):
    """gnutls-serv takes the chain it sends in one file: leaf, then intermediate."""
    directory = tmp_path_factory.mktemp("gnutls-chains")
    intermediate = open(lesson["intermediate.crt"]).read()
    out = {}
    for name in ("server", "server-ecdsa"):
        path = directory / f"{name}-chain.crt"
        path.write_text(open(lesson[f"{name}.crt"]).read() + intermediate)
        out[name] = str(path)
    return out


def _env(keylog) -> dict:
    env = dict(os.environ)
    env.pop("SSLKEYLOGFILE", None)
    if keylog is not None:
        env["SSLKEYLOGFILE"] = str(keylog)
    return env


class GnutlsServer:
    """``gnutls-serv --echo`` on a port the OS gave 127.0.0.1; ``.session()`` for the connection."""

    def __init__(self, lesson, chains, prio: str, *, ecdsa=False, client_auth=False,
                 keylog=None, cert: str | None = None, extra=()):
        cert = cert or ("server-ecdsa" if ecdsa else "server")   # "server-ed25519": own chain
        auth = (["--require-client-cert", "--verify-client-cert", "--x509cafile", lesson["ca.crt"]]
                if client_auth else ["--disable-client-cert"])
        chain = chains.get(cert) or lesson[f"{cert}.crt"]     # the new ones: leaf + intermediate
        self.base = [GNUTLS_SERV, "--echo", "--x509certfile", chain,
                     "--x509keyfile", lesson[f"{cert}.key"], "--priority", prio, *auth, *extra]
        self.keylog = keylog
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "GnutlsServer":
        for _ in range(3):           # the port was free a moment ago; another process may take it
            self.port = free_port()
            self.proc = subprocess.Popen(self.base + ["-p", str(self.port)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, env=_env(self.keylog))
            self.output = _Collector(self.proc.stdout)
            ready = self.output.wait_for(
                re.compile(rb"listening on IPv4 \S+ port \d+\.\.\.done|error|failed", re.I),
                PROCESS_TIMEOUT)
            if ready and ready.group(0).endswith(b"done"):
                return self
            _kill(self.proc)
            self.output.finish()
        raise RuntimeError("gnutls-serv did not start: " + self.output.text())

    def session(self, timeout: float = 5.0) -> Session:
        """The session printed for the (first) connection, up to its Options line, or after
        the connection failed."""
        self.output.wait_for(re.compile(rb"\* Accepted connection(?:.|\n)*?^- Options:[^\n]*\n"
                                        rb"|Error in handshake[^\n]*\n", re.M), timeout)
        return Session(self.output.text())

    def __exit__(self, *exc) -> None:
        _kill(self.proc)
        self.output.finish()


@dataclass
class CliResult:
    returncode: int | None
    session: Session
    echoed: bool


def gnutls_cli(port: int, lesson, prio: str, *, send: bytes, client_auth=False, keylog=None,
               timeout: float = 10.0, extra=()) -> CliResult:
    """``gnutls-cli`` against 127.0.0.1:port: send a line, wait for its echo, then close stdin
    (gnutls-cli then sends close_notify and exits)."""
    cmd = [GNUTLS_CLI, "-p", str(port), "--x509cafile", lesson["ca.crt"],
           "--sni-hostname", "localhost", "--verify-hostname", "localhost", "--priority", prio,
           *(["--x509certfile", lesson["client.crt"], "--x509keyfile", lesson["client.key"]]
             if client_auth else []), *extra, "127.0.0.1"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=_env(keylog))
    out = _Collector(proc.stdout)
    try:
        out.wait_for(re.compile(rb"Simple Client Mode|\*\*\* |Error|failed"), timeout)
        try:
            proc.stdin.write(send)
            proc.stdin.flush()
        except BrokenPipeError:      # gnutls-cli already gave up: its output says why
            pass
        echoed = out.wait_for(re.compile(rb"Simple Client Mode:\s*\n(?:.|\n)*"
                                         + re.escape(send)), timeout) is not None
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    finally:
        _kill(proc)
    return CliResult(proc.returncode, Session(out.finish().decode("utf-8", "replace")), echoed)


def client_config(lesson, suites_=None, versions=("1.3", "1.2"), *, client_auth=False,
                  **options) -> ClientConfig:
    kw = {} if suites_ is None else {"suites": tuple(suites_)}
    return ClientConfig(versions=versions, trusted=lesson.trusted,
                        identity=lesson.pki.client if client_auth else None, **kw, **options)


def server_config(lesson, suites_=None, versions=("1.3", "1.2"), *, client_auth=False,
                  **options) -> ServerConfig:
    kw = {} if suites_ is None else {"suites": tuple(suites_)}
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        versions=versions, client_ca=lesson.trusted if client_auth else None,
                        **kw, **options)


CLIENT_SUBJECT = "CN=lesson client"


# ------------------------------------------------------------------------------------------------
# 1. our client -> gnutls-serv
# ------------------------------------------------------------------------------------------------
def _our_client_to_gnutls(lesson, chains, tmp_path, prio, config, *, ecdsa=False,
                          client_auth=False):
    theirs, ours = tmp_path / "gnutls-serv.keys", tmp_path / "ours.keys"
    data = message("tlslesson")
    with GnutlsServer(lesson, chains, prio, ecdsa=ecdsa, client_auth=client_auth,
                      keylog=theirs) as server:
        result = net.connect("127.0.0.1", server.port, config, send=data, timeout=5, keylog=ours)
        session = server.session()
    assert result.data == data, session.text[-3000:]
    if client_auth:
        assert "Subject: " + CLIENT_SUBJECT in session.text
        assert "NOT verified" not in session.text
    else:
        assert "Got a certificate list" not in session.text
    assert_same_keys(read_keylog(ours), read_keylog(theirs), result.version)
    return result, session


TLS12_CASES = ([(s, True, False) for s in TLS12] + [(s, True, True) for s in TLS12]
               + [(suites.get("ECDHE-RSA-AES128-GCM-SHA256"), False, False),
                  (suites.get("AES128-SHA"), False, True)]
               + [(s, True, False) for s in MORE12])


def case_id(case) -> str:
    suite, ems, client_auth = case
    return (suite.openssl_name + ("" if ems else "-no-ems")
            + ("-client-cert" if client_auth else ""))


@pytest.mark.parametrize("case", TLS12_CASES, ids=[case_id(c) for c in TLS12_CASES])
def test_our_client_to_gnutls_serv_tls12(lesson, chains, tmp_path, case):
    suite, ems, client_auth = case
    result, session = _our_client_to_gnutls(
        lesson, chains, tmp_path, priority("1.2", suite),
        client_config(lesson, [suite], ("1.2",), client_auth=client_auth, ems=ems),
        ecdsa=suite.auth == "ECDSA", client_auth=client_auth)
    assert (result.version, result.suite) == ("1.2", suite)
    assert result.connection.values["extended_master_secret"] is ems
    check_session(session, "1.2", suite, ems=ems)


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("suite", TLS13, ids=suite_id)
def test_our_client_to_gnutls_serv_tls13(lesson, chains, tmp_path, suite, client_auth):
    result, session = _our_client_to_gnutls(
        lesson, chains, tmp_path, priority("1.3", suite),
        client_config(lesson, [suite], ("1.3",), client_auth=client_auth),
        client_auth=client_auth)
    assert (result.version, result.suite) == ("1.3", suite)
    check_session(session, "1.3", suite)


@pytest.mark.parametrize("group", list(GROUP), ids=lambda g: NamedGroup(g).name)
def test_our_client_to_gnutls_serv_tls13_groups(lesson, chains, tmp_path, group):
    result, session = _our_client_to_gnutls(
        lesson, chains, tmp_path, priority("1.3", group=group),
        client_config(lesson, versions=("1.3",), groups=(group,)))
    assert result.connection.values["group"] == NamedGroup(group).name
    assert "hello_retry_request_group" not in result.connection.values
    assert f"-{GROUP[group]})" in session.description, session.description


@pytest.mark.parametrize("group", TLS12_CURVES, ids=lambda g: NamedGroup(g).name)
def test_our_client_to_gnutls_serv_tls12_ecdhe_groups(lesson, chains, tmp_path, group):
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
    result, session = _our_client_to_gnutls(
        lesson, chains, tmp_path, priority("1.2", suite, group=group),
        client_config(lesson, [suite], ("1.2",), groups=accepting(group)))
    assert result.connection.values["group"] == NamedGroup(group).name
    assert f"(ECDHE-{GROUP[group]})" in session.description, session.description


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
def test_our_client_to_gnutls_serv_hello_retry_request(lesson, chains, tmp_path, client_auth):
    """gnutls-serv takes only secp256r1; our client's one key share is x25519: a
    HelloRetryRequest round."""
    result, session = _our_client_to_gnutls(
        lesson, chains, tmp_path, priority("1.3", group=NamedGroup.secp256r1),
        client_config(lesson, client_auth=client_auth), client_auth=client_auth)
    values = result.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    names = [(s.sender, s.name) for s in result.connection.log]
    assert names.count(("client", "ClientHello")) == 2
    assert "(ECDHE-SECP256R1)" in session.description


# ------------------------------------------------------------------------------------------------
# 2. gnutls-cli -> our server
# ------------------------------------------------------------------------------------------------
def _gnutls_cli_to_us(lesson, tmp_path, config, prio, *, client_auth=False):
    theirs = tmp_path / "gnutls-cli.keys"
    data = message("gnutls-cli")
    with OurServer(config) as server:
        res = gnutls_cli(server.port, lesson, prio, send=data, client_auth=client_auth,
                         keylog=theirs)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1
    report = reports[0]
    assert report.error is None, f"{report.error}\n{res.session.text[-3000:]}"
    assert res.echoed, res.session.text[-3000:]
    assert report.echoed == len(data)
    assert res.returncode == 0, res.session.text[-3000:]
    assert (report.client_certificate is not None) == client_auth
    if client_auth:
        assert report.client_certificate.startswith(CLIENT_SUBJECT)
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), report.version)
    return res.session, report


@pytest.mark.parametrize("case", TLS12_CASES, ids=[case_id(c) for c in TLS12_CASES])
def test_gnutls_cli_to_our_server_tls12(lesson, tmp_path, case):
    suite, ems, client_auth = case
    session, report = _gnutls_cli_to_us(
        lesson, tmp_path, server_config(lesson, [suite], ("1.2",), client_auth=client_auth),
        priority("1.2", suite, ems=ems), client_auth=client_auth)
    assert (report.version, report.suite) == ("1.2", suite)
    assert report.connection.values["extended_master_secret"] is ems
    check_session(session, "1.2", suite, ems=ems)


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("suite", TLS13, ids=suite_id)
def test_gnutls_cli_to_our_server_tls13(lesson, tmp_path, suite, client_auth):
    session, report = _gnutls_cli_to_us(
        lesson, tmp_path, server_config(lesson, [suite], client_auth=client_auth),
        priority("1.3", suite), client_auth=client_auth)
    assert (report.version, report.suite) == ("1.3", suite)
    check_session(session, "1.3", suite)


@pytest.mark.parametrize("group", list(GROUP), ids=lambda g: NamedGroup(g).name)
def test_gnutls_cli_to_our_server_tls13_groups(lesson, tmp_path, group):
    session, report = _gnutls_cli_to_us(lesson, tmp_path,
                                        server_config(lesson, groups=accepting(group)),
                                        priority("1.3", group=group))
    assert report.group == NamedGroup(group).name
    assert "hello_retry_request_group" not in report.connection.values
    assert f"-{GROUP[group]})" in session.description, session.description


@pytest.mark.parametrize("group", TLS12_CURVES, ids=lambda g: NamedGroup(g).name)
def test_gnutls_cli_to_our_server_tls12_ecdhe_groups(lesson, tmp_path, group):
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
    session, report = _gnutls_cli_to_us(lesson, tmp_path,
                                        server_config(lesson, [suite], ("1.2",),
                                                      groups=accepting(group)),
                                        priority("1.2", suite, group=group))
    assert report.group == NamedGroup(group).name
    assert f"(ECDHE-{GROUP[group]})" in session.description, session.description


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
def test_gnutls_cli_to_our_server_hello_retry_request(lesson, tmp_path, client_auth):
    """gnutls-cli sends key shares for the first two groups it lists (x25519, secp384r1); our
    server takes only secp256r1, the third."""
    session, report = _gnutls_cli_to_us(
        lesson, tmp_path,
        server_config(lesson, groups=(NamedGroup.secp256r1,), client_auth=client_auth),
        "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP384R1"
        ":+GROUP-SECP256R1",
        client_auth=client_auth)
    values = report.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    assert "(ECDHE-SECP256R1)" in session.description


# ------------------------------------------------------------------------------------------------
# 3. versions, and client authentication refused
# ------------------------------------------------------------------------------------------------
def test_default_client_to_tls12_only_gnutls_serv(lesson, chains, tmp_path):
    """We offer 1.3 and 1.2; GnuTLS allowed only 1.2 answers 1.2 with no downgrade sentinel."""
    result, session = _our_client_to_gnutls(lesson, chains, tmp_path, priority("1.2"),
                                            client_config(lesson))
    assert result.version == "1.2" and session.version == "1.2"
    assert result.connection.values["server_random"][-8:] != DOWNGRADE_TLS12


def test_default_client_to_default_gnutls_serv_is_tls13(lesson, chains, tmp_path):
    result, session = _our_client_to_gnutls(lesson, chains, tmp_path, "NORMAL",
                                            client_config(lesson))
    assert result.version == "1.3" and session.version == "1.3"


def test_tls12_only_gnutls_cli_to_default_server(lesson, tmp_path):
    """Our server, which has 1.3, puts the downgrade sentinel in a 1.2 ServerHello.random; a
    client that offered only 1.2 was not downgraded and does not object (RFC 8446 §4.1.3)."""
    session, report = _gnutls_cli_to_us(lesson, tmp_path, server_config(lesson), priority("1.2"))
    assert report.version == "1.2" and session.version == "1.2"
    assert report.connection.values["server_random"][-8:] == DOWNGRADE_TLS12


def test_default_gnutls_cli_to_tls12_only_server(lesson, tmp_path):
    """GnuTLS offers 1.3 too: it checks our 1.2 ServerHello.random has no downgrade sentinel."""
    session, report = _gnutls_cli_to_us(lesson, tmp_path,
                                        server_config(lesson, versions=("1.2",)), "NORMAL")
    assert report.version == "1.2" and session.version == "1.2"
    assert report.connection.values["server_random"][-8:] != DOWNGRADE_TLS12


def test_default_gnutls_cli_to_default_server_is_tls13(lesson, tmp_path):
    session, report = _gnutls_cli_to_us(lesson, tmp_path, server_config(lesson), "NORMAL")
    assert report.version == "1.3" and session.version == "1.3"


# GnuTLS 3.7's own choice in TLS 1.2: decode_error for an empty client Certificate (it sends
# gnutls-cli the same); RFC 5246 §7.4.6 leaves the alert to the server.
@pytest.mark.parametrize("version, alert", [("1.2", AlertDescription.decode_error),
                                            ("1.3", AlertDescription.certificate_required)])
def test_our_client_without_certificate_gets_gnutls_alert(lesson, chains, version, alert):
    with GnutlsServer(lesson, chains, priority(version), client_auth=True) as server:
        with pytest.raises(AlertError) as caught:
            # no data and no close_notify of ours: in TLS 1.3 our handshake is complete before
            # gnutls-serv refuses it, and a record arriving at a closed gnutls-serv would make
            # its kernel reset the connection and drop the alert before we read it
            net.connect("127.0.0.1", server.port, client_config(lesson, versions=(version,)),
                        timeout=5, close=False)
        session = server.session()
    assert caught.value.received, caught.value
    assert caught.value.alert == alert, (caught.value, session.text[-2000:])
    assert re.search(r"Error in handshake: (No certificate was found|Certificate is required)",
                     session.text), session.text[-2000:]


@pytest.mark.parametrize("version, alert", [("1.2", AlertDescription.handshake_failure),
                                            ("1.3", AlertDescription.certificate_required)])
def test_gnutls_cli_without_certificate_is_refused(lesson, tmp_path, version, alert):
    with OurServer(server_config(lesson, versions=(version,), client_auth=True)) as server:
        res = gnutls_cli(server.port, lesson, priority(version), send=message("gnutls-cli"))
        reports = server.wait_for_reports(1)
    assert not res.echoed
    assert res.returncode != 0
    assert isinstance(reports[0].error, AlertError) and not reports[0].error.received
    assert reports[0].error.alert == alert
    assert re.search(r"alert|Error", res.session.text), res.session.text[-2000:]


# ------------------------------------------------------------------------------------------------
# server keys beyond RSA and P-256: P-384, P-521, Ed25519, RSA-PSS (id-RSASSA-PSS), both ways
# ------------------------------------------------------------------------------------------------
from peers import extra_identities, groups_for_certificate  # noqa: E402,F401
from peers import suite_for_key_type as _new_suite, server_signature_scheme as _scheme_seen  # noqa: E402
from tlslesson import pki, signatures  # noqa: E402

# GnuTLS 3.7 has no Ed448 in TLS. What it prints as the signature part of its Description:
GNUTLS_SIGNATURE = {"ecdsa-p384": "ECDSA-SECP384R1-SHA384", "ecdsa-p521": "ECDSA-SECP521R1-SHA512",
                    "ed25519": "EdDSA-Ed25519", "rsa-pss": "RSA-PSS-SHA256"}
NEW_CASES = [(k, v) for k in GNUTLS_SIGNATURE for v in ("1.2", "1.3")]


def _gnutls_signature(key_type, version):
    """TLS 1.2's ECDSA schemes name only the hash: "ECDSA-SHA384"."""
    name = GNUTLS_SIGNATURE[key_type]
    return re.sub(r"-SECP\d+R1", "", name) if version == "1.2" else name


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_our_client_to_gnutls_serv_new_key_types(lesson, chains, extra_identities, tmp_path,
                                                 key_type, version):
    suite = _new_suite(key_type, version)
    theirs, ours = tmp_path / "gnutls-serv.keys", tmp_path / "ours.keys"
    data = message("tlslesson")
    config = client_config(lesson, [suite], (version,), signature_schemes=signatures.MODERN,
                           groups=groups_for_certificate(key_type, version))
    with GnutlsServer(lesson, chains, priority(version, suite), cert=f"server-{key_type}",
                      keylog=theirs) as server:
        result = net.connect("127.0.0.1", server.port, config, send=data, timeout=5, keylog=ours)
        session = server.session()
    assert result.data == data, session.text[-3000:]
    assert (result.version, result.suite) == (version, suite)
    if version == "1.2" and key_type.startswith("ecdsa"):
        # TLS 1.2's ECDSA schemes name only the hash, and GnuTLS as the signer picks its own
        # (SHA-256 with a P-384 key is allowed): the scheme it names is the one we verified
        seen = signatures.SS(_scheme_seen(result.connection, version)).name   # ecdsa_..._sha256
        assert f"(ECDSA-{seen.rsplit('_', 1)[1].upper()})" in session.description, \
            session.description
    else:
        assert f"({_gnutls_signature(key_type, version)})" in session.description, \
            session.description
    assert _scheme_seen(result.connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")
    assert_same_keys(read_keylog(ours), read_keylog(theirs), version)


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_gnutls_cli_to_our_server_new_key_types(lesson, extra_identities, tmp_path, key_type,
                                                version):
    """The new identity first: gnutls-cli offers its scheme, so our server chooses it."""
    suite = _new_suite(key_type, version)
    config = server_config(lesson, [suite], (version,))
    config.identities = (extra_identities[key_type], *config.identities)
    theirs, data = tmp_path / "gnutls-cli.keys", message("gnutls-cli")
    with OurServer(config) as server:
        res = gnutls_cli(server.port, lesson, priority(version, suite), send=data, keylog=theirs)
        reports = server.wait_for_reports(1)
    assert res.echoed, res.session.text[-3000:]
    assert len(reports) == 1 and reports[0].error is None, reports[0].error
    description = res.session.description
    assert f"({_gnutls_signature(key_type, version)})" in description, description
    assert _scheme_seen(reports[0].connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")
    assert_same_keys(keylog_of(reports[0].connection.keylog), read_keylog(theirs), version)


# encrypt_then_mac (RFC 7366) and record_size_limit (RFC 8449): GnuTLS 3.7 has both, on by
# default (%NO_ETM switches EtM off; --recordsize sets the limit it announces)
# ------------------------------------------------------------------------------------------------
CBC = suites.get("AES128-SHA")


def _record_lengths(raw: bytes) -> list[int]:
    """The fragment length of each record in ``raw`` (one Step's records)."""
    lengths = []
    while raw:
        lengths.append(int.from_bytes(raw[3:5], "big"))
        raw = raw[5 + lengths[-1]:]
    return lengths


def _plaintext_sizes(conn, sender: str, version: str, suite) -> list[int]:
    """The plaintext length of each application-data record ``sender`` sent (from the log)."""
    overhead = 17 if version == "1.3" else 8 + 16     # 1.3: type + tag; 1.2 AES-GCM: nonce + tag
    return [length - overhead for step in conn.log
            if step.name == "ApplicationData" and step.sender == sender
            for length in _record_lengths(step.record)]


@pytest.mark.parametrize("ours, theirs", [(True, True), (False, True), (True, False)],
                         ids=["etm", "we-dont", "gnutls-NO_ETM"])
def test_our_client_to_gnutls_serv_encrypt_then_mac(lesson, chains, tmp_path, ours, theirs):
    result, session = _our_client_to_gnutls(
        lesson, chains, tmp_path, priority("1.2", CBC) + ("" if theirs else ":%NO_ETM"),
        client_config(lesson, [CBC], ("1.2",), encrypt_then_mac=ours))
    check_session(session, "1.2", CBC)
    assert result.connection.hs.encrypt_then_mac is (ours and theirs)
    assert ("EtM" in session.options) is (ours and theirs), session.options


@pytest.mark.parametrize("ours, theirs", [(True, True), (False, True), (True, False)],
                         ids=["etm", "we-dont", "gnutls-NO_ETM"])
def test_gnutls_cli_to_our_server_encrypt_then_mac(lesson, tmp_path, ours, theirs):
    session, report = _gnutls_cli_to_us(
        lesson, tmp_path, server_config(lesson, [CBC], ("1.2",), encrypt_then_mac=ours),
        priority("1.2", CBC) + ("" if theirs else ":%NO_ETM"))
    check_session(session, "1.2", CBC)
    assert report.connection.hs.encrypt_then_mac is (ours and theirs)
    assert ("EtM" in session.options) is (ours and theirs), session.options


BIG = b"r" * 3000 + b"\n"                          # one line: gnutls-serv --echo sends it back


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_gnutls_serv_record_size_limit_each_way(lesson, chains, tmp_path, version):
    """gnutls-serv --recordsize 512 announces 512 (1.2) / 513 (1.3: the content type byte counts,
    RFC 8449 §4): our records carry at most 512 bytes of data; we announce 512 too: GnuTLS's
    echo comes in records that keep to it (a larger one would be record_overflow)."""
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256") if version == "1.2" else TLS13[0]
    config = client_config(lesson, [suite], (version,), record_size_limit=512, log_records=True)
    with GnutlsServer(lesson, chains, priority(version, suite),
                      extra=["--recordsize", "512"]) as server:
        result = net.connect("127.0.0.1", server.port, config, send=BIG, timeout=5)
        session = server.session()
    assert result.data == BIG, session.text[-3000:]
    conn = result.connection
    assert conn.hs.peer_record_size_limit == (513 if version == "1.3" else 512)
    assert conn.hs.record_size_limit == 512
    sent, received = (_plaintext_sizes(conn, who, version, suite) for who in ("client", "server"))
    assert max(sent) == 512 and sum(sent) == len(BIG)
    assert max(received) <= (511 if version == "1.3" else 512) and len(received) > 1


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_gnutls_cli_record_size_limit(lesson, tmp_path, version):
    """gnutls-cli --recordsize 512: our server keeps every record of its flight within the
    limit (GnuTLS refuses a larger one: "Received packet with illegal length"), the
    Certificate split over several; we announce 512 back."""
    suite = suites.get("ECDHE-RSA-AES128-GCM-SHA256") if version == "1.2" else TLS13[0]
    config = server_config(lesson, [suite], (version,), record_size_limit=512, log_records=True)
    data = message("gnutls-cli")
    with OurServer(config) as server:
        res = gnutls_cli(server.port, lesson, priority(version, suite), send=data,
                         extra=["--recordsize", "512"])
        [report] = server.wait_for_reports(1)
    assert report.error is None, f"{report.error}\n{res.session.text[-3000:]}"
    assert res.echoed, res.session.text[-3000:]
    conn = report.connection
    assert conn.hs.peer_record_size_limit == (513 if version == "1.3" else 512)
    assert conn.hs.record_size_limit == 512
    cert = next(s for s in conn.log if s.name == "Certificate" and s.sender == "server")
    assert len(cert.wire) > 1000 and len(_record_lengths(cert.record)) > 2    # several records
    assert max(_record_lengths(cert.record)) <= 512 + (17 if version == "1.3" else 0)
