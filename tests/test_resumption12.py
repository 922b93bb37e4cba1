"""TLS 1.2 resumption in memory: by session ID (RFC 5246 §7.3, Figure 2) and by RFC 5077 ticket,
every reason a server falls back to a full handshake, and RFC 7627 §5.3's rules for resuming
with and without an extended master secret, on both sides.

The abbreviated handshake is one round trip: ServerHello, [NewSessionTicket], ChangeCipherSpec,
Finished from the server first; the client's ChangeCipherSpec and Finished last.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest

from tlslesson import extensions as ext
from tlslesson import net, states, suites, tls12
from tlslesson.connection import ClientConfig, ServerConfig, handshake
from tlslesson.constants import AlertDescription as AD, ExtensionType as ET
from tlslesson.messages import Context, ServerHello, decode_handshake, encode_handshake
from tlslesson.pki import lesson_pki
from tlslesson.prf import Transcript
from tlslesson.sessions import Session, SessionCache, SessionStore, TicketKeys

P = lesson_pki()
ECDHE = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
ECDHE_256 = suites.get("ECDHE-RSA-AES256-GCM-SHA384")
ABBREVIATED = [("client", "ClientHello"), ("server", "ServerHello"),
               ("server", "ChangeCipherSpec"), ("server", "Finished"),
               ("client", "ChangeCipherSpec"), ("client", "Finished")]


def client(**options) -> ClientConfig:
    options.setdefault("versions", ("1.2",))
    return ClientConfig(**options)


def server(**options) -> ServerConfig:
    options.setdefault("versions", ("1.2",))
    return ServerConfig(**options)


def names(run) -> list[tuple[str, str]]:
    return [(s.sender, s.name) for s in run.steps]


def first(srv: ServerConfig, **options):
    """A full handshake; the client's session to resume."""
    run = handshake(client(**options), srv)
    assert run.ok, run.error
    assert not run.client.resumed and not run.server.resumed
    assert run.client.session is not None
    return run, run.client.session


def resume(srv: ServerConfig, session: Session, **options):
    return handshake(client(session=session, **options), srv)


def walks_along_the_table(run) -> None:
    for conn in (run.client, run.server):
        for a, b in zip(conn.walk, conn.walk[1:]):
            assert b in states.next_states(conn.table, a), (conn.role, a, b)


# -- resumed by session ID ----------------------------------------------------------------------
def test_resumed_by_session_id_is_one_round_trip():
    srv = server()
    full, session = first(srv)
    assert len(session.session_id) == 32 and session.ticket == b""
    assert session.session_id in srv.session_cache
    run = resume(srv, session)
    assert run.ok, run.error
    assert names(run) == ABBREVIATED
    assert run.client.resumed and run.server.resumed
    assert run.server.values["resumption"] == "resumed by session ID"
    assert run.client.values["resumption"] == "resumed by session ID"
    assert run.client.walk == ["START", "WAIT_SH", "WAIT_CCS", "WAIT_FINISHED", "SEND_FINISHED",
                               "CONNECTED"]
    assert run.server.walk == ["START", "RECVD_CH", "WAIT_CCS", "WAIT_FINISHED", "CONNECTED"]
    walks_along_the_table(run)
    sh = run.steps[1].message
    assert sh.session_id == session.session_id == run.steps[0].message.session_id
    # the same master secret, new randoms: new keys
    assert run.client.values["master_secret"] == session.secret == full.server.hs.master_secret
    assert run.client.values["key_block"] == run.server.values["key_block"]
    assert run.client.values["key_block"] != full.client.values["key_block"]
    assert "pre_master_secret" not in run.client.values       # no key exchange at all
    assert run.client.session == session                       # confirmed, kept as it was


def test_the_key_log_of_a_resumed_connection_carries_the_resumed_master_secret():
    srv = server()
    full, session = first(srv)
    run = resume(srv, session)
    client_random = run.steps[0].message.random
    line = f"CLIENT_RANDOM {client_random.hex()} {session.secret.hex()}"
    assert run.client.keylog == run.server.keylog == [line]
    assert full.client.keylog != run.client.keylog


