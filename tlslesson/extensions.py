"""Extension codecs (RFC 6066, 8422, 8446, 7627, 5746, 7366, 8449, 7301, 5077).

An ``Extension`` keeps its raw bytes, so unknown extensions are kept and shown, never dropped.
``read_extension_body`` parses the known ones as they are read, which both validates them (a real
stack answers a malformed extension with decode_error) and records nested spans for the hex view.
``value(ext, where)`` gives the decoded value for display and for the handshake logic.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from .constants import ExtensionType, name_of
from .wire import Reader, opaque, u8, u16, uint16_list
from .errors import DecodeError

ET = ExtensionType


@dataclass(frozen=True)
class Extension:
    type: int
    data: bytes = b""
    # (where, value) as read_extensions parsed it, so value() need not parse it again; not an
    # init field, so dataclasses.replace(ext, data=...) never carries a stale value along
    parsed: tuple | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def name(self) -> str:
        return name_of(ExtensionType, self.type)

    def encode(self) -> bytes:
        return u16(self.type) + opaque(2, self.data)


@dataclass(frozen=True)
class PskIdentity:
    """RFC 8446 §4.2.11: a ticket as the client offers it, with its obfuscated age."""
    identity: bytes
    obfuscated_ticket_age: int

    def encode(self) -> bytes:
        return opaque(2, self.identity) + self.obfuscated_ticket_age.to_bytes(4, "big")


@dataclass(frozen=True)
class OfferedPsks:
    """The ClientHello's pre_shared_key: identities and, last of all, one binder per identity."""
    identities: tuple[PskIdentity, ...]
    binders: tuple[bytes, ...]

    def encode_binders(self) -> bytes:
        return opaque(2, b"".join(opaque(1, b) for b in self.binders))

    def encode(self) -> bytes:
        return opaque(2, b"".join(i.encode() for i in self.identities)) + self.encode_binders()


@dataclass(frozen=True)
class KeyShareEntry:
    group: int
    key_exchange: bytes

    def encode(self) -> bytes:
        return u16(self.group) + opaque(2, self.key_exchange)


# -- builders -----------------------------------------------------------------------------
def server_name(host: str) -> Extension:          # RFC 6066 §3: one host_name entry
    entry = u8(0) + opaque(2, host.encode("ascii"))
    return Extension(ET.server_name, opaque(2, entry))


def supported_groups(groups) -> Extension:
    return Extension(ET.supported_groups, uint16_list(2, groups))


def ec_point_formats() -> Extension:              # RFC 8422 §5.1.2: uncompressed only
    return Extension(ET.ec_point_formats, opaque(1, b"\x00"))


def signature_algorithms(schemes, cert: bool = False) -> Extension:
    return Extension(ET.signature_algorithms_cert if cert else ET.signature_algorithms,
                     uint16_list(2, schemes))


def extended_master_secret() -> Extension:        # RFC 7627: empty
    return Extension(ET.extended_master_secret)


def encrypt_then_mac() -> Extension:              # RFC 7366 §2: empty
    return Extension(ET.encrypt_then_mac)


def record_size_limit(limit: int) -> Extension:   # RFC 8449 §4: uint16 RecordSizeLimit
    return Extension(ET.record_size_limit, u16(limit))


def session_ticket(ticket: bytes = b"") -> Extension:
    """RFC 5077 §3.2: the ticket itself is the extension_data (no length of its own). Empty from
    a client: "I take tickets"; from the server (ServerHello): "NewSessionTicket will follow"."""
    return Extension(ET.session_ticket, ticket)


def renegotiation_info(renegotiated_connection: bytes = b"") -> Extension:   # RFC 5746
    return Extension(ET.renegotiation_info, opaque(1, renegotiated_connection))


def supported_versions_client(versions) -> Extension:
    return Extension(ET.supported_versions, opaque(1, b"".join(u16(v) for v in versions)))


def supported_versions_server(version: int) -> Extension:
    return Extension(ET.supported_versions, u16(version))


def key_share_client(entries) -> Extension:
    return Extension(ET.key_share, opaque(2, b"".join(e.encode() for e in entries)))


def key_share_server(entry: KeyShareEntry) -> Extension:
    return Extension(ET.key_share, entry.encode())


