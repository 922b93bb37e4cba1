"""Reading captures: any pcap / pcapng of TLS traffic, explained with the lessons' own code.

A driver, like ``net.py``: packets come from a capture file instead of a socket, and go through
the same record layer (``record.RecordLayer``), the same message decoders (``messages``,
``extensions``) and the same key derivations (``tls12.key_block``, ``tls13.traffic_keys``) a live
connection uses. What comes out is the same ``connection.Step`` list a live handshake logs, so the
ladder, the hex views and the explorer show a capture unchanged.

    capture = open_capture("visit.pcapng", keylog="keys.txt")
    for conn in capture:                    # one CaptureConnection per TCP connection with TLS
        print(conn.summary())
        ladder(conn.steps)

Layers, bottom up:

* **packets** — the file is read by dpkt (pcap and pcapng; Ethernet, BSD null/loopback, Linux
  cooked (SLL, SLL2) and raw IP link types; IPv4 and IPv6), one packet at a time: a large capture
  is streamed, never loaded whole. The common frame — Ethernet, IPv4, TCP — has its three headers
  read with struct (``_ipv4_tcp``), where dpkt's objects cost a quarter of the whole reading.
* **TCP reassembly** (``TCPHalf``) — per direction, by sequence number: out-of-order segments wait
  for the ones before them, retransmitted and overlapping bytes are delivered once, and bytes the
  capture missed are a *gap*: the direction is explained up to it and the gap reported.
* **TLS** (``_Observer``) — a passive observer of both directions: records framed and opened by a
  ``RecordLayer`` per direction, handshake messages reassembled and decoded, keys switched where
  the RFCs switch them. With NSS key log lines (``CLIENT_RANDOM`` for TLS 1.2, the TLS 1.3 traffic
  secrets) it decrypts; without, it shows exactly what anyone on the path sees.

Bad input never raises: each problem is one line in ``Capture.problems`` (which connection, which
record or frame, why) and the rest is still explained.
"""
from __future__ import annotations

import collections
import functools
import re
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import extensions as ext
from . import keylog as keylog_module
from . import tls12, tls13
from .constants import (ContentType as CT, ExtensionType as ET, HandshakeType as HT, NamedGroup,
                        ProtocolVersion, name_of)
from .connection import Step
from .errors import AlertError, DecodeError, TLSError
from .messages import ChangeCipherSpec, Alert, Context, decode_handshake
from .record import AEAD12, AEAD13, CBC12, CBC12EtM, RecordLayer
from .suites import BY_CODE, CipherSuite, iana_name

MASK32 = 0xFFFFFFFF
MAX_OUT_OF_ORDER = 4 << 20          # bytes a direction may hold waiting for a missing segment
MAX_HANDSHAKE_BUFFER = 1 << 20      # a handshake message this long is not one (decode error)
TLS_VERSIONS = {0x0301: "1.0", 0x0302: "1.1", 0x0303: "1.2", 0x0304: "1.3"}


# =================================================================================================
# Packets: dpkt reads the file; we take TCP out of whatever link layer it has
# =================================================================================================
@dataclass
class Segment:
    frame: int                 # 1-based, as Wireshark numbers frames
    time: float                # seconds (the capture's clock)
    src: tuple[str, int]
    dst: tuple[str, int]
    seq: int
    flags: int
    payload: bytes
    missing: int = 0           # bytes of this segment the capture did not keep (snaplen)


FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


@functools.lru_cache(maxsize=4096)
def _address(raw: bytes) -> str:
    """"127.0.0.1" / "::1" (a capture has few addresses: each is formatted once)."""
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


ETHERTYPE_IP, ETHERTYPE_IP6 = b"\x08\x00", b"\x86\xdd"


def _network_layer(linktype: int, buf: bytes):
    """The IP / IPv6 packet inside one frame (None for anything else)."""
    import dpkt
    if linktype == dpkt.pcap.DLT_EN10MB:
        # the common case first: an untagged frame's type is at bytes 12-13, the packet right
        # after (dpkt's Ethernet class, which also knows VLAN tags and the rest, costs as much
        # as the IP and TCP headers together)
        ethertype = buf[12:14]
        if ethertype == ETHERTYPE_IP:
            return dpkt.ip.IP(buf[14:])
        if ethertype == ETHERTYPE_IP6:
            return dpkt.ip6.IP6(buf[14:])
        packet = dpkt.ethernet.Ethernet(buf).data
    elif linktype in (dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LOOP):
        packet = dpkt.loopback.Loopback(buf).data      # BSD null/loopback: the family, 4 bytes
    elif linktype == dpkt.pcap.DLT_LINUX_SLL:
        packet = dpkt.sll.SLL(buf).data
    elif linktype == 276:                              # LINKTYPE_LINUX_SLL2 (tcpdump -i any)
        packet = dpkt.sll2.SLL2(buf).data
    elif linktype in (dpkt.pcap.DLT_RAW, 12, 14, 228, 229):   # raw IP (v4 or v6 by its nibble)
        packet = (dpkt.ip6.IP6 if buf[:1] and buf[0] >> 4 == 6 else dpkt.ip.IP)(buf)
    else:
        raise ValueError(f"link type {linktype} is not one this reader knows (Ethernet, "
                         "loopback, Linux cooked or raw IP)")
    return packet if isinstance(packet, (dpkt.ip.IP, dpkt.ip6.IP6)) else None


