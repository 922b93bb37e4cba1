"""The record layer (RFC 5246 §6.2, RFC 8446 §5): framing, and protection once keys exist.

A record is ``ContentType type; ProtocolVersion version; uint16 length; opaque fragment``.
Protection objects turn plaintext into a protected fragment and back, each keeping its own
64-bit sequence number (never sent, but mixed into every nonce / MAC, so records can't be
reordered, dropped or replayed unnoticed). Any failure to open a record is ``bad_record_mac``.
"""
from __future__ import annotations

import struct
from functools import partial
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import constant_time
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from .constants import AlertDescription, ContentType
from .errors import AlertError, DecodeError
from .prf import hmac_digest
from .rng import SystemRandom
from .suites import CipherSuite

MAX_PLAINTEXT = 2 ** 14                # RFC 8446 §5.1
MAX_CIPHERTEXT_12 = 2 ** 14 + 2048     # RFC 5246 §6.2.3
MAX_CIPHERTEXT_13 = 2 ** 14 + 256      # RFC 8446 §5.2
HEADER = 5
TAG = 16                               # AES-GCM, Poly1305 and TLS 1.3's AES-CCM tags alike
APPLICATION_DATA = int(ContentType.application_data)   # 23: the outer type of every 1.3 record

# ContentType type; ProtocolVersion version; uint16 length — the record header (RFC 5246 §6.2.1),
# and the same three behind a uint64 sequence number (the TLS 1.2 MAC / additional data).
_HEADER = struct.Struct(">BHH")
_SEQ_AND_HEADER = struct.Struct(">QBHH")
_AAD12, _AAD13 = _SEQ_AND_HEADER.pack, _HEADER.pack     # bench.py's inline floor imports these


# =================================================================================================
# The RFCs' constructions, one small function each. The protection classes below call exactly
# these, so what a notebook shows from them is what goes into the cipher.
# =================================================================================================
def additional_data_12(seq_num: int, content_type: int, version: int, length: int) -> bytes:
    """TLS 1.2 AEAD (RFC 5246 §6.2.3.3): ``additional_data = seq_num + TLSCompressed.type +
    TLSCompressed.version + TLSCompressed.length`` — 8 + 1 + 2 + 2 = 13 bytes, big-endian;
    ``length`` is the plaintext's (the ciphertext's minus the explicit nonce and the tag).

    >>> additional_data_12(1, 23, 0x0303, 5).hex()
    '00000000000000011703030005'
    """
    return _SEQ_AND_HEADER.pack(seq_num, content_type, version, length)


def mac_input_12(seq_num: int, content_type: int, version: int, fragment: bytes) -> bytes:
    """TLS 1.2 CBC (RFC 5246 §6.2.3.1): the HMAC covers ``seq_num + TLSCompressed.type +
    TLSCompressed.version + TLSCompressed.length + TLSCompressed.fragment`` — the same 13 bytes
    as the AEAD additional data, then the plaintext itself."""
    return additional_data_12(seq_num, content_type, version, len(fragment)) + fragment


def mac_input_12_etm(seq_num: int, content_type: int, version: int, iv_and_ciphertext: bytes) -> bytes:
    """TLS 1.2 CBC with encrypt_then_mac (RFC 7366 §3): the HMAC covers ``seq_num +
    TLSCiphertext.type + TLSCiphertext.version + length + IV + ENC(content + padding +
    padding_length)`` — the same 13-byte header, but ``length`` is that of the IV and the
    ciphertext (the MAC not included), and what follows is what the wire carries, not the
    plaintext.

    >>> mac_input_12_etm(1, 23, 0x0303, bytes(32))[:13].hex()
    '00000000000000011703030020'
    """
    return additional_data_12(seq_num, content_type, version,
                              len(iv_and_ciphertext)) + iv_and_ciphertext


def nonce_12_gcm(salt: bytes, explicit: bytes) -> bytes:
    """TLS 1.2 AES-GCM (RFC 5288 §3): ``GCMNonce = salt (4 bytes, the client_write_IV or
    server_write_IV from the key block) + nonce_explicit (8 bytes, sent in front of the
    ciphertext in every record)``. The sender chooses nonce_explicit, never twice the same: this
    package sends the sequence number; OpenSSL counts up from a random start."""
    return salt + explicit