def key_share_retry(group: int) -> Extension:     # HelloRetryRequest names only the group
    return Extension(ET.key_share, u16(group))


def application_layer_protocol_negotiation(protocols) -> Extension:
    """RFC 7301 §3.1: ProtocolNameList protocol_name_list<2..2^16-1>, each ProtocolName
    opaque<1..2^8-1> (e.g. b"h2", b"http/1.1"). A client lists what it speaks, in its order of
    preference; a server answers with exactly one."""
    names = [p.encode("ascii") if isinstance(p, str) else bytes(p) for p in protocols]
    if not names or not all(0 < len(n) < 256 for n in names):
        raise ValueError(f"ALPN needs one or more protocol names of 1 to 255 bytes: {protocols!r}")
    return Extension(ET.application_layer_protocol_negotiation,
                     opaque(2, b"".join(opaque(1, n) for n in names)))


def psk_key_exchange_modes(modes=(1,)) -> Extension:   # 1 = psk_dhe_ke
    return Extension(ET.psk_key_exchange_modes, opaque(1, bytes(modes)))


def cookie(data: bytes) -> Extension:
    return Extension(ET.cookie, opaque(2, data))


def pre_shared_key_client(offered: OfferedPsks) -> Extension:   # RFC 8446 §4.2.11: the last one
    return Extension(ET.pre_shared_key, offered.encode())


def pre_shared_key_server(selected_identity: int) -> Extension:
    return Extension(ET.pre_shared_key, u16(selected_identity))


def early_data(max_early_data_size: int | None = None) -> Extension:
    """RFC 8446 §4.2.10: empty in ClientHello and EncryptedExtensions ("I send / I accept 0-RTT
    data"); in NewSessionTicket the uint32 max_early_data_size a ticket allows."""
    data = b"" if max_early_data_size is None else max_early_data_size.to_bytes(4, "big")
    return Extension(ET.early_data, data)


# -- parsers: each reads one extension body from a Reader ----------------------------------
def _server_name(r: Reader, where: str):
    if where != "client_hello":
        return None                                  # the server echoes it empty
    names = []
    lst = r.block(2, "server_name_list", 1)            # RFC 6066 §3: at least one entry
    while not lst.at_end():
        kind = lst.uint8("name_type")
        at = lst.base + lst.pos
        name = lst.opaque(2, "host_name", 1)
        if kind == 0:
            if names:                 # "MUST NOT contain more than one name of the same name_type"
                raise DecodeError("host_name", at, "a second host_name in server_name")
            if any(b < 0x21 or b > 0x7e for b in name):      # a DNS name: printable ASCII only
                raise DecodeError("host_name", at, "not a host name (control or non-ASCII bytes)")
            names.append(name.decode("ascii"))
    return tuple(names)


def _groups(r: Reader, where: str):
    return r.uint16_list(2, "named_group_list", "group", 2)


def _point_formats(r: Reader, where: str):
    return r.opaque(1, "ec_point_format_list", 1)


def _sig_algs(r: Reader, where: str):
    return r.uint16_list(2, "supported_signature_algorithms", "scheme", 2)


def _renegotiation(r: Reader, where: str):
    return r.opaque(1, "renegotiated_connection")


def _versions(r: Reader, where: str):
    if where == "client_hello":
        sub = r.block(1, "versions", 2)
        out = []
        while not sub.at_end():
            out.append(sub.uint16("version"))
        return tuple(out)
    return r.uint16("selected_version")


def _key_share_entry(r: Reader) -> KeyShareEntry:
    group = r.uint16("group")
    return KeyShareEntry(group, r.opaque(2, "key_exchange", 1))


def _key_share(r: Reader, where: str):
    if where == "client_hello":
        sub = r.block(2, "client_shares")
        out = []
        while not sub.at_end():
            out.append(_key_share_entry(sub))
        return tuple(out)
    if where == "hello_retry_request":
        return r.uint16("selected_group")
    return _key_share_entry(r)


def _alpn(r: Reader, where: str):
    """RFC 7301 §3.1: a list of one or more non-empty names (the server's answer is checked to
    hold exactly one by the client, which then knows what it offered)."""
    names = []
    lst = r.block(2, "protocol_name_list", 2)     # <2..2^16-1>: at least one name
    while not lst.at_end():
        names.append(lst.opaque(1, "ProtocolName", 1))    # <1..2^8-1>: never empty
    return tuple(names)


