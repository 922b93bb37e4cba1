"""Message and extension codecs: encode(decode(x)) == x, spans cover every byte, errors name the field."""
import pytest

from tlslesson import extensions as ext, messages as m, suites
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.errors import DecodeError, TLSError
from tlslesson.pki import lesson_pki
from tlslesson.rng import lesson_rng
from tlslesson.wire import Reader


def _steps(version, suite, auth=False):
    p = lesson_pki()
    run = handshake(ClientConfig(versions=(version,), suites=(suites.get(suite),),
                                 rng=lesson_rng("codec-c"), identity=p.client if auth else None),
                    ServerConfig(rng=lesson_rng("codec-s"), client_ca=p.trusted if auth else None))
    assert run.ok, run.error
    return [s for s in run.steps if hasattr(s.message, "msg_type")]   # the handshake messages


CASES = [("1.2", "ECDHE-RSA-AES128-GCM-SHA256", True), ("1.2", "DHE-RSA-AES128-GCM-SHA256", False),
         ("1.2", "AES128-SHA", True), ("1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", False),
         ("1.3", "TLS_AES_128_GCM_SHA256", True), ("1.3", "TLS_CHACHA20_POLY1305_SHA256", False)]


@pytest.mark.parametrize("version,suite,auth", CASES)
def test_every_message_round_trips(version, suite, auth):
    steps = _steps(version, suite, auth)
    names = [s.name for s in steps]
    assert "Finished" in names and "Certificate" in names
    for step in steps:
        decoded = m.decode_handshake(step.wire, step.context)
        assert decoded == step.message
        assert m.encode_handshake(decoded) == step.wire


@pytest.mark.parametrize("version,suite,auth", CASES)
def test_spans_cover_every_byte_of_every_message(version, suite, auth):
    for step in _steps(version, suite, auth):
        spans = m.layout(step.wire, step.context)
        covered = bytearray(len(step.wire))
        for span in spans:
            assert 0 <= span.start <= span.end <= len(step.wire)
            covered[span.start:span.end] = b"\x01" * span.length
        assert all(covered), (step.name, covered.index(0))


def test_unknown_extension_is_kept_and_shown():
    hello = m.ClientHello(bytes(32), (0x1301,), (ext.Extension(0xABCD, b"hi"),))
    decoded = m.decode_handshake(m.encode_handshake(hello))
    assert decoded.extensions == (ext.Extension(0xABCD, b"hi"),)
    assert decoded.extensions[0].name == "unknown(0xabcd)"
    assert any(s.name == "unknown(0xabcd) extension_data" for s in m.layout(m.encode_handshake(hello)))


def test_extension_values_decode():
    hello = m.ClientHello(bytes(32), (0x1301,), (
        ext.server_name("example.com"), ext.supported_groups([29, 23]),
        ext.supported_versions_client([0x0304, 0x0303]),
        ext.key_share_client([ext.KeyShareEntry(29, b"k" * 32)])))
    d = m.decode_handshake(m.encode_handshake(hello))
    values = {e.name: ext.value(e, "client_hello") for e in d.extensions}
    assert values["server_name"] == ("example.com",)
    assert values["supported_groups"] == (29, 23)
    assert values["supported_versions"] == (0x0304, 0x0303)
    assert values["key_share"] == (ext.KeyShareEntry(29, b"k" * 32),)


def test_truncated_message_names_field_and_offset():
    wire = m.encode_handshake(m.ClientHello(bytes(32), (0xC02F,), (ext.server_name("localhost"),)))
    with pytest.raises(DecodeError) as e:
        m.decode_handshake(wire[:20])
    assert e.value.field == "client_hello body" and e.value.offset == 4
    with pytest.raises(DecodeError) as e:
        m.decode_handshake(wire[:1] + (len(wire) - 14).to_bytes(3, "big") + wire[4:-10])
    assert "extensions" in e.value.field or "server_name" in e.value.field or "host_name" in e.value.field
    assert str(e.value).startswith("decode_error: ")


def test_duplicate_extension_rejected():
    dup = (ext.extended_master_secret(), ext.extended_master_secret())
    with pytest.raises(DecodeError, match="twice"):
        m.decode_handshake(m.encode_handshake(m.ClientHello(bytes(32), (0x1301,), dup)))


def test_trailing_bytes_rejected():
    wire = m.encode_handshake(m.ServerHelloDone())
    with pytest.raises(DecodeError, match="trailing"):
        m.decode_handshake(wire + b"\x00")


def test_reader_errors_are_tls_errors():
    r = Reader(b"\x00\x05ab")
    with pytest.raises(TLSError):
        r.opaque(2, "thing")


def test_alert_and_change_cipher_spec():
    assert m.Alert.decode(b"\x02\x28") == m.Alert(2, 40) and str(m.Alert(2, 40)) == "fatal handshake_failure"
    assert m.Alert(1, 0).encode() == b"\x01\x00"
    assert m.ChangeCipherSpec.decode(b"\x01").encode() == b"\x01"
    for bad in (b"", b"\x02", b"\x01\x01"):
        with pytest.raises(DecodeError):
            m.ChangeCipherSpec.decode(bad)
    with pytest.raises(DecodeError):
        m.Alert.decode(b"\x02")
