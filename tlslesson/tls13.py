"""The TLS 1.3 key schedule (RFC 8446 §7) as small named functions, and one object showing it all.

                 0
                 |
       PSK ->  HKDF-Extract = Early Secret --> binder key, c e traffic, e exp master
                 |  Derive-Secret(., "derived", "")
 (EC)DHE ->  HKDF-Extract = Handshake Secret --> c hs traffic, s hs traffic
                 |  Derive-Secret(., "derived", "")
       0 ->  HKDF-Extract = Master Secret --> c ap traffic, s ap traffic, exp master, res master
"""
from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from . import extensions as ext
from . import signatures
from .constants import (AlertDescription, HandshakeType,
                        HELLO_RETRY_REQUEST_RANDOM, ProtocolVersion)
from .errors import AlertError
from .extensions import KeyShareEntry
from .messages import (Certificate, CertificateRequest, CertificateVerify, Context,
                       EncryptedExtensions, Finished, NewSessionTicket, ServerHello, Stage)
from .prf import HASHES, digest, hmac_digest
from .suites import CipherSuite
from .wire import opaque, u16


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM); an empty salt means HashLen zero bytes."""
    return hmac_digest(hash_name, salt or bytes(HASHES[hash_name].digest_size), ikm)


def hkdf_label(label: str, context: bytes, length: int) -> bytes:
    """RFC 8446 §7.1: the HkdfLabel structure, the ``info`` of HKDF-Expand-Label —
    uint16 length + opaque label<7..255> ("tls13 " + label) + opaque context<0..255>.

    >>> hkdf_label("iv", b"", 12).hex()
    '000c08746c73313320697600'
    """
    return u16(length) + opaque(1, b"tls13 " + label.encode()) + opaque(1, context)


def hkdf_expand_label(hash_name: str, secret: bytes, label: str, context: bytes,
                      length: int) -> bytes:
    """RFC 8446 §7.1: HKDF-Expand(secret, HkdfLabel, length), with ``hkdf_label`` above."""
    return HKDFExpand(HASHES[hash_name](), length, hkdf_label(label, context, length)).derive(secret)


def derive_secret(hash_name: str, secret: bytes, label: str, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label,
    Transcript-Hash(Messages), Hash.length). Takes the transcript hash already computed."""
    return hkdf_expand_label(hash_name, secret, label, transcript_hash,
                             HASHES[hash_name].digest_size)


def traffic_keys(suite: CipherSuite, secret: bytes) -> tuple[bytes, bytes]:
    """RFC 8446 §7.3: write key and IV from a traffic secret."""
    return (hkdf_expand_label(suite.hash, secret, "key", b"", suite.key_length),
            hkdf_expand_label(suite.hash, secret, "iv", b"", suite.iv_length))


def finished_verify_data(suite: CipherSuite, base_key: bytes, transcript_hash: bytes) -> bytes:
    """RFC 8446 §4.4.4: HMAC(finished_key, Transcript-Hash), finished_key from the traffic secret."""
    size = HASHES[suite.hash].digest_size
    finished_key = hkdf_expand_label(suite.hash, base_key, "finished", b"", size)
    return hmac_digest(suite.hash, finished_key, transcript_hash)


def next_traffic_secret(suite: CipherSuite, secret: bytes) -> bytes:
    """RFC 8446 §7.2 (KeyUpdate): application_traffic_secret_N+1."""
    return hkdf_expand_label(suite.hash, secret, "traffic upd", b"",
                             HASHES[suite.hash].digest_size)


def exporter_secret_for_label(hash_name: str, exporter_secret: bytes, label: str) -> bytes:
    """RFC 8446 §7.5, first step: Derive-Secret(Secret, label, "") — one secret per label, so
    two applications exporting under different labels get unrelated keys. ``exporter_secret``
    is exporter_master_secret (or, for 0-RTT data, early_exporter_master_secret)."""
    return derive_secret(hash_name, exporter_secret, label, digest(hash_name, b""))


def export_keying_material(hash_name: str, exporter_secret: bytes, label: str,
                           context: bytes | None, length: int) -> bytes:
    """RFC 8446 §7.5: TLS-Exporter(label, context_value, key_length) =
    HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value), key_length).
    In TLS 1.3 "no context" and an empty context are the same (Hash of zero bytes)."""
    secret = exporter_secret_for_label(hash_name, exporter_secret, label)
    return hkdf_expand_label(hash_name, secret, "exporter", digest(hash_name, context or b""),
                             length)