def test_finished_covers_the_abbreviated_transcript():
    """Server Finished: PRF over Hash(ClientHello, ServerHello); the client's adds the server's
    Finished (RFC 5246 §7.4.9), under the resumed master secret."""
    srv = server()
    _, session = first(srv)
    run = resume(srv, session)
    wires = [s.wire for s in run.steps if s.name != "ChangeCipherSpec"]
    seen = Transcript()
    for wire in wires[:2]:
        seen.add(wire)
    server_finished = tls12.verify_data(session.secret, "server", seen.hash(ECDHE.hash), ECDHE)
    assert run.steps[3].message.verify_data == server_finished
    seen.add(wires[2])
    client_finished = tls12.verify_data(session.secret, "client", seen.hash(ECDHE.hash), ECDHE)
    assert run.steps[5].message.verify_data == client_finished


def test_a_client_offering_tls13_and_12_resumes_a_12_session():
    srv = server()
    _, session = first(srv)
    run = resume(srv, session, versions=("1.3", "1.2"))
    assert run.ok and run.client.resumed and names(run) == ABBREVIATED


def test_a_session_id_resumes_again_and_again():
    srv = server()
    _, session = first(srv)
    for _ in range(3):
        run = resume(srv, session)
        assert run.ok and run.server.resumed
    assert len(srv.session_cache) == 1        # resuming adds nothing to the cache


# -- resumed by ticket ----------------------------------------------------------------------------
def test_full_handshake_issues_a_ticket_before_the_servers_ccs():
    srv = server()
    run, session = first(srv, session_tickets=True)
    assert names(run)[-3:] == [("server", "NewSessionTicket"), ("server", "ChangeCipherSpec"),
                               ("server", "Finished")]
    assert run.steps[1].message.extension(ET.session_ticket).data == b""     # echoed, empty
    assert run.steps[0].message.extension(ET.session_ticket).data == b""     # asked, empty
    ticket = run.steps[-3].message
    assert session.ticket == ticket.ticket and ticket.ticket_lifetime == srv.session_lifetime
    # RFC 5077 §3.4: issuing a ticket, the server SHOULD send an empty session ID: nothing cached
    assert run.steps[1].message.session_id == session.session_id == b""
    assert len(srv.session_cache) == 0
    inside = srv.ticket_keys.open(session.ticket)
    assert inside.secret == session.secret and inside.extended_master_secret
    assert inside.cipher_suite == ECDHE.code and inside.server_name == "localhost"
    assert "WAIT_TICKET" in run.client.walk


def test_resumed_by_ticket_with_a_fresh_ticket():
    srv = server()
    _, session = first(srv, session_tickets=True)
    run = resume(srv, session)          # a session with a ticket offers it, asked or not
    assert run.ok, run.error
    hello = run.steps[0].message
    assert hello.extension(ET.session_ticket).data == session.ticket
    assert len(hello.session_id) == 32 and hello.session_id != session.session_id   # RFC 5077 §3.4
    assert names(run) == ABBREVIATED[:2] + [("server", "NewSessionTicket")] + ABBREVIATED[2:]
    assert run.steps[1].message.session_id == hello.session_id            # the echo says "resumed"
    assert run.server.values["resumption"] == "resumed by ticket"
    assert run.client.walk == ["START", "WAIT_SH", "WAIT_TICKET", "WAIT_CCS", "WAIT_FINISHED",
                               "SEND_FINISHED", "CONNECTED"]
    walks_along_the_table(run)
    renewed = run.client.session
    assert renewed.ticket != session.ticket and renewed.secret == session.secret
    again = resume(srv, renewed)
    assert again.ok and again.server.resumed


def test_a_ticket_is_tried_before_the_session_id():
    """RFC 5077 §3.4: with a ticket, the server does not look the session ID up — so a bad
    ticket with a good session ID is a full handshake."""
    srv = server()
    _, session = first(srv)                              # resumable by its ID
    bad = dataclasses.replace(session, ticket=TicketKeys().seal(session))

    def offer_cached_id(hello):
        return dataclasses.replace(hello, session_id=session.session_id)
    assert resume(srv, session).server.resumed
    run = resume(srv, bad, customize_hello=offer_cached_id)
    assert run.ok and not run.server.resumed
    assert run.server.values["resumption"].startswith("full handshake: ticket: ticket key")


def test_the_server_keeps_one_cache_and_key_for_all_its_connections():
    cfg = server()
    copy = dataclasses.replace(cfg, rng=cfg.rng)     # as net.Server makes per-connection configs
    assert copy.session_cache is cfg.session_cache and copy.ticket_keys is cfg.ticket_keys
    assert ServerConfig().session_cache is not cfg.session_cache    # but not across servers


