"""RFC 8448 section 4 ("Resumed 0-RTT Handshake") reproduced byte for byte by a ClientConnection.

Section 4 resumes section 3's session: the client offers the ticket of §3's NewSessionTicket as
a PSK (psk_dhe_ke, with a fresh x25519 share), binds it with a binder, and sends six bytes of
0-RTT data under the client early traffic key before the server has answered. The server takes
the PSK and the early data; no Certificate or CertificateVerify, only EncryptedExtensions (with
early_data) and Finished; the client ends its early data with EndOfEarlyData, then Finished.

We run §3 first (test_rfc8448.run_section_3, with a fixed clock) and resume with the Session
its NewSessionTicket gave our client, the RFC's client random and x25519 key, a clock giving
the RFC's ticket age, and the RFC client's extension order. Then we feed the RFC's server
records: the client must send the RFC's ClientHello (with its binder), early data,
EndOfEarlyData, Finished, application data and close_notify records, and derive every secret
the RFC prints. The server side: the binder check at the stage level, and our ServerConnection
fed the RFC's ClientHello through a stand-in for the RFC server's ticket key (the note at the
end of this file says why it cannot be the real one).

Expected values: tests/vectors/rfc8448_resumed.json (each with its RFC line; extracted from the
RFC text by tests/rfc8448_trace.py, section 4's table WANTED_RESUMED).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

import rfc8448_trace
import test_rfc8448 as simple
from rfc8448_trace import VECTORS_RESUMED, load
from tlslesson import extensions as ext
from tlslesson import keylog, messages, sessions, tls13
from tlslesson.client import ClientConnection
from tlslesson.connection import (ApplicationData, ConnectionClosed, EarlyData,
                                  HandshakeComplete, ServerConfig)
from tlslesson.constants import AlertDescription as AD, ExtensionType as ET
from tlslesson.errors import AlertError
from tlslesson.server import ServerConnection

TLS13 = messages.Context("1.3")
SUITE = simple.SUITE
TICKET_RECEIVED_MS = 1_546_300_800_000     # our clock when §3's NewSessionTicket arrived
EARLY_DATA_RECORD_SIZE = 28                # 6 bytes + content type + 16-byte tag + 5 header


@pytest.fixture(scope="module")
def rfc() -> dict[str, bytes]:
    return load(VECTORS_RESUMED)


@pytest.fixture(scope="module")
def rfc3() -> dict[str, bytes]:
    return load()


def offered_psk(client_hello: bytes) -> ext.OfferedPsks:
    hello = messages.decode_handshake(client_hello, TLS13)
    assert hello.extensions[-1].type == ET.pre_shared_key
    return ext.value(hello.extensions[-1], "client_hello")


def rfc_ticket_age_ms(rfc, rfc3) -> int:
    """The age the RFC client reported: its obfuscated_ticket_age minus §3's ticket_age_add."""
    nst = messages.decode_handshake(rfc3["new_session_ticket"], TLS13)
    obfuscated = offered_psk(rfc["client_hello"]).identities[0].obfuscated_ticket_age
    return (obfuscated - nst.ticket_age_add) % 2 ** 32


def rfc_resumed_extension_order(hello: messages.ClientHello) -> messages.ClientHello:
    """customize_hello: the RFC §4 client's extensions, in its order (read off its ClientHello).
    Unlike §3 there is no session_ticket extension, early_data comes after key_share, and the
    hello is padded (RFC 7685) to 512 bytes. pre_shared_key is not here: our client appends it
    after this hook, and computes the binder over the result."""
    ours = {e.type: e for e in hello.extensions}
    return dataclasses.replace(hello, extensions=(
        ours[ET.server_name],
        ext.renegotiation_info(),               # ff01: empty renegotiated_connection
        ours[ET.supported_groups],
        ours[ET.key_share],
        ours[ET.early_data],                    # we send it: ClientConfig.early_data is set
        ours[ET.supported_versions],
        ours[ET.signature_algorithms],
        ours[ET.psk_key_exchange_modes],
        ours[ET.record_size_limit],             # 16385
        ext.Extension(ET.padding, bytes(87)),   # 87 zeros: 477 + 35 (pre_shared_key's binders)
    ))