@dataclass
class KeySchedule:
    """Every secret of one TLS 1.3 handshake, filled in as the handshake reaches it."""
    suite: CipherSuite
    early_secret: bytes = b""
    binder_key: bytes = b""                      # with a PSK: the key its binder is made with
    client_early_traffic_secret: bytes = b""     # 0-RTT: the key of the client's early data
    early_exporter_master_secret: bytes = b""
    handshake_secret: bytes = b""
    master_secret: bytes = b""
    client_handshake_traffic_secret: bytes = b""
    server_handshake_traffic_secret: bytes = b""
    client_application_traffic_secret_0: bytes = b""
    server_application_traffic_secret_0: bytes = b""
    exporter_master_secret: bytes = b""
    resumption_master_secret: bytes = b""
    keys: dict = field(default_factory=dict)   # name -> (key, iv)

    def _empty_hash(self) -> bytes:
        return digest(self.suite.hash, b"")

    def _derived(self, *names) -> dict[str, bytes]:
        """What a step of the schedule brought into being, by name (what the notebooks show)."""
        out = {name: getattr(self, name) for name in names}
        for which in ("client_early", "client_handshake", "server_handshake",
                      "client_application", "server_application"):
            if f"{which}_traffic_secret{'_0' if 'application' in which else ''}" in names:
                out[f"{which}_key"], out[f"{which}_iv"] = self.keys[which]
        return out

    def start(self, psk: bytes | None = None, resumption: bool = True) -> dict[str, bytes]:
        """Early Secret = HKDF-Extract(0, PSK); without a PSK the IKM is HashLen zeros. With a
        PSK also its binder_key: "res binder" for a ticket, "ext binder" for an external PSK (so
        one kind can never be passed off as the other, RFC 8446 §4.2.11.2)."""
        h = self.suite.hash
        zeros = bytes(HASHES[h].digest_size)
        self.early_secret = hkdf_extract(h, zeros, psk or zeros)
        if psk is None:
            return self._derived("early_secret")
        self.binder_key = derive_secret(h, self.early_secret,
                                        "res binder" if resumption else "ext binder",
                                        self._empty_hash())
        return self._derived("early_secret", "binder_key")

    def early(self, client_hello_hash: bytes) -> dict[str, bytes]:
        """0-RTT: from the Early Secret and the ClientHello alone, the client's early traffic
        secret — no server contribution yet, which is why early data can be replayed (§8)."""
        h = self.suite.hash
        self.client_early_traffic_secret = derive_secret(h, self.early_secret, "c e traffic",
                                                         client_hello_hash)
        self.early_exporter_master_secret = derive_secret(h, self.early_secret, "e exp master",
                                                          client_hello_hash)
        self.keys["client_early"] = traffic_keys(self.suite, self.client_early_traffic_secret)
        return self._derived("client_early_traffic_secret", "early_exporter_master_secret")

    def handshake(self, shared_secret: bytes, hello_hash: bytes) -> dict[str, bytes]:
        """After ServerHello: mix in the (EC)DHE secret; derive the handshake traffic secrets."""
        h = self.suite.hash
        derived = derive_secret(h, self.early_secret, "derived", self._empty_hash())
        self.handshake_secret = hkdf_extract(h, derived, shared_secret)
        self.client_handshake_traffic_secret = derive_secret(
            h, self.handshake_secret, "c hs traffic", hello_hash)
        self.server_handshake_traffic_secret = derive_secret(
            h, self.handshake_secret, "s hs traffic", hello_hash)
        self.keys["client_handshake"] = traffic_keys(self.suite, self.client_handshake_traffic_secret)
        self.keys["server_handshake"] = traffic_keys(self.suite, self.server_handshake_traffic_secret)
        return self._derived("handshake_secret", "client_handshake_traffic_secret",
                             "server_handshake_traffic_secret")

    def application(self, server_finished_hash: bytes) -> dict[str, bytes]:
        """After the server's Finished: the master secret and the application traffic secrets."""
        h = self.suite.hash
        derived = derive_secret(h, self.handshake_secret, "derived", self._empty_hash())
        # "0" in the §7.1 diagram is HashLen zero bytes, not an empty string: HMAC pads a key
        # with zeros but hashes the message as given, so b"" would give another secret.
        self.master_secret = hkdf_extract(h, derived, bytes(HASHES[h].digest_size))
        self.client_application_traffic_secret_0 = derive_secret(
            h, self.master_secret, "c ap traffic", server_finished_hash)
        self.server_application_traffic_secret_0 = derive_secret(
            h, self.master_secret, "s ap traffic", server_finished_hash)
        self.exporter_master_secret = derive_secret(
            h, self.master_secret, "exp master", server_finished_hash)
        self.keys["client_application"] = traffic_keys(
            self.suite, self.client_application_traffic_secret_0)
        self.keys["server_application"] = traffic_keys(
            self.suite, self.server_application_traffic_secret_0)
        return self._derived("master_secret", "client_application_traffic_secret_0",
                             "server_application_traffic_secret_0", "exporter_master_secret")

    def resumption(self, client_finished_hash: bytes) -> dict[str, bytes]:
        self.resumption_master_secret = derive_secret(
            self.suite.hash, self.master_secret, "res master", client_finished_hash)
        return self._derived("resumption_master_secret")

    def secrets(self) -> dict[str, bytes]:
        """Name -> value of every secret derived so far (for the notebook's table)."""
        return {k: v for k, v in vars(self).items() if isinstance(v, bytes) and v}


