"""Hash helpers shared by both versions: HMAC and running transcript hashes (from cryptography)."""
from __future__ import annotations

from cryptography.hazmat.primitives import hashes, hmac

HASHES = {"SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512,
          "SHA1": hashes.SHA1}


def hash_algorithm(name: str) -> hashes.HashAlgorithm:
    return HASHES[name]()


def hmac_digest(hash_name: str, key: bytes, data: bytes) -> bytes:
    h = hmac.HMAC(key, HASHES[hash_name]())
    h.update(data)
    return h.finalize()


def digest(hash_name: str, data: bytes) -> bytes:
    h = hashes.Hash(HASHES[hash_name]())
    h.update(data)
    return h.finalize()


class Transcript:
    """The handshake messages so far, kept whole (a notebook can show them) and hashed as they
    arrive: one running hash per algorithm, started on first use, copied to read it out."""

    def __init__(self):
        self.messages: list[bytes] = []
        self._running: dict[str, hashes.Hash] = {}

    def add(self, message: bytes) -> None:
        self.messages.append(message)
        for running in self._running.values():
            running.update(message)

    def hash(self, hash_name: str) -> bytes:
        running = self._running.get(hash_name)
        if running is None:
            running = self._running[hash_name] = hashes.Hash(HASHES[hash_name]())
            for m in self.messages:
                running.update(m)
        return running.copy().finalize()

    def __bytes__(self) -> bytes:
        return b"".join(self.messages)
