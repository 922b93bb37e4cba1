"""Bad peers on loopback: servers that misbehave against our client, a man in the middle who flips
one byte or downgrades the version, clients that misbehave against ``serve``, ``serve`` taking 100 bad
clients in a row (and stalled ones beside good ones), and the command line against hostile peers.

The bad cases: garbage, a close (or a reset) in the middle of the handshake, a stall (silence, half
a record, a trickle too slow for the timeout, a flood of records that never moves the handshake
on), oversized records, a tampered record or transcript. The client always ends in exactly one
``TLSError`` that names what happened (and the alert a real stack sends); the server logs one
error per client and keeps serving. A handshake dribbled one byte per TCP segment is not a bad
case: it must succeed.

No test here depends on the machine's speed: what happened is read from the error (a peer that
waited for its deadline says "timed out", one that reacted to a close says "closed"), a deadline
is checked from below (it did not fire early), and from above only against ``LONG``, the ten times
longer a stalling peer keeps at it (it was the deadline, not the peer giving up, that ended it).
Everything is bounded: every socket has a timeout, every loop a count or a deadline.
"""
from __future__ import annotations

import collections
import os
import random
import re
import socket
import struct
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from peers import (CLIServer, DribbleProxy, FakeServer, OpenSSLServer, OurServer,  # noqa: F401
                   TamperProxy, flip_byte, lesson, needs_openssl, read_some, run_cli)
from tlslesson import net, suites
from tlslesson.client import ClientConnection
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.constants import DOWNGRADE_TLS12, AlertDescription as AD, ExtensionType
from tlslesson.server import ServerConnection
from tlslesson.errors import AlertError, DecodeError, TLSError, TransportError

TIMEOUT = 1.0                # the deadline under test
LONG = 10.0                  # a stalling peer keeps at it this long (unless the test ends first)
BOUND = 5.0                  # no other helper thread or socket wait in this file lasts longer
OVERFLOW_ALERT = bytes.fromhex("15030300020216")       # fatal record_overflow, in the clear
MAX_CIPHERTEXT_12 = 2 ** 14 + 2048
MAX_CIPHERTEXT_13 = 2 ** 14 + 256


def client(lesson, **options) -> ClientConfig:
    return ClientConfig(trusted=lesson.trusted, **options)


def server(lesson, **options) -> ServerConfig:
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server), **options)


def connect_fails(port, config, timeout: float = TIMEOUT) -> tuple[TLSError, float]:
    """connect() must raise exactly one TLSError (no other exception), long before a stalling
    peer would have given up by itself."""
    start = time.monotonic()
    with pytest.raises(TLSError) as caught:
        net.connect("127.0.0.1", port, config, timeout=timeout, send=b"hi")
    elapsed = time.monotonic() - start
    assert elapsed < LONG, (elapsed, caught.value)
    return caught.value, elapsed


def read_until_eof(sock, limit: float = BOUND) -> bytes:
    """All the peer sends until it closes (or resets, or ``limit`` passes)."""
    data, end = b"", time.monotonic() + limit
    try:
        while (left := end - time.monotonic()) > 0:
            sock.settimeout(left)
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


def reset(sock) -> None:
    """Close with a TCP reset instead of a FIN (SO_LINGER on, zero seconds)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def record(content_type: int, fragment: bytes, version: int = 0x0303) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + len(fragment).to_bytes(2, "big") \
        + fragment


def junk(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


CCS = record(20, b"\x01")


# ------------------------------------------------------------------------------------------------
# A real server flight, from our own ServerConnection, for the fake servers to misuse
# ------------------------------------------------------------------------------------------------
def server_flight(sock, lesson, **options):
    """Read the ClientHello from ``sock``; our ServerConnection's answer as (conn, [(Step, record)])."""
    conn = ServerConnection(server(lesson, **options))
    for _ in range(20):
        data = read_some(sock)
        if not data:
            raise ConnectionError("the client went away before its ClientHello")
        conn.receive(data)
        out = conn.records_to_send()
        if out:
            return conn, out
    raise AssertionError("no ClientHello in 20 reads")


def joined(records) -> bytes:
    return b"".join(raw for _, raw in records)


class Fake(FakeServer):
    """FakeServer that also keeps what the client sent after the misbehaviour (its alert)."""

    def __init__(self, behaviour, lesson=None, version: str = "1.3"):
        self.received = b""
        self.lesson, self.version = lesson, version
        super().__init__(lambda sock, stop: behaviour(self, sock, stop), timeout=BOUND)

    def __exit__(self, *exc):
        super().__exit__(*exc)
        assert self.error is None, f"the fake server failed: {self.error!r}"


