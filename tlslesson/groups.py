"""Key exchange groups, all with one KEM-shaped interface (RFC 8446 §4.2.8, draft-ietf-tls-mlkem).

Every group answers three calls, whatever its mathematics:

    private, share = group.client_share(rng)                  # the side that speaks first
    share, shared_secret = group.server_share(rng, peer_share)  # the side that answers
    shared_secret = group.client_finish(private, peer_share)   # the first side, on the answer

For Diffie-Hellman (x25519, P-256, ffdhe2048) the answer is just the other side's public key and
both sides compute the same secret from their private key and the other's public key. For a KEM
(ML-KEM) the answer is a *ciphertext*: the answering side encapsulates a fresh secret to the
first side's public key, and only the first side can decapsulate it. Hybrids concatenate both.

In TLS 1.3 the client speaks first (key_share in ClientHello). In TLS 1.2 (EC)DHE the *server*
speaks first (ServerKeyExchange) and the client answers (ClientKeyExchange), so there the server
plays "client_share" and the client "server_share" — which is why KEMs cannot be used in 1.2.

All the arithmetic is ``cryptography``'s; this module shapes inputs and outputs, checks what a
peer sent (``illegal_parameter``, check ``key_share``), and is the one table of group names.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.utils import CryptographyDeprecationWarning

with warnings.catch_warnings():
    # cryptography 50 deprecates finite-field DH (it still works). TLS 1.2 DHE and TLS 1.3's
    # ffdhe2048 are part of this lesson, so bind the names once here, quietly, rather than
    # print a warning into every notebook that shows them.
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    from cryptography.hazmat.primitives.asymmetric.dh import (DHParameterNumbers,
                                                              DHPrivateNumbers, DHPublicNumbers)

from .constants import AlertDescription, NamedGroup
from .errors import AlertError


def _bad_share(reason: str) -> AlertError:
    return AlertError(AlertDescription.illegal_parameter,
                      f"peer's key share is not a valid public value: {reason}", check="key_share")


# -- elliptic-curve Diffie-Hellman ---------------------------------------------------------------
@dataclass(frozen=True)
class X25519Group:
    """RFC 7748 / RFC 8446 §4.2.8.2: 32-byte public keys, a 32-byte shared secret."""
    name: str = "x25519"
    code: int = NamedGroup.x25519
    kind: str = "ECDHE"
    client_share_size: int = 32
    server_share_size: int = 32
    private_key: ClassVar[type] = x25519.X25519PrivateKey
    public_key: ClassVar[type] = x25519.X25519PublicKey

    def client_share(self, rng):
        # The private key is random bytes from the rng (a lesson rng makes it reproducible).
        private = self.private_key.from_private_bytes(rng.bytes(self.client_share_size))
        return private, private.public_key().public_bytes_raw()

    def client_finish(self, private, peer_share: bytes) -> bytes:
        if len(peer_share) != self.client_share_size:
            raise _bad_share(f"{self.name} share of {len(peer_share)} bytes, "
                             f"not {self.client_share_size}")
        try:
            return private.exchange(self.public_key.from_public_bytes(peer_share))
        except ValueError as exc:        # e.g. an all-zero shared secret (RFC 8446 §7.4.2)
            raise _bad_share(str(exc)) from None

    def server_share(self, rng, peer_share: bytes):
        private, share = self.client_share(rng)
        return share, self.client_finish(private, peer_share)

    def private_bytes(self, private) -> bytes:
        return private.private_bytes_raw()


@dataclass(frozen=True)
class X448Group(X25519Group):
    """RFC 7748 §5 / RFC 8446 §4.2.8.2: the same shape with 56-byte keys and secret (RFC 8422
    §5.1.1 allows it in TLS 1.2 ECDHE too)."""
    name: str = "x448"
    code: int = NamedGroup.x448
    client_share_size: int = 56
    server_share_size: int = 56
    private_key: ClassVar[type] = x448.X448PrivateKey
    public_key: ClassVar[type] = x448.X448PublicKey


@dataclass(frozen=True)
class NISTCurveGroup:
    """secp256r1 & co. (RFC 8446 §4.2.8.2): uncompressed points 0x04 || X || Y; the shared
    secret is the X coordinate."""
    name: str
    code: int
    curve: type
    order: int
    kind: str = "ECDHE"

    @property
    def coordinate_size(self) -> int:
        return (self.curve.key_size + 7) // 8

    @property
    def client_share_size(self) -> int:
        return 1 + 2 * self.coordinate_size

    server_share_size = client_share_size

    def client_share(self, rng):
        # 8 bytes more than the order's size, reduced: no measurable bias (FIPS 186-5 A.2.1).
        scalar = int.from_bytes(rng.bytes(self.coordinate_size + 8), "big") % (self.order - 1) + 1
        private = ec.derive_private_key(scalar, self.curve())
        return private, private.public_key().public_bytes(Encoding.X962,
                                                          PublicFormat.UncompressedPoint)

    def client_finish(self, private, peer_share: bytes) -> bytes:
        if len(peer_share) != self.client_share_size or peer_share[0] != 4:
            raise _bad_share(f"{self.name} share is not an uncompressed point of "
                             f"{self.client_share_size} bytes")
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(self.curve(), peer_share)
        except ValueError as exc:        # not on the curve (invalid-curve attacks)
            raise _bad_share(str(exc)) from None
        return private.exchange(ec.ECDH(), peer)

    def server_share(self, rng, peer_share: bytes):
        private, share = self.client_share(rng)
        return share, self.client_finish(private, peer_share)

    def private_bytes(self, private) -> bytes:
        return private.private_numbers().private_value.to_bytes(self.coordinate_size, "big")


# -- finite-field Diffie-Hellman ---------------------------------------------------------------
@lru_cache(maxsize=8)
def _dh_parameters(p: int, g: int):
    return DHParameterNumbers(p, g).parameters()


@dataclass(frozen=True)
class FiniteFieldGroup:
    """g^x mod p (RFC 7919). The public value and the shared secret are padded to the size of p
    (TLS 1.3 keeps them so; the TLS 1.2 pre-master strips the zeros: ``tls12.dhe_pre_master``).
    TLS 1.2 DHE servers send p and g themselves: ``explicit(p, g)`` checks and wraps them."""
    name: str
    code: int | None
    p: int
    g: int
    kind: str = "DHE"

    @classmethod
    def explicit(cls, p: int, g: int) -> "FiniteFieldGroup":
        """The group a TLS 1.2 ServerKeyExchange names by its numbers: refuse weak or broken ones."""
        if p.bit_length() < 1024:         # Logjam: 512-bit export groups were broken live
            raise AlertError(AlertDescription.insufficient_security,
                             f"refusing a DH group of {p.bit_length()} bits", check="dh_group")
        if not 1 < g < p - 1:
            raise AlertError(AlertDescription.illegal_parameter,
                             f"refusing DH generator {g}", check="dh_group")
        try:
            _dh_parameters(p, g)
        except ValueError as exc:         # e.g. an even p
            raise AlertError(AlertDescription.illegal_parameter,
                             f"server's DH group is not valid: {exc}", check="dh_group") from None
        return cls(f"DH, {p.bit_length()}-bit p from the server", None, p, g)

    @property
    def size(self) -> int:
        return (self.p.bit_length() + 7) // 8

    client_share_size = size
    server_share_size = size

    def client_share(self, rng):
        # A 256-bit exponent: RFC 7919 §5.2 asks for at least twice the group's security level.
        x = int.from_bytes(rng.bytes(32), "big") | 1 << 255
        numbers = _dh_parameters(self.p, self.g).parameter_numbers()
        private = DHPrivateNumbers(x, DHPublicNumbers(pow(self.g, x, self.p), numbers)).private_key()
        return private, private.public_key().public_numbers().y.to_bytes(self.size, "big")

    def client_finish(self, private, peer_share: bytes) -> bytes:
        y = int.from_bytes(peer_share, "big")
        if not 1 < y < self.p - 1:         # RFC 7919 §5.1: reject trivial public values
            raise _bad_share("DH public value out of range")
        numbers = _dh_parameters(self.p, self.g).parameter_numbers()
        secret = private.exchange(DHPublicNumbers(y, numbers).public_key())
        return secret.rjust(self.size, b"\0")

    def server_share(self, rng, peer_share: bytes):
        private, share = self.client_share(rng)
        return share, self.client_finish(private, peer_share)

    def private_bytes(self, private) -> bytes:
        x = private.private_numbers().x
        return x.to_bytes((x.bit_length() + 7) // 8, "big")


# -- ML-KEM and hybrids (draft-ietf-tls-mlkem, draft-ietf-tls-ecdhe-mlkem) ------------------------
@dataclass(frozen=True)
class MLKEMGroup:
    """ML-KEM-768 (FIPS 203): the client sends an encapsulation key (1184 bytes), the server
    answers with a ciphertext (1088 bytes) that only the client's decapsulation key opens."""
    name: str = "MLKEM768"
    code: int = NamedGroup.MLKEM768
    kind: str = "KEM"
    client_share_size: int = 1184
    server_share_size: int = 1088

    def client_share(self, rng):
        private = mlkem.MLKEM768PrivateKey.from_seed_bytes(rng.bytes(64))
        return private, private.public_key().public_bytes_raw()

    def server_share(self, rng, peer_share: bytes):
        # cryptography draws the encapsulation randomness itself: a KEM answer is never seeded.
        if len(peer_share) != self.client_share_size:
            raise _bad_share(f"ML-KEM-768 key of {len(peer_share)} bytes, not 1184")
        try:
            public = mlkem.MLKEM768PublicKey.from_public_bytes(peer_share)
        except ValueError:               # FIPS 203 §7.2 "modulus check": every 12-bit
            raise _bad_share("ML-KEM-768 encapsulation key fails the FIPS 203 §7.2 "   # value < q
                             "modulus check (a coefficient >= 3329)") from None
        shared_secret, ciphertext = public.encapsulate()
        return ciphertext, shared_secret

    def client_finish(self, private, peer_share: bytes) -> bytes:
        """Only the size can be checked: ML-KEM decapsulation has "implicit rejection" (FIPS
        203 §6.3): a tampered ciphertext gives a pseudorandom secret, not an error, so the
        handshake fails later, at the first record the two sides' keys disagree on."""
        if len(peer_share) != self.server_share_size:
            raise _bad_share(f"ML-KEM-768 ciphertext of {len(peer_share)} bytes, not 1088")
        return private.decapsulate(peer_share)

    def private_bytes(self, private) -> bytes:
        return private.private_bytes_raw()


