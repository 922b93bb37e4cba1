"""An annotated hex dump as HTML: every field in its own colour, and a legend listing them.

Plain strings, inline styles only (no <style>, no classes, no scripts), so the output survives
JupyterLab's HTML sanitizer and renders the same in an ``ipywidgets.HTML`` and in
``IPython.display.HTML``. No third-party imports.

>>> from tlslesson.wire import Span
>>> html = hex_html(bytes.fromhex("16030100"), [Span("type", 0, 1, 0), Span("version", 1, 3, 0)])
>>> "version" in html and "16" in html
True
"""
from __future__ import annotations

import html as _html

# Light backgrounds that keep black text readable; one per leaf field, cycling.
PALETTE = ("#ffd6a5", "#caffbf", "#9bf6ff", "#bdb2ff", "#ffc6ff", "#fdffb6", "#a0c4ff",
           "#ffadad", "#d0f4de", "#e4c1f9", "#f1c0e8", "#b9fbc0", "#cfbaf0", "#fbf8cc")
MONO = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,DejaVu Sans Mono,monospace"
HIGHLIGHT = "outline:2px solid #d00000;outline-offset:-1px;font-weight:bold"


def _norm(spans) -> list[tuple[str, int, int, int, str | None, bool, str]]:
    """Accept wire.Span (name, start, end, depth), models.Field (name, offset, length, value,
    depth, leaf, meaning) or plain (name, start, end) tuples; return (name, start, end, depth,
    value, leaf, meaning)."""
    out = []
    for s in spans:
        if hasattr(s, "start") and hasattr(s, "end"):
            out.append((s.name, s.start, s.end, getattr(s, "depth", 0), None, None, ""))
        elif hasattr(s, "offset"):
            out.append((s.name, s.offset, s.offset + s.length, getattr(s, "depth", 0),
                        getattr(s, "value", None), getattr(s, "leaf", None),
                        getattr(s, "meaning", "") or ""))
        else:
            name, start, end = s[:3]
            out.append((name, start, end, 0, None, None, ""))
    result = []
    for i, (name, start, end, depth, value, leaf, meaning) in enumerate(out):
        if leaf is None:        # a leaf holds no deeper span
            leaf = not any(d > depth and start <= a and b <= end for _, a, b, d, *_ in out[i + 1:])
        result.append((name, start, end, depth, value, leaf, meaning))
    return result


def _short(value: str, limit: int = 48) -> str:
    return value if len(value) <= limit else value[:limit - 1] + "…"


def _highlight_range(highlight, spans) -> tuple[int, int] | None:
    if highlight is None:
        return None
    if isinstance(highlight, int):
        return highlight, highlight + 1
    if isinstance(highlight, str):
        for name, start, end, *_ in spans:
            if name == highlight:
                return start, end
        return None
    start, end = highlight
    return start, end


