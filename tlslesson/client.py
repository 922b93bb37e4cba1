"""The client's side of the handshake, one handler per message its state tables accept.

TLS 1.3 (RFC 8446 App. A.1):  START -> WAIT_SH -> WAIT_EE -> WAIT_CERT_CR -> [WAIT_CERT] ->
WAIT_CV -> WAIT_FINISHED -> CONNECTED. TLS 1.2 (RFC 5246 §7.3): START -> WAIT_SH -> WAIT_CERT ->
[WAIT_SKE] -> WAIT_CR_OR_SHD -> [WAIT_SHD] -> SEND_FLIGHT -> [WAIT_TICKET] -> WAIT_CCS -> WAIT_FINISHED
-> CONNECTED; when the server resumes our session: START -> WAIT_SH -> [WAIT_TICKET] -> WAIT_CCS ->
WAIT_FINISHED -> SEND_FINISHED -> CONNECTED.
The tables are in ``states.py``; ``HANDLERS`` below names the method for each of their entries.
"""
from __future__ import annotations

from dataclasses import replace

from . import extensions as ext
from . import groups, hello, pki, sessions, states, tls12, tls13
from .connection import PSK_KE, ClientConfig, Connection, PostHandshakeMessage, hash_after
from .constants import (AlertDescription as AD, ContentType as CT, DOWNGRADE_TLS12,
                        ExtensionType as ET, HandshakeType as HT, ProtocolVersion)
from .errors import AlertError
from .messages import (Certificate, CertificateRequest, CertificateVerify, ClientHello,
                       EncryptedExtensions, EndOfEarlyData, Finished, NewSessionTicket,
                       ServerHello, ServerHelloDone, encode_handshake)
from .prf import HASHES
from .record import AEAD13, NullProtection, fragment
from .sessions import Session
from .suites import BY_CODE

MAX_SESSIONS_KEPT = 8         # tickets from one connection the client keeps (a server may send many)
# How long we keep a 1.2 session the server gave no lifetime for (a bare session ID, or a
# ticket hint of 0, "unspecified": RFC 5077 §3.3): OpenSSL's default session timeout.
SESSION_LIFETIME = 7200


def _lesson_trust():
    return pki.lesson_pki().trusted


def missing(name: str):
    raise AlertError(AD.missing_extension, f"required extension {name} is missing",
                     check="missing_extension")