def nonce_xor(iv: bytes, seq_num: int) -> bytes:
    """TLS 1.3 (RFC 8446 §5.3) and TLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2): the 64-bit sequence
    number, padded on the left with zeros to the IV's length (12 bytes), XORed with the static
    write IV. Nothing of it is sent.

    >>> nonce_xor(bytes.fromhex("5d313eb2671276ee13000b30"), 1).hex()
    '5d313eb2671276ee13000b31'
    """
    return (int.from_bytes(iv, "big") ^ seq_num).to_bytes(len(iv), "big")


def additional_data_13(length: int, opaque_type: int = APPLICATION_DATA,
                       legacy_record_version: int = 0x0303) -> bytes:
    """TLS 1.3 (RFC 8446 §5.2): ``additional_data = TLSCiphertext.opaque_type ||
    TLSCiphertext.legacy_record_version || TLSCiphertext.length`` — the 5-byte record header
    itself, 0x17 0x0303 and the length of the encrypted_record (tag included). Opening a record
    passes the header as it arrived, so a changed header byte fails the tag.

    >>> additional_data_13(0x11).hex()
    '1703030011'
    """
    return _HEADER.pack(opaque_type, legacy_record_version, length)


def protected_layout(suite: CipherSuite | None, fragment_length: int, version: str | None = None,
                     at: int = 0, etm: bool = False) -> list[tuple[str, int, int]]:
    """The parts of a protected fragment as ``(name, start, length)``: what the hex view and the
    tamper lab label. Starts count from the fragment's first byte plus ``at`` (5 for offsets into
    the whole record). TLS 1.3 if ``version`` or the suite says so; with no suite, TLS 1.2 AES-GCM.

    * TLS 1.2 AES-GCM (RFC 5288 §3): explicit nonce 8 | ciphertext | tag 16
    * TLS 1.2 ChaCha20-Poly1305 (RFC 7905 §2): ciphertext | tag 16
    * TLS 1.2 CBC (RFC 5246 §6.2.3.2): IV 16 | ciphertext (message + HMAC + padding); the HMAC
      (20, 32 or 48 bytes: SHA-1, SHA-256, SHA-384) and padding are only found by decrypting
    * TLS 1.2 CBC, ``etm`` (RFC 7366 §3): IV 16 | ciphertext (message + padding) | HMAC
    * TLS 1.3 (RFC 8446 §5.2): encrypted_record (message + content type + zero padding) | tag 16
      (AES-GCM, ChaCha20-Poly1305 and AES-CCM alike)
    """
    n = fragment_length
    if version == "1.3" or suite is not None and suite.version == "1.3":
        parts = [("encrypted_record (message + content type)", n - TAG), ("AEAD tag", TAG)]
    elif suite is not None and not suite.aead and etm:
        parts = [("IV (explicit, per record)", 16),
                 ("ciphertext (message + padding)", n - 16 - suite.mac_length),
                 (f"HMAC-{suite.mac}", suite.mac_length)]
    elif suite is not None and not suite.aead:
        parts = [("IV (explicit, per record)", 16), ("ciphertext (message + HMAC + padding)", n - 16)]
    elif suite is not None and suite.cipher == "CHACHA20_POLY1305":
        parts = [("ciphertext", n - TAG), ("AEAD tag", TAG)]
    else:
        parts = [("explicit nonce (sequence number)", 8), ("ciphertext", n - 8 - TAG),
                 ("AEAD tag", TAG)]
    layout, start = [], 0
    for name, length in parts:      # a fragment too short for its parts (tampered): they shrink
        length = max(0, min(length, n - start))
        layout.append((name, at + start, length))
        start += length
    return layout


class Record(NamedTuple):
    content_type: int
    version: int
    fragment: bytes

    def encode(self) -> bytes:
        return _HEADER.pack(self.content_type, self.version, len(self.fragment)) + self.fragment

    @classmethod
    def decode(cls, data: bytes) -> "Record":
        """Exactly one whole record (e.g. one recorded from the wire)."""
        buffer = RecordBuffer()
        buffer.feed(data)
        record = buffer.next_record()
        if record is None or buffer.buffer:
            raise DecodeError("record", 0, "not exactly one complete record")
        return record


