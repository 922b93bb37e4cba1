"""TLS 1.2 key derivation as plain functions (RFC 5246 §5, §6.3, §7.4.9; RFC 7627).

Every function takes bytes and a suite and returns bytes (or a frozen result), so a notebook cell
can call one, print it, and compare it with ``openssl kdf ... TLS1-PRF``.
"""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa as _rsa

from . import groups, keyexchange, signatures
from .constants import AlertDescription
from .errors import AlertError
from . import extensions as ext
from .messages import (Certificate, CertificateRequest, CertificateVerify, ClientKeyExchange,
                       Context, Finished, NewSessionTicket, ServerHello, ServerHelloDone,
                       ServerKeyExchange, Stage)
from .prf import hmac_digest
from .suites import CipherSuite


def p_hash(hash_name: str, secret: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 §5: A(0) = seed, A(i) = HMAC(secret, A(i-1));
    P_hash = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ... cut to ``length``."""
    out, a = b"", seed
    while len(out) < length:
        a = hmac_digest(hash_name, secret, a)
        out += hmac_digest(hash_name, secret, a + seed)
    return out[:length]


def prf(secret: bytes, label: bytes, seed: bytes, length: int, hash_name: str = "SHA256") -> bytes:
    """PRF(secret, label, seed) = P_<hash>(secret, label + seed). The label is ASCII text."""
    return p_hash(hash_name, secret, label + seed, length)


def master_secret(pre_master: bytes, client_random: bytes, server_random: bytes,
                  suite: CipherSuite) -> bytes:
    """RFC 5246 §8.1: 48 bytes from the pre-master secret and both randoms."""
    return prf(pre_master, b"master secret", client_random + server_random, 48, suite.hash)


def extended_master_secret(pre_master: bytes, session_hash: bytes, suite: CipherSuite) -> bytes:
    """RFC 7627 §4: bind the master secret to the whole handshake up to ClientKeyExchange
    (``session_hash``), so a man in the middle can't make two sessions share one secret."""
    return prf(pre_master, b"extended master secret", session_hash, 48, suite.hash)


def dhe_pre_master(shared_secret: bytes) -> bytes:
    """RFC 5246 §8.1.2: "Leading bytes of Z that contain all zero bits are stripped"."""
    return shared_secret.lstrip(b"\x00")


@dataclass(frozen=True)
class KeyBlock:
    """RFC 5246 §6.3: the key block cut, in this order, into MAC keys, cipher keys and IVs."""
    client_write_mac_key: bytes
    server_write_mac_key: bytes
    client_write_key: bytes
    server_write_key: bytes
    client_write_iv: bytes
    server_write_iv: bytes


def key_block(master: bytes, client_random: bytes, server_random: bytes,
              suite: CipherSuite) -> KeyBlock:
    """key_block = PRF(master, "key expansion", server_random + client_random) — note the
    randoms are in the opposite order from the master secret's seed."""
    mac, key = suite.mac_length, suite.key_length
    # CBC suites in TLS 1.2 send an explicit IV in each record; none comes from the key block.
    iv = 0 if suite.mac else suite.iv_length
    block = prf(master, b"key expansion", server_random + client_random,
                2 * (mac + key + iv), suite.hash)
    sizes = (mac, mac, key, key, iv, iv)
    parts, at = [], 0
    for size in sizes:
        parts.append(block[at:at + size])
        at += size
    return KeyBlock(*parts)


def verify_data(master: bytes, sender: str, handshake_hash: bytes, suite: CipherSuite) -> bytes:
    """RFC 5246 §7.4.9: PRF(master, "client finished" | "server finished", Hash(messages))[0..11]."""
    return prf(master, f"{sender} finished".encode(), handshake_hash, 12, suite.hash)


# RFC 5705 §4: labels the handshake itself uses, which an exporter MUST NOT take
# (and RFC 7627's "extended master secret").
RESERVED_EXPORTER_LABELS = ("client finished", "server finished", "master secret",
                            "key expansion", "extended master secret")


def exporter_seed(client_random: bytes, server_random: bytes, context: bytes | None) -> bytes:
    """RFC 5705 §4: client_random + server_random, then — only if there is a context — its
    length as a uint16 and the context itself. So "no context" (None) and an empty context
    (b"") give different keys in TLS 1.2, unlike TLS 1.3."""
    seed = client_random + server_random
    if context is not None:
        if len(context) >= 2 ** 16:
            raise ValueError("RFC 5705 §4: the context must be shorter than 2^16 bytes")
        seed += len(context).to_bytes(2, "big") + context
    return seed


def export_keying_material(master: bytes, label: str, client_random: bytes,
                           server_random: bytes, context: bytes | None, length: int,
                           suite: CipherSuite) -> bytes:
    """RFC 5705 §4: PRF(master_secret, label, exporter_seed(...))[0..length-1], with the
    suite's PRF hash — keys for another protocol, bound to this TLS session."""
    if label in RESERVED_EXPORTER_LABELS:
        raise ValueError(f"exporter label {label!r} is reserved by TLS itself (RFC 5705 §4)")
    return prf(master, label.encode("ascii"), exporter_seed(client_random, server_random,
                                                             context), length, suite.hash)


# -- message stages ------------------------------------------------------------------------


def server_hello(suite: CipherSuite, server_random: bytes, ems: bool,
                 secure_renegotiation: bool = True, point_formats: bool = True,
                 etm: bool = False, record_size_limit: int | None = None,
                 alpn: bytes | None = None, session_id: bytes = b"",
                 session_ticket: bool = False) -> Stage:
    """The server's choice: version 1.2 (legacy_version 0x0303), one suite, its own random, and the
    extensions it agrees to — each only in answer to the client's (RFC 5246 §7.4.1.4):
    renegotiation_info if the client signalled RFC 5746 (an OpenSSL 3 client insists on it),
    extended_master_secret if both want it (RFC 7627), ec_point_formats for ECDHE if the client
    sent its own (RFC 8422 §5.2), encrypt_then_mac for a CBC suite if the client offered it (RFC
    7366 §2), our record_size_limit if the client sent its own (RFC 8449 §4), the one
    application protocol chosen from the client's list (RFC 7301 §3.1), an empty
    session_ticket if a NewSessionTicket will follow (RFC 5077 §3.2).

    ``session_id``: a new session's ID for our cache (empty: not cached), or, when resuming, the
    client's ID echoed — which is how the client learns it is resumed (RFC 5246 §7.4.1.3)."""
    exts = [ext.renegotiation_info()] if secure_renegotiation else []
    if ems:
        exts.append(ext.extended_master_secret())
    if suite.kx == "ECDHE" and point_formats:
        exts.append(ext.ec_point_formats())
    if etm:
        exts.append(ext.encrypt_then_mac())
    if record_size_limit is not None:
        exts.append(ext.record_size_limit(record_size_limit))
    if alpn is not None:
        exts.append(ext.application_layer_protocol_negotiation([alpn]))
    if session_ticket:
        exts.append(ext.session_ticket())
    return Stage(ServerHello(server_random, suite.code, tuple(exts), session_id),
                 {"server_random": server_random, "cipher_suite": suite.name,
                  "extended_master_secret": ems})


def certificate(identity) -> Stage:
    """The certificate chain, leaf first (empty when a client has none to give)."""
    chain = tuple(identity.chain_der()) if identity is not None else ()
    return Stage(Certificate(chain), {"certificates_sent": len(chain)})


def server_key_exchange(suite: CipherSuite, group, public: bytes, key, scheme: int,
                        client_random: bytes, server_random: bytes) -> Stage:
    """The server's ephemeral public value for ``group`` (a ``groups`` entry), signed with its
    certificate key over client_random + server_random + params, so the client knows it wasn't
    swapped in transit. ECDHE names the curve; DHE sends p and g themselves."""
    if suite.kx == "DHE":
        named, dh_p, dh_g = None, group.p.to_bytes(group.size, "big"), group.g.to_bytes(1, "big")
    else:
        named, dh_p, dh_g = group.code, b"", b""
    unsigned = ServerKeyExchange(suite.kx, public, scheme, b"", named, dh_p, dh_g)
    signature = signatures.sign(key, scheme, client_random + server_random + unsigned.params())
    message = ServerKeyExchange(suite.kx, public, scheme, signature, named, dh_p, dh_g)
    return Stage(message, {"group": group.name, "server_public": public},
                 Context("1.2", suite.kx))


def certificate_request(schemes, client_ca) -> Stage:
    """Ask the client for a certificate: which signature schemes, which CAs we trust."""
    cas = tuple(c.subject.public_bytes() for c in client_ca)
    return Stage(CertificateRequest(tuple(schemes), certificate_authorities=cas))


def server_hello_done() -> Stage:
    """"That's all from me": the client may now answer (RFC 5246 §7.4.5)."""
    return Stage(ServerHelloDone())


def verify_server_key_exchange(ske: ServerKeyExchange, public_key, client_random: bytes,
                               server_random: bytes, offered_schemes) -> None:
    if ske.scheme not in offered_schemes:
        raise AlertError(AlertDescription.illegal_parameter,
                         f"ServerKeyExchange signed with scheme 0x{ske.scheme:04x} we did not offer",
                         check="ske_signature_scheme")
    signatures.verify(public_key, ske.scheme, client_random + server_random + ske.params(),
                      ske.signature, "ServerKeyExchange", "ske_signature")


def client_key_exchange(suite: CipherSuite, server_public_key, ske: ServerKeyExchange | None,
                        rng) -> Stage:
    """The client's half of the key exchange. values: pre_master_secret (never sent in the clear)
    and, for (EC)DHE, the client's public value."""
    ctx = Context("1.2", suite.kx)
    if suite.kx == "RSA":
        if not isinstance(server_public_key, _rsa.RSAPublicKey):
            raise AlertError(AlertDescription.unsupported_certificate,
                             "RSA key exchange needs an RSA server certificate",
                             check="certificate_key")
        pre_master = keyexchange.rsa_pre_master(rng)
        encrypted = keyexchange.rsa_encrypt(server_public_key, pre_master)
        return Stage(ClientKeyExchange("RSA", encrypted), {"pre_master_secret": pre_master}, ctx)
    group = ske_group(ske)
    # (EC)DH is symmetric: answering the server's share is making one of our own and combining
    # it with theirs (the client keeps its private value to show; it never leaves this side).
    private, public = group.client_share(rng)
    secret = group.client_finish(private, ske.public)
    pre_master = dhe_pre_master(secret) if suite.kx == "DHE" else secret
    return Stage(ClientKeyExchange(suite.kx, public),
                 {"pre_master_secret": pre_master, "client_public": public,
                  "client_private": group.private_bytes(private)}, ctx)


def ske_group(ske: ServerKeyExchange):
    """The group a ServerKeyExchange uses: a named curve, or DHE's explicit p and g (checked)."""
    if ske.kx == "DHE":
        return groups.FiniteFieldGroup.explicit(int.from_bytes(ske.dh_p, "big"),
                                                int.from_bytes(ske.dh_g, "big"))
    return groups.get(ske.group)


def certificate_verify(key, offered_schemes, handshake_messages: bytes,
                       preference=signatures.SUPPORTED) -> Stage:
    """A signature over every handshake message so far: proof that the client holds the private
    key of the certificate it sent. (It is NOT a signature on the certificate.)"""
    scheme = signatures.choose(key, offered_schemes, preference)
    return Stage(CertificateVerify(scheme, signatures.sign(key, scheme, handshake_messages)))


def verify_certificate_verify(message: CertificateVerify, public_key,
                              handshake_messages: bytes) -> None:
    signatures.verify(public_key, message.scheme, handshake_messages, message.signature,
                      "client CertificateVerify", "certificate_verify")


def new_session_ticket(ticket: bytes, lifetime_hint: int) -> Stage:
    """RFC 5077 §3.3: the server's sealed session state, for the client to bring back in a
    session_ticket extension. Sent just before the server's ChangeCipherSpec, and part of the
    transcript both Finished messages cover. A lifetime hint of 0 means "not specified"."""
    return Stage(NewSessionTicket(lifetime_hint, ticket),
                 {"ticket": ticket, "ticket_lifetime_hint": lifetime_hint})


def finished(master: bytes, sender: str, handshake_hash: bytes, suite: CipherSuite) -> Stage:
    """Finished carries verify_data: a MAC over the whole handshake under the master secret."""
    data = verify_data(master, sender, handshake_hash, suite)
    return Stage(Finished(data), {f"{sender}_verify_data": data})


def server_pre_master(suite: CipherSuite, cke: ClientKeyExchange, server_key, group, private,
                      rng, client_version: int = 0x0303) -> bytes:
    """The server's view of the same pre-master secret: RSA-decrypted (checked against the
    version the ClientHello offered), or its (EC)DH private value combined with the client's."""
    if suite.kx == "RSA":
        return keyexchange.rsa_decrypt(server_key, cke.exchange, rng, client_version)
    secret = group.client_finish(private, cke.exchange)
    return dhe_pre_master(secret) if suite.kx == "DHE" else secret