def resumption_psk(hash_name: str, resumption_master_secret: bytes, ticket_nonce: bytes) -> bytes:
    """RFC 8446 §4.6.1: the PSK of one ticket — HKDF-Expand-Label(resumption_master_secret,
    "resumption", ticket_nonce, Hash.length). A new nonce per ticket gives each its own PSK."""
    return hkdf_expand_label(hash_name, resumption_master_secret, "resumption", ticket_nonce,
                             HASHES[hash_name].digest_size)


def truncated_client_hello(client_hello: bytes, offered: ext.OfferedPsks) -> bytes:
    """RFC 8446 §4.2.11.2: the ClientHello (with its handshake header) up to, not including,
    the binders list — the last field of the last extension, pre_shared_key. Its length prefixes
    still count the binders, so the binders must already have their final lengths."""
    return client_hello[:-len(offered.encode_binders())]


def psk_binder(suite: CipherSuite, binder_key: bytes, truncated_hash: bytes) -> bytes:
    """RFC 8446 §4.2.11.2: a binder is a Finished computed with the binder_key as base key over
    the truncated ClientHello: proof the client knows the PSK, tied to this very hello."""
    return finished_verify_data(suite, binder_key, truncated_hash)


def obfuscated_ticket_age(age_ms: int, ticket_age_add: int) -> int:
    """RFC 8446 §4.2.11.1: the ticket's age in milliseconds plus ticket_age_add, modulo 2^32 —
    so an observer cannot link the resumption to the connection that got the ticket."""
    return (age_ms + ticket_age_add) % 2 ** 32


def certificate_verify_content(transcript_hash: bytes, signer: str) -> bytes:
    """RFC 8446 §4.4.3: 64 spaces, a context string naming who signs, a zero byte, then the
    transcript hash. The prefix keeps a TLS 1.3 signature from being reused anywhere else."""
    context = f"TLS 1.3, {signer} CertificateVerify".encode()
    return b"\x20" * 64 + context + b"\x00" + transcript_hash


# -- message stages (RFC 8446 §4) ---------------------------------------------------------------
TLS13 = Context("1.3")


def server_hello(suite: CipherSuite, server_random: bytes, session_id_echo: bytes,
                 share: KeyShareEntry | None, selected_identity: int | None = None) -> Stage:
    """The version is chosen in supported_versions (legacy_version stays 0x0303 so old
    middleboxes don't choke) and the server's key share completes the (EC)DHE in one round trip.
    Resuming, pre_shared_key names the PSK chosen; in psk_ke mode there is no key share."""
    extensions = [ext.supported_versions_server(ProtocolVersion.TLS13)]
    if share is not None:
        extensions.append(ext.key_share_server(share))
    if selected_identity is not None:
        extensions.append(ext.pre_shared_key_server(selected_identity))
    message = ServerHello(server_random, suite.code, tuple(extensions), session_id_echo)
    values = {"server_random": server_random, "cipher_suite": suite.name}
    if share is not None:
        values["server_share"] = share.key_exchange
    return Stage(message, values, TLS13)


