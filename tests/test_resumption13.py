"""TLS 1.3 resumption and 0-RTT in memory (RFC 8446 §2.2, §2.3, §4.2.9-11, §4.6.1, §8).

A first handshake gets NewSessionTickets; the next one offers a ticket as a PSK with a binder,
with or without early data. Every way a ticket can be unusable falls back to a full handshake
with the reason in the server's values; every way the PSK messages can be wrong is refused at
the named check. Byte-for-byte against the RFC: test_rfc8448_resumed.py; against real stacks:
the interop modules.
"""
from __future__ import annotations

import dataclasses
import time

import pytest

from tlslesson import extensions as ext
from tlslesson import sessions, states, tls13
from tlslesson.connection import (PSK_DHE_KE, PSK_KE, ClientConfig, EarlyData, ServerConfig,
                                  handshake)
from tlslesson.constants import AlertDescription as AD, ExtensionType as ET, HandshakeType as HT
from tlslesson.lesson.configs import LESSON_TIME_MS, lesson_configs
from tlslesson.messages import ClientHello, ServerHello, decode_handshake

X25519, P256 = 0x001D, 0x0017


class Clock:
    """A clock the test moves: milliseconds since 1970."""

    def __init__(self, at: int = LESSON_TIME_MS):
        self.at = at

    def __call__(self) -> int:
        return self.at


def names(h, sender=None):
    return [s.name for s in h.steps if sender is None or s.sender == sender]


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def server(clock):
    """One server configuration (one ticket key, one anti-replay) for all handshakes of a test,
    as net.Server shares it among its connections."""
    return ServerConfig(clock=clock, max_early_data=1024, versions=("1.3",))


def first_session(server, clock, **client):
    h = handshake(ClientConfig(clock=clock, **client), server)
    assert h.ok and not h.client.resumed
    assert names(h, "server")[-2:] == ["NewSessionTicket", "NewSessionTicket"]
    assert len(h.client.sessions) == 2
    return h.client.sessions


def resume(server, clock, session, **client):
    return handshake(ClientConfig(clock=clock, session=session, **client), server)


# -- tickets ----------------------------------------------------------------------------------------
def test_tickets_carry_distinct_psks_the_server_can_open(server, clock):
    one, two = first_session(server, clock)
    assert one.secret != two.secret and one.ticket != two.ticket
    assert one.ticket_nonce == bytes(8) and two.ticket_nonce == (1).to_bytes(8, "big")
    assert one.max_early_data == 1024 and one.lifetime == 7200
    inside = server.ticket_keys.open(one.ticket)      # the server sealed the same PSK inside
    assert inside.secret == one.secret and inside.ticket_age_add == one.ticket_age_add
    assert inside.server_name == "localhost"


def test_ticket_psk_is_hkdf_expand_label_of_the_resumption_secret(server, clock):
    h = handshake(ClientConfig(clock=clock), server)
    nst = next(s.message for s in h.steps if s.name == "NewSessionTicket")
    rms = h.client.hs.schedule.resumption_master_secret
    assert h.client.sessions[0].secret == tls13.resumption_psk("SHA256", rms, nst.ticket_nonce)
    assert h.server.hs.schedule.resumption_master_secret == rms


def test_no_tickets_without_psk_key_exchange_modes(server, clock):
    """RFC 8446 §4.2.9: a client that sends no psk_key_exchange_modes cannot use a ticket."""
    def drop_modes(hello):
        return dataclasses.replace(hello, extensions=tuple(
            e for e in hello.extensions if e.type != ET.psk_key_exchange_modes))
    h = handshake(ClientConfig(clock=clock, customize_hello=drop_modes), server)
    assert h.ok and "NewSessionTicket" not in names(h)


