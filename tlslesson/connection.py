"""Sans-IO TLS connections: bytes in, bytes out, and the only objects in the package with state.

A connection walks the state machine of its role and version (``states.py``): every message
that arrives is dispatched through the table of the current state to one handler, and anything
the table does not list is ``unexpected_message``. The handlers (``client.py``, ``server.py``)
call the same stage functions a notebook calls (``hello``, ``tls12``, ``tls13``, ``groups``) in
the order the RFCs give. Connections never touch a socket: ``receive(data)`` takes what arrived
and returns events, ``data_to_send()`` hands back what to write. ``net.py`` drives them over TCP;
``handshake()`` below drives a pair in memory.

What a connection did is kept for the lessons: ``log`` holds every handshake message as a
``Step`` (with the state after it and the values it brought into being), ``values`` every value
shown so far. Application data is counted (``stats``), and logged only when the configuration
asks for it (``log_records=True``), so a long-running server does not grow.

This module holds what both roles share: configuration, events, steps, records and alerts,
dispatch, and the stages both roles run alike (TLS 1.2 keys, TLS 1.3 key switches, Finished,
KeyUpdate, the HelloRetryRequest transcript restart).
"""
from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass, field
from typing import Callable

from . import groups, keylog, pki, sessions, signatures, states, tls12, tls13
from .constants import (AlertDescription as AD, AlertLevel, ContentType as CT,
                        HandshakeType as HT, name_of)
from .errors import AlertError, DecodeError, TLSError
from .messages import (Alert, Certificate, CertificateRequest, ChangeCipherSpec, ClientHello,
                       Context, Finished, KeyUpdate, ServerKeyExchange, decode_handshake,
                       encode_handshake)
from .prf import Transcript
from .record import AEAD12, AEAD13, CBC12, CBC12EtM, MAX_PLAINTEXT, RecordLayer, fragment
from .rng import SystemRandom
from .sessions import Session, SessionCache, TicketKeys, now_ms
from .suites import SUITES, CipherSuite

# A peer could announce a 16 MiB message and make us buffer it: OpenSSL's largest limit per
# message is the ClientHello's (CLIENT_HELLO_MAX_LENGTH); a certificate chain gets 100 KiB.
MAX_HANDSHAKE_MESSAGE = 131396
MAX_LOGGED_POST_HANDSHAKE = 16     # NewSessionTicket, KeyUpdate: the first few are logged
PSK_KE, PSK_DHE_KE = 0, 1          # RFC 8446 §4.2.9: resumption without / with a fresh (EC)DHE


@dataclass
class ClientConfig:
    versions: tuple[str, ...] = ("1.3", "1.2")
    suites: tuple[CipherSuite, ...] = SUITES
    groups: tuple[int, ...] = groups.DEFAULT
    key_share_groups: tuple[int, ...] | None = None    # TLS 1.3 shares sent up front (default:
    # the first group, plus the first classical one if that is post-quantum: hello.default_key_share_groups)
    server_name: str | None = "localhost"              # SNI, and the name checked in the certificate
    trusted: list | None = None                        # trust anchors (None: the lesson CA)
    verify: bool = True                                # False: skip certificate validation (never for real)
    identity: pki.Identity | None = None               # client certificate, if asked for one
    ems: bool = True                                   # offer extended_master_secret (RFC 7627)
    encrypt_then_mac: bool = True                      # offer encrypt_then_mac with CBC suites (RFC 7366)
    record_size_limit: int | None = 2 ** 14 + 1        # RFC 8449 (capped at 2^14 in 1.2); None: not sent
    signature_schemes: tuple[int, ...] = signatures.SUPPORTED   # offered in signature_algorithms
    signature_preference: tuple[int, ...] = signatures.SUPPORTED   # the order we pick ours by
    alpn: tuple[str, ...] = ()                         # RFC 7301 protocols, preferred first (): not sent
    now: _dt.datetime | None = None                    # clock for certificate validity (None: now)
    session_id: bytes | None = None                    # None: 32 random bytes when offering 1.3
    # resumption: a session from an earlier connection (1.2: by ticket or ID; 1.3: a ticket,
    # offered as a PSK, RFC 8446 §2.2)
    session: sessions.Session | None = None
    session_tickets: bool = False                      # 1.2: offer session_ticket (RFC 5077)
    rng: object = field(default_factory=SystemRandom)
    log_records: bool = False                          # also log every application-data record
    psk_modes: tuple[int, ...] = (PSK_DHE_KE,)         # psk_key_exchange_modes (§4.2.9) we offer
    early_data: bytes | None = None                    # 0-RTT data to send with the hello (§2.3)
    clock: Callable[[], int] | None = None             # ms since 1970 for ticket ages (None: now)
    # Lesson/test hook: rewrite the ClientHello before it is sent (reproduce another client's
    # exact bytes, or play the attacker who strips TLS 1.3 from the offer).
    customize_hello: Callable[[ClientHello], ClientHello] | None = None


def _default_identities():
    lesson = pki.lesson_pki()
    return (lesson.rsa_server, lesson.ecdsa_server)