def test_over_loopback_the_second_connection_resumes():
    with net.serve_in_background(server(), timeout=5) as srv:
        results = []
        session = None
        for _ in range(2):
            results.append(net.connect("127.0.0.1", srv.port,
                                       client(session=session, session_tickets=True),
                                       send=b"ping", timeout=5))
            session = results[-1].connection.session
        end = time.monotonic() + 5
        while srv.served < 2 and time.monotonic() < end:
            time.sleep(0.01)
        reports = list(srv.reports)
    assert [r.connection.resumed for r in results] == [False, True]
    assert [r.data for r in results] == [b"ping", b"ping"]
    assert [r.resumed for r in reports] == [False, True]
    assert "resumed by ticket" in str(reports[1])


# -- every reason to fall back to a full handshake ----------------------------------------------
def later(hours: float) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=hours)


def fallback(run, reason: str) -> None:
    assert run.ok, run.error
    assert not run.client.resumed and not run.server.resumed
    assert ("server", "Certificate") in names(run)
    assert run.server.values["session_resumed"] is False
    assert reason in run.server.values["resumption"], run.server.values["resumption"]
    assert run.client.values["resumption"] == "the server chose a full handshake"
    assert run.client.session is not None and run.client.session.secret != \
        run.client.config.session.secret       # a new session to keep instead


def test_unknown_session_id():
    _, session = first(server())
    fallback(resume(server(), session), "session ID: not in our cache")


def test_expired_session_id():
    srv = server()
    _, session = first(srv)
    fallback(resume(dataclasses.replace(srv, now=later(3)), session), "session ID: expired")
    assert session.session_id not in srv.session_cache


def test_evicted_session_id():
    srv = server(session_cache=SessionCache(max_entries=1))
    _, session = first(srv)
    first(srv)                                  # pushes the first out
    fallback(resume(srv, session), "session ID: not in our cache")


def test_expired_ticket():
    srv = server()
    _, session = first(srv, session_tickets=True)
    fallback(resume(dataclasses.replace(srv, now=later(3)), session), "ticket: expired")


def test_ticket_under_another_servers_key():
    _, session = first(server(), session_tickets=True)
    fallback(resume(server(), session), "ticket: ticket key")


def test_ticket_whose_key_was_rotated_out():
    srv = server()
    _, session = first(srv, session_tickets=True)
    srv.ticket_keys.rotate()
    assert resume(srv, session).server.resumed         # the previous key is still kept
    srv.ticket_keys.rotate()
    fallback(resume(srv, session), "or was rotated out")


@pytest.mark.parametrize("where", [0, 20, 40, -1], ids=["key_name", "nonce", "sealed", "tag"])
def test_tampered_ticket_is_a_full_handshake_not_a_crash(where):
    srv = server()
    _, session = first(srv, session_tickets=True)
    ticket = bytearray(session.ticket)
    ticket[where] ^= 0x01
    reason = "is not ours" if where == 0 else "it was changed"
    fallback(resume(srv, dataclasses.replace(session, ticket=bytes(ticket))), reason)


def test_truncated_ticket():
    srv = server()
    _, session = first(srv, session_tickets=True)
    fallback(resume(srv, dataclasses.replace(session, ticket=session.ticket[:20])),
             "too short")


def test_ticket_of_a_tls13_session():
    srv = server()
    _, session = first(srv, session_tickets=True)
    inside = dataclasses.replace(srv.ticket_keys.open(session.ticket), version="1.3",
                                 cipher_suite=0x1301, secret=bytes(32))
    forged = dataclasses.replace(session, ticket=srv.ticket_keys.seal(inside))
    fallback(resume(srv, forged), "ticket: a TLS 1.3 session")


def test_the_server_no_longer_accepts_the_sessions_suite():
    srv = server()
    _, session = first(srv)
    fallback(resume(dataclasses.replace(srv, suites=(ECDHE_256,)), session),
             "we no longer accept its cipher suite")


def test_the_client_no_longer_offers_the_sessions_suite():
    """RFC 5246 §7.4.1.2: the client MUST offer the session's suite; ours would not offer the
    session then, so the hello is edited to show what the server does."""
    srv = server()
    _, session = first(srv)

    def drop_suite(hello):
        return dataclasses.replace(hello, cipher_suites=tuple(
            c for c in hello.cipher_suites if c != ECDHE.code))
    fallback(resume(srv, session, customize_hello=drop_suite),
             "the client does not offer its cipher suite")