@dataclass(frozen=True)
class HybridGroup:
    """Two groups at once; shares and secrets are the two parts concatenated, in the order the
    draft gives (X25519MLKEM768: ML-KEM first; SecP256r1MLKEM768: the curve first)."""
    name: str
    code: int
    first: object
    second: object
    kind: str = "hybrid"

    @property
    def client_share_size(self) -> int:
        return self.first.client_share_size + self.second.client_share_size

    @property
    def server_share_size(self) -> int:
        return self.first.server_share_size + self.second.server_share_size

    def _split(self, share: bytes, first_size: int, total: int) -> tuple[bytes, bytes]:
        if len(share) != total:
            raise _bad_share(f"{self.name} share of {len(share)} bytes, not {total}")
        return share[:first_size], share[first_size:]

    def client_share(self, rng):
        (p1, s1), (p2, s2) = self.first.client_share(rng), self.second.client_share(rng)
        return (p1, p2), s1 + s2

    def server_share(self, rng, peer_share: bytes):
        c1, c2 = self._split(peer_share, self.first.client_share_size, self.client_share_size)
        (s1, k1), (s2, k2) = self.first.server_share(rng, c1), self.second.server_share(rng, c2)
        return s1 + s2, k1 + k2

    def client_finish(self, private, peer_share: bytes) -> bytes:
        s1, s2 = self._split(peer_share, self.first.server_share_size, self.server_share_size)
        return self.first.client_finish(private[0], s1) + self.second.client_finish(private[1], s2)

    def private_bytes(self, private) -> bytes:
        return self.first.private_bytes(private[0]) + self.second.private_bytes(private[1])