def hex_html(data: bytes, spans, highlight=None, *, title: str | None = None,
             window: tuple[int, int] | None = None, legend: bool = True,
             width: int = 16) -> str:
    """HTML hex dump of ``data``, ``width`` bytes a row with offsets, each leaf field coloured,
    plus a legend table (name, offset, length, value, and what the field is for when the spans
    say: ``models.Field.meaning``).

    ``spans``: wire.Span / models.Field / (name, start, end). ``highlight``: a byte offset, a
    (start, end) range or a field name, outlined in red (the flipped byte, the current field).
    ``window``: (start, end) shows only the rows covering those bytes (long certificates)."""
    data = bytes(data)
    fields = _norm(spans)
    leaves = [f for f in fields if f[5] and f[2] > f[1]]
    owner = [0] * len(data)       # per byte: 1 + index of its leaf field, 0 = none
    for n, (_, start, end, *_rest) in enumerate(leaves, 1):
        for i in range(max(start, 0), min(end, len(data))):
            owner[i] = n
    hl = _highlight_range(highlight, fields)

    def in_highlight(i: int) -> bool:
        return bool(hl and hl[0] <= i < hl[1])

    first_row, last_row = 0, (len(data) - 1) // width if data else 0
    if window is not None:
        first_row = max(window[0], 0) // width
        last_row = min(max(window[1] - 1, window[0]), max(len(data) - 1, 0)) // width

    def cell_style(n: int, hi: bool) -> str:
        style = f"background:{PALETTE[(n - 1) % len(PALETTE)]}" if n else ""
        return style + (";" + HIGHLIGHT if hi else "")

    rows = []
    if first_row > 0:
        rows.append(f"<div style='color:#777'>… {first_row * width} bytes before</div>")
    for row in range(first_row, last_row + 1):
        start = row * width
        chunk = range(start, min(start + width, len(data)))
        parts = [f"<span style='color:#888'>{start:04x}</span>&nbsp;&nbsp;"]
        groups: list[tuple[tuple[int, bool], list[int]]] = []
        for i in chunk:
            key = (owner[i], in_highlight(i))
            if groups and groups[-1][0] == key:
                groups[-1][1].append(i)
            else:
                groups.append((key, [i]))
        cells = []
        for (n, hi), idx in groups:
            title_attr = (_html.escape(leaves[n - 1][0] + (": " + leaves[n - 1][6] if leaves[n - 1][6]
                                                           else ""), quote=True) if n else "")
            text = " ".join(f"{data[i]:02x}" for i in idx)
            cells.append(f"<span title='{title_attr}' style='{cell_style(n, hi)}'>{text}</span>")
        parts.append(" ".join(cells))
        # pad short last rows so the ASCII column lines up
        pad = width - len(chunk)
        parts.append("&nbsp;" * (3 * pad) + "&nbsp;&nbsp;")
        ascii_ = "".join(chr(data[i]) if 32 <= data[i] < 127 else "." for i in chunk)
        parts.append(f"<span style='color:#555'>{_html.escape(ascii_)}</span>")
        rows.append("".join(parts))
    if last_row < ((len(data) - 1) // width if data else 0):
        rows.append(f"<div style='color:#777'>… {len(data) - (last_row + 1) * width} "
                    "bytes after</div>")

    head = (f"<div style='font-weight:bold;margin-bottom:4px'>{_html.escape(title)}</div>"
            if title else "")
    dump = (f"<div style='{MONO};font-size:12px;line-height:1.5;white-space:pre'>"
            + "<br>".join(rows) + "</div>")
    table = ""
    if legend:
        shown = fields
        if window is not None:
            a, b = first_row * width, (last_row + 1) * width
            shown = [f for f in fields if f[1] < b and f[2] > a or f[1] == f[2] and a <= f[1] < b]
        table = _legend(data, shown, leaves, hl)
    return f"<div>{head}{dump}{table}</div>"


def _legend(data: bytes, fields, leaves, hl) -> str:
    index = {f: n for n, f in enumerate(leaves, 1)}
    with_meaning = any(f[6] for f in fields)
    rows = []
    for f in fields:
        name, start, end, depth, value, leaf, meaning = f
        n = index.get(f, 0)
        swatch = (f"<span style='display:inline-block;width:10px;height:10px;margin-right:4px;"
                  f"background:{PALETTE[(n - 1) % len(PALETTE)]};border:1px solid #999'></span>"
                  if n else "<span style='display:inline-block;width:16px'></span>")
        if value is None:
            value = data[start:end].hex() if leaf else f"{end - start} bytes"
        hi = bool(hl and start < hl[1] and hl[0] < end and leaf)
        weight = "font-weight:bold;" if not leaf or hi else ""
        style = f"padding:1px 6px;line-height:1.3;{weight}" + ("background:#ffe3e3;" if hi else "")
        rows.append(
            f"<tr><td style='{style}padding-left:{6 + 14 * depth}px;text-align:left;"
            f"white-space:nowrap'>{swatch}"
            f"{_html.escape(name)}</td><td style='{style}text-align:right'>{start}</td>"
            f"<td style='{style}text-align:right'>{end - start}</td>"
            f"<td style='{style}{MONO};text-align:left' title='{_html.escape(str(value), True)}'>"
            f"{_html.escape(_short(str(value), 36))}</td>"
            + (f"<td style='{style}font-weight:normal;color:#333;text-align:left;"
               f"min-width:260px'>{_html.escape(meaning)}</td>" if with_meaning else "")
            + "</tr>")
    return _table(["field", "offset", "length", "value"] + (["what it is for"] if with_meaning else []),
                  rows)


def _table(headers, rows) -> str:
    th = "".join(f"<th style='padding:2px 6px;line-height:1.3;text-align:left;border-bottom:1px solid #999'>"
                 f"{_html.escape(h)}</th>" for h in headers)
    return (f"<table style='border-collapse:collapse;font-size:12px;margin-top:6px'>"
            f"<thead><tr>{th}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def fields_table_html(fields, limit: int = 64) -> str:
    """A table of fields (name, offset, length, value, and what each is for when the fields say)
    without the hex dump: ``models.Field`` or (name, offset, length, value) tuples."""
    fields = list(fields)
    with_meaning = any(getattr(f, "meaning", "") for f in fields)
    rows = []
    for f in fields:
        name, offset, length, value = f[:4]
        depth = getattr(f, "depth", 0)
        leaf = getattr(f, "leaf", True)
        weight = "" if leaf else "font-weight:bold;"
        rows.append(
            f"<tr><td style='padding:1px 6px;line-height:1.3;{weight}padding-left:{6 + 14 * depth}px'>"
            f"{_html.escape(str(name))}</td>"
            f"<td style='padding:1px 6px;line-height:1.3;text-align:right'>{offset}</td>"
            f"<td style='padding:1px 6px;line-height:1.3;text-align:right'>{length}</td>"
            f"<td style='padding:1px 6px;line-height:1.3;{MONO}' title='{_html.escape(str(value), True)}'>"
            f"{_html.escape(_short(str(value), limit))}</td>"
            + (f"<td style='padding:1px 6px;line-height:1.3;color:#333'>"
               f"{_html.escape(getattr(f, 'meaning', ''))}</td>" if with_meaning else "")
            + "</tr>")
    return _table(["field", "offset", "length", "value"] + (["what it is for"] if with_meaning else []),
                  rows)


def values_table_html(values, notes: dict[str, str] | None = None, limit: int = 64,
                      new: set[str] | frozenset = frozenset()) -> str:
    """A table of named values (bytes shown as hex, with their length); names in ``new`` (just
    computed at this step) are marked."""
    notes = notes or {}
    rows = []
    for name, value in values.items():
        if isinstance(value, (bytes, bytearray)):
            shown, size = bytes(value).hex(), f"{len(value)} B"
        else:
            shown, size = str(value), ""
        mark = "background:#fff3bf;" if name in new else ""
        rows.append(
            f"<tr><td style='padding:1px 6px;line-height:1.3;{mark}font-weight:bold' "
            f"title='{_html.escape(notes.get(name, ''), True)}'>{_html.escape(name)}</td>"
            f"<td style='padding:1px 6px;line-height:1.3;{mark}text-align:right;white-space:nowrap'>{size}</td>"
            f"<td style='padding:1px 6px;line-height:1.3;{mark}{MONO}' title='{_html.escape(shown, True)}'>"
            f"{_html.escape(_short(shown, limit))}</td>"
            f"<td style='padding:1px 6px;line-height:1.3;{mark}color:#555'>{_html.escape(notes.get(name, ''))}"
            f"</td></tr>")
    return _table(["value", "size", "bytes", "what it is"], rows)


_ROLE_COLOURS = {"protocol": "#dee2e6", "kx": "#ffd6a5", "auth": "#caffbf", "kx+auth": "#ffd6a5",
                 "with": "#f1f3f5", "cipher": "#9bf6ff", "hash": "#bdb2ff", "mac": "#ffc6ff"}


def suite_html(name: str, model=None) -> str:
    """A cipher-suite name coloured part by part, with a table of what each part means."""
    from .models import SuiteModel
    model = model or SuiteModel()
    tokens = model.tokens(name)
    coloured = "<span style='color:#adb5bd'>_</span>".join(
        f"<span style='background:{_ROLE_COLOURS.get(role, '#eee')};padding:1px 3px' "
        f"title='{_html.escape(role)}'>{_html.escape(tok)}</span>" for tok, role in tokens)
    rows = []
    for part in model.explain(name):
        role = {"key exchange": "kx", "authentication": "auth", "cipher": "cipher", "MAC": "mac",
                "PRF hash": "hash", "hash": "hash"}.get(part.part, "")
        token = (f"<span style='background:{_ROLE_COLOURS.get(role, '#eee')};padding:1px 3px;"
                 f"{MONO}'>{_html.escape(part.token)}</span>" if part.token else
                 "<span style='color:#868e96'>(not in the name)</span>")
        rows.append(f"<tr><td style='padding:2px 6px;line-height:1.3;font-weight:bold;vertical-align:top'>"
                    f"{_html.escape(part.part)}</td><td style='padding:2px 6px;line-height:1.3;vertical-align:top'>"
                    f"{token}</td><td style='padding:2px 6px;line-height:1.3;vertical-align:top'>"
                    f"{_html.escape(part.value)}</td><td style='padding:2px 6px;line-height:1.3;text-align:left'>"
                    f"{_html.escape(part.sentence)}</td></tr>")
    return (f"<div><div style='{MONO};font-size:15px;margin:4px 0'>{coloured}</div>"
            f"<div style='margin:4px 0'>{_html.escape(model.summary(name))}</div>"
            + _table(["part", "in the name", "value", "what it means"], rows) + "</div>")
