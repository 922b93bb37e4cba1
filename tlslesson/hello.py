"""The hellos: what the client offers and how the server chooses (RFC 5246 §7.4.1, RFC 8446 §4.1).

``client_hello`` builds the offer; ``choose_version``, ``choose_suite`` and ``choose_group`` are the
server's decisions, each a small function a notebook can call on its own.
"""
from __future__ import annotations

import dataclasses

from cryptography.hazmat.primitives.asymmetric import rsa

from . import extensions as ext
from . import groups, pki, signatures
from .constants import (AlertDescription, ExtensionType as ET, ProtocolVersion,
                        TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV)
from .errors import AlertError
from .messages import ClientHello
from .suites import BY_CODE, CipherSuite

VERSION_CODES = {"1.2": ProtocolVersion.TLS12, "1.3": ProtocolVersion.TLS13}
VERSION_NAMES = {v: k for k, v in VERSION_CODES.items()}
# RFC 8449 §4: the largest record_size_limit worth sending — 2^14 bytes of plaintext, and in
# TLS 1.3 the content type byte (and any padding) counts as well
MAX_RECORD_SIZE_LIMIT = {"1.2": 2 ** 14, "1.3": 2 ** 14 + 1}
MIN_RECORD_SIZE_LIMIT = 64


def our_record_size_limit(config, version: str) -> int | None:
    """The record_size_limit we announce: the configured one, capped at the protocol's maximum
    (RFC 8449 §4); None if the configuration sends none."""
    limit = config.record_size_limit
    if limit is None:
        return None
    if limit < MIN_RECORD_SIZE_LIMIT:
        raise ValueError(f"record_size_limit {limit}: RFC 8449 §4 allows no less than 64")
    return min(limit, MAX_RECORD_SIZE_LIMIT[version])


def peer_record_size_limit(extensions, version: str) -> int | None:
    """The peer's record_size_limit (RFC 8449 §4), capped at the protocol's maximum (a larger
    value never lets records grow); below 64 is illegal_parameter. None if it sent none."""
    found = ext.find(extensions, ET.record_size_limit)
    if found is None:
        return None
    limit = ext.value(found, "hello")
    if limit < MIN_RECORD_SIZE_LIMIT:
        raise AlertError(AlertDescription.illegal_parameter, f"record_size_limit {limit} is "
                         f"below {MIN_RECORD_SIZE_LIMIT}", check="record_size_limit")
    return min(limit, MAX_RECORD_SIZE_LIMIT[version])


def is_ip(name: str) -> bool:
    return pki.ip_literal(name) is not None


def default_key_share_groups(offer) -> tuple[int, ...]:
    """The groups a TLS 1.3 client sends key shares for unless told (RFC 8446 §4.2.8: any
    subset of supported_groups, in the same order). One for the first group; if that one is
    post-quantum, one for the first classical group too, as Chromium and OpenSSL 3.5 do: a
    server without ML-KEM then answers at once instead of with a HelloRetryRequest, for the
    price of 32 more bytes."""
    offer = tuple(offer)
    if not offer:
        return ()
    shares = [offer[0]]
    if groups.is_post_quantum(offer[0]):
        shares += [g for g in offer if g in groups.GROUPS and not groups.is_post_quantum(g)][:1]
    return tuple(shares)


def client_hello(config, random: bytes, session_id: bytes, key_shares=(),
                 cookie: bytes | None = None, early_data: bool = False,
                 session_ticket: bytes | None = None) -> ClientHello:
    """The client's offer: versions, suites, groups, signature schemes, and — when TLS 1.3 is
    offered — key shares (``ext.KeyShareEntry``) guessed in advance, which is what saves TLS 1.3
    a round trip. ``session_ticket``: the RFC 5077 extension, with a ticket to resume or empty
    (b"": "send me one"); None leaves it out. A TLS 1.3 PSK is added afterwards (``with_psk``):
    pre_shared_key must be the last extension, and its binder covers everything before it."""
    offers_12, offers_13 = "1.2" in config.versions, "1.3" in config.versions
    # TLS 1.3 suites first, as real clients list them (a 1.2 server skips what it doesn't know)
    suites = [s.code for v in ("1.3", "1.2") if v in config.versions
              for s in config.suites if s.version == v]
    if offers_12:
        suites.append(TLS_EMPTY_RENEGOTIATION_INFO_SCSV)   # RFC 5746: "I am not renegotiating"
    exts = []
    if config.server_name and not is_ip(config.server_name):   # RFC 6066: no IP literals in SNI
        exts.append(ext.server_name(config.server_name))
    exts.append(ext.supported_groups(config.groups))
    if offers_12:
        exts.append(ext.ec_point_formats())
    exts.append(ext.signature_algorithms(config.signature_schemes))
    if offers_12 and config.ems:
        exts.append(ext.extended_master_secret())
    if offers_12 and config.encrypt_then_mac and any(
            not s.aead for s in config.suites if s.version == "1.2"):
        exts.append(ext.encrypt_then_mac())      # RFC 7366 §2: only worth it with a CBC suite
    if offers_12 and session_ticket is not None:
        exts.append(ext.session_ticket(session_ticket))
    if config.record_size_limit is not None:     # RFC 8449 §4
        exts.append(ext.record_size_limit(our_record_size_limit(
            config, "1.3" if offers_13 else "1.2")))
    if config.alpn:                              # RFC 7301 §3.1: our protocols, preferred first
        exts.append(ext.application_layer_protocol_negotiation(config.alpn))
    if offers_13:
        exts.append(ext.supported_versions_client(
            [VERSION_CODES[v] for v in ("1.3", "1.2") if v in config.versions]))
        exts.append(ext.key_share_client(list(key_shares)))
        exts.append(ext.psk_key_exchange_modes(config.psk_modes))
        if cookie is not None:
            exts.append(ext.cookie(cookie))
        if early_data:                           # RFC 8446 §4.2.10: 0-RTT data follows
            exts.append(ext.early_data())
    return ClientHello(random, tuple(suites), tuple(exts), session_id)