# -- resumption --------------------------------------------------------------------------------------
def test_resumption_with_psk_dhe_ke_skips_the_certificate(server, clock):
    session = first_session(server, clock)[0]
    clock.at += 5000
    h = resume(server, clock, session)
    assert h.ok and h.client.resumed and h.server.resumed
    assert names(h, "server")[:4] == ["ServerHello", "ChangeCipherSpec", "EncryptedExtensions",
                                      "Finished"]
    assert "Certificate" not in names(h) and "CertificateVerify" not in names(h)
    assert h.client.walk == ["START", "WAIT_SH", "WAIT_EE", "WAIT_FINISHED", "CONNECTED"]
    assert h.server.values["psk_mode"] == "psk_dhe_ke" and h.server.values["group"] == "X25519MLKEM768"
    assert h.server.values["client_ticket_age_ms"] == 5000     # the obfuscation undone
    assert h.client.keylog == h.server.keylog
    assert h.client.hs.schedule.early_secret == h.server.hs.schedule.early_secret


def test_pre_shared_key_is_the_last_extension_and_binder_checks_out(server, clock):
    session = first_session(server, clock)[0]
    h = resume(server, clock, session)
    hello = h.steps[0].message
    assert hello.extensions[-1].type == ET.pre_shared_key
    offered = ext.value(hello.extensions[-1], "client_hello")
    assert offered.identities[0].identity == session.ticket
    assert offered.identities[0].obfuscated_ticket_age == \
        tls13.obfuscated_ticket_age(0, session.ticket_age_add)
    # recompute the binder by hand from the RFC's recipe
    schedule = tls13.KeySchedule(h.client.suite)
    schedule.start(session.secret)
    truncated = tls13.truncated_client_hello(h.steps[0].wire, offered)
    assert h.steps[0].wire.startswith(truncated)
    assert len(h.steps[0].wire) - len(truncated) == 2 + 1 + 32
    from tlslesson.prf import digest
    assert offered.binders == (tls13.psk_binder(h.client.suite, schedule.binder_key,
                                                digest("SHA256", truncated)),)


def test_psk_ke_resumes_without_a_key_share(server, clock):
    session = first_session(server, clock)[0]
    h = resume(server, clock, session, psk_modes=(PSK_KE,))
    assert h.ok and h.server.resumed and h.server.values["psk_mode"] == "psk_ke"
    sh = next(s.message for s in h.steps if s.name == "ServerHello")
    assert sh.extension(ET.key_share) is None and sh.extension(ET.pre_shared_key) is not None
    assert h.client.keylog == h.server.keylog


def test_server_prefers_psk_dhe_ke(server, clock):
    session = first_session(server, clock)[0]
    h = resume(server, clock, session, psk_modes=(PSK_KE, PSK_DHE_KE))
    assert h.server.values["psk_mode"] == "psk_dhe_ke"


def test_no_mode_in_common_is_a_full_handshake(clock):
    server = ServerConfig(clock=clock, psk_modes=(PSK_DHE_KE,))
    session = first_session(server, clock)[0]
    h = resume(server, clock, session, psk_modes=(PSK_KE,))
    assert h.ok and not h.server.resumed
    assert "no psk_key_exchange_mode in common" in h.server.values["psk_rejected"]


def test_hello_retry_request_with_a_psk(clock):
    """RFC 8446 §4.1.2: the second ClientHello carries the PSK again, with a new binder over
    message_hash + HelloRetryRequest + the truncated second hello."""
    server = ServerConfig(clock=clock, groups=(P256,))
    session = first_session(server, clock, groups=(X25519, P256), key_share_groups=(P256,))[0]
    h = resume(server, clock, session, groups=(X25519, P256))
    assert h.ok and h.client.resumed and h.server.resumed
    hellos = [s.message for s in h.steps if s.name == "ClientHello"]
    assert len(hellos) == 2
    binders = [ext.value(m.extensions[-1], "client_hello").binders for m in hellos]
    assert binders[0] != binders[1]
    assert h.server.walk[:5] == ["START", "RECVD_CH", "START", "RECVD_CH", "NEGOTIATED"]


@pytest.mark.parametrize("spoil, reason", [
    (lambda s: dataclasses.replace(s, ticket=s.ticket[:-1] + bytes([s.ticket[-1] ^ 1])),
     "ticket fails authentication"),
    (lambda s: dataclasses.replace(s, ticket=b"\x00" * 20), "too short"),
    (lambda s: dataclasses.replace(s, ticket=bytes(16) + s.ticket[16:]), "not ours"),
])
def test_unusable_tickets_fall_back_to_a_full_handshake(server, clock, spoil, reason):
    session = first_session(server, clock)[0]
    h = resume(server, clock, spoil(session))
    assert h.ok and not h.client.resumed and not h.server.resumed
    assert "Certificate" in names(h, "server")
    assert reason in h.server.values["psk_rejected"]