def test_another_server_name():
    srv = server()
    _, session = first(srv)

    def other_sni(hello):
        return dataclasses.replace(hello, extensions=tuple(
            ext.server_name("other.example") if e.type == ET.server_name else e
            for e in hello.extensions))
    fallback(resume(srv, session, customize_hello=other_sni, verify=False),
             "made for server name 'localhost'")


def test_a_server_asking_for_client_certificates_does_not_resume():
    srv = server(client_ca=P.trusted)
    run, session = first(srv, identity=P.client, session_tickets=True)
    assert ("server", "NewSessionTicket") not in names(run)    # no ticket for it, either
    run = resume(srv, session, identity=P.client)
    assert run.ok and not run.server.resumed
    assert "client certificates" in run.server.values["resumption"]


# -- what the client will not offer ---------------------------------------------------------------
@pytest.mark.parametrize("change, reason", [
    (dict(issued_ms=0), "expired"),
    (dict(server_name="other.example"), "made for 'other.example'"),
    (dict(cipher_suite=suites.get("AES128-SHA").code), "cipher suite is not in our offer"),
    (dict(extended_master_secret=False), "no extended master secret"),
    (dict(ticket=b"", session_id=b""), "neither a ticket nor a session ID"),
])
def test_the_client_does_not_offer_an_unfit_session(change, reason):
    srv = server()
    _, session = first(srv, session_tickets=True)
    run = resume(srv, dataclasses.replace(session, **change), suites=(ECDHE,))
    assert run.ok and not run.client.resumed
    assert run.client.values["resumption"].startswith("not offered: ")
    assert reason in run.client.values["resumption"]
    hello = run.steps[0].message
    assert hello.session_id == b"" and hello.extension(ET.session_ticket) is None
    assert "resumption" not in run.server.values


# -- RFC 7627 §5.3 ------------------------------------------------------------------------------
def no_ems_session(srv) -> Session:
    """A session without an extended master secret (a legacy client made it)."""
    _, session = first(srv, ems=False)
    assert not session.extended_master_secret
    return session


def test_server_session_without_ems_and_hello_with_it_is_a_full_handshake():
    """"the server MUST NOT perform the abbreviated handshake. Instead, it SHOULD continue with
    a full handshake" — which gives the new session an extended master secret."""
    srv = server()
    session = no_ems_session(srv)

    def offer_it(hello):                 # our EMS client would not offer it (tested above)
        return dataclasses.replace(hello, session_id=session.session_id)
    run = handshake(client(customize_hello=offer_it), srv)
    assert run.ok and not run.server.resumed
    assert "no extended master secret in the session" in run.server.values["resumption"]
    assert run.client.session.extended_master_secret


def test_server_aborts_a_session_with_ems_offered_without_it():
    """"If the original session used the extension but the new ClientHello does not contain it,
    the server MUST abort the abbreviated handshake." """
    srv = server()
    _, session = first(srv)
    assert session.extended_master_secret
    run = resume(srv, session, ems=False)      # a client that regressed: it offers the session
    assert run.error is not None and run.error.alert == AD.handshake_failure
    assert run.error.check == "extended_master_secret"
    assert names(run) == [("client", "ClientHello"), ("server", "Alert")]
    from tlslesson.lesson.models import failed_check
    assert failed_check(run.error)[0] == "extended master secret on resumption (RFC 7627 §5.3)"


def test_server_aborts_when_neither_has_ems():
    """"If neither the original session nor the new ClientHello uses the extension, the server
    SHOULD abort the handshake." """
    srv = server()
    session = no_ems_session(srv)
    run = resume(srv, session, ems=False)
    assert run.error is not None and run.error.alert == AD.handshake_failure
    assert run.error.check == "extended_master_secret"
    assert "no insecure resumption" in str(run.error)


@pytest.mark.parametrize("options", [dict(resume_without_ems=True), dict(ems=False)],
                         ids=["resume_without_ems", "server-without-rfc7627"])
def test_legacy_insecure_resumption_only_when_configured(options):
    srv = server(**options)
    session = no_ems_session(srv)
    run = resume(srv, session, ems=False)
    assert run.ok and run.server.resumed and run.client.resumed
    assert run.steps[1].message.extension(ET.extended_master_secret) is None


def test_resumed_with_ems_the_server_hello_says_so():
    """"If the new ClientHello contains the extension and the server chooses to continue the
    handshake, then the server MUST include the extension in its ServerHello." """
    srv = server()
    _, session = first(srv)
    run = resume(srv, session)
    assert run.steps[1].message.extension(ET.extended_master_secret) is not None


