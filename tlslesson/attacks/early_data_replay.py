"""Lab 7 — 0-RTT replay: the same early data, processed twice (RFC 8446 §2.3, §8, App. E.5).

Early data is encrypted under ``client_early_traffic_secret``, derived from the PSK and the
ClientHello alone: nothing in it comes from the server, so nothing in it is fresh. Mallory, on
the path, records the client's first flight — ClientHello, the dummy ChangeCipherSpec, the
early-data records — lets it through, and sends the very same bytes again on a new connection.
The server opens the ticket, checks the binder (it is right: the bytes are the client's),
derives the same early key and hands the same request to its application once more. Mallory
never learns a key and cannot finish the handshake (no client Finished without the PSK), but
the early data has already been delivered by then.

Weakened (lesson only): ``ServerConfig(anti_replay=sessions.lesson_replayable())``, an
anti-replay that lets everything through. Defence (the default ``sessions.AntiReplay``): §8's
two rules together — a ticket's early data is accepted **once** (§8.1/§8.2), and only when the
age the client reports matches the time since the ticket was issued, within a **freshness
window** (§8.3), which bounds how long the server must remember. The replay's early data is then
refused (``values["early_data_rejected"]`` says why; the lab's check is ``early_data_rejected``)
and the server goes on with a 1-RTT handshake that Mallory cannot complete.

Neither rule makes 0-RTT safe to use for everything: single use needs one memory shared by every
server that holds the ticket key (``other_server=True`` shows a replay to a second front end with
a memory of its own), and the client itself may legitimately send the same data again in 1-RTT
after a rejection. So applications take only idempotent requests in early data (RFC 8470: HTTP's
``Early-Data`` header and status 425 Too Early).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..client import ClientConnection
from ..connection import EarlyData
from ..errors import TLSError
from ..lesson.configs import lesson_configs
from ..server import ServerConnection
from ..sessions import AntiReplay, lesson_replayable
from .inmemory import Run, run

__all__ = ["REQUEST", "Result", "replay", "lesson_replayable"]

REQUEST = (b"POST /transfer HTTP/1.1\r\nHost: bank.example\r\nContent-Length: 24\r\n\r\n"
           b"to=mallory&amount=100EUR")
FIRST_FLIGHT = ("ClientHello", "ChangeCipherSpec", "EarlyData")


@dataclass
class Result:
    succeeded: bool               # the server's application got the request more than once
    processed: int                # how many times the request reached the server's application
    deliveries: list              # the early data each server connection delivered (honest first)
    check: str | None             # "early_data_rejected" when the server refused the replay's
    reason: str | None            # ... and its words (values["early_data_rejected"])
    flight: bytes                 # the records Mallory recorded and replayed
    honest: Run                   # the client's own resumed connection, with its early data
    replayed: list = field(default_factory=list)     # Mallory's server connections


def _collecting(conn: ServerConnection, into: list) -> ServerConnection:
    """Collect the EarlyData events the server hands its application."""
    receive = conn.receive

    def collect(data):
        events = receive(data)
        into.extend(e.data for e in events if isinstance(e, EarlyData))
        return events
    conn.receive = collect
    return conn


def replay(anti_replay: bool | AntiReplay = True, *, replays: int = 1, delay_ms: int = 0,
           other_server: bool = False, request: bytes = REQUEST,
           seed: str = "attack-lab/0rtt-replay") -> Result:
    """Lab 7, in memory. ``anti_replay``: True, the default AntiReplay (the defence); False,
    ``lesson_replayable()`` (the weakened server); or an AntiReplay of your own. Mallory replays
    the recorded first flight ``replays`` times, ``delay_ms`` after the original, to the same
    server (sharing its ticket key and its anti-replay memory) or, with ``other_server``, to
    another front end with the same ticket key but its own anti-replay memory."""
    guard = AntiReplay() if anti_replay is True else lesson_replayable() \
        if anti_replay is False else anti_replay
    client_config, server_config = lesson_configs(
        seed, versions=("1.3",), server={"tickets": 1, "max_early_data": 4096,
                                         "anti_replay": guard})
    # 1. an earlier visit: the client gets a ticket
    first = run(ClientConnection(client_config), ServerConnection(server_config))
    if not first.ok:
        raise RuntimeError(f"the first handshake failed: {first.error}")
    (session,) = first.client.sessions
    # 2. the client comes back with the ticket and sends its request as early data;
    #    Mallory records the first flight on its way through
    resumed_config, _ = lesson_configs(seed + "/resumed", versions=("1.3",),
                                       client={"session": session, "early_data": request})
    recorded = []

    def record(sender, step, rec):
        if sender == "client" and step.name in FIRST_FLIGHT:
            recorded.append(rec)
        return rec
    delivered = [[]]
    honest = run(ClientConnection(resumed_config),
                 _collecting(ServerConnection(server_config), delivered[0]), tamper=record)
    if not (honest.ok and honest.client.early_data_accepted):
        raise RuntimeError(f"the honest 0-RTT connection failed: {honest.error}")
    flight = b"".join(recorded)
    # 3. Mallory sends the same bytes again, on new connections
    now = server_config.clock() + delay_ms
    target = dataclasses.replace(server_config, clock=lambda: now)
    if other_server:
        target = dataclasses.replace(target, anti_replay=AntiReplay(
            guard.window_ms, guard.single_use, guard.max_entries))
    replayed, reason = [], None
    for _ in range(replays):
        got: list = []
        conn = _collecting(ServerConnection(target), got)
        try:
            conn.receive(flight)
        except TLSError:                 # nothing a replay does should get here; if it did,
            pass                         # the server refused the connection: nothing delivered
        conn.records_to_send()           # the server's answer goes to Mallory, who can't use it
        delivered.append(got)
        replayed.append(conn)
        reason = reason or conn.values.get("early_data_rejected")
    processed = sum(1 for d in delivered if request in (b"".join(d),))
    return Result(succeeded=processed > 1, processed=processed, deliveries=delivered,
                  check=None if processed > 1 else "early_data_rejected", reason=reason,
                  flight=flight, honest=honest, replayed=replayed)
