"""Recording loopback traffic for the capture tests: tcpdump (pcap) or dumpcap (pcapng), only the
ports a test chose (other tests use loopback at the same time), and tshark's own decryption of
the same file to compare with; and a copy of a capture with its TCP segments made awkward.
"""
from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

TCPDUMP, DUMPCAP, TSHARK = (shutil.which(n) for n in ("tcpdump", "dumpcap", "tshark"))
ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


def needs_recorder(tool: str = "tcpdump"):
    path = TCPDUMP if tool == "tcpdump" else DUMPCAP
    return pytest.mark.skipif(path is None or not ROOT_USER,
                              reason=f"{tool} is not installed (apt install {tool if tool == 'tcpdump' else 'tshark'}) "
                                     "or we are not root (capturing on lo needs it)")


needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (apt install "
                                                         "tshark): nothing to compare with")

# Wireshark's TCP reassembly puts out-of-order segments back in order only with this preference
# (off by default): without it a record whose first segment comes late is not decrypted at all
TSHARK_OUT_OF_ORDER = ("-o", "tcp.reassemble_out_of_order:TRUE")


class Recorder:
    """``with Recorder(path, ports):`` captures TCP on lo for those ports until the block ends."""

    def __init__(self, path, ports, tool: str = "tcpdump"):
        self.path, self.ports, self.tool = Path(path), list(ports), tool

    def __enter__(self) -> "Recorder":
        expression = "tcp and (" + " or ".join(f"port {p}" for p in self.ports) + ")"
        if self.tool == "tcpdump":
            # --immediate-mode: without it packets wait in the kernel's ring buffer in blocks,
            # and those still there at SIGINT never reach the file (seen here: half a capture)
            args = [TCPDUMP, "-i", "lo", "--immediate-mode", "-U", "-Z", "root", "-s", "0",
                    "-w", str(self.path), expression]
            ready = b"listening on"
        else:
            args = [DUMPCAP, "-i", "lo", "-f", expression, "-w", str(self.path)]
            ready = b"Capturing on"
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen = b""
        deadline = time.monotonic() + 15
        os.set_blocking(self.proc.stderr.fileno(), False)
        while ready not in seen and time.monotonic() < deadline and self.proc.poll() is None:
            chunk = self.proc.stderr.read() or b""
            seen += chunk
            time.sleep(0.02)
        if ready not in seen:
            self.proc.kill()
            raise RuntimeError(f"{self.tool} did not start: {seen.decode(errors='replace')}")
        time.sleep(0.2)           # the filter is attached once it says so; a margin all the same
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.3)           # the last packets through the kernel's buffer
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        os.set_blocking(self.proc.stderr.fileno(), True)
        self.messages = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()


_HEADER = re.compile(r"^(.+) \((\d+) bytes\):$")


def tshark_decrypted(capture, keylog, options=()) -> dict[int, list[bytes]]:
    """{tcp.stream: [plaintext of every decrypted record, in frame order]} as tshark decrypts
    ``capture`` with ``keylog``: its "Decrypted TLS" data sources (``-x``), each frame's summary
    line (``-P``) made of the frame number and tcp.stream. ``options``: more tshark arguments."""
    proc = subprocess.run([TSHARK, "-r", str(capture), "-o", f"tls.keylog_file:{keylog}", *options,
                           "-P", "-x", "-o",
                           'gui.column.format:"No.","%m","Stream","%Cus:tcp.stream:0:R"'],
                          capture_output=True, timeout=600)
    out: dict[int, list[bytes]] = {}
    stream, current, data = None, None, bytearray()

    def flush():
        if current == "Decrypted TLS" and stream is not None:
            out.setdefault(stream, []).append(bytes(data))

    for line in proc.stdout.decode("latin-1").splitlines():
        summary = re.fullmatch(r"\s*(\d+)\s+(\d+)\s*", line)
        if summary and current is None:
            stream = int(summary.group(2))
            continue
        header = _HEADER.match(line)
        if header:
            flush()
            current, data = header.group(1), bytearray()
        elif not line.strip():
            flush()
            current, data = None, bytearray()
        elif current is not None and re.match(r"^[0-9a-f]{4,}  ", line):
            data.extend(bytes.fromhex(line[6:6 + 16 * 3].replace(" ", "")))
    flush()
    return out


def _tcp(buf: bytes):
    """(Ethernet, IP, TCP) of a frame dumpcap or tcpdump wrote on lo (Ethernet, IPv4 or v6)."""
    import dpkt
    frame = dpkt.ethernet.Ethernet(buf)
    return frame, frame.data, frame.data.data


