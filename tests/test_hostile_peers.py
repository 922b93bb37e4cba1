"""Hostile peers on loopback (issue 7): servers that misbehave against our client, clients that
misbehave against ``serve``, and ``serve`` taking 100 bad clients in a row.

The bad cases: garbage, a close (or a reset) in the middle of the handshake, a stall (silence, half
a record, a trickle too slow for the timeout, a flood of records that never moves the handshake
on), and oversized records. The client always ends in exactly one ``TLSError`` within its timeout
(plus a grace for a loaded 2-core machine); the server logs one error per client and keeps
serving. A handshake dribbled one byte per TCP segment is not a bad case: it must succeed.

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

import pytest

from peers import (CLIServer, DribbleProxy, FakeServer, OpenSSLServer, OurServer,  # noqa: F401
                   lesson, needs_openssl, read_some, run_cli)
from tlslesson import net
from tlslesson.client import ClientConnection
from tlslesson.connection import ClientConfig, ServerConfig
from tlslesson.server import ServerConnection
from tlslesson.constants import AlertDescription as AD
from tlslesson.errors import AlertError, DecodeError, TLSError, TransportError

TIMEOUT = 1.0
GRACE = 1.5                  # "within the timeout": this much more on a loaded 2-core machine
BOUND = 5.0                  # no helper thread or socket wait in this file lasts longer
OVERFLOW_ALERT = bytes.fromhex("15030300020216")       # fatal record_overflow, in the clear
MAX_CIPHERTEXT_12 = 2 ** 14 + 2048
MAX_CIPHERTEXT_13 = 2 ** 14 + 256


def client(lesson, **options) -> ClientConfig:
    return ClientConfig(trusted=lesson.trusted, **options)


def server(lesson, **options) -> ServerConfig:
    return ServerConfig(identities=(lesson.pki.rsa_server, lesson.pki.ecdsa_server), **options)


def connect_fails(port, config, timeout: float = TIMEOUT) -> tuple[TLSError, float]:
    """connect() must raise exactly one TLSError (no other exception) within timeout + GRACE."""
    start = time.monotonic()
    with pytest.raises(TLSError) as caught:
        net.connect("127.0.0.1", port, config, timeout=timeout, send=b"hi")
    elapsed = time.monotonic() - start
    assert elapsed < timeout + GRACE, (elapsed, caught.value)
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
        error, elapsed = connect_fails(fake.port, client(lesson, versions=(version,)))
    # the last message the client took in whole (a TLS 1.3 ChangeCipherSpec is not logged)
    names = [n for n in ["ClientHello"] + seen["names"][:index] if n != "ChangeCipherSpec"]
    assert isinstance(error, TransportError), repr(error)
    if how == "close":
        assert str(error) == f"server closed the connection during the handshake (after {names[-1]})"
    else:
        assert re.fullmatch(r"the server (reset|closed) the connection \(.+\) during the "
                            rf"handshake \(after {names[-1]}\)", str(error)), str(error)
    assert elapsed < 0.5 + GRACE                # no waiting for the timeout: the close is news


def silent_after(count: int):
    """Send the first ``count`` records of the real flight (and half of the next), then nothing."""
    def behaviour(fake, sock, stop, half=False):
        _, records = server_flight(sock, fake.lesson, versions=(fake.version,))
        sock.sendall(joined(records[:count]) + (records[count][1][:7] if half else b""))
        stop.wait(BOUND)
    return behaviour


def slowloris(fake, sock, stop):
    """The real flight, one byte every 30 ms: bytes keep coming, the handshake never ends in time."""
    _, records = server_flight(sock, fake.lesson, versions=(fake.version,))
    for byte in joined(records)[:int(BOUND / 0.03)]:
        sock.sendall(bytes([byte]))
        if stop.wait(0.03):
            return


def ccs_flood(fake, sock, stop):
    """TLS 1.3: the ServerHello, then middlebox ChangeCipherSpec records (which a 1.3 peer must
    ignore) as fast as the socket takes them: the handshake never moves, the client never idles."""
    _, records = server_flight(sock, fake.lesson, versions=("1.3",))
    sock.sendall(records[0][1])
    end = time.monotonic() + BOUND
    while not stop.is_set() and time.monotonic() < end:
        sock.sendall(CCS * 1000)


STALLS = {
    # name: (version, behaviour, what the client waits for)
    "silent after ClientHello": ("1.3", silent_after(0), "ServerHello"),
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
    assert elapsed >= TIMEOUT - 0.1


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
    "1.3 sealed plaintext of 2^14 + 1": ("1.3", sealed_oversized13,
                                         "record of 16385 bytes of plaintext exceeds 2^14", True),
    "1.2 sealed plaintext of 2^14 + 1": ("1.2", sealed_oversized12,
                                         "record of 16385 bytes of plaintext exceeds 2^14", False),
}


@pytest.mark.parametrize("name", OVERSIZED)
def test_server_sends_oversized_record(lesson, name):
    version, behaviour, text, clear = OVERSIZED[name]
    with Fake(behaviour, lesson) as fake:
        error, elapsed = connect_fails(fake.port, client(lesson, versions=(version,)))
    assert isinstance(error, AlertError) and not error.received
    assert error.alert == AD.record_overflow
    assert str(error) == f"alert record_overflow (22): {text}"
    assert elapsed < TIMEOUT                    # refused at once: no waiting for more bytes
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


# ------------------------------------------------------------------------------------------------
# 2. Clients that misbehave against serve
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
    report = ours.wait_for_reports(1, timeout=TIMEOUT + BOUND)[0]
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
                                    AD.illegal_parameter, "handshake message of 16777215 bytes"),
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
    report, elapsed, got = send_to_serve(lesson, data)
    assert isinstance(report.error, TLSError) and report.error.alert == alert
    assert text in str(report.error), str(report.error)
    assert got["reply"] == bytes([21, 3, 3, 0, 2, 2, alert])      # the alert, then the close
    assert elapsed < 0.5 + GRACE


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
        stop.wait(BOUND)
    with OurServer(server(lesson), timeout=BOUND) as ours:
        with bad_client(ours.port, act) as start:
            report, elapsed = report_after(ours, start)
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
    assert elapsed < 0.5 + GRACE                # the server did not wait for its timeout


def client_slowloris(hello: bytes):
    def act(sock, stop):
        for byte in hello[:int(BOUND / 0.03)]:
            sock.sendall(bytes([byte]))
            if stop.wait(0.03):
                return
    return act


def client_ccs_flood(hello: bytes):
    def act(sock, stop):
        sock.sendall(hello)
        end = time.monotonic() + BOUND
        while not stop.is_set() and time.monotonic() < end:
            sock.sendall(CCS * 1000)
    return act


def client_sends(data: bytes):
    def act(sock, stop):
        sock.sendall(data)
        stop.wait(BOUND)
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
    assert TIMEOUT - 0.1 <= elapsed < TIMEOUT + GRACE


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
    report, elapsed, got = send_to_serve(lesson, data)
    assert isinstance(report.error, AlertError) and not report.error.received
    assert str(report.error) == f"alert record_overflow (22): {text}"
    assert elapsed < TIMEOUT
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
# 3. 100 bad clients in a row, then a good one; nothing leaked
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
    "16 MiB message": (_send_close(record(22, b"\x01\xff\xff\xff", 0x0301)), "illegal_parameter"),
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
    start = time.monotonic()
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
        # while serving: the accept thread and the listening socket, nothing else
        assert settle(lambda: set(threading.enumerate()) - threads_before == {srv._thread}), \
            set(threading.enumerate()) - threads_before
        assert settle(lambda: open_fds() <= fds_before + 1), (open_fds(), fds_before)
    finally:
        for sock in held:
            sock.close()
        srv.stop()
    elapsed = time.monotonic() - start
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
    assert elapsed < 30


# ------------------------------------------------------------------------------------------------
# 4. The command line against hostile peers: one error line, non-zero exit, no traceback
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
    assert elapsed < 1 + 4.0                      # the timeout, plus interpreter start-up


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