@dataclasses.dataclass
class Resumed:
    """What our client did at each step of RFC 8448 §4."""
    session: sessions.Session                  # from §3's NewSessionTicket
    client: ClientConnection
    first_flight: bytes = b""                  # ClientHello record + early data record
    values_after_hello: dict = dataclasses.field(default_factory=dict)
    keylog_after_hello: list = dataclasses.field(default_factory=list)
    server_hello_events: list = dataclasses.field(default_factory=list)
    server_flight_events: list = dataclasses.field(default_factory=list)
    second_flight: bytes = b""                 # EndOfEarlyData record + Finished record
    application_data_record: bytes = b""
    server_data_events: list = dataclasses.field(default_factory=list)
    close_notify_record: bytes = b""
    server_close_events: list = dataclasses.field(default_factory=list)


def resumed_client_config(rfc, session, age_ms: int, **changes):
    """§3's offer (suites, groups, schemes, SNI "server", no session id) with the §4 client's
    random and x25519 key, the session to resume, its early data and a clock at the RFC's age."""
    settings = dict(
        rng=simple.ScriptedRandom(rfc["client_hello"][6:38], rfc["client_private_key"]),
        customize_hello=rfc_resumed_extension_order,
        session=session, early_data=rfc["early_data"],
        clock=lambda: session.issued_ms + age_ms)
    settings.update(changes)
    return simple.rfc_client_config(rfc, **settings)


@pytest.fixture(scope="module")
def section_3(rfc3) -> simple.Run:
    return simple.run_section_3(rfc3, clock=lambda: TICKET_RECEIVED_MS)


@pytest.fixture(scope="module")
def run(rfc, rfc3, section_3) -> Resumed:
    """§3 gave our client a Session; drive a second ClientConnection through §4 with it."""
    [session] = section_3.client.sessions
    client = ClientConnection(resumed_client_config(rfc, session, rfc_ticket_age_ms(rfc, rfc3)))
    r = Resumed(session, client)
    client.start()
    r.first_flight = client.data_to_send()
    r.values_after_hello = dict(client.values)
    r.keylog_after_hello = list(client.keylog)
    r.server_hello_events = client.receive(rfc["server_hello_record"])
    r.server_flight_events = client.receive(rfc["server_flight_record"])
    r.second_flight = client.data_to_send()
    client.send(rfc["client_application_data"])
    r.application_data_record = client.data_to_send()
    r.server_data_events = client.receive(rfc["server_application_data_record"])
    client.close()
    r.close_notify_record = client.data_to_send()
    r.server_close_events = client.receive(rfc["server_alert_record"])
    return r


# -- the extracted vectors themselves --------------------------------------------------------------
def test_vectors_are_what_the_rfc_text_says():
    """Re-extract section 4 from the RFC text (where this checkout has it next door) and compare."""
    text_path = Path(__file__).resolve().parents[2] / "shared" / "vectors" / "rfc8448.txt"
    if not text_path.exists():
        pytest.skip(f"RFC 8448 text not at {text_path}")
    text = text_path.read_text()
    stored = json.loads(VECTORS_RESUMED.read_text())
    assert stored["rfc_text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert rfc8448_trace.extract(text, rfc8448_trace.SECTION_4,
                                 rfc8448_trace.WANTED_RESUMED) == stored["values"]
    assert stored == rfc8448_trace.document(text, rfc8448_trace.SECTION_4,
                                            rfc8448_trace.WANTED_RESUMED,
                                            "section 4 'Resumed 0-RTT Handshake'")


