"""Sans-IO TLS connections: bytes in, bytes out, and the only objects in the package with state.

``ClientConnection`` and ``ServerConnection`` call the same stage functions a notebook calls
(``hello``, ``tls12``, ``tls13``, ``keyexchange``, ``record``) in the order the RFCs give. They never
touch a socket: ``receive(data)`` takes what arrived and returns events, ``data_to_send()`` hands
back what to write. ``net.py`` drives them over TCP; ``handshake()`` drives a pair in memory.

Everything they do is logged (``log``: every message as a ``Step``) and every intermediate value is
kept (``values``), which is what the notebooks' explorer and ladder diagram show.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Callable

from . import extensions as ext
from . import hello as hello_stage
from . import keyexchange, keylog, pki, signatures, tls12, tls13
from .constants import (AlertDescription as AD, AlertLevel, ContentType as CT,
                        DOWNGRADE_TLS12, ExtensionType as ET, HandshakeType as HT,
                        NamedGroup, ProtocolVersion)
from .errors import AlertError, TLSError
from .messages import (Alert, Certificate, CertificateRequest, CertificateVerify,
                       ChangeCipherSpec, ClientHello, Context, EncryptedExtensions, Finished,
                       KeyUpdate, ServerHello, ServerHelloDone, decode_handshake, encode_handshake)
from .prf import Transcript
from .record import (AEAD12, AEAD13, CBC12, MAX_PLAINTEXT, NullProtection, RecordBuffer,
                     fragment)
from .rng import SystemRandom
from .suites import SUITES, CipherSuite

DEFAULT_GROUPS = (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.ffdhe2048)
# A peer could announce a 16 MiB message and make us buffer it: OpenSSL's largest limit per
# message is the ClientHello's (CLIENT_HELLO_MAX_LENGTH); a certificate chain gets 100 KiB.
MAX_HANDSHAKE_MESSAGE = 131396


def _lesson_trust():
    return pki.lesson_pki().trusted


@dataclass
class ClientConfig:
    versions: tuple[str, ...] = ("1.3", "1.2")
    suites: tuple[CipherSuite, ...] = SUITES
    groups: tuple[int, ...] = DEFAULT_GROUPS
    key_share_groups: tuple[int, ...] | None = None    # TLS 1.3 shares sent up front (default: first group)
    server_name: str | None = "localhost"              # SNI, and the name checked in the certificate
    trusted: list | None = None                        # trust anchors (None: the lesson CA)
    verify: bool = True                                # False: skip certificate validation (never for real)
    identity: pki.Identity | None = None               # client certificate, if asked for one
    ems: bool = True                                   # offer extended_master_secret (RFC 7627)
    signature_schemes: tuple[int, ...] = signatures.SUPPORTED
    now: _dt.datetime | None = None                    # clock for certificate validity (None: now)
    session_id: bytes | None = None                    # None: 32 random bytes when offering 1.3
    rng: object = field(default_factory=SystemRandom)
    # Lesson/test hook: rewrite the ClientHello before it is sent (reproduce another client's
    # exact bytes, or play the attacker who strips TLS 1.3 from the offer).
    customize_hello: Callable[[ClientHello], ClientHello] | None = None


@dataclass
class ServerConfig:
    identities: tuple[pki.Identity, ...] = ()          # () : the lesson RSA and ECDSA servers
    versions: tuple[str, ...] = ("1.3", "1.2")
    suites: tuple[CipherSuite, ...] = SUITES
    groups: tuple[int, ...] = DEFAULT_GROUPS
    client_ca: list | None = None                      # set: require a client certificate from this CA
    ems: bool = True
    signature_schemes: tuple[int, ...] = signatures.SUPPORTED
    now: _dt.datetime | None = None
    rng: object = field(default_factory=SystemRandom)

    def __post_init__(self):
        if not self.identities:
            lesson = pki.lesson_pki()
            # Lesson mode puts the ECDSA certificate first: TLS 1.3 then signs with deterministic
            # ECDSA (RFC 6979) instead of salted RSA-PSS, so every value of the run is reproducible.
            self.identities = ((lesson.ecdsa_server, lesson.rsa_server)
                               if self.rng.deterministic else
                               (lesson.rsa_server, lesson.ecdsa_server))


# -- events -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HandshakeComplete:
    version: str
    suite: CipherSuite


@dataclass(frozen=True)
class ApplicationData:
    data: bytes


@dataclass(frozen=True)
class PostHandshakeMessage:
    message: object


@dataclass(frozen=True)
class ConnectionClosed:
    """The peer sent close_notify."""


@dataclass(frozen=True)
class Step:
    """One message as it went over the wire: who sent it, what it was, its bytes."""
    sender: str                   # "client" or "server"
    name: str                     # "ClientHello", "ChangeCipherSpec", "ApplicationData", ...
    message: object               # the dataclass (None for CCS / application data)
    wire: bytes                   # handshake message bytes (with header) / CCS byte / plaintext
    record: bytes                 # the record(s) as sent: protected if keys were in use
    context: Context              # how to decode ``wire`` again (for the hex view)
    protected: bool               # was it encrypted on the wire?


class Connection:
    role = "?"

    def __init__(self, config):
        self.config = config
        self.rng = config.rng
        self.version: str | None = None
        self.suite: CipherSuite | None = None
        self.transcript = Transcript()
        self.values: dict[str, object] = {}
        self.keylog: list[str] = []
        self.log: list[Step] = []
        self.handshake_complete = False
        self.closed = False          # no more records are read: the peer closed, or a check failed
        self.close_sent = False      # we sent close_notify; reading goes on (RFC 8446 §6.1)
        self.failed = False          # a fatal alert was sent or received
        self.expected: tuple[int, ...] = ()
        self._records = RecordBuffer()
        self._handshake_buffer = b""
        self._read = NullProtection()
        self._write = NullProtection()
        self._out: list[tuple[Step, bytes]] = []
        self._events: list = []
        self._record_version = ProtocolVersion.TLS12
        self._expect_ccs = False

    # -- what the driver calls ------------------------------------------------------------------
    def receive(self, data: bytes) -> list:
        """Feed bytes from the peer; returns events. A failed check raises a TLSError after
        queueing the fatal alert a real stack sends (still fetch it with ``data_to_send``)."""
        if self.closed:
            return []
        self._events = []
        self._records.feed(data)
        try:
            while not self.closed and (rec := self._records.next_record()) is not None:
                self._receive_record(rec)
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
        """Queue application data (after the handshake), cut into records of at most 2^14 bytes."""
        if not self.handshake_complete or self.failed or self.close_sent:
            raise TLSError("cannot send application data: "
                           + ("the handshake is not complete" if not self.handshake_complete
                              else "the connection is closed"))
        for piece in fragment(data):
            self._send_record(CT.application_data, piece, "ApplicationData", None)

    def close(self) -> None:
        """Send close_notify: "I will send no more" (RFC 8446 §6.1). Reading goes on until the
        peer's close_notify arrives; after it, close() is the reply RFC 5246 §7.2.1 asks for."""
        if not self.close_sent and not self.failed:
            self._send_alert(AD.close_notify, AlertLevel.warning)
            self.close_sent = True

    # -- records --------------------------------------------------------------------------------
    def _send_record(self, content_type: int, payload: bytes, name: str, message,
                     context: Context | None = None) -> None:
        protected = not isinstance(self._write, NullProtection)
        rec = self._write.seal(content_type, self._record_version, payload).encode()
        step = Step(self.role, name, message, payload, rec, context or self._context(), protected)
        self.log.append(step)
        self._out.append((step, rec))

    def _send_handshake(self, message) -> bytes:
        raw = encode_handshake(message)
        self.transcript.add(raw)
        self._send_record(CT.handshake, raw, type(message).__name__, message)
        return raw

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
        return Context(self.version or "1.2", self.suite.kx if self.suite else None)

    def _check_record_version(self, rec) -> None:
        """As OpenSSL 3 does (ssl3_get_record): the first record from the peer may carry any 3.x
        (RFC 5246 App. E.1; our version is unknown until it arrives); after that a TLS 1.2 record
        must say 0x0303 (protocol_version). TLS 1.3 ignores the field (RFC 8446 §5.1) on
        plaintext records; OpenSSL wants 0x0303 once keys are in use."""
        if rec.version != ProtocolVersion.TLS12:
            if self.version == "1.2":
                raise AlertError(AD.protocol_version,
                                 f"record version 0x{rec.version:04x} in a TLS 1.2 connection")
            if isinstance(self._read, AEAD13):
                raise AlertError(AD.decode_error,
                                 f"protected TLS 1.3 record with version 0x{rec.version:04x}")

    def _receive_record(self, rec) -> None:
        self._check_record_version(rec)
        tls13_ccs = (self.version == "1.3" and rec.content_type == CT.change_cipher_spec)
        if tls13_ccs:          # RFC 8446 §5: a middlebox-compatibility CCS is ignored
            if rec.fragment != b"\x01" or self.handshake_complete:
                raise AlertError(AD.unexpected_message, "unexpected ChangeCipherSpec in TLS 1.3")
            return
        if (self.version == "1.3" and rec.content_type == CT.alert and not self.handshake_complete
                and getattr(self._read, "seq", 0) == 0):
            # A 1.3 client that fails on the server's flight has no write keys yet, so its alert
            # comes in the clear (ours and OpenSSL's); OpenSSL accepts it until the peer's first
            # protected record (ENC_READ_STATE_ALLOW_PLAIN_ALERTS in ssl3_get_record).
            return self._receive_alert(rec.fragment, rec)
        content_type, plaintext = self._read.open(rec)
        if len(plaintext) > MAX_PLAINTEXT:   # RFC 5246 §6.2.1, RFC 8446 §5.1; OpenSSL's
            raise AlertError(AD.record_overflow,   # SSL_R_DATA_LENGTH_TOO_LONG, in the clear too
                             f"record of {len(plaintext)} bytes of plaintext exceeds 2^14")
        if content_type == CT.handshake:
            self._receive_handshake_bytes(plaintext, rec)
        elif content_type == CT.change_cipher_spec:
            self._receive_change_cipher_spec(plaintext, rec)
        elif content_type == CT.alert:
            self._receive_alert(plaintext, rec)
        elif content_type == CT.application_data:
            if not self.handshake_complete:
                raise AlertError(AD.unexpected_message, "application data before the handshake ended")
            self._log_received("ApplicationData", None, plaintext, rec)
            self._events.append(ApplicationData(plaintext))
        else:
            raise AlertError(AD.unexpected_message, f"record of unknown type {content_type}")

    def _receive_handshake_bytes(self, plaintext: bytes, rec) -> None:
        """Handshake messages can span records and records can hold several: reassemble."""
        self._handshake_buffer += plaintext
        while len(self._handshake_buffer) >= 4:
            length = int.from_bytes(self._handshake_buffer[1:4], "big")
            if length > MAX_HANDSHAKE_MESSAGE:    # refused at its header, as OpenSSL does:
                self._check_expected(self._handshake_buffer[0])   # a wrong type first, then
                raise AlertError(AD.illegal_parameter,   # SSL_R_EXCESSIVE_MESSAGE_SIZE
                                 f"handshake message of {length} bytes (at most "
                                 f"{MAX_HANDSHAKE_MESSAGE} accepted)")
            if len(self._handshake_buffer) < 4 + length:
                break
            raw = self._handshake_buffer[:4 + length]
            self._handshake_buffer = self._handshake_buffer[4 + length:]
            self._receive_handshake(raw, rec)

    def _receive_change_cipher_spec(self, plaintext: bytes, rec) -> None:
        if plaintext != b"\x01" or not self._expect_ccs:
            raise AlertError(AD.unexpected_message, "unexpected ChangeCipherSpec")
        if self._handshake_buffer:
            raise AlertError(AD.unexpected_message, "ChangeCipherSpec inside a handshake message")
        self._log_received("ChangeCipherSpec", ChangeCipherSpec(), plaintext, rec)
        self._expect_ccs = False
        self._on_change_cipher_spec()

    def _receive_alert(self, payload: bytes, rec) -> None:
        if len(payload) != 2:
            # OpenSSL 3 (ssl3_read_bytes, SSL_R_INVALID_ALERT) answers unexpected_message
            raise AlertError(AD.unexpected_message, f"alert of {len(payload)} bytes, not 2")
        level, description = payload
        self._log_received("Alert", Alert(level, description), payload, rec)
        if description == AD.close_notify:
            self.closed = True
            self._events.append(ConnectionClosed())
            return
        try:
            alert = AD(description)
        except ValueError:
            alert = AD.internal_error
        raise AlertError(alert, "", received=True)

    def _receive_handshake(self, raw: bytes, rec) -> None:
        msg_type = raw[0]
        self._check_expected(msg_type)
        message = decode_handshake(raw, self._context())
        self._log_received(type(message).__name__, message, raw, rec)
        self._handlers[msg_type](self, message, raw)

    def _check_expected(self, msg_type: int) -> None:
        if msg_type not in self.expected:
            names = " or ".join(HT(t).name for t in self.expected) or "nothing"
            try:
                got = HT(msg_type).name
            except ValueError:
                got = f"message type {msg_type}"
            raise AlertError(AD.unexpected_message, f"received {got}, expected {names}")

    def _log_received(self, name: str, message, wire: bytes, rec) -> None:
        peer = "server" if self.role == "client" else "client"
        self.log.append(Step(peer, name, message, wire, rec.encode(), self._context(),
                             not isinstance(self._read, NullProtection)))

    # -- shared stages --------------------------------------------------------------------------
    def _set_value(self, **values) -> None:
        self.values.update(values)

    def _complete(self) -> None:
        self.handshake_complete = True
        self.expected = (HT.new_session_ticket, HT.key_update) if self.version == "1.3" else ()
        self._events.append(HandshakeComplete(self.version, self.suite))

    def _validate_peer(self, cert_msg: Certificate, trusted, hostname, purpose: str):
        chain = [pki.load_der_certificate(der) for der in cert_msg.certificate_list]
        report = pki.validate_chain(chain, trusted, hostname=hostname, purpose=purpose,
                                    now=self.config.now,
                                    # only a server's key receives the RSA pre-master
                                    rsa_key_exchange=purpose == "server" and self.suite.kx == "RSA")
        self._set_value(**{f"{purpose}_certificate_checks": report})
        return chain[0].public_key()

    def _install_tls12_keys(self) -> None:
        """Key block -> record protection for both directions (takes effect at CCS)."""
        kb = tls12.key_block(self.values["master_secret"], self.values["client_random"],
                             self.values["server_random"], self.suite)
        self._set_value(key_block=kb)

        def protection(mac_key, key, iv):
            if self.suite.aead:
                return AEAD12(self.suite, key, iv)
            return CBC12(self.suite, key, mac_key, self.rng if self.rng.deterministic else None)
        client = protection(kb.client_write_mac_key, kb.client_write_key, kb.client_write_iv)
        server = protection(kb.server_write_mac_key, kb.server_write_key, kb.server_write_iv)
        self._pending_write, self._pending_read = ((client, server) if self.role == "client"
                                                   else (server, client))

    def _on_change_cipher_spec(self) -> None:
        self._read = self._pending_read
        self.expected = (HT.finished,)

    def _tls12_master_secret(self, pre_master: bytes) -> None:
        """Master secret, with RFC 7627's session hash when both sides agreed on EMS."""
        cr, sr = self.values["client_random"], self.values["server_random"]
        if self.values["extended_master_secret"]:
            session_hash = self.transcript.hash(self.suite.hash)
            master = tls12.extended_master_secret(pre_master, session_hash, self.suite)
            self._set_value(session_hash=session_hash)
        else:
            master = tls12.master_secret(pre_master, cr, sr, self.suite)
        self._set_value(pre_master_secret=pre_master, master_secret=master)
        self.keylog.append(keylog.line("CLIENT_RANDOM", cr, master))
        self._install_tls12_keys()

    def _tls12_finished(self, sender: str):
        return tls12.finished(self.values["master_secret"], sender,
                              self.transcript.hash(self.suite.hash), self.suite)

    def _send_stage(self, stage) -> None:
        """Send a stage function's message and keep the values it brought into being."""
        self._set_value(**stage.values)
        self._send_handshake(stage.message)

    def _check_finished(self, message: Finished, expected: bytes, raw: bytes, sender: str) -> None:
        if message.verify_data != expected:
            raise AlertError(AD.decrypt_error,
                             f"{sender} Finished: verify_data does not match the transcript")
        self._set_value(**{f"{sender}_verify_data": message.verify_data})
        self.transcript.add(raw)

    # -- TLS 1.3 shared stages ------------------------------------------------------------------
    def _tls13_keylog(self, *names) -> None:
        labels = {"client_handshake_traffic_secret": "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                  "server_handshake_traffic_secret": "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                  "client_application_traffic_secret_0": "CLIENT_TRAFFIC_SECRET_0",
                  "server_application_traffic_secret_0": "SERVER_TRAFFIC_SECRET_0",
                  "exporter_master_secret": "EXPORTER_SECRET"}
        for name in names:
            self.keylog.append(keylog.line(labels[name], self.values["client_random"],
                                           getattr(self.schedule, name)))

    def _protection13(self, which: str) -> AEAD13:
        key, iv = self.schedule.keys[which]
        return AEAD13(self.suite, key, iv)

    def _certificate_verify13(self, identity, offered):
        return tls13.certificate_verify(identity.key, offered,
                                        self.transcript.hash(self.suite.hash), self.role)

    def _check_certificate_verify13(self, message: CertificateVerify, raw: bytes) -> None:
        peer = "server" if self.role == "client" else "client"
        tls13.verify_certificate_verify(message, self._peer_key,
                                        self.transcript.hash(self.suite.hash), peer)
        self.transcript.add(raw)
        self.expected = (HT.finished,)

    def _on_key_update(self, message: KeyUpdate, raw: bytes) -> None:
        """RFC 8446 §4.6.3: the peer now writes with the next secret; answer if it asks."""
        theirs = "server" if self.role == "client" else "client"
        secret = tls13.next_traffic_secret(self.suite, self._traffic[theirs])
        self._traffic[theirs] = secret
        key, iv = tls13.traffic_keys(self.suite, secret)
        self._read = AEAD13(self.suite, key, iv)
        self._events.append(PostHandshakeMessage(message))
        if message.request_update:
            self.update_keys(request_update=False)

    def update_keys(self, request_update: bool = False) -> None:
        """Send KeyUpdate and switch our write key to the next generation (TLS 1.3)."""
        self._send_handshake_untracked(KeyUpdate(int(request_update)))
        secret = tls13.next_traffic_secret(self.suite, self._traffic[self.role])
        self._traffic[self.role] = secret
        key, iv = tls13.traffic_keys(self.suite, secret)
        self._write = AEAD13(self.suite, key, iv)

    def _send_handshake_untracked(self, message) -> None:
        """Post-handshake messages are not part of the handshake transcript."""
        self._send_record(CT.handshake, encode_handshake(message), type(message).__name__, message)


