"""TLS 1.3 resumption and 0-RTT against real stacks, both directions (RFC 8446 §2.2, §2.3).

OpenSSL 3.0: ``s_client -sess_out`` / ``-sess_in`` / ``-early_data`` against our server, and our
client (and the ``connect --sess-out/--sess-in/--early-data`` command line) against
``s_server -early_data``; psk_ke with ``-allow_no_dhe_kex``; a HelloRetryRequest with a PSK.
GnuTLS 3.7: ``gnutls-cli --resume [--earlydata]`` against our server and our client against
``gnutls-serv --earlydata``. Node 26 (OpenSSL 3.5): ``tls.connect({session})`` both ways (Node has
no 0-RTT API, so no early data there). Key logs agree line for line where the peer writes them,
the early secrets included.
"""
from __future__ import annotations

import json
import re
import secrets
import subprocess
from pathlib import Path

import pytest

from peers import (OpenSSLServer, OurServer, PROCESS_TIMEOUT, _Collector, _kill,  # noqa: F401
                   assert_same_keys, keylog_of, lesson, needs_openssl, read_keylog, run_cli,
                   s_client)
from test_interop_gnutls import GNUTLS_CLI, GNUTLS_SERV, GnutlsServer, chains, gnutls_cli  # noqa: F401
from tlslesson import net
from tlslesson.connection import PSK_KE, ClientConfig, ServerConfig

pytestmark = [pytest.mark.interop]
needs_gnutls = pytest.mark.skipif(GNUTLS_SERV is None or GNUTLS_CLI is None,
                                  reason="gnutls-serv/gnutls-cli not installed (apt gnutls-bin)")
GNUTLS_13 = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
EARLY_LABELS = {"CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET"}


def client_config(lesson, session=None, **options) -> ClientConfig:
    return ClientConfig(versions=("1.3",), trusted=lesson.trusted, session=session, **options)


def server_config(lesson, **options) -> ServerConfig:
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server),
                        versions=("1.3",), **options)


def labels(keys: dict) -> set[str]:
    return {label for label, _ in keys}


# ------------------------------------------------------------------------------------------------
# openssl s_client -> our server
# ------------------------------------------------------------------------------------------------
def _s_client_twice(lesson, tmp_path, config, *second_args, first_args=()):
    theirs, session = tmp_path / "s_client.keys", tmp_path / "s_client.sess"
    outputs = []
    with OurServer(config) as server:
        for how in (["-sess_out", str(session), *first_args],
                    ["-sess_in", str(session), *second_args]):
            message = f"hello from s_client {secrets.token_hex(8)}\n".encode()
            outputs.append(s_client(server.port, lesson, "-tls1_3", *how, message=message,
                                    keylog=theirs))
        reports = server.wait_for_reports(2)
    assert len(reports) == 2
    return outputs, reports, theirs


@needs_openssl
def test_s_client_resumes_with_our_server_and_sends_early_data(lesson, tmp_path):
    early = tmp_path / "early.txt"
    early.write_bytes(b"early data from s_client\n")
    (first, second), reports, theirs = _s_client_twice(
        lesson, tmp_path, server_config(lesson, max_early_data=16384), "-early_data", str(early))
    assert "New, TLSv1.3" in first.output
    assert "Reused, TLSv1.3" in second.output, second.output[-2000:]
    assert "Early data was accepted" in second.output
    assert [r.error for r in reports] == [None, None]
    assert [r.resumed for r in reports] == [False, True]
    assert reports[1].early_data == len(b"early data from s_client\n")
    assert reports[1].connection.walk[:4] == ["START", "RECVD_CH", "NEGOTIATED", "WAIT_EOED"]
    sent = [s.name for s in reports[1].connection.log if s.sender == "server"]
    assert "Certificate" not in sent
    ours = keylog_of(reports[0].connection.keylog + reports[1].connection.keylog)
    assert EARLY_LABELS <= labels(ours)
    assert_same_keys(ours, read_keylog(theirs), "1.3")


