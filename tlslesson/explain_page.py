"""``serve --explain``: the visitor's own ClientHello, field by field, as an HTML page.

A browser that opens ``https://localhost:PORT/`` on ``python -m tlslesson serve --explain`` gets
back what it just sent: every field of its ClientHello with its value and what it is for (the
lessons' own field tables: ``messages.layout`` read by ``lesson.models.layout_fields``, one line
of meaning each from ``lesson.meanings``), its GREASE values, its key shares (X25519MLKEM768: what
the 1216 bytes are), its ECH GREASE, the order of its extensions, the parameters our server chose
and the ladder of this connection so far. Plain strings with inline styles, no matplotlib: the
same page builds from a recorded ClientHello (``recorded_client_hello()``, Chromium's, shipped in
``tlslesson/data/client-hellos/``) where no browser can reach the server (Binder).

    report = describe_client_hello(wire)       # the facts, as plain data (tests, notebooks)
    html = page_html(steps, chosen)            # the page (steps: a connection's Step log)
"""
from __future__ import annotations

import html as _html
import json
from dataclasses import dataclass, field
from importlib import resources

from . import groups
from .constants import ExtensionType as ET, NamedGroup, is_grease, name_of
from .errors import TLSError
from .messages import ClientHello, Context, decode_handshake
from .wire import Reader

GREASE_MEANING = ("GREASE (RFC 8701): a reserved value that means nothing. Clients put one in "
                  "every list so that a server which chokes on values it does not know is found "
                  "and fixed now, before a real new value needs that list; a server ignores it")

# what each part of a key share is (FIPS 203, RFC 7748, SEC 1), for the groups table's kinds
_SHARE_PARTS = {
    "MLKEM768": "an ML-KEM-768 encapsulation key (FIPS 203): post-quantum",
    "x25519": "an X25519 public key (RFC 7748)",
    "secp256r1": "an uncompressed P-256 point 04 || x || y (SEC 1)",
    "secp384r1": "an uncompressed P-384 point 04 || x || y (SEC 1)",
    "secp521r1": "an uncompressed P-521 point 04 || x || y (SEC 1)",
    "x448": "an X448 public key (RFC 7748)",
}
_HPKE_KDF = {1: "HKDF-SHA256", 2: "HKDF-SHA384", 3: "HKDF-SHA512"}
_HPKE_AEAD = {1: "AES-128-GCM", 2: "AES-256-GCM", 3: "ChaCha20Poly1305"}


# =================================================================================================
# The facts of one ClientHello
# =================================================================================================
@dataclass
class KeyShareNote:
    group: int
    name: str
    size: int
    grease: bool
    what: str                    # what the bytes are
    post_quantum: bool = False


@dataclass
class ExtensionNote:
    position: int                # 1-based: the order the client sent them in
    code: int
    name: str
    length: int
    grease: bool
    meaning: str
    detail: str = ""             # the decoded value, short


@dataclass
class HelloReport:
    """What one ClientHello says, as plain data; ``fields`` is the lessons' field table."""
    wire: bytes
    hello: ClientHello
    fields: list                 # lesson.models.Field, with GREASE values explained
    extensions: list[ExtensionNote]
    key_shares: list[KeyShareNote]
    grease: list[tuple[str, int]]          # (where, value)
    ech: dict | None = None                # the encrypted_client_hello fields, decoded
    sni: str | None = None
    alpn: tuple[str, ...] = ()
    versions: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    schemes: list[str] = field(default_factory=list)
    suites: list[str] = field(default_factory=list)


def _share_what(code: int, size: int) -> tuple[str, bool]:
    if is_grease(code):
        return f"{size} byte(s) of GREASE: a share for a group that does not exist", False
    group = groups.GROUPS.get(code)
    if group is None:
        return f"{size} bytes for {name_of(NamedGroup, code)}, a group this package lacks", False
    if group.kind == "hybrid":
        a, b = group.first, group.second
        return (f"two public keys concatenated (draft-ietf-tls-ecdhe-mlkem): "
                f"{_SHARE_PARTS.get(a.name, a.name)}, {a.client_share_size} bytes, then "
                f"{_SHARE_PARTS.get(b.name, b.name)}, {b.client_share_size} bytes. The server "
                f"answers with {group.server_share_size} bytes (an ML-KEM ciphertext and its "
                f"own classical key); the secret holds if either part does", True)
    if group.kind == "KEM":
        return _SHARE_PARTS["MLKEM768"] + f", {size} bytes", True
    if group.kind == "DHE":
        return f"a finite-field Diffie-Hellman value g^x mod p, {size} bytes (RFC 7919)", False
    return f"{_SHARE_PARTS.get(group.name, group.name)}, {size} bytes", False


