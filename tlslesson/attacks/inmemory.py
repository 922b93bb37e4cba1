"""Drivers for the attack labs: connections of the package handed records in memory.

``connection.handshake()`` builds its own two connections from configurations; the labs need
their own (a weakened lesson-only subclass on one side, a man in the middle between two pairs),
so they drive connection *objects* here with the same loop: every record one side queued goes to
the other, through an optional ``tamper(sender, step, record) -> record or None`` (None drops
it), until nobody has anything to say. Every loop is bounded (``max_rounds``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..constants import AlertDescription, ContentType
from ..errors import TLSError
from ..record import RecordBuffer


@dataclass
class Run:
    """What one in-memory run did: the records in the order sent, and the first error."""
    client: object
    server: object
    records: list = field(default_factory=list)     # (sender, Step, record bytes as delivered)
    error: TLSError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.client.handshake_complete and \
            self.server.handshake_complete

    @property
    def check(self) -> str | None:
        """The check that stopped the run (``None``: nothing failed)."""
        return None if self.error is None else self.error.check


def run(client, server, tamper=None, max_rounds: int = 20, start: bool = True) -> Run:
    """Drive ``client`` and ``server`` (connection objects) until both are quiet. A failed check
    does not raise: it is in ``.error``, and the alert the failing side sent is delivered."""
    result = Run(client, server)
    if start:
        client.start()
    pump(result, tamper, max_rounds)
    return result


def pump(result: Run, tamper=None, max_rounds: int = 20) -> Run:
    """Move records both ways until nobody has anything to send (at most ``max_rounds``)."""
    client, server = result.client, result.server
    for _ in range(max_rounds):
        moved = False
        for sender, receiver in ((client, server), (server, client)):
            for step, rec in sender.records_to_send():
                if tamper is not None:
                    rec = tamper(sender.role, step, rec)
                    if rec is None:
                        continue
                result.records.append((sender.role, step, rec))
                moved = True
                if receiver.closed:
                    continue
                try:
                    receiver.receive(rec)
                except TLSError as error:
                    result.error = result.error or error
        if not moved:
            break
    return result


def send_data(result: Run, sender: str, data: bytes, tamper=None, max_rounds: int = 5) -> list:
    """``sender`` ("client"/"server") sends application data; returns the data the other side
    received (a failed check is in ``result.error``)."""
    conn = result.client if sender == "client" else result.server
    other = result.server if sender == "client" else result.client
    conn.send(data)
    before = other.stats.bytes_received
    received = []
    original = other.receive

    def receive(rec):                 # collect ApplicationData events on the way through
        events = original(rec)
        received.extend(e.data for e in events if hasattr(e, "data"))
        return events
    other.receive = receive
    try:
        pump(result, tamper, max_rounds)
    finally:
        del other.receive
    assert other.stats.bytes_received - before == sum(map(len, received))
    return received


def alerts(data: bytes) -> list[AlertDescription]:
    """The alerts in plaintext alert records among ``data`` (what an observer on the wire reads
    before keys are in use — and what a padding oracle answers)."""
    buffer, found = RecordBuffer(), []
    buffer.feed(data)
    while (record := buffer.next_record()) is not None:
        if record.content_type == ContentType.alert and len(record.fragment) == 2:
            found.append(AlertDescription(record.fragment[1]))
    return found


def observe(data: bytes, protected: bool) -> tuple[str, ...]:
    """What an observer on the wire learns from a reply: each record's type and length, and an
    alert's description only when it travels in the clear (``protected`` False: before the
    sender's ChangeCipherSpec). ``("nothing",)`` when the peer just hung up."""
    buffer, seen = RecordBuffer(), []
    buffer.feed(data)
    while (record := buffer.next_record()) is not None:
        if record.content_type == ContentType.alert and not protected:
            seen.append(f"alert {AlertDescription(record.fragment[1]).name}")
        else:
            seen.append(f"{ContentType(record.content_type).name} record, "
                        f"{len(record.fragment)} bytes")
    return tuple(seen) or ("nothing",)