@needs_openssl
def test_s_client_early_data_rejected_by_a_server_that_takes_none(lesson, tmp_path):
    """Tickets without max_early_data: s_client does not even try (RFC 8446 §4.2.10)."""
    early = tmp_path / "early.txt"
    early.write_bytes(b"early\n")
    (first, second), reports, _ = _s_client_twice(lesson, tmp_path, server_config(lesson),
                                                  "-early_data", str(early))
    assert "Reused, TLSv1.3" in second.output
    assert "Early data was not sent" in second.output
    assert reports[1].resumed and reports[1].early_data is None


@needs_openssl
def test_s_client_psk_ke_with_our_server(lesson, tmp_path):
    (first, second), reports, theirs = _s_client_twice(
        lesson, tmp_path, server_config(lesson, psk_modes=(PSK_KE,)), "-allow_no_dhe_kex",
        first_args=["-allow_no_dhe_kex"])
    assert "Reused, TLSv1.3" in second.output, second.output[-2000:]
    assert reports[1].connection.values["psk_mode"] == "psk_ke"
    assert reports[1].group is None                     # no key share: no (EC)DHE at all
    ours = keylog_of(reports[0].connection.keylog + reports[1].connection.keylog)
    assert_same_keys(ours, read_keylog(theirs), "1.3")


# ------------------------------------------------------------------------------------------------
# our client -> openssl s_server
# ------------------------------------------------------------------------------------------------
def _s_server_output(server) -> str:
    return server.wait()


@needs_openssl
@pytest.mark.parametrize("early", [False, True], ids=["resumed", "resumed-0rtt"])
def test_our_client_resumes_with_s_server(lesson, tmp_path, early):
    theirs, ours = tmp_path / "s_server.keys", tmp_path / "ours.keys"
    results = []
    with OpenSSLServer(lesson, "-tls1_3", "-naccept", "2", "-early_data", keylog=theirs,
                       www=False) as server:
        first = net.connect("127.0.0.1", server.port, client_config(lesson), timeout=5,
                            keylog=ours)
        assert len(first.connection.sessions) == 2          # s_server sends two tickets
        session = first.connection.sessions[-1]
        assert session.max_early_data > 0                   # -early_data: tickets allow it
        second = net.connect("127.0.0.1", server.port,
                             client_config(lesson, session,
                                           early_data=b"early hello\n" if early else None),
                             timeout=5, keylog=ours)
        results = [first, second]
        text = server.wait()
    assert second.connection.resumed and not first.connection.resumed
    assert "Certificate" not in [s.name for s in second.connection.log]
    if early:
        assert second.connection.early_data_accepted is True
        assert "Early data received:" in text and "early hello" in text
        assert "EndOfEarlyData" in [s.name for s in second.connection.log]
    mine, logged = read_keylog(ours), read_keylog(theirs)
    assert (EARLY_LABELS <= labels(mine)) is early
    assert_same_keys(mine, logged, "1.3")
    assert all(r.connection.version == "1.3" for r in results)


@needs_openssl
def test_our_client_psk_ke_with_s_server(lesson, tmp_path):
    with OpenSSLServer(lesson, "-tls1_3", "-naccept", "2", "-allow_no_dhe_kex",
                       www=False) as server:
        first = net.connect("127.0.0.1", server.port, client_config(lesson, psk_modes=(PSK_KE,)),
                            timeout=5)
        second = net.connect("127.0.0.1", server.port,
                             client_config(lesson, first.connection.sessions[0],
                                           psk_modes=(PSK_KE,)), timeout=5)
        server.wait()
    sh = next(s.message for s in second.connection.log if s.name == "ServerHello")
    assert second.connection.resumed and sh.extension(0x0033) is None   # no key_share


@needs_openssl
def test_our_client_resumes_after_hello_retry_request(lesson, tmp_path):
    """s_server wants P-256; our client's first share is the hybrid/x25519: HelloRetryRequest,
    then the second ClientHello carries the PSK with a new binder."""
    with OpenSSLServer(lesson, "-tls1_3", "-naccept", "2", "-groups", "P-256",
                       www=False) as server:
        first = net.connect("127.0.0.1", server.port, client_config(lesson), timeout=5)
        second = net.connect("127.0.0.1", server.port,
                             client_config(lesson, first.connection.sessions[0]), timeout=5)
        server.wait()
    names = [s.name for s in second.connection.log]
    assert names.count("ClientHello") == 2 and second.connection.resumed


