"""RFC 8448 section 3 ("Simple 1-RTT Handshake") reproduced byte for byte by a ClientConnection.

The RFC prints every private key, random, message, secret and record of one TLS 1.3 handshake
(x25519, TLS_AES_128_GCM_SHA256, an RSA-PSS CertificateVerify). We give our client the RFC's
client random and x25519 private key and the RFC's offer, then feed it the RFC's server records:
it must build the RFC's ClientHello, derive every secret the RFC prints, decrypt and check the
server's flight, and produce the RFC's Finished, application data and close_notify records.
The server side is checked at the message level only (the note at the end of this file says
why our ServerConnection cannot produce the RFC's server bytes).

Expected values: tests/vectors/rfc8448_simple.json (each with its RFC line; extracted from the
RFC text by tests/rfc8448_trace.py). The key schedule alone is in test_tls13_schedule.py.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

import rfc8448_trace
from rfc8448_trace import load
from tlslesson import extensions as ext
from tlslesson import groups, keylog, messages, pki, signatures, suites, tls13
from tlslesson.client import ClientConnection
from tlslesson.connection import (ApplicationData, ClientConfig, ConnectionClosed,
                                  HandshakeComplete, PostHandshakeMessage)
from tlslesson.constants import AlertDescription as AD, ExtensionType as ET, NamedGroup
from tlslesson.errors import AlertError, CertificateError
from tlslesson.prf import Transcript
from tlslesson.record import AEAD13

TLS13 = messages.Context("1.3")
SUITE = suites.get("TLS_AES_128_GCM_SHA256")

# The RFC client's offer, in its order (read off the RFC's ClientHello bytes).
RFC_SUITES = tuple(suites.get(name) for name in (
    "TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384"))
RFC_GROUPS = (0x001D, 0x0017, 0x0018, 0x0019,                  # x25519, secp256r1/384r1/521r1
              0x0100, 0x0101, 0x0102, 0x0103, 0x0104)          # ffdhe2048 .. ffdhe8192
RFC_SIGNATURE_SCHEMES = (
    0x0403, 0x0503, 0x0603, 0x0203,        # ecdsa_secp256r1_sha256 .. ecdsa_sha1
    0x0804, 0x0805, 0x0806,                # rsa_pss_rsae_sha256/384/512
    0x0401, 0x0501, 0x0601, 0x0201,        # rsa_pkcs1_sha256/384/512, rsa_pkcs1_sha1
    0x0402, 0x0502, 0x0602, 0x0202)        # DSA with SHA-256/384/512/1 (TLS 1.2 code points)
# The RFC's certificate (CN=rsa) is valid 2016-07-30 .. 2026-07-30; RFC 8448 is from January 2019.
RFC_CLOCK = dt.datetime(2019, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def rfc() -> dict[str, bytes]:
    return load()


class ScriptedRandom:
    """A "random" source that plays back the RFC's values, in the order the client asks.

    ClientConnection.start() asks for the 32-byte client random first, then (no session id
    when ``session_id=b""``) the x25519 group asks for the 32-byte private key. Test only."""

    def __init__(self, *values: bytes):
        self.values = list(values)

    def bytes(self, n: int) -> bytes:
        assert self.values, f"asked for {n} more random bytes than the RFC trace has"
        value = self.values.pop(0)
        assert len(value) == n, f"asked for {n} bytes, the next scripted value has {len(value)}"
        return value


def rfc_extension_order(hello: messages.ClientHello) -> messages.ClientHello:
    """customize_hello: the RFC client's extensions, in its order. Our client builds server_name,
    supported_groups, key_share, supported_versions, signature_algorithms and
    psk_key_exchange_modes from the config; the RFC client also sends three we don't."""
    ours = {e.type: e for e in hello.extensions}
    return dataclasses.replace(hello, extensions=(
        ours[ET.server_name],
        ext.renegotiation_info(),               # ff01: empty renegotiated_connection
        ours[ET.supported_groups],
        ext.Extension(35),                      # session_ticket (RFC 5077), empty
        ours[ET.key_share],
        ours[ET.supported_versions],
        ours[ET.signature_algorithms],
        ours[ET.psk_key_exchange_modes],
        ext.Extension(28, b"\x40\x01"),         # record_size_limit (RFC 8449): 16385
    ))


