"""Bytes <-> fields: the presentation language of RFC 8446 §3 (uint8/16/24, opaque<..>, vectors).

``Reader`` reads a message field by field and records a ``Span`` (name, start, end, depth) for
each, so a notebook can draw an annotated hex view of exactly what was parsed. Every way the
bytes can be wrong ends in a ``DecodeError`` naming the field and the offset.

Writing is done with small functions (``u16(x)``, ``opaque(2, data)``) whose results are joined.
"""
from __future__ import annotations

from typing import NamedTuple

from .errors import DecodeError


class Span(NamedTuple):
    """One field: ``data[start:end]`` is named ``name``; ``depth`` is how deeply it is nested.
    (A NamedTuple: a handshake records a hundred of these, so they must be cheap to make.)"""

    name: str
    start: int
    end: int
    depth: int

    @property
    def length(self) -> int:
        return self.end - self.start


class Reader:
    """Reads fields from ``data[pos:end]``; a child reader (``block``) shares the span list."""

    __slots__ = ("data", "pos", "end", "spans", "depth", "base")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None,
                 spans: list[Span] | None = None, depth: int = 0, base: int = 0,
                 track: bool = True):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end
        # track=False reads the same fields without recording spans: what a connection does,
        # since only the hex view needs them (messages.layout asks for them).
        self.spans = ([] if spans is None else spans) if track else None
        self.depth = depth
        self.base = base  # offset of data[0] in a larger buffer, so spans stay absolute

    # -- primitives --------------------------------------------------------------------------
    def _take(self, n: int, name: str) -> bytes:
        start = self.pos
        if n > self.end - start:
            raise DecodeError(name, self.base + start,
                              f"needs {n} bytes but only {self.end - start} remain")
        self.pos = start + n
        if self.spans is not None:
            self.spans.append(Span(name, self.base + start, self.base + start + n, self.depth))
        return self.data[start:start + n]

    def uint(self, size: int, name: str) -> int:
        return int.from_bytes(self._take(size, name), "big")

    def uint8(self, name: str) -> int:
        return self.uint(1, name)

    def uint16(self, name: str) -> int:
        return self.uint(2, name)

    def uint24(self, name: str) -> int:
        return self.uint(3, name)

    def fixed(self, n: int, name: str) -> bytes:
        """A fixed-length opaque field, e.g. ``Random random[32]``."""
        return self._take(n, name)

    def rest(self, name: str) -> bytes:
        """Everything left in this block (e.g. Finished.verify_data)."""
        return self._take(self.end - self.pos, name)

    # -- length-prefixed fields --------------------------------------------------------------
    def _length(self, prefix: int, name: str, minimum: int, maximum: int | None) -> int:
        at = self.base + self.pos
        n = self.uint(prefix, f"{name} length")
        if n < minimum or (maximum is not None and n > maximum):
            raise DecodeError(name, at, f"length {n} outside <{minimum}..{maximum}>")
        return n

    def opaque(self, prefix: int, name: str, minimum: int = 0, maximum: int | None = None) -> bytes:
        """``opaque name<minimum..maximum>`` with a ``prefix``-byte length."""
        n = self._length(prefix, name, minimum, maximum)
        return self._take(n, name)

    def block(self, prefix: int, name: str, minimum: int = 0,
              maximum: int | None = None) -> "Reader":
        """A length-prefixed vector whose items the caller reads from the returned child reader."""
        n = self._length(prefix, name, minimum, maximum)
        start = self.pos
        if n > self.end - start:
            raise DecodeError(name, self.base + start,
                              f"length {n} runs past the end ({self.end - start} bytes remain)")
        self.pos = start + n
        if self.spans is None:
            return Reader(self.data, start, start + n, None, self.depth + 1, self.base, False)
        self.spans.append(Span(name, self.base + start, self.base + start + n, self.depth))
        return Reader(self.data, start, start + n, self.spans, self.depth + 1, self.base)

    def uint16_list(self, prefix: int, name: str, item: str, minimum: int = 0) -> tuple[int, ...]:
        """A vector of uint16 values (cipher suites, groups, signature schemes, versions)."""
        sub = self.block(prefix, name, minimum)
        if (sub.end - sub.pos) % 2:
            raise DecodeError(name, self.base + sub.pos, "odd length for a list of uint16")
        if sub.spans is None:      # fast path: no spans wanted, read the list in one go
            raw, sub.pos = sub.data[sub.pos:sub.end], sub.end
            return tuple(int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2))
        values = []
        while not sub.at_end():
            values.append(sub.uint16(item))
        return tuple(values)

    # -- end ---------------------------------------------------------------------------------
    def at_end(self) -> bool:
        return self.pos >= self.end

    def done(self, name: str) -> None:
        """Insist that ``name`` used every byte it was given."""
        if self.pos != self.end:
            raise DecodeError(name, self.base + self.pos,
                              f"{self.end - self.pos} unexpected trailing bytes")


# -- writing -------------------------------------------------------------------------------
def u8(value: int) -> bytes:
    return value.to_bytes(1, "big")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u24(value: int) -> bytes:
    return value.to_bytes(3, "big")


def opaque(prefix: int, data: bytes) -> bytes:
    """Length prefix of ``prefix`` bytes, then the data (``opaque x<..>``)."""
    return len(data).to_bytes(prefix, "big") + data


def uint16_list(prefix: int, values) -> bytes:
    return opaque(prefix, b"".join(v.to_bytes(2, "big") for v in values))