@needs_openssl
def test_cli_sess_out_sess_in_early_data_against_s_server(lesson, tmp_path):
    sessions = tmp_path / "sessions.json"
    errs = []
    with OpenSSLServer(lesson, "-tls1_3", "-naccept", "2", "-early_data", www=False) as server:
        for extra in (["--sess-out", str(sessions)],
                      ["--sess-in", str(sessions), "--early-data", r"early from the CLI\n"]):
            done = run_cli("connect", "127.0.0.1", str(server.port), "--version", "1.3",
                           "--cafile", lesson["ca.crt"], "--servername", "localhost",
                           "--timeout", "5", *extra)
            assert done.returncode == 0, done.stderr.decode()
            errs.append(done.stderr.decode())
        text = server.wait()
    assert "2 session(s) saved to" in errs[0]
    assert re.search(r"handshake complete: TLS 1\.3 \S+, Reused\n", errs[1]), errs[1]
    assert "early data accepted (19 bytes)" in errs[1], errs[1]
    assert "-> EarlyData  19 bytes of 0-RTT data" in errs[1]
    assert "early from the CLI" in text
    stored = json.loads(sessions.read_text())["sessions"]
    assert len(stored) == 2 and {s["version"] for s in stored} == {"1.3"}   # s_server's two


def test_cli_sess_in_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("not a session file")
    for args, want in ((["--sess-in", str(tmp_path / "missing.json")], "cannot read"),
                       (["--sess-in", str(bad)], "session file"),
                       (["--early-data", "x"], "--early-data needs")):
        done = run_cli("connect", "127.0.0.1", "9", "--insecure", *args)
        lines = done.stderr.decode().strip().splitlines()
        assert done.returncode != 0 and len(lines) == 1 and want in lines[0], lines