def test_vectors_agree_with_each_other(rfc, rfc3):
    """The RFC prints some bytes twice, or bytes another value is a hash of: they agree."""
    def sha256(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    # "construct a ClientHello" prints the hello only up to the binders (its length fields
    # already count them): the same bytes as the binder's "ClientHello prefix"
    assert rfc["client_hello_prefix"] == rfc["truncated_client_hello"] == rfc["client_hello"][:477]
    assert len(rfc["client_hello"]) == 512
    assert rfc["client_hello"][477:] == bytes.fromhex("002120") + rfc["binder"]
    assert rfc["client_hello_record"] == bytes.fromhex("1603010200") + rfc["client_hello"]
    assert rfc["binder_hash"] == sha256(rfc["truncated_client_hello"])
    assert rfc["client_hello_hash"] == sha256(rfc["client_hello"])
    assert rfc["hello_hash"] == sha256(rfc["client_hello"] + rfc["server_hello"])
    assert rfc["server_finished_hash"] == sha256(rfc["client_hello"] + rfc["server_hello"]
                                                 + rfc["encrypted_extensions"]
                                                 + rfc["server_finished"])
    # §4.4.1: EndOfEarlyData is in the transcript the client Finished covers
    assert rfc["client_finished_hash"] == sha256(rfc["client_hello"] + rfc["server_hello"]
                                                 + rfc["encrypted_extensions"]
                                                 + rfc["server_finished"]
                                                 + rfc["end_of_early_data"]
                                                 + rfc["client_finished"])
    assert rfc["psk"] == rfc3["resumption_psk"]              # §4 resumes §3's ticket
    assert rfc["server_hello_record"] == bytes.fromhex("1603030060") + rfc["server_hello"]
    assert rfc["server_flight_payload"] == rfc["encrypted_extensions"] + rfc["server_finished"]
    assert rfc["end_of_early_data"] == bytes.fromhex("05000000")
    for payload, record in [("early_data", "early_data_record"),
                            ("server_flight_payload", "server_flight_record"),
                            ("end_of_early_data", "end_of_early_data_record"),
                            ("client_finished", "client_finished_record"),
                            ("client_application_data", "client_application_data_record"),
                            ("server_application_data", "server_application_data_record"),
                            ("client_alert", "client_alert_record"),
                            ("server_alert", "server_alert_record")]:
        assert rfc[record][:3] == b"\x17\x03\x03"
        assert int.from_bytes(rfc[record][3:5], "big") == len(rfc[payload]) + 1 + 16


def test_decoded_client_hello(rfc, rfc3):
    ch = messages.decode_handshake(rfc["client_hello"], TLS13)
    assert messages.encode_handshake(ch) == rfc["client_hello"]
    assert ch.session_id == b"" and ch.cipher_suites == (0x1301, 0x1303, 0x1302)
    assert [e.type for e in ch.extensions] == [0, 0xFF01, 10, 51, 42, 43, 13, 45, 28, 21, 41]
    assert ch.extension(ET.early_data).data == b""
    assert ch.extension(ET.padding).data == bytes(87)
    assert ext.value(ch.extension(ET.psk_key_exchange_modes), "client_hello") == b"\x01"  # dhe
    offered = offered_psk(rfc["client_hello"])
    nst = messages.decode_handshake(rfc3["new_session_ticket"], TLS13)
    [identity] = offered.identities
    assert identity.identity == nst.ticket                       # §3's ticket, as it came
    assert identity.obfuscated_ticket_age == 0xFAD6AACB
    assert rfc_ticket_age_ms(rfc, rfc3) == 6                    # 6 ms after the ticket arrived
    assert offered.binders == (rfc["binder"],)


# -- §3 gave the client the session it resumes ----------------------------------------------------
def test_section_3_ticket_is_the_session_resumed(rfc, rfc3, section_3):
    [session] = section_3.client.sessions
    nst = messages.decode_handshake(rfc3["new_session_ticket"], TLS13)
    assert session.secret == rfc3["resumption_psk"] == rfc["psk"]
    assert (session.version, session.cipher_suite) == ("1.3", SUITE.code)
    assert session.ticket == nst.ticket and session.ticket_nonce == b"\x00\x00"
    assert (session.lifetime, session.ticket_age_add, session.max_early_data) \
        == (30, 0xFAD6AAC5, 1024)
    assert session.issued_ms == TICKET_RECEIVED_MS and session.server_name == "server"


# -- the client's flights, byte for byte -----------------------------------------------------------
def test_client_hello_record_is_the_rfcs(rfc, run):
    hello_record = run.first_flight[:-EARLY_DATA_RECORD_SIZE]
    assert hello_record[:5] == bytes.fromhex("1603010200")    # 0x0301 on the first record
    assert hello_record == rfc["client_hello_record"]
    sent = [s for s in run.client.log if s.sender == "client"]
    assert sent[0].name == "ClientHello" and sent[0].wire == rfc["client_hello"]
    assert run.client.rng.values == []           # both scripted values used, nothing more


def test_binder_is_the_rfcs(rfc, run):
    v = run.values_after_hello
    assert v["psk"] == rfc["psk"]
    assert v["ticket_age_ms"] == 6 and v["obfuscated_ticket_age"] == 0xFAD6AACB
    assert v["early_secret"] == rfc["early_secret"]
    assert v["binder_key"] == rfc["binder_key"]
    assert v["truncated_client_hello"] == rfc["truncated_client_hello"]
    assert v["binder"] == rfc["binder"]


def test_early_secrets_and_key_log_lines(rfc, run):
    v = run.values_after_hello
    assert v["client_early_traffic_secret"] == rfc["client_early_traffic_secret"]
    assert v["early_exporter_master_secret"] == rfc["early_exporter_master_secret"]
    assert (v["client_early_key"], v["client_early_iv"]) \
        == (rfc["client_early_key"], rfc["client_early_iv"])
    client_random = rfc["client_hello"][6:38]
    assert run.keylog_after_hello == [
        keylog.line("CLIENT_EARLY_TRAFFIC_SECRET", client_random,
                    rfc["client_early_traffic_secret"]),
        keylog.line("EARLY_EXPORTER_SECRET", client_random, rfc["early_exporter_master_secret"]),
    ]


def test_early_data_record_is_the_rfcs(rfc, run):
    # right after the ClientHello, no ChangeCipherSpec between (no legacy_session_id: App. D.4)
    assert run.first_flight[-EARLY_DATA_RECORD_SIZE:] == rfc["early_data_record"]
    assert len(run.first_flight) == len(rfc["client_hello_record"]) + EARLY_DATA_RECORD_SIZE
    step = [s for s in run.client.log if s.sender == "client"][1]
    assert (step.name, step.wire, step.record, step.protected) \
        == ("EarlyData", b"ABCDEF", rfc["early_data_record"], True)


def test_end_of_early_data_then_finished_records_are_the_rfcs(rfc, run):
    assert run.second_flight == rfc["end_of_early_data_record"] + rfc["client_finished_record"]
    sent = [(s.name, s.wire, s.record) for s in run.client.log if s.sender == "client"][2:4]
    assert sent == [("EndOfEarlyData", rfc["end_of_early_data"], rfc["end_of_early_data_record"]),
                    ("Finished", rfc["client_finished"], rfc["client_finished_record"])]


def test_application_data_record_is_the_rfcs(rfc, run):
    assert rfc["client_application_data"] == bytes(range(50))
    assert run.application_data_record == rfc["client_application_data_record"]


def test_close_notify_records_both_ways(rfc, run):
    assert rfc["client_alert"] == rfc["server_alert"] == b"\x01\x00"
    assert run.close_notify_record == rfc["client_alert_record"]
    assert run.server_close_events == [ConnectionClosed()]
    assert run.client.closed


# -- what the client read --------------------------------------------------------------------------
def test_server_accepts_the_psk_and_the_early_data(rfc, run):
    assert run.server_hello_events == []
    assert run.server_flight_events == [HandshakeComplete("1.3", SUITE)]
    assert run.client.resumed and run.client.early_data_accepted is True
    received = [(s.name, s.wire) for s in run.client.log if s.sender == "server"]
    assert received[:3] == [("ServerHello", rfc["server_hello"]),
                            ("EncryptedExtensions", rfc["encrypted_extensions"]),
                            ("Finished", rfc["server_finished"])]  # no Certificate: the PSK
    sh = messages.decode_handshake(rfc["server_hello"], TLS13)
    assert [e.type for e in sh.extensions] == [41, 51, 43]     # pre_shared_key first
    assert ext.value(sh.extension(ET.pre_shared_key), "server_hello") == 0
    ee = messages.decode_handshake(rfc["encrypted_extensions"], TLS13)
    assert [e.type for e in ee.extensions] == [10, 28, 0, 42]  # early_data: "I take it"


def test_walk(run):
    assert run.client.walk == ["START", "WAIT_SH", "WAIT_EE", "WAIT_FINISHED", "CONNECTED"]


def test_client_derived_every_secret_the_rfc_prints(rfc, run):
    v = run.client.values
    assert v["server_random"] == rfc["server_hello"][6:38]
    assert v["client_share"] == rfc["client_public_key"]
    assert v["server_share"] == rfc["server_public_key"]
    assert v["shared_secret"] == rfc["shared_secret"]
    s: tls13.KeySchedule = v["schedule"]
    assert s.early_secret == rfc["early_secret"] and s.binder_key == rfc["binder_key"]
    assert s.handshake_secret == rfc["handshake_secret"]
    assert s.client_handshake_traffic_secret == rfc["client_handshake_traffic_secret"]
    assert s.server_handshake_traffic_secret == rfc["server_handshake_traffic_secret"]
    assert s.master_secret == rfc["master_secret"]
    assert s.client_application_traffic_secret_0 == rfc["client_application_traffic_secret_0"]
    assert s.server_application_traffic_secret_0 == rfc["server_application_traffic_secret_0"]
    assert s.exporter_master_secret == rfc["exporter_master_secret"]
    assert s.resumption_master_secret == rfc["resumption_master_secret"]
    assert s.client_early_traffic_secret == rfc["client_early_traffic_secret"]
    assert s.keys == {
        "client_early": (rfc["client_early_key"], rfc["client_early_iv"]),
        "server_handshake": (rfc["server_handshake_key"], rfc["server_handshake_iv"]),
        "client_handshake": (rfc["client_handshake_key"], rfc["client_handshake_iv"]),
        "server_application": (rfc["server_application_key"], rfc["server_application_iv"]),
        "client_application": (rfc["client_application_key"], rfc["client_application_iv"]),
    }
    assert v["server_verify_data"] == rfc["server_verify_data"]
    assert v["client_verify_data"] == rfc["client_verify_data"]


def test_key_log_lines(rfc, run):
    client_random = rfc["client_hello"][6:38]
    assert run.client.keylog == [keylog.line(label, client_random, rfc[name]) for label, name in [
        ("CLIENT_EARLY_TRAFFIC_SECRET", "client_early_traffic_secret"),
        ("EARLY_EXPORTER_SECRET", "early_exporter_master_secret"),
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", "client_handshake_traffic_secret"),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", "server_handshake_traffic_secret"),
        ("CLIENT_TRAFFIC_SECRET_0", "client_application_traffic_secret_0"),
        ("SERVER_TRAFFIC_SECRET_0", "server_application_traffic_secret_0"),
        ("EXPORTER_SECRET", "exporter_master_secret")]]