class ClientConnection(Connection):
    role = "client"

    def __init__(self, config: ClientConfig | None = None):
        super().__init__(config or ClientConfig())
        self.sessions: list[sessions.Session] = []    # what this connection can be resumed with

    def start(self) -> None:
        """Build and queue the ClientHello: START -> WAIT_SH."""
        cfg, hs = self.config, self.hs
        hs.client_random = self.rng.bytes(32)
        session_id = cfg.session_id
        if "1.2" in cfg.versions:
            session_id = self._offer_session12(session_id)
        if session_id is None:    # RFC 8446 App. D.4: a 1.3 client in compatibility mode sends one
            session_id = self.rng.bytes(32) if "1.3" in cfg.versions else b""
        shares = []
        if "1.3" in cfg.versions:
            for code in cfg.key_share_groups or hello.default_key_share_groups(cfg.groups):
                private, share = groups.get(code).client_share(self.rng)
                hs.key_shares[code] = private
                shares.append(ext.KeyShareEntry(code, share))
        self._show({"client_random": hs.client_random})
        if shares:
            self._show({"client_share": shares[0].key_exchange,
                        "client_private": groups.get(shares[0].group).private_bytes(
                            hs.key_shares[shares[0].group])})
        hs.offered_session = hs.offered_session or self._session_to_offer()
        early = self._early_data_to_send()
        self._send_client_hello(hello.client_hello(cfg, hs.client_random, session_id, shares,
                                                   early_data=early is not None,
                                                   session_ticket=hs.session_ticket))
        if early is not None:
            self._send_early_data(early)
        self._enter("WAIT_SH")

    def _offer_session12(self, session_id: bytes | None) -> bytes | None:
        """A TLS 1.2 session to resume (``config.session``), if it is fit to offer: its ID as
        our session ID, or its ticket in session_ticket with a fresh random session ID, which
        the server echoes if it resumes (RFC 5077 §3.4). Returns the session ID to send."""
        cfg, hs = self.config, self.hs
        session = cfg.session
        if session is not None and session.version != "1.2":
            session = None                           # a TLS 1.3 ticket goes in pre_shared_key
        reason = None if session is None else self._unfit12(session)
        if reason is not None:
            self._show({"session_resumed": False, "resumption": f"not offered: {reason}"})
        elif session is not None:
            hs.offered_session = session
            if session.ticket:
                hs.session_ticket = session.ticket
                session_id = self.rng.bytes(32)
            else:
                session_id = session.session_id
        if hs.session_ticket is None and cfg.session_tickets:
            hs.session_ticket = b""                  # no ticket yet: "send me one"
        return session_id

    def _unfit12(self, session: Session) -> str | None:
        cfg = self.config
        if not (session.ticket or session.session_id):
            return "neither a ticket nor a session ID to resume it by"
        if session.expired(self._now_ms()):
            return "expired"
        if session.server_name != (cfg.server_name or ""):
            return f"made for {session.server_name!r}, not {cfg.server_name!r}"
        if session.cipher_suite not in [s.code for s in cfg.suites if s.version == "1.2"]:
            return "its cipher suite is not in our offer"   # RFC 5246 §7.4.1.2: it must be
        if cfg.ems and not session.extended_master_secret:
            # RFC 7627 §5.3: "The client SHOULD NOT offer an abbreviated handshake to resume a
            # session that does not use an extended master secret."
            return "no extended master secret in the session (RFC 7627 §5.3)"
        return None

    def _send_client_hello(self, message: ClientHello) -> None:
        if self.config.customize_hello is not None:
            message = self.config.customize_hello(message)
        offered = self.hs.offered_session
        if offered is not None and offered.version == "1.3":
            message = self._bind_psk(message)
        self.hs.client_hello = message
        self.records.write_version = ProtocolVersion.TLS10   # like OpenSSL: 0x0301 on the first
        self._send_handshake(message)
        self.records.write_version = ProtocolVersion.TLS12

    # -- resumption and 0-RTT (RFC 8446 §2.2, §2.3, §4.2.10, §4.2.11) ---------------------------
    def _session_to_offer(self) -> sessions.Session | None:
        """The configured TLS 1.3 session, if it can still be offered."""
        cfg, session = self.config, self.config.session
        if session is None or session.version != "1.3" or "1.3" not in cfg.versions:
            return None
        if session.expired(self._now_ms()):
            self._show({"session_not_offered": "the ticket has expired"})
            return None
        if not any(s.code == session.cipher_suite for s in cfg.suites):
            self._show({"session_not_offered": "we no longer offer the ticket's cipher suite"})
            return None
        return session

    def _early_data_to_send(self) -> bytes | None:
        """0-RTT data, if we resume a TLS 1.3 session that allows this much of it."""
        session, data = self.hs.offered_session, self.config.early_data
        if session is not None and session.version != "1.3":
            return None
        if session is None or data is None:
            return None
        if len(data) > session.max_early_data:       # RFC 8446 §4.2.10: never more than allowed
            self._show({"early_data_not_sent": f"{len(data)} bytes, the ticket allows "
                                               f"{session.max_early_data}"})
            return None
        return data

    def _bind_psk(self, message: ClientHello) -> ClientHello:
        """Add pre_shared_key (the ticket and its obfuscated age) as the last extension, and
        its binder: a Finished-like HMAC with the binder_key over the hello up to the binders."""
        hs, session = self.hs, self.hs.offered_session
        suite = BY_CODE[session.cipher_suite]
        age_ms = max(0, self._now_ms() - session.issued_ms)
        identity = ext.PskIdentity(session.ticket,
                                   tls13.obfuscated_ticket_age(age_ms, session.ticket_age_add))
        message = hello.with_psk(message, identity, HASHES[suite.hash].digest_size)
        schedule = tls13.KeySchedule(suite)
        derived = schedule.start(session.secret)
        truncated = tls13.truncated_client_hello(encode_handshake(message),
                                                 ext.value(message.extensions[-1], "client_hello"))
        binder = tls13.psk_binder(suite, schedule.binder_key,
                                  hash_after(hs.transcript.messages, truncated, suite.hash))
        hs.schedule = schedule        # for early data; replaced once the server has answered
        self._show({"psk": session.secret, "ticket_age_ms": age_ms,
                    "obfuscated_ticket_age": identity.obfuscated_ticket_age, **derived,
                    "truncated_client_hello": truncated, "binder": binder})
        return hello.with_binder(message, binder)

    def _send_early_data(self, data: bytes) -> None:
        """0-RTT (RFC 8446 §2.3): right after the ClientHello, under the client early traffic
        key, which only the PSK and the ClientHello determine."""
        hs = self.hs
        s = hs.schedule
        self._show(s.early(hs.transcript.hash(s.suite.hash)))
        self._keylog13("client_early_traffic_secret", "early_exporter_master_secret")
        self._send_compat_ccs()               # App. D.4: before the first encrypted record
        self.records.write = AEAD13(s.suite, *s.keys["client_early"])
        for piece in fragment(data):
            self._send_record(CT.application_data, piece, "EarlyData", None)
        hs.early_data = "offered"

    def _server_psk(self, sh: ServerHello) -> None:
        """RFC 8446 §4.2.11: the server chose our PSK — the identity we sent, a suite with the
        PSK's hash, and a key_share if we did not allow psk_ke. Or it did not: a full handshake."""
        hs = self.hs
        found = sh.extension(ET.pre_shared_key)
        if found is None:
            if hs.early_data == "offered":
                hs.early_data = "rejected"
            return
        if ext.value(found, "server_hello") != 0:      # we offer exactly one identity
            raise AlertError(AD.illegal_parameter, "server selected a PSK identity we did not "
                             "offer", check="pre_shared_key")
        session_suite = BY_CODE[hs.offered_session.cipher_suite]
        if session_suite.hash != hs.suite.hash:
            raise AlertError(AD.illegal_parameter, f"server chose {hs.suite.name} with a PSK "
                             f"for {session_suite.hash}", check="pre_shared_key")
        if sh.extension(ET.key_share) is None and PSK_KE not in self.config.psk_modes:
            missing("key_share")
        hs.psk, hs.resumed = hs.offered_session.secret, True
        self._show({"resumed": True, "resumption": "resumed by ticket (PSK)"})

    def _early_data_answer(self, message: EncryptedExtensions) -> None:
        """EncryptedExtensions says whether the server takes our 0-RTT data (§4.2.10)."""
        hs = self.hs
        accepted = ext.find(message.extensions, ET.early_data) is not None
        if accepted and (hs.early_data != "offered" or not hs.resumed
                         or hs.suite.code != hs.offered_session.cipher_suite):
            raise AlertError(AD.illegal_parameter, "server accepted early data it could not "
                             "accept", check="early_data")
        if hs.early_data == "offered":
            hs.early_data = "accepted" if accepted else "rejected"
            self._show({"early_data": hs.early_data})

    def on_new_session_ticket(self, message: NewSessionTicket, raw: bytes) -> None:
        """RFC 8446 §4.6.1: a ticket for a later connection; its PSK is derived from the
        resumption master secret and the ticket's nonce (the server seals the same PSK inside)."""
        hs = self.hs
        found = ext.find(message.extensions, ET.early_data)
        psk = tls13.resumption_psk(hs.suite.hash, hs.schedule.resumption_master_secret,
                                   message.ticket_nonce)
        session = sessions.Session(
            "1.3", hs.suite.code, psk, self._now_ms(), message.ticket_lifetime,
            message.ticket_age_add, ext.value(found, "new_session_ticket") if found else 0,
            server_name=self.config.server_name or "", alpn=self.alpn_protocol or "",
            ticket=message.ticket,
            ticket_nonce=message.ticket_nonce)
        self.sessions = (self.sessions + [session])[-MAX_SESSIONS_KEPT:]
        self._show({"ticket_psk": psk})
        self._enter("CONNECTED")
        self._events.append(PostHandshakeMessage(message))

    # -- ServerHello: which version, which suite (both tables) ----------------------------------
    def on_server_hello(self, sh: ServerHello, raw: bytes) -> None:
        cfg, hs = self.config, self.hs
        if sh.compression_method != 0:        # we offered only null (RFC 5246 §7.4.1.3, 8446 §4.1.3)
            raise AlertError(AD.illegal_parameter,
                             f"server chose compression method {sh.compression_method}",
                             check="compression")
        version = self._negotiated_version(sh)
        suite = next((s for s in cfg.suites if s.code == sh.cipher_suite and s.version == version),
                     None)
        if suite is None:
            raise AlertError(AD.illegal_parameter, f"server chose cipher suite "
                             f"0x{sh.cipher_suite:04x}, which we didn't offer", check="cipher_suite")
        offered = {e.type for e in hs.client_hello.extensions} | {ET.renegotiation_info}
        if sh.is_hello_retry_request:
            offered.add(ET.cookie)
        for e in sh.extensions:
            if e.type not in offered:
                raise AlertError(AD.unsupported_extension,
                                 f"server sent extension {e.name} we did not offer",
                                 check="extension")
        if hs.version is not None and (version, suite) != (hs.version, hs.suite):
            raise AlertError(AD.illegal_parameter, "ServerHello after HelloRetryRequest "
                             "changed the version or suite", check="hello_retry_request")
        hs.version = self.records.version = version
        hs.suite = suite
        self._show({"version": version, "cipher_suite": suite.name})
        if version == "1.3":
            return self._server_hello13(sh, raw)
        self._use_table("1.2")
        hs.server_random = sh.random
        hs.extended_master_secret = sh.extension(ET.extended_master_secret) is not None
        hs.encrypt_then_mac = sh.extension(ET.encrypt_then_mac) is not None
        if hs.encrypt_then_mac and suite.aead:      # RFC 7366 §2: the server MUST NOT
            raise AlertError(AD.illegal_parameter, f"encrypt_then_mac with the AEAD suite "
                             f"{suite.name}", check="encrypt_then_mac")
        if hs.encrypt_then_mac:
            self._show({"encrypt_then_mac": True})
        self._peer_record_size_limit(sh.extensions)
        self._accept_alpn(sh.extensions)                 # RFC 7301 §3.1: 1.2 answers here
        self._show({"server_random": sh.random,
                    "extended_master_secret": hs.extended_master_secret})
        hs.session_id = sh.session_id
        hs.ticket_expected = sh.extension(ET.session_ticket) is not None
        hs.transcript.add(raw)
        if hs.offered_session is not None:
            if sh.session_id and sh.session_id == hs.client_hello.session_id:
                return self._resumed12(sh)
            self._show({"session_resumed": False,
                        "resumption": "the server chose a full handshake"})
        self._enter("WAIT_CERT")

    def _resumed12(self, sh: ServerHello) -> None:
        """The server echoed our session ID: it resumes the session we offered (RFC 5246
        §7.4.1.3), so the keys come from its master secret and the two new randoms, and the
        server's ChangeCipherSpec and Finished come next."""
        hs = self.hs
        session = hs.offered_session
        if sh.cipher_suite != session.cipher_suite:
            raise AlertError(AD.illegal_parameter, "server resumed the session with another "
                             "cipher suite than the session's", check="resumption")
        if hs.extended_master_secret != session.extended_master_secret:
            # RFC 7627 §5.3: the client MUST abort (handshake_failure, §5.2) either way round
            raise AlertError(AD.handshake_failure, "server resumed a session "
                             + ("with" if session.extended_master_secret else "without")
                             + " extended master secret, and its ServerHello "
                             + ("does not say so" if session.extended_master_secret else
                                "says it has one"), check="extended_master_secret")
        hs.resumed, hs.master_secret = True, session.secret
        how = "ticket" if hs.session_ticket else "session ID"
        self._show({"session_resumed": True, "resumption": f"resumed by {how}"})
        self._tls12_keys()
        self._enter("WAIT_TICKET" if hs.ticket_expected else "WAIT_CCS")

    def _peer_record_size_limit(self, extensions) -> None:
        """The server's record_size_limit (only ever an answer to ours): from now on our
        protected records stay within it, and we hold the server to the one we sent."""
        hs = self.hs
        hs.peer_record_size_limit = hello.peer_record_size_limit(extensions, hs.version)
        if hs.peer_record_size_limit is not None:
            hs.record_size_limit = hello.our_record_size_limit(self.config, hs.version)

    def _accept_alpn(self, extensions) -> None:
        self.hs.alpn_protocol = hello.accept_alpn(extensions, self.config.alpn)
        if self.hs.alpn_protocol is not None:
            self._show({"alpn_protocol": self.alpn_protocol})

    def _negotiated_version(self, sh: ServerHello) -> str:
        versions = self.config.versions
        sv = sh.extension(ET.supported_versions)
        if sv is not None:
            chosen = ext.value(sv, "server_hello")
            if chosen != ProtocolVersion.TLS13 or "1.3" not in versions:
                raise AlertError(AD.illegal_parameter, f"server selected version 0x{chosen:04x}",
                                 check="version")
            return "1.3"
        if sh.legacy_version == ProtocolVersion.TLS12 and "1.2" in versions:
            if "1.3" in versions and sh.random[-8:] == DOWNGRADE_TLS12:   # RFC 8446 §4.1.3
                raise AlertError(AD.illegal_parameter, "downgrade sentinel in ServerHello.random:"
                                 " someone removed TLS 1.3", check="downgrade_sentinel")
            return "1.2"
        raise AlertError(AD.protocol_version, f"server chose version 0x{sh.legacy_version:04x}, "
                         "which we didn't offer", check="version")

    # -- the server's certificate (both versions) ------------------------------------------------
    def _server_certificate(self, message: Certificate, raw: bytes) -> None:
        cfg, hs = self.config, self.hs
        if not message.certificate_list:
            raise AlertError(AD.decode_error, "server sent no certificate",   # RFC 8446 §4.4.2.4
                             check="certificate:chain")
        trusted = cfg.trusted if cfg.trusted is not None else _lesson_trust()   # [] trusts nothing
        hs.peer_key = (self._validate_peer(message, trusted, cfg.server_name) if cfg.verify
                       else pki.load_der_certificate(message.certificate_list[0]).public_key())
        hs.transcript.add(raw)

    def on_certificate12(self, message: Certificate, raw: bytes) -> None:
        self._server_certificate(message, raw)
        self._enter("WAIT_CR_OR_SHD" if self.hs.suite.kx == "RSA" else "WAIT_SKE")

    def on_certificate13(self, message: Certificate, raw: bytes) -> None:
        self._server_certificate(message, raw)
        self._enter("WAIT_CV")

    def on_certificate_request12(self, message: CertificateRequest, raw: bytes) -> None:
        self.hs.certificate_request = message
        self.hs.transcript.add(raw)
        self._enter("WAIT_SHD")

    def on_certificate_request13(self, message: CertificateRequest, raw: bytes) -> None:
        self.hs.certificate_request = message
        self.hs.transcript.add(raw)
        self._enter("WAIT_CERT")

    # -- TLS 1.2 -----------------------------------------------------------------------------
    def on_server_key_exchange(self, ske, raw: bytes) -> None:
        hs = self.hs
        if ske.kx == "ECDHE" and ske.group not in self.config.groups:
            raise AlertError(AD.illegal_parameter, f"server chose group {ske.group} we did not "
                             "offer", check="key_share")
        tls12.verify_server_key_exchange(ske, hs.peer_key, hs.client_random, hs.server_random,
                                         self.config.signature_schemes)
        hs.server_key_exchange = ske
        self._show({"group": tls12.ske_group(ske).name, "server_public": ske.public})
        hs.transcript.add(raw)
        self._enter("WAIT_CR_OR_SHD")

    def on_server_hello_done(self, message: ServerHelloDone, raw: bytes) -> None:
        """Our whole second flight: [Certificate] ClientKeyExchange [CertificateVerify]
        ChangeCipherSpec Finished."""
        cfg, hs = self.config, self.hs
        hs.transcript.add(raw)
        self._enter("SEND_FLIGHT")
        request = hs.certificate_request
        if request is not None:
            self._send_stage(tls12.certificate(cfg.identity))
        cke = tls12.client_key_exchange(hs.suite, hs.peer_key, hs.server_key_exchange, self.rng)
        self._send_stage(cke)
        self._tls12_master_secret(cke.values["pre_master_secret"])
        if request is not None and cfg.identity is not None:
            self._send_stage(tls12.certificate_verify(
                cfg.identity.key, request.signature_algorithms, bytes(hs.transcript),
                cfg.signature_preference))
        self._send_ccs_and_finished12()
        self._enter("WAIT_TICKET" if hs.ticket_expected else "WAIT_CCS")

    def on_new_session_ticket12(self, message: NewSessionTicket, raw: bytes) -> None:
        """RFC 5077 §3.3: the ticket to bring back next time (empty: the server changed its
        mind). Part of the transcript, unlike TLS 1.3's."""
        self.hs.new_ticket = message
        self.hs.transcript.add(raw)
        self._enter("WAIT_CCS")

    def on_finished12(self, message: Finished, raw: bytes) -> None:
        hs = self.hs
        self._check_finished(message, self._tls12_finished("server").message.verify_data, raw)
        if hs.resumed:                     # abbreviated: our ChangeCipherSpec, Finished now
            self._enter("SEND_FINISHED")
            self._send_ccs_and_finished12()
        hs.session = self._session_after12()
        self._complete()

    def _session_after12(self) -> Session | None:
        """What to keep for next time: the resumed session (with the new ticket, if one came),
        or the new session, if the server gave an ID or a ticket to resume it by."""
        cfg, hs = self.config, self.hs
        ticket = hs.new_ticket.ticket if hs.new_ticket is not None else b""
        lifetime = (hs.new_ticket.ticket_lifetime if ticket and hs.new_ticket.ticket_lifetime
                    else SESSION_LIFETIME)
        if hs.resumed:
            if not ticket:
                return hs.offered_session
            return replace(hs.offered_session, ticket=ticket, lifetime=lifetime,
                           issued_ms=self._now_ms())
        if not (ticket or hs.session_id):
            return None
        return Session("1.2", hs.suite.code, hs.master_secret, self._now_ms(), lifetime,
                       extended_master_secret=hs.extended_master_secret,
                       server_name=cfg.server_name or "", ticket=ticket,
                       session_id=hs.session_id)

    # -- TLS 1.3 -----------------------------------------------------------------------------
    def _server_hello13(self, sh: ServerHello, raw: bytes) -> None:
        hs = self.hs
        if sh.session_id != hs.client_hello.session_id:
            raise AlertError(AD.illegal_parameter, "legacy_session_id_echo does not match",
                             check="session_id_echo")
        if sh.is_hello_retry_request:
            return self._hello_retry_request(sh, raw)
        if sh.extension(ET.pre_shared_key) is not None or hs.offered_session is not None:
            # (a 1.2 session offered to a server that chose 1.3: no pre_shared_key, full handshake)
            self._server_psk(sh)
        hs.server_random = sh.random
        if hs.psk is not None and sh.extension(ET.key_share) is None:      # psk_ke: no (EC)DHE
            hs.transcript.add(raw)
            self._show({"server_random": sh.random, "psk_mode": "psk_ke"})
            self._start_schedule13(None)
            self.records.read = self._protection13("server_handshake")
            return self._enter("WAIT_EE")
        entry = ext.value(sh.extension(ET.key_share) or missing("key_share"), "server_hello")
        private = hs.key_shares.get(entry.group)
        if private is None:
            raise AlertError(AD.illegal_parameter, "server's key_share is for a group we sent "
                             "no share for", check="key_share")
        hs.transcript.add(raw)
        group = groups.get(entry.group)
        if len(entry.key_exchange) != group.server_share_size:   # RFC 8446 §4.2.8
            raise AlertError(AD.illegal_parameter, f"{group.name} key share of "
                             f"{len(entry.key_exchange)} bytes, not {group.server_share_size}",
                             check="key_share")
        shared = group.client_finish(private, entry.key_exchange)
        self._show({"server_random": sh.random, "group": groups.name(entry.group),
                    "server_share": entry.key_exchange})
        self._start_schedule13(shared)
        self.records.read = self._protection13("server_handshake")
        self._enter("WAIT_EE")

    def _hello_retry_request(self, hrr: ServerHello, raw: bytes) -> None:
        """RFC 8446 §4.1.4: the server wants a share for another group; we send a second
        ClientHello with one share for it (and its cookie), and wait for ServerHello again."""
        cfg, hs = self.config, self.hs
        if hs.hello_retry_group is not None:
            raise AlertError(AD.unexpected_message, "a second HelloRetryRequest",
                             check="hello_retry_request")
        group = ext.value(hrr.extension(ET.key_share) or missing("key_share"),
                          "hello_retry_request")
        if group not in cfg.groups or group in hs.key_shares or group not in groups.GROUPS:
            raise AlertError(AD.illegal_parameter, f"HelloRetryRequest for unusable group "
                             f"{group}", check="hello_retry_request")
        hs.hello_retry_group = group
        if hs.early_data == "offered":       # §4.2.10: no early data after a HelloRetryRequest
            hs.early_data = "rejected"
            self.records.write = NullProtection()
        offered = hs.offered_session
        if offered is not None and BY_CODE[offered.cipher_suite].hash != hs.suite.hash:
            hs.offered_session = None        # §4.1.2: drop a PSK the server's suite cannot use
        self._restart_transcript()
        hs.transcript.add(raw)
        private, share = groups.get(group).client_share(self.rng)
        hs.key_shares = {group: private}
        cookie = hrr.extension(ET.cookie)
        self._show({"hello_retry_request_group": groups.name(group), "client_share": share})
        self._enter("START")
        self._send_compat_ccs()
        self._send_client_hello(hello.client_hello(
            cfg, hs.client_random, hs.client_hello.session_id,
            [ext.KeyShareEntry(group, share)],
            ext.value(cookie, "hello_retry_request") if cookie else None,
            session_ticket=hs.session_ticket))
        self._enter("WAIT_SH")

    def on_encrypted_extensions(self, message: EncryptedExtensions, raw: bytes) -> None:
        offered = {e.type for e in self.hs.client_hello.extensions}
        for e in message.extensions:      # RFC 8446 §4.2: only answers to what we asked
            if e.type not in offered:
                raise AlertError(AD.unsupported_extension, f"EncryptedExtensions carries "
                                 f"{e.name}, which we did not offer", check="extension")
        self._peer_record_size_limit(message.extensions)     # RFC 8449 §4: 1.3 sends it here
        self._accept_alpn(message.extensions)                # and ALPN too (RFC 8446 §4.2)
        self._early_data_answer(message)
        self.hs.transcript.add(raw)
        # with a PSK the server has already proved who it is: no Certificate (RFC 8446 §2.2)
        self._enter("WAIT_FINISHED" if self.hs.psk is not None else "WAIT_CERT_CR")

    def on_certificate_verify13(self, message: CertificateVerify, raw: bytes) -> None:
        self._check_certificate_verify13(message, raw, self.config.signature_schemes)
        self._enter("WAIT_FINISHED")

    def on_finished13(self, message: Finished, raw: bytes) -> None:
        """The server's Finished; then our second flight: [Certificate CertificateVerify]
        Finished, under the client handshake traffic key."""
        cfg, hs = self.config, self.hs
        s = hs.schedule
        self._check_finished(message, tls13.finished_verify_data(
            hs.suite, s.server_handshake_traffic_secret, self._transcript_hash()), raw)
        self._application_secrets13()
        if hs.early_data == "accepted":       # §4.5: the end of 0-RTT, under the early key
            self._send_handshake(EndOfEarlyData())
        self._send_compat_ccs()
        self.records.write = self._protection13("client_handshake")
        request = hs.certificate_request
        if request is not None:
            self._send_stage(tls13.certificate(cfg.identity, request.certificate_request_context))
            if cfg.identity is not None:
                self._send_stage(tls13.certificate_verify(
                    cfg.identity.key, request.signature_algorithms, self._transcript_hash(),
                    "client", cfg.signature_preference))
        self._send_stage(tls13.finished(hs.suite, s.client_handshake_traffic_secret,
                                        self._transcript_hash(), "client"))
        self._resumption_secret13()
        self.records.write = self._protection13("client_application")
        self.records.read = self._protection13("server_application")
        self._complete()

    HANDLERS = {
        "1.3": {HT.server_hello: on_server_hello,
                HT.encrypted_extensions: on_encrypted_extensions,
                HT.certificate_request: on_certificate_request13,
                HT.certificate: on_certificate13,
                HT.certificate_verify: on_certificate_verify13,
                HT.finished: on_finished13,
                HT.new_session_ticket: on_new_session_ticket,
                HT.key_update: Connection.on_key_update},
        "1.2": {HT.server_hello: on_server_hello,
                HT.certificate: on_certificate12,
                HT.server_key_exchange: on_server_key_exchange,
                HT.certificate_request: on_certificate_request12,
                HT.server_hello_done: on_server_hello_done,
                HT.new_session_ticket: on_new_session_ticket12,
                states.CCS: Connection.on_change_cipher_spec,
                HT.finished: on_finished12,
                ("CONNECTED", HT.hello_request): Connection.on_renegotiation},
    }

