"""RSA key transport (TLS 1.2 only, RFC 5246 §7.4.7.1): the client picks a 48-byte pre-master
secret and encrypts it to the server's certificate key. No forward secrecy: whoever later gets
that key decrypts old sessions — and a server that reveals *why* a decryption failed is a
Bleichenbacher padding oracle. TLS 1.3 removed it for both reasons.

The ephemeral (EC)DH and ML-KEM groups, the other way to share a secret, are in ``groups``.
All the arithmetic is done by ``cryptography``; this module only shapes inputs and outputs.
"""
from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import padding


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
