"""``python -m tlslesson ...`` under cProfile in every thread; the statistics go to STATS_FILE.

    python benchmarks/profile_serve.py STATS_FILE serve --port 0 --cert C --key K

``serve`` handles each client in a thread of its own, and cProfile sees only the thread it was
enabled in: here every thread (the accept loop and each client's) runs under a profiler of its own,
all with the thread's CPU time as the clock (``time.thread_time``: time spent waiting in accept or
recv does not count), merged into one file when the command ends (SIGINT ends ``serve``). The main
thread is profiled from ``Server.serve_forever`` on: start-up and imports are left out. The
profiler's own overhead inflates code that makes many small calls; compare kinds of work, not totals.
"""
from __future__ import annotations

import cProfile
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()
_run = threading.Thread.run


def _profiled_run(self) -> None:
    prof = cProfile.Profile(time.thread_time)
    prof.enable()
    try:
        _run(self)
    finally:
        prof.disable()
        with _lock:
            _profiles.append(prof)


def _profile_accept_loop() -> cProfile.Profile | None:
    """Profile the main thread from the moment the server listens (its accept loop, which also
    creates each client's thread), not the interpreter's start-up and imports before it."""
    from tlslesson import net
    server = getattr(net, "Server", None)
    serve_forever = getattr(server, "serve_forever", None)
    if serve_forever is None:
        return None
    prof = cProfile.Profile(time.thread_time)

    def profiled(self, *args, **kwargs):
        prof.enable()
        try:
            return serve_forever(self, *args, **kwargs)
        finally:
            prof.disable()
    server.serve_forever = profiled
    return prof


def main(argv) -> int:
    stats_file, args = argv[0], argv[1:]
    threading.Thread.run = _profiled_run
    from tlslesson.__main__ import main as tlslesson_main
    main_prof = _profile_accept_loop()
    whole = main_prof is None              # a net module without Server.serve_forever: all of main
    if whole:
        main_prof = cProfile.Profile(time.thread_time)
        main_prof.enable()
    try:
        code = tlslesson_main(args)
    finally:
        if whole:
            main_prof.disable()
        import pstats
        with _lock:
            profiles = [main_prof] + list(_profiles)
        stats = None
        for prof in profiles:
            try:
                stats = pstats.Stats(prof) if stats is None else stats.add(prof)
            except TypeError:              # a profiler that saw no call at all
                pass
        if stats is not None:
            stats.dump_stats(stats_file)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