# ------------------------------------------------------------------------------------------------
# 1. Servers that misbehave against our client
# ------------------------------------------------------------------------------------------------
GARBAGE = {
    # name: (bytes sent instead of a ServerHello, error class, alert, text in the error)
    "http answer": (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", DecodeError,
                    AD.decode_error, "72 is not a TLS content type"),
    "ssh banner": (b"SSH-2.0-OpenSSH_9.6\r\n", DecodeError, AD.decode_error,
                   "83 is not a TLS content type"),
    "random bytes": (b"\x99" + junk(300), DecodeError, AD.decode_error,
                     "153 is not a TLS content type"),
    "record version 7.1": (b"\x16\x07\x01\x00\x05hello", DecodeError, AD.decode_error,
                           "record version at offset 1: 0x0701 is not TLS"),
    "junk ServerHello": (record(22, b"\x02\x00\x00\x20" + junk(32)), DecodeError,
                         AD.decode_error, "decode_error"),
    "Finished first": (record(22, b"\x14\x00\x00\x0c" + junk(12)), AlertError,
                       AD.unexpected_message, "received Finished in state WAIT_SH (expected ServerHello)"),
}


@pytest.mark.parametrize("name", GARBAGE)
def test_server_sends_garbage(lesson, name):
    data, kind, alert, text = GARBAGE[name]

    def behaviour(fake, sock, stop):
        read_some(sock)
        sock.sendall(data)
        fake.received = read_until_eof(sock)          # our alert, then our close
    with Fake(behaviour) as fake:
        error, _ = connect_fails(fake.port, client(lesson))
    assert type(error) is kind and error.alert == alert and text in str(error), str(error)
    assert fake.received == bytes([21, 3, 3, 0, 2, 2, alert])   # told the server, in the clear


CUTS = {
    # name: (version, index of the record the cut falls in (None: after all), bytes of it sent)
    "1.3 before the first byte": ("1.3", 0, 0),
    "1.2 in the first record header": ("1.2", 0, 3),
    "1.2 inside ServerHello": ("1.2", 0, 40),
    "1.2 after ServerHello": ("1.2", 1, 0),
    "1.2 inside ServerHelloDone": ("1.2", 3, 6),
    "1.3 inside ServerHello": ("1.3", 0, 100),
    "1.3 inside the encrypted Certificate": ("1.3", 3, 500),
    "1.3 inside the encrypted Finished": ("1.3", 5, 20),
}


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("name", CUTS)
def test_server_closes_mid_handshake(lesson, name, how):
    version, index, partial = CUTS[name]
    seen = {}

    def behaviour(fake, sock, stop):
        _, records = server_flight(sock, lesson, versions=(version,))
        seen["names"] = [step.name for step, _ in records]
        sock.sendall(joined(records[:index]) + records[index][1][:partial])
        time.sleep(0.05)                       # let it arrive before the reset
        if how == "reset":
            reset(sock)
    with Fake(behaviour) as fake:
        error, _ = connect_fails(fake.port, client(lesson, versions=(version,)))
    # (a client that waited for its deadline would say "timed out": the close is news at once)
    # the last message the client took in whole (a TLS 1.3 ChangeCipherSpec is not logged)
    names = [n for n in ["ClientHello"] + seen["names"][:index] if n != "ChangeCipherSpec"]
    assert isinstance(error, TransportError), repr(error)
    if how == "close":
        assert str(error) == f"server closed the connection during the handshake (after {names[-1]})"
    else:
        assert re.fullmatch(r"the server (reset|closed) the connection \(.+\) during the "
                            rf"handshake \(after {names[-1]}\)", str(error)), str(error)


def silent_after(count: int):
    """Send the first ``count`` records of the real flight (and half of the next), then nothing."""
    def behaviour(fake, sock, stop, half=False):
        _, records = server_flight(sock, fake.lesson, versions=(fake.version,))
        sock.sendall(joined(records[:count]) + (records[count][1][:7] if half else b""))
        stop.wait(LONG)
    return behaviour


def slowloris(fake, sock, stop):
    """The real flight, one byte every 30 ms: bytes keep coming, the handshake never ends in time."""
    _, records = server_flight(sock, fake.lesson, versions=(fake.version,))
    for byte in joined(records)[:int(LONG / 0.03)]:
        sock.sendall(bytes([byte]))
        if stop.wait(0.03):
            return


def ccs_flood(fake, sock, stop):
    """TLS 1.3: the ServerHello, then middlebox ChangeCipherSpec records (which a 1.3 peer must
    ignore) as fast as the socket takes them: the handshake never moves, the client never idles."""
    _, records = server_flight(sock, fake.lesson, versions=("1.3",))
    sock.sendall(records[0][1])
    end = time.monotonic() + LONG
    while not stop.is_set() and time.monotonic() < end:
        sock.sendall(CCS * 1000)


def half_a_first_record(fake, sock, stop):
    """A record header promising 64 bytes, 10 of them, then nothing."""
    read_some(sock)
    sock.sendall(b"\x16\x03\x03\x00\x40" + b"\x02" * 10)
    stop.wait(LONG)


