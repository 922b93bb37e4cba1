"""Key exchange: how client and server come to share a secret nobody on the wire can compute.

* RSA (TLS 1.2 only): the client picks a 48-byte pre-master secret and encrypts it to the
  server's certificate key. No forward secrecy: whoever later gets that key decrypts old sessions.
* ECDHE (x25519, secp256r1) and DHE (ffdhe2048): both sides make a fresh key pair per handshake
  and exchange public values; the shared secret dies with the ephemeral keys.

All the arithmetic is done by ``cryptography``; this module only shapes inputs and outputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import warnings

from cryptography.hazmat.primitives.asymmetric import ec, padding, x25519
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

# RFC 7919 Appendix A.1: the ffdhe2048 group (generator 2).
FFDHE2048_P = int(
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce"
    "249b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3"
    "b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182"
    "b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d70"
    "9e02fce1cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc"
    "2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b423861285c97ffffffffffffffff", 16)
FFDHE2048_G = 2

SUPPORTED_GROUPS = (NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.ffdhe2048)
EC_GROUPS = (NamedGroup.x25519, NamedGroup.secp256r1)


@lru_cache(maxsize=8)
def _dh_parameters(p: int, g: int):
    return DHParameterNumbers(p, g).parameters()


@dataclass(frozen=True)
class KeyShare:
    """One side's ephemeral key pair for ``group`` (or explicit DH p, g in TLS 1.2 DHE)."""
    group: int | None
    private_key: object
    public: bytes                 # exactly what goes on the wire
    p: int = 0                    # DHE only
    g: int = 0

    @property
    def private_value(self) -> bytes:
        """The private key as bytes, for a lesson to show. It never leaves this side."""
        if self.p:
            x = self.private_key.private_numbers().x
            return x.to_bytes((x.bit_length() + 7) // 8, "big")
        if self.group == NamedGroup.x25519:
            return self.private_key.private_bytes_raw()
        return self.private_key.private_numbers().private_value.to_bytes(32, "big")

    def exchange(self, peer_public: bytes) -> bytes:
        """The raw shared secret. DH output is padded to the size of p (TLS 1.3 keeps it so;
        the TLS 1.2 pre-master strips the leading zeros: see ``tls12.dhe_pre_master``)."""
        try:
            if self.p:
                y = int.from_bytes(peer_public, "big")
                if not 1 < y < self.p - 1:      # RFC 7919 §5.1: reject trivial public values
                    raise ValueError("DH public value out of range")
                peer = DHPublicNumbers(y, _dh_parameters(self.p, self.g).parameter_numbers())
                secret = self.private_key.exchange(peer.public_key())
                return secret.rjust((self.p.bit_length() + 7) // 8, b"\0")
            if self.group == NamedGroup.x25519:
                peer = x25519.X25519PublicKey.from_public_bytes(peer_public)
                return self.private_key.exchange(peer)
            peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_public)
            return self.private_key.exchange(ec.ECDH(), peer)
        except ValueError as exc:
            raise AlertError(AlertDescription.illegal_parameter,
                             f"peer's key share is not a valid public value: {exc}") from None


def generate(group: int, rng) -> KeyShare:
    """A fresh ephemeral key pair. With a lesson rng the private key comes from the seed."""
    if group == NamedGroup.x25519:
        key = (x25519.X25519PrivateKey.from_private_bytes(rng.bytes(32)) if rng.deterministic
               else x25519.X25519PrivateKey.generate())
        return KeyShare(group, key, key.public_key().public_bytes_raw())
    if group == NamedGroup.secp256r1:
        curve = ec.SECP256R1()
        if rng.deterministic:
            n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
            key = ec.derive_private_key(int.from_bytes(rng.bytes(40), "big") % (n - 1) + 1, curve)
        else:
            key = ec.generate_private_key(curve)
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
        return KeyShare(group, key, key.public_key().public_bytes(
            Encoding.X962, PublicFormat.UncompressedPoint))
    if group == NamedGroup.ffdhe2048:
        return generate_dh(FFDHE2048_P, FFDHE2048_G, rng, group)
    raise AlertError(AlertDescription.illegal_parameter, f"unsupported group {group}")


def generate_dh(p: int, g: int, rng, group: int | None = None) -> KeyShare:
    """A DH key pair for explicit (p, g): what a TLS 1.2 DHE client does with the server's."""
    if p.bit_length() < 1024 or not 1 < g < p - 1:
        raise AlertError(AlertDescription.insufficient_security if p.bit_length() < 1024
                         else AlertDescription.illegal_parameter,
                         f"refusing DH group of {p.bit_length()} bits / generator {g}")
    try:
        params = _dh_parameters(p, g)
    except ValueError as exc:     # e.g. an even p: a (hostile) server's explicit group is checked here
        raise AlertError(AlertDescription.illegal_parameter,
                         f"server's DH group is not valid: {exc}") from None
    if rng.deterministic:
        x = int.from_bytes(rng.bytes(32), "big") | 1 << 255
        key = DHPrivateNumbers(x, DHPublicNumbers(pow(g, x, p),
                                                        params.parameter_numbers())).private_key()
    else:
        key = params.generate_private_key()
    size = (p.bit_length() + 7) // 8
    public = key.public_key().public_numbers().y.to_bytes(size, "big")
    return KeyShare(group, key, public, p, g)


# -- RSA key exchange (TLS 1.2, RFC 5246 §7.4.7.1) ---------------------------------------------
def rsa_pre_master(rng, client_version: int = 0x0303) -> bytes:
    """48 bytes: the version the client offered (a rollback check), then 46 random bytes."""
    return client_version.to_bytes(2, "big") + rng.bytes(46)


def rsa_encrypt(public_key, pre_master: bytes) -> bytes:
    return public_key.encrypt(pre_master, padding.PKCS1v15())


def rsa_decrypt(private_key, encrypted: bytes, rng, client_version: int = 0x0303) -> bytes:
    """Decrypt, but on ANY failure continue with a random pre-master (RFC 5246 §7.4.7.1):
    telling the attacker *why* decryption failed is the Bleichenbacher padding oracle.
    The handshake then fails later, at Finished, with the same alert either way."""
    fallback = rsa_pre_master(rng, client_version)
    try:
        pre_master = private_key.decrypt(encrypted, padding.PKCS1v15())
    except ValueError:
        return fallback
    if len(pre_master) != 48 or pre_master[:2] != client_version.to_bytes(2, "big"):
        return fallback
    return pre_master
