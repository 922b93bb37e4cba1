"""The widgets' models: plain Python, no ipywidgets, no matplotlib, testable without a browser.

Each model runs the package's real handshake (``connection.handshake``) and exposes what a view
shows. The views in ``widgets.py`` only read these objects and call their methods.

* ``ExplorerModel`` — one whole handshake, message by message: the bytes of each message, the
  fields in it, and the intermediate values (randoms, secrets, keys) that exist at that point.
* ``TamperModel`` — flip one bit of one record in flight and see which check catches it.
* ``SuiteModel`` — a cipher-suite name taken apart, one sentence per part.

LESSON-ONLY: the handshakes here use ``lesson_rng`` (randoms and ephemeral keys from a named
seed) so a notebook shows the same bytes on every run. A real TLS stack uses fresh randomness.

>>> m = ExplorerModel(version="1.2", suite="ECDHE-RSA-AES128-GCM-SHA256")
>>> [s.name for s in m.steps][:3]
['ClientHello', 'ServerHello', 'Certificate']
>>> m.forward(); m.current.name
'ServerHello'
>>> list(m.values_so_far())
['client_random', 'server_random', 'extended_master_secret']
"""
from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from .. import connection, messages, pki
from ..constants import (
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV,
    AlertDescription,
    AlertLevel,
    ContentType,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
    name_of,
)
from ..errors import CertificateError, DecodeError, TLSError
from ..record import protected_layout
from ..rng import lesson_rngs
from .configs import lesson_client, lesson_server
from .meanings import meaning
from ..suites import BY_CODE, SUITES, iana_name, TLS12_SUITES, TLS13_SUITES, CipherSuite
from ..suites import get as get_suite

VERSIONS = ("1.2", "1.3")
DEFAULT_SUITE = {"1.2": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "1.3": "TLS_AES_128_GCM_SHA256"}
DEFAULT_SEED = "tls-lesson"
RECORD_HEADER = 5


# =================================================================================================
# Running a handshake for a set of choices (cached: the explorer must react in milliseconds)
# =================================================================================================
def suites_for(version: str) -> tuple[CipherSuite, ...]:
    """The cipher suites this package implements for ``version`` ("1.2" or "1.3")."""
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {VERSIONS}, not {version!r}")
    return TLS12_SUITES if version == "1.2" else TLS13_SUITES


def configs(version: str = "1.2", suite: str | CipherSuite | None = None,
            client_auth: bool = False, ems: bool = True, seed: str = DEFAULT_SEED, rng=None):
    """(ClientConfig, ServerConfig) for one lesson handshake.

    The client offers every suite of ``version`` (the chosen one first), as a real client offers
    many; the server accepts only the chosen one, so that is what gets negotiated. Client and
    server draw from two different lesson seeds (``<seed>/client``, ``<seed>/server``): with one
    shared seed both would pick the *same* random and the same ephemeral key.
    ``rng="system"`` uses fresh randomness instead (for timing runs)."""
    chosen = get_suite(suite or DEFAULT_SUITE[version])
    if chosen.version != version:
        raise ValueError(f"{chosen.name} is a TLS {chosen.version} suite, not TLS {version}")
    offer = (chosen,) + tuple(s for s in suites_for(version) if s is not chosen)
    lesson = pki.lesson_pki()
    if rng == "system":
        from ..rng import SystemRandom
        crng, srng = SystemRandom(), SystemRandom()
    else:
        crng, srng = lesson_rngs(seed)
    client = lesson_client(versions=(version,), suites=offer, ems=ems, rng=crng,
                           identity=lesson.client if client_auth else None)
    server = lesson_server(versions=(version,), suites=(chosen,), ems=ems, rng=srng,
                           client_ca=lesson.trusted if client_auth else None)
    return client, server


def run_handshake(version: str = "1.2", suite: str | CipherSuite | None = None,
                  client_auth: bool = False, ems: bool = True, seed: str = DEFAULT_SEED,
                  tamper=None) -> connection.Handshake:
    """One in-memory handshake for these choices (``tamper`` as in ``connection.handshake``)."""
    client, server = configs(version, suite, client_auth, ems, seed)
    return connection.handshake(client, server, tamper=tamper)


@functools.lru_cache(maxsize=64)
def _cached_handshake(version: str, suite: str, client_auth: bool, ems: bool,
                      seed: str) -> connection.Handshake:
    result = run_handshake(version, suite, client_auth, ems, seed)
    if not result.ok:
        raise TLSError(f"the lesson handshake failed: {result.error}")
    return result


# =================================================================================================
# Fields of one message (for the hex view)
# =================================================================================================
class Field(NamedTuple):
    """One field of a message: ``data[offset:offset + length]`` is ``name``."""
    name: str
    offset: int
    length: int
    value: str          # decoded where that helps ("x25519", "TLS 1.2 (0x0303)"), else hex
    depth: int = 0
    leaf: bool = True   # False for a block whose parts are listed after it
    meaning: str = ""   # what the field is for, one line with its RFC section (meanings.py)


_VERSION_NAMES = {ProtocolVersion.TLS10: "TLS 1.0", ProtocolVersion.TLS11: "TLS 1.1",
                  ProtocolVersion.TLS12: "TLS 1.2", ProtocolVersion.TLS13: "TLS 1.3"}