def _psk_modes(r: Reader, where: str):
    return r.opaque(1, "ke_modes", 1)


def _cookie(r: Reader, where: str):
    return r.opaque(2, "cookie", 1)


def _pre_shared_key(r: Reader, where: str):
    if where != "client_hello":
        return r.uint16("selected_identity")
    ids = r.block(2, "identities", 7)
    identities = []
    while not ids.at_end():
        identities.append(PskIdentity(ids.opaque(2, "identity", 1),
                                      ids.uint(4, "obfuscated_ticket_age")))
    sub = r.block(2, "binders", 33)
    binders = []
    while not sub.at_end():
        binders.append(sub.opaque(1, "binder", 32))
    return OfferedPsks(tuple(identities), tuple(binders))


def _early_data(r: Reader, where: str):
    if where == "new_session_ticket":
        return r.uint(4, "max_early_data_size")
    return True


def _record_size_limit(r: Reader, where: str):
    return r.uint16("record_size_limit")


def _session_ticket(r: Reader, where: str):
    if where == "client_hello":
        return r.rest("ticket")           # empty: no ticket yet, but send me one
    if r.at_end():
        return True
    raise DecodeError("session_ticket", r.base + r.pos,          # RFC 5077 §3.2: the server's
                      "the server's session_ticket extension must be empty")   # is empty


def _empty(r: Reader, where: str):
    return True


PARSERS = {
    ET.server_name: _server_name,
    ET.supported_groups: _groups,
    ET.ec_point_formats: _point_formats,
    ET.signature_algorithms: _sig_algs,
    ET.signature_algorithms_cert: _sig_algs,
    ET.extended_master_secret: _empty,
    ET.encrypt_then_mac: _empty,
    ET.record_size_limit: _record_size_limit,
    ET.renegotiation_info: _renegotiation,
    ET.session_ticket: _session_ticket,
    ET.supported_versions: _versions,
    ET.key_share: _key_share,
    ET.psk_key_exchange_modes: _psk_modes,
    ET.application_layer_protocol_negotiation: _alpn,
    ET.cookie: _cookie,
    ET.pre_shared_key: _pre_shared_key,
    ET.early_data: _early_data,
}


@functools.lru_cache(maxsize=1024)              # bounded: GREASE and unknown types too
def _labels(ext_type: int) -> tuple[str, str]:
    """("key_share", "key_share extension_data"): the names errors and the hex view use, made
    once per type rather than once per extension read."""
    label = name_of(ExtensionType, ext_type)
    return label, f"{label} extension_data"


def read_extensions(r: Reader, where: str, name: str = "extensions") -> tuple[Extension, ...]:
    """Read ``Extension extensions<0..2^16-1>``; parse the known ones; refuse duplicates."""
    block = r.block(2, name)
    seen, out = set(), []
    while not block.at_end():
        at = block.base + block.pos
        ext_type = block.uint16("extension_type")
        label, data_label = _labels(ext_type)
        body = block.block(2, data_label)
        if ext_type in seen:   # RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type"
            raise DecodeError(label, at, "the same extension appears twice")
        seen.add(ext_type)
        data = body.data[body.pos:body.end]
        parser = PARSERS.get(ext_type)
        extension = Extension(ext_type, data)
        if parser is not None and (data or ext_type != ET.server_name):  # SH echoes it empty
            object.__setattr__(extension, "parsed", (where, parser(body, where)))
            body.done(label)
        out.append(extension)
    return tuple(out)


def value(ext: Extension, where: str) -> Any:
    """The decoded value of a known extension (raw bytes for an unknown one)."""
    if ext.parsed is not None and ext.parsed[0] == where:
        return ext.parsed[1]
    parser = PARSERS.get(ext.type)
    if parser is None:
        return ext.data
    if not ext.data and ext.type == ET.server_name:
        return None
    return parser(Reader(ext.data, track=False), where)


def find(extensions, ext_type: int) -> Extension | None:
    for ext in extensions:
        if ext.type == ext_type:
            return ext
    return None


def encode_all(extensions) -> bytes:
    return opaque(2, b"".join(e.encode() for e in extensions))