# ================================================================================================
class ClientConnection(Connection):
    role = "client"

    def __init__(self, config: ClientConfig | None = None):
        super().__init__(config or ClientConfig())
        self._shares: dict[int, keyexchange.KeyShare] = {}
        self._certificate_requested: CertificateRequest | None = None

    def start(self) -> None:
        """Build and queue the ClientHello."""
        cfg = self.config
        random = self.rng.bytes(32)
        session_id = cfg.session_id
        if session_id is None:    # RFC 8446 App. D.4: a 1.3 client in compatibility mode sends one
            session_id = self.rng.bytes(32) if "1.3" in cfg.versions else b""
        if "1.3" in cfg.versions:
            for group in cfg.key_share_groups or cfg.groups[:1]:
                self._shares[group] = keyexchange.generate(group, self.rng)
        self._set_value(client_random=random)
        self._hello = self._customized(
            hello_stage.client_hello(cfg, random, session_id, self._shares.values()))
        self._send_hello(self._hello)

    def _customized(self, hello: ClientHello) -> ClientHello:
        return self.config.customize_hello(hello) if self.config.customize_hello else hello

    def _send_hello(self, message: ClientHello) -> None:
        self._record_version = ProtocolVersion.TLS10   # like OpenSSL: 0x0301 on the first record
        self._send_handshake(message)
        self._record_version = ProtocolVersion.TLS12
        self.expected = (HT.server_hello,)

    # -- ServerHello: which version, which suite ------------------------------------------------
    def _on_server_hello(self, sh: ServerHello, raw: bytes) -> None:
        cfg = self.config
        if sh.compression_method != 0:        # we offered only null (RFC 5246 §7.4.1.3, 8446 §4.1.3)
            raise AlertError(AD.illegal_parameter,
                             f"server chose compression method {sh.compression_method}")
        sv = sh.extension(ET.supported_versions)
        if sv is not None:
            version = ext.value(sv, "server_hello")
            if version != ProtocolVersion.TLS13 or "1.3" not in cfg.versions:
                raise AlertError(AD.illegal_parameter, f"server selected version 0x{version:04x}")
            self.version = "1.3"
        elif sh.legacy_version == ProtocolVersion.TLS12 and "1.2" in cfg.versions:
            self.version = "1.2"
            if "1.3" in cfg.versions and sh.random[-8:] == DOWNGRADE_TLS12:
                raise AlertError(AD.illegal_parameter,
                                 "downgrade sentinel in ServerHello.random: someone removed TLS 1.3")
        else:
            raise AlertError(AD.protocol_version,
                             f"server chose version 0x{sh.legacy_version:04x}, which we didn't offer")
        suite = next((s for s in cfg.suites if s.code == sh.cipher_suite
                      and s.version == self.version), None)
        if suite is None:
            raise AlertError(AD.illegal_parameter,
                             f"server chose cipher suite 0x{sh.cipher_suite:04x}, which we didn't offer")
        offered = {e.type for e in self._hello.extensions} | {ET.renegotiation_info}
        if sh.is_hello_retry_request:
            offered.add(ET.cookie)
        for e in sh.extensions:
            if e.type not in offered:
                raise AlertError(AD.unsupported_extension,
                                 f"server sent extension {e.name} we did not offer")
        self.suite = suite
        self._set_value(version=self.version, cipher_suite=suite.name)
        if self.version == "1.3":
            return self._server_hello13(sh, raw)
        self._set_value(server_random=sh.random,
                        extended_master_secret=sh.extension(ET.extended_master_secret) is not None)
        self.transcript.add(raw)
        self.expected = (HT.certificate,)

    # -- TLS 1.2 -----------------------------------------------------------------------------
    def _on_certificate(self, message: Certificate, raw: bytes) -> None:
        if not message.certificate_list:
            raise AlertError(AD.decode_error, "server sent no certificate")   # RFC 8446 §4.4.2.4
        cfg = self.config
        trusted = cfg.trusted if cfg.trusted is not None else _lesson_trust()   # [] trusts nothing
        self._peer_key = (self._validate_peer(message, trusted,
                                              cfg.server_name, "server") if cfg.verify
                          else pki.load_der_certificate(message.certificate_list[0]).public_key())
        self.transcript.add(raw)
        if self.version == "1.3":
            self.expected = (HT.certificate_verify,)
        elif self.suite.kx == "RSA":
            self.expected = (HT.certificate_request, HT.server_hello_done)
        else:
            self.expected = (HT.server_key_exchange,)

    def _on_server_key_exchange(self, ske, raw: bytes) -> None:
        if ske.kx == "ECDHE" and ske.group not in self.config.groups:
            raise AlertError(AD.illegal_parameter, f"server chose group {ske.group} we did not offer")
        tls12.verify_server_key_exchange(ske, self._peer_key, self.values["client_random"],
                                         self.values["server_random"],
                                         self.config.signature_schemes)
        self._ske = ske
        self._set_value(group=NamedGroup(ske.group).name if ske.kx == "ECDHE"
                        else f"DH, {len(ske.dh_p) * 8}-bit p from the server")
        self._set_value(server_public=ske.public)
        self.transcript.add(raw)
        self.expected = (HT.certificate_request, HT.server_hello_done)

    def _on_certificate_request(self, message: CertificateRequest, raw: bytes) -> None:
        self._certificate_requested = message
        self.transcript.add(raw)
        self.expected = ((HT.certificate,) if self.version == "1.3" else (HT.server_hello_done,))

    def _on_server_hello_done(self, message: ServerHelloDone, raw: bytes) -> None:
        self.transcript.add(raw)
        identity = self.config.identity
        if self._certificate_requested is not None:
            self._send_stage(tls12.certificate(identity))
        cke = tls12.client_key_exchange(self.suite, self._peer_key, getattr(self, "_ske", None),
                                        self.rng)
        self._send_stage(cke)
        self._tls12_master_secret(cke.values["pre_master_secret"])
        if self._certificate_requested is not None and identity is not None:
            self._send_stage(tls12.certificate_verify(
                identity.key, self._certificate_requested.signature_algorithms,
                bytes(self.transcript), self.rng.deterministic))
        self._send_ccs()
        self._write = self._pending_write
        self._send_stage(self._tls12_finished("client"))
        self._expect_ccs = True
        self.expected = ()

    def _on_finished(self, message: Finished, raw: bytes) -> None:
        if self.version == "1.3":
            return self._server_finished13(message, raw)
        self._check_finished(message, self._tls12_finished("server").message.verify_data, raw,
                             "server")
        self._complete()

    # -- TLS 1.3 -----------------------------------------------------------------------------
    def _server_hello13(self, sh: ServerHello, raw: bytes) -> None:
        if sh.session_id != self._hello.session_id:
            raise AlertError(AD.illegal_parameter, "legacy_session_id_echo does not match")
        if sh.is_hello_retry_request:
            return self._hello_retry_request(sh, raw)
        entry = ext.value(sh.extension(ET.key_share) or _missing("key_share"), "server_hello")
        share = self._shares.get(entry.group)
        if share is None:
            raise AlertError(AD.illegal_parameter, "server's key_share is for a group we sent no share for")
        self.transcript.add(raw)
        shared = share.exchange(entry.key_exchange)
        self.schedule = tls13.KeySchedule(self.suite)
        self.schedule.start()
        self.schedule.handshake(shared, self.transcript.hash(self.suite.hash))
        self._set_value(server_random=sh.random, group=NamedGroup(entry.group).name,
                        client_share=share.public, client_private=share.private_value,
                        server_share=entry.key_exchange,
                        shared_secret=shared, schedule=self.schedule)
        self._tls13_keylog("client_handshake_traffic_secret", "server_handshake_traffic_secret")
        self._read = self._protection13("server_handshake")
        self.expected = (HT.encrypted_extensions,)

    def _hello_retry_request(self, hrr: ServerHello, raw: bytes) -> None:
        """RFC 8446 §4.1.4: the server wants a share for another group. The transcript restarts
        with a synthetic message_hash standing in for the first ClientHello."""
        if getattr(self, "_retried", False):
            raise AlertError(AD.unexpected_message, "a second HelloRetryRequest")
        self._retried = True
        group = ext.value(hrr.extension(ET.key_share) or _missing("key_share"),
                          "hello_retry_request")
        if group not in self.config.groups or group in self._shares:
            raise AlertError(AD.illegal_parameter, f"HelloRetryRequest for unusable group {group}")
        first = self.transcript.hash(self.suite.hash)
        self.transcript = Transcript()
        self.transcript.add(tls13.message_hash(first))
        self.transcript.add(raw)
        self._shares = {group: keyexchange.generate(group, self.rng)}
        cookie = hrr.extension(ET.cookie)
        self._hello = self._customized(hello_stage.client_hello(
            self.config, self._hello.random, self._hello.session_id, self._shares.values(),
            ext.value(cookie, "hello_retry_request") if cookie else None))
        self._set_value(hello_retry_request_group=NamedGroup(group).name)
        self._send_ccs_if_compat()
        self._send_handshake(self._hello)
        self.expected = (HT.server_hello,)

    def _send_ccs_if_compat(self) -> None:
        if self._hello.session_id and not getattr(self, "_sent_ccs", False):
            self._sent_ccs = True
            self._send_ccs()

    def _on_encrypted_extensions(self, message: EncryptedExtensions, raw: bytes) -> None:
        offered = {e.type for e in self._hello.extensions}
        for e in message.extensions:      # RFC 8446 §4.2: only answers to what we asked
            if e.type not in offered:
                raise AlertError(AD.unsupported_extension,
                                 f"EncryptedExtensions carries {e.name}, which we did not offer")
        self.transcript.add(raw)
        self.expected = (HT.certificate_request, HT.certificate)

    def _on_certificate_verify(self, message: CertificateVerify, raw: bytes) -> None:
        self._check_certificate_verify13(message, raw)

    def _server_finished13(self, message: Finished, raw: bytes) -> None:
        s = self.schedule
        expected = tls13.finished_verify_data(self.suite, s.server_handshake_traffic_secret,
                                              self.transcript.hash(self.suite.hash))
        self._check_finished(message, expected, raw, "server")
        s.application(self.transcript.hash(self.suite.hash))
        self._tls13_keylog("client_application_traffic_secret_0",
                           "server_application_traffic_secret_0", "exporter_master_secret")
        # Our second flight, under the client handshake traffic key.
        self._send_ccs_if_compat()
        self._write = self._protection13("client_handshake")
        request = self._certificate_requested
        if request is not None:
            identity = self.config.identity
            self._send_stage(tls13.certificate(identity, request.certificate_request_context))
            if identity is not None:
                self._send_stage(self._certificate_verify13(identity, request.signature_algorithms))
        self._send_stage(tls13.finished(self.suite, s.client_handshake_traffic_secret,
                                        self.transcript.hash(self.suite.hash), "client"))
        s.resumption(self.transcript.hash(self.suite.hash))
        self._traffic = {"client": s.client_application_traffic_secret_0,
                         "server": s.server_application_traffic_secret_0}
        self._write = self._protection13("client_application")
        self._read = self._protection13("server_application")
        self._complete()

    def _on_new_session_ticket(self, message, raw: bytes) -> None:
        self._events.append(PostHandshakeMessage(message))    # shown, not used: no resumption

    _handlers = {
        HT.server_hello: _on_server_hello,
        HT.certificate: _on_certificate,
        HT.server_key_exchange: _on_server_key_exchange,
        HT.certificate_request: _on_certificate_request,
        HT.server_hello_done: _on_server_hello_done,
        HT.encrypted_extensions: _on_encrypted_extensions,
        HT.certificate_verify: _on_certificate_verify,
        HT.finished: _on_finished,
        HT.new_session_ticket: _on_new_session_ticket,
        HT.key_update: Connection._on_key_update,
    }


