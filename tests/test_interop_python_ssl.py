"""Interop with Python's ``ssl`` (OpenSSL underneath, driven through another API), both directions:
ECDHE and RSA key exchange in TLS 1.2 (EMS on and off), every TLS 1.3 suite, client
authentication; Python's ``keylog_filename`` lines equal ours.
"""
from __future__ import annotations

import ssl

import pytest

from peers import (OurServer, PySSLServer, assert_same_keys, keylog_of, lesson,  # noqa: F401
                   py_ssl_client, read_keylog)
from tlslesson import net, suites
from tlslesson.connection import ClientConfig, ServerConfig

pytestmark = pytest.mark.interop

OP_NO_EXTENDED_MASTER_SECRET = 0x1      # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3)
TLS12 = [suites.get(n) for n in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256",
                                 "ECDHE-RSA-CHACHA20-POLY1305", "AES128-GCM-SHA256",
                                 "AES128-SHA")]
TLS13 = list(suites.TLS13_SUITES)
PY_VERSION = {"TLSv1.2": "1.2", "TLSv1.3": "1.3"}


def _id(suite) -> str:
    return suite.openssl_name


def _py_server_context(lesson, keylog, version, suite=None, *, client_auth=False, ems=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if suite is not None and suite.auth == "ECDSA":
        ctx.load_cert_chain(lesson["server-ecdsa.crt"], lesson["server-ecdsa.key"])
    else:
        ctx.load_cert_chain(lesson["server.crt"], lesson["server.key"])
    ctx.minimum_version = ctx.maximum_version = (ssl.TLSVersion.TLSv1_2 if version == "1.2"
                                                 else ssl.TLSVersion.TLSv1_3)
    if version == "1.2":
        ctx.set_ciphers(suite.openssl_name)
    if client_auth:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(lesson["ca.crt"])
    if not ems:
        ctx.options |= OP_NO_EXTENDED_MASTER_SECRET
    ctx.keylog_filename = str(keylog)
    return ctx


def _py_client_context(lesson, keylog, version, suite=None, *, client_auth=False, ems=True):
    ctx = ssl.create_default_context(cafile=lesson["ca.crt"])
    if version == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(suite.openssl_name)      # 3.10+ drops RSA key exchange by default
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if client_auth:
        ctx.load_cert_chain(lesson["client.crt"], lesson["client.key"])
    if not ems:
        ctx.options |= OP_NO_EXTENDED_MASTER_SECRET
    ctx.keylog_filename = str(keylog)
    return ctx


CASES = ([("1.2", s, ems, False) for s in TLS12 for ems in (True, False)]
         + [("1.2", TLS12[0], True, True)]
         + [("1.3", s, True, False) for s in TLS13] + [("1.3", TLS13[0], True, True)])


def _case_id(case) -> str:
    version, suite, ems, client_auth = case
    return f"{suite.openssl_name}-{'ems' if ems else 'no-ems'}" \
        + ("-client-cert" if client_auth else "")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_our_client_to_python_ssl_server(lesson, tmp_path, case):
    version, suite, ems, client_auth = case
    theirs, ours = tmp_path / "python.keys", tmp_path / "ours.keys"
    ctx = _py_server_context(lesson, theirs, version, suite, client_auth=client_auth, ems=ems)
    config = ClientConfig(versions=(version,), suites=(suite,), trusted=lesson.trusted, ems=ems,
                          identity=lesson.pki.client if client_auth else None)
    with PySSLServer(ctx, timeout=5) as server:
        result = net.connect("127.0.0.1", server.port, config, send=b"ping " * 1000, timeout=5,
                             keylog=ours)
        server.join(5)
    assert server.error is None, repr(server.error)
    assert result.data == b"ping " * 1000 == server.received
    assert result.closed_by == "close_notify"              # Python's unwrap() answered ours
    assert (PY_VERSION[server.version], server.cipher) == (version, suite.openssl_name)
    assert (server.peer_certificate is not None and bool(server.peer_certificate)) == client_auth
    if version == "1.2":
        assert result.connection.values["extended_master_secret"] is ems
    assert_same_keys(read_keylog(ours), read_keylog(theirs), version)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_python_ssl_client_to_our_server(lesson, tmp_path, case):
    version, suite, ems, client_auth = case
    theirs = tmp_path / "python.keys"
    ctx = _py_client_context(lesson, theirs, version, suite, client_auth=client_auth, ems=ems)
    config = ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                          suites=(suite,), client_ca=lesson.trusted if client_auth else None)
    message = b"hello from Python's ssl\n" * 700       # > 16 KiB: several records each way
    with OurServer(config) as server:
        got_version, cipher, echo = py_ssl_client(server.port, ctx, message, timeout=5)
        report = server.wait_for_reports(1)[0]
    assert report.error is None, report.error
    assert echo == message and report.echoed == len(message)
    assert (PY_VERSION[got_version], cipher) == (version, suite.openssl_name)
    assert (report.version, report.suite) == (version, suite)
    assert (report.client_certificate is not None) == client_auth
    if version == "1.2":
        assert report.connection.values["extended_master_secret"] is ems
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), version)


def test_default_client_to_tls12_only_python_server(lesson, tmp_path):
    """Version negotiation: we offer 1.3 and 1.2, Python's server only 1.2 -> 1.2, no sentinel."""
    ctx = _py_server_context(lesson, tmp_path / "k", "1.2", TLS12[0])
    with PySSLServer(ctx, timeout=5) as server:
        result = net.connect("127.0.0.1", server.port, ClientConfig(trusted=lesson.trusted),
                             send=b"x", timeout=5)
        server.join(5)
    assert server.error is None, repr(server.error)
    assert result.version == "1.2" and server.version == "TLSv1.2" and result.data == b"x"


def test_tls12_only_python_client_to_default_server(lesson, tmp_path):
    from tlslesson.constants import DOWNGRADE_TLS12
    ctx = _py_client_context(lesson, tmp_path / "k", "1.2", TLS12[0])
    config = ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server))
    with OurServer(config) as server:
        got_version, _, echo = py_ssl_client(server.port, ctx, b"y", timeout=5)
        report = server.wait_for_reports(1)[0]
    assert got_version == "TLSv1.2" and echo == b"y"
    assert report.connection.values["server_random"][-8:] == DOWNGRADE_TLS12
