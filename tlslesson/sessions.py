"""Sessions that can be resumed: what both sides keep, and how the server seals it in a ticket.

A full handshake costs certificates, signatures and a key exchange. Resumption skips them: the
two sides remember a secret from an earlier connection and prove to each other that they still
know it.

- TLS 1.2 (RFC 5246 §7.3, RFC 5077): the master secret itself is resumed, found either by a
  session ID in the server's cache (``SessionCache``) or in a ticket the client brings back.
- TLS 1.3 (RFC 8446 §2.2, §4.6.1): each NewSessionTicket carries a ticket for a PSK derived
  from the resumption master secret and the ticket's nonce; the ClientHello offers it in
  pre_shared_key with a binder.

``Session`` is one remembered session, the same dataclass on both sides; ``TicketKeys`` seals
one into a ticket only the server can open (RFC 5077 §4's recommended construction, with an
AEAD in place of AES-CBC + HMAC); ``SessionStore`` is the client's collection, saved to a file
by ``connect --sess-out`` and read back by ``--sess-in``.
"""
from __future__ import annotations

import json
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import DecodeError
from .rng import SystemRandom
from .wire import Reader, opaque, u16

VERSION_CODES = {"1.2": 0x0303, "1.3": 0x0304}


def now_ms() -> int:
    """Wall-clock milliseconds: ticket ages are measured in them (RFC 8446 §4.2.11)."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Session:
    """One resumable session. The server seals the first block into its tickets; the client
    keeps all of it (the ticket is opaque to the client)."""
    version: str                  # "1.2" or "1.3"
    cipher_suite: int             # the suite's code: 1.3 resumes only with the same hash
    secret: bytes                 # 1.2: the master secret; 1.3: this ticket's PSK
    issued_ms: int                # when the ticket was issued (server) / received (client)
    lifetime: int = 0             # seconds the ticket may be used (RFC 8446: at most 7 days)
    ticket_age_add: int = 0       # 1.3: added to the age the client reports, so it looks random
    max_early_data: int = 0       # 1.3: how much 0-RTT data the server takes with this ticket
    extended_master_secret: bool = False   # 1.2: RFC 7627 §5.3 resumes only like with like
    server_name: str = ""         # the SNI it was made for (a ticket is for that server only)
    alpn: str = ""                # the application protocol agreed (0-RTT must use the same)
    # what only the client keeps
    ticket: bytes = b""           # 1.3 / RFC 5077: the server's sealed state, sent back as is
    session_id: bytes = b""       # 1.2: the ID to offer (for a server-side cache)
    ticket_nonce: bytes = b""     # 1.3: shown in lessons (the PSK is already derived from it)

    def expired(self, at_ms: int | None = None) -> bool:
        return (now_ms() if at_ms is None else at_ms) > self.issued_ms + 1000 * self.lifetime

    # -- the ticket's plaintext (RFC 5077 §4 leaves the format to the server; this is ours) -----
    def encode_state(self) -> bytes:
        """struct { uint16 version; uint16 cipher_suite; opaque secret<1..255>; uint64 issued_ms;
        uint32 lifetime; uint32 ticket_age_add; uint32 max_early_data; uint8 ems;
        opaque server_name<0..255>; opaque alpn<0..255>; } — what a server needs to resume."""
        return (u16(VERSION_CODES[self.version]) + u16(self.cipher_suite)
                + opaque(1, self.secret) + self.issued_ms.to_bytes(8, "big")
                + self.lifetime.to_bytes(4, "big") + self.ticket_age_add.to_bytes(4, "big")
                + self.max_early_data.to_bytes(4, "big") + bytes([self.extended_master_secret])
                + opaque(1, self.server_name.encode()) + opaque(1, self.alpn.encode()))

    @classmethod
    def decode_state(cls, data: bytes) -> "Session":
        r = Reader(data, track=False)
        code = r.uint16("version")
        version = {v: k for k, v in VERSION_CODES.items()}.get(code)
        if version is None:
            raise DecodeError("version", 0, f"0x{code:04x} is not TLS 1.2 or 1.3")
        session = cls(version, r.uint16("cipher_suite"), r.opaque(1, "secret", 1),
                      r.uint(8, "issued_ms"), r.uint(4, "lifetime"), r.uint(4, "ticket_age_add"),
                      r.uint(4, "max_early_data"), bool(r.uint8("extended_master_secret")),
                      r.opaque(1, "server_name").decode(errors="replace"),
                      r.opaque(1, "alpn").decode(errors="replace"))
        r.done("session state")
        return session

    def state_fields(self) -> dict:
        """The sealed fields, by name: what a lesson shows as "inside the ticket"."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("ticket", "session_id", "ticket_nonce")}