def _ech(data: bytes) -> dict | None:
    """draft-ietf-tls-esni §5: ECHClientHello, outer (type 0) or inner (type 1)."""
    try:
        r = Reader(data, track=False)
        kind = r.uint8("type")
        if kind == 1:
            return {"type": "inner (1): only inside an encrypted ClientHelloInner"}
        kdf, aead, config_id = r.uint16("kdf_id"), r.uint16("aead_id"), r.uint8("config_id")
        enc, payload = r.opaque(2, "enc"), r.opaque(2, "payload")
    except TLSError:
        return None
    return {"type": "outer (0)", "kdf": _HPKE_KDF.get(kdf, f"0x{kdf:04x}"),
            "aead": _HPKE_AEAD.get(aead, f"0x{aead:04x}"), "config_id": config_id,
            "enc": len(enc), "payload": len(payload)}


def _grease_fields(fields) -> list:
    """The lessons' field table, with every GREASE value said to be one."""
    out = []
    for f in fields:
        if "GREASE(" in f.name or "GREASE(" in f.value or (
                f.name == "version" and f.value.startswith("unknown (0x") and
                is_grease(int(f.value[-5:-1], 16))):
            meaning = GREASE_MEANING if "extension_data" in f.name or f.name in (
                "extension_type", "cipher_suite", "group", "scheme", "version") else f.meaning
            f = f._replace(meaning=meaning,
                           value=f.value.replace("unknown (", "GREASE (") if f.name == "version"
                           else f.value)
        out.append(f)
    return out


def describe_client_hello(wire: bytes) -> HelloReport:
    """Every fact a student wants from one ClientHello message (handshake header included)."""
    from .extensions import value
    from .lesson.models import layout_fields        # plain Python: no widgets, no matplotlib
    from .lesson.meanings import meaning
    hello = decode_handshake(wire, Context("1.3"))
    if not isinstance(hello, ClientHello):
        raise ValueError(f"not a ClientHello: {type(hello).__name__}")
    fields = _grease_fields(layout_fields(wire, Context("1.3"), "ClientHello"))
    grease = [("cipher_suites", c) for c in hello.cipher_suites if is_grease(c)]
    report = HelloReport(wire, hello, fields, [], [], grease,
                         suites=[name_of_suite(c) for c in hello.cipher_suites])
    for n, e in enumerate(hello.extensions, 1):
        name = name_of(ET, e.type)
        note = ExtensionNote(n, e.type, name, len(e.data), is_grease(e.type),
                             "GREASE (RFC 8701): an extension that means nothing, to keep "
                             "servers tolerant of new ones (see GREASE above)" if is_grease(e.type)
                             else meaning(f"{name} extension_data", "ClientHello")
                             or "not one this page knows (its IANA code is shown)")
        if note.grease:
            grease.append(("extension", e.type))
        try:
            decoded = value(e, "client_hello")
        except TLSError:
            decoded = e.data
        if e.type == ET.key_share:
            for share in decoded:
                what, pq = _share_what(share.group, len(share.key_exchange))
                report.key_shares.append(KeyShareNote(share.group, name_of(NamedGroup, share.group),
                                                      len(share.key_exchange),
                                                      is_grease(share.group), what, pq))
                if is_grease(share.group):
                    grease.append(("key_share", share.group))
            note.detail = ", ".join(f"{s.name} ({s.size} B)" for s in report.key_shares)
        elif e.type == ET.supported_groups:
            report.groups = [name_of(NamedGroup, g) for g in decoded]
            grease += [("supported_groups", g) for g in decoded if is_grease(g)]
            note.detail = ", ".join(report.groups)
        elif e.type == ET.supported_versions:
            report.versions = [_version_name(v) for v in decoded]
            grease += [("supported_versions", v) for v in decoded if is_grease(v)]
            note.detail = ", ".join(report.versions)
        elif e.type == ET.signature_algorithms:
            from .constants import SignatureScheme
            report.schemes = [name_of(SignatureScheme, s) for s in decoded]
            grease += [("signature_algorithms", s) for s in decoded if is_grease(s)]
            note.detail = ", ".join(report.schemes)
        elif e.type == ET.server_name and decoded:
            report.sni = ",".join(decoded)
            note.detail = report.sni
        elif e.type == ET.application_layer_protocol_negotiation:
            report.alpn = tuple(p.decode("ascii", "backslashreplace") for p in decoded)
            note.detail = ", ".join(report.alpn)
        elif e.type == ET.encrypted_client_hello:
            report.ech = _ech(e.data)
            if report.ech and "kdf" in report.ech:
                note.detail = (f"{report.ech['kdf']} + {report.ech['aead']}, config "
                               f"{report.ech['config_id']}, {report.ech['enc']}-byte HPKE key, "
                               f"{report.ech['payload']}-byte payload")
        elif e.type == ET.psk_key_exchange_modes:
            note.detail = ", ".join({0: "psk_ke", 1: "psk_dhe_ke"}.get(m, str(m)) for m in decoded)
        elif e.type == ET.compress_certificate and len(e.data) >= 1:
            algs = e.data[1:]
            note.detail = ", ".join({1: "zlib", 2: "brotli", 3: "zstd"}.get(
                int.from_bytes(algs[i:i + 2], "big"), "?") for i in range(0, len(algs) - 1, 2))
        elif not note.detail and isinstance(decoded, bytes) and decoded:
            note.detail = decoded[:12].hex() + ("…" if len(decoded) > 12 else "")
        report.extensions.append(note)
    return report


