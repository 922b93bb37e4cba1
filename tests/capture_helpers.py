"""Recording loopback traffic for the capture tests: tcpdump (pcap) or dumpcap (pcapng), only the
ports a test chose (other tests use loopback at the same time), and tshark's own decryption of
the same file to compare with."""
from __future__ import annotations

import os
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


def tshark_decrypted(capture, keylog) -> dict[int, list[bytes]]:
    """{tcp.stream: [plaintext of every decrypted record, in frame order]} as tshark decrypts
    ``capture`` with ``keylog``: its "Decrypted TLS" data sources (``-x``), each frame's summary
    line (``-P``) made of the frame number and tcp.stream."""
    proc = subprocess.run([TSHARK, "-r", str(capture), "-o", f"tls.keylog_file:{keylog}",
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