def _missing(name: str):
    raise AlertError(AD.missing_extension, f"required extension {name} is missing")


# ================================================================================================
class ServerConnection(Connection):
    role = "server"

    def __init__(self, config: ServerConfig | None = None):
        super().__init__(config or ServerConfig())
        self.expected = (HT.client_hello,)
        self._client_certificate = False

    def _on_client_hello(self, ch: ClientHello, raw: bytes) -> None:
        cfg = self.config
        if 0 not in ch.compression_methods:   # OpenSSL: SSL_R_NO_COMPRESSION_SPECIFIED
            raise AlertError(AD.decode_error, "ClientHello does not offer the null compression method")
        if getattr(self, "_hrr_group", None) is not None:
            return self._second_client_hello(ch, raw)
        self._client_hello = ch
        self.version = hello_stage.choose_version(ch, cfg.versions)
        self.suite, self._identity = hello_stage.choose_suite(
            ch, self.version, cfg.suites, cfg.groups, cfg.identities)
        self._set_value(client_random=ch.random, version=self.version, cipher_suite=self.suite.name)
        if self.version == "1.3":
            return self._client_hello13(ch, raw)
        self.transcript.add(raw)
        self._server_flight12(ch)

    # -- TLS 1.2 -----------------------------------------------------------------------------
    def _server_flight12(self, ch: ClientHello) -> None:
        cfg, suite = self.config, self.suite
        random = self.rng.bytes(32)
        if "1.3" in cfg.versions:          # RFC 8446 §4.1.3: tell a 1.3 client we were downgraded
            random = random[:24] + DOWNGRADE_TLS12
        ems = cfg.ems and ch.extension(ET.extended_master_secret) is not None
        self._send_stage(tls12.server_hello(suite, random, ems))
        self._send_stage(tls12.certificate(self._identity))
        if suite.kx in ("ECDHE", "DHE"):
            if suite.kx == "ECDHE":
                group = hello_stage.choose_group(hello_stage.client_groups(ch),
                                                 [g for g in cfg.groups if g in keyexchange.EC_GROUPS])
            else:
                group = NamedGroup.ffdhe2048
            self._share = keyexchange.generate(group, self.rng)
            offered = _client_schemes(ch)
            scheme = signatures.choose(self._identity.key, offered,
                                       deterministic=self.rng.deterministic)
            self._set_value(group=NamedGroup(group).name)
            self._send_stage(tls12.server_key_exchange(
                suite, self._share, self._identity.key, scheme, ch.random, random))
        else:
            self._share = None
        if cfg.client_ca:
            self._send_stage(tls12.certificate_request(
                [s for s in signatures.SUPPORTED if s in cfg.signature_schemes], cfg.client_ca))
            self.expected = (HT.certificate,)
        else:
            self.expected = (HT.client_key_exchange,)
        self._send_stage(tls12.server_hello_done())

    def _on_certificate(self, message: Certificate, raw: bytes) -> None:
        if not message.certificate_list:
            if self.version == "1.3":
                raise AlertError(AD.certificate_required, "client sent no certificate")
            raise AlertError(AD.handshake_failure, "client sent no certificate")
        self._peer_key = self._validate_peer(message, self.config.client_ca, None, "client")
        self._client_certificate = True
        self.transcript.add(raw)
        self.expected = ((HT.certificate_verify,) if self.version == "1.3"
                         else (HT.client_key_exchange,))

    def _on_client_key_exchange(self, cke, raw: bytes) -> None:
        self.transcript.add(raw)
        pre_master = tls12.server_pre_master(self.suite, cke, self._identity.key, self._share,
                                             self.rng)
        self._set_value(client_public=cke.exchange)
        self._tls12_master_secret(pre_master)
        if self._client_certificate:
            self.expected = (HT.certificate_verify,)
        else:
            self.expected, self._expect_ccs = (), True

    def _on_certificate_verify(self, message: CertificateVerify, raw: bytes) -> None:
        if self.version == "1.3":
            return self._check_certificate_verify13(message, raw)
        tls12.verify_certificate_verify(message, self._peer_key, bytes(self.transcript))
        self.transcript.add(raw)
        self.expected, self._expect_ccs = (), True

    def _on_finished(self, message: Finished, raw: bytes) -> None:
        if self.version == "1.3":
            return self._client_finished13(message, raw)
        self._check_finished(message, self._tls12_finished("client").message.verify_data, raw,
                             "client")
        self._send_ccs()
        self._write = self._pending_write
        self._send_stage(self._tls12_finished("server"))
        self._complete()

    # -- TLS 1.3 -----------------------------------------------------------------------------
    def _client_hello13(self, ch: ClientHello, raw: bytes) -> None:
        cfg = self.config
        shares = ext.value(ch.extension(ET.key_share) or _missing("key_share"), "client_hello")
        offered = {e.group: e for e in shares}
        group = hello_stage.choose_group(offered, cfg.groups)
        self.transcript.add(raw)
        if group is None:
            group = hello_stage.choose_group(hello_stage.client_groups(ch), cfg.groups)
            if group is None:
                raise AlertError(AD.handshake_failure, "no key exchange group in common")
            return self._send_hello_retry_request(ch, group)
        self._server_flight13(ch, offered[group])

    def _send_hello_retry_request(self, ch: ClientHello, group: int) -> None:
        first = self.transcript.hash(self.suite.hash)
        self.transcript = Transcript()
        self.transcript.add(tls13.message_hash(first))
        self._hrr_group = group
        self._send_stage(tls13.hello_retry_request(self.suite, ch.session_id, group))
        self._set_value(hello_retry_request_group=NamedGroup(group).name)
        if ch.session_id:
            self._send_ccs()
            self._sent_ccs = True
        self.expected = (HT.client_hello,)

    def _second_client_hello(self, ch: ClientHello, raw: bytes) -> None:
        shares = ext.value(ch.extension(ET.key_share) or _missing("key_share"), "client_hello")
        entry = next((e for e in shares if e.group == self._hrr_group), None)
        if entry is None or len(shares) != 1 or ch.random != self._client_hello.random:
            raise AlertError(AD.illegal_parameter,
                             "second ClientHello does not carry exactly the requested key share")
        self._hrr_group = None
        self._client_hello = ch
        self.transcript.add(raw)
        self._server_flight13(ch, entry)

    def _server_flight13(self, ch: ClientHello, entry) -> None:
        cfg, suite = self.config, self.suite
        offered_schemes = _client_schemes(ch)
        self._identity = _identity13(cfg.identities, offered_schemes)
        share = keyexchange.generate(entry.group, self.rng)
        shared = share.exchange(entry.key_exchange)
        self._send_stage(tls13.server_hello(suite, self.rng.bytes(32), ch.session_id,
                                            ext.KeyShareEntry(entry.group, share.public)))
        s = self.schedule = tls13.KeySchedule(suite)
        s.start()
        s.handshake(shared, self.transcript.hash(suite.hash))
        self._set_value(group=NamedGroup(entry.group).name, client_share=entry.key_exchange,
                        server_private=share.private_value, shared_secret=shared, schedule=s)
        self._tls13_keylog("client_handshake_traffic_secret", "server_handshake_traffic_secret")
        if ch.session_id and not getattr(self, "_sent_ccs", False):
            self._send_ccs()               # RFC 8446 App. D.4 middlebox compatibility
        self._write = self._protection13("server_handshake")
        self._send_stage(tls13.encrypted_extensions())
        if cfg.client_ca:
            self._send_stage(tls13.certificate_request(
                signatures.RSA_SCHEMES_13 + signatures.ECDSA_SCHEMES))
        self._send_stage(tls13.certificate(self._identity))
        self._send_stage(self._certificate_verify13(self._identity, offered_schemes))
        self._send_stage(tls13.finished(suite, s.server_handshake_traffic_secret,
                                        self.transcript.hash(suite.hash), "server"))
        s.application(self.transcript.hash(suite.hash))
        self._tls13_keylog("client_application_traffic_secret_0",
                           "server_application_traffic_secret_0", "exporter_master_secret")
        self._write = self._protection13("server_application")
        self._read = self._protection13("client_handshake")
        self.expected = (HT.certificate,) if cfg.client_ca else (HT.finished,)

    def _client_finished13(self, message: Finished, raw: bytes) -> None:
        s = self.schedule
        expected = tls13.finished_verify_data(self.suite, s.client_handshake_traffic_secret,
                                              self.transcript.hash(self.suite.hash))
        self._check_finished(message, expected, raw, "client")
        s.resumption(self.transcript.hash(self.suite.hash))
        self._traffic = {"client": s.client_application_traffic_secret_0,
                         "server": s.server_application_traffic_secret_0}
        self._read = self._protection13("client_application")
        self._complete()

    _handlers = {
        HT.client_hello: _on_client_hello,
        HT.certificate: _on_certificate,
        HT.client_key_exchange: _on_client_key_exchange,
        HT.certificate_verify: _on_certificate_verify,
        HT.finished: _on_finished,
        HT.key_update: Connection._on_key_update,
    }


