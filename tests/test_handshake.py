"""In-memory handshakes between the package's client and server: every suite, EMS on/off, client
authentication on/off, version negotiation, HelloRetryRequest, KeyUpdate, and the checks that stop
tampering (Finished, record MAC/AEAD tag) with the alert a real stack sends."""
import pytest

from tlslesson import suites
from tlslesson.connection import (ApplicationData, ClientConfig, ConnectionClosed, ServerConfig,
                                  handshake)
from tlslesson.constants import AlertDescription as AD, DOWNGRADE_TLS12, NamedGroup
from tlslesson.errors import AlertError, CertificateError
from tlslesson.pki import lesson_pki
from tlslesson.lesson.configs import lesson_client, lesson_server
from tlslesson.rng import SystemRandom, lesson_rng

P = lesson_pki()
MATRIX = [(s, ems, auth) for s in suites.SUITES for ems in (True, False) for auth in (False, True)
          if not (s.version == "1.3" and not ems)]


def _run(suite, ems=True, auth=False, **kw):
    return handshake(ClientConfig(versions=(suite.version,), suites=(suite,), ems=ems,
                                  identity=P.client if auth else None, **kw),
                     ServerConfig(client_ca=P.trusted if auth else None))


@pytest.mark.parametrize("suite,ems,auth", MATRIX,
                         ids=[f"{s.openssl_name}-{'ems' if e else 'noems'}-{'auth' if a else 'anon'}"
                              for s, e, a in MATRIX])
def test_handshake_and_data(suite, ems, auth):
    run = _run(suite, ems, auth)
    assert run.ok, run.error
    c, s = run.client, run.server
    assert c.suite == s.suite == suite and c.version == suite.version
    assert c.keylog == s.keylog and c.keylog
    if suite.version == "1.2":
        assert c.values["extended_master_secret"] is ems
        assert c.values["master_secret"] == s.values["master_secret"]
        assert len(c.values["master_secret"]) == 48
        assert ("CertificateVerify" in [x.name for x in run.steps]) is auth
    else:
        assert c.values["schedule"].secrets() == s.values["schedule"].secrets()
    c.send(b"ping" * 5000)                       # > one record
    got = b"".join(e.data for e in s.receive(c.data_to_send()) if isinstance(e, ApplicationData))
    assert got == b"ping" * 5000
    s.send(b"pong")
    assert c.receive(s.data_to_send()) == [ApplicationData(b"pong")]
    c.close()
    assert s.receive(c.data_to_send()) == [ConnectionClosed()]


def test_ladder_order_tls12_ecdhe_with_client_auth():
    run = _run(suites.get("ECDHE-RSA-AES128-GCM-SHA256"), auth=True)
    assert [(s.sender, s.name) for s in run.steps] == [
        ("client", "ClientHello"), ("server", "ServerHello"), ("server", "Certificate"),
        ("server", "ServerKeyExchange"), ("server", "CertificateRequest"),
        ("server", "ServerHelloDone"), ("client", "Certificate"), ("client", "ClientKeyExchange"),
        ("client", "CertificateVerify"), ("client", "ChangeCipherSpec"), ("client", "Finished"),
        ("server", "ChangeCipherSpec"), ("server", "Finished")]
    assert [s.protected for s in run.steps if s.name == "Finished"] == [True, True]