# Record((type, version, fragment)) without NamedTuple's Python-level __new__ (tuple.__new__ does
# the same): measured 0.1-0.15 us a record, 2-3 % of the 16 KiB seal+open loop. Used where records
# are sealed; everywhere else Record(...) reads better.
_new_record = partial(tuple.__new__, Record)


class RecordBuffer:
    """Collects bytes from the network and hands out whole records (TCP has no boundaries)."""

    def __init__(self):
        self.buffer = bytearray()
        self.offset = 0          # stream offset of buffer[0], for error messages

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next_record(self) -> Record | None:
        if len(self.buffer) < HEADER:
            return None
        content_type, version, length = _HEADER.unpack_from(self.buffer)
        if content_type not in (20, 21, 22, 23):
            if self.offset:          # RFC 8446 §5: an unexpected record type, unexpected_message
                raise AlertError(AlertDescription.unexpected_message,
                                 f"record of unknown content type {content_type}",
                                 check="record_type")
            raise DecodeError("record content_type", self.offset,   # the first: not TLS at all
                              f"{content_type} is not a TLS content type (not TLS at all?)")
        if version >> 8 != 3:
            if self.offset:   # OpenSSL: protocol_version after the first record (none on the first)
                raise AlertError(AlertDescription.protocol_version,
                                 f"record version 0x{version:04x} is not TLS",
                                 check="record_version")
            raise DecodeError("record version", self.offset + 1, f"0x{version:04x} is not TLS")
        if length > MAX_CIPHERTEXT_12:
            raise AlertError(AlertDescription.record_overflow,
                             f"record length {length} exceeds 2^14 + 2048", check="record_length")
        if len(self.buffer) < HEADER + length:
            return None
        with memoryview(self.buffer) as view:    # one copy out of the buffer (a slice would be two)
            fragment = bytes(view[HEADER:HEADER + length])
        del self.buffer[:HEADER + length]          # cheap: CPython moves the start, not the bytes
        self.offset += HEADER + length
        return Record(content_type, version, fragment)


def _bad_mac(why: str) -> AlertError:
    return AlertError(AlertDescription.bad_record_mac, why, check="record_mac")


class NullProtection:
    """Before ChangeCipherSpec / before handshake keys: records travel in the clear."""
    name = "none"

    def seal(self, content_type: int, version: int, plaintext: bytes) -> Record:
        return Record(content_type, version, plaintext)

    def open(self, record: Record, seq: int | None = None) -> tuple[int, bytes]:
        return record.content_type, record.fragment


class AEAD12:
    """TLS 1.2 AEAD (RFC 5246 §6.2.3.3). AES-GCM (RFC 5288): ``iv`` is the 4-byte salt from the
    key block, and each record starts with the 8-byte explicit nonce (we send the sequence
    number). ChaCha20-Poly1305 (RFC 7905): ``iv`` is 12 bytes, XORed with the sequence number;
    nothing explicit. Either way the tag covers ``additional_data_12`` of the plaintext."""
    __slots__ = ("aead", "chacha", "iv", "seq", "name")

    def __init__(self, suite: CipherSuite, key: bytes, iv: bytes):
        self.chacha = suite.cipher == "CHACHA20_POLY1305"
        self.aead = ChaCha20Poly1305(key) if self.chacha else AESGCM(key)
        self.iv = iv
        self.seq = 0
        self.name = suite.cipher

    def seal(self, content_type: int, version: int, plaintext: bytes) -> Record:
        seq = self.seq
        self.seq = seq + 1
        aad = additional_data_12(seq, content_type, version, len(plaintext))
        if self.chacha:
            return _new_record((content_type, version,
                                self.aead.encrypt(nonce_xor(self.iv, seq), plaintext, aad)))
        explicit = seq.to_bytes(8, "big")
        ciphertext = self.aead.encrypt(nonce_12_gcm(self.iv, explicit), plaintext, aad)
        return _new_record((content_type, version, explicit + ciphertext))

    def open(self, record: Record, seq: int | None = None) -> tuple[int, bytes]:
        """Decrypt and check; ``seq`` opens a recorded record out of order (default: the next)."""
        if seq is None:
            seq = self.seq
            self.seq = seq + 1
        content_type, version, fragment = record
        if self.chacha:
            nonce, ciphertext = nonce_xor(self.iv, seq), fragment
        elif len(fragment) < 8:
            raise _bad_mac("record shorter than its explicit nonce")
        else:   # a memoryview: the ciphertext goes to the AEAD without being copied first
            nonce, ciphertext = nonce_12_gcm(self.iv, fragment[:8]), memoryview(fragment)[8:]
        if len(ciphertext) < TAG:
            raise _bad_mac("record shorter than an AEAD tag")
        aad = additional_data_12(seq, content_type, version, len(ciphertext) - TAG)
        try:
            return content_type, self.aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise _bad_mac(f"AEAD tag check failed on record {seq}") from None


