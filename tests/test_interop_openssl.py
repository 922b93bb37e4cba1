"""Interop with the `openssl` command, both directions, for every suite of the table.

Our client -> `openssl s_server -www`: the status page names the cipher, says whether the extended
master secret was used and whether a client certificate came; our key log equals OpenSSL's.
`openssl s_client` -> our server (net.Server in a thread): the data comes back, and the key logs
are equal. TLS 1.3 also for every group and with a HelloRetryRequest; version negotiation and
client authentication failures end in the alert OpenSSL sends.
"""
from __future__ import annotations

import re
import secrets

import pytest

from peers import (OpenSSLServer, OurServer, assert_same_keys, keylog_of, lesson,  # noqa: F401
                   needs_openssl, read_keylog, s_client, status_page_cipher)
from tlslesson import groups as kx_groups, net, suites
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import DOWNGRADE_TLS12, AlertDescription, NamedGroup
from tlslesson.errors import AlertError
from tlslesson.suites import MORE_SUITES, TLS12_SUITES, TLS13_SUITES

pytestmark = [pytest.mark.interop, needs_openssl]

GET = b"GET / HTTP/1.0\r\n\r\n"
OPENSSL_GROUP = {NamedGroup.x25519: "X25519", NamedGroup.secp256r1: "P-256",
                 NamedGroup.ffdhe2048: "ffdhe2048",
                 NamedGroup.secp384r1: "P-384", NamedGroup.secp521r1: "P-521",
                 NamedGroup.x448: "X448", NamedGroup.ffdhe3072: "ffdhe3072",
                 NamedGroup.ffdhe4096: "ffdhe4096"}
GROUPS = list(OPENSSL_GROUP)
# TLS 1.2 ECDHE with the curves we do not offer by default (RFC 8422 §5.1.1 has x448 too)
TLS12_NEW_CURVES = [NamedGroup.secp384r1, NamedGroup.secp521r1, NamedGroup.x448]
ECDHE_SUITE = "ECDHE-RSA-AES128-GCM-SHA256"


def suite_id(suite) -> str:
    return suite.openssl_name


def client_config(lesson, suites, versions, *, client_auth=False, **options) -> ClientConfig:
    return ClientConfig(versions=versions, suites=tuple(suites), trusted=lesson.trusted,
                        identity=lesson.pki.client if client_auth else None, **options)


def server_config(lesson, suites=None, versions=("1.3", "1.2"), *, client_auth=False,
                  **options) -> ServerConfig:
    kw = {} if suites is None else {"suites": tuple(suites)}
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        versions=versions, client_ca=lesson.trusted if client_auth else None,
                        **kw, **options)


def client_auth_args(lesson, client_auth: bool) -> list[str]:
    return ["-Verify", "1", "-CAfile", lesson["ca.crt"]] if client_auth else []


def check_page(page: str, suite, *, client_auth: bool, ems: bool | None = None) -> None:
    assert status_page_cipher(page) == suite.openssl_name, page[:400]
    if ems is not None:
        assert f"Extended master secret: {'yes' if ems else 'no'}" in page
    if client_auth:
        assert "Client certificate" in page and "lesson client" in page
    else:
        assert "no client certificate available" in page


