"""Negative tests for rules of the RFCs the engine broke (issue "Conformance"), one per rule, each
with the exact bytes (built by the package's own encoders, then changed where the test says) and
the alert the RFC names. The RFC section is in each test's docstring.

Three of the defects are tested beside the state machine they were found with, in
tests/test_states.py: the RSA pre-master's version (RFC 5246 §7.4.7.1,
test_rsa_pre_master_version_is_the_client_hello_version), the ECDSA scheme bound to the curve
(RFC 8446 §4.2.3, test_tls13_ecdsa_scheme_is_bound_to_the_curve) and TLS 1.2 ECDSA without a usable
scheme refused before ServerHello (test_tls12_ecdsa_without_a_usable_scheme_is_refused_before_server_hello)."""
from __future__ import annotations

import dataclasses

import pytest

from tlslesson import extensions as ext
from tlslesson import hello, messages, pki, suites
from tlslesson.client import ClientConnection
from tlslesson.connection import ClientConfig, ConnectionClosed, ServerConfig, handshake
from tlslesson.constants import (AlertDescription as AD, ContentType as CT, ExtensionType as ET,
                                 TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV)
from tlslesson.errors import AlertError, DecodeError
from tlslesson.record import AEAD13, Record
from tlslesson.server import ServerConnection

P = pki.lesson_pki()
ECDHE = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
AES128 = suites.get("TLS_AES_128_GCM_SHA256")


def _hello(versions=("1.3", "1.2"), **changes) -> messages.ClientHello:
    client = ClientConnection(ClientConfig(versions=versions))
    client.start()
    return dataclasses.replace(client.log[0].message, **changes)


def _without(h: messages.ClientHello, *types) -> messages.ClientHello:
    return dataclasses.replace(h, extensions=tuple(e for e in h.extensions if e.type not in types))


def _send_hello(h: messages.ClientHello, server: ServerConnection | None = None):
    server = server or ServerConnection(ServerConfig())
    record = Record(CT.handshake, 0x0301, messages.encode_handshake(h)).encode()
    return server, server.receive(record)


# -- version negotiation ------------------------------------------------------------------------
def test_legacy_version_0304_without_supported_versions_is_tls12():
    """RFC 8446 §4.2.1: a ClientHello without supported_versions is negotiated by legacy_version
    rules — "TLS 1.2 or anything above" — so a 1.3 server answers with TLS 1.2, not 1.3."""
    h = _without(_hello(versions=("1.2",)), ET.supported_versions)
    h = dataclasses.replace(h, legacy_version=0x0304)
    assert hello.choose_version(h, ("1.3", "1.2")) == "1.2"
    server, _ = _send_hello(h)
    assert server.version == "1.2" and server.state == "WAIT_CKE"


@pytest.mark.parametrize("legacy", [0x0300, 0x0200, 0x0002])
def test_tls13_client_hello_with_ssl3_legacy_version_is_refused(legacy):
    """RFC 8446 App. D.5: a ClientHello with legacy_version 0x0300 or below is protocol_version,
    even when its supported_versions offers TLS 1.3."""
    h = _hello(legacy_version=legacy)
    with pytest.raises(AlertError) as caught:
        _send_hello(h)
    assert caught.value.alert == AD.protocol_version and caught.value.check == "version"


def test_fallback_scsv_to_a_server_that_speaks_tls13():
    """RFC 7507 §3: TLS_FALLBACK_SCSV in a ClientHello for a lower version than the server's
    highest is inappropriate_fallback; a server that speaks only 1.2 goes on."""
    h = _hello(versions=("1.2",))
    h = dataclasses.replace(h, cipher_suites=h.cipher_suites + (TLS_FALLBACK_SCSV,))
    with pytest.raises(AlertError) as caught:
        _send_hello(h)
    assert caught.value.alert == AD.inappropriate_fallback
    server, _ = _send_hello(h, ServerConnection(ServerConfig(versions=("1.2",))))
    assert server.version == "1.2" and not server.failed


# -- ServerHello extensions only in answer -------------------------------------------------------
def _server_hello_extensions(h) -> set[int]:
    server, _ = _send_hello(h)
    sh = next(s.message for s in server.log if s.name == "ServerHello")
    return {e.type for e in sh.extensions}