def test_rotated_ticket_keys(server, clock):
    session = first_session(server, clock)[0]
    server.ticket_keys.rotate()             # the previous key still opens old tickets
    assert resume(server, clock, session).server.resumed
    server.ticket_keys.rotate()             # two rotations later it is gone
    h = resume(server, clock, first_session(server, clock)[0])
    assert h.server.resumed
    server.ticket_keys.rotate()
    server.ticket_keys.rotate()
    h = resume(server, clock, session)
    assert not h.server.resumed and "rotated out" in h.server.values["psk_rejected"]


def test_expired_ticket(server, clock):
    session = first_session(server, clock)[0]
    server_clock_later = dataclasses.replace(server, clock=Clock(clock.at + 7201 * 1000))
    h = handshake(ClientConfig(clock=clock, session=session), server_clock_later)
    assert h.ok and not h.server.resumed and "expired" in h.server.values["psk_rejected"]
    # and the client does not even offer a ticket it knows is expired
    late = Clock(clock.at + 7201 * 1000)
    h = handshake(ClientConfig(clock=late, session=session), server_clock_later)
    assert h.steps[0].message.extension(ET.pre_shared_key) is None
    assert h.client.values["session_not_offered"] == "the ticket has expired"


def test_ticket_for_another_server_name(server, clock):
    session = first_session(server, clock)[0]
    h = resume(server, clock, session, server_name="other.example", verify=False)
    assert not h.server.resumed and "server name" in h.server.values["psk_rejected"]


def test_ticket_with_another_hash_is_not_used(server, clock):
    """RFC 8446 §4.2.11: the PSK is bound to its suite's hash."""
    session = first_session(server, clock)[0]
    sha384_first = dataclasses.replace(server, suites=tuple(sorted(
        server.suites, key=lambda s: s.name != "TLS_AES_256_GCM_SHA384")))
    h = resume(sha384_first, clock, session)
    assert h.ok and h.client.suite.hash == "SHA384" and not h.server.resumed
    assert "hash is not SHA384" in h.server.values["psk_rejected"]


def test_wrong_binder_is_decrypt_error(server, clock):
    session = first_session(server, clock)[0]
    h = resume(server, clock, dataclasses.replace(session, secret=bytes(32)))   # wrong PSK
    assert h.error.alert == AD.decrypt_error and h.error.check == "psk_binder"


def test_pre_shared_key_not_last_is_illegal_parameter(server, clock):
    session = first_session(server, clock)[0]

    def move_psk_first(step, record):
        return record
    h = resume(server, clock, session)
    hello = h.steps[0].message
    moved = dataclasses.replace(hello, extensions=(hello.extensions[-1],)
                                + hello.extensions[:-1])
    from tlslesson.server import ServerConnection
    from tlslesson.messages import encode_handshake
    from tlslesson.errors import AlertError
    conn = ServerConnection(server)
    raw = encode_handshake(moved)
    with pytest.raises(AlertError) as caught:
        conn.receive(b"\x16\x03\x01" + len(raw).to_bytes(2, "big") + raw)
    assert caught.value.alert == AD.illegal_parameter and caught.value.check == "pre_shared_key"


def test_missing_psk_key_exchange_modes_with_a_psk(server, clock):
    session = first_session(server, clock)[0]

    def drop_modes(hello):
        return dataclasses.replace(hello, extensions=tuple(
            e for e in hello.extensions if e.type != ET.psk_key_exchange_modes))
    h = resume(server, clock, session, customize_hello=drop_modes)
    assert h.error.alert == AD.missing_extension


def _rewrite_server_hello(change):
    """A tamper hook that rewrites the (plaintext) ServerHello record."""
    def tamper(step, record):
        if step.name != "ServerHello" or step.message.is_hello_retry_request:
            return record
        sh = change(step.message)
        raw = b"\x02" + len(sh.encode()).to_bytes(3, "big") + sh.encode()
        return b"\x16\x03\x03" + len(raw).to_bytes(2, "big") + raw
    return tamper