def test_server_application_data_decrypts(rfc, run):
    assert run.server_data_events == [ApplicationData(rfc["server_application_data"])]


# -- the server's side: the binder, at the stage level ---------------------------------------------
def test_server_binder_computation(rfc, rfc3):
    """What a server does with the RFC's ClientHello once it has the PSK from the ticket:
    truncate the hello before the binders, hash it, HMAC it with the "res binder" key."""
    offered = offered_psk(rfc["client_hello"])
    truncated = tls13.truncated_client_hello(rfc["client_hello"], offered)
    assert truncated == rfc["truncated_client_hello"]
    schedule = tls13.KeySchedule(SUITE)
    schedule.start(rfc3["resumption_psk"])
    assert schedule.early_secret == rfc["early_secret"]
    assert schedule.binder_key == rfc["binder_key"]
    assert tls13.hkdf_expand_label(SUITE.hash, schedule.binder_key, "finished", b"", 32) \
        == rfc["binder_finished_key"]
    truncated_hash = hashlib.sha256(truncated).digest()
    assert truncated_hash == rfc["binder_hash"]
    assert tls13.psk_binder(SUITE, schedule.binder_key, truncated_hash) \
        == rfc["binder"] == offered.binders[0]
    # the same PSK taken as an external one binds with "ext binder": another key, no match
    external = tls13.KeySchedule(SUITE)
    external.start(rfc3["resumption_psk"], resumption=False)
    assert tls13.psk_binder(SUITE, external.binder_key, truncated_hash) != rfc["binder"]
    # the early secrets come from the whole ClientHello, binders included
    schedule.early(hashlib.sha256(rfc["client_hello"]).digest())
    assert schedule.client_early_traffic_secret == rfc["client_early_traffic_secret"]
    assert schedule.early_exporter_master_secret == rfc["early_exporter_master_secret"]
    assert schedule.keys["client_early"] == (rfc["client_early_key"], rfc["client_early_iv"])