def with_psk(hello: ClientHello, identity, binder_length: int) -> ClientHello:
    """The hello with a pre_shared_key offering one ticket, its binder still zeros of the right
    length (RFC 8446 §4.2.11.2: the binder is computed over this hello minus the binders)."""
    offered = ext.OfferedPsks((identity,), (bytes(binder_length),))
    return dataclasses.replace(hello, extensions=hello.extensions
                               + (ext.pre_shared_key_client(offered),))


def with_binder(hello: ClientHello, binder: bytes) -> ClientHello:
    """Replace the placeholder binder with the real one (the same length, so nothing moves)."""
    psk = hello.extensions[-1]
    offered = ext.value(psk, "client_hello")
    final = ext.OfferedPsks(offered.identities, (binder,))
    return dataclasses.replace(hello, extensions=hello.extensions[:-1]
                               + (ext.pre_shared_key_client(final),))


def offered_versions(hello: ClientHello) -> tuple[int, ...]:
    sv = hello.extension(ET.supported_versions)
    if sv is not None:
        return ext.value(sv, "client_hello")
    return (hello.legacy_version,)       # a client without supported_versions speaks <= 1.2


def choose_version(hello: ClientHello, versions) -> str:
    """RFC 8446 §4.2.1: the highest version both support. TLS 1.3 only through
    supported_versions: a ClientHello without it is negotiated by legacy_version, as TLS 1.2
    does (a legacy_version of 0x0304 then means "1.2 or anything above", i.e. 1.2 here)."""
    if hello.legacy_version <= ProtocolVersion.SSL30:
        # RFC 8446 App. D.5: SSL 3.0 and below are refused, whatever else the hello says
        raise AlertError(AlertDescription.protocol_version,
                         f"legacy_version 0x{hello.legacy_version:04x}: SSL 3.0 or older",
                         check="version")
    no_list = hello.extension(ET.supported_versions) is None
    offered = offered_versions(hello)
    if "1.3" in versions and not no_list and ProtocolVersion.TLS13 in offered:
        return "1.3"
    if "1.2" in versions and (ProtocolVersion.TLS12 in offered
                              or no_list and hello.legacy_version >= ProtocolVersion.TLS12):
        return "1.2"
    raise AlertError(AlertDescription.protocol_version,
                     "no protocol version in common (client offered "
                     + ", ".join(f"0x{v:04x}" for v in offered) + ")", check="version")


def check_fallback(hello: ClientHello, version: str, versions) -> None:
    """RFC 7507 §3: TLS_FALLBACK_SCSV says "I am retrying with a lower version than I can do";
    if we could have negotiated a higher one, someone made the first attempt fail."""
    if (TLS_FALLBACK_SCSV in hello.cipher_suites and version == "1.2" and "1.3" in versions):
        raise AlertError(AlertDescription.inappropriate_fallback,
                         "TLS_FALLBACK_SCSV in a TLS 1.2 ClientHello to a server that speaks 1.3",
                         check="fallback_scsv")


def server_name_of(hello: ClientHello) -> str | None:
    """The host name the client asked for in server_name (RFC 6066 §3), or None."""
    found = hello.extension(ET.server_name)
    names = ext.value(found, "client_hello") if found is not None else None
    return names[0] if names else None


def client_groups(hello: ClientHello) -> tuple[int, ...]:
    sg = hello.extension(ET.supported_groups)
    return ext.value(sg, "client_hello") if sg is not None else ()


def client_signature_schemes(hello: ClientHello) -> tuple[int, ...]:
    sa = hello.extension(ET.signature_algorithms)
    # RFC 5246 §7.4.1.4.1: without the extension, assume SHA-1 signatures; we refuse those.
    return ext.value(sa, "client_hello") if sa is not None else ()


