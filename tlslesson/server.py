"""The server's side of the handshake, one handler per message its state tables accept.

TLS 1.3 (RFC 8446 App. A.2):  START -> RECVD_CH -> NEGOTIATED -> WAIT_FLIGHT2 -> [WAIT_CERT ->
WAIT_CV] -> WAIT_FINISHED -> CONNECTED, with RECVD_CH -> START after a HelloRetryRequest.
TLS 1.2 (RFC 5246 §7.3): START -> RECVD_CH -> [WAIT_CERT] -> WAIT_CKE -> [WAIT_CV] -> WAIT_CCS ->
WAIT_FINISHED -> SEND_FINISHED -> CONNECTED; resuming a session (by session ID or RFC 5077
ticket): START -> RECVD_CH -> WAIT_CCS -> WAIT_FINISHED -> CONNECTED, our Finished first.
The tables are in ``states.py``; ``HANDLERS`` below names the method for each of their entries.
"""
from __future__ import annotations

from . import extensions as ext
from . import groups, hello, sessions, signatures, states, suites, tls12, tls13
from .client import missing
from .connection import PSK_DHE_KE, PSK_KE, Connection, ServerConfig, hash_after
from .constants import (AlertDescription as AD, DOWNGRADE_TLS12, ExtensionType as ET,
                        HandshakeType as HT, TLS_EMPTY_RENEGOTIATION_INFO_SCSV)
from .errors import AlertError
from .messages import Certificate, CertificateVerify, ClientHello, Finished
from .prf import HASHES
from .suites import BY_CODE

PSK_MODE_NAMES = {PSK_KE: "psk_ke", PSK_DHE_KE: "psk_dhe_ke"}
from .sessions import Session, TicketError