# -- the one table -------------------------------------------------------------------------------
# RFC 7919 Appendix A.1: the ffdhe2048 group (generator 2).
FFDHE2048_P = int(
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce"
    "249b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3"
    "b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182"
    "b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d70"
    "9e02fce1cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc"
    "2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b423861285c97ffffffffffffffff", 16)

# RFC 7919 Appendix A.2: ffdhe3072, p = 2^3072 - 2^3008 + {[2^2942 * e] + 2625351} * 2^64 - 1.
FFDHE3072_P = int(
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce24"
    "9b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557"
    "135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182b324fb"
    "61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1"
    "cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c5"
    "8ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035bbc34f4def99c023861b46fc9d6e6"
    "c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452e2d74dd364f2e2"
    "1e71f54bff5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e0abcd06bfa53ddef"
    "3c1b20ee3fd59d7c25e41d2b66c62e37ffffffffffffffff", 16)
# RFC 7919 Appendix A.3: ffdhe4096, p = 2^4096 - 2^4032 + {[2^3966 * e] + 5736041} * 2^64 - 1.
FFDHE4096_P = int(
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce24"
    "9b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3b557"
    "135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182b324fb"
    "61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d709e02fce1"
    "cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc2ec22005c5"
    "8ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035bbc34f4def99c023861b46fc9d6e6"
    "c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452e2d74dd364f2e2"
    "1e71f54bff5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e0abcd06bfa53ddef"
    "3c1b20ee3fd59d7c25e41d2b669e1ef16e6f52c3164df4fb7930e9e4e58857b6ac7d5f42d69f6d187763cf1d55"
    "03400487f55ba57e31cc7a7135c886efb4318aed6a1e012d9e6832a907600a918130c46dc778f971ad00380929"
    "99a333cb8b7a1a1db93d7140003c2a4ecea9f98d0acc0a8291cdcec97dcf8ec9b55a7f88a46b4db5a851f44182"
    "e1c68a007e5e655f6affffffffffffffff", 16)

