"""Signature schemes (RFC 8446 §4.2.3): which algorithm a scheme name means, and sign/verify.

Used by ServerKeyExchange (1.2), CertificateVerify (1.2 and 1.3). A failed verification is the
``decrypt_error`` alert real stacks send.
"""
from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa

from .constants import AlertDescription, SignatureScheme as SS
from .errors import AlertError

_HASH = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
         "sha512": hashes.SHA512}

# Preference order for what we sign with; PKCS#1 v1.5 is not allowed in TLS 1.3 handshakes.
RSA_SCHEMES_13 = (SS.rsa_pss_rsae_sha256, SS.rsa_pss_rsae_sha384, SS.rsa_pss_rsae_sha512)
RSA_SCHEMES_12 = RSA_SCHEMES_13 + (SS.rsa_pkcs1_sha256, SS.rsa_pkcs1_sha384, SS.rsa_pkcs1_sha512)
ECDSA_SCHEMES = (SS.ecdsa_secp256r1_sha256, SS.ecdsa_secp384r1_sha384)
SUPPORTED = RSA_SCHEMES_12 + ECDSA_SCHEMES
# Also implemented, not in the default offer (the lesson ClientHello keeps its bytes): P-521,
# EdDSA (RFC 8446 §4.2.3; TLS 1.2: RFC 8422 §5.1.3) and RSA-PSS keys whose certificate says
# id-RSASSA-PSS (RFC 8446 §4.2.3, which RFC 8446 §1.3 applies to TLS 1.2 as well).
ECDSA_P521 = (SS.ecdsa_secp521r1_sha512,)
EDDSA_SCHEMES = (SS.ed25519, SS.ed448)
RSA_PSS_PSS_SCHEMES = (SS.rsa_pss_pss_sha256, SS.rsa_pss_pss_sha384, SS.rsa_pss_pss_sha512)
# Every scheme this module implements, as current clients offer them (OpenSSL 3 lists all of
# these): offer it with ClientConfig(signature_schemes=MODERN); a server accepts from it.
MODERN = SUPPORTED + ECDSA_P521 + EDDSA_SCHEMES + RSA_PSS_PSS_SCHEMES
SCHEMES_13 = (RSA_SCHEMES_13 + ECDSA_SCHEMES + ECDSA_P521 + EDDSA_SCHEMES
              + RSA_PSS_PSS_SCHEMES)                 # what TLS 1.3 handshakes may use
# PKCS#1 v1.5 first: deterministic signatures, for lessons that want the same bytes every run.
PKCS1_FIRST = RSA_SCHEMES_12[3:] + RSA_SCHEMES_13 + ECDSA_SCHEMES


class RSAPSSPrivateKey(rsa.RSAPrivateKey):
    """An RSA key whose certificate's subjectPublicKeyInfo says id-RSASSA-PSS (RFC 4055 §1.2):
    it makes RSASSA-PSS signatures only — never PKCS#1 v1.5, never decryption (so no RSA key
    transport) — hence the rsa_pss_pss_* schemes, not rsa_pss_rsae_* (RFC 8446 §4.2.3).
    ``pki.Identity`` wraps such a key; everything else is the wrapped key's."""

    def __init__(self, key: rsa.RSAPrivateKey):
        self.key = key

    def sign(self, data, pad, algorithm):
        if not isinstance(pad, padding.PSS):
            raise ValueError("an id-RSASSA-PSS key makes PSS signatures only (RFC 4055 §1.2)")
        return self.key.sign(data, pad, algorithm)

    def decrypt(self, ciphertext, pad):
        raise ValueError("an id-RSASSA-PSS key cannot decrypt (RFC 4055 §1.2)")

    @property
    def key_size(self):
        return self.key.key_size

    def public_key(self):
        return self.key.public_key()

    def private_numbers(self):
        return self.key.private_numbers()

    def private_bytes(self, encoding, format, encryption_algorithm):
        return self.key.private_bytes(encoding, format, encryption_algorithm)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