def segments(path, problems: list[str]) -> Iterator[Segment]:
    """Every TCP segment of the capture at ``path``, in file order. A truncated or corrupt file
    ends the iteration with one line in ``problems``; an undecodable frame is skipped with one."""
    import dpkt
    try:
        f = open(path, "rb")
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        return
    with f:
        magic = f.read(4)
        f.seek(0)
        try:
            if magic == b"\x0a\x0d\x0d\x0a":
                reader = dpkt.pcapng.Reader(f)
            else:
                reader = dpkt.pcap.Reader(f)
            linktype = reader.datalink()
        except (ValueError, dpkt.Error, struct.error) as exc:
            problems.append(f"{path}: not a pcap or pcapng file ({exc or type(exc).__name__})")
            return
        frame = 0
        packets = iter(reader)
        while True:
            try:
                timestamp, buf = next(packets)
            except StopIteration:
                return
            except (ValueError, dpkt.Error, struct.error, OverflowError, MemoryError) as exc:
                problems.append(f"{path}: the file is truncated or corrupt after frame {frame} "
                                f"({type(exc).__name__}): the frames before it are explained")
                return
            frame += 1
            if linktype == dpkt.pcap.DLT_EN10MB and buf[12:14] == ETHERTYPE_IP:
                fields = _ipv4_tcp(buf, 14)             # the common case, without dpkt
                if fields is not None:
                    yield Segment(frame, float(timestamp), *fields)
                    continue
            try:
                packet = _network_layer(linktype, buf)
            except ValueError as exc:
                problems.append(f"{path}: {exc}")
                return
            except (dpkt.Error, struct.error, IndexError) as exc:
                problems.append(f"frame {frame}: undecodable ({type(exc).__name__}), skipped")
                continue
            segment = _tcp_segment(packet, frame, float(timestamp), problems)
            if segment is not None:
                yield segment


def _tcp_segment(packet, frame: int, timestamp: float, problems: list[str]) -> Segment | None:
    """The TCP segment in a packet dpkt decoded (None: not TCP, or an IP fragment)."""
    import dpkt
    if packet is None or not isinstance(packet.data, dpkt.tcp.TCP):
        return None
    tcp = packet.data
    tcp_header = (tcp._off_flags >> 12) * 4          # data offset, in 32-bit words
    if isinstance(packet, dpkt.ip.IP):
        if packet._flags_offset & 0x3FFF:                 # MF or a fragment offset
            problems.append(f"frame {frame}: an IP fragment (not reassembled), skipped")
            return None
        expected = packet.len - (packet._v_hl & 0xF) * 4 - tcp_header
    else:
        expected = packet.plen - (len(bytes(packet)) - len(packet.data) - 40) - tcp_header
    payload = bytes(tcp.data)
    return Segment(frame, timestamp, (_address(packet.src), tcp.sport),
                   (_address(packet.dst), tcp.dport), tcp.seq, tcp.flags, payload,
                   max(0, expected - len(payload)))


# RFC 791 §3.1: version+IHL, total length, flags+fragment offset, protocol, source, destination;
# RFC 9293 §3.1: source port, destination port, sequence number, data offset (+ the NS bit), flags
_IPV4 = struct.Struct(">B x H 2x H x B 2x 4s 4s")
_TCP = struct.Struct(">H H I 4x B B")


def _ipv4_tcp(buf: bytes, at: int):
    """``(src, dst, seq, flags, payload, missing)`` of an IPv4 packet at ``buf[at:]`` that is
    one whole-header TCP segment, read with struct: dpkt's IP and TCP objects cost a quarter of
    the time of reading a capture. None for anything else — another protocol, a fragment, a
    header that is short or odd, a zero total length (segmentation offload) — which dpkt reads,
    as before; tests/test_capture_input.py checks the two agree frame by frame."""
    if len(buf) < at + 40:
        return None
    v_ihl, total, fragment, protocol, src, dst = _IPV4.unpack_from(buf, at)
    ihl = (v_ihl & 0xF) * 4
    if v_ihl >> 4 != 4 or ihl < 20 or protocol != 6 or fragment & 0x3FFF or total < ihl + 20:
        return None
    tcp_at = at + ihl
    if len(buf) < tcp_at + 20:
        return None
    sport, dport, seq, offset, flags = _TCP.unpack_from(buf, tcp_at)
    tcp_header = (offset >> 4) * 4
    if tcp_header < 20 or len(buf) < tcp_at + tcp_header:
        return None
    payload = buf[tcp_at + tcp_header:min(at + total, len(buf))]   # no Ethernet padding
    return ((_address(src), sport), (_address(dst), dport), seq, (offset & 1) << 8 | flags,
            payload, max(0, total - ihl - tcp_header - len(payload)))


# =================================================================================================
# TCP reassembly, one direction at a time
# =================================================================================================
class TCPHalf:
    """One direction of a TCP connection put back in order (RFC 9293 §3.4: sequence numbers
    count bytes, modulo 2^32). ``add`` returns the (data, frame) pieces that have become
    contiguous: each byte once, in order, whatever order the segments came in."""

    def __init__(self):
        self.base: int | None = None      # sequence number of stream byte 0 (ISN + 1)
        self.next = 0                     # stream offset of the next byte to deliver
        self.pending: dict[int, tuple[bytes, int]] = {}   # offset -> (data, frame) ahead of next
        self.pending_bytes = 0
        self.retransmitted = 0            # segments whose bytes had all been delivered
        self.out_of_order = 0             # segments that came before the ones ahead of them
        self.gap: tuple[int, int] | None = None   # (offset, bytes) the capture does not have

    def syn(self, seq: int) -> None:
        self.base = (seq + 1) & MASK32

    def add(self, seq: int, payload: bytes, frame: int) -> list[tuple[bytes, int]]:
        if not payload or self.gap is not None:
            return []
        if self.base is None:             # no SYN in the capture: start where it started
            self.base = seq
        offset = (seq - self.base) & MASK32
        if offset >= 1 << 31:             # before the start: an old retransmission
            offset -= 1 << 32
        end = offset + len(payload)
        if end <= self.next:
            self.retransmitted += 1
            return []
        if offset < self.next:            # overlaps what was delivered: keep the new part only
            payload, offset = payload[self.next - offset:], self.next
        if offset > self.next:            # ahead of a missing segment: wait for it
            self.out_of_order += 1
            held = self.pending.get(offset)
            if held is None or len(held[0]) < len(payload):
                self.pending_bytes += len(payload) - (len(held[0]) if held else 0)
                self.pending[offset] = (payload, frame)
            if self.pending_bytes > MAX_OUT_OF_ORDER:
                self.close()              # waited long enough: that segment is not coming
            return []
        out = [(payload, frame)]
        self.next = end
        while self.pending:
            first = min(self.pending)
            if first > self.next:
                break
            data, at = self.pending.pop(first)
            self.pending_bytes -= len(data)
            if first + len(data) > self.next:
                out.append((data[self.next - first:], at))
                self.next = first + len(data)
        return out

    def close(self) -> None:
        """The stream is over: bytes still waiting mean some before them never came."""
        if self.pending and self.gap is None:
            first = min(self.pending)
            self.gap = (self.next, first - self.next)
        self.pending.clear()
        self.pending_bytes = 0