STALLS = {
    # name: (version, behaviour, what the client waits for)
    "silent after ClientHello": ("1.3", silent_after(0), "ServerHello"),
    "half a first record": ("1.2", half_a_first_record, "ServerHello"),
    "1.2 silent after ServerHello": ("1.2", silent_after(1), "Certificate"),
    "1.3 silent after ServerHello": ("1.3", silent_after(2), "EncryptedExtensions"),
    "1.2 half a Certificate record": ("1.2", lambda f, s, st: silent_after(1)(f, s, st, half=True),
                                      "Certificate"),
    "slowloris (1 byte / 30 ms)": ("1.3", slowloris, "ServerHello"),
    "1.3 ChangeCipherSpec flood": ("1.3", ccs_flood, "EncryptedExtensions"),
}


@pytest.mark.parametrize("name", STALLS)
def test_server_stalls(lesson, name):
    version, behaviour, waiting_for = STALLS[name]
    with Fake(behaviour, lesson, version) as fake:
        error, elapsed = connect_fails(fake.port, client(lesson, versions=(version,)))
    assert isinstance(error, TransportError)
    assert str(error) == f"timed out after 1 s waiting for the server's {waiting_for}"
    assert elapsed >= TIMEOUT - 0.1             # and connect_fails: before LONG


def oversized_header(fake, sock, stop):
    """A record header announcing 65535 bytes (> 2^14 + 2048), and no body ever."""
    read_some(sock)
    sock.sendall(b"\x16\x03\x03\xff\xff")
    fake.received = read_until_eof(sock)


def oversized_plaintext(fake, sock, stop):
    """A whole plaintext handshake record of 2^14 + 1 bytes (a ServerHello that long)."""
    read_some(sock)
    sock.sendall(record(22, b"\x02\x00\x3f\xfd" + junk(2 ** 14 - 3)))
    fake.received = read_until_eof(sock)


def oversized_protected13(fake, sock, stop):
    """TLS 1.3: the real ServerHello, then a protected record of 2^14 + 257 bytes (> 2^14 + 256)."""
    _, records = server_flight(sock, fake.lesson, versions=("1.3",))
    sock.sendall(records[0][1] + record(23, junk(MAX_CIPHERTEXT_13 + 1)))
    fake.received = read_until_eof(sock)


def sealed_oversized13(fake, sock, stop):
    """TLS 1.3: the real ServerHello, then 2^14 + 1 bytes of handshake sealed with the server's
    real handshake key: the tag is good, the length is not."""
    conn, records = server_flight(sock, fake.lesson, versions=("1.3",))
    big = conn._protection13("server_handshake").seal(22, 0x0303, b"\x08" + junk(2 ** 14))
    sock.sendall(records[0][1] + big.encode())
    fake.received = read_until_eof(sock)


def sealed_oversized12(fake, sock, stop):
    """TLS 1.2: the whole real handshake up to the server's ChangeCipherSpec, then 2^14 + 1 bytes
    sealed with the server's real write key (in place of its Finished, same sequence number)."""
    conn, records = server_flight(sock, fake.lesson, versions=("1.2",))
    sock.sendall(joined(records))
    out = []
    for _ in range(20):                         # the client's CKE, CCS, Finished
        data = read_some(sock)
        if not data:
            raise ConnectionError("client gone")
        conn.receive(data)
        out = conn.records_to_send()
        if out:
            break
    assert [step.name for step, _ in out] == ["ChangeCipherSpec", "Finished"]
    conn.records.write.seq = 0                         # the Finished we do not send had number 0
    big = conn.records.write.seal(22, 0x0303, b"\x14" + junk(2 ** 14))
    assert len(big.fragment) <= MAX_CIPHERTEXT_12
    sock.sendall(out[0][1] + big.encode())
    fake.received = read_until_eof(sock)


OVERSIZED = {
    # name: (version, behaviour, text in the error, is our alert in the clear); a 1.3 client
    # failing on the server's flight has no write key yet: its alert is in the clear (OpenSSL's too)
    "header length 65535": ("1.3", oversized_header,
                            "record length 65535 exceeds 2^14 + 2048", True),
    "plaintext record of 2^14 + 1": ("1.2", oversized_plaintext,
                                     "record of 16385 bytes of plaintext exceeds 2^14", True),
    "1.3 protected record of 2^14 + 257": ("1.3", oversized_protected13,
                                           "TLS 1.3 record too long", True),
    "1.3 sealed plaintext of 2^14 + 1": ("1.3", sealed_oversized13,     # RFC 8446 §5.4
                                         "TLSInnerPlaintext of 16386 bytes exceeds 2^14 + 1", True),
    "1.2 sealed plaintext of 2^14 + 1": ("1.2", sealed_oversized12,
                                         "record of 16385 bytes of plaintext exceeds 2^14", False),
}


