"""What ``python -m tlslesson serve`` costs: CPU per handshake against Python's ``ssl``, memory over a
long run, and where the CPU goes (a profile). Used by ``benchmarks/bench.py``; every server here is a
child process on 127.0.0.1, every wait has a deadline, every loop a count.

* ``bench_serve_cpu`` — ``serve`` and ``benchmarks/ssl_echo_server.py`` (Python's ``ssl``, the same
  threads-per-client shape) with the same lesson certificate chain, both driven by the same
  ``openssl s_client`` runs (TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256, TLS 1.3 TLS_AES_128_GCM_SHA256,
  x25519, a line echoed, close_notify), the runs alternating between the two servers. The server
  process's user+sys CPU time (``/proc/PID/stat``) over the runs, divided by the runs.
* ``bench_serve_memory`` — ``serve``'s resident memory (``VmRSS``) after warm-up, after N sequential
  handshakes (Python ``ssl`` clients from this process, TLS 1.3 and 1.2 in turn) and after M MiB
  echoed (64 MiB per connection); the growth, against a target. It stops early, and says so, before
  the growth could eat half of the machine's available memory.
* ``profile_serve`` — ``serve`` under cProfile in every thread (per-thread CPU time as the clock),
  driven by the same s_client runs: the top cumulative entries and the CPU by kind of work.
"""
from __future__ import annotations