def test_client_refuses_a_psk_identity_it_did_not_offer(server, clock):
    session = first_session(server, clock)[0]

    def other_identity(sh: ServerHello):
        return dataclasses.replace(sh, extensions=tuple(
            ext.pre_shared_key_server(1) if e.type == ET.pre_shared_key else e
            for e in sh.extensions))
    h = handshake(ClientConfig(clock=clock, session=session), server,
                  tamper=_rewrite_server_hello(other_identity))
    assert h.error.alert == AD.illegal_parameter and h.error.check == "pre_shared_key"


def test_client_refuses_psk_ke_it_did_not_allow(server, clock):
    session = first_session(server, clock)[0]

    def no_share(sh: ServerHello):
        return dataclasses.replace(sh, extensions=tuple(
            e for e in sh.extensions if e.type != ET.key_share))
    h = handshake(ClientConfig(clock=clock, session=session), server,
                  tamper=_rewrite_server_hello(no_share))
    assert h.error.alert == AD.missing_extension


def test_client_refuses_pre_shared_key_it_did_not_offer(server, clock):
    def add_psk(sh: ServerHello):
        return dataclasses.replace(sh, extensions=sh.extensions + (ext.pre_shared_key_server(0),))
    h = handshake(ClientConfig(clock=clock), server, tamper=_rewrite_server_hello(add_psk))
    assert h.error.alert == AD.unsupported_extension and h.error.check == "extension"


# -- 0-RTT -------------------------------------------------------------------------------------------
def test_early_data_accepted(server, clock):
    session = first_session(server, clock)[0]
    h = resume(server, clock, session, early_data=b"GET / HTTP/1.1\r\n\r\n")
    assert h.ok and h.client.early_data_accepted and h.server.early_data_accepted
    assert names(h, "client") == ["ClientHello", "ChangeCipherSpec", "EarlyData",
                                  "EndOfEarlyData", "Finished"]
    early = next(s for s in h.steps if s.name == "EarlyData")
    assert early.protected and early.wire == b"GET / HTTP/1.1\r\n\r\n"
    ee = next(s.message for s in h.steps if s.name == "EncryptedExtensions")
    assert ext.find(ee.extensions, ET.early_data) is not None
    assert h.server.walk == ["START", "RECVD_CH", "NEGOTIATED", "WAIT_EOED", "WAIT_FLIGHT2",
                             "WAIT_FINISHED", "CONNECTED"]
    labels = [line.split()[0] for line in h.client.keylog]
    assert labels[:2] == ["CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET"]
    assert h.client.keylog == h.server.keylog
    # the client's schedule keeps the early secrets it logged, as the server's does
    client_secrets, server_secrets = (c.hs.schedule.secrets() for c in (h.client, h.server))
    assert client_secrets == server_secrets
    assert client_secrets["client_early_traffic_secret"].hex() == h.client.keylog[0].split()[2]


def test_early_data_event_reaches_the_server_application(server, clock):
    from tlslesson.client import ClientConnection
    from tlslesson.server import ServerConnection
    session = first_session(server, clock)[0]
    client = ClientConnection(ClientConfig(clock=clock, session=session, early_data=b"hi"))
    conn = ServerConnection(server)
    client.start()
    events = conn.receive(client.data_to_send())
    assert EarlyData(b"hi") in events and not conn.handshake_complete
    assert conn.state == "WAIT_EOED"


def test_early_data_rejected_is_skipped_by_trial_decryption(server, clock):
    """RFC 8446 §4.2.10: a server that will not take the early data skips the records it cannot
    decrypt with the handshake key; the client learns it from EncryptedExtensions."""
    session = first_session(server, clock)[0]
    no_early = dataclasses.replace(server, max_early_data=0)
    h = resume(no_early, clock, session, early_data=b"x" * 300)
    assert h.ok and h.server.resumed
    assert h.client.early_data_accepted is False and h.server.early_data_accepted is False
    assert h.server.values["early_data_rejected"] == "this server takes no early data"
    assert "EndOfEarlyData" not in names(h)