def _client_schemes(ch: ClientHello) -> tuple[int, ...]:
    sa = ch.extension(ET.signature_algorithms)
    # RFC 5246 §7.4.1.4.1: without the extension, assume SHA-1 signatures; we refuse those.
    return ext.value(sa, "client_hello") if sa is not None else ()


def _identity13(identities, offered):
    for identity in identities:
        try:
            signatures.choose(identity.key, offered, tls13=True)
            return identity
        except AlertError:
            continue
    raise AlertError(AD.handshake_failure, "no certificate matches the client's signature_algorithms")


# ================================================================================================
@dataclass
class Handshake:
    """An in-memory handshake: both connections and every message in the order it was sent."""
    client: ClientConnection
    server: ServerConnection
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
    client, server = ClientConnection(client_config), ServerConnection(server_config)
    steps: list[Step] = []
    result = Handshake(client, server, steps)
    try:
        client.start()
        for _ in range(max_rounds):
            moved = False
            for sender, receiver in ((client, server), (server, client)):
                records = sender.records_to_send()
                for step, rec in records:
                    steps.append(step)
                    if tamper is not None:
                        rec = tamper(step, rec)
                    moved = True
                    receiver.receive(rec)
            if client.handshake_complete and server.handshake_complete and not moved:
                break
            if not moved:
                break
    except TLSError as error:
        result.error = error
        for conn in (client, server):           # the alert that was sent, for the ladder
            steps.extend(step for step, _ in conn.records_to_send())
    return result