class TicketError(ValueError):
    """A ticket the server cannot use; the reason goes to its log and it does a full handshake."""


class TicketKeys:
    """The server's ticket protection: ticket = key_name(16) ‖ nonce(12) ‖ AES-256-GCM(state),
    with key_name as additional data (RFC 5077 §4 names the key the same way, so a server can
    keep the previous key for tickets issued before a rotation)."""
    KEEP = 2                      # the current key and the one before it

    def __init__(self, rng=None):
        self.rng = rng or SystemRandom()
        self._keys: list[tuple[bytes, AESGCM]] = []
        self.rotate()

    def rotate(self) -> bytes:
        """A new key for new tickets; tickets under the oldest key stop working. Its name."""
        name = self.rng.bytes(16)
        self._keys = [(name, AESGCM(self.rng.bytes(32)))] + self._keys[:self.KEEP - 1]
        return name

    @property
    def current_name(self) -> bytes:
        return self._keys[0][0]

    def seal(self, session: Session) -> bytes:
        name, aead = self._keys[0]
        nonce = self.rng.bytes(12)
        return name + nonce + aead.encrypt(nonce, session.encode_state(), name)

    def open(self, ticket: bytes) -> Session:
        """The session inside ``ticket``, or TicketError saying why it is unusable."""
        if len(ticket) < 16 + 12 + 16:
            raise TicketError(f"ticket of {len(ticket)} bytes is too short to be one of ours")
        name, nonce, sealed = ticket[:16], ticket[16:28], ticket[28:]
        aead = next((a for n, a in self._keys if n == name), None)
        if aead is None:
            raise TicketError(f"ticket key {name.hex()[:8]}… is not ours, or was rotated out")
        try:
            return Session.decode_state(aead.decrypt(nonce, sealed, name))
        except InvalidTag:
            raise TicketError("ticket fails authentication: it was changed") from None
        except DecodeError as error:       # authentic but unreadable: an older format
            raise TicketError(f"ticket state does not decode: {error}") from None


class SessionCache:
    """TLS 1.2 server: session ID -> Session, the RFC 5246 §7.4.1.2 cache. Bounded: the oldest
    entry goes first, and an expired one is never returned."""

    def __init__(self, max_entries: int = 1024):
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, Session] = OrderedDict()

    def put(self, session_id: bytes, session: Session) -> None:
        self._entries[session_id] = session
        self._entries.move_to_end(session_id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def get(self, session_id: bytes, at_ms: int | None = None) -> Session | None:
        session = self._entries.get(session_id)
        if session is not None and session.expired(at_ms):
            del self._entries[session_id]
            return None
        return session

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, session_id: bytes) -> bool:
        """An entry is kept for ``session_id``, expired or not (``get`` says if it is usable):
        so a server can say "expired" rather than "unknown"."""
        return session_id in self._entries