def _with_payload(buf: bytes, seq: int, payload: bytes) -> bytes:
    """The frame ``buf`` carrying ``payload`` at sequence number ``seq`` instead of its own data:
    the same headers, lengths and checksums made again."""
    import dpkt
    frame, ip, tcp = _tcp(buf)
    tcp.seq, tcp.data, tcp.sum = seq & 0xFFFFFFFF, payload, 0   # 0: dpkt computes it again
    if isinstance(ip, dpkt.ip.IP):
        ip.sum = 0                                    # (and ip.len with it)
    else:
        ip.plen = len(tcp)
    ip.data = tcp
    frame.data = ip
    return bytes(frame)


def _flights(frames) -> list:
    """The frames grouped: a list of one direction's data segments (a *flight*: up to the next
    segment of another direction, or a SYN, FIN or RST), or a (time, bytes) frame left alone."""
    import dpkt
    items, flight, direction = [], None, None
    for ts, buf in frames:
        _, ip, tcp = _tcp(buf)
        control = tcp.flags & (dpkt.tcp.TH_SYN | dpkt.tcp.TH_FIN | dpkt.tcp.TH_RST)
        if tcp.data and not control:
            if flight is None or direction != (ip.src, tcp.sport, ip.dst, tcp.dport):
                flight, direction = [], (ip.src, tcp.sport, ip.dst, tcp.dport)
                items.append(flight)
            flight.append((ts, buf))
            continue
        if control:
            flight = None
        items.append((ts, buf))           # a pure ACK does not end a flight, and stays after it
    return items


def _split(ts: float, buf: bytes, piece: int, overlap: int) -> list[tuple[float, bytes]]:
    """One data segment as pieces of ``piece`` new bytes, each after the first starting
    ``overlap`` bytes early."""
    _, _, tcp = _tcp(buf)
    data = bytes(tcp.data)
    return [(ts, _with_payload(buf, tcp.seq + max(0, at - overlap),
                               data[max(0, at - overlap):at + piece]))
            for at in range(0, len(data), piece)]


def mangle_capture(source, target, seed: int = 15, piece: int = 400, overlap: int = 60) -> dict:
    """Copy the capture ``source`` (pcap or pcapng, Ethernet as on Linux's lo) to ``target`` in
    the same format with its TCP data as a bad network delivers it, each stream's bytes unchanged:

    * **split and overlapping**: every data segment cut into pieces of at most ``piece`` new
      bytes, each piece after the first starting ``overlap`` bytes early (again the bytes the one
      before it ended with);
    * **out of order**: the pieces of each flight (a run of one direction's data segments, see
      ``_flights``) shuffled;
    * **duplicated**: every third piece of a flight sent again at its end, and the first piece of
      each flight sent again after the next flight of the same connection (a retransmission
      that comes once the other side has answered).

    SYNs, FINs, RSTs and pure ACKs keep their places; a flight is written where its first
    segment was, so nothing comes before what it answers. Frame times are kept increasing.
    Returns counts of what was done, for a test to check it did something."""
    import dpkt
    rng = random.Random(seed)
    with open(source, "rb") as f:
        pcapng = f.read(4) == b"\x0a\x0d\x0d\x0a"
        f.seek(0)
        reader = (dpkt.pcapng.Reader if pcapng else dpkt.pcap.Reader)(f)
        assert reader.datalink() == dpkt.pcap.DLT_EN10MB, reader.datalink()
        frames = list(reader)
    done = {"segments": 0, "pieces": 0, "duplicates": 0, "reordered_flights": 0}
    out: list[tuple[float, bytes]] = []
    late = {}                                          # connection -> a piece to send again
    for item in _flights(frames):
        if isinstance(item, tuple):
            out.append(item)
            continue
        _, ip, tcp = _tcp(item[0][1])
        connection = frozenset(((ip.src, tcp.sport), (ip.dst, tcp.dport)))
        pieces = [p for ts, buf in item for p in _split(ts, buf, piece, overlap)]
        shuffled = list(pieces)
        while len(pieces) > 1 and shuffled == pieces:
            rng.shuffle(shuffled)
        written = shuffled + pieces[::3]
        if connection in late:
            written.append(late.pop(connection))
        late[connection] = pieces[0]
        out += written
        done["segments"] += len(item)
        done["pieces"] += len(pieces)
        done["duplicates"] += len(written) - len(pieces)
        done["reordered_flights"] += len(pieces) > 1
    with open(target, "wb") as f:
        writer = (dpkt.pcapng.Writer if pcapng else dpkt.pcap.Writer)(f, snaplen=262144,
                                                                      linktype=dpkt.pcap.DLT_EN10MB)
        last = 0.0
        for ts, buf in out:
            last = max(float(ts), last + 1e-6)
            writer.writepkt(buf, ts=last)
    return done