# ------------------------------------------------------------------------------------------------
# 1. our client -> openssl s_server
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("suite", TLS12_SUITES, ids=suite_id)
def test_our_client_to_s_server_tls12(lesson, tmp_path, suite, ems, client_auth):
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    args = ["-tls1_2", "-cipher", suite.openssl_name, *client_auth_args(lesson, client_auth)]
    with OpenSSLServer(lesson, *args, ecdsa=suite.auth == "ECDSA", keylog=theirs) as server:
        result = net.connect("127.0.0.1", server.port,
                             client_config(lesson, [suite], ("1.2",), client_auth=client_auth,
                                           ems=ems),
                             send=GET, timeout=5, keylog=ours)
        server.wait()
    page = result.data.decode()
    assert (result.version, result.suite) == ("1.2", suite)
    assert result.closed_by == "close_notify"
    check_page(page, suite, client_auth=client_auth, ems=ems)
    master = re.search(r"Master-Key: ([0-9A-F]+)", page).group(1)
    assert bytes.fromhex(master) == result.connection.values["master_secret"]
    assert result.connection.values["extended_master_secret"] is ems
    assert_same_keys(read_keylog(ours), read_keylog(theirs), "1.2")


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("suite", TLS13_SUITES, ids=suite_id)
def test_our_client_to_s_server_tls13(lesson, tmp_path, suite, client_auth):
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    args = ["-tls1_3", "-ciphersuites", suite.openssl_name, *client_auth_args(lesson, client_auth)]
    with OpenSSLServer(lesson, *args, keylog=theirs) as server:
        result = net.connect("127.0.0.1", server.port,
                             client_config(lesson, [suite], ("1.3",), client_auth=client_auth),
                             send=GET, timeout=5, keylog=ours)
        server.wait()
    assert (result.version, result.suite) == ("1.3", suite)
    check_page(result.data.decode(), suite, client_auth=client_auth)
    # OpenSSL sends two NewSessionTickets after the handshake: decoded, shown, not used
    assert [type(m).__name__ for m in result.post_handshake] == ["NewSessionTicket"] * 2
    assert_same_keys(read_keylog(ours), read_keylog(theirs), "1.3")


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: NamedGroup(g).name)
def test_our_client_to_s_server_tls13_groups(lesson, tmp_path, group):
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    with OpenSSLServer(lesson, "-tls1_3", "-groups", OPENSSL_GROUP[group], keylog=theirs) as server:
        result = net.connect("127.0.0.1", server.port,
                             client_config(lesson, TLS13_SUITES, ("1.3",), groups=(group,)),
                             send=GET, timeout=5, keylog=ours)
        server.wait()
    assert result.connection.values["group"] == NamedGroup(group).name
    assert "hello_retry_request_group" not in result.connection.values
    assert status_page_cipher(result.data.decode()) == result.suite.name
    assert_same_keys(read_keylog(ours), read_keylog(theirs), "1.3")


@pytest.mark.parametrize("group", TLS12_NEW_CURVES, ids=lambda g: NamedGroup(g).name)
def test_our_client_to_s_server_tls12_ecdhe_groups(lesson, tmp_path, group):
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    with OpenSSLServer(lesson, "-tls1_2", "-cipher", ECDHE_SUITE, "-groups", OPENSSL_GROUP[group],
                       keylog=theirs) as server:
        result = net.connect("127.0.0.1", server.port,
                             client_config(lesson, [suites.get(ECDHE_SUITE)], ("1.2",),
                                           groups=(group,)),
                             send=GET, timeout=5, keylog=ours)
        server.wait()
    assert result.connection.values["group"] == NamedGroup(group).name
    assert status_page_cipher(result.data.decode()) == ECDHE_SUITE
    assert_same_keys(read_keylog(ours), read_keylog(theirs), "1.2")


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
def test_our_client_to_s_server_hello_retry_request(lesson, tmp_path, client_auth):
    """s_server takes only P-256; our client guessed x25519: one HelloRetryRequest round."""
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    with OpenSSLServer(lesson, "-tls1_3", "-groups", "P-256",
                       *client_auth_args(lesson, client_auth), keylog=theirs) as server:
        result = net.connect("127.0.0.1", server.port,
                             client_config(lesson, TLS13_SUITES, ("1.3", "1.2"),
                                           client_auth=client_auth),
                             send=GET, timeout=5, keylog=ours)
        server.wait()
    values = result.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    names = [(s.sender, s.name) for s in result.connection.log]
    assert names.count(("client", "ClientHello")) == 2
    check_page(result.data.decode(), result.suite, client_auth=client_auth)
    assert_same_keys(read_keylog(ours), read_keylog(theirs), "1.3")


# ------------------------------------------------------------------------------------------------
# 2. openssl s_client -> our server
# ------------------------------------------------------------------------------------------------
def _message() -> bytes:
    return f"hello from s_client {secrets.token_hex(8)}\n".encode()