# =================================================================================================
# Keys from an NSS key log
# =================================================================================================
class KeyLog:
    """NSS key log lines by (label, client random). Bad lines are problems, not the end."""

    def __init__(self, entries=(), problems: list[str] | None = None):
        self.secrets: dict[tuple[str, bytes], bytes] = {}
        self.rsa: dict[bytes, bytes] = {}          # first 8 bytes of encrypted pre-master -> it
        for label, client_random, secret in entries:
            if label == "RSA":
                self.rsa[client_random[:8]] = secret
            else:
                self.secrets[(label, client_random)] = secret
        self.problems = problems or []

    @classmethod
    def read(cls, path) -> "KeyLog":
        problems, entries = [], []
        try:
            text = Path(path).read_text("ascii", errors="replace")
        except OSError as exc:
            return cls((), [f"key log {path}: cannot read: {exc.strerror or exc}"])
        for number, line in enumerate(text.splitlines(), 1):
            try:
                parsed = keylog_module.parse(line)
            except DecodeError as error:
                if error.reason.startswith("unknown label") and \
                        re.fullmatch(r"[A-Z][A-Z0-9_]* [0-9a-fA-F]+ [0-9a-fA-F]+", line.strip()):
                    continue     # another stack's label (OpenSSL: CLIENT_TRAFFIC_SECRET_N)
                problems.append(f"key log {Path(path).name} line {number}: "
                                f"{error.reason} (line skipped)")
                continue
            entries.extend(parsed)
        return cls(entries, problems)

    def get(self, label: str, client_random: bytes) -> bytes | None:
        return self.secrets.get((label, client_random))

    def __len__(self) -> int:
        return len(self.secrets) + len(self.rsa)


# =================================================================================================
# What one connection was
# =================================================================================================
@dataclass
class RecordInfo:
    """One TLS record as the capture carried it."""
    frame: int                  # the frame that completed it
    time: float                 # seconds since the capture's first frame
    sender: str
    outer_type: int             # the content type in the header (23 for every 1.3 record)
    length: int                 # fragment bytes on the wire
    content_type: int | None = None    # the real type, once decrypted (or for plaintext)
    plaintext: bytes | None = None     # None: not decrypted (no key, or it failed)
    protected: bool = False


@dataclass
class CaptureConnection:
    """One TCP connection of the capture, and the TLS in it."""
    number: int                 # 0-based, in order of first packet: Wireshark's tcp.stream
    client: tuple[str, int]
    server: tuple[str, int]
    first_frame: int
    start: float = 0.0
    end: float = 0.0
    tls: bool = False
    steps: list[Step] = field(default_factory=list)      # every message, as a live run logs them
    records: list[RecordInfo] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)     # the frame that completed each step
    times: list[float] = field(default_factory=list)    # and its time since the capture began
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)      # what was not decrypted, and why
    version: str | None = None
    suite: CipherSuite | None = None
    suite_code: int | None = None
    group: str | None = None
    sni: str | None = None
    alpn_offered: tuple[str, ...] = ()
    alpn: str | None = None
    resumed: bool = False
    hello_retry: bool = False
    early_data: str | None = None           # "offered", "accepted", "rejected"
    client_certificate: bool = False
    keys_found: bool = False                # the key log had this connection's secrets
    first_bytes: bytes = b""                # what a non-TLS connection started with
    stats: dict = field(default_factory=lambda: {"client": [0, 0], "server": [0, 0]})

    @property
    def decrypted(self) -> bool:
        return any(r.protected and r.plaintext is not None for r in self.records)

    @property
    def values(self) -> dict:
        """Every value shown at some step (randoms, secrets, keys)."""
        out: dict = {}
        for step in self.steps:
            out.update(step.values)
        return out

    def summary(self) -> str:
        """One line: who talked to whom, with what."""
        c, s = self.client, self.server
        head = f"connection {self.number}  {c[0]}:{c[1]} -> {s[0]}:{s[1]}"
        if not self.tls:
            shown = self.first_bytes[:16]
            text = shown.decode("ascii", "replace") if shown.isascii() else shown.hex()
            return head + (f"  not TLS (it starts {text!r})" if shown else "  no data")
        parts = []
        if self.version:
            parts.append(f"TLS {self.version}")
        if self.suite_code is not None:
            parts.append(iana_name(self.suite_code))
        if self.group:
            parts.append(self.group)
        if self.hello_retry:
            parts.append("after HelloRetryRequest")
        if self.resumed:
            parts.append("resumed")
        if self.early_data:
            parts.append(f"0-RTT {self.early_data}")
        if self.sni:
            parts.append(f"SNI {self.sni}")
        if self.alpn:
            parts.append(f"ALPN {self.alpn}")
        if self.client_certificate:
            parts.append("client certificate")
        parts.append("decrypted with the key log" if self.decrypted else
                     "not decrypted" if any(r.protected for r in self.records) else "in the clear")
        return head + "  " + ", ".join(parts)

    def observer_view(self) -> list[str]:
        """What anyone on the path learns without a key: the lesson's point about metadata."""
        lines = []
        if self.sni:
            lines.append(f"the server's name, in clear in the ClientHello (SNI): {self.sni}")
        if self.alpn_offered:
            lines.append(f"the protocols offered (ALPN): {', '.join(self.alpn_offered)}")
        if self.version:
            lines.append(f"the version and suite the server chose: TLS {self.version}, "
                         f"{iana_name(self.suite_code)}" if self.suite_code is not None else
                         f"the version: TLS {self.version}")
        certs = [s for s in self.steps if s.name == "Certificate" and not s.protected]
        if certs:
            from . import pki
            try:
                leaf = pki.load_der_certificate(certs[0].message.certificate_list[0])
                lines.append("the server's certificate, in clear (TLS 1.2): "
                             + leaf.subject.rfc4514_string())
            except Exception:         # a broken certificate is still a certificate sent
                lines.append("the server's certificate, in clear (TLS 1.2)")
        elif self.version == "1.3":
            lines.append("not the certificate: TLS 1.3 encrypts everything after ServerHello")
        for who in ("client", "server"):
            n, size = self.stats[who]
            lines.append(f"{who} sent {n} records, {size} bytes of TLS fragments")
        lines.append(f"timing: {1000 * (self.end - self.start):.1f} ms from first to last "
                     "packet, and when each record went (sizes and timing hint at what was "
                     "fetched)")
        return lines