def test_early_data_after_hello_retry_request_is_skipped(clock):
    server = ServerConfig(clock=clock, groups=(P256,), max_early_data=1024)
    session = first_session(server, clock, groups=(X25519, P256), key_share_groups=(P256,))[0]
    h = resume(server, clock, session, groups=(X25519, P256), early_data=b"early")
    assert h.ok and h.server.resumed and h.client.early_data_accepted is False
    second = [s.message for s in h.steps if s.name == "ClientHello"][1]
    assert second.extension(ET.early_data) is None      # §4.2.10: not after HRR


def test_too_much_early_data_is_unexpected_message(clock):
    server = ServerConfig(clock=clock, max_early_data=1024)
    session = first_session(server, clock)[0]
    greedy = dataclasses.replace(session, max_early_data=5000)    # a client that ignores the limit
    h = resume(server, clock, greedy, early_data=b"x" * 3000)
    assert h.error.alert == AD.unexpected_message and h.error.check == "early_data"


def test_client_sends_no_more_early_data_than_the_ticket_allows(server, clock):
    session = first_session(server, clock)[0]
    h = resume(server, clock, session, early_data=b"x" * 2000)
    assert h.ok and "EarlyData" not in names(h) and h.client.early_data_accepted is None
    assert "allows 1024" in h.client.values["early_data_not_sent"]


def test_replay_is_refused_with_anti_replay(server, clock):
    """RFC 8446 §8: the same ticket's early data twice — the second is a replay."""
    session = first_session(server, clock)[0]
    first = resume(server, clock, session, early_data=b"pay 10 EUR")
    again = resume(server, clock, session, early_data=b"pay 10 EUR")
    assert first.server.early_data_accepted and again.server.early_data_accepted is False
    assert "replay" in again.server.values["early_data_rejected"]
    assert again.ok and again.server.resumed     # the handshake itself is fine


def test_replayed_client_hello_is_processed_twice_without_anti_replay(clock):
    """The replay lab's weakened server: the very same bytes, accepted twice."""
    server = ServerConfig(clock=clock, max_early_data=1024,
                          anti_replay=sessions.lesson_replayable())
    session = first_session(server, clock)[0]
    first = resume(server, clock, session, early_data=b"pay 10 EUR")
    flight = b"".join(s.record for s in first.steps if s.sender == "client"
                      and s.name in ("ClientHello", "ChangeCipherSpec", "EarlyData"))
    from tlslesson.server import ServerConnection
    for _ in range(2):                       # an attacker replays the recorded first flight
        conn = ServerConnection(server)
        events = conn.receive(flight)
        assert EarlyData(b"pay 10 EUR") in events
    protected = ServerConnection(dataclasses.replace(server, anti_replay=sessions.AntiReplay()))
    protected.receive(flight)
    assert protected.early_data_accepted is True
    twice = ServerConnection(protected.config)
    assert EarlyData(b"pay 10 EUR") not in twice.receive(flight)


def test_freshness_window(server, clock):
    """RFC 8446 §8.3: a ClientHello whose ticket age does not match the time since the ticket
    was issued is old (or its clock is off): no 0-RTT."""
    session = first_session(server, clock)[0]
    lying_client = Clock(clock.at)             # says the ticket is brand new...
    clock.at += 60_000                         # ...while a minute has passed at the server
    h = handshake(ClientConfig(clock=lying_client, session=session, early_data=b"x"), server)
    assert h.ok and h.server.resumed and not h.server.early_data_accepted
    assert "does not match its issue time" in h.server.values["early_data_rejected"]


def test_server_accepting_early_data_it_was_not_offered_is_refused(server, clock):
    """The client holds the server to §4.2.10: early_data in EncryptedExtensions only as an
    answer — here the server is made to send it after a full handshake's hello."""
    from tlslesson.server import ServerConnection
    original = ServerConnection._accept_early_data
    try:
        ServerConnection._accept_early_data = lambda self: True
        h = handshake(ClientConfig(clock=clock), server)
    finally:
        ServerConnection._accept_early_data = original
    assert h.error is not None and h.error.alert == AD.unsupported_extension