def _run_s_client_to_us(lesson, tmp_path, config, *args, client_auth=False, no_ems=False):
    theirs = tmp_path / "s_client.keys"
    cert_args = ["-cert", lesson["client.crt"], "-key", lesson["client.key"]] if client_auth else []
    message = _message()
    with OurServer(config) as server:
        res = s_client(server.port, lesson, *args, *cert_args, message=message, keylog=theirs,
                       no_ems=no_ems, tmp_path=tmp_path)
        reports = server.wait_for_reports(1)
    assert len(reports) == 1
    return res, reports[0], theirs


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("suite", TLS12_SUITES, ids=suite_id)
def test_s_client_to_our_server_tls12(lesson, tmp_path, suite, ems, client_auth):
    config = server_config(lesson, [suite], ("1.2",), client_auth=client_auth)
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path, config, "-tls1_2", "-cipher",
                                              suite.openssl_name, client_auth=client_auth,
                                              no_ems=not ems)
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    assert (res.protocol, res.cipher) == ("TLSv1.2", suite.openssl_name)
    assert (report.version, report.suite) == ("1.2", suite)
    assert report.echoed == len(_message())
    assert report.connection.values["extended_master_secret"] is ems
    assert (report.client_certificate is not None) == client_auth
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), "1.2")


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("suite", TLS13_SUITES, ids=suite_id)
def test_s_client_to_our_server_tls13(lesson, tmp_path, suite, client_auth):
    config = server_config(lesson, [suite], client_auth=client_auth)
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path, config, "-tls1_3",
                                              "-ciphersuites", suite.openssl_name,
                                              client_auth=client_auth)
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    assert (res.protocol, res.cipher) == ("TLSv1.3", suite.openssl_name)
    assert (report.version, report.suite) == ("1.3", suite)
    assert (report.client_certificate is not None) == client_auth
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), "1.3")


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: NamedGroup(g).name)
def test_s_client_to_our_server_tls13_groups(lesson, tmp_path, group):
    # the groups we do not accept by default are accepted once the server is configured with them
    accept = kx_groups.DEFAULT if group in kx_groups.DEFAULT else (*kx_groups.DEFAULT, group)
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path,
                                              server_config(lesson, groups=accept),
                                              "-tls1_3", "-groups", OPENSSL_GROUP[group])
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    assert report.group == NamedGroup(group).name
    assert "hello_retry_request_group" not in report.connection.values
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), "1.3")


@pytest.mark.parametrize("group", TLS12_NEW_CURVES, ids=lambda g: NamedGroup(g).name)
def test_s_client_to_our_server_tls12_ecdhe_groups(lesson, tmp_path, group):
    config = server_config(lesson, [suites.get(ECDHE_SUITE)], ("1.2",), groups=(group,))
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path, config, "-tls1_2", "-cipher",
                                              ECDHE_SUITE, "-groups", OPENSSL_GROUP[group])
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    assert report.group == NamedGroup(group).name
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), "1.2")


def test_s_client_to_our_server_tls12_dhe_negotiates_ffdhe3072(lesson, tmp_path):
    """RFC 7919 §4 in TLS 1.2: s_client lists ffdhe3072 only; our server takes it over ffdhe2048.
    (OpenSSL 3.0 lists ffdhe groups only when it may do TLS 1.3: so no -tls1_2 on its side.)"""
    suite = "DHE-RSA-AES128-GCM-SHA256"
    config = server_config(lesson, [suites.get(suite)], ("1.2",),
                           groups=(NamedGroup.ffdhe2048, NamedGroup.ffdhe3072))
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path, config, "-cipher", suite,
                                              "-groups", "ffdhe3072")
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    assert re.search(r"Server Temp Key: DH, 3072 bits", res.output), res.output[-2000:]
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), "1.2")


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
def test_s_client_to_our_server_hello_retry_request(lesson, tmp_path, client_auth):
    """s_client sends an x25519 share; our server wants secp256r1 (which s_client also lists)."""
    config = server_config(lesson, groups=(NamedGroup.secp256r1,), client_auth=client_auth)
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path, config, "-tls1_3", "-groups",
                                              "X25519:P-256", client_auth=client_auth)
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    values = report.connection.values
    assert values["hello_retry_request_group"] == "secp256r1" == values["group"]
    assert re.search(r"Server Temp Key: ECDH, prime256v1", res.output), res.output[-2000:]
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), "1.3")