# ------------------------------------------------------------------------------------------------
# GnuTLS
# ------------------------------------------------------------------------------------------------
@needs_gnutls
@pytest.mark.parametrize("early", [False, True], ids=["resumed", "resumed-0rtt"])
def test_gnutls_cli_resumes_with_our_server(lesson, tmp_path, early):
    theirs = tmp_path / "gnutls-cli.keys"
    early_file = tmp_path / "early.txt"
    early_file.write_bytes(b"early from gnutls-cli\n")
    extra = ["--resume", *([f"--earlydata={early_file}"] if early else [])]
    data = f"hello from gnutls-cli {secrets.token_hex(8)}\n".encode()
    with OurServer(server_config(lesson, max_early_data=4096)) as server:
        res = gnutls_cli(server.port, lesson, GNUTLS_13, send=data, keylog=theirs, extra=extra)
        reports = server.wait_for_reports(2)
    assert "*** This is a resumed session" in res.session.text, res.session.text[-1500:]
    assert [r.error for r in reports] == [None, None]
    assert [r.resumed for r in reports] == [False, True]
    assert reports[1].early_data == (len(b"early from gnutls-cli\n") if early else None)
    ours = keylog_of(reports[0].connection.keylog + reports[1].connection.keylog)
    logged = read_keylog(theirs)
    assert _gnutls_lines_agree(logged, ours, early)
    assert labels(logged) >= {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"}


@needs_gnutls
@pytest.mark.parametrize("early", [False, True], ids=["resumed", "resumed-0rtt"])
def test_our_client_resumes_with_gnutls_serv(lesson, chains, tmp_path, early):
    theirs, ours = tmp_path / "gnutls-serv.keys", tmp_path / "ours.keys"
    with GnutlsServer(lesson, chains, GNUTLS_13, keylog=theirs,
                      extra=["--earlydata", "--maxearlydata=4096"]) as server:
        first = net.connect("127.0.0.1", server.port, client_config(lesson), send=b"ping\n",
                            timeout=5, keylog=ours)
        session = first.connection.sessions[-1]
        second = net.connect("127.0.0.1", server.port,
                             client_config(lesson, session,
                                           early_data=b"early\n" if early else None),
                             send=b"ping\n", timeout=5, keylog=ours)
        server.output.wait_for(b"This is a resumed session", 5)
        text = server.output.text()
    assert second.connection.resumed and not first.connection.resumed
    assert text.count("*** This is a resumed session") == 1
    if early:
        assert second.connection.early_data_accepted is True
    assert _gnutls_lines_agree(read_keylog(theirs), read_keylog(ours), early)


def _gnutls_lines_agree(logged: dict, ours: dict, early: bool) -> bool:
    """Every line GnuTLS wrote is ours too — except that GnuTLS 3.7 logs the early secrets of
    every resumed handshake, 0-RTT or not, and we (like OpenSSL) only when early data is sent."""
    assert (EARLY_LABELS <= labels(ours)) is early
    shared = {k: v for k, v in logged.items() if k[0] not in EARLY_LABELS or early}
    return shared.items() <= ours.items() and len(shared) >= 5


# ------------------------------------------------------------------------------------------------
# Node 26 (OpenSSL 3.5)
# ------------------------------------------------------------------------------------------------
from test_interop_node import NODE, NODE_OPENSSL  # noqa: E402

needs_node = pytest.mark.skipif(NODE is None or NODE_OPENSSL < (3, 5),
                                reason="Node.js 26 (OpenSSL 3.5) not found: see test_interop_node")

RESUME_JS = Path(__file__).parent / "interop" / "node" / "resume.js"


def _node(mode: str, options: dict, timeout: float = 20.0):
    proc = subprocess.Popen([NODE, str(RESUME_JS), mode, json.dumps(options)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, _Collector(proc.stdout)


def _result(proc, out) -> dict:
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        _kill(proc)
    text = out.finish().decode("utf-8", "replace")
    found = re.search(r"^RESULT (.*)$", text, re.M)
    assert found, text[-2000:]
    return json.loads(found.group(1))


@needs_node
@pytest.mark.parametrize("group", ["X25519MLKEM768", "X25519"])
def test_node_client_resumes_with_our_server(lesson, tmp_path, group):
    with OurServer(server_config(lesson)) as server:
        proc, out = _node("client", {"port": server.port, "ca": lesson["ca.crt"],
                                     "ecdhCurve": group, "connections": 2})
        result = _result(proc, out)
        reports = server.wait_for_reports(2)
    assert result["error"] is None, result
    assert result["reused"] == [False, True]
    assert [r.resumed for r in reports] == [False, True]
    assert reports[1].group == {"X25519MLKEM768": "X25519MLKEM768", "X25519": "x25519"}[group]
    ours = keylog_of(reports[0].connection.keylog + reports[1].connection.keylog)
    assert_same_keys(ours, keylog_of(result["keylog"]), "1.3")


@needs_node
def test_our_client_resumes_with_node_server(lesson, tmp_path):
    proc, out = _node("server", {"cert": [lesson["server.crt"], lesson["intermediate.crt"]],
                                 "key": lesson["server.key"], "connections": 2})
    try:
        port = int(out.wait_for(re.compile(rb"LISTENING (\d+)"), PROCESS_TIMEOUT).group(1))
        first = net.connect("127.0.0.1", port, client_config(lesson), send=b"ping", timeout=5)
        second = net.connect("127.0.0.1", port,
                             client_config(lesson, first.connection.sessions[-1]),
                             send=b"ping", timeout=5)
        result = _result(proc, out)
    finally:
        _kill(proc)
    assert result["reused"] == [False, True], result
    assert second.connection.resumed and second.data == b"ping"
    assert second.connection.values["group"] == "X25519MLKEM768"
    ours = keylog_of(first.connection.keylog + second.connection.keylog)
    assert_same_keys(ours, keylog_of(result["keylog"]), "1.3")
