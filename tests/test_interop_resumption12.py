"""TLS 1.2 resumption against OpenSSL 3.0 and GnuTLS 3.7, both directions, by session ID and by
RFC 5077 ticket: two connections each, the second abbreviated.

OpenSSL says "Reused, TLSv1.2" (s_client's summary, s_server's -www status page); GnuTLS says
"*** This is a resumed session". Key logs agree: the resumed connection's CLIENT_RANDOM line
carries the first connection's master secret under the new client random. (GnuTLS 3.7 writes no
key log line for a resumed connection; there the resumed secret is checked against the one it
logged for the first.) RFC 7627 §5.3 with a real client: s_client without extended master
secret cannot resume with our server unless ``resume_without_ems`` allows legacy resumption.
"""
from __future__ import annotations

import re
import secrets

import pytest

from peers import (OpenSSLServer, OurServer, assert_same_keys, keylog_of,  # noqa: F401
                   lesson, needs_openssl, read_keylog, run_cli, s_client)
from test_interop_gnutls import (GNUTLS_CLI, GNUTLS_SERV, GnutlsServer, chains,  # noqa: F401
                                 gnutls_cli)
from tlslesson import net, suites
from tlslesson.connection import ClientConfig, ServerConfig

pytestmark = [pytest.mark.interop]
needs_gnutls = pytest.mark.skipif(GNUTLS_SERV is None or GNUTLS_CLI is None,
                                  reason="gnutls-serv/gnutls-cli not installed (apt gnutls-bin)")

GET = b"GET / HTTP/1.0\r\n\r\n"
SUITE = suites.get("ECDHE-RSA-AES128-GCM-SHA256")
GNUTLS_12 = "NORMAL:-VERS-ALL:+VERS-TLS1.2"
MODES = ["ticket", "session-id"]


def client_config(lesson, session=None, **options) -> ClientConfig:
    return ClientConfig(versions=("1.2",), suites=(SUITE,), trusted=lesson.trusted,
                        session=session, session_tickets=True, **options)


def server_config(lesson, mode: str, **options) -> ServerConfig:
    # a server without ticket keys resumes by session ID only
    extra = {"ticket_keys": None} if mode == "session-id" else {}
    return ServerConfig(identities=(lesson.pki.rsa_server,), versions=("1.2",),
                        **extra, **options)


def assert_resumed_keys(ours: dict, theirs: dict, first_random: bytes) -> None:
    """Both connections' lines agree with the peer's, and the second carries the first's
    master secret (under its own client random)."""
    assert len(ours) == 2
    assert_same_keys(ours, theirs, "1.2")
    secrets_ = {random: secret for (_, random), secret in ours.items()}
    (second,) = set(secrets_) - {first_random}
    assert secrets_[second] == secrets_[first_random]


# ------------------------------------------------------------------------------------------------
# our client -> openssl s_server
# ------------------------------------------------------------------------------------------------
@needs_openssl
@pytest.mark.parametrize("ems", [True, False], ids=["ems", "no-ems"])
@pytest.mark.parametrize("mode", MODES)
def test_our_client_resumes_with_s_server(lesson, tmp_path, mode, ems):
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    args = ["-tls1_2", "-naccept", "2", *(["-no_ticket"] if mode == "session-id" else [])]
    results = []
    with OpenSSLServer(lesson, *args, keylog=theirs) as server:
        session = None
        for _ in range(2):
            results.append(net.connect("127.0.0.1", server.port,
                                       client_config(lesson, session, ems=ems),
                                       send=GET, timeout=5, keylog=ours))
            session = results[-1].connection.session
        server.wait()
    first, second = results
    assert "New, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256" in first.data.decode()
    page = second.data.decode()
    assert "Reused, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256" in page, page[:300]
    assert f"Extended master secret: {'yes' if ems else 'no'}" in page
    offered = first.connection.session
    assert (offered.ticket != b"") is (mode == "ticket")
    assert second.connection.resumed and not first.connection.resumed
    assert second.connection.values["resumption"] == \
        f"resumed by {'ticket' if mode == 'ticket' else 'session ID'}"
    names = [s.name for s in second.connection.log]
    assert names[:4] == ["ClientHello", "ServerHello", "ChangeCipherSpec", "Finished"]
    master = re.search(r"Master-Key: ([0-9A-F]+)", page).group(1)
    assert bytes.fromhex(master) == offered.secret == first.connection.values["master_secret"]
    assert_resumed_keys(read_keylog(ours), read_keylog(theirs),
                        first.connection.log[0].message.random)


