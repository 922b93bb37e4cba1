"""The capture benchmark (``bench.py`` runs it): ``explain`` — reading, reassembling, decoding and
decrypting every record of a capture of many connections, and writing the explanation — against
``tshark`` decrypting the same file with the same key log, as a ratio (target: no slower).

The capture is made from the package's own in-memory handshakes (``synthetic_capture.py``: real
handshakes and records, TCP framing written around them), half TLS 1.2
ECDHE-RSA-AES128-GCM-SHA256 and half TLS 1.3 TLS_AES_128_GCM_SHA256, each with a request and
``body_kib`` KiB of response in 16 KiB records. tshark prints one line per frame with a field only
a decrypted record has (the handshake type of the encrypted Finished), so it decrypts everything;
ours runs ``read_connections`` + ``describe`` on every connection, output thrown away.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def make_capture(directory: Path, connections: int, body_kib: int) -> tuple[Path, Path]:
    from benchmarks.synthetic_capture import flow_from_handshake, write_pcap
    from tlslesson import connection
    from tlslesson.lesson.configs import lesson_client, lesson_server
    from tlslesson.suites import get
    body = bytes(range(256)) * (body_kib * 4)
    flows, keys = [], []
    for i in range(connections):
        version, suite = (("1.2", "ECDHE-RSA-AES128-GCM-SHA256"), ("1.3", "TLS_AES_128_GCM_SHA256"))[i % 2]
        result = connection.handshake(lesson_client(versions=(version,), suites=(get(suite),)),
                                      lesson_server(versions=(version,), suites=(get(suite),)))
        result.client.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        request = result.client.data_to_send()
        result.server.receive(request)
        result.server.send(body)
        keys += result.client.keylog
        flows.append(flow_from_handshake(result, ("127.0.0.1", 10000 + i % 50000), ("127.0.0.1", 443),
                                         [("client", request), ("server", result.server.data_to_send())]))
    pcap, keylog = directory / "many.pcap", directory / "many.keys"
    write_pcap(pcap, flows, mss=16384 + 100)
    keylog.write_text("\n".join(keys) + "\n")
    return pcap, keylog


def _ours(pcap: Path, keylog: Path) -> tuple[float, int, int]:
    from tlslesson.capture import describe, read_connections
    problems: list[str] = []
    started = time.perf_counter()
    connections = records = 0
    for conn in read_connections(pcap, keylog, problems):
        connections += 1
        records += sum(1 for r in conn.records if r.plaintext is not None and r.protected)
        for _line in describe(conn):
            pass
    return time.perf_counter() - started, connections, records


def _tshark(tshark: str, pcap: Path, keylog: Path) -> tuple[float, int]:
    started = time.perf_counter()
    proc = subprocess.run([tshark, "-r", str(pcap), "-o", f"tls.keylog_file:{keylog}", "-T", "fields",
                           "-e", "frame.number", "-e", "tls.handshake.type"],
                          capture_output=True, timeout=1800)
    elapsed = time.perf_counter() - started
    finished = sum(1 for line in proc.stdout.decode().splitlines() if "20" in line.split("\t")[-1].split(","))
    return elapsed, finished


RUNS = 3


def bench_capture(connections: int = 1000, body_kib: int = 32, log=print) -> dict:
    """``{"connections", "mib", "ours_s", "tshark_s", "ratio", "meets_target", ...}`` or
    ``{"skipped": reason}`` without tshark."""
    tshark = shutil.which("tshark")
    with tempfile.TemporaryDirectory() as tmp:
        log(f"capture: making {connections} connections ...")
        pcap, keylog = make_capture(Path(tmp), connections, body_kib)
        mib = pcap.stat().st_size / 2 ** 20
        # median of RUNS each, ours and tshark alternately (one run alone swings by 20 %)
        ours = sorted((_ours(pcap, keylog) for _ in range(RUNS)), key=lambda r: r[0])
        ours_s, seen, records = ours[RUNS // 2]
        row = {"connections": seen, "mib": round(mib, 1), "decrypted_records": records,
               "ours_s": round(ours_s, 3), "ours_mib_s": round(mib / ours_s, 1)}
        if tshark is None:
            row["skipped"] = "tshark is not installed (apt install tshark): no ratio"
            return row
        tshark_s, finished = sorted(_tshark(tshark, pcap, keylog) for _ in range(RUNS))[RUNS // 2]
        row.update({"tshark_s": round(tshark_s, 3), "tshark_finished_seen": finished,
                    "ratio": round(ours_s / tshark_s, 2), "target": "<= 1.0 (no slower than tshark)"})
        row["meets_target"] = row["ratio"] <= 1.0
        return row


def render_capture(row) -> list[str]:
    if not row:
        return []
    head = (f"capture explain+decrypt (median of {RUNS}): {row['connections']} connections, {row['mib']} MiB, "
            f"{row['decrypted_records']} records: ours {row['ours_s']:.2f} s ({row['ours_mib_s']} MiB/s)")
    if "skipped" in row:
        return [head + f"; tshark: not measured ({row['skipped']})", ""]
    return [head + f", tshark {row['tshark_s']:.2f} s, ratio {row['ratio']:.2f}; target {row['target']}: "
            + ("ok" if row["meets_target"] else "MISSED"), ""]


if __name__ == "__main__":
    import json
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    result = bench_capture(n)
    print(json.dumps(result, indent=1))
    print("\n".join(render_capture(result)))