def choose_identity(suite: CipherSuite, identities, client_schemes, preference):
    """Our first certificate that fits the suite (TLS 1.2: its authentication algorithm) and,
    where the handshake needs our signature, can make one the client accepts."""
    for identity in identities:
        is_rsa = isinstance(identity.key, rsa.RSAPrivateKey)
        if suite.version == "1.2" and is_rsa != (suite.auth == "RSA"):
            continue
        if suite.version == "1.2" and suite.kx == "RSA":
            if isinstance(identity.key, signatures.RSAPSSPrivateKey):
                continue                     # an id-RSASSA-PSS key cannot decrypt (RFC 4055)
            return identity                  # RSA key transport: the key decrypts, never signs
        try:
            signatures.choose(identity.key, client_schemes, preference, suite.version == "1.3")
        except AlertError:
            continue
        return identity
    return None


def choose_suite(hello: ClientHello, version: str, server_suites, server_groups, identities,
                 preference=signatures.SUPPORTED):
    """The server's choice, in the server's order of preference: a suite the client offered, of
    the negotiated version, whose key exchange has a group both sides support and whose
    authentication one of our certificates can do (``choose_identity``). Returns (suite,
    identity): both are decided here, once, before anything is sent."""
    offered = set(hello.cipher_suites)
    shared_ec = choose_group(client_groups(hello),
                             [g for g in server_groups if groups.usable_in_tls12(g)])
    schemes = client_signature_schemes(hello)
    unsigned = None
    for suite in server_suites:
        if suite.code not in offered or suite.version != version:
            continue
        if suite.kx == "ECDHE" and shared_ec is None:
            continue                      # ECDHE needs a curve both sides support (RFC 8422)
        if suite.kx == "DHE" and choose_dhe_group(client_groups(hello), server_groups) is None:
            continue                      # no ffdhe group of ours the client can take (RFC 7919 §4)
        identity = choose_identity(suite, identities, schemes, preference)
        if identity is not None:
            return suite, identity
        unsigned = suite
    if unsigned is not None:
        raise AlertError(AlertDescription.handshake_failure,
                         f"no certificate of ours can sign {unsigned.name} with a scheme in the "
                         "client's signature_algorithms", check="signature_scheme")
    names = ", ".join(BY_CODE[c].name if c in BY_CODE else f"0x{c:04x}"
                      for c in hello.cipher_suites)
    raise AlertError(AlertDescription.handshake_failure,
                     f"no cipher suite in common for TLS {version} (client offered: {names})",
                     check="cipher_suite")


def choose_group(client_offer, server_groups) -> int | None:
    """The first of the server's groups that the client also lists (None if there is none)."""
    for group in server_groups:
        if group in client_offer:
            return group
    return None


def _protocol_names(protocols) -> tuple[bytes, ...]:
    return tuple(p.encode("ascii") if isinstance(p, str) else bytes(p) for p in protocols)


def choose_alpn(hello: ClientHello, server_protocols) -> bytes | None:
    """RFC 7301 §3.2: the server's first protocol (in its own order of preference) that the
    client also offers. None when either side has no ALPN to speak of (nothing is answered);
    no_application_protocol when both do but share none ("the server SHALL respond with a
    fatal no_application_protocol alert")."""
    found = hello.extension(ET.application_layer_protocol_negotiation)
    if found is None or not server_protocols:
        return None
    offered = ext.value(found, "client_hello")
    for protocol in _protocol_names(server_protocols):
        if protocol in offered:
            return protocol
    raise AlertError(AlertDescription.no_application_protocol,
                     "no application protocol in common (client offered "
                     + ", ".join(p.decode("ascii", "backslashreplace") for p in offered) + ")",
                     check="alpn")


def accept_alpn(extensions, offered) -> bytes | None:
    """The client's check of the server's ALPN answer (ServerHello in 1.2, EncryptedExtensions
    in 1.3): RFC 7301 §3.1 says it holds exactly one ProtocolName, and it must be one we
    offered. As OpenSSL: decode_error for a list of another length, illegal_parameter for a
    protocol we never offered. None if the server chose none."""
    found = ext.find(extensions, ET.application_layer_protocol_negotiation)
    if found is None:
        return None
    names = ext.value(found, "server_hello")
    if len(names) != 1:
        raise AlertError(AlertDescription.decode_error, f"the server's ALPN answer names "
                         f"{len(names)} protocols, not exactly one (RFC 7301 §3.1)",
                         check="alpn")
    if names[0] not in _protocol_names(offered):
        raise AlertError(AlertDescription.illegal_parameter, "the server chose application "
                         f"protocol {names[0].decode('ascii', 'backslashreplace')!r}, which we "
                         "did not offer", check="alpn")
    return names[0]


def choose_dhe_group(client_offer, server_groups) -> int | None:
    """TLS 1.2 DHE (RFC 7919 §4): the first of the server's ffdhe groups the client lists; if the
    client lists no ffdhe group at all (a client from before RFC 7919), the server's first one
    (ffdhe2048 by default); None, and no DHE suite, if it lists some but none of ours."""
    ours = [g for g in server_groups if g in groups.GROUPS and groups.GROUPS[g].kind == "DHE"]
    chosen = choose_group(client_offer, ours)
    if chosen is None and ours and not any(0x0100 <= g <= 0x01FF for g in client_offer):
        return ours[0]
    return chosen