def rewrite_server_hello(change):
    """tamper(): rewrite the (plaintext) ServerHello record with ``change(sh) -> sh``."""
    def tamper(step, record):
        if step.name != "ServerHello":
            return record
        sh = change(decode_handshake(record[5:], Context("1.2")))
        body = encode_handshake(sh)
        return record[:3] + len(body).to_bytes(2, "big") + body
    return tamper


def without(extension_type):
    return lambda sh: dataclasses.replace(sh, extensions=tuple(
        e for e in sh.extensions if e.type != extension_type))


def test_client_aborts_a_resumption_that_drops_ems():
    """"If the original session used the extension but the new ServerHello does not contain
    the extension, the client MUST abort the handshake." """
    srv = server()
    _, session = first(srv)
    run = handshake(client(session=session), srv,
                    tamper=rewrite_server_hello(without(ET.extended_master_secret)))
    assert run.error.alert == AD.handshake_failure and run.error.check == "extended_master_secret"
    assert run.client.failed and not run.client.resumed


def test_client_aborts_a_resumption_that_adds_ems():
    """"If the original session did not use the extension but the new ServerHello contains the
    extension, the client MUST abort the handshake." A server without RFC 7627 resumes the
    session; the ServerHello gains the extension on the way (the client did offer it)."""
    srv = server(ems=False)
    session = no_ems_session(srv)

    def offer_ems(hello):
        return dataclasses.replace(hello, extensions=hello.extensions
                                   + (ext.extended_master_secret(),))

    def add_ems(sh: ServerHello):
        return dataclasses.replace(sh, extensions=sh.extensions + (ext.extended_master_secret(),))
    run = handshake(client(session=session, ems=False, customize_hello=offer_ems), srv,
                    tamper=rewrite_server_hello(add_ems))
    assert run.server.resumed                           # the server did resume it
    assert run.error.alert == AD.handshake_failure and run.error.check == "extended_master_secret"


def test_client_aborts_a_resumption_with_another_suite():
    srv = server()
    _, session = first(srv)
    run = handshake(client(session=session, suites=(ECDHE, ECDHE_256)), srv,
                    tamper=rewrite_server_hello(
                        lambda sh: dataclasses.replace(sh, cipher_suite=ECDHE_256.code)))
    assert run.error.alert == AD.illegal_parameter and run.error.check == "resumption"


# -- a session kept in a file -------------------------------------------------------------------
def test_a_session_saved_and_loaded_resumes(tmp_path):
    srv = server()
    _, session = first(srv, session_tickets=True)
    store = SessionStore()
    store.add(session)
    store.save(tmp_path / "sessions.json")
    loaded = SessionStore.load(tmp_path / "sessions.json").find("localhost", ("1.2",))
    assert loaded == session
    assert resume(srv, loaded).server.resumed


def test_the_session_ticket_extension_codec():
    """RFC 5077 §3.2: the ticket is the whole extension_data; the server's is empty."""
    assert ext.session_ticket(b"abc").encode() == bytes.fromhex("0023 0003 616263")
    assert ext.session_ticket().encode() == bytes.fromhex("0023 0000")
    from tlslesson.errors import DecodeError
    from tlslesson.wire import Reader
    assert ext.value(ext.session_ticket(b"abc"), "client_hello") == b"abc"
    with pytest.raises(DecodeError, match="must be empty"):
        ext.read_extensions(Reader(ext.encode_all([ext.session_ticket(b"x")])), "server_hello")
    message = tls12.new_session_ticket(b"\x01" * 5, 300).wire
    assert message == bytes.fromhex("04 00000b 0000012c 0005 0101010101")


def test_a_server_hello_promising_a_ticket_must_send_one():
    """RFC 5077 §3.3: NewSessionTicket "MUST be sent if the server included a SessionTicket
    extension in the ServerHello": a ChangeCipherSpec in WAIT_TICKET is unexpected_message."""
    srv = server(ticket_keys=None)
    _, session = first(srv)              # resumed by ID: the server's CCS follows ServerHello

    def promise(sh: ServerHello):
        return dataclasses.replace(sh, extensions=sh.extensions + (ext.session_ticket(),))
    run = handshake(client(session=session, session_tickets=True), srv,
                    tamper=rewrite_server_hello(promise))
    assert run.error.alert == AD.unexpected_message and run.error.check == "state"
    assert "ChangeCipherSpec in state WAIT_TICKET" in str(run.error)