# -- our ServerConnection, given the RFC's ClientHello ---------------------------------------------
class RfcTicketOpener:
    """Stands in for the RFC server's ticket key (which we do not have): "opens" the RFC's
    ticket into the session that server sealed in it — §3's PSK, lifetime, ticket_age_add and
    max_early_data, issued when our §3 client received it. Any other ticket is not ours."""

    def __init__(self, ticket: bytes, session: sessions.Session):
        self.ticket, self.session = ticket, session

    def open(self, ticket: bytes) -> sessions.Session:
        if ticket != self.ticket:
            raise sessions.TicketError("not the RFC's ticket")
        return self.session


def rfc_server(rfc, rfc3, *, tickets=True, rng=None, **changes) -> ServerConnection:
    nst = messages.decode_handshake(rfc3["new_session_ticket"], TLS13)
    inside = sessions.Session("1.3", SUITE.code, rfc3["resumption_psk"], TICKET_RECEIVED_MS,
                              nst.ticket_lifetime, nst.ticket_age_add, 1024,
                              server_name="server")
    settings = dict(versions=("1.3",), suites=simple.RFC_SUITES, groups=simple.RFC_GROUPS,
                    max_early_data=1024, clock=lambda: TICKET_RECEIVED_MS + 6)
    if tickets:
        settings["ticket_keys"] = RfcTicketOpener(nst.ticket, inside)
    if rng is not None:
        settings["rng"] = rng
    settings.update(changes)
    return ServerConnection(ServerConfig(**settings))