def test_server_hello_extensions_answer_only_what_the_client_sent():
    """RFC 5246 §7.4.1.4, RFC 5746 §3.6, RFC 8422 §5.2: renegotiation_info only to a client that
    sent the SCSV or the extension, ec_point_formats only to one that sent its own."""
    h = _hello(versions=("1.2",))
    assert {ET.renegotiation_info, ET.ec_point_formats} <= _server_hello_extensions(h)
    bare = _without(h, ET.ec_point_formats)
    bare = dataclasses.replace(bare, cipher_suites=tuple(
        c for c in bare.cipher_suites if c != TLS_EMPTY_RENEGOTIATION_INFO_SCSV))
    assert not {ET.renegotiation_info, ET.ec_point_formats} & _server_hello_extensions(bare)
    with_extension = dataclasses.replace(bare, extensions=bare.extensions + (ext.renegotiation_info(),))
    assert ET.renegotiation_info in _server_hello_extensions(with_extension)


# -- records ----------------------------------------------------------------------------------------
def test_tls13_inner_plaintext_over_2_14_plus_1_is_record_overflow():
    """RFC 8446 §5.4: the whole TLSInnerPlaintext (content, type and zero padding) must not exceed
    2^14 + 1 bytes: 2^14 of data plus 2 bytes of padding is record_overflow."""
    key, iv = bytes(16), bytes(12)
    sealed = AEAD13(AES128, key, iv).seal(CT.application_data, 0x0303, bytes(2 ** 14), padding=1)
    with pytest.raises(AlertError) as caught:
        AEAD13(AES128, key, iv).open(sealed)
    assert caught.value.alert == AD.record_overflow and caught.value.check == "record_length"
    at_limit = AEAD13(AES128, key, iv).seal(CT.application_data, 0x0303, bytes(2 ** 14))
    assert AEAD13(AES128, key, iv).open(at_limit)[1] == bytes(2 ** 14)


def _connected13():
    client = ClientConnection(ClientConfig(versions=("1.3",)))
    server = ServerConnection(ServerConfig())
    client.start()
    for _ in range(6):
        server.receive(client.data_to_send())
        client.receive(server.data_to_send())
    assert client.handshake_complete and server.handshake_complete
    return client, server


def _sealed_by_client(client, content_type: int, payload: bytes) -> bytes:
    return client.records.seal(content_type, payload)


@pytest.mark.parametrize("value", [2, 255])
def test_key_update_request_update_out_of_range_is_illegal_parameter(value):
    """RFC 8446 §4.6.3: "request_update ... MUST be 0 or 1 ... illegal_parameter"."""
    client, server = _connected13()
    with pytest.raises(AlertError) as caught:
        server.receive(_sealed_by_client(client, CT.handshake, bytes([24, 0, 0, 1, value])))
    assert caught.value.alert == AD.illegal_parameter and caught.value.check == "key_update"


def test_two_key_updates_in_one_record_are_unexpected():
    """RFC 8446 §5.1: a KeyUpdate changes keys, so it must end its record."""
    client, server = _connected13()
    two = bytes([24, 0, 0, 1, 0]) * 2
    with pytest.raises(AlertError) as caught:
        server.receive(_sealed_by_client(client, CT.handshake, two))
    assert caught.value.alert == AD.unexpected_message and caught.value.check == "record_boundary"


def test_handshake_message_split_around_application_data_is_unexpected():
    """RFC 8446 §5.1: handshake messages MUST NOT be interleaved with other record types."""
    client, server = _connected13()
    server.receive(_sealed_by_client(client, CT.handshake, bytes([24, 0, 0])))
    with pytest.raises(AlertError) as caught:
        server.receive(_sealed_by_client(client, CT.application_data, b"hello"))
    assert caught.value.alert == AD.unexpected_message and caught.value.check == "record_boundary"


def test_tls13_record_version_is_ignored_on_the_compatibility_change_cipher_spec():
    """RFC 8446 §5.1: legacy_record_version "MUST be ignored for all purposes": a dummy
    ChangeCipherSpec with 0x0300, arriving after the handshake keys, changes nothing."""
    def old_version(step, record):
        if step.name == "ChangeCipherSpec":
            return record[:1] + b"\x03\x00" + record[3:]
        return record
    run = handshake(ClientConfig(versions=("1.3",)), ServerConfig(), tamper=old_version)
    assert run.ok, run.error