import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
SERVE_CPU_TARGET = 1.3            # ours / Python ssl, server CPU per handshake, at most
SERVE_MEMORY_TARGET_MIB = 50.0    # RSS growth over the long run, at most
PROFILE_TOP = 15
START_TIMEOUT = 20.0              # a server must say "listening on" within this
RUN_TIMEOUT = 10.0                # one s_client run, one client connection
SCLIENT = {
    "1.2": ("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"),
    "1.3": ("-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"),
}
EXPECT = {"1.2": ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"), "1.3": ("TLSv1.3", "TLS_AES_128_GCM_SHA256")}
PING = b"tlslesson-bench-ping\n"


def child_env() -> dict:
    path = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    env = {**os.environ, "PYTHONPATH": path}
    env.pop("SSLKEYLOGFILE", None)
    return env


# =================================================================================================
# /proc
# =================================================================================================
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process (every thread, the finished ones included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK        # utime, stime (fields 14 and 15)


def status_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def available_mib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# =================================================================================================
# The servers
# =================================================================================================
class LineReader:
    """Drains a child's pipe in a thread (so a full pipe never blocks it); counts its lines."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.count = self.errors = 0
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self.count += 1
                self.errors += "error:" in line
                if len(self.lines) < 50 or "error:" in line and self.errors <= 20:
                    self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, pattern: re.Pattern, timeout: float):
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines:
                    if m := pattern.search(line):
                        return m
                left = end - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return None
                self._cond.wait(min(left, 0.5))

    def wait_count(self, count: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self._cond:
            while self.count < count:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
        return True


class Server:
    """A server child process on 127.0.0.1:0 that prints ``listening on 127.0.0.1:PORT``."""

    def __init__(self, name: str, argv: list[str]):
        self.name, self.argv = name, argv

    def __enter__(self) -> "Server":
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=child_env(), cwd=str(ROOT))
        self.out, self.err = LineReader(self.proc.stdout), LineReader(self.proc.stderr)
        found = self.out.wait_for(re.compile(r"listening on 127\.0\.0\.1:(\d+)"), START_TIMEOUT)
        if not found:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {' | '.join(self.err.lines[-5:])}")
        self.port = int(found.group(1))
        self.pid = self.proc.pid
        return self

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def __exit__(self, *exc) -> None:
        self.stop()


def ours(files: dict, *extra: str) -> Server:
    return Server("python -m tlslesson serve",
                  [sys.executable, "-m", "tlslesson", "serve", "--port", "0",
                   "--cert", str(files["server.crt"]), "--key", str(files["server.key"]), *extra])


def python_ssl(files: dict) -> Server:
    return Server("Python ssl echo server",
                  [sys.executable, str(HERE / "ssl_echo_server.py"), "--port", "0",
                   "--cert", str(files["server.crt"]), "--key", str(files["server.key"])])


def lesson_files(directory: Path) -> dict:
    from tlslesson import pki
    return pki.write_pki(directory)


# =================================================================================================
# openssl s_client
# =================================================================================================
def s_client(openssl: str, port: int, files: dict, version: str) -> str:
    """One s_client run: handshake, a line written and its echo read, then stdin's end makes
    s_client send close_notify and exit (-no_ign_eof). Its output; RuntimeError if no echo."""
    cmd = [openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
           "-CAfile", str(files["ca.crt"]), "-verify_return_error", "-no_ign_eof", "-brief",
           *SCLIENT[version]]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    out, end = b"", time.monotonic() + RUN_TIMEOUT
    fd = proc.stdout.fileno()

    def read_until(done) -> bytes:
        data = b""
        while not done(data) and (left := end - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
        return data
    try:
        try:
            proc.stdin.write(PING)
            proc.stdin.flush()
        except BrokenPipeError:
            pass
        out = read_until(lambda data: PING in data)
        try:
            proc.stdin.close()               # s_client sends close_notify and exits
        except BrokenPipeError:
            pass
        out += read_until(lambda data: False)   # to the end of its output
        proc.wait(max(0.1, end - time.monotonic()))
    except (OSError, subprocess.TimeoutExpired):
        pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()
    text = out.decode("utf-8", "replace")
    if PING.decode().strip() not in text.replace("CONNECTION ESTABLISHED", ""):
        raise RuntimeError(f"s_client got no echo: {text.strip()[-300:]}")
    return text


def negotiated(text: str) -> tuple[str | None, str | None]:
    version = re.search(r"Protocol version: (\S+)", text)
    suite = re.search(r"Ciphersuite: (\S+)", text)
    return (version and version.group(1)), (suite and suite.group(1))


# =================================================================================================
# CPU per handshake
# =================================================================================================
def bench_serve_cpu(runs: int = 100, warmup: int = 5, versions=("1.2", "1.3"), log=print) -> dict:
    openssl = shutil.which("openssl")
    if openssl is None:
        return {"skipped": "the openssl command is not installed"}
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tlslesson-serve-") as tmp:
        files = lesson_files(Path(tmp))
        for version in versions:
            with ours(files) as a, python_ssl(files) as b:
                servers = (a, b)
                for server in servers:                   # warm-up: lazy imports, first-use caches
                    for i in range(warmup):
                        text = s_client(openssl, server.port, files, version)
                        if i == 0 and negotiated(text) != EXPECT[version]:
                            raise RuntimeError(f"{server.name}: s_client negotiated "
                                               f"{negotiated(text)}, not {EXPECT[version]}")
                before = {s.pid: cpu_seconds(s.pid) for s in servers}
                t0 = time.perf_counter()
                for _ in range(runs):                    # in turn: a noisy moment hits both
                    for server in servers:
                        s_client(openssl, server.port, files, version)
                wall = time.perf_counter() - t0
                spent = {s.pid: cpu_seconds(s.pid) - before[s.pid] for s in servers}
                a.out.wait_count(warmup + runs + 1, 5.0)  # "listening" + one line a connection
                errors = a.out.errors + b.err.count
            ours_ms, theirs_ms = spent[a.pid] / runs * 1000, spent[b.pid] / runs * 1000
            row = {"version": version, "suite": EXPECT[version][1], "runs": runs,
                   "ours_ms": round(ours_ms, 2), "python_ssl_ms": round(theirs_ms, 2),
                   "ratio": round(ours_ms / theirs_ms, 2) if theirs_ms else None,
                   "server_errors": errors, "wall_s": round(wall, 1),
                   "target": f"<= {SERVE_CPU_TARGET}x"}
            row["meets_target"] = row["ratio"] is not None and row["ratio"] <= SERVE_CPU_TARGET
            rows.append(row)
            log(f"  serve CPU TLS {version}: ours {row['ours_ms']:.2f} ms, Python ssl "
                f"{row['python_ssl_ms']:.2f} ms per handshake")
    return {"rows": rows, "tick_ms": round(1000 / _TICK, 1),
            "seconds": round(time.perf_counter() - started, 1)}


# =================================================================================================
# Memory over a long run
# =================================================================================================
def _client_contexts(ca: Path) -> dict:
    contexts = {}
    for version in ("1.3", "1.2"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)         # verifies the chain and the name
        ctx.load_verify_locations(str(ca))
        v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
        ctx.minimum_version = ctx.maximum_version = v
        if version == "1.2":
            ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
        contexts[version] = ctx
    return contexts


def _handshake_and_ping(port: int, ctx, message: bytes) -> int:
    """One connection: handshake, ``message`` echoed, close_notify both ways. Bytes echoed.
    TCP_NODELAY: else the ping waits for the delayed ACK of the client's Finished (about 40 ms on
    Linux), and the run would measure the kernel's timers instead of the server."""
    with socket.create_connection(("127.0.0.1", port), timeout=RUN_TIMEOUT) as raw:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(message)
            got = b""
            while len(got) < len(message) and (chunk := tls.recv(65536)):
                got += chunk
            try:
                tls.unwrap()
            except (OSError, ValueError):
                pass
    return len(got)


async def _echo(port: int, ctx, payload: bytes, total: int) -> int:
    """One connection that streams ``total`` bytes to the echo server while reading the echo back
    (full duplex: the flow never waits for a timer). Bytes echoed."""
    import asyncio
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        "127.0.0.1", port, ssl=ctx, server_hostname="localhost"), RUN_TIMEOUT)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def send() -> None:
        sent, view = 0, memoryview(payload)
        while sent < total:
            piece = view[:min(len(view), total - sent)]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
    sender = asyncio.ensure_future(send())
    got = 0
    try:
        while got < total:
            chunk = await asyncio.wait_for(reader.read(1 << 20), RUN_TIMEOUT)
            if not chunk:
                break
            got += len(chunk)
        await asyncio.wait_for(sender, RUN_TIMEOUT)
    finally:
        sender.cancel()
        writer.close()                      # close_notify; the server answers with its own
        try:
            await asyncio.wait_for(writer.wait_closed(), RUN_TIMEOUT)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass
    return got