def test_our_server_takes_the_rfc_client_hello_and_early_data(rfc, rfc3):
    """Given the RFC's ClientHello and early data record, our server checks the RFC's binder,
    accepts the PSK and the 0-RTT data (its early secrets are the RFC's, so it decrypts "ABCDEF"),
    and with the RFC's server random and x25519 key builds the RFC's ServerHello but for the
    extension order. Its transcript differs from there on (see the note at the end)."""
    server = rfc_server(rfc, rfc3, rng=simple.ScriptedRandom(rfc["server_private_key"],
                                                             rfc["server_hello"][6:38]))
    events = server.receive(rfc["client_hello_record"] + rfc["early_data_record"])
    assert events == [EarlyData(rfc["early_data"])]
    assert server.walk == ["START", "RECVD_CH", "NEGOTIATED", "WAIT_EOED"]
    assert server.resumed and server.early_data_accepted is True
    v = server.values
    assert (v["binder_key"], v["binder"]) == (rfc["binder_key"], rfc["binder"])
    assert v["client_ticket_age_ms"] == 6
    assert v["shared_secret"] == rfc["shared_secret"]
    client_random = rfc["client_hello"][6:38]
    assert server.keylog[:2] == [
        keylog.line("CLIENT_EARLY_TRAFFIC_SECRET", client_random,
                    rfc["client_early_traffic_secret"]),
        keylog.line("EARLY_EXPORTER_SECRET", client_random, rfc["early_exporter_master_secret"])]
    sent = [s for s in server.log if s.sender == "server"]
    assert [s.name for s in sent] == ["ServerHello", "EncryptedExtensions", "Finished"]
    ours = messages.decode_handshake(sent[0].wire, TLS13)
    assert [e.type for e in ours.extensions] == [43, 51, 41]   # the RFC's server: 41, 51, 43
    assert sent[0].wire != rfc["server_hello"]
    reordered = dataclasses.replace(ours, extensions=ours.extensions[::-1])
    assert messages.encode_handshake(reordered) == rfc["server_hello"]
    # the RFC's EndOfEarlyData record still decrypts: it is under the early key, like the data
    assert server.receive(rfc["end_of_early_data_record"]) == []
    assert server.walk[-2:] == ["WAIT_FLIGHT2", "WAIT_FINISHED"]


