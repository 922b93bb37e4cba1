"""NSS key log lines (the SSLKEYLOGFILE format Wireshark, OpenSSL and browsers share).

    CLIENT_RANDOM <64 hex: client random> <96 hex: TLS 1.2 master secret>
    CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random> <secret>     (TLS 1.3, and the other labels)

With these lines Wireshark decrypts a capture: that is exactly why they must never leave a lab.
"""
from __future__ import annotations

from .errors import DecodeError

LABELS = ("CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
          "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET",
          "CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET", "RSA")


def line(label: str, client_random: bytes, secret: bytes) -> str:
    return f"{label} {client_random.hex()} {secret.hex()}"


def parse(text: str) -> list[tuple[str, bytes, bytes]]:
    """Read a key log file's text: (label, client_random, secret) per line; '#' starts a comment."""
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        parts = raw.split()
        if len(parts) != 3:
            raise DecodeError(f"key log line {number}", 0, "expected: LABEL <hex> <hex>")
        label, first, second = parts
        if label not in LABELS:
            raise DecodeError(f"key log line {number}", 0, f"unknown label {label!r}")
        try:
            client_random, secret = bytes.fromhex(first), bytes.fromhex(second)
        except ValueError:
            raise DecodeError(f"key log line {number}", len(label) + 1, "not hex") from None
        if label != "RSA" and len(client_random) != 32:
            raise DecodeError(f"key log line {number}", len(label) + 1,
                              f"client random is {len(client_random)} bytes, not 32")
        entries.append((label, client_random, secret))
    return entries


def append(path, lines) -> None:
    """Append lines to a key log file (how every stack writes them: one connection at a time)."""
    with open(path, "a", encoding="ascii") as f:
        for entry in lines:
            f.write(entry + "\n")
