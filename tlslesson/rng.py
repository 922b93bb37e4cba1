"""Where randomness comes from: the system by default, a named seed for lessons.

``lesson_rng("tls-lesson")`` makes every random and every ephemeral key of a handshake
reproducible, so a notebook shows the same values on every run. That is a LESSON-ONLY choice:
a real TLS stack must use fresh, unpredictable randomness (``SystemRandom``), or an attacker who
guesses the seed learns every key.
"""
from __future__ import annotations

import hashlib
import os


class SystemRandom:
    """Fresh randomness from the operating system: what real connections use."""

    def bytes(self, n: int) -> bytes:
        return os.urandom(n)

    def for_connection(self, number: int) -> "SystemRandom":
        """The source for a server's ``number``-th connection: the same fresh randomness."""
        return self


class LessonRandom:
    """Deterministic bytes: SHA-256(seed || counter) blocks. Lesson-only, never for real keys.
    The protocol code cannot tell it from SystemRandom: it only ever asks for bytes."""

    def __init__(self, seed: str):
        self.seed = seed
        self._counter = 0

    def bytes(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += hashlib.sha256(f"{self.seed}/{self._counter}".encode()).digest()
            self._counter += 1
        return out[:n]

    def for_connection(self, number: int) -> "LessonRandom":
        """A stream of its own for a server's ``number``-th connection (one stream shared by
        all would make each handshake depend on the ones before it)."""
        return LessonRandom(f"{self.seed}/connection-{number}")


def lesson_rng(seed: str = "tls-lesson") -> LessonRandom:
    return LessonRandom(seed)


def lesson_rngs(seed: str = "tls-lesson") -> tuple[LessonRandom, LessonRandom]:
    """(client rng, server rng) for one lesson handshake: two streams, ``<seed>/client`` and
    ``<seed>/server``. (Two rngs with the *same* seed would give both sides the same random and
    the same ephemeral key.) The explorer uses the same convention, so equal seeds show equal bytes."""
    return LessonRandom(f"{seed}/client"), LessonRandom(f"{seed}/server")