class CBC12:
    """TLS 1.2 AES-CBC with HMAC, MAC-then-encrypt (RFC 5246 §6.2.3.2) — shown for comparison:
    the MAC covers the plaintext, so padding is checked before the MAC can be, which is where
    padding-oracle attacks (Lucky Thirteen) come from. AEAD suites replaced it.
    Each record's explicit IV comes from ``rng.bytes(16)`` (default: the system's randomness)."""

    def __init__(self, suite: CipherSuite, key: bytes, mac_key: bytes, rng=None):
        self.key, self.mac_key, self.mac = key, mac_key, suite.mac
        self.mac_length = suite.mac_length
        self.seq = 0
        self.rng = rng if rng is not None else SystemRandom()
        self.name = suite.cipher

    def _mac(self, seq: int, content_type: int, version: int, plaintext: bytes) -> bytes:
        return hmac_digest(self.mac, self.mac_key,
                           mac_input_12(seq, content_type, version, plaintext))

    def seal(self, content_type: int, version: int, plaintext: bytes) -> Record:
        seq, self.seq = self.seq, self.seq + 1
        data = plaintext + self._mac(seq, content_type, version, plaintext)
        pad = 15 - len(data) % 16                 # padding_length bytes, each = padding_length
        data += bytes([pad]) * (pad + 1)
        iv = self.rng.bytes(16)                    # explicit per-record IV (TLS 1.1+)
        enc = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
        return Record(content_type, version, iv + enc.update(data) + enc.finalize())

    def open(self, record: Record, seq: int | None = None) -> tuple[int, bytes]:
        """Decrypt and check; ``seq`` opens a recorded record out of order (default: the next)."""
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        fragment = record.fragment
        if len(fragment) < 32 or len(fragment) % 16:
            raise _bad_mac("CBC record length is not a whole number of blocks")
        dec = Cipher(algorithms.AES(self.key), modes.CBC(fragment[:16])).decryptor()
        data = dec.update(fragment[16:]) + dec.finalize()
        pad = data[-1]
        # One alert for bad padding and bad MAC alike, so they can't be told apart (RFC 5246 §6.2.3.2).
        good_pad = pad + 1 + self.mac_length <= len(data) and \
            data[-pad - 1:] == bytes([pad]) * (pad + 1)
        end = len(data) - (pad + 1 if good_pad else 0) - self.mac_length
        plaintext, tag = data[:max(end, 0)], data[max(end, 0):max(end, 0) + self.mac_length]
        expected = self._mac(seq, record.content_type, record.version, plaintext)
        if not (constant_time.bytes_eq(tag, expected) and good_pad):
            raise _bad_mac(f"CBC padding or HMAC check failed on record {seq}")
        return record.content_type, plaintext


def _aead_13(cipher: str, key: bytes):
    """The AEAD of a TLS 1.3 suite. TLS_AES_128_CCM_SHA256 is AEAD_AES_128_CCM (RFC 8446 §B.4,
    RFC 5116 §5.3): a 16-byte tag, a 12-byte nonce, like the others."""
    if cipher == "CHACHA20_POLY1305":
        return ChaCha20Poly1305(key)
    if cipher == "AES_128_CCM":
        return AESCCM(key, tag_length=TAG)
    return AESGCM(key)