def bench_serve_memory(handshakes: int = 10_000, echo_mib: int = 1024, warmup: int = 200,
                       per_connection_mib: int = 64, cap_mib: float | None = None,
                       log=print) -> dict:
    """RSS of one ``serve`` process: after ``warmup`` handshakes (the baseline), after
    ``handshakes`` more, after ``echo_mib`` MiB echoed; growth = the end against the baseline."""
    available = available_mib()
    cap = cap_mib if cap_mib is not None else min(8192.0, (available or 4096.0) / 2)
    out = {"handshakes": handshakes, "echo_mib": echo_mib, "warmup": warmup,
           "target": f"<= {SERVE_MEMORY_TARGET_MIB:.0f} MiB growth", "cap_mib": round(cap),
           "phases": []}
    import asyncio
    started = time.perf_counter()
    small = b"m" * 32
    payload = os.urandom(256 * 1024)
    with tempfile.TemporaryDirectory(prefix="tlslesson-serve-") as tmp:
        files = lesson_files(Path(tmp))
        contexts = _client_contexts(files["ca.crt"])
        with ours(files) as server:
            pid = server.pid

            def rss() -> float:
                return (status_kib(pid, "VmRSS") or 0) / 1024

            def phase(name: str, t0: float, **more) -> dict:
                p = {"phase": name, "rss_mib": round(rss(), 1), "seconds": round(time.perf_counter() - t0, 1),
                     **more}
                out["phases"].append(p)
                log(f"  serve memory, {name}: RSS {p['rss_mib']:.0f} MiB ({p['seconds']} s)")
                return p

            t0 = time.perf_counter()
            for i in range(warmup):
                _handshake_and_ping(server.port, contexts["1.3" if i % 2 == 0 else "1.2"], small)
            base = phase(f"after {warmup} warm-up handshakes", t0)["rss_mib"]
            stopped = None
            t0, done = time.perf_counter(), 0
            for done in range(1, handshakes + 1):
                _handshake_and_ping(server.port, contexts["1.3" if done % 2 else "1.2"], small)
                if done % 250 == 0 and rss() - base > cap:
                    stopped = f"stopped after {done} handshakes: growth over {cap:.0f} MiB"
                    break
            phase(f"after {done} more handshakes", t0, count=done)
            out["handshakes_done"] = done
            echoed, t0 = 0, time.perf_counter()
            if stopped is None:
                while echoed < echo_mib * MIB:
                    n = min(per_connection_mib * MIB, echo_mib * MIB - echoed)
                    got = asyncio.run(_echo(server.port, contexts["1.3"], payload, n))
                    echoed += got
                    if got < n:
                        stopped = f"a connection echoed only {got} of {n} bytes"
                        break
                    if rss() - base > cap:
                        stopped = f"stopped after {echoed // MIB} MiB echoed: growth over {cap:.0f} MiB"
                        break
            out["echoed_mib"] = round(echoed / MIB)
            phase(f"after {echoed // MIB} MiB echoed", t0, echo_mb_s=round(echoed / MIB / max(
                time.perf_counter() - t0, 1e-9), 1))
            time.sleep(1.0)                 # the last connection's thread ends, its socket closes
            end = rss()
            out["peak_rss_mib"] = round((status_kib(pid, "VmHWM") or 0) / 1024, 1)
            server.out.wait_count(warmup + done + 1, 10.0)
            out["server_lines"] = server.out.count - 1
            out["server_errors"] = server.out.errors
    out["baseline_rss_mib"] = round(base, 1)
    out["end_rss_mib"] = round(end, 1)
    out["growth_mib"] = round(end - base, 1)
    out["stopped"] = stopped
    out["meets_target"] = stopped is None and end - base <= SERVE_MEMORY_TARGET_MIB
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