@pytest.mark.parametrize("name", OVERSIZED)
def test_server_sends_oversized_record(lesson, name):
    version, behaviour, text, clear = OVERSIZED[name]
    with Fake(behaviour, lesson) as fake:
        error, _ = connect_fails(fake.port, client(lesson, versions=(version,)))
    assert isinstance(error, AlertError) and not error.received   # a client waiting for more
    assert error.alert == AD.record_overflow                      # bytes would have timed out
    assert str(error) == f"alert record_overflow (22): {text}"
    if clear:                                   # our alert, then our close
        assert fake.received == OVERFLOW_ALERT
    else:                                       # 1.2 after our ChangeCipherSpec: encrypted
        assert fake.received[:1] == b"\x15" and len(fake.received) == 5 + 8 + 2 + 16


def count_reads(monkeypatch, peer: str) -> list[int]:
    """The size of every read a _Link talking to ``peer`` makes, from now on."""
    sizes: list[int] = []
    original = net._Link.read

    def read(self, deadline=None):
        data = original(self, deadline)
        if self.peer == peer:
            sizes.append(len(data))
        return data
    monkeypatch.setattr(net._Link, "read", read)
    return sizes


def assert_dribbled(sizes: list[int], segments: int) -> None:
    """The reader really got the bytes a few at a time, not in one piece."""
    assert len(sizes) >= segments // 3, (len(sizes), segments)
    assert sorted(sizes)[len(sizes) // 2] <= 2, sorted(sizes)[-20:]     # median read: a byte or two


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_server_dribbling_one_byte_per_segment_succeeds(lesson, version, monkeypatch):
    reads = count_reads(monkeypatch, "server")
    with OurServer(server(lesson, versions=(version,)), timeout=BOUND) as ours:
        with DribbleProxy(ours.port, dribble=("s2c",)) as proxy:
            result = net.connect("127.0.0.1", proxy.port, client(lesson), timeout=BOUND,
                                 send=b"one byte at a time")
        report = ours.wait_for_reports(1)[0]
    assert result.version == version and result.data == b"one byte at a time"
    assert result.closed_by == "close_notify"
    assert report.ok and report.echoed == len(b"one byte at a time")
    assert proxy.segments["s2c"] == proxy.bytes["s2c"] > 2000        # every byte its own send
    assert_dribbled(reads, proxy.segments["s2c"])


@pytest.mark.interop
@needs_openssl
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_openssl_dribbling_one_byte_per_segment_succeeds(lesson, version, monkeypatch):
    reads = count_reads(monkeypatch, "server")
    with OpenSSLServer(lesson, f"-tls{version.replace('.', '_')}") as real:
        with DribbleProxy(real.port, dribble=("s2c",)) as proxy:
            result = net.connect("127.0.0.1", proxy.port, client(lesson), timeout=BOUND,
                                 send=b"GET / HTTP/1.0\r\n\r\n")
        real.wait()
    assert result.version == version
    assert result.data.startswith(b"HTTP/1.0 200 ok")
    assert proxy.segments["s2c"] == proxy.bytes["s2c"] > 2000
    assert_dribbled(reads, proxy.segments["s2c"])


def test_nobody_listening():
    with socket.socket() as s:                 # a port that was just free: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    error, _ = connect_fails(port, ClientConfig())
    assert isinstance(error, TransportError) and "cannot connect to 127.0.0.1" in str(error)


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


# ------------------------------------------------------------------------------------------------
# 2. A man in the middle flips one byte, or strips TLS 1.3 from the ClientHello
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
            error, _ = connect_fails(proxy.port, client(lesson, versions=(version,)))
        report = ours.wait_for_reports(1)[0]
    assert isinstance(error, AlertError) and not error.received
    assert error.alert == AD.bad_record_mac and "bad_record_mac (20)" in str(error)
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


# versions and the downgrade sentinel, our client against our server over TCP
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
# 3. Clients that misbehave against serve
# ------------------------------------------------------------------------------------------------
def client_hello(lesson, **options) -> bytes:
    conn = ClientConnection(client(lesson, **options))
    conn.start()
    return conn.data_to_send()


@contextmanager
def bad_client(port: int, act):
    """A raw connection to ``port``; ``act(sock, stop)`` runs in a thread (bounded by BOUND) until
    the block ends. Yields the connection's start time."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=BOUND)
    stop = threading.Event()
    start = time.monotonic()

    def run():
        try:
            act(sock, stop)
        except OSError:                  # the server closed or reset us: expected
            pass
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield start
    finally:
        stop.set()
        thread.join(BOUND)
        sock.close()


def report_after(ours, start: float):
    report = ours.wait_for_reports(1, timeout=LONG + BOUND)[0]
    return report, time.monotonic() - start


CLIENT_GARBAGE = {
    # name: (bytes, alert, text in the server's error)
    "ssh banner": (b"SSH-2.0-OpenSSH_9.6\r\n", AD.decode_error, "83 is not a TLS content type"),
    "SSLv2 ClientHello": (bytes.fromhex("802e0103010015000000100100800300800700c006004002008004"
                                        "0080") + junk(16), AD.decode_error,
                          "128 is not a TLS content type"),
    "random bytes": (b"\xfe" + junk(1000), AD.decode_error, "254 is not a TLS content type"),
    "junk ClientHello": (record(22, b"\x01\x00\x00\x20" + junk(32), 0x0301), AD.decode_error,
                         "decode_error"),
    "ChangeCipherSpec first": (CCS, AD.unexpected_message,
                               "received ChangeCipherSpec in state START (expected ClientHello)"),
    "handshake message of 16 MiB": (record(22, b"\x01\xff\xff\xff" + junk(100), 0x0301),
                                    AD.decode_error, "handshake message of 16777215 bytes"),
}


def send_to_serve(lesson, data: bytes):
    """A client that sends ``data`` to our server and reads until it closes:
    (the server's log entry, seconds until it, {"reply": what the client got back})."""
    got = {}

    def act(sock, stop):
        sock.sendall(data)
        got["reply"] = read_until_eof(sock)
        sock.close()
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        with bad_client(ours.port, act) as start:
            report, elapsed = report_after(ours, start)
    return report, elapsed, got


@pytest.mark.parametrize("name", CLIENT_GARBAGE)
def test_client_sends_garbage_to_serve(lesson, name):
    data, alert, text = CLIENT_GARBAGE[name]
    report, _, got = send_to_serve(lesson, data)
    assert isinstance(report.error, TLSError) and report.error.alert == alert
    assert text in str(report.error), str(report.error)
    assert got["reply"] == bytes([21, 3, 3, 0, 2, 2, alert])      # the alert, then the close


@pytest.mark.parametrize("how", ["close", "reset"])
@pytest.mark.parametrize("version, cut", [("1.3", 3), ("1.3", 60), ("1.3", -1), ("1.3", None),
                                          ("1.2", None)],
                         ids=["in the header", "inside ClientHello", "one byte short",
                              "1.3 after ClientHello", "1.2 after ClientHello"])
def test_client_closes_mid_handshake(lesson, version, cut, how):
    hello = client_hello(lesson, versions=(version,))

    def act(sock, stop):
        sock.sendall(hello[:cut])
        time.sleep(0.1)                     # the server reads it (and answers a whole hello)
        reset(sock) if how == "reset" else sock.shutdown(socket.SHUT_WR)
        stop.wait(LONG)
    with OurServer(server(lesson), timeout=LONG) as ours:   # a wait for it would show "timed out"
        with bad_client(ours.port, act) as start:
            report, _ = report_after(ours, start)
    error = report.error
    assert isinstance(error, TransportError), repr(error)
    when = ("before the first message" if cut is not None else
            "during the handshake (after " + ("Finished)" if version == "1.3"
                                              else "ServerHelloDone)"))
    if how == "close":
        assert str(error) == f"client closed the connection {when}"
    else:
        assert re.fullmatch(rf"(the )?client (reset|closed) the connection( \(.+\))? "
                            rf"{re.escape(when)}", str(error)), str(error)


def client_slowloris(hello: bytes):
    def act(sock, stop):
        for byte in hello[:int(LONG / 0.03)]:
            sock.sendall(bytes([byte]))
            if stop.wait(0.03):
                return
    return act


def client_ccs_flood(hello: bytes):
    def act(sock, stop):
        sock.sendall(hello)
        end = time.monotonic() + LONG
        while not stop.is_set() and time.monotonic() < end:
            sock.sendall(CCS * 1000)
    return act


def client_sends(data: bytes):
    def act(sock, stop):
        sock.sendall(data)
        stop.wait(LONG)
    return act


@pytest.mark.parametrize("name", ["silent", "half a record", "1.3 silent after ClientHello",
                                  "1.2 silent after ClientHello", "slowloris (1 byte / 30 ms)",
                                  "1.3 ChangeCipherSpec flood"])
def test_client_stalls_serve(lesson, name):
    hello13, hello12 = client_hello(lesson, versions=("1.3",)), client_hello(lesson, versions=("1.2",))
    act, waiting_for = {
        "silent": (client_sends(b""), "ClientHello"),
        "half a record": (client_sends(hello13[:40]), "ClientHello"),
        "1.3 silent after ClientHello": (client_sends(hello13), "Finished"),
        "1.2 silent after ClientHello": (client_sends(hello12), "ClientKeyExchange"),
        "slowloris (1 byte / 30 ms)": (client_slowloris(hello13), "ClientHello"),
        "1.3 ChangeCipherSpec flood": (client_ccs_flood(hello13), "Finished"),
    }[name]
    with OurServer(server(lesson), timeout=TIMEOUT) as ours:
        with bad_client(ours.port, act) as start:
            report, elapsed = report_after(ours, start)
    assert isinstance(report.error, TransportError)
    assert str(report.error) == f"timed out after 1 s waiting for the client's {waiting_for}"
    assert TIMEOUT - 0.1 <= elapsed < LONG      # the deadline ended it, not the client giving up


@pytest.mark.parametrize("name", ["header length 65535", "plaintext record of 2^14 + 1",
                                  "1.3 protected record of 2^14 + 257"])
def test_client_sends_oversized_record_to_serve(lesson, name):
    data, text = {
        "header length 65535": (b"\x16\x03\x01\xff\xff", "record length 65535 exceeds 2^14 + 2048"),
        "plaintext record of 2^14 + 1": (record(22, b"\x01\x00\x3f\xfd" + junk(2 ** 14 - 3), 0x0301),
                                         "record of 16385 bytes of plaintext exceeds 2^14"),
        "1.3 protected record of 2^14 + 257": (client_hello(lesson, versions=("1.3",))
                                               + record(23, junk(MAX_CIPHERTEXT_13 + 1)),
                                               "TLS 1.3 record too long"),
    }[name]
    report, _, got = send_to_serve(lesson, data)
    assert isinstance(report.error, AlertError) and not report.error.received   # not a timeout:
    assert str(report.error) == f"alert record_overflow (22): {text}"           # refused at once
    if name.startswith("1.3"):       # the server's flight, then its alert, encrypted
        assert got["reply"][:1] == b"\x16" and len(got["reply"]) > 1000
    else:
        assert got["reply"] == OVERFLOW_ALERT


@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_client_dribbling_one_byte_per_segment_is_served(lesson, version, monkeypatch):
    reads = count_reads(monkeypatch, "client")
    message = b"dribbled " * 20
    with OurServer(server(lesson), timeout=BOUND) as ours:
        with DribbleProxy(ours.port, dribble=("c2s",)) as proxy:
            result = net.connect("127.0.0.1", proxy.port, client(lesson, versions=(version,)),
                                 timeout=BOUND, send=message)
        report = ours.wait_for_reports(1)[0]
    assert result.version == version and result.data == message
    assert report.ok and report.version == version and report.echoed == len(message)
    assert proxy.segments["c2s"] == proxy.bytes["c2s"] > 300
    assert_dribbled(reads, proxy.segments["c2s"])


# ------------------------------------------------------------------------------------------------
# 4. serve under hostile load: 100 bad clients in a row, then a good one, nothing leaked; stalled
#    clients beside good ones; a bounded number of connections; stop() with clients connected
# ------------------------------------------------------------------------------------------------
def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def settle(condition, limit: float = 10.0) -> bool:
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def _send_close(data: bytes, read_reply: bool = False):
    def act(sock, hello):
        sock.sendall(data if data is not None else hello)
        if read_reply:
            read_until_eof(sock, 2.0)
        sock.close()
    return act


def _send_hold(data: bytes | None):
    def act(sock, hello):
        sock.sendall(data if data is not None else hello)
        return sock                      # held open: the server must time it out
    return act


def _send_reset(data: bytes | None):
    def act(sock, hello):
        sock.sendall(data if data is not None else hello)
        reset(sock)
    return act


def _half_hello(sock, hello):
    sock.sendall(hello[:len(hello) // 2])
    sock.close()


def _protected_oversized(sock, hello):
    sock.sendall(hello + record(23, junk(MAX_CIPHERTEXT_13 + 1)))
    read_until_eof(sock, 2.0)
    sock.close()


BAD_CLIENTS = {
    # name: (act(sock, hello) -> socket to hold or None, the category of the server's error)
    "http": (_send_close(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", read_reply=True), "decode_error"),
    "zeros": (_send_close(bytes(64)), "decode_error"),
    "ssh": (_send_close(b"SSH-2.0-OpenSSH_9.6\r\n", read_reply=True), "decode_error"),
    "header then close": (_send_close(b"\x16\x03\x01\x00\x10"), "closed"),
    "half hello then close": (_half_hello, "closed"),
    "hello then close": (_send_close(None), "closed"),
    "hello then reset": (_send_reset(None), "closed"),
    "reset at once": (_send_reset(b""), "closed"),
    "oversized header": (_send_close(b"\x16\x03\x01\xff\xff", read_reply=True), "record_overflow"),
    "oversized plaintext": (_send_close(record(22, bytes(2 ** 14 + 1), 0x0301)), "record_overflow"),
    "oversized protected": (_protected_oversized, "record_overflow"),
    "16 MiB message": (_send_close(record(22, b"\x01\xff\xff\xff", 0x0301)), "decode_error"),
    "stall silent": (_send_hold(b""), "timeout"),
    "stall half record": (_send_hold(b"\x16\x03\x01\x02\x00\x01"), "timeout"),
    "stall after hello": (_send_hold(None), "timeout"),
}


def category(error) -> str:
    if isinstance(error, TransportError):
        return "timeout" if "timed out" in str(error) else "closed"
    if isinstance(error, TLSError):
        return error.alert.name
    return repr(error)


def test_serve_survives_100_bad_clients_then_serves_a_good_one(lesson):
    hello = client_hello(lesson)
    threads_before = set(threading.enumerate())
    fds_before = open_fds()
    kinds = list(BAD_CLIENTS)
    plan = [kinds[i % len(kinds)] for i in range(100)]
    srv = net.serve_in_background(server(lesson), timeout=0.5)
    held = []
    try:
        for kind in plan:
            sock = socket.create_connection(("127.0.0.1", srv.port), timeout=BOUND)
            try:
                kept = BAD_CLIENTS[kind][0](sock, hello)
            except OSError:                     # the server was quicker to close: fine
                kept = None
            if kept is not None:
                held.append(kept)
            else:
                sock.close()
        assert settle(lambda: len(srv.reports) >= 100, 20.0), len(srv.reports)
        for sock in held:
            sock.close()
        held.clear()
        bad = list(srv.reports)
        result = net.connect("127.0.0.1", srv.port, client(lesson), send=b"still serving",
                             timeout=BOUND)
        assert settle(lambda: len(srv.reports) >= 101, BOUND)
        good = srv.reports[100]
        # while serving: the accept thread, the listening socket and the accept loop's wake-up
        # socket pair, nothing else
        assert settle(lambda: set(threading.enumerate()) - threads_before == {srv._thread}), \
            set(threading.enumerate()) - threads_before
        assert settle(lambda: open_fds() <= fds_before + 3), (open_fds(), fds_before)
    finally:
        for sock in held:
            sock.close()
        srv.stop()
    assert len(bad) == 100 and all(r.error is not None and not r.ok for r in bad)
    assert collections.Counter(category(r.error) for r in bad) == \
        collections.Counter(BAD_CLIENTS[kind][1] for kind in plan)
    assert result.data == b"still serving" and result.closed_by == "close_notify"
    assert good.ok and good.echoed == len(b"still serving")
    assert len(srv.reports) == 101
    # after stop(): back to the baseline
    assert settle(lambda: not (set(threading.enumerate()) - threads_before)), \
        set(threading.enumerate()) - threads_before
    assert settle(lambda: open_fds() <= fds_before), (open_fds(), fds_before)
    assert not srv._threads and not srv._sockets


def _voluntary_switches(thread: threading.Thread) -> int:
    path = Path(f"/proc/self/task/{thread.native_id}/status")
    for line in path.read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise AssertionError(f"no voluntary_ctxt_switches in {path}")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc/self/task")
def test_an_idle_server_sleeps_until_a_client_or_stop(lesson):
    """The accept loop waits in select() with no timeout (stop() wakes it through a socket
    pair): a server serving nobody does not wake up at all — it used to poll five times a
    second, and each wake-up of a cold process cost ~1 ms of CPU on the benchmark machine."""
    srv = net.serve_in_background(server(lesson), timeout=1.0)
    try:
        assert settle(lambda: srv._thread.native_id is not None, BOUND)
        time.sleep(0.1)                                   # into select()
        before = _voluntary_switches(srv._thread)
        time.sleep(1.0)                                   # five polls, with the old loop
        assert _voluntary_switches(srv._thread) - before == 0
        result = net.connect("127.0.0.1", srv.port, client(lesson), send=b"awake", timeout=BOUND)
        assert result.data == b"awake"
    finally:
        srv.stop()
    assert not srv._thread.is_alive()


def test_stalled_clients_do_not_block_others(lesson):
    """Two clients stall (one silent, one in the middle of its ClientHello) while four others
    connect: the four are served while the two still hold their connections, and the two end at
    the server's deadline."""
    with OurServer(server(lesson), timeout=3.0) as ours:
        stalled = socket.create_connection(("127.0.0.1", ours.port), timeout=BOUND)
        half = socket.create_connection(("127.0.0.1", ours.port), timeout=BOUND)
        half.sendall(b"\x16\x03\x01\x02\x00\x01")            # a ClientHello that never ends
        try:
            results = []
            threads = [threading.Thread(target=lambda i=i: results.append(
                net.connect("127.0.0.1", ours.port, client(lesson), send=b"%d" % i, timeout=BOUND)))
                for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(2 * BOUND)
            reports = ours.wait_for_reports(6, timeout=2 * BOUND)   # in the order they ended
        finally:
            stalled.close()
            half.close()
    assert sorted(r.data for r in results) == [b"0", b"1", b"2", b"3"]
    # not waiting for the stalled ones: the four ended before those two reached their deadline
    assert [r.ok for r in reports] == [True] * 4 + [False] * 2, reports
    errors = [r.error for r in reports[4:]]
    assert all(isinstance(e, TransportError) for e in errors)
    assert all("timed out after 3 s waiting for the client's ClientHello" == str(e) for e in errors)


def test_connections_are_bounded(lesson):
    """With one slot, a stalled client holds it until its timeout; the next client then gets
    served (it waits in the listen backlog, it is not refused)."""
    with OurServer(server(lesson), timeout=TIMEOUT, max_connections=1) as ours:
        with socket.create_connection(("127.0.0.1", ours.port), timeout=BOUND):
            time.sleep(0.1)                                     # let the server take it
            start = time.monotonic()
            result = net.connect("127.0.0.1", ours.port, client(lesson), send=b"queued",
                                 timeout=BOUND)
            waited = time.monotonic() - start
        reports = ours.wait_for_reports(2)
    assert result.data == b"queued"
    assert waited > TIMEOUT - 0.3                               # it did wait for the slot
    assert isinstance(reports[0].error, TransportError) and reports[1].ok


def test_stop_ends_open_connections(lesson):
    """stop() wakes a connection that is waiting for its client (here for 30 s): its thread ends
    within stop()'s own join, and the client sees the connection end."""
    ours = OurServer(server(lesson), timeout=30.0)
    idle = socket.create_connection(("127.0.0.1", ours.port), timeout=BOUND)
    # this server's two threads, by name (a thread another test left ending must not count)
    names = {"tlslesson-server", f"tlslesson-client-{idle.getsockname()[1]}"}
    try:
        deadline = time.monotonic() + BOUND
        while (len({t.name for t in threading.enumerate()} & names) < 2
               and time.monotonic() < deadline):
            time.sleep(0.01)                                    # the accept thread + the client's
        started = [t for t in threading.enumerate() if t.name in names]
        assert len(started) == 2, started
        ours.server.stop()
        assert not [t for t in started if t.is_alive()]
        try:
            assert idle.recv(100) == b""                        # closed (or reset) by the server
        except ConnectionResetError:
            pass
    finally:
        idle.close()


# ------------------------------------------------------------------------------------------------
# 5. The command line against hostile peers: one error line, non-zero exit, no traceback
# ------------------------------------------------------------------------------------------------
def one_error_line(*texts: bytes) -> str:
    text = "\n".join(t.decode("utf-8", "replace") for t in texts)
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if "error:" in line]
    assert len(errors) == 1, text
    return errors[0]


@pytest.mark.parametrize("behaviour, expected", [
    (slowloris, "error: timed out after 1 s waiting for the server's ServerHello"),
    (oversized_header, "error: alert record_overflow (22): record length 65535 exceeds 2^14 + 2048"),
], ids=["slowloris", "oversized record"])
def test_cli_connect_to_hostile_server(lesson, behaviour, expected):
    with Fake(behaviour, lesson) as fake:
        start = time.monotonic()
        done = run_cli("connect", "localhost", str(fake.port), "--cafile", lesson["ca.crt"],
                       "--timeout", "1", "--send", "hi", timeout=15)
        elapsed = time.monotonic() - start
    assert done.returncode == 1
    assert one_error_line(done.stdout, done.stderr) == expected
    assert elapsed < LONG                     # the 1 s deadline (+ start-up), not the slowloris's end


@pytest.mark.parametrize("act, expected", [
    (client_slowloris, r"timed out after 1 s waiting for the client's ClientHello"),
    (lambda hello: client_sends(b"\x16\x03\x01\xff\xff"),
     r"alert record_overflow \(22\): record length 65535 exceeds 2\^14 \+ 2048"),
], ids=["slowloris", "oversized record"])
def test_cli_serve_once_against_hostile_client(lesson, act, expected):
    with CLIServer("--cert", lesson["server.crt"], "--key", lesson["server.key"],
                   "--once", "--timeout", "1") as cli:
        with bad_client(cli.port, act(client_hello(lesson))):
            code = cli.wait(10)
        out, err = cli.stdout.finish(), cli.stderr.finish()
    assert code == 1
    line = one_error_line(out, err)
    assert re.fullmatch(r"127\.0\.0\.1:\d+  error: " + expected, line), line


def test_cli_connect_through_dribbling_proxy_succeeds(lesson):
    with OurServer(server(lesson), timeout=BOUND) as ours:
        with DribbleProxy(ours.port) as proxy:
            done = run_cli("connect", "localhost", str(proxy.port), "--cafile", lesson["ca.crt"],
                           "--timeout", "10", "--send", "dribbled", timeout=20)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"dribbled"
    assert proxy.segments["s2c"] == proxy.bytes["s2c"] > 2000
    assert "error" not in done.stderr.decode()
