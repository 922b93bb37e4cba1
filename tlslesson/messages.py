"""Handshake messages: one frozen dataclass each, with encode() and a decoder (RFC 5246 §7.4, RFC 8446 §4).

``encode_handshake(msg)`` adds the 4-byte header (msg_type, uint24 length);
``decode_handshake(data, ctx)`` reads one whole message and ``layout()`` returns the spans of every
field, which the notebooks colour in the hex view. A few messages read differently by version or
key exchange; ``Context`` says which (exactly what a real stack knows at that point).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .constants import (AlertDescription, HandshakeType as HT, ProtocolVersion,
                        HELLO_RETRY_REQUEST_RANDOM)
from .errors import AlertError, DecodeError
from .extensions import Extension, read_extensions, encode_all, find
from .wire import Reader, Span, opaque, u8, u16, u24, uint16_list


@dataclass(frozen=True)
class Context:
    """What the decoder must know that the bytes don't say."""
    version: str = "1.2"          # "1.2" or "1.3"
    kx: str | None = None         # TLS 1.2 key exchange: "RSA", "ECDHE", "DHE"
    etm: bool = False             # TLS 1.2 CBC records are encrypt-then-MAC (RFC 7366)


@dataclass(frozen=True)
class ClientHello:
    msg_type: ClassVar[int] = HT.client_hello
    random: bytes
    cipher_suites: tuple[int, ...]
    extensions: tuple[Extension, ...] = ()
    session_id: bytes = b""
    legacy_version: int = ProtocolVersion.TLS12
    compression_methods: bytes = b"\x00"

    def encode(self) -> bytes:
        return (u16(self.legacy_version) + self.random + opaque(1, self.session_id)
                + uint16_list(2, self.cipher_suites) + opaque(1, self.compression_methods)
                + encode_all(self.extensions))

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "ClientHello":
        version = r.uint16("legacy_version")
        random = r.fixed(32, "random")
        session_id = r.opaque(1, "legacy_session_id", 0, 32)
        suites = r.uint16_list(2, "cipher_suites", "cipher_suite", 2)
        compression = r.opaque(1, "legacy_compression_methods", 1)
        extensions = read_extensions(r, "client_hello") if not r.at_end() else ()
        return cls(random, suites, extensions, session_id, version, compression)

    def extension(self, ext_type: int) -> Extension | None:
        return find(self.extensions, ext_type)


@dataclass(frozen=True)
class ServerHello:
    msg_type: ClassVar[int] = HT.server_hello
    random: bytes
    cipher_suite: int
    extensions: tuple[Extension, ...] = ()
    session_id: bytes = b""
    legacy_version: int = ProtocolVersion.TLS12
    compression_method: int = 0

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    def encode(self) -> bytes:
        return (u16(self.legacy_version) + self.random + opaque(1, self.session_id)
                + u16(self.cipher_suite) + u8(self.compression_method)
                + encode_all(self.extensions))

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "ServerHello":
        version = r.uint16("legacy_version")
        random = r.fixed(32, "random")
        session_id = r.opaque(1, "legacy_session_id", 0, 32)
        suite = r.uint16("cipher_suite")
        compression = r.uint8("legacy_compression_method")
        where = "hello_retry_request" if random == HELLO_RETRY_REQUEST_RANDOM else "server_hello"
        extensions = read_extensions(r, where) if not r.at_end() else ()
        return cls(random, suite, extensions, session_id, version, compression)

    def extension(self, ext_type: int) -> Extension | None:
        return find(self.extensions, ext_type)