# ------------------------------------------------------------------------------------------------
# 4. versions
# ------------------------------------------------------------------------------------------------
def test_default_client_to_tls12_only_s_server(lesson, tmp_path):
    """We offer 1.3 and 1.2; a 1.2-only OpenSSL answers 1.2 without a downgrade sentinel."""
    with OpenSSLServer(lesson, "-tls1_2") as server:
        result = net.connect("127.0.0.1", server.port,
                             ClientConfig(trusted=lesson.trusted), send=GET, timeout=5)
        server.wait()
    assert result.version == "1.2"
    assert result.connection.values["server_random"][-8:] != DOWNGRADE_TLS12
    assert re.search(r"New, TLSv1\.2, Cipher is", result.data.decode())


def test_tls12_only_s_client_to_default_server(lesson, tmp_path):
    """Our server supports 1.3, so its 1.2 ServerHello.random ends in the downgrade sentinel; a
    client that only offered 1.2 was not downgraded and doesn't object (RFC 8446 §4.1.3)."""
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path, server_config(lesson), "-tls1_2")
    assert report.error is None, report.error
    assert res.echoed and res.protocol == "TLSv1.2"
    assert report.version == "1.2"
    assert report.connection.values["server_random"][-8:] == DOWNGRADE_TLS12
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), "1.2")


def test_default_s_client_to_tls12_only_server(lesson, tmp_path):
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path,
                                              server_config(lesson, versions=("1.2",)))
    assert report.error is None, report.error
    assert res.echoed and res.protocol == "TLSv1.2"
    assert report.connection.values["server_random"][-8:] != DOWNGRADE_TLS12


def test_default_s_client_to_default_server_is_tls13(lesson, tmp_path):
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path, server_config(lesson))
    assert report.error is None, report.error
    assert res.echoed and res.protocol == "TLSv1.3" and report.version == "1.3"


# ------------------------------------------------------------------------------------------------
# 5. client authentication refused
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version, alert", [("1.2", AlertDescription.handshake_failure),
                                            ("1.3", AlertDescription.certificate_required)])
def test_our_client_without_certificate_gets_openssl_alert(lesson, version, alert):
    flag = "-tls1_2" if version == "1.2" else "-tls1_3"
    with OpenSSLServer(lesson, flag, *client_auth_args(lesson, True)) as server:
        with pytest.raises(AlertError) as caught:
            net.connect("127.0.0.1", server.port,
                        ClientConfig(versions=(version,), trusted=lesson.trusted),
                        send=GET, timeout=5)
        server.wait()
    assert caught.value.received and caught.value.alert == alert
    assert f"{alert.name} ({int(alert)})" in str(caught.value)


@pytest.mark.parametrize("version, alert", [("1.2", AlertDescription.handshake_failure),
                                            ("1.3", AlertDescription.certificate_required)])
def test_s_client_without_certificate_is_refused(lesson, tmp_path, version, alert):
    config = server_config(lesson, versions=(version,), client_auth=True)
    res, report, _ = _run_s_client_to_us(lesson, tmp_path, config)
    assert not res.echoed
    assert re.search(r"alert (handshake failure|certificate required)", res.output), \
        res.output[-2000:]
    assert isinstance(report.error, AlertError) and not report.error.received
    assert report.error.alert == alert
    assert report.version is None      # never completed