class AntiReplay:
    """RFC 8446 §8: 0-RTT data can be replayed — it depends on nothing the server contributes.
    Two defences together: a freshness window (§8.3: the age the client reports must match
    when the server issued the ticket, within ``window_ms``) and single use within that window
    (§8.1/§8.2: a ticket's early data is accepted once; outside the window freshness refuses it
    anyway, so the memory needed is bounded by the window). ``check`` says why not, or None."""

    def __init__(self, window_ms: int = 10_000, single_use: bool = True,
                 max_entries: int = 100_000):
        self.window_ms, self.single_use, self.max_entries = window_ms, single_use, max_entries
        self._seen: OrderedDict[bytes, int] = OrderedDict()     # ticket -> when its 0-RTT came

    def check(self, ticket: bytes, session: Session, client_age_ms: int,
              at_ms: int | None = None) -> str | None:
        at_ms = now_ms() if at_ms is None else at_ms
        if self.window_ms is not None:
            expected_arrival = session.issued_ms + client_age_ms     # §8.3
            if abs(at_ms - expected_arrival) > self.window_ms:
                return (f"ticket age {client_age_ms} ms does not match its issue time "
                        f"(off by {abs(at_ms - expected_arrival)} ms, window {self.window_ms} ms)")
        if not self.single_use:
            return None
        while self._seen and next(iter(self._seen.values())) < at_ms - (self.window_ms or 0):
            self._seen.popitem(last=False)            # older than the window: freshness covers it
        if ticket in self._seen:
            return "this ticket's early data was accepted before: a replay"
        if len(self._seen) >= self.max_entries:
            return "anti-replay memory is full"
        self._seen[ticket] = at_ms
        return None


def lesson_replayable() -> AntiReplay:
    """LESSON-ONLY (the replay lab): an anti-replay that lets every replay through. A real
    server accepting 0-RTT must never use this."""
    return AntiReplay(window_ms=None, single_use=False)


class SessionStore:
    """The client's sessions, newest last. TLS 1.3 tickets are used once (RFC 8446 App. C.4:
    reusing one lets an observer link the connections), so ``take`` removes what it returns."""

    def __init__(self, sessions=()):
        self.sessions: list[Session] = list(sessions)

    def add(self, session: Session) -> None:
        self.sessions.append(session)

    def find(self, server_name: str, versions=("1.3", "1.2"),
             at_ms: int | None = None) -> Session | None:
        """The newest unexpired session for ``server_name`` in one of ``versions``."""
        for session in reversed(self.sessions):
            if session.server_name == (server_name or "") and session.version in versions \
                    and not session.expired(at_ms):
                return session
        return None

    def take(self, server_name: str, versions=("1.3", "1.2"),
             at_ms: int | None = None) -> Session | None:
        session = self.find(server_name, versions, at_ms)
        if session is not None and session.version == "1.3":
            self.sessions.remove(session)
        return session

    def __len__(self) -> int:
        return len(self.sessions)

    # -- the file of ``connect --sess-out / --sess-in`` -------------------------------------------
    def dumps(self) -> str:
        def plain(session):
            return {k: v.hex() if isinstance(v, bytes) else v for k, v in asdict(session).items()}
        return json.dumps({"tlslesson_sessions": 1,
                           "sessions": [plain(s) for s in self.sessions]}, indent=1)

    @classmethod
    def loads(cls, text: str) -> "SessionStore":
        """Read a session file; a damaged one is a DecodeError naming what is wrong."""
        try:
            data = json.loads(text)
            entries = data["sessions"]
            byte_fields = {f.name for f in fields(Session) if f.type == "bytes"}
            sessions = []
            for entry in entries:
                values = {k: bytes.fromhex(v) if k in byte_fields else v
                          for k, v in entry.items()}
                sessions.append(Session(**values))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise DecodeError("session file", 0, f"not a tlslesson session file ({error})") \
                from None
        return cls(sessions)

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.dumps() + "\n")

    @classmethod
    def load(cls, path) -> "SessionStore":
        with open(path, encoding="utf-8") as f:
            return cls.loads(f.read())