def _algorithm(scheme: int):
    name = SS(scheme).name
    if name in ("ed25519", "ed448"):
        return name, None, None                     # PureEdDSA: no separate hash (RFC 8032 §5)
    h = _HASH[name.rsplit("_", 1)[1]]()
    if name.startswith("rsa_pss_"):                 # rsae and pss: the same PSS signature
        return "rsa", padding.PSS(padding.MGF1(h), h.digest_size), h   # salt = hash length
    if name.startswith("rsa_pkcs1"):
        return "rsa", padding.PKCS1v15(), h
    if name.startswith("ecdsa"):
        # RFC 6979: the nonce is derived from the key and message, so no bad RNG can leak the key
        # (and a lesson gets the same bytes every run).
        return "ec", ec.ECDSA(h, deterministic_signing=True), h
    raise ValueError(name)


_CURVE_OF = {SS.ecdsa_secp256r1_sha256: "secp256r1", SS.ecdsa_secp384r1_sha384: "secp384r1",
             SS.ecdsa_secp521r1_sha512: "secp521r1"}
_PUBLIC_TYPE = {"rsa": rsa.RSAPublicKey, "ec": ec.EllipticCurvePublicKey,
                "ed25519": ed25519.Ed25519PublicKey, "ed448": ed448.Ed448PublicKey}


def schemes_for(key, tls13: bool = False) -> tuple[int, ...]:
    """The schemes ``key`` can make signatures of. TLS 1.3 forbids PKCS#1 v1.5 in the handshake
    and binds each ECDSA scheme to one curve (RFC 8446 §4.2.3); TLS 1.2 names only the hash.
    An id-RSASSA-PSS key makes rsa_pss_pss_* only, an rsaEncryption key never does."""
    if isinstance(key, RSAPSSPrivateKey):
        return RSA_PSS_PSS_SCHEMES
    if isinstance(key, rsa.RSAPrivateKey):
        return RSA_SCHEMES_13 if tls13 else RSA_SCHEMES_12
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return tuple(s for s in ECDSA_SCHEMES + ECDSA_P521
                     if not tls13 or _CURVE_OF[s] == key.curve.name)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return (SS.ed25519,)
    if isinstance(key, ed448.Ed448PrivateKey):
        return (SS.ed448,)
    return ()


def can_sign(key, scheme: int, tls13: bool = False) -> bool:
    return scheme in schemes_for(key, tls13)


def choose(key, offered, preference=SUPPORTED, tls13: bool = False) -> int:
    """The first scheme of our ``preference`` that the peer offered and our key can make.
    The default prefers RSA-PSS, like OpenSSL; a lesson that wants reproducible bytes puts
    PKCS#1 v1.5 first (PSS signatures are salted at random) — a preference, not a mode."""
    # A preference orders, it does not forbid (the offers do that): schemes it does not name
    # (say, ed25519 for the default SUPPORTED) come after, in MODERN's order.
    order = dict.fromkeys((*preference, *MODERN))
    # TLS 1.2 lets an ECDSA key sign with any hash: its curve's own (TLS 1.3's pairing) first,
    # not SHA-256 for a P-384 key (GnuTLS warns "hash size ... less than the expected").
    tries = [schemes_for(key, tls13)]
    if isinstance(key, ec.EllipticCurvePrivateKey) and not tls13:
        tries.insert(0, schemes_for(key, True))
    for usable in tries:
        for scheme in order:
            if scheme in offered and scheme in usable:
                return scheme
    raise AlertError(AlertDescription.handshake_failure,
                     "no signature scheme in common with the peer's signature_algorithms",
                     check="signature_scheme")


def sign(key, scheme: int, data: bytes) -> bytes:
    kind, pad, h = _algorithm(scheme)
    if kind == "rsa":
        return key.sign(data, pad, h)
    return key.sign(data, pad) if kind == "ec" else key.sign(data)


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
    # (rsa_pss_pss_* vs rsa_pss_rsae_* would also need the certificate's key OID, which a
    # public key object does not carry: both verify as PSS with any RSA key here.)
    if not isinstance(public_key, _PUBLIC_TYPE[kind]):
        raise AlertError(AlertDescription.illegal_parameter,
                         f"{what}: scheme {SS(scheme).name} does not match the certificate key",
                         check=f"{check}_scheme")
    try:
        if kind == "rsa":
            public_key.verify(signature, data, pad, h)
        elif kind == "ec":
            public_key.verify(signature, data, pad)
        else:
            public_key.verify(signature, data)
    except InvalidSignature:
        raise AlertError(AlertDescription.decrypt_error,
                         f"{what}: signature does not verify", check=check) from None