@pytest.mark.parametrize("version,suite", [("1.3", "TLS_AES_128_GCM_SHA256"),
                                           ("1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
                                           ("1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"),
                                           ("1.2", "DHE-RSA-AES128-GCM-SHA256")])
def test_deterministic_with_lesson_configs(version, suite):
    """The lesson configuration (seeded rng, PKCS#1 v1.5 preferred, ECDSA certificate first)
    gives the same bytes every run; the same configuration with fresh randomness takes the same
    path through the states (only the random bytes differ)."""
    auth = version == "1.2"     # the lesson client key is RSA: TLS 1.3 must sign with salted PSS

    def once(rngs=None):
        client_rng, server_rng = rngs or (lesson_rng("a"), lesson_rng("b"))
        return handshake(
            lesson_client(versions=(version,), suites=(suites.get(suite),), rng=client_rng,
                          identity=P.client if auth else None),
            lesson_server(rng=server_rng, client_ca=P.trusted if auth else None))
    first, second = once(), once()
    assert first.ok and [s.record for s in first.steps] == [s.record for s in second.steps]
    live = once((SystemRandom(), SystemRandom()))
    assert live.ok and [s.record for s in live.steps] != [s.record for s in first.steps]
    assert [(s.sender, s.name, s.state) for s in live.steps] == \
        [(s.sender, s.name, s.state) for s in first.steps]
    assert (live.client.walk, live.server.walk) == (first.client.walk, first.server.walk)


def test_default_configuration_prefers_rsa_pss_and_the_rsa_certificate():
    """No lesson choices in protocol code: a plain ServerConfig signs TLS 1.2 ServerKeyExchange
    and TLS 1.3 CertificateVerify with RSA-PSS, even with a seeded rng."""
    from tlslesson.constants import SignatureScheme as SS
    for version, name in (("1.2", "ServerKeyExchange"), ("1.3", "CertificateVerify")):
        run = handshake(ClientConfig(versions=(version,), rng=lesson_rng("a")),
                        ServerConfig(rng=lesson_rng("b")))
        signed = next(s.message for s in run.steps if s.name == name)
        assert run.ok and signed.scheme == SS.rsa_pss_rsae_sha256, (version, signed.scheme)


def test_rsa_key_exchange_padding_is_random_even_in_lesson_mode():
    # PKCS#1 v1.5 encryption pads with fresh random bytes inside OpenSSL: the encrypted
    # pre-master differs every run although the pre-master itself is reproducible.
    def once():
        return handshake(ClientConfig(versions=("1.2",), suites=(suites.get("AES128-SHA"),),
                                      rng=lesson_rng("a")), ServerConfig(rng=lesson_rng("b")))
    a, b = once(), once()
    cke = [[s.wire for s in r.steps if s.name == "ClientKeyExchange"][0] for r in (a, b)]
    assert cke[0] != cke[1]
    assert a.client.values["pre_master_secret"] == b.client.values["pre_master_secret"]


def test_version_negotiation():
    run = handshake(ClientConfig(), ServerConfig(versions=("1.2",)))
    assert run.ok and run.client.version == "1.2"
    # a 1.2-only server sets no downgrade sentinel (it isn't a 1.3 server)
    assert run.client.values["server_random"][-8:] != DOWNGRADE_TLS12
    run = handshake(ClientConfig(versions=("1.2",)), ServerConfig())
    assert run.ok and run.server.version == "1.2"
    assert run.client.values["server_random"][-8:] == DOWNGRADE_TLS12


def test_downgrade_sentinel_detected():
    # An attacker strips TLS 1.3 from the ClientHello: the 1.3-capable server negotiates 1.2 and
    # marks its random; a 1.3-capable client sees the sentinel and aborts.
    import dataclasses
    from tlslesson.constants import ExtensionType as ET

    def strip_13(hello):
        kept = tuple(e for e in hello.extensions if e.type not in (ET.supported_versions, ET.key_share))
        return dataclasses.replace(hello, extensions=kept)
    run = handshake(ClientConfig(customize_hello=strip_13), ServerConfig())
    assert not run.ok
    assert isinstance(run.error, AlertError) and run.error.alert == AD.illegal_parameter
    assert "downgrade" in str(run.error)


def test_hello_retry_request():
    run = handshake(ClientConfig(groups=(NamedGroup.x25519, NamedGroup.secp256r1)),
                    ServerConfig(groups=(NamedGroup.secp256r1,)))
    assert run.ok, run.error
    names = [s.name for s in run.steps]
    assert names.count("ClientHello") == 2 and names.count("ServerHello") == 2
    assert run.client.values["group"] == "secp256r1" and run.client.keylog == run.server.keylog


@pytest.mark.parametrize("group", [NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.ffdhe2048])
def test_tls13_groups(group):
    run = handshake(ClientConfig(versions=("1.3",), groups=(group,)), ServerConfig())
    assert run.ok and run.client.values["group"] == group.name


def test_no_common_suite_is_handshake_failure():
    run = handshake(ClientConfig(versions=("1.2",), suites=(suites.get("AES128-SHA"),)),
                    ServerConfig(suites=(suites.get("ECDHE-RSA-AES128-GCM-SHA256"),)))
    assert isinstance(run.error, AlertError) and run.error.alert == AD.handshake_failure
    assert run.steps[-1].name == "Alert" and run.steps[-1].sender == "server"


@pytest.mark.parametrize("version,alert", [("1.2", AD.handshake_failure),
                                           ("1.3", AD.certificate_required)])
def test_missing_client_certificate(version, alert):
    run = handshake(ClientConfig(versions=(version,)), ServerConfig(client_ca=P.trusted))
    assert isinstance(run.error, AlertError) and run.error.alert == alert


def test_wrong_server_name_is_certificate_error():
    run = handshake(ClientConfig(server_name="example.com"), ServerConfig())
    assert isinstance(run.error, CertificateError) and run.error.step == "name"


def _flip_in(name, sender, offset_from_end=1):
    def tamper(step, record):
        if step.name == name and step.sender == sender:
            i = len(record) - offset_from_end
            return record[:i] + bytes([record[i] ^ 1]) + record[i + 1:]
        return record
    return tamper


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tampered_finished_record_is_bad_record_mac(version):
    run = handshake(ClientConfig(versions=(version,)), ServerConfig(),
                    tamper=_flip_in("Finished", "server"))
    assert not run.ok and run.error.alert == AD.bad_record_mac


def test_tampered_transcript_fails_finished():
    # Change the offered suite list in flight (0x00FF SCSV -> 0x00FE): nothing else notices, but the
    # two sides now hash different transcripts, and the server's check of Finished fails.
    # (Without EMS: with it the session hash, hence every key, differs and the first encrypted
    # record already fails its MAC.)
    def tamper(step, record):
        if step.name == "ClientHello":
            at = 5 + 4 + 2 + 32 + 1 + 2 + 3          # record hdr, hs hdr, version, random, sid, len
            assert record[at - 1:at + 1] == b"\x00\xff"
            return record[:at] + b"\xfe" + record[at + 1:]
        return record
    rsa_kx = (suites.get("AES128-GCM-SHA256"),)     # no ServerKeyExchange signature to trip first
    run = handshake(ClientConfig(versions=("1.2",), suites=rsa_kx, ems=False), ServerConfig(),
                    tamper=tamper)
    assert not run.ok and run.error.alert == AD.decrypt_error
    assert "client Finished" in str(run.error)


def test_tampered_client_random_changes_every_key():
    def tamper(step, record):
        if step.name == "ClientHello":
            return record[:20] + bytes([record[20] ^ 1]) + record[21:]
        return record
    rsa_kx = (suites.get("AES128-GCM-SHA256"),)
    run = handshake(ClientConfig(versions=("1.2",), suites=rsa_kx), ServerConfig(), tamper=tamper)
    assert not run.ok and run.error.alert == AD.bad_record_mac


def test_tampered_client_random_breaks_server_key_exchange_signature():
    def tamper(step, record):
        if step.name == "ClientHello":
            return record[:20] + bytes([record[20] ^ 1]) + record[21:]
        return record
    run = handshake(ClientConfig(versions=("1.2",)), ServerConfig(), tamper=tamper)
    assert not run.ok and run.error.alert == AD.decrypt_error
    assert "ServerKeyExchange" in str(run.error)


def test_tampered_application_record():
    run = handshake()
    run.client.send(b"secret")
    record = bytearray(run.client.data_to_send())
    record[-3] ^= 0x80
    with pytest.raises(AlertError) as e:
        run.server.receive(bytes(record))
    assert e.value.alert == AD.bad_record_mac
    assert run.server.data_to_send()[:1] == b"\x17"        # the fatal alert, encrypted in 1.3


def test_key_update_both_ways():
    run = handshake()
    c, s = run.client, run.server
    c.update_keys(request_update=True)
    c.send(b"after update")
    events = s.receive(c.data_to_send())
    assert events[-1] == ApplicationData(b"after update")
    c.receive(s.data_to_send())                  # the server's answering KeyUpdate
    s.send(b"both updated")
    assert c.receive(s.data_to_send()) == [ApplicationData(b"both updated")]


def test_peer_alert_is_reported_as_received():
    run = handshake(ClientConfig(versions=("1.2",)), ServerConfig(versions=("1.3",)))
    assert not run.ok
    assert run.error.alert == AD.protocol_version


def test_unoffered_extension_in_encrypted_extensions_is_refused():
    from tlslesson import extensions as ext, tls13
    original = tls13.encrypted_extensions
    tls13.encrypted_extensions = lambda extensions=(): original((ext.Extension(0x4242, b"x"),))
    try:
        run = handshake(ClientConfig(versions=("1.3",)), ServerConfig())
    finally:
        tls13.encrypted_extensions = original
    assert isinstance(run.error, AlertError) and run.error.alert == AD.unsupported_extension


# The suites in the table beyond the default offer: each negotiated on both sides, keys agreed,
# data both ways (records of every cipher, HMAC and key length), with and without a client
# certificate. The default ServerConfig does not accept them: it is given the one suite.
MORE = [(s, auth) for s in suites.MORE_SUITES for auth in (False, True)]


@pytest.mark.parametrize("suite,auth", MORE, ids=[f"{s.openssl_name}-{'auth' if a else 'anon'}"
                                                  for s, a in MORE])
def test_more_suites_handshake_and_data(suite, auth):
    run = handshake(ClientConfig(versions=(suite.version,), suites=(suite,),
                                 identity=P.client if auth else None),
                    ServerConfig(suites=(suite,), client_ca=P.trusted if auth else None))
    assert run.ok, run.error
    c, s = run.client, run.server
    assert c.suite == s.suite == suite and c.version == suite.version
    assert c.keylog == s.keylog and c.keylog
    if suite.version == "1.2":
        kb = c.values["key_block"]
        assert kb == s.values["key_block"]
        assert len(kb.client_write_key) == suite.key_length
        assert len(kb.client_write_mac_key) == suite.mac_length
    c.send(b"ping" * 5000)
    got = b"".join(e.data for e in s.receive(c.data_to_send()) if isinstance(e, ApplicationData))
    assert got == b"ping" * 5000
    s.send(b"pong")
    assert c.receive(s.data_to_send()) == [ApplicationData(b"pong")]


def test_default_offer_is_unchanged_by_the_larger_table():
    # The lessons print the default ClientHello byte for byte; the extra suites are opt-in.
    assert ClientConfig().suites == ServerConfig().suites == suites.SUITES
    assert not set(suites.MORE_SUITES) & set(suites.SUITES)
    assert len({s.code for s in suites.ALL_SUITES}) == len(suites.ALL_SUITES)
    assert suites.get("ECDHE-ECDSA-AES256-SHA384") is suites.BY_CODE[0xC024]