@dataclass
class ServerConfig:
    identities: tuple[pki.Identity, ...] = field(default_factory=_default_identities)
    versions: tuple[str, ...] = ("1.3", "1.2")
    suites: tuple[CipherSuite, ...] = SUITES
    groups: tuple[int, ...] = groups.DEFAULT
    client_ca: list | None = None                      # set: ask for a client certificate from this CA
    require_client_certificate: bool = True            # False: ask, but go on without one
    ems: bool = True
    encrypt_then_mac: bool = True                      # agree to encrypt_then_mac for CBC suites (RFC 7366)
    record_size_limit: int | None = 2 ** 14 + 1        # echoed (capped at 2^14 in 1.2) when the client sends one
    signature_schemes: tuple[int, ...] = signatures.SUPPORTED   # accepted, asked for
    signature_preference: tuple[int, ...] = signatures.SUPPORTED   # the order we pick ours by
    alpn: tuple[str, ...] = ()                         # RFC 7301 protocols we speak, preferred first
    now: _dt.datetime | None = None
    rng: object = field(default_factory=SystemRandom)
    log_records: bool = False
    # resumption. One cache, one ticket key and one AntiReplay per ServerConfig: copies of it
    # (net.Server makes one per connection) share them. None: no resumption that way.
    ticket_keys: sessions.TicketKeys | None = field(default_factory=sessions.TicketKeys)
    # TLS 1.2 (RFC 5246 §7.3, RFC 5077)
    session_cache: sessions.SessionCache | None = field(default_factory=sessions.SessionCache)
    session_lifetime: int = 7200                       # seconds a 1.2 session may be resumed
    resume_without_ems: bool = False                   # RFC 7627 §5.3: legacy insecure resumption
    # TLS 1.3 (RFC 8446 §4.6.1, §4.2.10, §8)
    tickets: int = 2                                   # NewSessionTickets after each handshake
    ticket_lifetime: int = 7200                        # seconds (RFC 8446 §4.6.1: at most 604800)
    ticket_nonce_length: int = 8                       # the n-th ticket's nonce: n in this many bytes
    psk_modes: tuple[int, ...] = (PSK_DHE_KE, PSK_KE)   # the modes we accept, preferred first
    max_early_data: int = 0                            # 0-RTT bytes we take (0: refuse early data)
    anti_replay: sessions.AntiReplay = field(default_factory=sessions.AntiReplay)
    clock: Callable[[], int] | None = None             # ms since 1970 for tickets (None: now)


# -- events -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HandshakeComplete:
    version: str
    suite: CipherSuite


@dataclass(frozen=True)
class ApplicationData:
    data: bytes


@dataclass(frozen=True)
class EarlyData:
    """0-RTT data the server accepted, before the handshake is complete (RFC 8446 §2.3)."""
    data: bytes