def test_s_client_with_untrusted_certificate_is_refused(lesson, tmp_path):
    """A client certificate from another CA: our server says unknown_ca, as OpenSSL would."""
    from tlslesson import pki
    other = pki.make_pki()
    config = server_config(lesson, versions=("1.2",), client_auth=True)
    config.client_ca = other.trusted
    res, report, _ = _run_s_client_to_us(lesson, tmp_path, config, client_auth=True)
    assert not res.echoed
    assert report.error is not None and report.error.alert == AlertDescription.unknown_ca
    assert "unknown ca" in res.output


# ------------------------------------------------------------------------------------------------
# 6. server keys beyond RSA and P-256: P-384, P-521, Ed25519, Ed448, RSA-PSS (id-RSASSA-PSS)
# ------------------------------------------------------------------------------------------------
from peers import extra_identities, groups_for_certificate as _groups_for  # noqa: E402,F401
from peers import suite_for_key_type as _suite_for, server_signature_scheme as _server_signature  # noqa: E402
from tlslesson import pki, signatures, suites  # noqa: E402

OPENSSL_SIGNATURE_TYPE = {"ecdsa-p384": "ECDSA", "ecdsa-p521": "ECDSA", "ed25519": "ed25519",
                          "ed448": "ed448", "rsa-pss": "RSA-PSS"}


@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("key_type", pki.EXTRA_KEY_TYPES)
def test_our_client_to_s_server_new_key_types(lesson, extra_identities, tmp_path, key_type,
                                              version):
    suite = _suite_for(key_type, version)
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    flags = ["-tls1_2", "-cipher", suite.openssl_name] if version == "1.2" else ["-tls1_3"]
    with OpenSSLServer(lesson, *flags, cert=f"server-{key_type}", keylog=theirs) as server:
        result = net.connect("127.0.0.1", server.port,
                             client_config(lesson, [suite], (version,),
                                           groups=_groups_for(key_type, version),
                                           signature_schemes=signatures.MODERN),
                             send=GET, timeout=5, keylog=ours)
        server.wait()
    assert (result.version, result.suite) == (version, suite)
    check_page(result.data.decode(), suite, client_auth=False)
    key = extra_identities[key_type].key
    assert _server_signature(result.connection, version) in signatures.schemes_for(
        key, version == "1.3")
    assert_same_keys(read_keylog(ours), read_keylog(theirs), version)


@pytest.mark.parametrize("version", ["1.2", "1.3"])
@pytest.mark.parametrize("key_type", pki.EXTRA_KEY_TYPES)
def test_s_client_to_our_server_new_key_types(lesson, extra_identities, tmp_path, key_type,
                                              version):
    """The new identity first: s_client offers every scheme, so our server chooses it."""
    suite = _suite_for(key_type, version)
    config = server_config(lesson, [suite], (version,))
    config.identities = (extra_identities[key_type], *config.identities)
    flags = ["-tls1_2", "-cipher", suite.openssl_name] if version == "1.2" else ["-tls1_3"]
    res, report, theirs = _run_s_client_to_us(lesson, tmp_path, config, *flags)
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    assert report.suite == suite
    assert f"Peer signature type: {OPENSSL_SIGNATURE_TYPE[key_type]}" in res.output
    assert _server_signature(report.connection, version) in signatures.schemes_for(
        extra_identities[key_type].key, version == "1.3")
    assert_same_keys(keylog_of(report.connection.keylog), read_keylog(theirs), version)


# ------------------------------------------------------------------------------------------------
# 7. the suites beyond the default offer (suites.MORE_SUITES): each once, both directions, with EMS
#    and no client certificate (the matrices above vary those); OpenSSL 3.0 has every one of them.
#    TLS_AES_128_CCM_SHA256 is not in OpenSSL's default -ciphersuites: the tests name it.
# ------------------------------------------------------------------------------------------------
MORE12 = [s for s in MORE_SUITES if s.version == "1.2"]
MORE13 = [s for s in MORE_SUITES if s.version == "1.3"]


@pytest.mark.parametrize("suite", MORE12, ids=suite_id)
def test_more_suites_our_client_to_s_server_tls12(lesson, tmp_path, suite):
    test_our_client_to_s_server_tls12(lesson, tmp_path, suite, ems=True, client_auth=False)