@pytest.mark.parametrize("where, offset", [
    ("the binder's last byte", -1),
    ("the client random", 5 + 4 + 2),                    # record, handshake header, version
    ("the obfuscated ticket age", -(2 + 1 + 32) - 1),    # the 4 bytes before the binders
    ("the padding", "padding"),
])
def test_tampered_client_hello_is_refused_by_the_binder(rfc, rfc3, where, offset):
    """One byte changed anywhere the binder covers (or in the binder itself): our server aborts
    with decrypt_error (RFC 8446 §4.2.11.2), it does not fall back to a full handshake."""
    record = bytearray(rfc["client_hello_record"])
    if offset == "padding":     # type 21, 87 bytes: flip the tenth zero
        offset = bytes(record).index(bytes.fromhex("00150057")) + 4 + 9
    record[offset] ^= 0x01
    server = rfc_server(rfc, rfc3)
    with pytest.raises(AlertError) as caught:
        server.receive(bytes(record) + rfc["early_data_record"])
    assert caught.value.alert == AD.decrypt_error
    assert "PSK binder 0 does not match" in str(caught.value)
    assert server.data_to_send() == bytes.fromhex("15030300020233")   # fatal decrypt_error
    assert not server.resumed


def test_our_ticket_keys_cannot_open_the_rfc_ticket(rfc, rfc3):
    """With its own TicketKeys, our server cannot read the RFC's ticket: it says why, does a
    full handshake, and skips the early data it cannot decrypt (RFC 8446 §4.2.10)."""
    server = rfc_server(rfc, rfc3, tickets=False)
    assert server.receive(rfc["client_hello_record"] + rfc["early_data_record"]) == []
    assert "is not ours" in server.values["psk_rejected"]
    assert not server.resumed and server.early_data_accepted is False
    assert [s.name for s in server.log if s.sender == "server"] == [
        "ServerHello", "EncryptedExtensions", "Certificate", "CertificateVerify", "Finished"]


def test_replayed_client_hello_gets_no_early_data(rfc, rfc3):
    """RFC 8446 §8: the RFC's first flight replayed to a server sharing the anti-replay state.
    The PSK is still good (the binder is), the early data is refused and skipped."""
    anti_replay = sessions.AntiReplay()
    first = rfc_server(rfc, rfc3, anti_replay=anti_replay)
    assert first.receive(rfc["client_hello_record"] + rfc["early_data_record"]) \
        == [EarlyData(rfc["early_data"])]
    again = rfc_server(rfc, rfc3, anti_replay=anti_replay)
    assert again.receive(rfc["client_hello_record"] + rfc["early_data_record"]) == []
    assert again.resumed and again.early_data_accepted is False
    assert "a replay" in again.values["early_data_rejected"]


# -- note: why the server side is not replayed byte for byte ---------------------------------------
# The RFC's ticket is sealed under the RFC server's ticket key, which the RFC does not print, so
# our ServerConnection with its own TicketKeys cannot open it (it does a full handshake, as the
# test above shows); with RfcTicketOpener standing in for that key it resumes, and everything
# up to its ServerHello is the RFC's: the binder check, the early secrets, the early data. Its
# own bytes still differ from the RFC server's for legitimate reasons, not bugs:
# * ServerHello extension order (supported_versions, key_share, pre_shared_key; the RFC's
#   server sent pre_shared_key, key_share, supported_versions): another transcript, so other
#   handshake secrets from there on — the RFC's client Finished does not decrypt for it;
# * EncryptedExtensions: ours carries record_size_limit and early_data; the RFC's also echoes
#   supported_groups and an empty server_name;
# * the tickets it would issue after the handshake are sealed under its own key (random nonces).