def rfc_client_config(rfc, **changes) -> ClientConfig:
    client_random = rfc["client_hello"][6:38]     # after type(1) length(3) legacy_version(2)
    settings = dict(
        versions=("1.3",), suites=RFC_SUITES, groups=RFC_GROUPS,
        signature_schemes=RFC_SIGNATURE_SCHEMES, session_id=b"", server_name="server",
        rng=ScriptedRandom(client_random, rfc["client_private_key"]),
        customize_hello=rfc_extension_order,
        # The RFC's certificate has no subjectAltName (only CN=rsa), so no name we could connect
        # to passes the name check: the connection skips validation, and
        # test_rfc_certificate_validation runs pki.validate_chain on it with a fixed clock.
        verify=False)
    settings.update(changes)
    return ClientConfig(**settings)


@dataclasses.dataclass
class Run:
    """What our client did at each step of RFC 8448 §3."""
    client: ClientConnection
    client_hello_record: bytes = b""
    server_hello_events: list = dataclasses.field(default_factory=list)
    server_flight_events: list = dataclasses.field(default_factory=list)
    client_finished_record: bytes = b""
    ticket_events: list = dataclasses.field(default_factory=list)
    application_data_record: bytes = b""
    server_data_events: list = dataclasses.field(default_factory=list)
    close_notify_record: bytes = b""
    server_close_events: list = dataclasses.field(default_factory=list)


def run_section_3(rfc, **changes) -> Run:
    """Drive a ClientConnection through the whole RFC 8448 §3 conversation (``changes`` go to
    its ClientConfig; test_rfc8448_resumed.py passes a clock, to date the ticket it resumes)."""
    client = ClientConnection(rfc_client_config(rfc, **changes))
    r = Run(client)
    client.start()
    r.client_hello_record = client.data_to_send()
    r.server_hello_events = client.receive(rfc["server_hello_record"])
    r.server_flight_events = client.receive(rfc["server_flight_record"])
    r.client_finished_record = client.data_to_send()
    r.ticket_events = client.receive(rfc["new_session_ticket_record"])
    client.send(rfc["client_application_data"])
    r.application_data_record = client.data_to_send()
    r.server_data_events = client.receive(rfc["server_application_data_record"])
    client.close()
    r.close_notify_record = client.data_to_send()
    r.server_close_events = client.receive(rfc["server_alert_record"])
    return r


@pytest.fixture(scope="module")
def run(rfc) -> Run:
    return run_section_3(rfc)