def name_of_suite(code: int) -> str:
    from .suites import iana_name
    return iana_name(code)


def _version_name(v: int) -> str:
    if is_grease(v):
        return f"GREASE(0x{v:04x})"
    return {0x0304: "TLS 1.3", 0x0303: "TLS 1.2", 0x0302: "TLS 1.1", 0x0301: "TLS 1.0"}.get(
        v, f"0x{v:04x}")


# =================================================================================================
# The page
# =================================================================================================
_E = _html.escape
_CELL = "padding:2px 8px;text-align:left;vertical-align:top;border-bottom:1px solid #eee"
_MONO = "font-family:ui-monospace,Menlo,Consolas,DejaVu Sans Mono,monospace"


def _table(headers, rows) -> str:
    head = "".join(f"<th style='{_CELL};border-bottom:1px solid #999'>{_E(h)}</th>"
                   for h in headers)
    body = "".join("<tr>" + "".join(f"<td style='{_CELL}'>{c}</td>" for c in row) + "</tr>"
                   for row in rows)
    return (f"<table style='border-collapse:collapse;font-size:13px'><thead><tr>{head}</tr>"
            f"</thead><tbody>{body}</tbody></table>")


AFTER_HANDSHAKE = (("client", "your request (GET)"), ("server", "this page"))