@dataclass(frozen=True)
class Certificate:
    """TLS 1.2: ASN.1Cert certificate_list<0..2^24-1>, leaf first.
    TLS 1.3 adds a request context and extensions per entry (RFC 8446 §4.4.2)."""
    msg_type: ClassVar[int] = HT.certificate
    certificate_list: tuple[bytes, ...]
    tls13: bool = False
    certificate_request_context: bytes = b""
    entry_extensions: tuple[tuple[Extension, ...], ...] | None = None

    def encode(self) -> bytes:
        if not self.tls13:
            return opaque(3, b"".join(opaque(3, c) for c in self.certificate_list))
        exts = self.entry_extensions or ((),) * len(self.certificate_list)
        entries = b"".join(opaque(3, c) + encode_all(e)
                           for c, e in zip(self.certificate_list, exts))
        return opaque(1, self.certificate_request_context) + opaque(3, entries)

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "Certificate":
        tls13 = ctx.version == "1.3"
        context = r.opaque(1, "certificate_request_context") if tls13 else b""
        block = r.block(3, "certificate_list")
        certs, exts = [], []
        while not block.at_end():
            certs.append(block.opaque(3, "cert_data", 1))
            if tls13:
                exts.append(read_extensions(block, "certificate"))
        return cls(tuple(certs), tls13, context, tuple(exts) if tls13 else None)


@dataclass(frozen=True)
class ServerKeyExchange:
    """ServerECDHParams or ServerDHParams, signed with the certificate's key (RFC 8422 §5.4,
    RFC 5246 §7.4.3). The signature covers client_random + server_random + params."""
    msg_type: ClassVar[int] = HT.server_key_exchange
    kx: str                      # "ECDHE" or "DHE"
    public: bytes                # the server's ephemeral public value (point or Ys)
    scheme: int                  # SignatureScheme
    signature: bytes
    group: int | None = None     # ECDHE: NamedGroup
    dh_p: bytes = b""            # DHE: prime and generator, sent explicitly in TLS 1.2
    dh_g: bytes = b""

    def params(self) -> bytes:
        if self.kx == "ECDHE":   # curve_type 3 = named_curve
            return u8(3) + u16(self.group) + opaque(1, self.public)
        return opaque(2, self.dh_p) + opaque(2, self.dh_g) + opaque(2, self.public)

    def encode(self) -> bytes:
        return self.params() + u16(self.scheme) + opaque(2, self.signature)

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "ServerKeyExchange":
        if ctx.kx == "ECDHE":
            at = r.pos
            if r.uint8("curve_type") != 3:
                raise DecodeError("curve_type", at, "only named_curve (3) is allowed")
            group = r.uint16("named_curve")
            public = r.opaque(1, "public", 1)
            p = g = b""
        elif ctx.kx == "DHE":
            group = None
            p = r.opaque(2, "dh_p", 1)
            g = r.opaque(2, "dh_g", 1)
            public = r.opaque(2, "dh_Ys", 1)
        else:
            raise DecodeError("server_key_exchange", r.pos,
                              f"not sent with {ctx.kx} key exchange")
        scheme = r.uint16("signature_scheme")
        signature = r.opaque(2, "signature")
        return cls(ctx.kx, public, scheme, signature, group, p, g)


@dataclass(frozen=True)
class CertificateRequest:
    """TLS 1.2 (RFC 5246 §7.4.4): certificate types, signature algorithms, acceptable CAs.
    TLS 1.3 (RFC 8446 §4.3.2): a request context and extensions (signature_algorithms)."""
    msg_type: ClassVar[int] = HT.certificate_request
    signature_algorithms: tuple[int, ...] = ()
    certificate_types: bytes = b"\x01\x40"     # rsa_sign(1), ecdsa_sign(64)
    certificate_authorities: tuple[bytes, ...] = ()
    tls13: bool = False
    certificate_request_context: bytes = b""
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        if self.tls13:
            return opaque(1, self.certificate_request_context) + encode_all(self.extensions)
        return (opaque(1, self.certificate_types) + uint16_list(2, self.signature_algorithms)
                + opaque(2, b"".join(opaque(2, dn) for dn in self.certificate_authorities)))

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "CertificateRequest":
        if ctx.version == "1.3":
            context = r.opaque(1, "certificate_request_context")
            exts = read_extensions(r, "certificate_request")
            from .extensions import value
            sig = find(exts, 13)
            algs = value(sig, "certificate_request") if sig else ()
            return cls(algs, b"", (), True, context, exts)
        types = r.opaque(1, "certificate_types", 1)
        algs = r.uint16_list(2, "supported_signature_algorithms", "scheme", 2)
        block = r.block(2, "certificate_authorities")
        cas = []
        while not block.at_end():
            cas.append(block.opaque(2, "distinguished_name", 1))
        return cls(algs, types, tuple(cas))