# -- the extracted vectors themselves --------------------------------------------------------------
def test_vectors_are_what_the_rfc_text_says():
    """Re-extract from the RFC text (where this checkout has it next door) and compare."""
    text_path = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "rfc8448.txt"
    if not text_path.exists():
        pytest.skip(f"RFC 8448 text not at {text_path}")
    text = text_path.read_text()
    stored = json.loads(rfc8448_trace.VECTORS.read_text())
    assert stored["rfc_text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert rfc8448_trace.extract(text) == stored["values"]


def test_vectors_agree_with_each_other(rfc):
    """The RFC prints some bytes twice (message, then record payload): they agree."""
    assert rfc["client_hello_record"][5:] == rfc["client_hello"]
    assert rfc["server_hello_record"] == bytes.fromhex("160303005a") + rfc["server_hello"]
    assert rfc["server_flight_payload"] == b"".join(rfc[n] for n in (
        "encrypted_extensions", "certificate", "certificate_verify", "server_finished"))
    # protected records: payload + 1 content-type byte + 16-byte tag
    for payload, record in [("server_flight_payload", "server_flight_record"),
                            ("client_finished", "client_finished_record"),
                            ("new_session_ticket", "new_session_ticket_record"),
                            ("client_application_data", "client_application_data_record"),
                            ("server_application_data", "server_application_data_record"),
                            ("client_alert", "client_alert_record"),
                            ("server_alert", "server_alert_record")]:
        assert rfc[record][:3] == b"\x17\x03\x03"
        assert int.from_bytes(rfc[record][3:5], "big") == len(rfc[payload]) + 1 + 16


# -- the client's flights, byte for byte -----------------------------------------------------------
def test_client_hello_record_is_the_rfcs(rfc, run):
    # 16 03 01 00 c4: handshake, record version 0x0301 on the first ClientHello, 196 bytes
    assert run.client_hello_record[:5] == bytes.fromhex("16030100c4")
    assert run.client_hello_record == rfc["client_hello_record"]
    assert run.client.log[0].wire == rfc["client_hello"]
    assert run.client.rng.values == []            # both scripted values used, nothing more


def test_client_finished_record_is_the_rfcs(rfc, run):
    assert run.client_finished_record == rfc["client_finished_record"]
    sent = [s for s in run.client.log if s.sender == "client" and s.name == "Finished"]
    assert [s.wire for s in sent] == [rfc["client_finished"]]
    assert sent[0].protected                      # under the client handshake traffic key


def test_application_data_record_is_the_rfcs(rfc, run):
    assert len(rfc["client_application_data"]) == 50
    assert run.application_data_record == rfc["client_application_data_record"]


def test_close_notify_records_both_ways(rfc, run):
    assert rfc["client_alert"] == rfc["server_alert"] == b"\x01\x00"   # warning, close_notify
    assert run.close_notify_record == rfc["client_alert_record"]      # ours, encrypted, seq 1
    assert run.server_close_events == [ConnectionClosed()]             # theirs, decrypted
    assert run.client.closed


# -- what the client read --------------------------------------------------------------------------
def test_server_hello_then_the_encrypted_flight(rfc, run):
    assert run.server_hello_events == []
    assert run.server_flight_events == [HandshakeComplete("1.3", SUITE)]
    received = [(s.name, s.wire) for s in run.client.log if s.sender == "server"][:5]
    assert received == [("ServerHello", rfc["server_hello"]),
                        ("EncryptedExtensions", rfc["encrypted_extensions"]),
                        ("Certificate", rfc["certificate"]),
                        ("CertificateVerify", rfc["certificate_verify"]),
                        ("Finished", rfc["server_finished"])]
    # one record carried four messages; decrypted, it is the RFC's payload
    assert b"".join(w for _, w in received[1:]) == rfc["server_flight_payload"]


def test_client_derived_every_secret_the_rfc_prints(rfc, run):
    v = run.client.values
    assert v["client_random"] == rfc["client_hello"][6:38]
    assert v["server_random"] == rfc["server_hello"][6:38]
    assert v["client_share"] == rfc["client_public_key"]
    assert v["server_share"] == rfc["server_public_key"]
    assert v["shared_secret"] == rfc["shared_secret"]
    s: tls13.KeySchedule = v["schedule"]
    assert s.early_secret == rfc["early_secret"]
    assert s.handshake_secret == rfc["handshake_secret"]
    assert s.client_handshake_traffic_secret == rfc["client_handshake_traffic_secret"]
    assert s.server_handshake_traffic_secret == rfc["server_handshake_traffic_secret"]
    assert s.master_secret == rfc["master_secret"]
    assert s.client_application_traffic_secret_0 == rfc["client_application_traffic_secret_0"]
    assert s.server_application_traffic_secret_0 == rfc["server_application_traffic_secret_0"]
    assert s.exporter_master_secret == rfc["exporter_master_secret"]
    assert s.resumption_master_secret == rfc["resumption_master_secret"]
    assert s.keys == {
        "server_handshake": (rfc["server_handshake_key"], rfc["server_handshake_iv"]),
        "client_handshake": (rfc["client_handshake_key"], rfc["client_handshake_iv"]),
        "server_application": (rfc["server_application_key"], rfc["server_application_iv"]),
        "client_application": (rfc["client_application_key"], rfc["client_application_iv"]),
    }
    assert v["server_verify_data"] == rfc["server_verify_data"]    # checked, then kept
    assert v["client_verify_data"] == rfc["client_verify_data"]


def test_key_log_lines(rfc, run):
    client_random = rfc["client_hello"][6:38]
    assert run.client.keylog == [
        keylog.line("CLIENT_HANDSHAKE_TRAFFIC_SECRET", client_random,
                    rfc["client_handshake_traffic_secret"]),
        keylog.line("SERVER_HANDSHAKE_TRAFFIC_SECRET", client_random,
                    rfc["server_handshake_traffic_secret"]),
        keylog.line("CLIENT_TRAFFIC_SECRET_0", client_random,
                    rfc["client_application_traffic_secret_0"]),
        keylog.line("SERVER_TRAFFIC_SECRET_0", client_random,
                    rfc["server_application_traffic_secret_0"]),
        keylog.line("EXPORTER_SECRET", client_random, rfc["exporter_master_secret"]),
    ]


def test_new_session_ticket_is_shown(rfc, run):
    [event] = run.ticket_events
    assert isinstance(event, PostHandshakeMessage)
    nst = event.message
    assert isinstance(nst, messages.NewSessionTicket)
    assert messages.encode_handshake(nst) == rfc["new_session_ticket"]
    assert nst.ticket_lifetime == 30                       # seconds
    assert nst.ticket_age_add == 0xFAD6AAC5
    assert nst.ticket_nonce == rfc["ticket_nonce"] == b"\x00\x00"
    assert len(nst.ticket) == 178
    assert nst.extensions == (ext.Extension(ET.early_data, (1024).to_bytes(4, "big")),)
    # the PSK a resumption uses: test_rfc8448_resumed.py resumes with it (RFC 8448 §4)
    res_master = run.client.values["schedule"].resumption_master_secret
    assert tls13.hkdf_expand_label(SUITE.hash, res_master, "resumption", nst.ticket_nonce, 32) \
        == rfc["resumption_psk"]


def test_server_application_data_decrypts(rfc, run):
    assert run.server_data_events == [ApplicationData(rfc["server_application_data"])]
    assert rfc["server_application_data"] == bytes(range(50))


# -- the client really checks the server's flight --------------------------------------------------
def _server_flight_with(rfc, message_name: str, flip_at: int) -> bytes:
    """The RFC's server flight with one byte of one message flipped, re-encrypted under the
    server handshake key (so the record itself is fine: the handshake check must catch it)."""
    parts = [bytearray(rfc[name]) for name in
             ("encrypted_extensions", "certificate", "certificate_verify", "server_finished")]
    index = ("encrypted_extensions", "certificate", "certificate_verify",
             "server_finished").index(message_name)
    parts[index][flip_at] ^= 0x01
    protection = AEAD13(SUITE, rfc["server_handshake_key"], rfc["server_handshake_iv"])
    return protection.seal(22, 0x0303, b"".join(bytes(p) for p in parts)).encode()


def test_unchanged_flight_re_encrypts_to_the_rfc_record(rfc):
    protection = AEAD13(SUITE, rfc["server_handshake_key"], rfc["server_handshake_iv"])
    assert protection.seal(22, 0x0303, rfc["server_flight_payload"]).encode() \
        == rfc["server_flight_record"]


@pytest.mark.parametrize("message, flip_at, why", [
    ("certificate_verify", 20, "server CertificateVerify: signature does not verify"),
    ("server_finished", 10, "server Finished: verify_data does not match"),
])
def test_tampered_server_flight_is_refused(rfc, message, flip_at, why):
    client = ClientConnection(rfc_client_config(rfc))
    client.start()
    client.data_to_send()
    client.receive(rfc["server_hello_record"])
    with pytest.raises(AlertError) as caught:
        client.receive(_server_flight_with(rfc, message, flip_at))
    assert caught.value.alert == AD.decrypt_error
    assert why in str(caught.value)
    assert not client.handshake_complete


def test_corrupted_record_is_bad_record_mac(rfc):
    client = ClientConnection(rfc_client_config(rfc))
    client.start()
    client.receive(rfc["server_hello_record"])
    record = bytearray(rfc["server_flight_record"])
    record[100] ^= 0x80
    with pytest.raises(AlertError) as caught:
        client.receive(bytes(record))
    assert caught.value.alert == AD.bad_record_mac


# -- messages: decode, encode, and the server's CertificateVerify on its own -----------------------
@pytest.mark.parametrize("name", ["client_hello", "server_hello", "encrypted_extensions",
                                  "certificate", "certificate_verify", "server_finished",
                                  "client_finished", "new_session_ticket"])
def test_decode_encode_round_trip(rfc, name):
    message = messages.decode_handshake(rfc[name], TLS13)
    assert messages.encode_handshake(message) == rfc[name]


def test_decoded_fields(rfc):
    ch = messages.decode_handshake(rfc["client_hello"], TLS13)
    assert ch.cipher_suites == (0x1301, 0x1303, 0x1302) and ch.session_id == b""
    assert [e.type for e in ch.extensions] == [0, 0xFF01, 10, 35, 51, 43, 13, 45, 28]
    assert ext.value(ch.extension(ET.server_name), "client_hello") == ("server",)
    assert ext.value(ch.extension(ET.supported_versions), "client_hello") == (0x0304,)
    assert ext.value(ch.extension(ET.supported_groups), "client_hello") == RFC_GROUPS
    assert ext.value(ch.extension(ET.signature_algorithms), "client_hello") \
        == RFC_SIGNATURE_SCHEMES

    sh = messages.decode_handshake(rfc["server_hello"], TLS13)
    assert sh.cipher_suite == 0x1301 and not sh.is_hello_retry_request
    assert [e.type for e in sh.extensions] == [51, 43]         # key_share, supported_versions
    assert ext.value(sh.extension(ET.key_share), "server_hello") \
        == ext.KeyShareEntry(NamedGroup.x25519, rfc["server_public_key"])

    ee = messages.decode_handshake(rfc["encrypted_extensions"], TLS13)
    # supported_groups, record_size_limit, and server_name empty ("I used your SNI")
    assert [(e.type, e.data) for e in ee.extensions] == [
        (10, ext.supported_groups(RFC_GROUPS).data), (28, b"\x40\x01"), (0, b"")]

    cert = messages.decode_handshake(rfc["certificate"], TLS13)
    assert cert.certificate_request_context == b""
    assert len(cert.certificate_list) == 1 and len(cert.certificate_list[0]) == 432
    assert cert.entry_extensions == ((),)                      # no OCSP / SCT per entry

    cv = messages.decode_handshake(rfc["certificate_verify"], TLS13)
    assert cv.scheme == 0x0804 and len(cv.signature) == 128    # rsa_pss_rsae_sha256, RSA-1024


def test_server_hello_from_the_rfc_values(rfc):
    """The RFC's ServerHello, built with our builders from its random and x25519 private key
    (in the RFC's extension order: key_share, then supported_versions)."""
    _, public = groups.get("x25519").client_share(ScriptedRandom(rfc["server_private_key"]))
    assert public == rfc["server_public_key"]
    hello = messages.ServerHello(
        rfc["server_hello"][6:38], SUITE.code,
        (ext.key_share_server(ext.KeyShareEntry(NamedGroup.x25519, public)),
         ext.supported_versions_server(0x0304)))
    assert messages.encode_handshake(hello) == rfc["server_hello"]
    # Our server's stage (what ServerConnection sends) puts supported_versions first, as OpenSSL
    # does; the RFC's server put key_share first. Extension order is free (RFC 8446 §4.2 only
    # pins pre_shared_key last), so that is the one difference, and it changes the transcript:
    # our server cannot reproduce the RFC's secrets after this point.
    stage = tls13.server_hello(SUITE, rfc["server_hello"][6:38], b"",
                               ext.KeyShareEntry(NamedGroup.x25519, public))
    assert [e.type for e in stage.message.extensions] == [ET.supported_versions, ET.key_share]
    assert stage.wire != rfc["server_hello"]
    reordered = dataclasses.replace(stage.message, extensions=stage.message.extensions[::-1])
    assert messages.encode_handshake(reordered) == rfc["server_hello"]


def _rfc_certificate(rfc):
    cert = messages.decode_handshake(rfc["certificate"], TLS13)
    return pki.load_der_certificate(cert.certificate_list[0])


def test_server_certificate_verify_on_its_own(rfc):
    """RSA-PSS (salt = 32 bytes, the hash length) over 64 spaces, the context string, a zero
    byte and the hash of ClientHello..Certificate."""
    key = _rfc_certificate(rfc).public_key()
    assert key.key_size == 1024
    cv = messages.decode_handshake(rfc["certificate_verify"], TLS13)
    t = Transcript()
    for name in ("client_hello", "server_hello", "encrypted_extensions", "certificate"):
        t.add(rfc[name])
    content = tls13.certificate_verify_content(t.hash("SHA256"), "server")
    assert content[:64] == b" " * 64
    assert content[64:98] == b"TLS 1.3, server CertificateVerify\x00"
    signatures.verify(key, cv.scheme, content, cv.signature, "server CertificateVerify",
                      "certificate_verify")
    tls13.verify_certificate_verify(cv, key, t.hash("SHA256"), "server",    # what the client calls
                                    RFC_SIGNATURE_SCHEMES)
    # RFC 8446 §4.2.3: the PSS salt is as long as the hash; a verifier fixing another length fails
    with pytest.raises(InvalidSignature):
        key.verify(cv.signature, content, padding.PSS(padding.MGF1(hashes.SHA256()), 20),
                   hashes.SHA256())

    bad = bytearray(cv.signature)
    bad[0] ^= 0x01
    with pytest.raises(AlertError) as caught:
        signatures.verify(key, cv.scheme, content, bytes(bad), "server CertificateVerify")
    assert caught.value.alert == AD.decrypt_error
    # the same signature does not pass as a *client* CertificateVerify: the context differs
    with pytest.raises(AlertError) as caught:
        signatures.verify(key, cv.scheme, tls13.certificate_verify_content(t.hash("SHA256"),
                                                                           "client"),
                          cv.signature, "client CertificateVerify")
    assert caught.value.alert == AD.decrypt_error


# -- the RFC's certificate -------------------------------------------------------------------------
def test_rfc_certificate_validation(rfc):
    """The RFC's server certificate is self-signed (subject = issuer = CN=rsa, and its signature
    verifies with its own key), RSA-1024, CA:FALSE, keyUsage digitalSignature+keyEncipherment,
    no subjectAltName, valid 2016-07-30 .. 2026-07-30 01:23:59Z (expired now).
    Trusted as its own anchor and checked at a fixed clock, every step passes except the name:
    our name check reads only subjectAltName (RFC 6125 §6.4.4), and CN=rsa would not match
    "server" (the SNI the RFC client sends) anyway. So the handshake test uses verify=False."""
    cert = _rfc_certificate(rfc)
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)                  # self-signed: raises if not
    assert cert.not_valid_after_utc == dt.datetime(2026, 7, 30, 1, 23, 59, tzinfo=dt.timezone.utc)

    report = pki.validate_chain([cert], [cert], hostname=None, now=RFC_CLOCK)
    assert report.ok
    assert [s.name for s in report.steps] == [
        pki.STEP_CHAIN, pki.STEP_SIGNATURE, pki.STEP_VALIDITY, pki.STEP_BASIC_CONSTRAINTS,
        pki.STEP_KEY_USAGE, pki.STEP_EKU]
    assert report.steps[1].detail == "0 signatures verified"   # an anchor's own is not checked

    with pytest.raises(CertificateError) as caught:           # the name
        pki.validate_chain([cert], [cert], hostname="server", now=RFC_CLOCK)
    assert caught.value.step == pki.STEP_NAME and caught.value.alert == AD.bad_certificate
    with pytest.raises(CertificateError) as caught:           # today's clock
        pki.validate_chain([cert], [cert], hostname=None,
                           now=dt.datetime(2026, 7, 31, tzinfo=dt.timezone.utc))
    assert caught.value.step == pki.STEP_VALIDITY and caught.value.alert == AD.certificate_expired
    with pytest.raises(CertificateError) as caught:           # not our trust anchor
        pki.validate_chain([cert], pki.lesson_pki().trusted, hostname=None, now=RFC_CLOCK)
    assert caught.value.step == pki.STEP_CHAIN and caught.value.alert == AD.unknown_ca