def ladder_svg(steps, after=AFTER_HANDSHAKE) -> str:
    """The connection as a ladder: one arrow per message, client left, server right; dashed
    and marked [enc] when encrypted on the wire. ``steps``: Steps or (sender, name, protected,
    record bytes) rows. ``after``: (sender, label) arrows drawn last, encrypted, without a size
    (what the page cannot know of itself: the request, the page)."""
    rows = [(s.sender, s.name, s.protected, len(s.record)) if hasattr(s, "sender") else tuple(s)
            for s in steps]
    rows += [(sender, label, True, 0) for sender, label in after]
    step, top, left, right, width = 26, 40, 90, 470, 560
    height = top + step * len(rows) + 10
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           f"viewBox='0 0 {width} {height}' role='img' aria-label='ladder of this connection' "
           "style='font-family:sans-serif;font-size:12px'>",
           "<defs><marker id='tip' markerWidth='8' markerHeight='8' refX='7' refY='4' "
           "orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#333'/></marker></defs>"]
    for x, who in ((left, "client"), (right, "server")):
        out.append(f"<text x='{x}' y='18' text-anchor='middle' font-weight='bold'>{who}</text>"
                   f"<line x1='{x}' y1='26' x2='{x}' y2='{height - 4}' stroke='#888'/>")
    for i, (sender, name, protected, size) in enumerate(rows):
        y = top + step * i + 8
        x0, x1 = (left, right) if sender == "client" else (right, left)
        colour = "#c92a2a" if name == "Alert" else "#1864ab" if protected else "#333"
        dash = " stroke-dasharray='5,3'" if protected else ""
        label = name + (" [enc]" if protected and size else "") + (f" · {size} B" if size else "")
        if not size:
            dash = " stroke-dasharray='2,3'"
        out.append(f"<line x1='{x0}' y1='{y}' x2='{x1}' y2='{y}' stroke='{colour}' "
                   f"stroke-width='1.5'{dash} marker-end='url(#tip)'/>"
                   f"<text x='{(left + right) // 2}' y='{y - 4}' text-anchor='middle' "
                   f"fill='{colour}'>{_E(label)}</text>")
    out.append("</svg>")
    return "".join(out)


def page_html(steps, chosen=(), *, title: str = "Your browser's handshake",
              source: str = "", after=AFTER_HANDSHAKE) -> str:
    """The whole page: ``steps`` is a connection's Step log (its first step the ClientHello:
    ``ServerConnection.log``, a capture's ``steps``, or [Step] of a recorded hello); ``chosen``
    (name, value) pairs of what the server picked; ``source`` a line on where the hello came
    from."""
    from .lesson.hexview import fields_table_html, hex_html
    hello = next(s for s in steps if s.name == "ClientHello")
    report = describe_client_hello(hello.wire)
    parts = [f"<!doctype html><html><head><meta charset=utf-8><title>{_E(title)}</title></head>"
             f"<body style='font-family:sans-serif;max-width:1100px;margin:1em auto;"
             f"padding:0 1em'><h1>{_E(title)}</h1>"]
    if source:
        parts.append(f"<p>{_E(source)}</p>")
    parts.append(f"<p>Your ClientHello: {len(report.wire)} bytes, {len(report.hello.cipher_suites)}"
                 f" cipher suites, {len(report.extensions)} extensions, "
                 f"{len(report.key_shares)} key shares"
                 + (f", server name {_E(report.sni)}" if report.sni else "") + ".</p>")
    if chosen:
        parts.append("<h2>What the server chose</h2>" + _table(
            ("parameter", "value"), [(_E(k), f"<b>{_E(str(v))}</b>") for k, v in chosen]))
    parts.append("<h2>Key shares</h2><p>TLS 1.3 lets the client guess the group and send its "
                 "public key at once (RFC 8446 §4.2.8): one share per group it guesses.</p>")
    parts.append(_table(("group", "code", "bytes", "what it is"), [
        (f"<b>{_E(k.name)}</b>" + (" (post-quantum)" if k.post_quantum else ""),
         f"0x{k.group:04x}", str(k.size), _E(k.what)) for k in report.key_shares]))
    parts.append("<h2>GREASE</h2><p>" + _E(GREASE_MEANING) + ".</p>")
    parts.append(_table(("where", "value"), [(_E(w), f"0x{v:04x}") for w, v in report.grease])
                 if report.grease else "<p>This client sent no GREASE values.</p>")
    if report.ech is not None:
        rows = [(_E(k), _E(str(v))) for k, v in report.ech.items()]
        parts.append("<h2>Encrypted Client Hello (ECH)</h2><p>" + _E(
            "This server published no ECH key (no HTTPS record in DNS), so what the client sent "
            "in encrypted_client_hello cannot be real ECH for it: it is GREASE ECH "
            "(draft-ietf-tls-esni §6.2) — a random HPKE key and payload shaped like real ECH, so "
            "that connections which do use ECH do not stand out. Its fields:") + "</p>"
            + _table(("field", "value"), rows))
    parts.append("<h2>Extensions, in the order sent</h2><p>Browsers shuffle this order on every "
                 "connection (Chromium since version 110), so servers cannot depend on it.</p>")
    parts.append(_table(("#", "extension", "code", "bytes", "what it is for", "value"), [
        (str(e.position), f"<b>{_E(e.name)}</b>", f"0x{e.code:04x}", str(e.length),
         _E(e.meaning), f"<span style='{_MONO}'>{_E(e.detail)}</span>")
        for e in report.extensions]))
    parts.append("<h2>The ladder of this connection</h2>" + ladder_svg(steps, after))
    parts.append("<h2>Every field of your ClientHello</h2>" + fields_table_html(report.fields))
    parts.append("<details><summary>the bytes, coloured field by field</summary>"
                 + hex_html(report.wire, report.fields, legend=False) + "</details>")
    parts.append("<p style='color:#666'>tlslesson serve --explain: made by the package's own "
                 "decoders from the bytes your browser sent.</p></body></html>")
    return "".join(parts)