class CBC12EtM(CBC12):
    """TLS 1.2 AES-CBC with HMAC, encrypt-then-MAC (RFC 7366), negotiated by the encrypt_then_mac
    extension: the HMAC (``mac_input_12_etm``) covers the IV and the ciphertext and follows them,
    so the receiver checks it before it decrypts anything — a changed record is refused before
    padding exists, and there is no padding oracle left to ask.
    Each record's explicit IV comes from ``rng.bytes(16)`` (default: the system's randomness)."""

    def _mac(self, seq: int, content_type: int, version: int, iv_and_ciphertext: bytes) -> bytes:
        return hmac_digest(self.mac, self.mac_key,
                           mac_input_12_etm(seq, content_type, version, iv_and_ciphertext))

    def seal(self, content_type: int, version: int, plaintext: bytes) -> Record:
        seq, self.seq = self.seq, self.seq + 1
        pad = 15 - len(plaintext) % 16            # padding_length bytes, each = padding_length
        data = plaintext + bytes([pad]) * (pad + 1)
        iv = self.rng.bytes(16)                    # explicit per-record IV, as in RFC 5246
        enc = Cipher(algorithms.AES(self.key), modes.CBC(iv)).encryptor()
        body = iv + enc.update(data) + enc.finalize()
        return Record(content_type, version, body + self._mac(seq, content_type, version, body))

    def open(self, record: Record, seq: int | None = None) -> tuple[int, bytes]:
        """Check the MAC, then decrypt; ``seq`` opens a recorded record out of order."""
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        fragment, m = record.fragment, self.mac_length
        body, tag = fragment[:-m], fragment[-m:]
        if len(body) < 32 or len(body) % 16:
            raise _bad_mac("CBC record length is not IV + whole blocks + MAC")
        if not constant_time.bytes_eq(tag, self._mac(seq, record.content_type, record.version,
                                                      body)):
            raise _bad_mac(f"encrypt-then-MAC HMAC check failed on record {seq}")   # RFC 7366 §3
        dec = Cipher(algorithms.AES(self.key), modes.CBC(body[:16])).decryptor()
        data = dec.update(body[16:]) + dec.finalize()
        pad = data[-1]      # the MAC passed: only the sender can have made bad padding
        if pad + 1 > len(data) or data[-pad - 1:] != bytes([pad]) * (pad + 1):
            raise _bad_mac(f"CBC padding check failed on record {seq}")
        return record.content_type, data[:-pad - 1]


class AEAD13:
    """TLS 1.3 (RFC 8446 §5.2): every protected record says application_data (0x17) outside; the
    real type is the last non-zero byte of the decrypted TLSInnerPlaintext, after optional zero
    padding. nonce = ``nonce_xor(iv, seq)``; additional_data = ``additional_data_13``, the
    record header."""
    __slots__ = ("aead", "iv", "seq", "name")

    def __init__(self, suite: CipherSuite, key: bytes, iv: bytes):
        self.aead = _aead_13(suite.cipher, key)
        self.iv = iv
        self.seq = 0
        self.name = suite.cipher

    def seal(self, content_type: int, version: int, plaintext: bytes, padding: int = 0) -> Record:
        seq = self.seq
        self.seq = seq + 1
        # TLSInnerPlaintext: opaque content; ContentType type; uint8 zeros[length_of_padding]
        inner = plaintext + content_type.to_bytes(1, "big")
        if padding:
            inner += bytes(padding)
        aad = additional_data_13(len(inner) + TAG)
        ciphertext = self.aead.encrypt(nonce_xor(self.iv, seq), inner, aad)
        return _new_record((APPLICATION_DATA, 0x0303, ciphertext))

    def open(self, record: Record, seq: int | None = None) -> tuple[int, bytes]:
        """Decrypt and check; ``seq`` opens a recorded record out of order (default: the next)."""
        if seq is None:
            seq = self.seq
            self.seq = seq + 1
        content_type, version, fragment = record
        if content_type != APPLICATION_DATA:
            raise AlertError(AlertDescription.unexpected_message,
                             f"protected record with outer type {content_type}",
                             check="record_type")
        if len(fragment) > MAX_CIPHERTEXT_13:
            raise AlertError(AlertDescription.record_overflow, "TLS 1.3 record too long",
                             check="record_length")
        aad = additional_data_13(len(fragment), content_type, version)   # the header as it came
        try:
            inner = self.aead.decrypt(nonce_xor(self.iv, seq), fragment, aad)
        except InvalidTag:
            raise _bad_mac(f"AEAD tag check failed on record {seq}") from None
        if len(inner) > MAX_PLAINTEXT + 1:         # RFC 8446 §5.4: padding counts too
            raise AlertError(AlertDescription.record_overflow,
                             f"TLSInnerPlaintext of {len(inner)} bytes exceeds 2^14 + 1",
                             check="record_length")
        stripped = inner.rstrip(b"\x00")          # the zero padding
        if not stripped:
            raise AlertError(AlertDescription.unexpected_message, "record with no content type",
                             check="record_type")
        return stripped[-1], stripped[:-1]