# The orders n of the base points (SEC 2 v2 §2.4.2, §2.5.2, §2.6.2; FIPS 186-5 / SP 800-186 §3.2).
P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
P384_ORDER = int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77a"
                 "ecec196accc52973", 16)
P521_ORDER = int("1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f9"
                 "66b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409", 16)

X25519 = X25519Group()
SECP256R1 = NISTCurveGroup("secp256r1", NamedGroup.secp256r1, ec.SECP256R1, P256_ORDER)
SECP384R1 = NISTCurveGroup("secp384r1", NamedGroup.secp384r1, ec.SECP384R1, P384_ORDER)
SECP521R1 = NISTCurveGroup("secp521r1", NamedGroup.secp521r1, ec.SECP521R1, P521_ORDER)
X448 = X448Group()
FFDHE2048 = FiniteFieldGroup("ffdhe2048", NamedGroup.ffdhe2048, FFDHE2048_P, 2)
FFDHE3072 = FiniteFieldGroup("ffdhe3072", NamedGroup.ffdhe3072, FFDHE3072_P, 2)
FFDHE4096 = FiniteFieldGroup("ffdhe4096", NamedGroup.ffdhe4096, FFDHE4096_P, 2)
MLKEM768 = MLKEMGroup()
X25519MLKEM768 = HybridGroup("X25519MLKEM768", NamedGroup.X25519MLKEM768, MLKEM768, X25519)
SECP256R1MLKEM768 = HybridGroup("SecP256r1MLKEM768", NamedGroup.SecP256r1MLKEM768,
                                SECP256R1, MLKEM768)

GROUPS = {g.code: g for g in (X25519, SECP256R1, FFDHE2048, MLKEM768, X25519MLKEM768,
                              SECP256R1MLKEM768, SECP384R1, SECP521R1, X448, FFDHE3072,
                              FFDHE4096)}
# What a client offers and a server accepts unless configured otherwise, in order of
# preference: the post-quantum hybrid first, as Chromium, Firefox and OpenSSL 3.5 now do
# (draft-ietf-tls-ecdhe-mlkem), then the classical groups. TLS 1.2 skips the hybrid (a KEM
# cannot answer a ServerKeyExchange), so a 1.2 handshake still meets at x25519.
DEFAULT = (NamedGroup.X25519MLKEM768, NamedGroup.x25519, NamedGroup.secp256r1,
           NamedGroup.ffdhe2048)
# The classical offer alone (the default before the hybrid): what the lesson configurations
# keep, so the notebooks' ClientHellos stay the bytes they explain.
CLASSICAL = (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.ffdhe2048)
# Other spellings the command line accepts (OpenSSL's and the RFCs').
ALIASES = {"p-256": NamedGroup.secp256r1, "p256": NamedGroup.secp256r1,
           "prime256v1": NamedGroup.secp256r1,
           "p-384": NamedGroup.secp384r1, "p384": NamedGroup.secp384r1,
           "p-521": NamedGroup.secp521r1, "p521": NamedGroup.secp521r1}
_BY_NAME = {**{g.name.lower(): code for code, g in GROUPS.items()}, **ALIASES}


def get(group: int | str):
    """The group for a code (0x001d) or a name ("x25519", "P-256"); KeyError if we have none."""
    if isinstance(group, str):
        return GROUPS[_BY_NAME[group.strip().lower()]]
    return GROUPS[group]


def name(code: int) -> str:
    group = GROUPS.get(code)
    return group.name if group is not None else f"0x{code:04x}"


def names() -> list[str]:
    return [g.name for g in GROUPS.values()]


def is_post_quantum(code: int) -> bool:
    """ML-KEM alone or in a hybrid: a group whose secret a quantum computer cannot recover."""
    group = GROUPS.get(code)
    return group is not None and group.kind in ("KEM", "hybrid")


def usable_in_tls12(code: int) -> bool:
    """TLS 1.2 ECDHE takes only elliptic curves (RFC 8422); its DHE sends explicit p and g."""
    group = GROUPS.get(code)
    return group is not None and group.kind == "ECDHE"