class ServerConnection(Connection):
    role = "server"

    def __init__(self, config: ServerConfig | None = None):
        super().__init__(config or ServerConfig())

    def _requested_schemes(self) -> list[int]:
        """CertificateRequest's signature_algorithms: what we accept for the client's
        CertificateVerify and — with no signature_algorithms_cert — for its certificate chain's
        signatures too (RFC 8446 §4.2.3), so PKCS#1 v1.5 stays in the 1.3 list."""
        return [s for s in self.config.signature_schemes if s in signatures.MODERN]

    # -- ClientHello: version, suite, certificate (both tables) ----------------------------------
    def on_client_hello(self, ch: ClientHello, raw: bytes) -> None:
        cfg, hs = self.config, self.hs
        if 0 not in ch.compression_methods:   # RFC 8446 §4.1.2: illegal_parameter (OpenSSL
            raise AlertError(AD.illegal_parameter,   # says decode_error, NO_COMPRESSION_SPECIFIED)
                             "ClientHello does not offer the null compression method",
                             check="compression")
        if hs.hello_retry_group is not None:
            return self._second_client_hello(ch, raw)
        self._enter("RECVD_CH")
        hs.client_hello, hs.client_random = ch, ch.random
        hs.version = self.records.version = hello.choose_version(ch, cfg.versions)
        hello.check_fallback(ch, hs.version, cfg.versions)
        hs.suite, hs.identity = hello.choose_suite(ch, hs.version, cfg.suites, cfg.groups,
                                                   cfg.identities, cfg.signature_preference)
        hs.peer_schemes = hello.client_signature_schemes(ch)
        hs.alpn_protocol = hello.choose_alpn(ch, cfg.alpn)      # RFC 7301 §3.2
        if hs.alpn_protocol is not None:
            self._show({"alpn_protocol": self.alpn_protocol})
        if cfg.record_size_limit is not None:      # RFC 8449 §4: echoed only if the client sent one
            hs.peer_record_size_limit = hello.peer_record_size_limit(ch.extensions, hs.version)
            if hs.peer_record_size_limit is not None:
                hs.record_size_limit = hello.our_record_size_limit(cfg, hs.version)
        self._show({"client_random": ch.random, "version": hs.version,
                    "cipher_suite": hs.suite.name})
        hs.transcript.add(raw)
        if hs.version == "1.3":
            return self._client_hello13(ch)
        self._use_table("1.2")
        session = self._resumable_session12(ch)
        if session is not None:
            return self._resume12(ch, session)
        self._server_flight12(ch)

    # -- TLS 1.2 -----------------------------------------------------------------------------
    def _send_server_hello12(self, ch: ClientHello, session_id: bytes) -> None:
        """ServerHello of a full or an abbreviated handshake (hs.extended_master_secret and
        hs.ticket_expected already decided)."""
        cfg, hs = self.config, self.hs
        suite = hs.suite
        random = self.rng.bytes(32)
        if "1.3" in cfg.versions:          # RFC 8446 §4.1.3: tell a 1.3 client we were downgraded
            random = random[:24] + DOWNGRADE_TLS12
        hs.server_random, hs.session_id = random, session_id
        # RFC 7366 §2: only for a CBC suite, and only if the client asked
        hs.encrypt_then_mac = (cfg.encrypt_then_mac and not suite.aead
                               and ch.extension(ET.encrypt_then_mac) is not None)
        self._send_stage(tls12.server_hello(
            suite, random, hs.extended_master_secret,
            secure_renegotiation=(TLS_EMPTY_RENEGOTIATION_INFO_SCSV in ch.cipher_suites
                                  or ch.extension(ET.renegotiation_info) is not None),
            point_formats=ch.extension(ET.ec_point_formats) is not None,
            etm=hs.encrypt_then_mac, record_size_limit=hs.record_size_limit,
            alpn=hs.alpn_protocol, session_id=session_id,
            session_ticket=hs.ticket_expected))
        if hs.encrypt_then_mac:
            self._show({"encrypt_then_mac": True})

    def _server_flight12(self, ch: ClientHello) -> None:
        """ServerHello, Certificate, [ServerKeyExchange], [CertificateRequest], ServerHelloDone."""
        cfg, hs = self.config, self.hs
        suite = hs.suite
        hs.extended_master_secret = cfg.ems and ch.extension(ET.extended_master_secret) is not None
        hs.ticket_expected = self._will_issue_ticket12(ch)
        # RFC 5077 §3.4: a server that will issue a ticket SHOULD send an empty session ID (a
        # non-empty one says "I also keep this session in a cache")
        self._send_server_hello12(ch, b"" if hs.ticket_expected else self._new_session_id12())
        self._send_stage(tls12.certificate(hs.identity))
        if suite.kx in ("ECDHE", "DHE"):
            if suite.kx == "ECDHE":
                hs.kx_group = groups.get(hello.choose_group(
                    hello.client_groups(ch), [g for g in cfg.groups if groups.usable_in_tls12(g)]))
            else:
                hs.kx_group = groups.get(hello.choose_dhe_group(hello.client_groups(ch),
                                                                cfg.groups))
            # The server speaks first in TLS 1.2 (EC)DHE: it makes the first share.
            hs.kx_private, public = hs.kx_group.client_share(self.rng)
            scheme = signatures.choose(hs.identity.key, hs.peer_schemes, cfg.signature_preference)
            stage = tls12.server_key_exchange(suite, hs.kx_group, public, hs.identity.key, scheme,
                                              ch.random, hs.server_random)
            stage.values["server_private"] = hs.kx_group.private_bytes(hs.kx_private)
            self._send_stage(stage)
        if cfg.client_ca:
            self._send_stage(tls12.certificate_request(self._requested_schemes(), cfg.client_ca))
        self._send_stage(tls12.server_hello_done())
        self._enter("WAIT_CERT" if cfg.client_ca else "WAIT_CKE")

    def on_certificate12(self, message: Certificate, raw: bytes) -> None:
        if message.certificate_list or self._no_certificate_required(raw):
            self._client_certificate(message, raw)
        self._enter("WAIT_CKE")

    def _no_certificate_required(self, raw: bytes) -> bool:
        """An empty client Certificate (RFC 5246 §7.4.6, RFC 8446 §4.4.2.4): the end of the
        handshake if we require one, otherwise a client that goes on without authenticating."""
        if self.config.require_client_certificate:
            raise AlertError(AD.certificate_required if self.hs.version == "1.3"
                             else AD.handshake_failure, "client sent no certificate",
                             check="client_certificate")
        self.hs.transcript.add(raw)
        return False

    def _client_certificate(self, message: Certificate, raw: bytes) -> None:
        """A client certificate chain, validated against the CAs we named."""
        self.hs.peer_key = self._validate_peer(message, self.config.client_ca, None)
        self.hs.client_certified = True
        self.hs.transcript.add(raw)

    def on_client_key_exchange(self, cke, raw: bytes) -> None:
        hs = self.hs
        hs.transcript.add(raw)
        pre_master = tls12.server_pre_master(hs.suite, cke, hs.identity.key, hs.kx_group,
                                             hs.kx_private, self.rng,
                                             hs.client_hello.legacy_version)
        self._show({"client_public": cke.exchange})
        self._tls12_master_secret(pre_master)
        self._enter("WAIT_CV" if hs.client_certified else "WAIT_CCS")

    def on_certificate_verify12(self, message: CertificateVerify, raw: bytes) -> None:
        hs = self.hs
        if message.scheme not in self._requested_schemes():
            raise AlertError(AD.illegal_parameter, f"CertificateVerify scheme "
                             f"0x{message.scheme:04x} was not requested",
                             check="certificate_verify_scheme")
        tls12.verify_certificate_verify(message, hs.peer_key, bytes(hs.transcript))
        hs.transcript.add(raw)
        self._enter("WAIT_CCS")

    def on_finished12(self, message: Finished, raw: bytes) -> None:
        cfg, hs = self.config, self.hs
        self._check_finished(message, self._tls12_finished("client").message.verify_data, raw)
        if hs.resumed:                       # our Finished came first: the handshake is done
            return self._complete()
        self._enter("SEND_FINISHED")
        hs.session = self._new_session12()
        if hs.ticket_expected:               # RFC 5077 §3.3: after the client's Finished
            self._send_new_session_ticket12(hs.session)
        self._send_ccs_and_finished12()
        if hs.session.session_id:            # only now: a session whose handshake completed
            cfg.session_cache.put(hs.session.session_id, hs.session)
        self._complete()

    # -- TLS 1.2 resumption (RFC 5246 §7.3 Figure 2, RFC 5077, RFC 7627 §5.3) -----------------
    def _new_session_id12(self) -> bytes:
        """A fresh session ID if we keep a cache (RFC 5246 §7.4.1.3); empty: "not resumable by
        ID"."""
        return self.rng.bytes(32) if self.config.session_cache is not None else b""

    def _will_issue_ticket12(self, ch: ClientHello) -> bool:
        """RFC 5077 §3.2: a ticket only for a client that sent session_ticket. Not when we ask for
        client certificates: a Session does not remember the client's, so resuming would let a
        client skip the authentication we want."""
        cfg = self.config
        return (cfg.ticket_keys is not None and cfg.client_ca is None
                and ch.extension(ET.session_ticket) is not None)

    def _new_session12(self) -> Session:
        cfg, hs = self.config, self.hs
        return Session("1.2", hs.suite.code, hs.master_secret, self._now_ms(),
                       lifetime=cfg.session_lifetime,
                       extended_master_secret=hs.extended_master_secret,
                       server_name=_server_name(hs.client_hello), session_id=hs.session_id)

    def _send_new_session_ticket12(self, session: Session) -> None:
        """The session sealed under our ticket key; the hint is the time it has left."""
        left = (session.issued_ms + 1000 * session.lifetime - self._now_ms()) // 1000
        self._send_stage(tls12.new_session_ticket(self.config.ticket_keys.seal(session),
                                                  max(1, left)))

    def _full_handshake_because(self, reason: str) -> None:
        """We won't resume what the client offered: say why (the server's log shows it)."""
        self._show({"session_resumed": False, "resumption": f"full handshake: {reason}"})
        return None

    def _resumable_session12(self, ch: ClientHello) -> Session | None:
        """The session this ClientHello asks to resume, if we can resume it; otherwise None and a
        full handshake, with the reason in values["resumption"]. A ticket is tried first, and
        then the session ID is not looked at (RFC 5077 §3.4)."""
        cfg = self.config
        found = ch.extension(ET.session_ticket)
        ticket = ext.value(found, "client_hello") if found is not None else b""
        now = self._now_ms()
        if ticket and cfg.ticket_keys is not None:
            how = "ticket"
            try:
                session = cfg.ticket_keys.open(ticket)
            except TicketError as error:
                return self._full_handshake_because(f"ticket: {error}")
        elif ch.session_id and cfg.session_cache is not None:
            how = "session ID"
            known = ch.session_id in cfg.session_cache
            session = cfg.session_cache.get(ch.session_id, now)
            if session is None:
                # an unknown ID is what every client in TLS 1.3 compatibility mode sends (32
                # random bytes, RFC 8446 App. D.4): shown, but not worth the server's log line
                self._show({"session_id_unknown": not known})
                return self._full_handshake_because(
                    "session ID: expired" if known else "session ID: not in our cache")
        else:
            return None                      # nothing offered (or nothing we keep)
        reason = self._unusable12(session, ch, now)
        if reason is not None:
            return self._full_handshake_because(f"{how}: {reason}")
        self._check_ems_on_resumption(session, ch)
        self._show({"session_resumed": True, "resumption": f"resumed by {how}"})
        return session

    def _unusable12(self, session: Session, ch: ClientHello, now: int) -> str | None:
        """Why ``session`` can't be resumed with this ClientHello (None: it can)."""
        cfg = self.config
        if session.version != "1.2":
            return f"a TLS {session.version} session"
        if session.expired(now):
            return "expired"
        if cfg.client_ca is not None:
            return "we ask for client certificates, and a session does not remember one"
        ours = [s.code for s in cfg.suites if s.version == "1.2"]
        name = suites.BY_CODE[session.cipher_suite].name \
            if session.cipher_suite in suites.BY_CODE else f"0x{session.cipher_suite:04x}"
        if session.cipher_suite not in ours:         # RFC 5246 §7.4.1.3: resumed with its suite
            return f"we no longer accept its cipher suite {name}"
        if session.cipher_suite not in ch.cipher_suites:    # §7.4.1.2: the client MUST offer it
            return f"the client does not offer its cipher suite {name}"
        if session.server_name != _server_name(ch):          # RFC 6066 §3
            return (f"made for server name {session.server_name!r}, not "
                    f"{_server_name(ch)!r}")
        if (cfg.ems and not session.extended_master_secret
                and ch.extension(ET.extended_master_secret) is not None):
            # RFC 7627 §5.3: "the server MUST NOT perform the abbreviated handshake. Instead, it
            # SHOULD continue with a full handshake" (which gives the session EMS)
            return "no extended master secret in the session, and the client now offers it"
        return None

    def _check_ems_on_resumption(self, session: Session, ch: ClientHello) -> None:
        """RFC 7627 §5.3, the cases where the server aborts (handshake_failure, §5.2): the
        session had an extended master secret and this ClientHello does not offer one; or
        neither has one — a "legacy insecure resumption" we allow only if configured (or as a
        server that implements no RFC 7627 at all, ems=False)."""
        cfg = self.config
        offered = ch.extension(ET.extended_master_secret) is not None
        if session.extended_master_secret and not offered:
            raise AlertError(AD.handshake_failure, "the session was made with an extended master "
                             "secret, and this ClientHello does not offer one (RFC 7627 §5.3)",
                             check="extended_master_secret")
        if not session.extended_master_secret and not offered and cfg.ems \
                and not cfg.resume_without_ems:
            raise AlertError(AD.handshake_failure, "neither the session nor this ClientHello has "
                             "an extended master secret: no insecure resumption (RFC 7627 §5.3)",
                             check="extended_master_secret")

    def _resume12(self, ch: ClientHello, session: Session) -> None:
        """The abbreviated handshake: ServerHello echoing the client's session ID, [a fresh
        NewSessionTicket], ChangeCipherSpec, Finished — keys from the session's master secret
        and this connection's two new randoms (RFC 5246 §7.3 Figure 2)."""
        cfg, hs = self.config, self.hs
        hs.resumed, hs.session = True, session
        hs.suite = next(s for s in cfg.suites if s.code == session.cipher_suite
                        and s.version == "1.2")
        hs.extended_master_secret = session.extended_master_secret
        hs.master_secret = session.secret
        # A new ticket each time (RFC 5077 §3.1, Figure 2): the same ticket twice would let an
        # onlooker link the two connections.
        hs.ticket_expected = self._will_issue_ticket12(ch)
        self._show({"cipher_suite": hs.suite.name})
        self._send_server_hello12(ch, ch.session_id)    # RFC 5077 §3.4: echo even for a ticket
        self._tls12_keys()
        if hs.ticket_expected:
            self._send_new_session_ticket12(session)
        self._send_ccs_and_finished12()
        self._enter("WAIT_CCS")

    # -- TLS 1.3 -----------------------------------------------------------------------------
    def _client_hello13(self, ch: ClientHello) -> None:
        cfg, hs = self.config, self.hs
        if ch.extension(ET.early_data) is not None:
            hs.early_data = "offered"
        mode = self._choose_psk(ch)
        if mode == PSK_KE:                     # resumption without (EC)DHE: no key share needed
            self._enter("NEGOTIATED")
            return self._server_flight13(ch, None)
        shares = ext.value(ch.extension(ET.key_share) or missing("key_share"), "client_hello")
        offered = {e.group: e for e in shares}
        group = hello.choose_group(offered, [g for g in cfg.groups if g in groups.GROUPS])
        if group is None:
            group = hello.choose_group(hello.client_groups(ch),
                                       [g for g in cfg.groups if g in groups.GROUPS])
            if group is None:
                raise AlertError(AD.handshake_failure, "no key exchange group in common",
                                 check="key_share")
            return self._send_hello_retry_request(ch, group)
        self._enter("NEGOTIATED")
        self._server_flight13(ch, offered[group])

    def _send_hello_retry_request(self, ch: ClientHello, group: int) -> None:
        """RECVD_CH -> START: "send me a key share for this group instead" (RFC 8446 §4.1.4)."""
        hs = self.hs
        if hs.early_data == "offered":    # §4.2.10: early data is rejected with the hello;
            hs.early_data = "rejected"      # skip it (plaintext records now) until ClientHello 2
            hs.skip_plaintext_early_data, hs.early_data_skip = True, self._early_data_budget()
        hs.psk = hs.session = None        # chosen again from the second ClientHello
        self._restart_transcript()
        hs.hello_retry_group = group
        self._send_stage(tls13.hello_retry_request(hs.suite, ch.session_id, group))
        self._show({"hello_retry_request_group": groups.name(group)})
        self._send_compat_ccs()
        self._enter("START")

    def _second_client_hello(self, ch: ClientHello, raw: bytes) -> None:
        hs = self.hs
        shares = ext.value(ch.extension(ET.key_share) or missing("key_share"), "client_hello")
        entry = next((e for e in shares if e.group == hs.hello_retry_group), None)
        if entry is None or len(shares) != 1 or ch.random != hs.client_hello.random:
            raise AlertError(AD.illegal_parameter, "second ClientHello does not carry exactly "
                             "the requested key share", check="hello_retry_request")
        self._enter("RECVD_CH")
        hs.client_hello = ch
        hs.transcript.add(raw)
        hs.skip_plaintext_early_data, hs.early_data_skip = False, None
        self._choose_psk(ch)
        self._enter("NEGOTIATED")
        self._server_flight13(ch, entry)

    def _server_flight13(self, ch: ClientHello, entry) -> None:
        """ServerHello, then under the handshake key EncryptedExtensions, [CertificateRequest],
        Certificate, CertificateVerify, Finished; then the application key for writing. Resuming
        (a PSK chosen): no CertificateRequest, Certificate or CertificateVerify — the PSK
        authenticates — and no key share in psk_ke mode (``entry`` None)."""
        cfg, hs = self.config, self.hs
        suite = hs.suite
        share = shared = None
        if entry is not None:
            group = groups.get(entry.group)
            if len(entry.key_exchange) != group.client_share_size:   # RFC 8446 §4.2.8: e.g. an
                raise AlertError(AD.illegal_parameter, f"{group.name} key share of "   # ffdhe
                                 f"{len(entry.key_exchange)} bytes, not "   # share must be
                                 f"{group.client_share_size}", check="key_share")  # left-padded
            public, shared = group.server_share(self.rng, entry.key_exchange)
            share = ext.KeyShareEntry(entry.group, public)
        client_hello_hash = self._transcript_hash()
        hs.server_random = self.rng.bytes(32)
        self._send_stage(tls13.server_hello(suite, hs.server_random, ch.session_id, share,
                                            hs.psk_index if hs.psk is not None else None))
        if entry is not None:
            self._show({"group": groups.name(entry.group), "client_share": entry.key_exchange})
        accept_early = self._accept_early_data()
        self._start_schedule13(shared, client_hello_hash if accept_early else None)
        self._send_compat_ccs()
        self.records.write = self._protection13("server_handshake")
        extensions = [] if hs.record_size_limit is None else [
            ext.record_size_limit(hs.record_size_limit)]
        if hs.alpn_protocol is not None:         # RFC 8446 §4.2: ALPN goes in EncryptedExtensions
            extensions.append(ext.application_layer_protocol_negotiation([hs.alpn_protocol]))
        if accept_early:
            extensions.append(ext.early_data())
        self._send_stage(tls13.encrypted_extensions(extensions))
        if hs.psk is None:
            if cfg.client_ca:
                self._send_stage(tls13.certificate_request(self._requested_schemes()))
            self._send_stage(tls13.certificate(hs.identity))
            self._send_stage(tls13.certificate_verify(hs.identity.key, hs.peer_schemes,
                                                      self._transcript_hash(), "server",
                                                      cfg.signature_preference))
        self._send_stage(tls13.finished(suite, hs.schedule.server_handshake_traffic_secret,
                                        self._transcript_hash(), "server"))
        self._application_secrets13()
        self.records.write = self._protection13("server_application")
        if accept_early:                   # the client's 0-RTT records come first (§2.3)
            self.records.read = self._protection13("client_early")
            return self._enter("WAIT_EOED")
        self.records.read = self._protection13("client_handshake")
        if hs.early_data == "offered":     # rejected: skip what we cannot decrypt (§4.2.10)
            hs.early_data, hs.early_data_skip = "rejected", self._early_data_budget()
            self._show({"early_data": "rejected"})
        self._enter("WAIT_FLIGHT2")
        self._enter("WAIT_CERT" if cfg.client_ca and hs.psk is None else "WAIT_FINISHED")

    # -- resumption and 0-RTT (RFC 8446 §4.2.9–11, §4.6.1, §8) ----------------------------------
    def _choose_psk(self, ch: ClientHello) -> int | None:
        """Take the first offered ticket we can use, checking its binder; otherwise go on with a
        full handshake and say why. Returns the PSK mode (psk_ke / psk_dhe_ke) or None."""
        cfg, hs = self.config, self.hs
        found = ch.extension(ET.pre_shared_key)
        if found is None or cfg.ticket_keys is None:
            return None
        if ch.extensions[-1].type != ET.pre_shared_key:         # RFC 8446 §4.2.11
            raise AlertError(AD.illegal_parameter, "pre_shared_key is not the last extension",
                             check="pre_shared_key")
        modes = ext.value(ch.extension(ET.psk_key_exchange_modes)
                          or missing("psk_key_exchange_modes"), "client_hello")  # §4.2.9
        offered = ext.value(found, "client_hello")
        if len(offered.binders) != len(offered.identities):
            raise AlertError(AD.illegal_parameter, f"{len(offered.identities)} PSK identities "
                             f"but {len(offered.binders)} binders", check="psk_binder")
        mode = next((m for m in cfg.psk_modes if m in modes), None)
        reasons = []
        if mode is None:
            reasons.append("no psk_key_exchange_mode in common")
        for index, identity in enumerate(offered.identities if mode is not None else ()):
            try:
                session = cfg.ticket_keys.open(identity.identity)
            except sessions.TicketError as error:
                reasons.append(f"ticket {index}: {error}")
                continue
            why = self._unusable(session, ch)
            if why:
                reasons.append(f"ticket {index}: {why}")
                continue
            self._check_binder(session, offered, index)
            hs.session, hs.psk, hs.psk_index, hs.resumed = session, session.secret, index, True
            hs.psk_identity = identity.identity
            hs.client_ticket_age = (identity.obfuscated_ticket_age - session.ticket_age_add) \
                % 2 ** 32
            self._show({"resumed": True, "resumption": f"resumed by ticket ({PSK_MODE_NAMES[mode]})",
                        "psk": session.secret, "psk_mode": PSK_MODE_NAMES[mode],
                        "ticket_contents": session.state_fields(),
                        "client_ticket_age_ms": hs.client_ticket_age})
            return mode
        self._show({"psk_rejected": "; ".join(reasons),      # a full handshake instead
                    "resumption": "full handshake: " + "; ".join(reasons)})
        return None

    def _unusable(self, session: sessions.Session, ch: ClientHello) -> str | None:
        """Why a ticket that decrypted still cannot be used here, or None."""
        if session.version != "1.3":
            return f"a TLS {session.version} session"
        if session.expired(self._now_ms()):
            return "expired"
        suite = BY_CODE.get(session.cipher_suite)
        if suite is None or suite.hash != self.hs.suite.hash:   # §4.2.11: the PSK's hash
            return f"its suite's hash is not {self.hs.suite.hash}"
        if session.server_name != (hello.server_name_of(ch) or ""):
            return f"issued for server name {session.server_name!r}"
        return None

    def _check_binder(self, session: sessions.Session, offered, index: int) -> None:
        """§4.2.11.2: the binder must be the HMAC a client knowing the PSK computes over this
        ClientHello minus the binders; otherwise abort (decrypt_error) — never fall back."""
        hs = self.hs
        schedule = tls13.KeySchedule(hs.suite)
        schedule.start(session.secret)
        prefix = hs.transcript.messages[:-1]        # before this ClientHello (HRR: message_hash, HRR)
        truncated = tls13.truncated_client_hello(hs.transcript.messages[-1], offered)
        expected = tls13.psk_binder(hs.suite, schedule.binder_key,
                                    hash_after(prefix, truncated, hs.suite.hash))
        if offered.binders[index] != expected:
            raise AlertError(AD.decrypt_error, f"PSK binder {index} does not match the "
                             "ClientHello", check="psk_binder")
        self._show({"binder_key": schedule.binder_key, "binder": expected})

    def _accept_early_data(self) -> bool:
        """RFC 8446 §4.2.10: take 0-RTT only with the first ticket, its suite and ALPN, an allowance
        in the ticket and here, and what anti-replay (§8) lets through."""
        cfg, hs = self.config, self.hs
        if hs.early_data != "offered":
            return False
        session = hs.session
        why = None
        if session is None:
            why = "no PSK accepted"
        elif hs.psk_index != 0:
            why = "only the first PSK may carry early data"
        elif not cfg.max_early_data or not session.max_early_data:
            why = "this server takes no early data"
        elif session.cipher_suite != hs.suite.code:
            why = "another cipher suite than the ticket's"
        elif session.alpn != (self.alpn_protocol or ""):
            why = "another application protocol (ALPN) than the ticket's"
        else:
            why = cfg.anti_replay.check(hs.psk_identity, session, hs.client_ticket_age,
                                        self._now_ms())
        if why:
            self._show({"early_data_rejected": why})
            return False
        hs.early_data = "accepted"
        self._show({"early_data": "accepted"})
        return True

    def _early_data_budget(self) -> int:
        """How much rejected 0-RTT we skip before calling it an attack: what tickets allow, or
        one full record if we allow none (§4.2.10)."""
        return max(self.config.max_early_data, 2 ** 14 + 256)

    def _issue_tickets(self) -> None:
        """RFC 8446 §4.6.1: NewSessionTickets, each with its own nonce (so its own PSK), a
        random ticket_age_add, and the session sealed under our ticket key."""
        cfg, hs = self.config, self.hs
        if cfg.ticket_keys is None or hs.client_hello.extension(ET.psk_key_exchange_modes) is None:
            return                 # §4.2.9: a client without psk_key_exchange_modes cannot resume
        for _ in range(cfg.tickets):
            nonce = hs.tickets_sent.to_bytes(cfg.ticket_nonce_length, "big")
            hs.tickets_sent += 1
            psk = tls13.resumption_psk(hs.suite.hash, hs.schedule.resumption_master_secret, nonce)
            session = sessions.Session(
                "1.3", hs.suite.code, psk, self._now_ms(), cfg.ticket_lifetime,
                int.from_bytes(self.rng.bytes(4), "big"), cfg.max_early_data,
                server_name=hello.server_name_of(hs.client_hello) or "",
                alpn=self.alpn_protocol or "")
            stage = tls13.new_session_ticket(cfg.ticket_lifetime, session.ticket_age_add, nonce,
                                             cfg.ticket_keys.seal(session), cfg.max_early_data)
            stage.values["ticket_psk"] = psk
            self._send_handshake(stage.message, stage.values, in_transcript=False)

    def on_end_of_early_data(self, message, raw: bytes) -> None:
        """RFC 8446 §4.5: the client's early data is over; its next records use the client
        handshake traffic key. (We enter WAIT_EOED only once we accept early data.)"""
        self.hs.transcript.add(raw)
        self.records.read = self._protection13("client_handshake")
        self._enter("WAIT_FLIGHT2")
        self._enter("WAIT_CERT" if self.config.client_ca else "WAIT_FINISHED")

    def on_certificate13(self, message: Certificate, raw: bytes) -> None:
        if message.certificate_list or self._no_certificate_required(raw):
            self._client_certificate(message, raw)
            self._enter("WAIT_CV")
        else:
            self._enter("WAIT_FINISHED")

    def on_certificate_verify13(self, message: CertificateVerify, raw: bytes) -> None:
        self._check_certificate_verify13(message, raw, self._requested_schemes())
        self._enter("WAIT_FINISHED")

    def on_finished13(self, message: Finished, raw: bytes) -> None:
        hs = self.hs
        self._check_finished(message, tls13.finished_verify_data(
            hs.suite, hs.schedule.client_handshake_traffic_secret, self._transcript_hash()), raw)
        self._resumption_secret13()
        self.records.read = self._protection13("client_application")
        self._complete()
        self._issue_tickets()

    HANDLERS = {
        "1.3": {HT.client_hello: on_client_hello,
                HT.end_of_early_data: on_end_of_early_data,
                HT.certificate: on_certificate13,
                HT.certificate_verify: on_certificate_verify13,
                HT.finished: on_finished13,
                HT.key_update: Connection.on_key_update},
        "1.2": {HT.client_hello: on_client_hello,
                HT.certificate: on_certificate12,
                HT.client_key_exchange: on_client_key_exchange,
                HT.certificate_verify: on_certificate_verify12,
                states.CCS: Connection.on_change_cipher_spec,
                HT.finished: on_finished12,
                ("CONNECTED", HT.client_hello): Connection.on_renegotiation},
    }


def _server_name(ch: ClientHello | None) -> str:
    """The host name a ClientHello asks for (SNI), or "" without one."""
    found = ch.extension(ET.server_name) if ch is not None else None
    names = ext.value(found, "client_hello") if found is not None else None
    return names[0] if names else ""