# =================================================================================================
# Where the CPU goes
# =================================================================================================
_TLSLESSON_KINDS = {
    # module of tlslesson -> kind of work (client/server/states: connection.py after its split)
    "wire": "codecs (wire, messages, extensions)", "messages": "codecs (wire, messages, extensions)",
    "extensions": "codecs (wire, messages, extensions)", "hello": "codecs (wire, messages, extensions)",
    "connection": "state machine (connection)", "client": "state machine (connection)",
    "server": "state machine (connection)", "states": "state machine (connection)",
    "record": "record layer (record)",
    "tls12": "key schedule and signing (tls12, tls13, prf, keyexchange, signatures)",
    "tls13": "key schedule and signing (tls12, tls13, prf, keyexchange, signatures)",
    "prf": "key schedule and signing (tls12, tls13, prf, keyexchange, signatures)",
    "keyexchange": "key schedule and signing (tls12, tls13, prf, keyexchange, signatures)",
    "signatures": "key schedule and signing (tls12, tls13, prf, keyexchange, signatures)",
    "net": "socket driver (net: reads, timeouts, linger, threads)",
    "__main__": "command line (the log line)",
}
_CRYPTO = re.compile(r"cryptography|_hashlib|hashlib\.py|hmac\.py|x25519|x448|openssl", re.I)
_SOCKETS = re.compile(r"_socket|socket\.py|selectors\.py|'select'|select\.select")
_THREADS = re.compile(r"threading\.py|_thread")
_PRINT = re.compile(r"builtins\.print|TextIOWrapper|BufferedWriter")


def _category(key) -> str:
    """The kind of work a profiled function (its own time, not its callees') stands for."""
    file, _, func = key
    m = re.search(r"tlslesson[/\\](.+?)\.py$", file)
    if m:
        module = m.group(1).replace("/", ".").replace("\\", ".")
        return _TLSLESSON_KINDS.get(module, "other tlslesson code (constants, pki, suites, ...)")
    text = f"{file}:{func}"
    if _CRYPTO.search(text):
        return "crypto (cryptography: RSA, x25519, HKDF/HMAC, AES-GCM)"
    if _SOCKETS.search(text):
        return "socket calls (recv, sendall, accept, settimeout)"
    if _THREADS.search(text):
        return "threads and locks"
    if _PRINT.search(text):
        return "printing the log line"
    return "Python built-ins and stdlib (int/bytes methods, enum, dataclasses, abc)"


def profile_serve(runs: int = 50, versions=("1.2", "1.3"), top: int = PROFILE_TOP, log=print) -> dict:
    """``serve`` under ``benchmarks/profile_serve.py`` (cProfile in every thread, per-thread CPU time
    as the clock), ``runs`` s_client runs per version; top cumulative entries and CPU by kind."""
    import io
    import pstats
    openssl = shutil.which("openssl")
    if openssl is None:
        return {"skipped": "the openssl command is not installed"}
    results = {}
    with tempfile.TemporaryDirectory(prefix="tlslesson-profile-") as tmp:
        files = lesson_files(Path(tmp))
        for version in versions:
            stats_file = Path(tmp) / f"serve-{version}.prof"
            server = Server(f"serve under cProfile (TLS {version})",
                            [sys.executable, str(HERE / "profile_serve.py"), str(stats_file), "serve",
                             "--port", "0", "--cert", str(files["server.crt"]),
                             "--key", str(files["server.key"])])
            with server:
                for _ in range(runs):
                    s_client(openssl, server.port, files, version)
                server.out.wait_count(runs + 1, 5.0)
                code = server.stop(timeout=60.0)        # it merges and writes the statistics
            if not stats_file.exists():
                results[version] = {"skipped": f"the profiled server (exit status {code}) wrote no "
                                               "statistics: " + " | ".join(server.err.lines[-3:])}
                continue
            stats = pstats.Stats(str(stats_file))
            total = sum(v[2] for v in stats.stats.values())              # tottime, all functions
            kinds: dict[str, float] = {}
            for key, (_, _, tottime, _, _) in stats.stats.items():
                kinds[_category(key)] = kinds.get(_category(key), 0.0) + tottime
            buf = io.StringIO()
            stats.stream = buf
            stats.strip_dirs().sort_stats("cumulative").print_stats(top)
            text = buf.getvalue()
            listing = text[text.index("   ncalls"):] if "   ncalls" in text else text
            results[version] = {
                "runs": runs, "profiled_cpu_ms_per_handshake": round(total / runs * 1000, 2),
                "by_kind_percent": {k: round(100 * v / total, 1)
                                    for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
                "by_kind_ms": {k: round(v / runs * 1000, 3)
                               for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])},
                "top_cumulative": listing.rstrip()}
            log(f"  serve profile TLS {version}: {results[version]['profiled_cpu_ms_per_handshake']} ms "
                "per handshake under the profiler")
    return results