@dataclass(frozen=True)
class PostHandshakeMessage:
    message: object


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer sent close_notify."""


@dataclass
class Step:
    """One message as it went over the wire: who sent it, what it was, its bytes, the state the
    connection was in after it and the values that came into being with it."""
    sender: str                   # "client" or "server"
    name: str                     # "ClientHello", "ChangeCipherSpec", "ApplicationData", ...
    message: object               # the dataclass (None for application data)
    wire: bytes                   # handshake message bytes (with header) / CCS byte / plaintext
    record: bytes                 # the record(s) as sent: protected if keys were in use
    context: Context              # how to decode ``wire`` again (for the hex view)
    protected: bool               # was it encrypted on the wire?
    state: str = ""               # this side's state after the message (states.py)
    values: dict = field(default_factory=dict)   # name -> value shown at this message


@dataclass
class HandshakeData:
    """Everything one handshake knows, declared in one place (a field per fact, set once the
    handshake reaches it). Protocol code reads these; notebooks read ``Connection.values``."""
    version: str | None = None               # "1.2" or "1.3" once negotiated
    suite: CipherSuite | None = None
    transcript: Transcript = field(default_factory=Transcript)
    client_random: bytes = b""
    server_random: bytes = b""
    client_hello: ClientHello | None = None  # the (last) ClientHello, sent or received
    identity: pki.Identity | None = None     # our certificate and key for this handshake
    peer_key: object = None                  # the public key in the peer's certificate
    peer_schemes: tuple[int, ...] = ()       # signature schemes the peer offered / requested
    # key exchange
    key_shares: dict = field(default_factory=dict)   # 1.3 client: group code -> private key
    kx_group: object = None                  # 1.2 server: the (EC)DHE group of ServerKeyExchange
    kx_private: object = None                # 1.2 server: its private key for that group
    server_key_exchange: ServerKeyExchange | None = None   # 1.2 client
    hello_retry_group: int | None = None     # 1.3: the group a HelloRetryRequest asked for
    # secrets
    extended_master_secret: bool = False     # 1.2: RFC 7627 agreed by both
    encrypt_then_mac: bool = False           # 1.2 CBC: RFC 7366 agreed by both
    peer_record_size_limit: int | None = None    # RFC 8449: what the peer takes in a record
    record_size_limit: int | None = None     # RFC 8449: what we announced (and enforce)
    alpn_protocol: bytes | None = None       # RFC 7301: the application protocol agreed on
    master_secret: bytes = b""               # 1.2
    # 1.2 resumption
    resumed: bool = False                    # an abbreviated handshake (RFC 5246 §7.3, Figure 2)
    session: Session | None = None           # 1.2: the session made or resumed; 1.3 server: resumed
    offered_session: Session | None = None   # client: the session its ClientHello offered
    session_id: bytes = b""                  # the ServerHello's session ID
    session_ticket: bytes | None = None      # client: the session_ticket extension it sent
    ticket_expected: bool = False            # the ServerHello echoed session_ticket
    new_ticket: object = None                # client: the NewSessionTicket received
    pending_keys: tuple | None = None        # 1.2: (our write, our read) protection until CCS
    schedule: tls13.KeySchedule | None = None    # 1.3
    traffic_secrets: dict = field(default_factory=dict)   # 1.3 role -> current application secret
    # client authentication
    certificate_request: CertificateRequest | None = None  # client: what the server asked for
    client_certified: bool = False           # server: the client sent a certificate
    sent_compat_ccs: bool = False            # 1.3: middlebox-compatibility CCS already sent
    # resumption and 0-RTT (1.3)
    psk: bytes | None = None                 # the PSK both use, once the server accepted it
    psk_index: int = 0                       # server: which offered identity it chose
    psk_identity: bytes = b""                # server: that ticket, as the client sent it
    client_ticket_age: int = 0               # server: the age the client reports (ms, §4.2.11.1)
    early_data: str | None = None            # "offered", then "accepted" or "rejected"
    early_data_received: int = 0             # server: 0-RTT bytes taken so far
    early_data_skip: int | None = None       # server, 0-RTT rejected: bytes we may still skip
    skip_plaintext_early_data: bool = False  # server after HelloRetryRequest: skip every app-data record
    tickets_sent: int = 0


@dataclass
class Stats:
    """Application data, counted instead of kept."""
    records_sent: int = 0
    bytes_sent: int = 0
    records_received: int = 0
    bytes_received: int = 0


class Connection:
    """What both roles share. A role sets ``role``, its ``HANDLERS`` ({table version: {trigger:
    method}}, one entry per trigger its state tables list; a ``(state, trigger)`` key where one
    state handles a message differently) and starts in state START."""
    role = "?"
    HANDLERS: dict = {}

    def __init__(self, config):
        self.config = config
        self.rng = config.rng
        self.hs = HandshakeData()
        self.table_version = "1.3" if "1.3" in config.versions else "1.2"
        self.state = "START"
        self.walk = ["START"]             # every state entered, in order
        self.records = RecordLayer()
        self.values: dict[str, object] = {}   # every value shown so far (display only)
        self.keylog: list[str] = []
        self.log: list[Step] = []
        self.stats = Stats()
        self.handshake_complete = False
        self.closed = False          # no more records are read: the peer closed, or a check failed
        self.close_sent = False      # we sent close_notify; reading goes on (RFC 8446 §6.1)
        self.failed = False          # a fatal alert was sent or received
        self._handshake_buffer = b""
        self._pending_values: dict[str, object] = {}
        self._post_handshake_logged = 0
        self._out: list[tuple[Step, bytes]] = []
        self._events: list = []

    # -- read-only views ------------------------------------------------------------------------
    @property
    def version(self) -> str | None:
        return self.hs.version

    @property
    def suite(self) -> CipherSuite | None:
        return self.hs.suite

    def _now_ms(self) -> int:
        """The clock sessions are issued, aged and expired by: the configuration's ``clock`` (a
        lesson fixes it, so its bytes repeat), else its ``now`` (the certificates' clock, so a
        test can step forward), else the wall clock."""
        if self.config.clock is not None:
            return self.config.clock()
        now = self.config.now
        return sessions.now_ms() if now is None else int(now.timestamp() * 1000)


    @property
    def early_data_accepted(self) -> bool | None:
        """0-RTT: True / False once known, None if none was offered."""
        state = self.hs.early_data
        return None if state is None or state == "offered" else state == "accepted"

    @property
    def alpn_protocol(self) -> str | None:
        """The application protocol ALPN agreed on (RFC 7301), e.g. "h2"; None if none was."""
        chosen = self.hs.alpn_protocol
        return None if chosen is None else chosen.decode("ascii", "backslashreplace")

    @property
    def transcript(self) -> Transcript:
        return self.hs.transcript

    @property
    def resumed(self) -> bool:
        """Was this an abbreviated handshake (OpenSSL: "Reused" rather than "New")?"""
        return self.hs.resumed

    @property
    def session(self) -> Session | None:
        """The session made or resumed here, to keep for resuming later (None: none to keep)."""
        return self.hs.session

    @property
    def peer(self) -> str:
        return "server" if self.role == "client" else "client"

    @property
    def table(self) -> dict:
        return states.TABLES[(self.role, self.table_version)]

    def expected(self) -> list:
        """What the current state accepts from the peer (handshake types, or states.CCS)."""
        return states.received(self.table, self.state)

    # -- what the driver calls ------------------------------------------------------------------
    def receive(self, data: bytes) -> list:
        """Feed bytes from the peer; returns events. A failed check raises a TLSError after
        queueing the fatal alert a real stack sends (still fetch it with ``data_to_send``)."""
        if self.closed:
            return []
        self._events = []
        try:
            for rec in self.records.feed(data):
                self._receive_record(rec)
                if self.closed:
                    break
        except TLSError as error:
            self._fail(error)
            raise
        return self._events

    def data_to_send(self) -> bytes:
        out = b"".join(raw for _, raw in self._out)
        self._out.clear()
        return out

    def records_to_send(self) -> list[tuple[Step, bytes]]:
        """Like ``data_to_send`` but one (Step, record bytes) per message: for the tamper lab."""
        out, self._out = self._out, []
        return out

    def send(self, data: bytes) -> None:
        """Queue application data (after the handshake), cut into records of at most 2^14 bytes,
        or fewer if the peer's record_size_limit says so (RFC 8449)."""
        if not self.handshake_complete or self.failed or self.close_sent:
            raise TLSError("cannot send application data: "
                           + ("the handshake is not complete" if not self.handshake_complete
                              else "the connection is closed"))
        for piece in fragment(data, self._max_fragment()):
            self.stats.records_sent += 1
            self.stats.bytes_sent += len(piece)
            self._send_record(CT.application_data, piece, "ApplicationData", None)

    def export_keying_material(self, label: str, context: bytes | None, length: int,
                               early: bool = False) -> bytes:
        """Keying material for another protocol, bound to this connection: TLS 1.3 by RFC 8446
        §7.5 (from exporter_master_secret), TLS 1.2 by RFC 5705 (from the master secret; there
        ``None`` and ``b""`` differ). Both sides get the same bytes; OpenSSL's
        ``-keymatexport LABEL -keymatexportlen N`` prints them too. ``early=True``: from the
        early_exporter_master_secret of a 0-RTT handshake (usable before it completes, and — like
        the early data — not protected against replay)."""
        hs = self.hs
        if early:
            secret = hs.schedule.early_exporter_master_secret if hs.schedule else b""
            if hs.version == "1.2" or not secret:
                raise ValueError("no early exporter: this connection sent or took no early data")
            return tls13.export_keying_material(hs.schedule.suite.hash, secret, label, context,
                                                length)
        if not self.handshake_complete:
            raise ValueError("keying material can be exported once the handshake is complete")
        if hs.version == "1.3":
            return tls13.export_keying_material(hs.suite.hash, hs.schedule.exporter_master_secret,
                                                label, context, length)
        return tls12.export_keying_material(hs.master_secret, label, hs.client_random,
                                            hs.server_random, context, length, hs.suite)

    def close(self) -> None:
        """Send close_notify: "I will send no more" (RFC 8446 §6.1). Reading goes on until the
        peer's close_notify arrives; after it, close() is the reply RFC 5246 §7.2.1 asks for."""
        if not self.close_sent and not self.failed:
            self._send_alert(AD.close_notify, AlertLevel.warning)
            self.close_sent = True

    # -- states ---------------------------------------------------------------------------------
    def _enter(self, state: str) -> None:
        """Move to ``state``; the table must allow it (a failure here is a bug of ours)."""
        if state not in states.next_states(self.table, self.state):
            raise RuntimeError(f"{self.role}: no transition {self.state} -> {state} in the "
                               f"TLS {self.table_version} table")
        if not state == self.state == "CONNECTED":   # post-handshake loops: no endless walk
            self.walk.append(state)
        self.state = state
        if self.log:
            self.log[-1].state = state

    def _use_table(self, version: str) -> None:
        """The version is negotiated: go on in its table (the hello states are in both)."""
        self.table_version = version

    def _dispatch(self, trigger):
        """The handler the current state has for ``trigger`` (a handshake type, or states.CCS),
        or unexpected_message naming the state and the message."""
        if trigger not in self.table[self.state]:
            wanted = " or ".join(states.trigger_name(t) for t in self.expected()) or "nothing"
            raise AlertError(AD.unexpected_message, f"received {_message_name(trigger)} in "
                             f"state {self.state} (expected {wanted})", check="state")
        handlers = self.HANDLERS[self.table_version]
        return handlers.get((self.state, trigger)) or handlers[trigger]

    # -- sending --------------------------------------------------------------------------------
    def _max_fragment(self) -> int:
        """The most plaintext a protected record of ours may carry: 2^14, or the peer's
        record_size_limit — in TLS 1.3 minus the content type byte (RFC 8449 §4)."""
        limit = self.hs.peer_record_size_limit
        if limit is None:
            return MAX_PLAINTEXT
        return limit - 1 if self.hs.version == "1.3" else limit

    def _send_record(self, content_type: int, payload: bytes, name: str, message,
                     context: Context | None = None, values: dict | None = None) -> None:
        protected = self.records.write_protected
        if self.hs.peer_record_size_limit is not None and len(payload) > self._max_fragment():
            # RFC 8449 §4 limits protected records only, but GnuTLS 3.7 holds a TLS 1.2 server's
            # plaintext Certificate to it too: cut every record; a message may span several
            rec = b"".join(self.records.seal(content_type, piece)
                           for piece in fragment(payload, self._max_fragment()))
        else:
            rec = self.records.seal(content_type, payload)
        step = Step(self.role, name, message, payload, rec, context or self._context(),
                    protected, self.state)
        self._log(step, values)
        self._out.append((step, rec))

    def _send_handshake(self, message, values: dict | None = None, in_transcript: bool = True):
        raw = encode_handshake(message)
        if in_transcript:       # post-handshake messages are not part of the transcript
            self.hs.transcript.add(raw)
        self._send_record(CT.handshake, raw, type(message).__name__, message, values=values)

    def _send_stage(self, stage) -> None:
        """Send a stage function's message, with the values it brought into being."""
        self._send_handshake(stage.message, stage.values)

    def _send_ccs(self) -> None:
        self._send_record(CT.change_cipher_spec, b"\x01", "ChangeCipherSpec", ChangeCipherSpec())

    def _send_alert(self, description: int, level: int = AlertLevel.fatal) -> None:
        alert = Alert(level, description)
        self._send_record(CT.alert, alert.encode(), "Alert", alert)

    def _fail(self, error: TLSError) -> None:
        self.failed = True
        if not self.closed:
            self.closed = True
            if not getattr(error, "received", False):
                try:
                    self._send_alert(error.alert)
                except Exception:       # never let the alert hide the error that caused it
                    pass

    def _context(self) -> Context:
        return _context(self.hs.version or "1.2", self.hs.suite.kx if self.hs.suite else None,
                        self.hs.encrypt_then_mac)

    # -- what the lessons see -------------------------------------------------------------------
    def _log(self, step: Step, values: dict | None = None) -> None:
        """Keep the step (the handshake always; application data only if asked for), with the
        values shown since the last one."""
        if step.name == "ApplicationData" and not self.config.log_records:
            return
        if self.handshake_complete and step.message is not None and step.name != "Alert":
            self._post_handshake_logged += 1
            if self._post_handshake_logged > MAX_LOGGED_POST_HANDSHAKE:
                return
        step.values.update(self._pending_values)
        self._pending_values = {}
        if values:
            self._show(values, step)
        self.log.append(step)

    def _show(self, values: dict, step: Step | None = None) -> None:
        """Record values for the notebooks: with ``step``, or the last logged step (the message
        whose handling brought them into being), or the next one if nothing is logged yet."""
        self.values.update(values)
        target = step or (self.log[-1] if self.log else None)
        (target.values if target is not None else self._pending_values).update(values)

    # -- receiving --------------------------------------------------------------------------------
    def _receive_record(self, rec) -> None:
        if self.hs.early_data_skip is not None and rec.content_type == CT.application_data:
            if self._skip_rejected_early_data(rec):
                return
        content_type, plaintext = self.records.open(rec)
        limit = self.hs.record_size_limit
        if limit is not None and self.records.read_protected and \
                len(plaintext) + (self.hs.version == "1.3") > limit:
            raise AlertError(AD.record_overflow, f"record of {len(plaintext)} bytes of plaintext "
                             f"exceeds our record_size_limit of {limit}",   # RFC 8449 §4
                             check="record_length")
        if self._handshake_buffer and content_type != CT.handshake:
            # RFC 8446 §5.1 (and RFC 5246 §6.2.1): a handshake message split over records may
            # not have records of another type in between
            raise AlertError(AD.unexpected_message, f"{name_of(CT, content_type)} record inside "
                             "a fragmented handshake message", check="record_boundary")
        if content_type == CT.handshake:
            self._receive_handshake_bytes(plaintext, rec)
        elif content_type == CT.change_cipher_spec:
            self._receive_change_cipher_spec(plaintext, rec)
        elif content_type == CT.alert:
            self._receive_alert(plaintext, rec)
        elif content_type == CT.application_data and self.state == "WAIT_EOED":
            self._receive_early_data(plaintext, rec)
        elif content_type == CT.application_data:
            if not self.handshake_complete:
                raise AlertError(AD.unexpected_message,
                                 f"application data in state {self.state}", check="state")
            self.stats.records_received += 1
            self.stats.bytes_received += len(plaintext)
            self._log_received("ApplicationData", None, plaintext, rec)
            self._events.append(ApplicationData(plaintext))
        else:
            raise AlertError(AD.unexpected_message, f"record of unknown type {content_type}",
                             check="record_type")

    def _skip_rejected_early_data(self, rec) -> bool:
        """RFC 8446 §4.2.10: a server that rejected 0-RTT skips the client's early data — records
        it cannot decrypt with the handshake key (or, after a HelloRetryRequest, every
        application-data record) — up to max_early_data bytes; more is unexpected_message."""
        hs = self.hs
        if not hs.skip_plaintext_early_data:
            try:
                self.records.read.open(rec, self.records.read.seq)   # a trial: seq stays
                hs.early_data_skip = None            # the first record that decrypts: done
                return False
            except AlertError as error:
                if error.check != "record_mac":
                    raise
        hs.early_data_skip -= len(rec.fragment)
        if hs.early_data_skip < 0:
            raise AlertError(AD.unexpected_message, "more rejected early data than "
                             "max_early_data_size allows", check="early_data")
        return True

    def _receive_early_data(self, plaintext: bytes, rec) -> None:
        """RFC 8446 §4.2.10: accepted 0-RTT data, at most max_early_data_size bytes of it."""
        self.hs.early_data_received += len(plaintext)
        if self.hs.early_data_received > self.config.max_early_data:
            raise AlertError(AD.unexpected_message, f"{self.hs.early_data_received} bytes of "
                             f"early data, more than the {self.config.max_early_data} allowed",
                             check="early_data")
        self._log(Step(self.peer, "EarlyData", None, plaintext, rec.encode(), self._context(),
                       True, self.state))
        self._events.append(EarlyData(plaintext))

    def _receive_handshake_bytes(self, plaintext: bytes, rec) -> None:
        """Handshake messages can span records and records can hold several: reassemble."""
        self._handshake_buffer += plaintext
        while len(self._handshake_buffer) >= 4:
            length = int.from_bytes(self._handshake_buffer[1:4], "big")
            if length > MAX_HANDSHAKE_MESSAGE:    # refused at its header, as OpenSSL does
                self._dispatch(self._handshake_buffer[0])        # (a wrong type first), but
                raise AlertError(AD.decode_error,   # with the RFC's alert (RFC 8446 §6; OpenSSL
                                 f"handshake message of {length} bytes (at most "   # sends
                                 f"{MAX_HANDSHAKE_MESSAGE} accepted)",   # illegal_parameter)
                                 check="message_length")
            if len(self._handshake_buffer) < 4 + length:
                break
            raw = self._handshake_buffer[:4 + length]
            self._handshake_buffer = self._handshake_buffer[4 + length:]
            self._receive_handshake(raw, rec)

    def _receive_handshake(self, raw: bytes, rec) -> None:
        handler = self._dispatch(raw[0])
        message = decode_handshake(raw, self._context())
        self._log_received(type(message).__name__, message, raw, rec)
        handler(self, message, raw)

    def _receive_change_cipher_spec(self, plaintext: bytes, rec) -> None:
        if plaintext != b"\x01":
            raise AlertError(AD.unexpected_message, "ChangeCipherSpec is not the byte 1",
                             check="change_cipher_spec")
        if self.hs.version == "1.3":     # RFC 8446 §5: a middlebox-compatibility CCS is ignored
            if self.handshake_complete:
                raise AlertError(AD.unexpected_message, "ChangeCipherSpec after the handshake",
                                 check="change_cipher_spec")
            return
        handler = self._dispatch(states.CCS)
        if self._handshake_buffer:
            raise AlertError(AD.unexpected_message, "ChangeCipherSpec inside a handshake message",
                             check="change_cipher_spec")
        self._log_received("ChangeCipherSpec", ChangeCipherSpec(), plaintext, rec)
        handler(self)

    def _receive_alert(self, payload: bytes, rec) -> None:
        if len(payload) != 2:
            # OpenSSL 3 (ssl3_read_bytes, SSL_R_INVALID_ALERT) answers unexpected_message
            raise AlertError(AD.unexpected_message, f"alert of {len(payload)} bytes, not 2",
                             check="alert")
        level, description = payload
        self._log_received("Alert", Alert(level, description), payload, rec)
        if description == AD.close_notify:
            self.closed = True
            self._events.append(ConnectionClosed())
            return
        if description == AD.user_canceled and level == AlertLevel.warning:
            return        # RFC 8446 §6.1: a closure alert; close_notify should follow
        try:
            alert = AD(description)
        except ValueError:
            alert = AD.internal_error
        raise AlertError(alert, "", received=True)

    def _log_received(self, name: str, message, wire: bytes, rec) -> None:
        if name == "ApplicationData" and not self.config.log_records:
            return                        # counted in stats; not worth a Step (a copy of the record)
        self._log(Step(self.peer, name, message, wire, rec.encode(), self._context(),
                       self.records.read_protected, self.state))

    # -- stages both roles run alike ----------------------------------------------------------------
    def _complete(self) -> None:
        self._enter("CONNECTED")
        self.handshake_complete = True
        self._events.append(HandshakeComplete(self.hs.version, self.hs.suite))

    def _validate_peer(self, cert_msg: Certificate, trusted, hostname) -> object:
        """The peer's certificate chain, checked against ``trusted``: its public key."""
        chain = [pki.load_der_certificate(der) for der in cert_msg.certificate_list]
        report = pki.validate_chain(chain, trusted, hostname=hostname, purpose=self.peer,
                                    now=self.config.now,
                                    # only a server's key receives the RSA pre-master
                                    rsa_key_exchange=self.peer == "server"
                                    and self.hs.suite.kx == "RSA")
        self._show({f"{self.peer}_certificate_checks": report})
        return chain[0].public_key()

    def _check_finished(self, message: Finished, expected: bytes, raw: bytes) -> None:
        if len(message.verify_data) != len(expected):     # RFC 8446 §6: a wrong length is
            raise DecodeError("verify_data", 4, f"{len(message.verify_data)} bytes, "   # decode_error
                              f"not {len(expected)}")
        if message.verify_data != expected:
            raise AlertError(AD.decrypt_error,
                             f"{self.peer} Finished: verify_data does not match the transcript",
                             check="finished")
        self._show({f"{self.peer}_verify_data": message.verify_data})
        self.hs.transcript.add(raw)

    # TLS 1.2 ------------------------------------------------------------------------------------
    def _tls12_master_secret(self, pre_master: bytes) -> None:
        """Master secret (with RFC 7627's session hash when both agreed on EMS), the key block,
        and the record protection each direction switches to at its ChangeCipherSpec."""
        hs = self.hs
        if hs.extended_master_secret:
            session_hash = hs.transcript.hash(hs.suite.hash)
            hs.master_secret = tls12.extended_master_secret(pre_master, session_hash, hs.suite)
            self._show({"session_hash": session_hash})
        else:
            hs.master_secret = tls12.master_secret(pre_master, hs.client_random,
                                                   hs.server_random, hs.suite)
        self._show({"pre_master_secret": pre_master})
        self._tls12_keys()

    def _tls12_keys(self) -> None:
        """From the master secret (new, or the resumed session's) and this connection's two
        randoms: the key block and the protection each direction switches to at its CCS."""
        hs = self.hs
        self.keylog.append(keylog.line("CLIENT_RANDOM", hs.client_random, hs.master_secret))
        kb = tls12.key_block(hs.master_secret, hs.client_random, hs.server_random, hs.suite)
        self._show({"master_secret": hs.master_secret, "key_block": kb})

        def protection(mac_key, key, iv):
            if hs.suite.aead:
                return AEAD12(hs.suite, key, iv)
            if hs.encrypt_then_mac:                   # RFC 7366 §3
                return CBC12EtM(hs.suite, key, mac_key, self.rng)
            return CBC12(hs.suite, key, mac_key, self.rng)
        client = protection(kb.client_write_mac_key, kb.client_write_key, kb.client_write_iv)
        server = protection(kb.server_write_mac_key, kb.server_write_key, kb.server_write_iv)
        hs.pending_keys = (client, server) if self.role == "client" else (server, client)

    def _tls12_finished(self, sender: str):
        hs = self.hs
        return tls12.finished(hs.master_secret, sender, hs.transcript.hash(hs.suite.hash),
                              hs.suite)

    def _send_ccs_and_finished12(self) -> None:
        """ChangeCipherSpec, then our Finished under the new keys."""
        self._send_ccs()
        self.records.write = self.hs.pending_keys[0]
        self._send_stage(self._tls12_finished(self.role))

    def on_change_cipher_spec(self) -> None:
        """TLS 1.2: the peer's next records use the new keys (RFC 5246 §7.1)."""
        self.records.read = self.hs.pending_keys[1]
        self._enter("WAIT_FINISHED")

    # TLS 1.3 ------------------------------------------------------------------------------------
    def _keylog13(self, *names, schedule=None) -> None:
        labels = {"client_handshake_traffic_secret": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                  "server_handshake_traffic_secret": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                  "client_application_traffic_secret_0": "CLIENT_TRAFFIC_SECRET_0",
                  "server_application_traffic_secret_0": "SERVER_TRAFFIC_SECRET_0",
                  "exporter_master_secret": "EXPORTER_SECRET",
                  "client_early_traffic_secret": "CLIENT_EARLY_TRAFFIC_SECRET",
                  "early_exporter_master_secret": "EARLY_EXPORTER_SECRET"}
        for name in names:
            self.keylog.append(keylog.line(labels[name], self.hs.client_random,
                                           getattr(schedule or self.hs.schedule, name)))

    def _protection13(self, which: str) -> AEAD13:
        key, iv = self.hs.schedule.keys[which]
        return AEAD13(self.hs.suite, key, iv)

    def _transcript_hash(self) -> bytes:
        return self.hs.transcript.hash(self.hs.suite.hash)

    def _restart_transcript(self) -> None:
        """RFC 8446 §4.4.1: after a HelloRetryRequest the first ClientHello is replaced in the
        transcript by a synthetic message_hash holding only its hash."""
        first = self._transcript_hash()
        self.hs.transcript = Transcript()
        self.hs.transcript.add(tls13.message_hash(first))

    def _start_schedule13(self, shared_secret: bytes | None,
                          early_hello_hash: bytes | None = None) -> None:
        """After ServerHello: the key schedule up to the handshake traffic secrets — from the PSK
        (if one was accepted) and the (EC)DHE secret (HashLen zeros in psk_ke mode, §7.1). A
        server taking 0-RTT passes the ClientHello's hash for the early secrets too."""
        before = self.hs.schedule
        s = self.hs.schedule = tls13.KeySchedule(self.hs.suite)
        derived = s.start(self.hs.psk)
        if early_hello_hash is not None:
            derived.update(s.early(early_hello_hash))
            self._keylog13("client_early_traffic_secret", "early_exporter_master_secret")
        elif before is not None and before.client_early_traffic_secret and \
                before.early_secret == s.early_secret:
            # a client that sent 0-RTT under this PSK: its early secrets stay in the schedule
            s.client_early_traffic_secret = before.client_early_traffic_secret
            s.early_exporter_master_secret = before.early_exporter_master_secret
            s.keys["client_early"] = before.keys["client_early"]
        if shared_secret is None:
            shared_secret = bytes(len(derived["early_secret"]))
        derived.update(s.handshake(shared_secret, self._transcript_hash()))
        self._show({"shared_secret": shared_secret, **derived, "schedule": s})
        self._keylog13("client_handshake_traffic_secret", "server_handshake_traffic_secret")

    def _application_secrets13(self) -> None:
        """After the server's Finished: master secret and application traffic secrets."""
        self._show(self.hs.schedule.application(self._transcript_hash()))
        self._keylog13("client_application_traffic_secret_0",
                       "server_application_traffic_secret_0", "exporter_master_secret")

    def _resumption_secret13(self) -> None:
        """After the client's Finished; and from now on KeyUpdate moves these secrets on."""
        s = self.hs.schedule
        self._show(s.resumption(self._transcript_hash()))
        self.hs.traffic_secrets = {"client": s.client_application_traffic_secret_0,
                                   "server": s.server_application_traffic_secret_0}

    def _send_compat_ccs(self) -> None:
        """RFC 8446 App. D.4: a client that sent a legacy_session_id, and the server answering
        it, send one dummy ChangeCipherSpec before their first encrypted flight."""
        if self.hs.client_hello.session_id and not self.hs.sent_compat_ccs:
            self.hs.sent_compat_ccs = True
            self._send_ccs()

    def _check_certificate_verify13(self, message, raw: bytes, offered) -> None:
        tls13.verify_certificate_verify(message, self.hs.peer_key, self._transcript_hash(),
                                        self.peer, offered)
        self.hs.transcript.add(raw)

    def on_renegotiation(self, message, raw: bytes) -> None:
        """TLS 1.2 after the handshake: a HelloRequest (to the client) or a new ClientHello (to
        the server) asks to renegotiate. We don't (RFC 5746 made it safe, TLS 1.3 removed it):
        RFC 5246 §7.4.1.1 / §7.4.1.2 let us decline with a warning no_renegotiation and go on."""
        self._send_alert(AD.no_renegotiation, AlertLevel.warning)
        self._enter("CONNECTED")

    def on_key_update(self, message: KeyUpdate, raw: bytes) -> None:
        """RFC 8446 §4.6.3: the peer now writes with the next secret; answer if it asks."""
        hs = self.hs
        if self._handshake_buffer:       # RFC 8446 §5.1: a key change must end its record
            raise AlertError(AD.unexpected_message, "KeyUpdate is not at the end of its record",
                             check="record_boundary")
        secret = hs.traffic_secrets[self.peer] = tls13.next_traffic_secret(
            hs.suite, hs.traffic_secrets[self.peer])
        self.records.read = AEAD13(hs.suite, *tls13.traffic_keys(hs.suite, secret))
        self._enter("CONNECTED")
        self._events.append(PostHandshakeMessage(message))
        if message.request_update:
            self.update_keys(request_update=False)

    def update_keys(self, request_update: bool = False) -> None:
        """Send KeyUpdate and switch our write key to the next generation (TLS 1.3)."""
        hs = self.hs
        if hs.version != "1.3" or not self.handshake_complete:
            raise ValueError("KeyUpdate needs a completed TLS 1.3 handshake")
        self._send_handshake(KeyUpdate(int(request_update)), in_transcript=False)
        secret = hs.traffic_secrets[self.role] = tls13.next_traffic_secret(
            hs.suite, hs.traffic_secrets[self.role])
        self.records.write = AEAD13(hs.suite, *tls13.traffic_keys(hs.suite, secret))


