"""Signature schemes (RFC 8446 §4.2.3): which algorithm a scheme name means, and sign/verify.

Used by ServerKeyExchange (1.2), CertificateVerify (1.2 and 1.3). A failed verification is the
``decrypt_error`` alert real stacks send.
"""
from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from .constants import AlertDescription, SignatureScheme as SS
from .errors import AlertError

_HASH = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
         "sha512": hashes.SHA512}

# Preference order for what we sign with; PKCS#1 v1.5 is not allowed in TLS 1.3 handshakes.
RSA_SCHEMES_13 = (SS.rsa_pss_rsae_sha256, SS.rsa_pss_rsae_sha384, SS.rsa_pss_rsae_sha512)
RSA_SCHEMES_12 = RSA_SCHEMES_13 + (SS.rsa_pkcs1_sha256, SS.rsa_pkcs1_sha384, SS.rsa_pkcs1_sha512)
ECDSA_SCHEMES = (SS.ecdsa_secp256r1_sha256, SS.ecdsa_secp384r1_sha384)
SUPPORTED = RSA_SCHEMES_12 + ECDSA_SCHEMES
SCHEMES_13 = RSA_SCHEMES_13 + ECDSA_SCHEMES                # what TLS 1.3 handshakes may use
# PKCS#1 v1.5 first: deterministic signatures, for lessons that want the same bytes every run.
PKCS1_FIRST = RSA_SCHEMES_12[3:] + RSA_SCHEMES_13 + ECDSA_SCHEMES


def _algorithm(scheme: int):
    name = SS(scheme).name
    h = _HASH[name.rsplit("_", 1)[1]]()
    if name.startswith("rsa_pss_rsae"):
        return "rsa", padding.PSS(padding.MGF1(h), h.digest_size), h   # salt = hash length
    if name.startswith("rsa_pkcs1"):
        return "rsa", padding.PKCS1v15(), h
    if name.startswith("ecdsa"):
        # RFC 6979: the nonce is derived from the key and message, so no bad RNG can leak the key
        # (and a lesson gets the same bytes every run).
        return "ec", ec.ECDSA(h, deterministic_signing=True), h
    raise ValueError(name)


_CURVE_OF = {SS.ecdsa_secp256r1_sha256: "secp256r1", SS.ecdsa_secp384r1_sha384: "secp384r1"}


def schemes_for(key, tls13: bool = False) -> tuple[int, ...]:
    """The schemes ``key`` can make signatures of. TLS 1.3 forbids PKCS#1 v1.5 in the handshake
    and binds each ECDSA scheme to one curve (RFC 8446 §4.2.3); TLS 1.2 names only the hash."""
    if isinstance(key, rsa.RSAPrivateKey):
        return RSA_SCHEMES_13 if tls13 else RSA_SCHEMES_12
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return tuple(s for s in ECDSA_SCHEMES if not tls13 or _CURVE_OF[s] == key.curve.name)
    return ()


def can_sign(key, scheme: int, tls13: bool = False) -> bool:
    return scheme in schemes_for(key, tls13)


def choose(key, offered, preference=SUPPORTED, tls13: bool = False) -> int:
    """The first scheme of our ``preference`` that the peer offered and our key can make.
    The default prefers RSA-PSS, like OpenSSL; a lesson that wants reproducible bytes puts
    PKCS#1 v1.5 first (PSS signatures are salted at random) — a preference, not a mode."""
    usable = schemes_for(key, tls13)
    for scheme in preference:
        if scheme in offered and scheme in usable:
            return scheme
    raise AlertError(AlertDescription.handshake_failure,
                     "no signature scheme in common with the peer's signature_algorithms",
                     check="signature_scheme")


def sign(key, scheme: int, data: bytes) -> bytes:
    kind, pad, h = _algorithm(scheme)
    return key.sign(data, pad, h) if kind == "rsa" else key.sign(data, pad)


def verify(public_key, scheme: int, data: bytes, signature: bytes, what: str,
           check: str = "signature") -> None:
    """Raise decrypt_error if ``signature`` is not ``public_key``'s signature over ``data``;
    ``check`` names it in the error (``ske_signature``, ``certificate_verify``)."""
    try:
        kind, pad, h = _algorithm(scheme)
    except (ValueError, KeyError):
        raise AlertError(AlertDescription.illegal_parameter,
                         f"{what}: unsupported signature scheme 0x{scheme:04x}",
                         check=f"{check}_scheme") from None
    is_rsa = isinstance(public_key, rsa.RSAPublicKey)
    if (kind == "rsa") != is_rsa:
        raise AlertError(AlertDescription.illegal_parameter,
                         f"{what}: scheme {SS(scheme).name} does not match the certificate key",
                         check=f"{check}_scheme")
    try:
        if is_rsa:
            public_key.verify(signature, data, pad, h)
        else:
            public_key.verify(signature, data, pad)
    except InvalidSignature:
        raise AlertError(AlertDescription.decrypt_error,
                         f"{what}: signature does not verify", check=check) from None