def hello_retry_request(suite: CipherSuite, session_id_echo: bytes, group: int) -> Stage:
    """A ServerHello with the special random: "send me a key share for this group instead"."""
    message = ServerHello(HELLO_RETRY_REQUEST_RANDOM, suite.code,
                          (ext.supported_versions_server(ProtocolVersion.TLS13),
                           ext.key_share_retry(group)), session_id_echo)
    return Stage(message, {"hello_retry_request_group": group}, TLS13)


def message_hash(first_client_hello_hash: bytes) -> bytes:
    """RFC 8446 §4.4.1: after a HelloRetryRequest the first ClientHello is replaced in the
    transcript by this synthetic handshake message holding only its hash."""
    return bytes([HandshakeType.message_hash, 0, 0, len(first_client_hello_hash)]) + \
        first_client_hello_hash


def encrypted_extensions(extensions=()) -> Stage:
    """The first encrypted message: extensions not needed to set up keys (e.g. ALPN)."""
    return Stage(EncryptedExtensions(tuple(extensions)), {}, TLS13)


def certificate_request(schemes, context: bytes = b"") -> Stage:
    return Stage(CertificateRequest(tuple(schemes), b"", tls13=True,
                                    certificate_request_context=context,
                                    extensions=(ext.signature_algorithms(schemes),)),
                 {}, TLS13)


def certificate(identity, request_context: bytes = b"") -> Stage:
    chain = tuple(identity.chain_der()) if identity is not None else ()
    return Stage(Certificate(chain, True, request_context, ((),) * len(chain)),
                 {"certificates_sent": len(chain)}, TLS13)


def certificate_verify(key, offered_schemes, transcript_hash: bytes, signer: str,
                       preference=signatures.SUPPORTED) -> Stage:
    """A signature over the transcript hash (with the 64-space prefix and context string):
    proof of possession of the certificate's private key, bound to this very handshake."""
    scheme = signatures.choose(key, offered_schemes, preference, tls13=True)
    content = certificate_verify_content(transcript_hash, signer)
    return Stage(CertificateVerify(scheme, signatures.sign(key, scheme, content)), {}, TLS13)


def verify_certificate_verify(message: CertificateVerify, public_key, transcript_hash: bytes,
                              signer: str, offered_schemes) -> None:
    """Check the peer's CertificateVerify: a scheme we offered that TLS 1.3 allows (no
    PKCS#1 v1.5, RFC 8446 §4.4.3), and a signature that verifies under the certificate's key."""
    if message.scheme not in offered_schemes or message.scheme not in signatures.SCHEMES_13:
        raise AlertError(AlertDescription.illegal_parameter,
                         f"CertificateVerify scheme 0x{message.scheme:04x} was not offered "
                         "or is not allowed in TLS 1.3", check="certificate_verify_scheme")
    signatures.verify(public_key, message.scheme,
                      certificate_verify_content(transcript_hash, signer), message.signature,
                      f"{signer} CertificateVerify", "certificate_verify")


def finished(suite: CipherSuite, base_key: bytes, transcript_hash: bytes, sender: str) -> Stage:
    data = finished_verify_data(suite, base_key, transcript_hash)
    return Stage(Finished(data), {f"{sender}_verify_data": data}, TLS13)


def new_session_ticket(lifetime: int, ticket_age_add: int, ticket_nonce: bytes, ticket: bytes,
                       max_early_data: int = 0) -> Stage:
    """RFC 8446 §4.6.1: after the handshake, a ticket the client may bring back. Its PSK is
    derived from the resumption master secret and ``ticket_nonce``; the server can find it
    again because ``ticket`` holds it, sealed under a key only the server has."""
    extensions = (ext.early_data(max_early_data),) if max_early_data else ()
    return Stage(NewSessionTicket(lifetime, ticket, True, ticket_age_add, ticket_nonce,
                                  extensions),
                 {"ticket_lifetime": lifetime, "ticket_age_add": ticket_age_add,
                  "ticket_nonce": ticket_nonce, "ticket": ticket}, TLS13)