@functools.lru_cache(maxsize=None)
def _context(version: str, kx: str | None, etm: bool = False) -> Context:
    """How to decode a message of this version / key exchange (a handful of these, made once)."""
    return Context(version, kx, etm)


def hash_after(messages, extra: bytes, hash_name: str) -> bytes:
    """Transcript-Hash(``messages`` + ``extra``), leaving the transcript they came from as it
    is: what a PSK binder covers (RFC 8446 §4.2.11.2)."""
    copy = Transcript()
    for message in messages:
        copy.add(message)
    copy.add(extra)
    return copy.hash(hash_name)


def _message_name(trigger) -> str:
    if trigger == states.CCS:
        return trigger
    try:
        return states.trigger_name(HT(trigger))
    except ValueError:
        return f"handshake message type {trigger}"


# ================================================================================================
@dataclass
class Handshake:
    """An in-memory handshake: both connections and every message in the order it was sent."""
    client: object
    server: object
    steps: list[Step]
    error: TLSError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.client.handshake_complete and \
            self.server.handshake_complete


def handshake(client_config: ClientConfig | None = None,
              server_config: ServerConfig | None = None, tamper=None,
              max_rounds: int = 20) -> Handshake:
    """Run a whole handshake between our client and our server, no sockets.

    ``tamper(step, record) -> record`` may change any record in flight (the tamper lab). A failed
    check does not raise: it is returned in ``.error`` (and the alert is in ``steps``)."""
    from .client import ClientConnection     # the roles build on this module
    from .server import ServerConnection
    client, server = ClientConnection(client_config), ServerConnection(server_config)
    steps: list[Step] = []
    result = Handshake(client, server, steps)
    try:
        client.start()
        for _ in range(max_rounds):
            moved = False
            for sender, receiver in ((client, server), (server, client)):
                for step, rec in sender.records_to_send():
                    steps.append(step)
                    if tamper is not None:
                        rec = tamper(step, rec)
                    moved = True
                    receiver.receive(rec)
            if not moved:
                break
    except TLSError as error:
        result.error = error
        for conn in (client, server):           # the alert that was sent, for the ladder
            steps.extend(step for step, _ in conn.records_to_send())
    return result