def chosen_parameters(conn) -> list[tuple[str, str]]:
    """What our server chose on a live connection (``ServerConnection``)."""
    from .constants import SignatureScheme
    scheme = next((s.message.scheme for s in conn.log if s.sender == "server"
                   and s.name in ("CertificateVerify", "ServerKeyExchange")), None)
    ident = getattr(conn.hs, "identity", None)
    rows = [("version", f"TLS {conn.version}"), ("cipher suite", conn.suite.name),
            ("key exchange group", conn.values.get("group") or "none (psk_ke)"),
            ("ALPN", conn.alpn_protocol or "none"),
            ("resumed", conn.values.get("resumption") or ("yes" if conn.resumed else "no"))]
    if scheme is not None:
        rows.append(("signature scheme", name_of(SignatureScheme, scheme)))
    if ident is not None:
        rows.append(("certificate", ident.certificate.subject.rfc4514_string()))
    return rows


def page_for(conn) -> bytes:
    """``serve --explain``'s page for any request on ``conn`` (net.py frames it as HTTP)."""
    return page_html(conn.log, chosen_parameters(conn)).encode()


# =================================================================================================
# A ClientHello recorded from a real browser (for where no browser can reach the server)
# =================================================================================================
@dataclass
class RecordedHello:
    browser: str                 # "Chromium 156.0.8078.114"
    date: str                    # ISO date it was recorded
    wire: bytes                  # the ClientHello message, handshake header included
    chosen: list                 # what serve chose for it: [(parameter, value)]
    ladder: list                 # that connection's (sender, name, protected, bytes) rows
    how: str = ""

    @property
    def steps(self) -> list:
        """The recorded connection as Steps: the ClientHello's bytes, the rest as rows."""
        from .connection import Step
        first = Step("client", "ClientHello", decode_handshake(self.wire, Context("1.3")),
                     self.wire, b"\x16\x03\x01" + len(self.wire).to_bytes(2, "big") + self.wire,
                     Context("1.3"), False)
        return [first] + [_Row(*row) for row in self.ladder[1:]]

    def page(self) -> str:
        return page_html(self.steps, self.chosen, title=f"{self.browser}'s handshake",
                         source=f"Recorded from {self.browser} (headless) on {self.date} by "
                                f"{self.how or 'tests/test_serve_explain.py'}.",
                         after=(("client", "its request (GET)"), ("server", "the page")))


@dataclass
class _Row:
    sender: str
    name: str
    protected: bool
    size: int

    @property
    def record(self) -> bytes:           # what ladder_svg reads: only its length
        return bytes(self.size)


RECORDED = "chromium.json"


def recorded_client_hello(name: str = RECORDED) -> RecordedHello:
    """The ClientHello a real headless Chromium sent to ``serve --explain`` (recorded by a test,
    dated), from ``tlslesson/data/client-hellos/``."""
    text = resources.files("tlslesson").joinpath("data", "client-hellos", name).read_text()
    data = json.loads(text)
    return RecordedHello(data["browser"], data["date"], bytes.fromhex(data["client_hello"]),
                         [tuple(r) for r in data["chosen"]], [tuple(r) for r in data["ladder"]],
                         data.get("how", ""))