@dataclass(frozen=True)
class ServerHelloDone:
    msg_type: ClassVar[int] = HT.server_hello_done

    def encode(self) -> bytes:
        return b""

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "ServerHelloDone":
        return cls()


@dataclass(frozen=True)
class EndOfEarlyData:
    """TLS 1.3 (RFC 8446 §4.5): "my 0-RTT data ends here"; the rest is under handshake keys."""
    msg_type: ClassVar[int] = HT.end_of_early_data

    def encode(self) -> bytes:
        return b""

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "EndOfEarlyData":
        return cls()


@dataclass(frozen=True)
class ClientKeyExchange:
    """RSA: the pre-master secret encrypted to the server's key (opaque<0..2^16-1>);
    ECDHE: the client's point (opaque<1..255>); DHE: Yc (opaque<1..2^16-1>)."""
    msg_type: ClassVar[int] = HT.client_key_exchange
    kx: str
    exchange: bytes

    def encode(self) -> bytes:
        return opaque(1 if self.kx == "ECDHE" else 2, self.exchange)

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "ClientKeyExchange":
        names = {"RSA": "encrypted_pre_master_secret", "ECDHE": "ecdh_Yc", "DHE": "dh_Yc"}
        if ctx.kx not in names:
            raise DecodeError("client_key_exchange", r.pos, "key exchange not yet known")
        return cls(ctx.kx, r.opaque(1 if ctx.kx == "ECDHE" else 2, names[ctx.kx], 1))


@dataclass(frozen=True)
class CertificateVerify:
    """A signature over the handshake transcript so far — proof of holding the certificate's
    private key. (It is not a signature on the certificate.)"""
    msg_type: ClassVar[int] = HT.certificate_verify
    scheme: int
    signature: bytes

    def encode(self) -> bytes:
        return u16(self.scheme) + opaque(2, self.signature)

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "CertificateVerify":
        # an empty signature parses (RFC 8446 §4.4.3 gives no minimum): it fails the check,
        # decrypt_error, like any signature that does not verify
        return cls(r.uint16("signature_scheme"), r.opaque(2, "signature"))


@dataclass(frozen=True)
class Finished:
    msg_type: ClassVar[int] = HT.finished
    verify_data: bytes

    def encode(self) -> bytes:
        return self.verify_data

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "Finished":
        return cls(r.rest("verify_data"))


@dataclass(frozen=True)
class EncryptedExtensions:
    msg_type: ClassVar[int] = HT.encrypted_extensions
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        return encode_all(self.extensions)

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "EncryptedExtensions":
        return cls(read_extensions(r, "encrypted_extensions"))


@dataclass(frozen=True)
class NewSessionTicket:
    """TLS 1.2 (RFC 5077): lifetime hint + ticket. TLS 1.3 (RFC 8446 §4.6.1) adds age_add, a
    nonce and extensions. TLS 1.2 tickets are resumed (client.py, server.py)."""
    msg_type: ClassVar[int] = HT.new_session_ticket
    ticket_lifetime: int
    ticket: bytes
    tls13: bool = False
    ticket_age_add: int = 0
    ticket_nonce: bytes = b""
    extensions: tuple[Extension, ...] = ()

    def encode(self) -> bytes:
        if not self.tls13:
            return self.ticket_lifetime.to_bytes(4, "big") + opaque(2, self.ticket)
        return (self.ticket_lifetime.to_bytes(4, "big") + self.ticket_age_add.to_bytes(4, "big")
                + opaque(1, self.ticket_nonce) + opaque(2, self.ticket)
                + encode_all(self.extensions))

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "NewSessionTicket":
        lifetime = r.uint(4, "ticket_lifetime")
        if ctx.version != "1.3":
            return cls(lifetime, r.opaque(2, "ticket"))
        age_add = r.uint(4, "ticket_age_add")
        nonce = r.opaque(1, "ticket_nonce")
        ticket = r.opaque(2, "ticket", 1)
        return cls(lifetime, ticket, True, age_add, nonce,
                   read_extensions(r, "new_session_ticket"))


