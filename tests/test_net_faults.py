"""Bad peers over real sockets: garbage, a close in the middle of the handshake, a stall, a
man in the middle who flips one byte, a downgrade attacker. Every case ends in one TLSError within
the timeout, naming the alert a real stack sends; and the server survives hostile clients.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from peers import (FakeServer, OpenSSLServer, OurServer, TamperProxy, flip_byte,  # noqa: F401
                   lesson, needs_openssl, read_some)
from tlslesson import net, suites
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.server import ServerConnection
from tlslesson.constants import DOWNGRADE_TLS12, AlertDescription as AD, ExtensionType
from tlslesson.errors import AlertError, DecodeError, TLSError, TransportError

TIMEOUT = 1.0
GRACE = 1.5          # "within the timeout": allow this much on top for a loaded 2-core machine


def client(lesson, **options) -> ClientConfig:
    return ClientConfig(trusted=lesson.trusted, **options)


def server(lesson, **options) -> ServerConfig:
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server), **options)


def connect_fails(port, config, **options) -> tuple[TLSError, float]:
    start = time.monotonic()
    with pytest.raises(TLSError) as caught:
        net.connect("127.0.0.1", port, config, timeout=TIMEOUT, send=b"hi", **options)
    return caught.value, time.monotonic() - start


# ------------------------------------------------------------------------------------------------
# Misbehaving servers
# ------------------------------------------------------------------------------------------------
def answer_http(sock, stop):
    read_some(sock)
    sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    stop.wait(5)


def close_at_once(sock, stop):
    read_some(sock)


def stall(sock, stop):
    read_some(sock)
    stop.wait(10)


def half_a_record(sock, stop):
    read_some(sock)
    sock.sendall(b"\x16\x03\x03\x00\x40" + b"\x02" * 10)     # promises 64 bytes, sends 10
    stop.wait(10)


def first_message_then_close(sock, stop):
    """A real ServerHello (from our ServerConnection), then the TCP close."""
    conn = ServerConnection(ServerConfig())
    conn.receive(read_some(sock))
    step, record = conn.records_to_send()[0]
    assert step.name == "ServerHello"
    sock.sendall(record)


def test_garbage_from_server_is_a_decode_error(lesson):
    with FakeServer(answer_http) as fake:
        error, elapsed = connect_fails(fake.port, client(lesson))
    assert isinstance(error, DecodeError) and error.alert == AD.decode_error
    assert "not a TLS content type" in str(error)
    assert elapsed < TIMEOUT + GRACE


def test_server_closing_after_client_hello(lesson):
    with FakeServer(close_at_once) as fake:
        error, elapsed = connect_fails(fake.port, client(lesson))
    assert isinstance(error, TransportError)
    assert str(error) == "server closed the connection during the handshake (after ClientHello)"
    assert elapsed < TIMEOUT + GRACE


def test_server_closing_after_server_hello(lesson):
    with FakeServer(first_message_then_close) as fake:
        error, _ = connect_fails(fake.port, client(lesson, versions=("1.2",)))
    assert isinstance(error, TransportError)
    assert "closed the connection during the handshake (after ServerHello)" in str(error)


@pytest.mark.parametrize("behaviour", [stall, half_a_record], ids=["silent", "half-a-record"])
def test_stalled_server_times_out(lesson, behaviour):
    with FakeServer(behaviour) as fake:
        error, elapsed = connect_fails(fake.port, client(lesson))
    assert isinstance(error, TransportError)
    assert str(error) == "timed out after 1 s waiting for the server's ServerHello"
    assert TIMEOUT - 0.1 <= elapsed < TIMEOUT + GRACE


def test_nobody_listening():
    with socket.socket() as s:                 # a port that was just free: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error, elapsed = connect_fails(port, ClientConfig())
    assert isinstance(error, TransportError) and "cannot connect to 127.0.0.1" in str(error)
    assert elapsed < TIMEOUT + GRACE


# ------------------------------------------------------------------------------------------------
# A man in the middle flips one byte
# ------------------------------------------------------------------------------------------------
def after_ccs(direction_wanted: str):
    """Tamper with the first handshake record after the sender's ChangeCipherSpec: its Finished
    (TLS 1.2)."""
    state = {"ccs": False, "done": False}

    def tamper(direction, number, record):
        if direction != direction_wanted or state["done"]:
            return record
        if record[0] == 20:
            state["ccs"] = True
        elif record[0] == 22 and state["ccs"]:
            state["done"] = True
            return flip_byte(record)
        return record
    return tamper


def nth_encrypted(direction_wanted: str, n: int):
    """Tamper with the n-th application_data-typed record (TLS 1.3: protected handshake)."""
    seen = []

    def tamper(direction, number, record):
        if direction == direction_wanted and record[0] == 23:
            seen.append(number)
            if len(seen) == n:
                return flip_byte(record)
        return record
    return tamper


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tampered_server_finished_is_bad_record_mac(lesson, version):
    # TLS 1.3 from our server: EncryptedExtensions, Certificate, CertificateVerify, Finished
    tamper = after_ccs("s2c") if version == "1.2" else nth_encrypted("s2c", 4)
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        with TamperProxy(ours.port, tamper, timeout=5) as proxy:
            error, elapsed = connect_fails(proxy.port, client(lesson, versions=(version,)))
        report = ours.wait_for_reports(1)[0]
    assert isinstance(error, AlertError) and not error.received
    assert error.alert == AD.bad_record_mac and "bad_record_mac (20)" in str(error)
    assert elapsed < TIMEOUT + GRACE
    # we told the server: it logs the alert it received
    assert isinstance(report.error, AlertError) and report.error.received
    assert report.error.alert == AD.bad_record_mac


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tampered_client_finished_gets_bad_record_mac_from_our_server(lesson, version):
    tamper = after_ccs("c2s") if version == "1.2" else nth_encrypted("c2s", 1)
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        with TamperProxy(ours.port, tamper, timeout=5) as proxy:
            error, _ = connect_fails(proxy.port, client(lesson, versions=(version,)))
        report = ours.wait_for_reports(1)[0]
    assert isinstance(error, AlertError) and error.received and error.alert == AD.bad_record_mac
    assert report.error.alert == AD.bad_record_mac and not report.error.received


def change_sni(direction, number, record):
    """Rewrite the server name in the ClientHello: keys stay the same without EMS, but the
    transcript differs, so the Finished check fails (and nothing else does)."""
    if direction == "c2s" and number == 0:
        assert b"localhost" in record
        return record.replace(b"localhost", b"localhosu")
    return record


def test_tampered_transcript_is_decrypt_error_from_our_server(lesson):
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        with TamperProxy(ours.port, change_sni, timeout=5) as proxy:
            error, _ = connect_fails(proxy.port, client(lesson, versions=("1.2",), ems=False))
        report = ours.wait_for_reports(1)[0]
    assert isinstance(error, AlertError) and error.received and error.alert == AD.decrypt_error
    assert "decrypt_error (51)" in str(error)
    assert "client Finished" in str(report.error) and report.error.alert == AD.decrypt_error


def test_tampered_server_key_exchange_signature_is_decrypt_error(lesson):
    def tamper(direction, number, record):   # ServerHello, Certificate, ServerKeyExchange, ...
        return flip_byte(record) if (direction, record[5], record[0]) == ("s2c", 12, 22) else record
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        with TamperProxy(ours.port, tamper, timeout=5) as proxy:
            error, _ = connect_fails(proxy.port, client(lesson, versions=("1.2",),
                                                         suites=(suites.get("ECDHE-RSA-AES128-GCM-SHA256"),)))
    assert isinstance(error, AlertError) and not error.received
    assert error.alert == AD.decrypt_error


@pytest.mark.interop
@needs_openssl
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_openssl_sends_bad_record_mac_for_tampered_client_finished(lesson, version):
    """The alert our server sends is the one OpenSSL sends for the same tampering."""
    tamper = after_ccs("c2s") if version == "1.2" else nth_encrypted("c2s", 1)
    with OpenSSLServer(lesson, f"-tls{version.replace('.', '_')}") as real:
        with TamperProxy(real.port, tamper, timeout=5) as proxy:
            error, _ = connect_fails(proxy.port, client(lesson, versions=(version,)))
        real.wait()
    assert isinstance(error, AlertError) and error.received and error.alert == AD.bad_record_mac


@pytest.mark.interop
@needs_openssl
def test_openssl_sends_decrypt_error_for_tampered_transcript(lesson):
    with OpenSSLServer(lesson, "-tls1_2") as real:
        with TamperProxy(real.port, change_sni, timeout=5) as proxy:
            error, _ = connect_fails(proxy.port, client(lesson, versions=("1.2",), ems=False))
        real.wait()
    assert isinstance(error, AlertError) and error.received and error.alert == AD.decrypt_error


# ------------------------------------------------------------------------------------------------
# Versions and the downgrade sentinel, our client against our server over TCP
# ------------------------------------------------------------------------------------------------
def test_tls12_only_client_accepts_sentinel(lesson):
    with OurServer(server(lesson)) as ours:
        result = net.connect("127.0.0.1", ours.port, client(lesson, versions=("1.2",)),
                             send=b"v", timeout=5)
    assert result.version == "1.2" and result.data == b"v"
    assert result.connection.values["server_random"][-8:] == DOWNGRADE_TLS12


def test_downgrade_attacker_is_caught(lesson):
    """The attacker strips supported_versions from our ClientHello; our server (which does 1.3)
    answers 1.2 with the sentinel; our client, which offered 1.3, refuses."""
    def strip_tls13(hello):
        from dataclasses import replace
        return replace(hello, extensions=tuple(e for e in hello.extensions
                                               if e.type != ExtensionType.supported_versions))
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        error, _ = connect_fails(ours.port, client(lesson, customize_hello=strip_tls13))
        report = ours.wait_for_reports(1)[0]
    assert isinstance(error, AlertError) and error.alert == AD.illegal_parameter
    assert "downgrade" in str(error)
    assert report.error.received and report.error.alert == AD.illegal_parameter


# ------------------------------------------------------------------------------------------------
# The server survives hostile clients
# ------------------------------------------------------------------------------------------------
def test_server_survives_garbage_then_serves(lesson):
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        with socket.create_connection(("127.0.0.1", ours.port), timeout=5) as bad:
            bad.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            alert = bad.recv(100)
        first = ours.wait_for_reports(1)[0]
        result = net.connect("127.0.0.1", ours.port, client(lesson), send=b"still here",
                             timeout=5)
        reports = ours.wait_for_reports(2)
    assert alert[:1] == b"\x15" and alert[-1] == AD.decode_error     # a decode_error alert
    assert isinstance(first.error, DecodeError)
    assert result.data == b"still here"
    assert reports[1].ok and reports[1].echoed == len(b"still here")


def test_stalled_client_does_not_block_others(lesson):
    with OurServer(server(lesson), timeout=2.0) as ours:
        stalled = socket.create_connection(("127.0.0.1", ours.port), timeout=5)
        half = socket.create_connection(("127.0.0.1", ours.port), timeout=5)
        half.sendall(b"\x16\x03\x01\x02\x00\x01")            # a ClientHello that never ends
        try:
            start = time.monotonic()
            results = []
            threads = [threading.Thread(target=lambda i=i: results.append(
                net.connect("127.0.0.1", ours.port, client(lesson), send=b"%d" % i, timeout=5)))
                for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert time.monotonic() - start < 1.5          # not waiting for the stalled ones
            assert sorted(r.data for r in results) == [b"0", b"1", b"2", b"3"]
            reports = ours.wait_for_reports(6, timeout=5)
        finally:
            stalled.close()
            half.close()
    errors = [r.error for r in reports if r.error is not None]
    assert len(errors) == 2 and all(isinstance(e, TransportError) for e in errors)
    assert all("timed out after 2 s waiting for the client's ClientHello" == str(e) for e in errors)


def test_connections_are_bounded(lesson):
    """With one slot, a stalled client holds it until its timeout; the next client then gets
    served (it waits in the listen backlog, it is not refused)."""
    with OurServer(server(lesson), timeout=TIMEOUT, max_connections=1) as ours:
        with socket.create_connection(("127.0.0.1", ours.port), timeout=5):
            time.sleep(0.1)                                     # let the server take it
            start = time.monotonic()
            result = net.connect("127.0.0.1", ours.port, client(lesson), send=b"queued",
                                 timeout=5)
            waited = time.monotonic() - start
        reports = ours.wait_for_reports(2)
    assert result.data == b"queued"
    assert TIMEOUT - 0.3 < waited < TIMEOUT + GRACE
    assert isinstance(reports[0].error, TransportError) and reports[1].ok


def test_client_closing_mid_handshake_is_logged(lesson):
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        with socket.create_connection(("127.0.0.1", ours.port), timeout=5) as bad:
            bad.sendall(b"\x16\x03\x01\x00\x10")                # a header, then goodbye
        report = ours.wait_for_reports(1)[0]
    assert isinstance(report.error, TransportError)
    assert str(report.error) == "client closed the connection before the first message"


def test_stop_ends_open_connections_quickly(lesson):
    ours = OurServer(server(lesson), timeout=30.0)
    idle = socket.create_connection(("127.0.0.1", ours.port), timeout=5)
    try:
        time.sleep(0.1)
        start = time.monotonic()
        ours.server.stop()
        assert time.monotonic() - start < 3
    finally:
        idle.close()


def test_reply_kept_when_server_resets_after_the_handshake(lesson):
    """A server that answers and closes with our close_notify still unread makes its kernel send
    a TCP reset. What arrived before it is kept; the result says how the connection ended."""
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(lesson["server.crt"], lesson["server.key"])
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_once():
        raw, _ = listener.accept()
        with context.wrap_socket(raw, server_side=True) as tls:
            tls.recv(100)
            tls.sendall(b"the reply")
            time.sleep(0.2)                     # our close_notify arrives and is never read
    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    try:
        result = net.connect("127.0.0.1", port, client(lesson), timeout=5, send=b"hello")
    finally:
        thread.join(5)
        listener.close()
    assert result.data == b"the reply"
    assert result.closed_by in ("tcp reset", "tcp close")