def test_finished_of_the_wrong_length_is_decode_error():
    """RFC 8446 §6 (decode_error: "the length of the message was incorrect"), not decrypt_error."""
    client = ClientConnection(ClientConfig(versions=("1.2",), suites=(ECDHE,)))
    server = ServerConnection(ServerConfig())
    client.start()
    server.receive(client.data_to_send())
    client.receive(server.data_to_send())
    records = client.records_to_send()
    assert [s.name for s, _ in records][-1] == "Finished"
    for step, raw in records[:-1]:
        server.receive(raw)
    wrong = messages.encode_handshake(messages.Finished(bytes(11)))
    client.records.write.seq -= 1                # in place of the Finished it sealed
    with pytest.raises(DecodeError) as caught:
        server.receive(client.records.write.seal(CT.handshake, 0x0303, wrong).encode())
    assert caught.value.alert == AD.decode_error and "verify_data" in str(caught.value)


# -- alerts ---------------------------------------------------------------------------------------
def test_warning_user_canceled_is_a_closure_alert():
    """RFC 8446 §6.1: user_canceled is a closure alert (Java 17 sends it before close_notify):
    not an error; the close_notify after it ends the connection."""
    client, server = _connected13()
    events = server.receive(_sealed_by_client(client, CT.alert, bytes([1, AD.user_canceled]))
                            + _sealed_by_client(client, CT.alert, bytes([1, AD.close_notify])))
    assert events == [ConnectionClosed()] and not server.failed


# -- client authentication: request, don't require ---------------------------------------------------
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_requested_client_certificate_may_be_refused(version):
    """RFC 5246 §7.4.6 / RFC 8446 §4.4.2.4: a client without a certificate answers the
    CertificateRequest with an empty Certificate; a server that only requests goes on, one that
    requires it ends the handshake (handshake_failure / certificate_required)."""
    requesting = ServerConfig(client_ca=P.trusted, require_client_certificate=False)
    run = handshake(ClientConfig(versions=(version,)), requesting)
    assert run.ok, run.error
    assert "CertificateRequest" in [s.name for s in run.steps]
    assert "client_certificate_checks" not in run.server.values
    with_one = handshake(ClientConfig(versions=(version,), identity=P.client), requesting)
    assert with_one.ok and with_one.server.values["client_certificate_checks"].ok
    required = handshake(ClientConfig(versions=(version,)), ServerConfig(client_ca=P.trusted))
    assert required.error.alert == (AD.certificate_required if version == "1.3"
                                    else AD.handshake_failure)


def test_renegotiation_is_declined_with_a_warning():
    """RFC 5246 §7.4.1.2 / RFC 5746: a server that does not renegotiate answers a ClientHello after
    the handshake with a warning no_renegotiation and goes on (not unexpected_message)."""
    client = ClientConnection(ClientConfig(versions=("1.2",), suites=(ECDHE,)))
    server = ServerConnection(ServerConfig())
    client.start()
    for _ in range(4):
        server.receive(client.data_to_send())
        client.receive(server.data_to_send())
    assert server.handshake_complete
    again = messages.encode_handshake(_hello(versions=("1.2",)))
    assert server.receive(client.records.seal(CT.handshake, again)) == []
    warning = server.log[-1]
    assert (warning.name, warning.message.level, warning.message.description) == \
        ("Alert", 1, AD.no_renegotiation) and server.state == "CONNECTED"
    client.send(b"still here")
    assert [e.data for e in server.receive(client.data_to_send())] == [b"still here"]


# -- alerts the RFC names ---------------------------------------------------------------------------
def test_no_null_compression_is_illegal_parameter():
    """RFC 8446 §4.1.2 (OpenSSL answers decode_error; the RFC's alert is illegal_parameter)."""
    with pytest.raises(AlertError) as caught:
        _send_hello(_hello(compression_methods=b"\x01"))
    assert caught.value.alert == AD.illegal_parameter and caught.value.check == "compression"


def test_an_unknown_content_type_after_the_first_record_is_unexpected_message():
    """RFC 8446 §5: "an unexpected record type ... MUST terminate the connection with an
    unexpected_message alert" (the very first record is simply not TLS: decode_error)."""
    server, _ = _send_hello(_hello())
    with pytest.raises(AlertError) as caught:
        server.receive(bytes([99, 3, 3, 0, 1, 0]))
    assert caught.value.alert == AD.unexpected_message and caught.value.check == "record_type"
    with pytest.raises(DecodeError):
        ServerConnection().receive(bytes([99, 3, 3, 0, 1, 0]))