def fragment(data: bytes, size: int = MAX_PLAINTEXT):
    """Cut application data into record-sized pieces."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


class RecordLayer:
    """Which protection the next record gets, in each direction — the record "epochs" — and the
    rules for the record header, usable without a connection (a capture reader drives it too).

    TLS 1.2: records are plaintext until each side's ChangeCipherSpec; then that direction uses
    the key block's keys. TLS 1.3: the handshake traffic keys right after ServerHello, the
    application keys after Finished, the next generation after each KeyUpdate; a
    ChangeCipherSpec record is only a middlebox-compatibility dummy and is never protected.
    The owner sets ``read`` / ``write`` at each switch and ``version`` once it is negotiated."""

    def __init__(self):
        self.buffer = RecordBuffer()
        self.read = NullProtection()
        self.write = NullProtection()
        self.version: str | None = None      # "1.2" / "1.3" once negotiated
        self.write_version = 0x0303          # legacy_record_version of what we send

    @property
    def read_protected(self) -> bool:
        return not isinstance(self.read, NullProtection)

    @property
    def write_protected(self) -> bool:
        return not isinstance(self.write, NullProtection)

    def seal(self, content_type: int, payload: bytes) -> bytes:
        return self.write.seal(content_type, self.write_version, payload).encode()

    def feed(self, data: bytes):
        """The whole records ``data`` completes, one at a time (the rest waits in the buffer)."""
        self.buffer.feed(data)
        while (record := self.buffer.next_record()) is not None:
            yield record

    def open(self, record: Record) -> tuple[int, bytes]:
        """(content type, plaintext) of a received record, after the header checks."""
        self._check_version(record)
        if self.version == "1.3" and record.content_type == ContentType.change_cipher_spec:
            return record.content_type, record.fragment       # RFC 8446 §5: never protected
        if (self.version == "1.3" and record.content_type == ContentType.alert
                and getattr(self.read, "seq", 0) == 0):
            # A 1.3 client that fails on the server's flight has no write keys yet, so its alert
            # comes in the clear (ours and OpenSSL's); OpenSSL accepts it until the peer's first
            # protected record (ENC_READ_STATE_ALLOW_PLAIN_ALERTS in ssl3_get_record).
            return record.content_type, record.fragment
        content_type, plaintext = self.read.open(record)
        if len(plaintext) > MAX_PLAINTEXT:   # RFC 5246 §6.2.1, RFC 8446 §5.1; OpenSSL's
            raise AlertError(AlertDescription.record_overflow,   # SSL_R_DATA_LENGTH_TOO_LONG
                             f"record of {len(plaintext)} bytes of plaintext exceeds 2^14",
                             check="record_length")
        return content_type, plaintext

    def _check_version(self, record: Record) -> None:
        """As OpenSSL 3 does (ssl3_get_record): the first record from the peer may carry any 3.x
        (RFC 5246 App. E.1; the version is unknown until it arrives); after that a TLS 1.2
        record must say 0x0303 (protocol_version). TLS 1.3 ignores the field "for all purposes"
        (RFC 8446 §5.1): a protected record's header is in its additional data anyway, so a changed
        one fails the AEAD tag. (OpenSSL 3 refuses anything but 0x0303 once keys are in use.)"""
        if record.version != 0x0303 and self.version == "1.2":
            raise AlertError(AlertDescription.protocol_version,
                             f"record version 0x{record.version:04x} in a TLS 1.2 connection",
                             check="record_version")