# -- the state tables --------------------------------------------------------------------------------
def test_state_tables_have_the_psk_and_0rtt_paths():
    assert "WAIT_FINISHED" in states.CLIENT_13["WAIT_EE"][HT.encrypted_extensions]
    assert states.SERVER_13["WAIT_EOED"] == {HT.end_of_early_data: ("WAIT_FLIGHT2",)}


# -- the session store --------------------------------------------------------------------------------
def test_session_store_file_round_trip(tmp_path, server, clock):
    sessions_ = first_session(server, clock)
    path = tmp_path / "sess.json"
    sessions.SessionStore(sessions_).save(path)
    store = sessions.SessionStore.load(path)
    assert store.sessions == sessions_
    taken = store.take("localhost", at_ms=clock.at)
    assert taken == sessions_[-1] and len(store) == 1      # 1.3 tickets are used once
    assert store.take("other", at_ms=clock.at) is None


def test_damaged_session_file_is_one_decode_error(tmp_path):
    from tlslesson.errors import DecodeError
    for text in ("not json", '{"sessions": [{"version": "1.3"}]}', '{"x": 1}',
                 '{"sessions": [{"version": "1.3", "cipher_suite": 4865, "secret": "zz", '
                 '"issued_ms": 0}]}'):
        with pytest.raises(DecodeError, match="session file"):
            sessions.SessionStore.loads(text)


def test_lesson_resumption_repeats_byte_for_byte():
    """Lesson configs: a seeded ticket key and a fixed clock, so resumed handshakes repeat."""
    def run():
        client, server = lesson_configs(versions=("1.3",), server={"tickets": 1,
                                                                     "max_early_data": 64})
        first = handshake(client, server)
        client2, _ = lesson_configs(versions=("1.3",), seed="tls-lesson/2",
                                    client={"session": first.client.sessions[0],
                                            "early_data": b"hello"})
        second = handshake(client2, server)
        assert second.ok and second.server.early_data_accepted
        return [s.record for s in first.steps + second.steps]
    assert run() == run()


# -- over loopback: serve --http, and a second connection that resumes --------------------------------
def test_http_page_over_loopback_and_the_second_connection_resumes():
    from tlslesson import net
    config = ServerConfig(versions=("1.3",), alpn=("http/1.1",))
    with net.serve_in_background(config, timeout=5, http=True) as server:
        request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
        first = net.connect("127.0.0.1", server.port, ClientConfig(alpn=("http/1.1",)),
                            send=request, timeout=5)
        second = net.connect("127.0.0.1", server.port,
                             ClientConfig(alpn=("http/1.1",), session=first.connection.sessions[0]),
                             send=request, timeout=5)
        deadline = time.monotonic() + 5
        while len(server.reports) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        reports = list(server.reports)
    head, _, body = second.data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in head
    assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) == len(body)
    assert b"<td>resumed by ticket (psk_dhe_ke)</td>" in body
    assert b"<td>no</td>" in first.data.partition(b"\r\n\r\n")[2]
    assert [r.http_request for r in reports] == ["GET / HTTP/1.1"] * 2
    assert "resumed by ticket (psk_dhe_ke), HTTP GET / HTTP/1.1" in str(reports[1])


def test_early_exporter_both_sides_agree_and_differ_from_the_exporter(server, clock):
    """RFC 8446 §7.5: the early exporter, from early_exporter_master_secret (0-RTT only)."""
    session = first_session(server, clock)[0]
    h = resume(server, clock, session, early_data=b"x")
    ours = h.client.export_keying_material("EXPERIMENTAL tlslesson", b"ctx", 32, early=True)
    assert ours == h.server.export_keying_material("EXPERIMENTAL tlslesson", b"ctx", 32, early=True)
    assert ours != h.client.export_keying_material("EXPERIMENTAL tlslesson", b"ctx", 32)
    from tlslesson import tls13 as t
    assert ours == t.export_keying_material("SHA256", h.client.hs.schedule.early_exporter_master_secret,
                                            "EXPERIMENTAL tlslesson", b"ctx", 32)
    plain = resume(server, clock, first_session(server, clock)[0])
    with pytest.raises(ValueError, match="no early exporter"):
        plain.client.export_keying_material("EXPERIMENTAL tlslesson", b"", 32, early=True)