@needs_openssl
def test_cli_sess_out_and_sess_in_against_s_server(lesson, tmp_path):
    sessions = tmp_path / "sessions.json"
    pages, errs = [], []
    with OpenSSLServer(lesson, "-tls1_2", "-naccept", "2") as server:
        for extra in (["--sess-out", str(sessions)], ["--sess-in", str(sessions)]):
            done = run_cli("connect", "127.0.0.1", str(server.port), "--version", "1.2",
                           "--cafile", lesson["ca.crt"], "--servername", "localhost",
                           "--send", r"GET / HTTP/1.0\r\n\r\n", "--timeout", "5", *extra)
            assert done.returncode == 0, done.stderr.decode()
            pages.append(done.stdout.decode())
            errs.append(done.stderr.decode())
        server.wait()
    assert "New, TLSv1.2" in pages[0] and "Reused, TLSv1.2" in pages[1]
    assert "<- NewSessionTicket  lifetime" in errs[0]
    assert re.search(r"handshake complete: TLS 1\.2 \S+, Reused\n", errs[1]), errs[1]
    assert "<- Certificate" not in errs[1]


# ------------------------------------------------------------------------------------------------
# openssl s_client -> our server
# ------------------------------------------------------------------------------------------------
def _s_client_twice(lesson, tmp_path, config, *args, no_ems=False):
    theirs, session = tmp_path / "s_client.keys", tmp_path / "s_client.sess"
    outputs = []
    with OurServer(config) as server:
        for how in (["-sess_out", str(session)], ["-sess_in", str(session)]):
            message = f"hello from s_client {secrets.token_hex(8)}\n".encode()
            outputs.append(s_client(server.port, lesson, "-tls1_2", *how, *args,
                                    message=message, keylog=theirs, no_ems=no_ems,
                                    tmp_path=tmp_path))
        reports = server.wait_for_reports(2)
    assert len(reports) == 2
    return outputs, reports, theirs


@needs_openssl
@pytest.mark.parametrize("mode", MODES)
def test_s_client_resumes_with_our_server(lesson, tmp_path, mode):
    args = ["-no_ticket"] if mode == "session-id" else []
    (first, second), reports, theirs = _s_client_twice(
        lesson, tmp_path, server_config(lesson, "ticket"), *args)
    assert "New, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256" in first.output
    assert "Reused, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256" in second.output, \
        second.output[-2000:]
    assert first.echoed and second.echoed
    assert [r.error for r in reports] == [None, None]
    assert [r.resumed for r in reports] == [False, True]
    how = "ticket" if mode == "ticket" else "session ID"
    assert reports[1].resumption == f"resumed by {how}"
    sent = [s.name for s in reports[1].connection.log if s.sender == "server"]
    assert sent[:2] == ["ServerHello", "NewSessionTicket" if mode == "ticket"
                        else "ChangeCipherSpec"]
    ours = keylog_of(reports[0].connection.keylog + reports[1].connection.keylog)
    assert_resumed_keys(ours, read_keylog(theirs), reports[0].connection.hs.client_random)