def _u(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def _version(raw: bytes) -> str:
    v = _u(raw)
    return f"{_VERSION_NAMES.get(v, 'unknown')} (0x{v:04x})"


def _suite_name(raw: bytes) -> str:
    code = _u(raw)
    if code == TLS_EMPTY_RENEGOTIATION_INFO_SCSV:
        return "TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00ff)"
    suite = BY_CODE.get(code)
    if suite is not None:
        return f"{suite.name} (0x{code:04x})"
    name = iana_name(code)           # a suite we don't implement, GREASE (RFC 8701) or unknown
    return f"unknown (0x{code:04x})" if name.startswith("unknown") else f"{name} (0x{code:04x})"


def _enum(enum_cls):
    return lambda raw: f"{name_of(enum_cls, _u(raw))} ({_u(raw)})"


_DECODERS: dict[str, Callable[[bytes], str]] = {
    "msg_type": _enum(HandshakeType),
    "content_type": _enum(ContentType),
    "legacy_version": _version, "legacy_record_version": _version, "version": _version,
    "selected_version": _version,
    "cipher_suite": _suite_name,
    "group": _enum(NamedGroup), "named_curve": _enum(NamedGroup),
    "scheme": _enum(SignatureScheme), "signature_scheme": _enum(SignatureScheme),
    "extension_type": _enum(ExtensionType),
    "host_name": lambda raw: repr(raw.decode("ascii", "replace")),
    "name_type": lambda raw: {0: "host_name (0)"}.get(raw[0], f"unknown ({raw[0]})"),
    "curve_type": lambda raw: {3: "named_curve (3)"}.get(raw[0], f"unknown ({raw[0]})"),
    "ke_modes": lambda raw: ", ".join({0: "psk_ke (0)", 1: "psk_dhe_ke (1)"}.get(b, f"unknown ({b})")
                                      for b in raw),
    "legacy_compression_methods": lambda raw: ", ".join("null (0)" if b == 0 else f"{b}" for b in raw),
    "legacy_compression_method": lambda raw: "null (0)" if raw == b"\x00" else raw.hex(),
    "ec_point_format_list": lambda raw: ", ".join({0: "uncompressed (0)"}.get(b, f"{b}") for b in raw),
    "certificate_types": lambda raw: ", ".join({1: "rsa_sign (1)", 2: "dss_sign (2)",
                                                64: "ecdsa_sign (64)"}.get(b, f"{b}") for b in raw),
    "alert level": _enum(AlertLevel), "alert description": _enum(AlertDescription),
}


def field_value(name: str, raw: bytes) -> str:
    """A field's value as a student wants to read it: names for registry numbers, numbers for
    lengths, text for host names, hex for everything else."""
    if name.endswith(" length") or name == "length":
        return str(_u(raw))
    decoder = _DECODERS.get(name)
    if decoder is not None and raw:
        try:
            return decoder(raw)
        except Exception:       # a tampered byte may make it undecodable: show the hex
            pass
    return raw.hex()


def _with_leaves(spans) -> list:
    """(span, is_leaf) pairs: a leaf contains no deeper span (a block's items come after it)."""
    out = []
    for i, s in enumerate(spans):
        inner = any(t.depth > s.depth and s.start <= t.start and t.end <= s.end
                    and not (t.start == t.end == s.end > s.start)   # an empty field just after
                    for t in spans[i + 1:])                         # s is not inside it
        out.append((s, not inner))
    return out


def message_fields(step: connection.Step) -> list[Field]:
    """The fields of the message a step carries (the plaintext ``step.wire``).

    Handshake messages are laid out by ``messages.layout`` (the same reader that decodes them);
    ChangeCipherSpec, alerts and application data get a small fixed layout."""
    version = getattr(step.context, "version", None)
    return [f._replace(meaning=meaning(f.name, step.name, version))
            for f in _message_fields(step)]


def _message_fields(step: connection.Step) -> list[Field]:
    wire = step.wire
    if step.name == "ChangeCipherSpec":
        return [Field("change_cipher_spec", 0, len(wire),
                      "01 (change_cipher_spec)" if wire == b"\x01" else wire.hex())]
    if step.name == "Alert":
        if len(wire) == 2:
            return [Field("alert level", 0, 1, field_value("alert level", wire[:1])),
                    Field("alert description", 1, 1, field_value("alert description", wire[1:]))]
        return [Field("alert (malformed)", 0, len(wire), wire.hex())]
    if step.message is None:
        return [Field("application_data", 0, len(wire), wire.hex())]
    return layout_fields(wire, step.context, step.name)


def layout_fields(wire: bytes, context: messages.Context | None = None,
                  message: str | None = None) -> list[Field]:
    """The fields of one handshake message's bytes (``messages.layout``), each with its decoded
    value and what it is for (``meanings.py``). ``message`` ("Certificate", ...) defaults to the
    name its msg_type byte gives; ``context`` (which version, which key exchange) to TLS 1.2."""
    context = context or messages.Context()
    if message is None and wire:
        message = _message_name(wire[0])
    try:
        spans = messages.layout(wire, context)
    except TLSError as error:
        return [Field(f"undecodable: {error}", 0, len(wire), wire.hex())]
    return [Field(s.name, s.start, s.length,
                  field_value(s.name, wire[s.start:s.end]) if leaf else f"{s.length} bytes",
                  s.depth, leaf,
                  meaning(s.name, message, context.version))
            for s, leaf in _with_leaves(spans)]


def _message_name(msg_type: int) -> str:
    """HandshakeType 1 -> "ClientHello" (the names Step.name uses)."""
    try:
        return "".join(part.capitalize() for part in HandshakeType(msg_type).name.split("_"))
    except ValueError:
        return ""


def record_fields(step: connection.Step, suite: CipherSuite | None,
                  record: bytes | None = None) -> list[Field]:
    """The fields of the record as it went over the wire (``step.record``): the 5-byte header,
    then either the message's own fields (plaintext record) or the protected fragment's parts
    (explicit nonce / IV, ciphertext, tag). Offsets are into the record: this is what the tamper
    lab flips."""
    rec = step.record if record is None else record
    header = [Field(name, start, n, field_value(name, rec[start:start + n]), meaning=meaning(name))
              for name, start, n in (("content_type", 0, 1), ("legacy_record_version", 1, 2),
                                     ("length", 3, 2))]
    body = len(rec) - RECORD_HEADER
    if not step.protected:
        inner = [f._replace(offset=f.offset + RECORD_HEADER, depth=f.depth + 1)
                 for f in message_fields(step)]
        return header + [Field("fragment (plaintext)", RECORD_HEADER, body, "", 0, False,
                               meaning("fragment (plaintext)"))] + inner

    parts = [Field("fragment (encrypted)", RECORD_HEADER, body, "", 0, False,
                   meaning("fragment (encrypted)"))]
    for name, start, length in protected_layout(suite, body, step.context.version,
                                                at=RECORD_HEADER, etm=step.context.etm):
        parts.append(Field(name, start, length, rec[start:start + length].hex(), 1,
                           meaning=meaning(name)))
    return header + parts


def field_at(fields: list[Field], offset: int) -> Field | None:
    """The innermost (leaf) field containing byte ``offset``."""
    best = None
    for f in fields:
        if f.offset <= offset < f.offset + f.length and (best is None or f.depth >= best.depth):
            best = f
    return best


# =================================================================================================
# Which intermediate value exists after which message: recorded by the run itself (Step.values)
# =================================================================================================
VALUE_NOTES = {
    "client_random": "32 bytes the client chose; mixed into every key, so each session differs",
    "server_random": "32 bytes the server chose (TLS 1.2: an input to the key block, and to the "
                     "master secret: directly without EMS, through the session hash with EMS, "
                     "RFC 7627 §4)",
    "extended_master_secret": "both sides agreed on RFC 7627: the master secret covers the "
                              "session hash",
    "resumption": "TLS 1.2: whether the session offered was resumed (by session ID or ticket), "
                  "or why it was not",
    "ticket": "RFC 5077: the server's session state, sealed with its ticket key; the client "
              "brings it back in session_ticket",
    "ticket_lifetime_hint": "seconds the client may keep the ticket (0: not specified)",
    "group": "the (EC)DH group the key exchange uses",
    "server_public": "the server's ephemeral public value (signed in ServerKeyExchange)",
    "client_public": "the client's ephemeral public value (TLS 1.2 ClientKeyExchange)",
    "pre_master_secret": "the shared secret from the key exchange: RSA-encrypted random, or the "
                         "(EC)DH result",
    "session_hash": "hash of the handshake up to ClientKeyExchange (EMS only)",
    "master_secret": "48 bytes from the PRF: everything else is derived from it",
    "client_write_mac_key": "HMAC key for the client's records (CBC suites only)",
    "server_write_mac_key": "HMAC key for the server's records (CBC suites only)",
    "client_write_key": "cipher key for records the client sends",
    "server_write_key": "cipher key for records the server sends",
    "client_write_iv": "implicit IV / nonce salt for the client's records (AEAD suites)",
    "server_write_iv": "implicit IV / nonce salt for the server's records (AEAD suites)",
    "client_verify_data": "the client's Finished: proves it saw the same handshake and holds "
                          "the keys",
    "server_verify_data": "the server's Finished: the same proof the other way",
    "client_share": "the client's key_share public value (sent in ClientHello)",
    "server_share": "the server's key_share public value (sent in ServerHello)",
    "shared_secret": "the (EC)DHE result: the input to the handshake secret",
    "early_secret": "HKDF-Extract(0, PSK or zeros): the root of the key schedule",
    "handshake_secret": "HKDF-Extract(derived, (EC)DHE shared secret)",
    "client_handshake_traffic_secret": "protects the client's handshake messages",
    "server_handshake_traffic_secret": "protects the server's handshake messages "
                                       "(EncryptedExtensions onwards)",
    "client_handshake_key": "AEAD key from the client handshake traffic secret",
    "client_handshake_iv": "AEAD IV from the client handshake traffic secret",
    "server_handshake_key": "AEAD key from the server handshake traffic secret",
    "server_handshake_iv": "AEAD IV from the server handshake traffic secret",
    "master_secret (1.3)": "HKDF-Extract(derived, zeros)",
    "client_application_traffic_secret_0": "protects the client's application data",
    "server_application_traffic_secret_0": "protects the server's application data",
    "exporter_master_secret": "for keying material exporters (RFC 5705/8446 §7.5)",
    "client_application_key": "AEAD key for the client's application data",
    "client_application_iv": "AEAD IV for the client's application data",
    "server_application_key": "AEAD key for the server's application data",
    "server_application_iv": "AEAD IV for the server's application data",
    "resumption_master_secret": "for session tickets (resumption); computed, not used here",
}


def _flattened(values: dict) -> dict[str, object]:
    """The key block spread out into its six keys; the schedule object left out (its secrets
    are shown one by one as they are derived)."""
    out = {}
    for name, value in values.items():
        if name == "key_block":
            out.update(vars(value))
        elif name != "schedule":
            out[name] = value
    return out


def handshake_values(result: connection.Handshake) -> dict[str, object]:
    """Every value the two sides computed, flattened: key block spread out."""
    values: dict[str, object] = {}
    values.update(_flattened(result.server.values))
    values.update(_flattened(result.client.values))   # the client's view wins (same values)
    return values


def values_by_step(result: connection.Handshake) -> list[dict[str, object]]:
    """For each message of ``result.steps``: the values the sender showed when sending it and
    the receiver showed when handling it (each side logs every message it sent or received,
    with the values it brought into being: ``Step.values``)."""
    merged = [_flattened(step.values) for step in result.steps]
    for receiver in (result.client, result.server):
        received = iter(s for s in receiver.log if s.sender != receiver.role)
        at = 0
        for step in received:          # pair each received message with the one that was sent
            while at < len(result.steps) and (result.steps[at].sender == receiver.role or
                                              (result.steps[at].name, result.steps[at].wire)
                                              != (step.name, step.wire)):
                at += 1
            if at == len(result.steps):
                break
            merged[at].update(_flattened(step.values))
            at += 1
    return merged


# =================================================================================================
# The models
# =================================================================================================
class _HandshakeChoices:
    """Shared by the explorer and the tamper lab: the choices and the handshake they give."""

    def __init__(self, version: str = "1.2", suite: str | None = None, client_auth: bool = False,
                 ems: bool = True, seed: str = DEFAULT_SEED):
        self._listeners: list[Callable[[object], None]] = []
        self.version, self.suite = version, None
        self.client_auth, self.ems, self.seed = bool(client_auth), bool(ems), seed
        self._apply(version=version, suite=suite)

    # -- choices --------------------------------------------------------------------------------
    @staticmethod
    def versions() -> tuple[str, ...]:
        return VERSIONS

    def choices(self, version: str | None = None) -> list[str]:
        """IANA names of the suites available for ``version`` (default: the current one)."""
        return [s.name for s in suites_for(version or self.version)]

    def set(self, **choices) -> None:
        """Change any of version, suite, client_auth, ems, seed and recompute the handshake.
        Changing the version picks that version's default suite unless a suite is given."""
        unknown = set(choices) - {"version", "suite", "client_auth", "ems", "seed"}
        if unknown:
            raise TypeError(f"unknown choice(s): {', '.join(sorted(unknown))}")
        self._apply(**choices)
        for listener in list(self._listeners):
            listener(self)

    def on_change(self, callback: Callable[[object], None]) -> None:
        """Call ``callback(model)`` after every change (the view redraws from it)."""
        self._listeners.append(callback)

    def _apply(self, version=None, suite=None, client_auth=None, ems=None, seed=None) -> None:
        version = self.version if version is None else version
        suites_for(version)                                      # validates
        if suite is None:
            current = self.suite
            suite = current if current is not None and get_suite(current).version == version \
                else DEFAULT_SUITE[version]
        chosen = get_suite(suite)
        if chosen.version != version:
            raise ValueError(f"{chosen.name} is a TLS {chosen.version} suite; "
                             f"choose one of {self.choices(version)}")
        self.version, self.suite = version, chosen.name
        if client_auth is not None:
            self.client_auth = bool(client_auth)
        if ems is not None:
            self.ems = bool(ems)
        if seed is not None:
            self.seed = seed
        self.handshake = _cached_handshake(self.version, self.suite, self.client_auth,
                                           self.ems, self.seed)
        self.steps: list[connection.Step] = list(self.handshake.steps)
        self.values = handshake_values(self.handshake)
        self.step_values = values_by_step(self.handshake)
        self._on_recompute()

    def _on_recompute(self) -> None:
        pass

    @property
    def cipher_suite(self) -> CipherSuite:
        return get_suite(self.suite)

    @property
    def key(self) -> tuple:
        """The choice tuple: what the handshake (and any cached drawing) depends on."""
        return (self.version, self.suite, self.client_auth, self.ems, self.seed)

    def ladder_rows(self) -> list[tuple[str, str, bool, int]]:
        """(sender, name, protected, record bytes) per message: what the ladder diagram draws."""
        return [(s.sender, s.name, s.protected, len(s.record)) for s in self.steps]


class ExplorerModel(_HandshakeChoices):
    """A whole handshake to step through, message by message.

    ``steps`` (every message in order), ``position`` and ``current``; ``forward()``, ``back()``,
    ``goto(i)``; ``fields()`` of the current message; ``values_so_far()``; ``set(suite=...)``."""

    def __init__(self, version: str = "1.2", suite: str | None = None, client_auth: bool = False,
                 ems: bool = True, seed: str = DEFAULT_SEED):
        self.position = 0
        super().__init__(version, suite, client_auth, ems, seed)

    def _on_recompute(self) -> None:
        # Stay on "the same" message if the new handshake has it (e.g. the server's Finished).
        old = getattr(self, "_where", None)
        self.position = min(self.position, len(self.steps) - 1)
        if old is not None:
            for i, s in enumerate(self.steps):
                if (s.sender, s.name) == old:
                    self.position = i
                    break
        self._where = (self.current.sender, self.current.name)

    # -- stepping ---------------------------------------------------------------------------------
    @property
    def current(self) -> connection.Step:
        return self.steps[self.position]

    @property
    def at_start(self) -> bool:
        return self.position == 0

    @property
    def at_end(self) -> bool:
        return self.position == len(self.steps) - 1

    def goto(self, index: int) -> None:
        if not -len(self.steps) <= index < len(self.steps):
            raise IndexError(f"step {index} out of range 0..{len(self.steps) - 1}")
        self.position = index % len(self.steps)
        self._where = (self.current.sender, self.current.name)
        for listener in list(self._listeners):
            listener(self)

    def forward(self) -> None:
        """Next message (stays on the last one)."""
        if not self.at_end:
            self.goto(self.position + 1)

    def back(self) -> None:
        """Previous message (stays on the first one)."""
        if not self.at_start:
            self.goto(self.position - 1)

    # -- what the current message holds -----------------------------------------------------------
    def fields(self, index: int | None = None) -> list[Field]:
        """(name, offset, length, value, depth, leaf) for every field of the message (its
        plaintext bytes, ``current.wire``): the legend of the hex view."""
        return message_fields(self.steps[self.position if index is None else index])

    def record_fields(self, index: int | None = None) -> list[Field]:
        """Fields of the record as sent on the wire (header + plaintext or protected parts)."""
        return record_fields(self.steps[self.position if index is None else index],
                             self.cipher_suite)

    def describe(self, index: int | None = None) -> str:
        """One line: "3/10 server -> client: ServerKeyExchange (305 bytes on the wire, plaintext)"."""
        i = self.position if index is None else index
        s = self.steps[i]
        to = "client" if s.sender == "server" else "server"
        how = "encrypted" if s.protected else "plaintext"
        return (f"{i + 1}/{len(self.steps)} {s.sender} -> {to}: {s.name} "
                f"({len(s.record)} bytes on the wire, {how})")

    def note(self, index: int | None = None) -> str:
        """One sentence on what the message at ``index`` (default: the current one) does."""
        from .meanings import step_note
        return step_note(self.steps[self.position if index is None else index].name, self.version)

    def values_so_far(self, index: int | None = None) -> OrderedDict[str, object]:
        """The intermediate values that exist once message ``index`` (default: the current one)
        has been sent, in the order they came into being. Bytes, or a bool/str for a few."""
        i = self.position if index is None else index
        out: OrderedDict[str, object] = OrderedDict()
        for values in self.step_values[:i + 1]:
            for name, value in values.items():
                if name in VALUE_NOTES and value is not None and value != b"":
                    out.setdefault(name, value)
        return out

    def value_notes(self) -> dict[str, str]:
        """A one-line explanation for each value name (for the values table)."""
        notes = dict(VALUE_NOTES)
        if self.version == "1.3":
            notes["master_secret"] = VALUE_NOTES["master_secret (1.3)"]
        return notes


class CaptureExplorerModel(ExplorerModel):
    """The explorer on a connection the package did not make: a ``capture.CaptureConnection``
    (``open_capture(...)[n]``) or anything with its ``steps``, ``version`` and ``suite``. The
    steps are what the capture held, so the choices are fixed (``fixed``; ``set`` refuses);
    stepping, fields, records and values work as on a lesson handshake.

    >>> from tlslesson.capture import open_capture, sample_capture
    >>> m = CaptureExplorerModel(open_capture(*sample_capture())[0])
    >>> m.current.name, m.version, len(m.steps) > 10
    ('ClientHello', '1.3', True)
    """
    fixed = True

    def __init__(self, connection):
        self._listeners: list[Callable[[object], None]] = []
        self.position = 0
        self.connection = connection
        self.version = connection.version if connection.version in VERSIONS else "1.2"
        suite = getattr(connection, "suite", None)
        self.suite = suite.name if suite is not None else DEFAULT_SUITE[self.version]
        self.client_auth = bool(getattr(connection, "client_certificate", False))
        self.ems = any(s.values.get("extended_master_secret") for s in connection.steps)
        self.seed = f"capture connection {getattr(connection, 'number', 0)}"
        self.handshake = None
        self.steps = list(connection.steps)
        if not self.steps:
            raise ValueError("this connection has no TLS messages to explore")
        self.step_values = [dict(s.values) for s in self.steps]
        self.values = {k: v for values in self.step_values for k, v in values.items()}
        self._on_recompute()

    def choices(self, version: str | None = None) -> list[str]:
        return [self.suite]

    def set(self, **choices) -> None:
        raise ValueError("a captured handshake is what it was: its version and suite cannot change")

    @property
    def key(self) -> tuple:
        return ("capture", id(self.connection))


# -------------------------------------------------------------------------------------------------
class Target(NamedTuple):
    index: int          # step index in the untampered handshake
    name: str           # message name
    length: int         # bytes in its record (what you can flip: 0 .. length-1)
    sender: str


@dataclass(frozen=True)
class TamperResult:
    """What happened when one byte of one record was flipped in flight."""
    completed: bool                 # did the handshake still complete?
    failed_check: str               # which check caught it, in words ("" if none)
    alert: str | None               # the alert sent ("bad_record_mac"), None if none
    detected_by: str | None         # "client" or "server" (None if nobody noticed)
    message: str | None             # the message being processed when the check failed
    target: str = ""                # what was flipped: "ClientHello byte 11 (random)"
    reason: str = ""                # the error's own words
    explanation: str = ""           # one or two sentences for the student
    steps: tuple = field(default=(), repr=False)   # the tampered run, for a ladder
    error: object = field(default=None, repr=False)
    original: bytes = field(default=b"", repr=False)   # the record as the sender sent it
    tampered: bytes = field(default=b"", repr=False)   # ... and as the receiver got it

    def summary(self) -> str:
        if self.completed:
            return f"{self.target}: handshake completed — nothing noticed the change"
        if self.alert is None:
            return f"{self.target}: {self.failed_check}"
        return (f"{self.target}: failed at {self.failed_check} with alert {self.alert} "
                f"(detected by {self.detected_by})")

    def __str__(self) -> str:
        return self.summary()


# check (``TLSError.check``) -> (the check in words, a sentence for the student)
CHECKS = {
    "record_mac": ("record MAC/AEAD tag",
                   "the record did not decrypt and authenticate: either its own bytes changed, or "
                   "the two sides derived different keys because an earlier message they both "
                   "hashed was changed."),
    "finished": ("Finished verify_data",
                 "the two sides saw different handshake transcripts: Finished is a MAC over "
                 "every handshake message, so any change to an earlier message shows up here."),
    "ske_signature": ("signature (ServerKeyExchange)",
                      "the signature in ServerKeyExchange does not verify: it covers both randoms "
                      "and the key-exchange parameters."),
    "certificate_verify": ("signature (CertificateVerify)",
                           "the signature in CertificateVerify does not verify: it covers the "
                           "handshake transcript."),
    "state": ("message order (state machine)",
              "the receiver got a message its current state does not accept."),
    "change_cipher_spec": ("ChangeCipherSpec",
                           "a ChangeCipherSpec record holds exactly one byte, 1, and only where "
                           "the handshake expects it; anything else is unexpected_message."),
    "downgrade_sentinel": ("downgrade sentinel",
                           "ServerHello.random ends in the bytes a TLS 1.3 server puts there when "
                           "it answers with TLS 1.2: someone removed TLS 1.3 from the offer."),
    "extended_master_secret": ("extended master secret on resumption (RFC 7627 §5.3)",
                               "a session resumes only as it was made: with an extended master "
                               "secret on both sides, or — a legacy insecure resumption — "
                               "without it on both."),
    "resumption": ("resumed session",
                   "the server resumed the session with other parameters than the session's "
                   "(its cipher suite)."),
}


def failed_check(error: TLSError, suite: CipherSuite | None = None) -> tuple[str, str]:
    """(the check in words, a sentence explaining it) for an error from a handshake, chosen by
    the error's ``check`` — never by its message text."""
    reason = getattr(error, "reason", "") or str(error)
    check = getattr(error, "check", "")
    if check.startswith("certificate:"):
        return (f"certificate chain ({check.split(':', 1)[1]})",
                "the certificate no longer passes validation: its signed part (the "
                "TBSCertificate, RFC 5280 §4.1.1.3) is covered by the issuer's signature, and a "
                "changed signature no longer verifies, so any change is caught.")
    if isinstance(error, DecodeError):
        if error.field.startswith("record"):
            return (f"record header ({error.field})",
                    "the record header no longer parses: the receiver gives up on the stream.")
        return (f"decode ({error.field})",
                "the message no longer parses: a length or a value is impossible, so the "
                "receiver rejects it before any cryptographic check.")
    if check in CHECKS:
        words, sentence = CHECKS[check]
        if check == "record_mac" and suite is not None and not suite.aead:
            sentence = sentence[:-1] + " (CBC: padding + HMAC, MAC-then-encrypt)."
        return words, sentence
    alert = getattr(error, "alert", None)
    return (check.replace("_", " ") if check else (alert.name if alert else
                                                   type(error).__name__), reason)


class TamperModel(_HandshakeChoices):
    """Flip a bit in one record of a handshake and see which check catches it.

    >>> lab = TamperModel("1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    >>> r = lab.flip(lab.index_of("Finished", "server"), 10)
    >>> r.failed_check, r.alert, r.detected_by
    ('record MAC/AEAD tag', 'bad_record_mac', 'client')
    """

    def targets(self) -> list[Target]:
        """Every message of the untampered handshake: (step index, name, record length, sender)."""
        return [Target(i, s.name, len(s.record), s.sender) for i, s in enumerate(self.steps)]

    def index_of(self, name: str, sender: str | None = None) -> int:
        """Step index of the first ``name`` message (sent by ``sender`` if given)."""
        for i, s in enumerate(self.steps):
            if s.name == name and (sender is None or s.sender == sender):
                return i
        raise KeyError(f"no {name} from {sender or 'either side'} in this handshake")

    def record_fields(self, step_index: int) -> list[Field]:
        return record_fields(self.steps[step_index], self.cipher_suite)

    def field_at(self, step_index: int, byte_offset: int) -> Field | None:
        """The record field that byte ``byte_offset`` of that record belongs to."""
        return field_at(self.record_fields(step_index), byte_offset)

    def offset_of(self, step_index: int, field_name: str) -> int:
        """Record offset of the first byte of the field called ``field_name`` (e.g. "random")."""
        for f in self.record_fields(step_index):
            if f.name == field_name and f.length:
                return f.offset
        raise KeyError(f"no field {field_name!r} in {self.steps[step_index].name}")

    def flip(self, step_index: int, byte_offset: int, mask: int = 0x01) -> TamperResult:
        """Rerun the handshake, XOR-ing ``mask`` into byte ``byte_offset`` of the record that
        carries step ``step_index`` (offsets count from the record header's first byte)."""
        step = self.steps[step_index]
        if not 0 <= byte_offset < len(step.record):
            raise IndexError(f"{step.name}'s record has {len(step.record)} bytes; "
                             f"offset {byte_offset} is outside it")
        if not 1 <= mask <= 0xFF:
            raise ValueError("mask must flip at least one bit of one byte (1..255)")
        where = self.field_at(step_index, byte_offset)
        target = (f"{step.sender} {step.name} byte {byte_offset}"
                  + (f" ({where.name})" if where else ""))
        calls = {"n": 0, "last": None, "original": b"", "tampered": b""}

        def tamper(s, record):
            n = calls["n"]
            calls["n"], calls["last"] = n + 1, s
            if n == step_index:
                if (s.sender, s.name) != (step.sender, step.name):   # pragma: no cover
                    raise RuntimeError("the rerun diverged before the tampered message")
                b = bytearray(record)
                b[byte_offset] ^= mask
                calls["original"], calls["tampered"] = record, bytes(b)
                return bytes(b)
            return record

        run = run_handshake(self.version, self.suite, self.client_auth, self.ems, self.seed,
                            tamper=tamper)
        records = {"original": calls["original"], "tampered": calls["tampered"]}
        if run.ok:
            return TamperResult(True, "", None, None, None, target,
                                explanation="the change was in a byte nothing checks, or the "
                                            "handshake did not depend on it.",
                                steps=tuple(run.steps), **records)
        error, last = run.error, calls["last"]
        if error is None:
            return TamperResult(False, "none: the handshake stalled", None, None, step.name,
                                target, "the receiver is waiting for bytes that never come",
                                "a record length now promises more (or fewer) bytes than were "
                                "sent, so the receiver waits for the rest of the record; a real "
                                "peer times out and closes the connection.",
                                tuple(run.steps), **records)
        receiver = "server" if last.sender == "client" else "client"
        detected_by = last.sender if getattr(error, "received", False) else receiver
        check, explanation = failed_check(error, self.cipher_suite)
        alert = error.alert.name if getattr(error, "alert", None) is not None else None
        return TamperResult(False, check, alert, detected_by, last.name, target,
                            getattr(error, "reason", "") or str(error), explanation,
                            tuple(run.steps), error, **records)


# -------------------------------------------------------------------------------------------------
GLOSSARY = {
    "TLS": "the protocol: every suite name starts with it.",
    "ECDHE": "Elliptic-Curve Diffie-Hellman, Ephemeral: both sides make a fresh key pair per "
             "handshake (x25519 or P-256) and combine them; forward secret.",
    "DHE": "finite-field Diffie-Hellman, Ephemeral (ffdhe2048): like ECDHE with bigger, slower "
           "numbers; forward secret.",
    "RSA kx": "RSA key transport: the client encrypts a random pre-master secret to the server's "
              "certificate key. No forward secrecy: whoever later steals that key decrypts "
              "recorded sessions. Removed in TLS 1.3.",
    "RSA auth": "the server proves its identity with an RSA certificate key (it signs the "
                "ServerKeyExchange, or decrypts the pre-master in RSA key transport).",
    "ECDSA": "the server proves its identity with an ECDSA certificate key, signing the "
             "ServerKeyExchange.",
    "WITH": "separates 'how keys are agreed and who is authenticated' from 'how records are "
            "protected'.",
    "AES_128_GCM": "AES with a 128-bit key in Galois/Counter Mode: an AEAD, encrypting and "
                   "authenticating each record in one step.",
    "AES_256_GCM": "AES with a 256-bit key in Galois/Counter Mode (AEAD).",
    "CHACHA20_POLY1305": "the ChaCha20 stream cipher with the Poly1305 authenticator (AEAD); "
                         "fast in software, without AES hardware.",
    "AES_128_CBC": "AES-128 in CBC mode, not an AEAD: each record gets an HMAC then is encrypted "
                   "(MAC-then-encrypt), the construction behind padding-oracle attacks.",
    "AES_256_CBC": "AES-256 in CBC mode: like AES_128_CBC (HMAC, then encrypt; a fresh IV per "
                   "record) with a 256-bit key.",
    "AES_128_CCM": "AES with a 128-bit key in Counter with CBC-MAC mode (AEAD, 16-byte tag, "
                   "RFC 8446 §B.4); rare in browsers, common in small devices.",
    "SHA": "HMAC-SHA1 authenticates each record (CBC suites). The handshake PRF is still "
           "TLS 1.2's SHA-256.",
    "HMAC-SHA256": "HMAC-SHA256 authenticates each record (CBC suites, RFC 5246 App. A.5, "
                   "RFC 5289 §3.2), and SHA-256 also runs the PRF: the one hash in the name "
                   "does both jobs.",
    "HMAC-SHA384": "HMAC-SHA384 authenticates each record (CBC suites, RFC 5289 §3.2), and "
                   "SHA-384 also runs the PRF: the one hash in the name does both jobs.",
    "SHA256": "SHA-256 is the hash of the PRF (TLS 1.2) or HKDF (TLS 1.3) that derives every key, "
              "and of the transcript hash.",
    "SHA384": "SHA-384 is the hash of the PRF (TLS 1.2) or HKDF (TLS 1.3) that derives every key, "
              "and of the transcript hash.",
    "(EC)DHE": "TLS 1.3 negotiates its ephemeral (EC)DH group in the key_share and "
               "supported_groups extensions, not in the suite; every full handshake uses it "
               "(only a PSK handshake in psk_ke mode goes without, RFC 8446 §4.2.9).",
    "signature_algorithms": "TLS 1.3 negotiates the server's signature in the "
                            "signature_algorithms extension, not in the suite.",
}

_PART_ROLE = {"key exchange": "kx", "authentication": "auth", "cipher": "cipher",
              "MAC": "mac", "PRF hash": "hash", "hash": "hash"}


class SuitePart(NamedTuple):
    part: str           # "key exchange", "authentication", "cipher", "MAC", "PRF hash"
    token: str          # the piece of the name ("ECDHE", "AES_128_GCM", ...), "" if not in it
    value: str          # what suites.CipherSuite.parts() says
    sentence: str       # one sentence for the student


class SuiteModel:
    """Cipher-suite names taken apart (``explain``), for the suite picker."""

    def names(self, version: str | None = None) -> list[str]:
        return [s.name for s in SUITES if version is None or s.version == version]

    def tokens(self, name: str) -> list[tuple[str, str]]:
        """The name cut into (token, role) pieces, left to right: role is "protocol", "kx",
        "auth", "with", "cipher", "hash"/"mac"."""
        suite = get_suite(name)
        rest = suite.name[len("TLS_"):]
        out = [("TLS", "protocol")]
        if suite.version == "1.2":
            left, right = rest.split("_WITH_")
            kx_auth = left.split("_")
            if len(kx_auth) == 1:
                out.append((kx_auth[0], "kx+auth"))
            else:
                out += [(kx_auth[0], "kx"), (kx_auth[1], "auth")]
            out.append(("WITH", "with"))
        else:
            right = rest
        cipher, _, tail = right.rpartition("_")
        # "_SHA" names the HMAC only; a CBC suite's "_SHA256"/"_SHA384" names HMAC and PRF hash.
        role = "mac" if tail == "SHA" else "mac+hash" if suite.mac else "hash"
        out += [(cipher, "cipher"), (tail, role)]
        return out

    def explain(self, name: str) -> list[SuitePart]:
        """Each part of the suite with one sentence (from ``CipherSuite.parts()`` and the
        glossary)."""
        suite = get_suite(name)
        tokens = self.tokens(suite.name)
        by_role = {}
        for token, role in tokens:
            for r in role.split("+"):
                by_role.setdefault(r, token)
        rows = []
        for part, value in suite.parts().items():
            role = _PART_ROLE.get(part, part)
            token = by_role.get(role, "")
            if suite.version == "1.3" and part == "key exchange":
                sentence = GLOSSARY["(EC)DHE"]
            elif suite.version == "1.3" and part == "authentication":
                sentence = GLOSSARY["signature_algorithms"]
            elif part == "key exchange":
                sentence = GLOSSARY["RSA kx" if value == "RSA" else value]
            elif part == "authentication":
                sentence = GLOSSARY["RSA auth" if value == "RSA" else value]
                if suite.kx == "RSA":
                    token = by_role.get("kx", "")
                    sentence += " Here one 'RSA' names both jobs."
            elif part == "MAC":
                if suite.mac:
                    token = by_role.get("mac", "")
                    sentence = GLOSSARY["SHA" if suite.mac == "SHA1" else f"HMAC-{suite.mac}"]
                else:
                    sentence = ("none separately: the AEAD cipher authenticates each record "
                                "itself.")
            elif part in ("PRF hash", "hash"):
                if suite.mac == "SHA1":              # "_SHA" names the MAC; PRF not in the name
                    token = ""
                    sentence = ("not in the name: TLS 1.2's PRF uses SHA-256 unless a suite "
                                "says otherwise.")
                else:
                    sentence = GLOSSARY.get(value, value)
            elif part == "cipher":
                sentence = GLOSSARY.get(value, value)
            else:
                sentence = GLOSSARY.get(value, value)
            rows.append(SuitePart(part, token, str(value), sentence))
        return rows

    def summary(self, name: str) -> str:
        """Two facts that matter most: forward secrecy and how records are protected."""
        s = get_suite(name)
        fs = ("forward secret (ephemeral key exchange)" if s.forward_secret
              else "NOT forward secret (RSA key transport)")
        rec = "AEAD records" if s.aead else "CBC + HMAC records (MAC-then-encrypt)"
        return f"TLS {s.version}, {fs}, {rec}; OpenSSL calls it {s.openssl_name}."


# =================================================================================================
# Measuring suites (for diagrams.suite_chart)
# =================================================================================================
class SuiteMeasurement(NamedTuple):
    suite: str              # IANA name
    openssl_name: str
    version: str
    ms: float               # median wall time of one whole in-memory handshake (both sides)
    round_trips: int        # server flights the client waits for before it may send data
    flights: int            # runs of consecutive messages from one side
    bytes: int              # every record of the handshake, headers included
    client_bytes: int
    server_bytes: int


def flights(steps) -> list[tuple[str, list[str]]]:
    """Group messages into flights: (sender, [names]) for each run from the same side."""
    out: list[tuple[str, list[str]]] = []
    for s in steps:
        sender, name = (s.sender, s.name) if hasattr(s, "sender") else (s[0], s[1])
        if out and out[-1][0] == sender:
            out[-1][1].append(name)
        else:
            out.append((sender, [name]))
    return out


class GroupMeasurement(NamedTuple):
    group: str
    kind: str               # ECDHE, DHE, KEM, hybrid
    client_share: int       # bytes of the client's key_share entry's key_exchange
    server_share: int
    secret: int             # bytes of the shared secret fed to the key schedule
    ms: float               # median wall time of one whole TLS 1.3 handshake in memory (both sides)
    bytes: int              # every record of the handshake, headers included


def measure_groups(names=("x25519", "secp256r1", "ffdhe2048", "X25519MLKEM768",
                          "SecP256r1MLKEM768"), repeat: int = 5) -> list[GroupMeasurement]:
    """TLS 1.3 handshakes (TLS_AES_128_GCM_SHA256, the lesson certificate) with each group as
    the only one, fresh system randomness, after one warm-up run: sizes, median time, bytes."""
    import statistics
    import time

    from .. import groups
    from ..rng import SystemRandom
    rows = []
    for name in names:
        group = groups.get(name)
        times, result = [], None
        for i in range(repeat + 1):
            client = lesson_client(versions=("1.3",), groups=(group.code,), rng=SystemRandom())
            server = lesson_server(versions=("1.3",), groups=(group.code,), rng=SystemRandom())
            start = time.perf_counter()
            result = connection.handshake(client, server)
            elapsed = time.perf_counter() - start
            if not result.ok:
                raise TLSError(f"{name}: handshake failed: {result.error}")
            if i:
                times.append(elapsed)
        rows.append(GroupMeasurement(
            group.name, group.kind, group.client_share_size, group.server_share_size,
            len(result.client.values["shared_secret"]),
            round(statistics.median(times) * 1000, 2), sum(len(s.record) for s in result.steps)))
    return rows


def measure_suites(repeat: int = 5, client_auth: bool = False, ems: bool = True,
                   suites=None) -> list[SuiteMeasurement]:
    """Run ``repeat`` in-memory handshakes per suite with fresh system randomness (the real
    cost: new ephemeral keys every time) after one warm-up run; report the median time, the
    round trips, flights and bytes on the wire. Both sides run in this one process, so the time
    is the CPU cost of client + server, with no network delay."""
    import statistics
    import time
    rows = []
    for suite in suites or SUITES:
        suite = get_suite(suite)
        times, result = [], None
        for i in range(repeat + 1):
            client, server = configs(suite.version, suite, client_auth, ems, rng="system")
            start = time.perf_counter()
            result = connection.handshake(client, server)
            elapsed = time.perf_counter() - start
            if not result.ok:
                raise TLSError(f"{suite.name}: handshake failed: {result.error}")
            if i:                                   # the first run warms caches up
                times.append(elapsed)
        groups = flights(result.steps)
        sizes = {"client": 0, "server": 0}
        for s in result.steps:
            sizes[s.sender] += len(s.record)
        rows.append(SuiteMeasurement(
            suite.name, suite.openssl_name, suite.version,
            round(statistics.median(times) * 1000, 2),
            sum(1 for sender, _ in groups if sender == "server"), len(groups),
            sizes["client"] + sizes["server"], sizes["client"], sizes["server"]))
    return rows