# =================================================================================================
# The passive observer: both directions of one connection, through the package's record layer
# =================================================================================================
class _Opaque:
    """A direction whose keys we don't have: a record can't be opened (and says why)."""
    name = "opaque"

    def open(self, record, seq=None):
        raise AlertError(20, "no key for this record", check="no_key")


class _Early(AEAD13):
    """The client's early traffic key (0-RTT), told apart from the handshake key after it."""
    __slots__ = ()


class _Direction:
    def __init__(self, sender: str):
        self.sender = sender
        self.layer = RecordLayer()
        self.candidates: list = []          # protections to try if the current one fails
        self.handshake = b""                # a handshake message split over records
        self.broken = False                 # framing lost: nothing more is read
        self.records = 0


LABEL_VALUES = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET": "client_handshake_traffic_secret",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET": "server_handshake_traffic_secret",
                "CLIENT_TRAFFIC_SECRET_0": "client_application_traffic_secret_0",
                "SERVER_TRAFFIC_SECRET_0": "server_application_traffic_secret_0"}


class _Observer:
    """Reads both directions of one TLS connection as they come (capture order) and logs what a
    live connection would: every message a Step, every key switch where the RFCs put it."""

    def __init__(self, conn: CaptureConnection, keys: KeyLog | None, t0: float):
        self.conn, self.keys, self.t0 = conn, keys, t0
        self.dir = {"client": _Direction("client"), "server": _Direction("server")}
        self.client_random = b""
        self.server_random = b""
        self.client_hello = None
        self.kx: str | None = None
        self.etm = False
        self.pending12: dict = {}           # 1.2: protections waiting for each side's CCS
        self.app13: dict = {}               # 1.3: current application traffic secret per side

    def _secret(self, label: str) -> bytes | None:
        return self.keys.get(label, self.client_random) if self.keys is not None else None

    # -- what the reassembler hands us -----------------------------------------------------------
    def feed(self, sender: str, data: bytes, frame: int, time: float) -> None:
        d = self.dir[sender]
        if d.broken:
            return
        try:
            for record in d.layer.feed(data):
                self._record(d, record, frame, time)
                if d.broken:
                    return
        except TLSError as error:       # the framing itself: nothing after it can be read
            d.broken = True
            self._problem(f"{sender} stream, record {d.records + 1}, frame {frame}: {error}; "
                          f"the rest of this direction is not read")

    def _problem(self, text: str) -> None:
        self.conn.problems.append(f"connection {self.conn.number}: {text}")

    def _note(self, text: str) -> None:
        if text not in self.conn.notes:
            self.conn.notes.append(text)

    def _step(self, d: _Direction, name: str, message, wire: bytes, record: bytes,
              protected: bool, frame: int, time: float) -> Step:
        step = Step(d.sender, name, message, wire, record, self._context(), protected)
        self.conn.steps.append(step)
        self.conn.frames.append(frame)
        self.conn.times.append(time - self.t0)
        return step

    def _context(self) -> Context:
        return Context(self.conn.version or "1.2", self.kx, self.etm)

    # -- records ---------------------------------------------------------------------------------
    def _record(self, d: _Direction, record, frame: int, time: float) -> None:
        d.records += 1
        conn = self.conn
        raw = record.encode()
        stats = conn.stats[d.sender]
        stats[0] += 1
        stats[1] += len(record.fragment)
        info = RecordInfo(frame, time - self.t0, d.sender, record.content_type,
                          len(record.fragment))
        conn.records.append(info)
        try:
            content_type, plaintext = self._open(d, record)
        except AlertError as error:
            if error.check not in ("record_mac", "no_key"):
                raise
            info.protected = True
            if error.check == "record_mac":
                self._undecryptable(d, error, frame)
            elif d.sender == "client" and conn.early_data and conn.version is None:
                self._note("0-RTT data not decrypted: the key log has no "
                           "CLIENT_EARLY_TRAFFIC_SECRET that opens it")
            self._step(d, "EncryptedRecord", None, b"", raw, True, frame, time)
            return
        # a TLS 1.3 record is protected when its outer type says application_data; the CCS
        # dummy and an alert sent before keys were there come in the clear (RecordLayer.open)
        protected = d.layer.read_protected and not (
            d.layer.version == "1.3" and record.content_type != CT.application_data)
        info.content_type, info.plaintext, info.protected = content_type, plaintext, protected
        if d.handshake and content_type != CT.handshake:
            self._problem(f"{d.sender} record {d.records} (frame {frame}): "
                          f"{name_of(CT, content_type)} record inside a fragmented handshake "
                          "message")
            d.handshake = b""
        if content_type == CT.handshake:
            self._handshake_bytes(d, plaintext, raw, protected, frame, time)
        elif content_type == CT.change_cipher_spec:
            self._change_cipher_spec(d, plaintext, raw, frame, time)
        elif content_type == CT.alert:
            try:
                alert = Alert.decode(plaintext)
            except DecodeError as error:
                self._problem(f"{d.sender} record {d.records} (frame {frame}): {error}")
                return
            self._step(d, "Alert", alert, plaintext, raw, protected, frame, time)
        elif content_type == CT.application_data:
            name = "EarlyData" if isinstance(d.layer.read, _Early) else "ApplicationData"
            self._step(d, name, None, plaintext, raw, protected, frame, time)
        else:
            self._problem(f"{d.sender} record {d.records} (frame {frame}): unknown inner "
                          f"content type {content_type}")

    def _open(self, d: _Direction, record) -> tuple[int, bytes]:
        """``RecordLayer.open``; when the current protection can't open a record and another is
        in line (0-RTT: the early key of one of the offered suites, then the handshake key, once
        the server rejected early data), the first that opens it becomes current."""
        try:
            return d.layer.open(record)
        except AlertError as error:
            if error.check not in ("record_mac", "no_key") or \
                    record.content_type != CT.application_data:
                raise
            for i, candidate in enumerate(d.candidates):
                try:
                    opened = candidate.open(record, 0)
                except AlertError:
                    continue
                candidate.seq = 1
                d.layer.read, d.candidates = candidate, d.candidates[i + 1:]
                return opened
            raise

    def _undecryptable(self, d: _Direction, error: AlertError, frame: int) -> None:
        """A record the key in use does not open: the key log is another connection's, or the
        record was changed. Said once; the direction goes on as a passive observer sees it."""
        if d.sender == "client" and isinstance(d.layer.read, (_Early, _Opaque)):
            self._note("0-RTT data not decrypted: the key log has no CLIENT_EARLY_TRAFFIC_SECRET "
                       "that opens it")
            return
        self._problem(f"{d.sender} record {d.records} (frame {frame}): {error} — the key log's "
                      f"secret is not this connection's (or the record was changed); "
                      f"{d.sender} records from here on are not decrypted")
        d.layer.read, d.candidates = _Opaque(), []

    # -- handshake messages ----------------------------------------------------------------------
    def _handshake_bytes(self, d: _Direction, plaintext: bytes, raw: bytes, protected: bool,
                         frame: int, time: float) -> None:
        """Handshake messages can span records and records can hold several: reassemble."""
        d.handshake += plaintext
        while len(d.handshake) >= 4:
            length = int.from_bytes(d.handshake[1:4], "big")
            if length > MAX_HANDSHAKE_BUFFER:
                self._problem(f"{d.sender} record {d.records} (frame {frame}): a handshake "
                              f"message of {length} bytes announced (not TLS, or corrupt); "
                              "this direction is not read further")
                d.handshake = b""
                d.broken = True
                return
            if len(d.handshake) < 4 + length:
                return
            wire, d.handshake = d.handshake[:4 + length], d.handshake[4 + length:]
            try:
                message = decode_handshake(wire, self._context())
            except TLSError as error:
                self._problem(f"{d.sender} record {d.records} (frame {frame}): "
                              f"{name_of(HT, wire[0])}: {error}")
                self._step(d, f"undecodable {name_of(HT, wire[0])}", None, wire, raw, protected,
                           frame, time)
                continue
            step = self._step(d, type(message).__name__, message, wire, raw, protected, frame,
                              time)
            try:
                self._message(d, step, message)
            except TLSError as error:
                self._problem(f"{d.sender} {step.name} (frame {frame}): {error}")

    def _change_cipher_spec(self, d: _Direction, plaintext: bytes, raw: bytes, frame: int,
                            time: float) -> None:
        try:
            message = ChangeCipherSpec.decode(plaintext)
        except DecodeError as error:
            self._problem(f"{d.sender} record {d.records} (frame {frame}): {error}")
            return
        self._step(d, "ChangeCipherSpec", message, plaintext, raw, False, frame, time)
        if self.conn.version in ("1.3", None) or d.layer.version == "1.3":
            return                       # RFC 8446 App. D.4: a middlebox-compatibility dummy
        # RFC 5246 §7.1: this side's next records are under the new keys (if we have them)
        d.layer.read = self.pending12.get(d.sender) or _Opaque()
        if d.sender == "server" and not any(s.name == "ClientKeyExchange"
                                            for s in self.conn.steps):
            self.conn.resumed = True     # RFC 5246 Figure 2: the abbreviated handshake

    def _message(self, d: _Direction, step: Step, message) -> None:
        name, conn = step.name, self.conn
        if name == "ClientHello":
            self._client_hello(step, message)
        elif name == "ServerHello":
            self._server_hello(step, message)
        elif name == "EncryptedExtensions":
            alpn = ext.find(message.extensions, ET.application_layer_protocol_negotiation)
            if alpn:
                conn.alpn = b"".join(ext.value(alpn, "encrypted_extensions")).decode(
                    "ascii", "backslashreplace")
            if conn.early_data == "offered":
                accepted = ext.find(message.extensions, ET.early_data) is not None
                conn.early_data = "accepted" if accepted else "rejected"
        elif name == "Certificate" and d.sender == "client" and message.certificate_list:
            conn.client_certificate = True
        elif name == "Finished" and conn.version == "1.3":
            # RFC 8446 §7.1: after its Finished, each side writes with its application key
            if d.sender == "server":
                self._set_13(d, "SERVER_TRAFFIC_SECRET_0", step, "server_application")
            else:
                self._set_13(d, "CLIENT_TRAFFIC_SECRET_0", step, "client_application")
        elif name == "EndOfEarlyData":   # RFC 8446 §4.5: the client's handshake key from here
            self._set_13(d, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", step, "client_handshake")
        elif name == "KeyUpdate":
            self._key_update(d, step)

    def _client_hello(self, step: Step, hello) -> None:
        conn = self.conn
        self.client_hello = hello
        self.client_random = hello.random
        step.values["client_random"] = hello.random
        sni = hello.extension(ET.server_name)
        if sni is not None and sni.data:
            try:
                conn.sni = ",".join(ext.value(sni, "client_hello"))
            except TLSError:
                pass
        alpn = hello.extension(ET.application_layer_protocol_negotiation)
        if alpn is not None:
            try:
                conn.alpn_offered = tuple(p.decode("ascii", "backslashreplace")
                                          for p in ext.value(alpn, "client_hello"))
            except TLSError:
                pass
        if hello.extension(ET.early_data) is not None and conn.early_data is None:
            conn.early_data = "offered"
            self._early_keys(step, hello)

    def _early_keys(self, step: Step, hello) -> None:
        """0-RTT (RFC 8446 §2.3): the client's records after its hello are under the early
        traffic key — of the suite of the PSK, which the hello doesn't name: each offered
        1.3 suite of the secret's hash length is a candidate, and the first to open a record
        is the one."""
        d = self.dir["client"]
        d.layer.version = "1.3"          # early data is 1.3 only; its CCS is never protected
        d.layer.read = _Opaque()
        secret = self._secret("CLIENT_EARLY_TRAFFIC_SECRET")
        if secret is None:
            return
        step.values["client_early_traffic_secret"] = secret
        for code in hello.cipher_suites:
            suite = BY_CODE.get(code)
            if suite is not None and suite.version == "1.3" and \
                    len(secret) == {"SHA256": 32, "SHA384": 48}[suite.hash]:
                d.candidates.append(_Early(suite, *tls13.traffic_keys(suite, secret)))

    def _server_hello(self, step: Step, hello) -> None:
        conn = self.conn
        if hello.is_hello_retry_request:
            conn.hello_retry = True
            conn.version = "1.3"
            ks = hello.extension(ET.key_share)
            if ks is not None:
                step.values["group"] = name_of(NamedGroup, ext.value(ks, "hello_retry_request"))
            return
        self.server_random = hello.random
        step.values["server_random"] = hello.random
        sv = hello.extension(ET.supported_versions)
        code = ext.value(sv, "server_hello") if sv is not None else hello.legacy_version
        version = TLS_VERSIONS.get(code)
        conn.version, conn.suite_code = version, hello.cipher_suite
        conn.suite = suite = BY_CODE.get(hello.cipher_suite)
        name = iana_name(hello.cipher_suite)
        self.kx = suite.kx if suite is not None else next(   # named, so 1.2 messages decode
            (kx for kx in ("ECDHE", "DHE", "RSA") if name.startswith(f"TLS_{kx}_")), None)
        alpn = hello.extension(ET.application_layer_protocol_negotiation)
        if alpn is not None:
            conn.alpn = b"".join(ext.value(alpn, "server_hello")).decode("ascii",
                                                                         "backslashreplace")
        if version not in ("1.2", "1.3"):
            self._note(f"TLS {version or hex(code)}: this package decrypts TLS 1.2 and 1.3 only")
            return
        for d in self.dir.values():
            d.layer.version = version
        if suite is None or suite.version != version:
            self._note(f"{name} is not a suite this package implements: its records are not "
                       "decrypted")
            if version == "1.3":
                for d in self.dir.values():
                    d.layer.read, d.candidates = _Opaque(), []
            return
        if version == "1.3":
            self._server_hello13(step, hello, suite)
        else:
            self._server_hello12(step, hello, suite)

    def _missing(self, label: str) -> None:
        if self.keys is not None and len(self.keys):
            self._note(f"not decrypted: the key log has no {label} line for this connection "
                       f"(client random {self.client_random.hex()[:16]}…)")

    def _server_hello12(self, step: Step, hello, suite: CipherSuite) -> None:
        """RFC 5246 §6.3: the key block from the master secret the key log gives; each side
        switches to its half at its ChangeCipherSpec."""
        offered = self.client_hello
        self.etm = (not suite.aead and hello.extension(ET.encrypt_then_mac) is not None
                    and offered is not None and offered.extension(ET.encrypt_then_mac) is not None)
        step.values["extended_master_secret"] = \
            hello.extension(ET.extended_master_secret) is not None
        master = self._secret("CLIENT_RANDOM")
        if master is None:
            self._missing("CLIENT_RANDOM")
            return
        self.conn.keys_found = True
        kb = tls12.key_block(master, self.client_random, self.server_random, suite)
        step.values.update({"master_secret": master, "key_block": kb})

        def protection(mac_key, key, iv):
            if suite.aead:
                return AEAD12(suite, key, iv)
            return (CBC12EtM if self.etm else CBC12)(suite, key, mac_key)
        self.pending12 = {
            "client": protection(kb.client_write_mac_key, kb.client_write_key, kb.client_write_iv),
            "server": protection(kb.server_write_mac_key, kb.server_write_key, kb.server_write_iv)}

    def _server_hello13(self, step: Step, hello, suite: CipherSuite) -> None:
        """RFC 8446 §7.1: right after ServerHello both sides write under their handshake
        traffic keys — the client after any 0-RTT data it still sends."""
        conn = self.conn
        ks = hello.extension(ET.key_share)
        if ks is not None:
            conn.group = step.values["group"] = name_of(NamedGroup,
                                                        ext.value(ks, "server_hello").group)
        if hello.extension(ET.pre_shared_key) is not None:
            conn.resumed = True
        self._set_13(self.dir["server"], "SERVER_HANDSHAKE_TRAFFIC_SECRET", step,
                     "server_handshake")
        client = self.dir["client"]
        early = client.layer.read if isinstance(client.layer.read, _Early) else None
        candidates = [c for c in client.candidates if c.name == suite.cipher]
        if not self._set_13(client, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", step, "client_handshake"):
            return
        if conn.early_data:              # 0-RTT records may still come first (accepted or not)
            handshake, client.layer.read = client.layer.read, early or _Opaque()
            client.candidates = ([] if early else candidates) + [handshake]

    def _set_13(self, d: _Direction, label: str, step: Step, which: str) -> bool:
        """Switch ``d`` to the keys of a TLS 1.3 secret from the key log (True if there)."""
        suite, secret = self.conn.suite, self._secret(label)
        if secret is None or suite is None:
            d.layer.read, d.candidates = _Opaque(), []
            self._missing(label)
            return False
        self.conn.keys_found = True
        key, iv = tls13.traffic_keys(suite, secret)
        step.values.update({LABEL_VALUES[label]: secret, f"{which}_key": key,
                            f"{which}_iv": iv})
        d.layer.read, d.candidates = AEAD13(suite, key, iv), []
        if label.endswith("_0"):
            self.app13[d.sender] = secret
        return True

    def _key_update(self, d: _Direction, step: Step) -> None:
        """RFC 8446 §4.6.3: the sender's next records use the next generation of its secret."""
        secret = self.app13.get(d.sender)
        if secret is None:
            return
        suite = self.conn.suite
        secret = self.app13[d.sender] = tls13.next_traffic_secret(suite, secret)
        d.layer.read = AEAD13(suite, *tls13.traffic_keys(suite, secret))
        step.values[f"{d.sender}_application_traffic_secret_next"] = secret


# =================================================================================================
# The capture: connections from segments
# =================================================================================================
def _looks_like_tls(data: bytes) -> bool:
    """A TLS record header: a content type, major version 3, a plausible length (RFC 5246
    §6.2.1); found by its bytes, whatever the port."""
    return (len(data) >= 5 and data[0] in (20, 21, 22, 23) and data[1] == 3 and data[2] <= 4
            and int.from_bytes(data[3:5], "big") <= 2 ** 14 + 2048)


class _Tracked:
    """A TCP connection being read: its two halves, roles and TLS observer."""

    def __init__(self, conn: CaptureConnection, a: tuple, b: tuple):
        self.conn = conn
        self.halves = {a: TCPHalf(), b: TCPHalf()}
        self.roles: dict = {}             # endpoint -> "client" / "server"
        self.observer: _Observer | None = None
        self.decided = False              # TLS or not, known
        self.fins: set = set()
        self.reset = False
        self.syn_from = None


class Capture:
    """``open_capture``'s answer: every connection (``connections``), the problems met, and, for
    one chosen connection, ``steps`` — the same Step list a live handshake gives."""

    def __init__(self, path, connections, problems, keys):
        self.path, self.connections, self.problems, self.keylog = path, connections, problems, keys

    @property
    def tls_connections(self) -> list[CaptureConnection]:
        return [c for c in self.connections if c.tls]

    @property
    def steps(self) -> list[Step]:
        """The steps of the first TLS connection (``connection(n).steps`` for another)."""
        tls = self.tls_connections
        return tls[0].steps if tls else []

    def connection(self, number: int) -> CaptureConnection:
        for conn in self.connections:
            if conn.number == number:
                return conn
        raise KeyError(f"no connection {number} in {self.path} (there are "
                       f"{', '.join(str(c.number) for c in self.connections) or 'none'})")

    def __iter__(self):
        return iter(self.tls_connections)

    def __len__(self) -> int:
        return len(self.tls_connections)

    def __getitem__(self, index: int) -> CaptureConnection:
        return self.tls_connections[index]


def read_connections(path, keylog=None, problems: list[str] | None = None,
                     only: int | None = None) -> Iterator[CaptureConnection]:
    """Every TCP connection of the capture, each yielded once it ends (FIN both ways, RST, or
    the end of the file): a large capture is explained as it is read, never held whole.
    ``keylog``: a path, a ``KeyLog``, or None. ``only``: read just this connection number."""
    problems = [] if problems is None else problems
    keys = keylog if isinstance(keylog, KeyLog) or keylog is None else KeyLog.read(keylog)
    if keys is not None:
        problems.extend(keys.problems)
        keys.problems = []
    tracked: dict[frozenset, _Tracked] = {}
    closed: collections.OrderedDict = collections.OrderedDict()   # recently ended 4-tuples
    count = 0
    t0 = None
    for seg in segments(path, problems):
        if t0 is None:
            t0 = seg.time
        key = frozenset((seg.src, seg.dst))
        t = tracked.get(key)
        if t is None and key in closed:
            if not (seg.flags & SYN and not seg.flags & ACK):
                continue                 # the last ACKs (or an RST) after both FINs
            del closed[key]
        if t is not None and seg.flags & SYN and not seg.flags & ACK and \
                (t.reset or len(t.fins) == 2):
            yield from _finish(tracked.pop(key), problems, only)    # the 4-tuple reused
            t = None
        if t is None:
            conn = CaptureConnection(count, seg.src, seg.dst, seg.frame, seg.time - t0)
            count += 1
            t = tracked[key] = _Tracked(conn, seg.src, seg.dst)
            if seg.flags & SYN and not seg.flags & ACK:
                t.syn_from = seg.src
        t.conn.end = seg.time - t0
        if only is not None and t.conn.number != only:
            if seg.flags & (FIN | RST):
                _closed(t, seg)
                if t.reset or len(t.fins) == 2:
                    tracked.pop(key)
                    closed[key] = True
            continue
        half = t.halves[seg.src]
        if seg.flags & SYN:
            half.syn(seg.seq)
        if seg.payload:
            pieces = half.add(seg.seq, seg.payload, seg.frame)
            if seg.missing:
                problems.append(f"connection {t.conn.number}: frame {seg.frame} holds only "
                                f"{len(seg.payload)} of its {len(seg.payload) + seg.missing} TCP "
                                "bytes (a short snap length, or the file is cut there)")
            for data, frame in pieces:
                _deliver(t, seg.src, data, frame, seg.time, keys, t0)
            if half.gap is not None and not getattr(half, "reported", False):
                half.reported = True
                _gap(t, seg.src, half, problems)
        if seg.flags & (FIN | RST):
            _closed(t, seg)
            if t.reset or len(t.fins) == 2:
                closed[key] = True
                if len(closed) > 65536:
                    closed.popitem(last=False)
                yield from _finish(tracked.pop(key), problems, only)
    for t in list(tracked.values()):
        yield from _finish(t, problems, only)


def _closed(t: _Tracked, seg: Segment) -> None:
    if seg.flags & RST:
        t.reset = True
    if seg.flags & FIN:
        t.fins.add(seg.src)


def _deliver(t: _Tracked, endpoint, data: bytes, frame: int, time: float, keys, t0) -> None:
    conn = t.conn
    if not t.decided:
        t.decided = True
        other = next(e for e in t.halves if e != endpoint) if len(t.halves) == 2 else endpoint
        if _looks_like_tls(data):
            conn.tls = True
            hello = data[0] == 22 and len(data) > 5 and data[5] == HT.client_hello
            client = endpoint if hello or t.syn_from is None else t.syn_from
            if not hello and t.syn_from is None:       # joined mid-connection: the higher port
                client = max(t.halves, key=lambda e: e[1])     # is most likely the client
            server = other if client == endpoint else endpoint
            t.roles = {client: "client", server: "server"}
            conn.client, conn.server = client, server
            t.observer = _Observer(conn, keys, t0)
            if not hello:
                conn.notes.append("the capture begins after this connection's handshake: "
                                  "records only")
        else:
            conn.first_bytes = data[:32]
            if t.syn_from is not None:
                conn.client = t.syn_from
                conn.server = other if t.syn_from == endpoint else endpoint
    if t.observer is not None:
        t.observer.feed(t.roles[endpoint], data, frame, time)


def _gap(t: _Tracked, endpoint, half: TCPHalf, problems: list[str]) -> None:
    who = t.roles.get(endpoint, f"{endpoint[0]}:{endpoint[1]}")
    offset, missing = half.gap
    if t.observer is not None and t.conn.tls:
        t.observer.dir[who].broken = True
    problems.append(f"connection {t.conn.number}: {who} stream: {missing} bytes missing at "
                    f"stream offset {offset} (not in the capture): explained up to there")


def _finish(t: _Tracked, problems: list[str], only) -> Iterator[CaptureConnection]:
    for endpoint, half in t.halves.items():
        half.close()
        if half.gap is not None and not getattr(half, "reported", False):
            half.reported = True
            _gap(t, endpoint, half, problems)
    conn = t.conn
    if t.observer is not None:
        for d in t.observer.dir.values():
            if d.handshake and not d.broken:
                conn.problems.append(f"connection {conn.number}: {d.sender} stream ends inside "
                                     f"a handshake message ({len(d.handshake)} bytes of it)")
            left = len(d.layer.buffer.buffer)
            if left and not d.broken:
                conn.problems.append(f"connection {conn.number}: {d.sender} stream ends inside "
                                     f"a record ({left} bytes of it)")
    problems.extend(conn.problems)
    if only is None or conn.number == only:
        yield conn


def open_capture(path, keylog=None, connection: int | None = None) -> Capture:
    """Read a pcap / pcapng file (and an NSS key log, a path or a ``KeyLog``): every TCP
    connection, its TLS decoded and — where the key log has the secrets — decrypted, through
    the package's own record layer and decoders. ``capture.steps`` is the first TLS
    connection's Step list (what ``connection.handshake(...).steps`` is for a live run);
    ``capture.connection(n)`` another one. Never raises on bad input: see ``capture.problems``."""
    problems: list[str] = []
    keys = keylog if isinstance(keylog, KeyLog) or keylog is None else KeyLog.read(keylog)
    connections = sorted(read_connections(path, keys, problems, only=connection),
                         key=lambda c: c.number)
    return Capture(path, connections, problems, keys)


SAMPLE = "openssl-loopback"


def sample_capture(name: str = SAMPLE) -> tuple[Path, Path]:
    """A small capture shipped with the package (``tlslesson/data/captures/NAME.pcapng``) and
    its NSS key log (``NAME.keys``): recorded on loopback by dumpcap while the package's client
    talked to ``openssl s_server`` (tests/test_capture_sample.py; the date is in NAME.json).

    >>> pcap, keys = sample_capture()
    >>> len(open_capture(pcap, keylog=keys))
    2
    """
    from importlib import resources
    folder = resources.files("tlslesson").joinpath("data", "captures")
    return Path(str(folder.joinpath(f"{name}.pcapng"))), Path(str(folder.joinpath(f"{name}.keys")))


# =================================================================================================
# Text and JSON
# =================================================================================================
class _Role:
    """What ``__main__.describe_step`` reads of a connection: the capture is told from the
    client's side (-> sent by the client, <- by the server)."""
    role = "client"
    values: dict = {}

    class config:
        verify = True


def describe(conn: CaptureConnection, limit: int = 60) -> Iterator[str]:
    """The connection, one line per message, as ``connect`` prints a live handshake."""
    from .__main__ import describe_step
    yield conn.summary()
    if not conn.tls:
        return
    yield "   frame   time ms  message"
    for step, frame, time in zip(conn.steps, conn.frames, conn.times):
        if step.name == "EncryptedRecord":
            arrow = "->" if step.sender == "client" else "<-"
            text = f"{arrow} encrypted record, {len(step.record) - 5} bytes"
        elif step.name.startswith("undecodable"):
            text = f"{'->' if step.sender == 'client' else '<-'} {step.name}"
        else:
            try:
                text = describe_step(step, _Role)
            except Exception as error:       # a field we can't summarise: still the message
                text = f"{'->' if step.sender == 'client' else '<-'} {step.name} ({error})"
            if step.name in ("ApplicationData", "EarlyData") and step.wire:
                text += "  " + _preview(step.wire, limit)
        yield f"  {frame:6d} {1000 * (time - conn.start):9.3f}  {text}"
    for note in conn.notes:
        yield f"  note: {note}"
    if not conn.decrypted and any(r.protected for r in conn.records):
        yield "  what a passive observer learns:"
        for line in conn.observer_view():
            yield f"    {line}"


def _preview(data: bytes, limit: int) -> str:
    text = data[:limit].decode("latin-1")
    shown = "".join(c if 32 <= ord(c) < 127 else "." for c in text)
    return repr(shown) + ("…" if len(data) > limit else "")


def to_json(conn: CaptureConnection) -> dict:
    """One connection as plain JSON types (``explain --json`` prints one per line)."""
    from .__main__ import describe_step
    steps = []
    for step, frame, time in zip(conn.steps, conn.frames, conn.times):
        item = {"frame": frame, "time": round(time, 6), "sender": step.sender,
                "name": step.name, "protected": step.protected,
                "record_length": len(step.record), "length": len(step.wire)}
        if step.name in ("ApplicationData", "EarlyData"):
            item["data"] = step.wire.hex()
        elif step.name not in ("EncryptedRecord",) and not step.name.startswith("undecodable"):
            try:
                item["summary"] = describe_step(step, _Role)[3:]
            except Exception:
                pass
        steps.append(item)
    return {"connection": conn.number, "client": f"{conn.client[0]}:{conn.client[1]}",
            "server": f"{conn.server[0]}:{conn.server[1]}", "tls": conn.tls,
            "version": conn.version,
            "cipher_suite": iana_name(conn.suite_code) if conn.suite_code is not None else None,
            "group": conn.group, "sni": conn.sni, "alpn_offered": list(conn.alpn_offered),
            "alpn": conn.alpn, "resumed": conn.resumed, "hello_retry_request": conn.hello_retry,
            "early_data": conn.early_data, "decrypted": conn.decrypted,
            "records": {who: {"count": n, "bytes": size} for who, (n, size) in conn.stats.items()},
            "steps": steps, "notes": conn.notes, "problems": conn.problems}