def test_an_empty_certificate_verify_signature_is_decrypt_error():
    """RFC 8446 §4.4.3 / RFC 5246 §7.4.8: a signature that does not verify — here none at all —
    is decrypt_error; the message itself still parses (00 00: a zero-length signature)."""
    from tlslesson import tls12, tls13
    from tlslesson.constants import SignatureScheme as SS
    raw = bytes([15, 0, 0, 4]) + SS.rsa_pss_rsae_sha256.to_bytes(2, "big") + b"\x00\x00"
    cv = messages.decode_handshake(raw, messages.Context("1.3"))
    assert cv.signature == b""
    key = P.client.key.public_key()
    with pytest.raises(AlertError) as caught:
        tls13.verify_certificate_verify(cv, key, bytes(32), "client", (SS.rsa_pss_rsae_sha256,))
    assert caught.value.alert == AD.decrypt_error and caught.value.check == "certificate_verify"
    with pytest.raises(AlertError) as caught:
        tls12.verify_certificate_verify(cv, key, b"handshake messages")
    assert caught.value.alert == AD.decrypt_error


def _with_share(h, group: int, key_exchange: bytes):
    return dataclasses.replace(h, extensions=tuple(
        ext.key_share_client([ext.KeyShareEntry(group, key_exchange)]) if e.type == ET.key_share
        else e for e in h.extensions))


def test_a_right_truncated_ffdhe_share_is_illegal_parameter():
    """RFC 8446 §4.2.8.1: an ffdhe public value is left-padded to the size of p (256 bytes for
    ffdhe2048); 255 bytes (the leading zero byte dropped) is illegal_parameter."""
    from tlslesson import groups
    from tlslesson.constants import NamedGroup
    from tlslesson.rng import SystemRandom
    _, share = groups.FFDHE2048.client_share(SystemRandom())
    h = _with_share(_hello(versions=("1.3",)), NamedGroup.ffdhe2048, share[1:])
    server = ServerConnection(ServerConfig(groups=(NamedGroup.ffdhe2048,)))
    with pytest.raises(AlertError) as caught:
        _send_hello(h, server)
    assert caught.value.alert == AD.illegal_parameter and caught.value.check == "key_share"


@pytest.mark.parametrize("names", [[b"localhost", b"example.com"], [b"local\x00host"],
                                   [b"bad name"]])
def test_server_name_must_hold_one_printable_host_name(names):
    """RFC 6066 §3: no two names of the same type; a HostName is a DNS name (no control bytes)."""
    entries = b"".join(b"\x00" + len(n).to_bytes(2, "big") + n for n in names)
    data = len(entries).to_bytes(2, "big") + entries
    h = _hello()
    h = dataclasses.replace(h, extensions=tuple(
        ext.Extension(ET.server_name, data) if e.type == ET.server_name else e
        for e in h.extensions))
    with pytest.raises(DecodeError) as caught:
        _send_hello(h)
    assert caught.value.field == "host_name"


def test_the_reply_of_a_server_that_answers_and_closes_is_not_lost(tmp_path):
    """A server that answers and closes at once (Python ssl here) closes with our close_notify
    unread if we send it right after our data: its kernel then resets the connection and the
    reply in flight to us is dropped. connect waits for the answer first (20 of 20 came back)."""
    import socket
    import ssl
    import threading
    from tlslesson import net
    lesson = pki.lesson_pki()
    (tmp_path / "chain.pem").write_bytes(lesson.rsa_server.chain_pem)
    (tmp_path / "key.pem").write_bytes(lesson.rsa_server.key_pem)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve(count):
        for _ in range(count):
            sock, _ = listener.accept()
            with ctx.wrap_socket(sock, server_side=True) as tls:
                tls.settimeout(10)
                tls.sendall(b"polo:" + tls.recv(100))      # answer, then close at once
    runs = 20
    thread = threading.Thread(target=serve, args=(runs,), daemon=True)
    thread.start()
    try:
        got = [net.connect("127.0.0.1", port, ClientConfig(versions=("1.3",)), send=b"marco",
                           timeout=5).data for _ in range(runs)]
    finally:
        thread.join(10)
        listener.close()
    assert got == [b"polo:marco"] * runs