@dataclass(frozen=True)
class KeyUpdate:
    msg_type: ClassVar[int] = HT.key_update
    request_update: int = 0      # 0 update_not_requested, 1 update_requested

    def encode(self) -> bytes:
        return u8(self.request_update)

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "KeyUpdate":
        at = r.pos
        value = r.uint8("request_update")
        if value not in (0, 1):     # RFC 8446 §4.6.3: illegal_parameter, not decode_error
            raise AlertError(AlertDescription.illegal_parameter,
                             f"KeyUpdate request_update must be 0 or 1, not {value} (offset {at})",
                             check="key_update")
        return cls(value)


@dataclass(frozen=True)
class HelloRequest:
    msg_type: ClassVar[int] = HT.hello_request

    def encode(self) -> bytes:
        return b""

    @classmethod
    def read(cls, r: Reader, ctx: Context) -> "HelloRequest":
        return cls()


# -- the two non-handshake messages of the handshake: they travel in their own record types ------
@dataclass(frozen=True)
class ChangeCipherSpec:
    """One byte, 0x01, in a change_cipher_spec record (RFC 5246 §7.1): "from my next record on,
    I protect with the keys we just agreed". In TLS 1.3 only a middlebox-compatibility dummy."""

    def encode(self) -> bytes:
        return b"\x01"

    @classmethod
    def decode(cls, data: bytes) -> "ChangeCipherSpec":
        if data != b"\x01":
            raise DecodeError("change_cipher_spec", 0, f"must be the single byte 01, not {data.hex()}")
        return cls()


@dataclass(frozen=True)
class Alert:
    """AlertLevel level (1 warning, 2 fatal) + AlertDescription description (RFC 5246 §7.2)."""
    level: int
    description: int

    def encode(self) -> bytes:
        return u8(self.level) + u8(self.description)

    @classmethod
    def decode(cls, data: bytes) -> "Alert":
        r = Reader(data)
        alert = cls(r.uint8("level"), r.uint8("description"))
        r.done("alert")
        return alert

    def __str__(self) -> str:
        from .constants import AlertDescription, name_of
        return f"{'fatal' if self.level == 2 else 'warning'} {name_of(AlertDescription, self.description)}"


MESSAGE_CLASSES = {cls.msg_type: cls for cls in (
    ClientHello, ServerHello, Certificate, ServerKeyExchange, CertificateRequest,
    ServerHelloDone, EndOfEarlyData, ClientKeyExchange, CertificateVerify, Finished, EncryptedExtensions,
    NewSessionTicket, KeyUpdate, HelloRequest)}


@dataclass(frozen=True)
class Stage:
    """What a stage function produced: the message, and the values a student wants to see
    (randoms, public values, secrets) — the same object a notebook prints and the connection sends."""
    message: object
    values: dict = field(default_factory=dict)
    context: Context = Context()

    @property
    def wire(self) -> bytes:
        return encode_handshake(self.message)

    @property
    def spans(self) -> list[Span]:
        return layout(self.wire, self.context)


def encode_handshake(msg) -> bytes:
    """Handshake header (msg_type, uint24 length) + body: the bytes that go into the transcript."""
    body = msg.encode()
    return u8(msg.msg_type) + u24(len(body)) + body


def read_handshake(r: Reader, ctx: Context):
    """Read one handshake message (header and body) from ``r``."""
    at = r.base + r.pos
    msg_type = r.uint8("msg_type")
    cls = MESSAGE_CLASSES.get(msg_type)
    if cls is None:
        raise DecodeError("msg_type", at, f"unknown handshake message type {msg_type}")
    body = r.block(3, f"{HT(msg_type).name} body")
    msg = cls.read(body, ctx)
    body.done(HT(msg_type).name)
    return msg


def decode_handshake(data: bytes, ctx: Context = Context()):
    """One complete handshake message (with its 4-byte header) -> message dataclass."""
    r = Reader(data, track=False)
    msg = read_handshake(r, ctx)
    r.done("handshake message")
    return msg


def layout(data: bytes, ctx: Context = Context()) -> list[Span]:
    """The span of every field of one handshake message: for the annotated hex view."""
    r = Reader(data)
    read_handshake(r, ctx)
    return r.spans