def test_connection_with_validation_stops_at_the_name(rfc):
    """verify=True, the RFC certificate as trust anchor, the RFC's date: the client checks the
    chain during the handshake and refuses it at the name step, with bad_certificate."""
    client = ClientConnection(rfc_client_config(rfc, verify=True, trusted=[_rfc_certificate(rfc)],
                                                now=RFC_CLOCK))
    client.start()
    client.receive(rfc["server_hello_record"])
    with pytest.raises(CertificateError) as caught:
        client.receive(rfc["server_flight_record"])
    assert caught.value.step == pki.STEP_NAME and caught.value.alert == AD.bad_certificate
    assert [s.ok for s in caught.value.report.steps] == [True] * 6 + [False]


# -- note: why the server side is not replayed ---------------------------------------------------
# Our ServerConnection, given the RFC's server random, x25519 key and RSA key, still could not
# produce the RFC's server records, for reasons that are all legitimate choices, not bugs:
# * ServerHello extension order (supported_versions first, like OpenSSL; the RFC's server sent
#   key_share first): a different transcript, hence different handshake secrets from there on;
# * EncryptedExtensions: ours is empty; the RFC's server echoes supported_groups,
#   record_size_limit and an empty server_name;
# * CertificateVerify: RSA-PSS takes a fresh random salt, so no two signatures are equal;
# * NewSessionTicket: our server seals its own session state under its own ticket key.
# Everything it can match is tested above: the ServerHello bytes from our builders, the
# CertificateVerify content and signature check, every secret, and the record protection.