@needs_openssl
def test_s_client_without_ems_cannot_resume_unless_legacy_resumption_is_allowed(lesson, tmp_path):
    """RFC 7627 §5.3: neither the session nor the ClientHello has an extended master secret:
    the server SHOULD abort (handshake_failure). ``resume_without_ems`` allows it."""
    strict = tmp_path / "strict"
    strict.mkdir()
    (first, second), reports, _ = _s_client_twice(lesson, strict, server_config(lesson, "ticket"),
                                                  no_ems=True)
    assert "New, TLSv1.2" in first.output and "Reused" not in second.output
    assert "alert handshake failure" in second.output, second.output[-1500:]
    assert reports[1].error is not None and reports[1].error.check == "extended_master_secret"
    (first, second), reports, _ = _s_client_twice(
        lesson, tmp_path, server_config(lesson, "ticket", resume_without_ems=True), no_ems=True)
    assert "Reused, TLSv1.2" in second.output and reports[1].resumed
    assert not reports[1].connection.hs.extended_master_secret


# ------------------------------------------------------------------------------------------------
# GnuTLS
# ------------------------------------------------------------------------------------------------
@needs_gnutls
@pytest.mark.parametrize("mode", MODES)
def test_gnutls_cli_resumes_with_our_server(lesson, tmp_path, mode):
    """gnutls-cli --resume: a full handshake, then a resumed one. (GnuTLS 3.7's --noticket still
    sends session_ticket in TLS 1.2: for "session-id" our server has no ticket keys.)"""
    theirs = tmp_path / "gnutls-cli.keys"
    data = f"hello from gnutls-cli {secrets.token_hex(8)}\n".encode()
    with OurServer(server_config(lesson, mode)) as server:
        res = gnutls_cli(server.port, lesson, GNUTLS_12, send=data, keylog=theirs,
                         extra=["--resume"])
        reports = server.wait_for_reports(2)
    output = res.session.text
    assert res.echoed, output[-1500:]
    assert "*** This is a resumed session" in output
    assert [r.error for r in reports] == [None, None]
    assert [r.resumed for r in reports] == [False, True]
    assert reports[1].resumption == f"resumed by {'ticket' if mode == 'ticket' else 'session ID'}"
    ours = keylog_of(reports[0].connection.keylog + reports[1].connection.keylog)
    logged = read_keylog(theirs)
    first_random = reports[0].connection.hs.client_random
    assert logged[("CLIENT_RANDOM", first_random)] == reports[0].connection.hs.master_secret
    assert logged.items() <= ours.items()
    assert set(ours.values()) == {reports[0].connection.hs.master_secret}


@needs_gnutls
@pytest.mark.parametrize("mode", MODES)
def test_our_client_resumes_with_gnutls_serv(lesson, chains, tmp_path, mode):
    theirs, ours = tmp_path / "gnutls-serv.keys", tmp_path / "ours.keys"
    extra = ["--noticket"] if mode == "session-id" else []
    results = []
    with GnutlsServer(lesson, chains, GNUTLS_12, keylog=theirs, extra=extra) as server:
        session = None
        for _ in range(2):
            results.append(net.connect("127.0.0.1", server.port,
                                       client_config(lesson, session), send=b"ping\n",
                                       timeout=5, keylog=ours))
            session = results[-1].connection.session
        server.output.wait_for(b"This is a resumed session", 5)
        text = server.output.text()
    first, second = results
    assert [r.data for r in results] == [b"ping\n", b"ping\n"]
    assert second.connection.resumed and not first.connection.resumed
    assert (first.connection.session.ticket != b"") is (mode == "ticket")
    assert second.connection.values["resumption"] == \
        f"resumed by {'ticket' if mode == 'ticket' else 'session ID'}"
    assert text.count("*** This is a resumed session") == 1
    logged, mine = read_keylog(theirs), read_keylog(ours)
    first_random = first.connection.log[0].message.random
    assert logged[("CLIENT_RANDOM", first_random)] == mine[("CLIENT_RANDOM", first_random)]
    assert set(mine.values()) == {first.connection.session.secret}
