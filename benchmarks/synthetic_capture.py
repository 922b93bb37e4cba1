"""Capture files made from the package's own in-memory handshakes (no root, no tcpdump): for the
capture benchmark and the reassembly tests, where a real capture could not be bent into the
out-of-order, duplicated, overlapping or missing segments those need. The tests that compare
with tshark record real traffic with tcpdump instead (tests/test_capture.py).

    flows = [Flow(("127.0.0.1", 40000), ("127.0.0.1", 4433), [("client", b"..."), ...])]
    write_pcap(path, flows)                # Ethernet, pcap; linktype=0 for BSD loopback
"""
from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from typing import Callable

MSS = 1448


@dataclass
class Flow:
    client: tuple[str, int]
    server: tuple[str, int]
    chunks: list[tuple[str, bytes]]            # ("client" / "server", bytes), in send order
    segments: list = field(default_factory=list)


def flow_from_handshake(result, client, server, extra=()) -> Flow:
    """One TCP flow carrying a ``connection.handshake`` result's records (and ``extra``:
    (sender, record bytes) pairs after it)."""
    chunks = [(step.sender, step.record) for step in result.steps] + list(extra)
    return Flow(client, server, chunks)


def _segments(flow: Flow, mss: int) -> list[tuple[str, int, int, bytes]]:
    """(sender, seq, flags, payload): handshake, data cut at ``mss``, FIN both ways."""
    seq = {"client": 1000, "server": 500000}
    out = [("client", seq["client"] - 1, 0x02, b""), ("server", seq["server"] - 1, 0x12, b""),
           ("client", seq["client"], 0x10, b"")]
    for sender, data in flow.chunks:
        for i in range(0, len(data), mss):
            piece = data[i:i + mss]
            out.append((sender, seq[sender], 0x18, piece))
            seq[sender] += len(piece)
    out.append(("client", seq["client"], 0x11, b""))
    out.append(("server", seq["server"], 0x11, b""))
    return out


def _packet(flow: Flow, sender: str, seq: int, flags: int, payload: bytes, linktype: int) -> bytes:
    import dpkt
    src, dst = (flow.client, flow.server) if sender == "client" else (flow.server, flow.client)
    tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seq & 0xFFFFFFFF, ack=0, flags=flags,
                       win=65535, data=payload)
    v6 = ":" in src[0]
    if v6:
        ip = dpkt.ip6.IP6(src=socket.inet_pton(socket.AF_INET6, src[0]),
                          dst=socket.inet_pton(socket.AF_INET6, dst[0]), nxt=6, hlim=64,
                          data=tcp, plen=len(tcp))
        tcp.sum = 0
    else:
        ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]), p=6, ttl=64,
                        data=tcp)
        ip.len = 20 + len(bytes(tcp))
    if linktype == 0:                  # BSD null/loopback: the address family, host order
        family = 30 if v6 else 2
        return struct.pack("<I", family) + bytes(ip)
    eth = dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x02" * 6,
                                 type=dpkt.ethernet.ETH_TYPE_IP6 if v6 else dpkt.ethernet.ETH_TYPE_IP,
                                 data=ip)
    return bytes(eth)


def write_pcap(path, flows, *, linktype: int = 1, mss: int = MSS, interleave: bool = False,
               mutate: Callable[[Flow, list], list] | None = None, start: float = 1_700_000_000.0):
    """Write ``flows`` as a pcap file. ``interleave`` mixes the flows' segments round-robin (as
    concurrent connections look); ``mutate(flow, segments)`` may reorder, duplicate, cut or drop
    that flow's segments first (the reassembly tests)."""
    import dpkt
    per_flow = []
    for flow in flows:
        segs = _segments(flow, mss)
        if mutate is not None:
            segs = mutate(flow, segs)
        per_flow.append([(flow, *s) for s in segs])
    if interleave:
        order = []
        while any(per_flow):
            for segs in per_flow:
                if segs:
                    order.append(segs.pop(0))
    else:
        order = [s for segs in per_flow for s in segs]
    with open(path, "wb") as f:
        writer = dpkt.pcap.Writer(f, snaplen=262144, linktype=linktype)
        for i, (flow, sender, seq, flags, payload) in enumerate(order):
            writer.writepkt(_packet(flow, sender, seq, flags, payload, linktype),
                            ts=start + i * 0.0001)