@pytest.mark.parametrize("suite", MORE12, ids=suite_id)
def test_more_suites_s_client_to_our_server_tls12(lesson, tmp_path, suite):
    test_s_client_to_our_server_tls12(lesson, tmp_path, suite, ems=True, client_auth=False)


@pytest.mark.parametrize("client_auth", [False, True], ids=["no-client-cert", "client-cert"])
@pytest.mark.parametrize("suite", MORE13, ids=suite_id)
def test_more_suites_tls13_both_ways(lesson, tmp_path, suite, client_auth):
    test_our_client_to_s_server_tls13(lesson, tmp_path, suite, client_auth)
    test_s_client_to_our_server_tls13(lesson, tmp_path, suite, client_auth)


# 4. encrypt_then_mac (RFC 7366) and record_size_limit (RFC 8449)
# ------------------------------------------------------------------------------------------------
# OpenSSL 3.0 offers and accepts encrypt_then_mac by default (-no_etm: neither); its -www status
# page says nothing about it, so -trace shows the extension in each hello. It has no
# record_size_limit (RFC 8449): it ignores ours and sends none.
ETM_TRACE = "extension_type=encrypt_then_mac(22)"
CBC_SUITE = next(s for s in TLS12_SUITES if not s.aead)
AEAD_SUITE = next(s for s in TLS12_SUITES if s.aead and s.auth == "RSA")


@pytest.mark.parametrize("suite, ours, theirs", [
    (CBC_SUITE, True, True), (CBC_SUITE, False, True), (CBC_SUITE, True, False),
    (AEAD_SUITE, True, True)], ids=["etm", "we-dont", "s_server-no_etm", "aead"])
def test_our_client_to_s_server_encrypt_then_mac(lesson, tmp_path, suite, ours, theirs):
    args = ["-tls1_2", "-cipher", suite.openssl_name, "-trace", *([] if theirs else ["-no_etm"])]
    with OpenSSLServer(lesson, *args) as server:
        result = net.connect("127.0.0.1", server.port,
                             client_config(lesson, [suite, AEAD_SUITE, CBC_SUITE], ("1.2",),
                                           encrypt_then_mac=ours),
                             send=GET, timeout=5)
        trace = server.wait()
    agreed = ours and theirs and not suite.aead
    assert result.suite == suite and result.connection.hs.encrypt_then_mac is agreed
    check_page(result.data.decode(), suite, client_auth=False)
    assert trace.count(ETM_TRACE) == int(ours) + int(agreed)     # ClientHello, ServerHello
    assert result.connection.hs.peer_record_size_limit is None   # not in OpenSSL 3.0


@pytest.mark.parametrize("suite, ours, theirs", [
    (CBC_SUITE, True, True), (CBC_SUITE, True, False), (CBC_SUITE, False, True),
    (AEAD_SUITE, True, True)], ids=["etm", "s_client-no_etm", "we-dont", "aead"])
def test_s_client_to_our_server_encrypt_then_mac(lesson, tmp_path, suite, ours, theirs):
    config = server_config(lesson, [suite], ("1.2",), encrypt_then_mac=ours)
    res, report, _ = _run_s_client_to_us(lesson, tmp_path, config, "-tls1_2", "-cipher",
                                         f"{suite.openssl_name}:{CBC_SUITE.openssl_name}",
                                         "-trace", *([] if theirs else ["-no_etm"]))
    assert report.error is None, report.error
    assert res.echoed, res.output[-2000:]
    agreed = ours and theirs and not suite.aead
    assert report.suite == suite and report.connection.hs.encrypt_then_mac is agreed
    assert res.output.count(ETM_TRACE) == int(theirs) + int(agreed)
    assert report.connection.hs.peer_record_size_limit is None   # s_client sends none
    sh = next(s.message for s in report.connection.log if s.name == "ServerHello")
    assert all(e.type != 28 for e in sh.extensions)               # so we echo none
