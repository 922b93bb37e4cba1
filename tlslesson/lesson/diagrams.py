"""Pictures drawn from real transcripts: the ladder diagram, the key-derivation tree, and a
chart comparing cipher suites; and the handshake state machines, drawn (and printed) from the
tables in ``tlslesson.states``.

matplotlib is imported inside the functions, and figures are made with the object API
(``matplotlib.figure.Figure``), not ``pyplot``: nothing is registered in pyplot's global list,
so a redrawn figure is freed like any Python object (no ``plt.close`` bookkeeping, no leak).
A returned figure displays itself in Jupyter (it has ``_repr_png_``) whether or not pyplot was
ever imported; ``to_png(fig)`` gives its bytes.

>>> from tlslesson.lesson.models import ExplorerModel
>>> fig = ladder(ExplorerModel().steps, highlight=3)
>>> len(to_png(fig)) > 1000
True
"""
from __future__ import annotations

import io
import textwrap
from pathlib import Path

from .. import states
from .models import SuiteMeasurement, flights, measure_suites  # noqa: F401  (re-exported)

# Colours: plaintext messages, encrypted ones, alerts, and the highlighted message.
PLAIN, ENCRYPTED, ALERT, STRONG, MUTED = "#1d3557", "#2a9d8f", "#c1121f", "#e85d04", "#adb5bd"
BAND = "#f1f3f5"        # background of every other flight
DPI = 80

_FIGURE_CLASS = None


def _figure(width: float, height: float):
    """A matplotlib Figure (object API) that renders itself as PNG in Jupyter."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class LessonFigure(Figure):
            """A Figure that Jupyter shows as a PNG even where pyplot was never imported."""

            def _repr_png_(self):
                return to_png(self)

        _FIGURE_CLASS = LessonFigure
    return _FIGURE_CLASS(figsize=(width, height), dpi=DPI)


def to_png(fig, dpi: int | None = None) -> bytes:
    """The figure as PNG bytes (what the widgets put in their Output)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi or fig.dpi, bbox_inches=None)
    return buf.getvalue()


def _rows(steps) -> list[tuple[str, str, bool, int]]:
    """Steps, ladder rows or a model -> (sender, name, protected, record bytes)."""
    if hasattr(steps, "ladder_rows"):
        return steps.ladder_rows()
    if hasattr(steps, "steps"):
        steps = steps.steps
    rows = []
    for s in steps:
        if hasattr(s, "sender"):
            # a HelloRetryRequest is a ServerHello on the wire; the ladder names what it does
            hrr = getattr(getattr(s, "message", None), "is_hello_retry_request", False)
            rows.append((s.sender, "HelloRetryRequest" if hrr is True else s.name,
                         bool(s.protected), len(s.record)))
        else:
            sender, name, protected, size = (tuple(s) + (False, 0))[:4]
            rows.append((sender, name, bool(protected), int(size)))
    return rows


# =================================================================================================
# The ladder diagram
# =================================================================================================
ROW = 0.40             # inches per message
LABEL_SIZE, SMALL_SIZE = 9.5, 8


def ladder(steps, highlight: int | None = None, ax=None, title: str | None = None,
           show_bytes: bool = True, mark: int | None = None):
    """Client and server columns, one arrow per message in the order sent.

    ``steps``: a list of ``connection.Step`` (``Handshake.steps``), of (sender, name, protected,
    bytes) rows, or a model with ``ladder_rows()``. Encrypted messages are dashed and labelled
    "[enc]"; alerts are red; ``highlight`` (a step index) is drawn thick in orange; ``mark``
    (a step index) gets a red "tampered in flight" tag under its arrow. Flights (consecutive
    messages from one side) are shaded in turn and numbered on the left. Returns the Figure."""
    rows = _rows(steps)
    n = len(rows)
    if ax is None:
        fig = _figure(5.4, ROW * n + (1.45 if title else 1.0))
        top = 1 - (0.45 / fig.get_figheight() if title else 0.0)
        ax = fig.add_axes((0.01, 0.01, 0.98, top - 0.02))
    else:
        fig = ax.figure
    left, right = 0.0, 1.0
    ax.set_xlim(-0.42, 1.30)
    ax.set_ylim(n - 0.35, -1.15)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11, fontweight="bold", pad=10)
    for x, who in ((left, "client"), (right, "server")):
        ax.plot([x, x], [-0.65, n - 0.45], color="#6c757d", lw=1.2, zorder=1)
        ax.text(x, -0.8, who, ha="center", va="bottom", fontsize=10.5, fontweight="bold")

    # flights: shade every other one, number them on the left
    at, bands = 0, {}
    for k, (sender, names) in enumerate(flights(rows), 1):
        top, bottom = at - 0.5, at + len(names) - 0.5
        if k % 2 == 0:
            ax.axhspan(top, bottom, xmin=0.0, xmax=1.0, color=BAND, zorder=0)
        for j in range(at, at + len(names)):
            bands[j] = BAND if k % 2 == 0 else "white"
        ax.text(-0.40, (top + bottom) / 2, f"flight {k}", fontsize=SMALL_SIZE, color="#6c757d",
                va="center", ha="left")
        at += len(names)

    for i, row in enumerate(rows):
        sender, _name, _protected, size = row
        _message(ax, i, row, strong=i == highlight)
        if show_bytes:
            ax.text(1.04 if sender == "client" else -0.04, i, f"{size} B", fontsize=SMALL_SIZE,
                    color="#6c757d", va="center", ha="left" if sender == "client" else "right")
        if mark is not None and i == mark:
            ax.text(0.5, i + 0.07, "tampered in flight", fontsize=SMALL_SIZE, color=ALERT,
                    va="top", ha="center", fontweight="bold", zorder=4)
    fig.ladder_info = {"ax": ax, "rows": rows, "bands": bands}
    return fig


def ladders(*runs, titles=(), show_bytes: bool = True):
    """Several ladders side by side, on one vertical scale (row i of each at the same height),
    e.g. ``ladders(tls12.steps, tls13.steps, titles=("TLS 1.2", "TLS 1.3"))``: the shorter
    handshake visibly ends earlier. Each of ``runs`` is what ``ladder`` accepts. Returns the
    Figure."""
    if not runs:
        raise ValueError("give at least one handshake")
    tables = [_rows(r) for r in runs]
    n = max(len(t) for t in tables)
    fig = _figure(5.4 * len(tables), ROW * n + (1.45 if titles else 1.0))
    top = 1 - (0.45 / fig.get_figheight() if titles else 0.0)
    gap = 0.03                              # between two ladders, so their shading stays apart
    width = (0.98 - gap * (len(tables) - 1)) / len(tables)
    for k, table in enumerate(tables):
        ax = fig.add_axes((0.01 + k * (width + gap), 0.01, width, top - 0.02))
        ladder(table, ax=ax, title=titles[k] if k < len(titles) else None, show_bytes=show_bytes)
        ax.set_ylim(n - 0.35, -1.15)
    del fig.ladder_info                     # (one per ladder: not meaningful here)
    return fig


def _message(ax, i: int, row, strong: bool) -> list:
    """Draw message ``i`` (its arrow and label); return the artists."""
    sender, name, protected, _size = row
    x0, x1 = (0.0, 1.0) if sender == "client" else (1.0, 0.0)
    colour = STRONG if strong else ALERT if name == "Alert" else ENCRYPTED if protected else PLAIN
    arrow = ax.annotate("", xy=(x1, i), xytext=(x0, i), zorder=3,
                        arrowprops=dict(arrowstyle="-|>", color=colour,
                                        lw=2.6 if strong else 1.3,
                                        linestyle="--" if protected else "-", shrinkA=0,
                                        shrinkB=1, mutation_scale=12))
    label = ax.text(0.5, i - 0.08, name + (" [enc]" if protected else ""), ha="center",
                    va="bottom", fontsize=LABEL_SIZE, color=colour,
                    fontweight="bold" if strong else "normal", zorder=4)
    return [arrow, label]


class LadderPicture:
    """One ladder drawn once, re-highlighted cheaply: the plain picture is rendered a single
    time, and ``png(i)`` paints only message ``i`` (erased, then drawn thick in orange) over a
    copy of it. This is what lets the explorer's Next button answer in a few milliseconds."""

    def __init__(self, steps):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        self.fig = ladder(steps)
        self.canvas = FigureCanvasAgg(self.fig)
        self.canvas.draw()
        self.background = self.canvas.copy_from_bbox(self.fig.bbox)
        self.info = self.fig.ladder_info

    def png(self, highlight: int | None = None) -> bytes:
        from matplotlib.patches import Rectangle
        from PIL import Image
        ax, rows = self.info["ax"], self.info["rows"]
        self.canvas.restore_region(self.background)
        overlay = []
        if highlight is not None and 0 <= highlight < len(rows):
            eraser = Rectangle((0.004, highlight - 0.49), 0.992, 0.73, zorder=2, lw=0,
                               fc=self.info["bands"].get(highlight, "white"))
            ax.add_patch(eraser)
            overlay = [eraser] + _message(ax, highlight, rows[highlight], strong=True)
            for artist in overlay:
                ax.draw_artist(artist)
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), bytes(self.canvas.buffer_rgba()),
                                 "raw", "RGBA", 0, 1)
        for artist in overlay:
            artist.remove()
        out = io.BytesIO()
        image.save(out, format="png", compress_level=3)
        return out.getvalue()


# =================================================================================================
# The key-derivation tree
# =================================================================================================
# The trees are laid out on a grid of "units" of 0.1 inch (8 pixels at 80 dpi), y growing
# downwards, with explicit box sizes: every arrow starts and ends on a box edge, and every label
# sits in a lane of its own (left of a vertical arrow, or above a horizontal one), so nothing
# overlaps whatever the values shown.
UNIT = 0.1                        # inches per layout unit
TREE_WIDTH = 100                  # units
LINE = 1.55                       # units per line of box text
NAME_SIZE, VALUE_SIZE, EDGE_SIZE = 9, 8.5, 8
INK, GREY, FAINT_INK = "#212529", "#495057", "#adb5bd"


class _Box(tuple):
    """(left, top, right, bottom) of a drawn box, in layout units."""

    left = property(lambda self: self[0])
    top = property(lambda self: self[1])
    right = property(lambda self: self[2])
    bottom = property(lambda self: self[3])
    cx = property(lambda self: (self[0] + self[2]) / 2)
    cy = property(lambda self: (self[1] + self[3]) / 2)


def _tree_axes(ax, height: float):
    if ax is None:
        fig = _figure(TREE_WIDTH * UNIT, height * UNIT)
        ax = fig.add_axes((0, 0, 1, 1))
    else:
        fig = ax.figure
    ax.set_xlim(0, TREE_WIDTH)
    ax.set_ylim(height, 0)
    ax.axis("off")
    return fig, ax


def _node(ax, cx: float, cy: float, width: float, title: str, value: str | None = None, *,
          input_: bool = False, faint: bool = False) -> _Box:
    """A rounded box centred on (cx, cy): ``title`` (one or more lines), then ``value`` (hex, in
    monospace) if given. Inputs are dashed; values not computed yet are grey."""
    from matplotlib.patches import FancyBboxPatch
    lines = title.count("\n") + 1 + (1 if value else 0)
    height = LINE * lines + 1.5
    left, top = cx - width / 2, cy - height / 2
    face = "#f8f9fa" if input_ else ("#f1f3f5" if faint else "#d8f3dc")
    edge = "#adb5bd" if (faint or input_) else "#2d6a4f"
    ax.add_patch(FancyBboxPatch((left, top), width, height, zorder=2, lw=1.0, fc=face, ec=edge,
                                ls="--" if input_ else "-",
                                boxstyle="round,pad=0,rounding_size=0.8"))
    ink = FAINT_INK if faint else INK
    ax.text(cx, top + 0.75, title, ha="center", va="top", fontsize=NAME_SIZE, color=ink,
            linespacing=1.25, zorder=3)
    if value:
        ax.text(cx, top + 0.75 + LINE * (lines - 1), value, ha="center", va="top",
                fontsize=VALUE_SIZE, family="monospace", color=FAINT_INK if faint else GREY,
                zorder=3)
    return _Box((left, top, left + width, top + height))


def _arrow(ax, start, end, *, faint: bool = False) -> None:
    ax.annotate("", xy=end, xytext=start, zorder=2,
                arrowprops=dict(arrowstyle="-|>", color="#ced4da" if faint else GREY, lw=1.2,
                                shrinkA=0, shrinkB=0, mutation_scale=11))


def _line(ax, xs, ys, *, faint: bool = False) -> None:
    ax.plot(xs, ys, color="#ced4da" if faint else GREY, lw=1.2, zorder=2,
            solid_capstyle="butt")


def _note(ax, x, y, text, *, ha="left", va="center", faint=False, size=EDGE_SIZE) -> None:
    ax.text(x, y, text, ha=ha, va=va, fontsize=size, color=FAINT_INK if faint else GREY,
            linespacing=1.2, zorder=3)


def _fan_out(ax, source: _Box, bus_x: float, targets, *, label_x: float) -> None:
    """Arrows from ``source`` to boxes on the right through a vertical bus at ``bus_x``:
    ``targets`` = [(box, label, faint)]; each label sits just above its own arrow."""
    all_faint = all(faint for _, _, faint in targets)
    _line(ax, [source.right, bus_x], [source.cy, source.cy], faint=all_faint)
    ys = [box.cy for box, _, _ in targets] + [source.cy]
    _line(ax, [bus_x, bus_x], [min(ys), max(ys)], faint=all_faint)
    for box, label, faint in targets:
        _arrow(ax, (bus_x, box.cy), (box.left, box.cy), faint=faint)
        _note(ax, label_x, box.cy - 0.45, label, va="bottom", faint=faint)


def _short_hex(values, name, size=8):
    if values is None:
        return None
    value = values.get(name)
    if isinstance(value, (bytes, bytearray)) and value:
        return bytes(value[:size]).hex() + "…"
    return None


def key_tree(version: str = "1.2", values: dict | None = None, ems: bool = True, suite=None,
             ax=None):
    """The key-derivation tree: TLS 1.2's PRF (pre-master -> master -> key block -> keys,
    verify_data) or TLS 1.3's HKDF schedule (early / handshake / master secrets -> traffic
    secrets -> keys). With ``values`` (e.g. ``ExplorerModel.values_so_far()`` or
    ``handshake_values(result)``) each node shows the first bytes of its value and the ones not
    computed yet are greyed out. ``suite`` sizes the TLS 1.2 key block's parts (default
    AES-128-GCM). Returns the Figure."""
    if version not in ("1.2", "1.3"):
        raise ValueError("version must be '1.2' or '1.3'")

    def have(name):
        return values is None or name in values

    if version == "1.2":
        return _tree12(ax, values, have, ems, suite)
    return _tree13(ax, values, have)


def _tree12(ax, values, have, ems, suite):
    from ..suites import get as get_suite
    s = get_suite(suite or "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    with_values = values is not None
    fig, ax = _tree_axes(ax, 67 + (2 if with_values else 0))
    ax.text(50, 2.6, "TLS 1.2 key derivation (RFC 5246 §5-§8" + (", RFC 7627)" if ems else ")"),
            ha="center", va="center", fontsize=12, fontweight="bold", color=INK)
    _note(ax, 50, 5.4, "everything descends from the pre-master secret through the PRF; "
          "nothing below it crosses the wire", ha="center", size=9)
    spine = 40
    master_faint = not have("master_secret")
    pre = _node(ax, spine, 12.5, 22, "pre_master_secret", _short_hex(values, "pre_master_secret"),
                faint=not have("pre_master_secret"))
    master = _node(ax, spine, 30, 22, "master_secret (48 bytes)",
                   _short_hex(values, "master_secret"), faint=master_faint)
    _arrow(ax, (spine, pre.bottom), (spine, master.top), faint=master_faint)
    if ems:
        seed = _node(ax, 12, 30, 23, "session_hash = Hash(ClientHello\n… ClientKeyExchange)",
                     _short_hex(values, "session_hash"), input_=True)
        formula = 'PRF(pre_master_secret,\n"extended master secret",\nsession_hash)[0..47]'
    else:
        seed = _node(ax, 12, 30, 23, "client_random +\nserver_random", input_=True)
        formula = 'PRF(pre_master_secret,\n"master secret",\nclient_random + server_random)[0..47]'
    _arrow(ax, (seed.right, master.cy), (master.left, master.cy), faint=master_faint)
    _note(ax, spine - 1.5, (pre.bottom + master.top) / 2, formula, ha="right", faint=master_faint)

    # Finished: PRF over the master secret and the transcript hash, one per side
    verify = []
    for y, side in ((25, "client"), (35.5, "server")):
        name = f"{side}_verify_data"
        box = _node(ax, 87.5, y, 23, f"{side} verify_data (12 bytes)", _short_hex(values, name),
                    faint=not have(name))
        label = f'PRF(master_secret,\n"{side} finished",\nHash(messages so far))[0..11]'
        verify.append((box, label, not have(name)))
    _fan_out(ax, master, 55, verify, label_x=56.5)

    # the key block, as a bar cut into its parts
    iv = 0 if s.mac else s.iv_length
    parts = [("client_write_mac_key", s.mac_length), ("server_write_mac_key", s.mac_length),
             ("client_write_key", s.key_length), ("server_write_key", s.key_length),
             ("client_write_iv", iv), ("server_write_iv", iv)]
    parts = [(n, size) for n, size in parts if size]
    total = sum(size for _, size in parts)
    kb_faint = not have("client_write_key") and not have("key_block")
    top, height = 51, (9 if with_values else 7)
    _arrow(ax, (spine, master.bottom), (spine, top), faint=kb_faint)
    _note(ax, spine - 1.5, (master.bottom + top) / 2 - 1,
          'PRF(master_secret, "key expansion",\nserver_random + client_random)', ha="right",
          faint=kb_faint)
    _note(ax, spine + 1.5, top - 2.2, f"key_block: {total} bytes for {s.openssl_name}, "
          "cut in this order:", faint=kb_faint, size=9)
    x, x_end, minimum = 6.0, 94.0, 13.0
    spare = (x_end - x) - minimum * len(parts)
    palette = {"mac": "#ffd6a5", "key": "#9bf6ff", "iv": "#caffbf"}
    for name, size in parts:
        w = minimum + spare * size / total
        kind = "mac" if name.endswith("mac_key") else name.rsplit("_", 1)[1]
        ax.add_patch(_rect(x, top, w, height, "#f1f3f5" if kb_faint else palette[kind]))
        ax.text(x + w / 2, top + 0.8, name, ha="center", va="top", fontsize=EDGE_SIZE,
                color=FAINT_INK if kb_faint else INK, zorder=3)
        _note(ax, x + w / 2, top + 0.8 + LINE, f"{size} bytes", ha="center", va="top",
              faint=kb_faint)
        value = _short_hex(values, name, 4)
        if value:
            ax.text(x + w / 2, top + 0.8 + 2 * LINE, value, ha="center", va="top",
                    fontsize=EDGE_SIZE, family="monospace", color=GREY, zorder=3)
        x += w
    if s.aead:
        note = (f"AEAD suite: no MAC keys (the AEAD tag authenticates each record); the {iv}-byte "
                "IV is the fixed part of every record's nonce.")
    else:
        note = ("CBC suite: HMAC keys first; no IVs from the key block — every record carries "
                "its own random explicit IV.")
    _note(ax, 6, top + height + 2.5, note, size=8.5)
    _note(ax, 6, top + height + 4.7, f"PRF = P_{s.hash} (HMAC-{s.hash}, RFC 5246 §5), the "
          "suite's PRF hash; Hash = the same hash over the handshake messages.", size=8.5)
    return fig


def _rect(x, y, w, h, colour):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), w, h, fc=colour, ec=GREY, lw=0.8, zorder=2)


def _tree13(ax, values, have):
    fig, ax = _tree_axes(ax, 84)
    ax.text(50, 2.6, "TLS 1.3 key schedule (RFC 8446 §7.1)", ha="center", va="center",
            fontsize=12, fontweight="bold", color=INK)
    _note(ax, 50, 5.4, "HKDF-Extract down the middle, Derive-Secret out to the right; "
          "each secret is bound to the transcript so far", ha="center", size=9)
    inputs_x, spine, bus, label_x, out_x, out_w = 9.5, 37, 51, 52.5, 86, 25

    def secret(cy, name, input_title, input_value=None, above=None):
        faint = not have(name)
        box = _node(ax, spine, cy, 20, name, _short_hex(values, name), faint=faint)
        source = _node(ax, inputs_x, cy, 17, input_title, input_value, input_=True)
        _arrow(ax, (source.right, cy), (box.left, cy), faint=faint)
        _note(ax, (source.right + box.left) / 2, cy - 0.45, "HKDF-Extract", ha="center",
              va="bottom", faint=faint)
        if above is not None:
            _arrow(ax, (spine, above.bottom), (spine, box.top), faint=faint)
            _note(ax, spine - 1.5, (above.bottom + box.top) / 2, 'Derive-Secret(.,\n"derived", "")',
                  ha="right", faint=faint)
        return box

    def outputs(source, rows):
        targets = []
        for cy, name, extra, label in rows:
            faint = not have(name)
            box = _node(ax, out_x, cy, out_w, name + extra, _short_hex(values, name), faint=faint)
            targets.append((box, label, faint))
        _fan_out(ax, source, bus, targets, label_x=label_x)

    early = secret(13, "early_secret", "PSK\n(none here: zeros)")
    handshake = secret(30.5, "handshake_secret", "(EC)DHE shared secret\n(from the key shares)",
                       _short_hex(values, "shared_secret"), above=early)
    keys = "\n→ key, iv, finished_key"
    outputs(handshake, [(25.5, "client_handshake_traffic_secret", keys,
                         '"c hs traffic",\nClientHello..ServerHello'),
                        (35.5, "server_handshake_traffic_secret", keys,
                         '"s hs traffic",\nClientHello..ServerHello')])
    master = secret(54, "master_secret", "0\n(zeros: no more input)", above=handshake)
    outputs(master, [(46, "client_application_traffic_secret_0", "\n→ key, iv",
                      '"c ap traffic",\nClientHello..server Finished'),
                     (56, "server_application_traffic_secret_0", "\n→ key, iv",
                      '"s ap traffic",\nClientHello..server Finished'),
                     (64.5, "exporter_master_secret", "",
                      '"exp master",\nClientHello..server Finished'),
                     (72, "resumption_master_secret", "",
                      '"res master",\nClientHello..client Finished')])
    _note(ax, 3, 77.3, "Each HKDF-Extract takes the secret above it (through Derive-Secret(., "
          '"derived", "")) as salt and the input on its left as key material.', size=8.5)
    _note(ax, 3, 79.5, "Derive-Secret(S, label, messages) = HKDF-Expand-Label(S, label, "
          "Transcript-Hash(messages), Hash.length).", size=8.5)
    _note(ax, 3, 81.7, "Each traffic secret gives its key, iv (and finished_key): "
          'HKDF-Expand-Label(secret, "key" | "iv" | "finished", "", length).', size=8.5)
    return fig


# =================================================================================================
# Comparing suites
# =================================================================================================
def suite_chart(rows=None, repeat: int = 5):
    """Three bar charts per suite: handshake cost (ms, both sides, in memory), round trips
    before the client may send data, and bytes on the wire. ``rows`` from
    ``measure_suites()`` (measured now if None)."""
    rows = list(rows) if rows is not None else measure_suites(repeat)
    fig = _figure(11.0, 0.36 * len(rows) + 1.5)
    axes = fig.subplots(1, 3, sharey=True)
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.28, right=0.98, top=1 - 0.75 / height, bottom=0.45 / height,
                        wspace=0.10)
    labels = [f"{r.openssl_name} ({r.version})" for r in rows]
    colours = ["#2a9d8f" if r.version == "1.3" else "#457b9d" for r in rows]
    ys = range(len(rows))
    for ax, (title, key, fmt) in zip(axes, (("handshake cost (ms, client + server)", "ms",
                                             "{:.1f}"),
                                            ("round trips before data", "round_trips", "{:d}"),
                                            ("bytes on the wire", "bytes", "{:d}"))):
        values = [getattr(r, key) for r in rows]
        ax.barh(list(ys), values, color=colours, height=0.7)
        ax.set_title(title, fontsize=10)
        if key == "round_trips":
            ax.set_xticks(range(max(values) + 1))
        for y, v in zip(ys, values):
            ax.text(v, y, " " + fmt.format(v), va="center", fontsize=8.5, color="#343a40")
        ax.tick_params(labelsize=9)
        ax.margins(x=0.2)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_yticks(list(ys), labels)
    axes[0].invert_yaxis()                 # shared y: the first suite on top in all three
    fig.suptitle("Cipher suites compared (teal: TLS 1.3, blue: TLS 1.2), measured in this "
                 "kernel", fontsize=11, fontweight="bold")
    return fig


def group_chart(rows=None, repeat: int = 5):
    """Key exchange groups side by side: key share bytes (client, server) and handshake cost
    (ms, both sides, in memory). ``rows`` from ``measure_groups()`` (measured now if None)."""
    from .models import measure_groups
    rows = list(rows) if rows is not None else measure_groups(repeat=repeat)
    fig = _figure(11.0, 0.45 * len(rows) + 1.6)
    axes = fig.subplots(1, 2, sharey=True)
    height = fig.get_figheight()
    fig.subplots_adjust(left=0.2, right=0.98, top=1 - 0.75 / height, bottom=0.5 / height,
                        wspace=0.12)
    ys = list(range(len(rows)))
    pq = ["#e76f51" if r.kind in ("KEM", "hybrid") else "#457b9d" for r in rows]
    ax = axes[0]
    ax.barh([y - 0.18 for y in ys], [r.client_share for r in rows], height=0.34, color=pq)
    ax.barh([y + 0.18 for y in ys], [r.server_share for r in rows], height=0.34, color=pq,
            alpha=0.55)
    for y, r in zip(ys, rows):
        ax.text(r.client_share, y - 0.18, f" {r.client_share} (client)", va="center", fontsize=8)
        ax.text(r.server_share, y + 0.18, f" {r.server_share} (server)", va="center", fontsize=8)
    ax.set_title("key share bytes on the wire", fontsize=10)
    ax = axes[1]
    ax.barh(ys, [r.ms for r in rows], height=0.6, color=pq)
    for y, r in zip(ys, rows):
        ax.text(r.ms, y, f" {r.ms:.2f}", va="center", fontsize=8.5)
    ax.set_title("handshake cost (ms, client + server)", fontsize=10)
    for ax in axes:
        ax.margins(x=0.3)
        ax.tick_params(labelsize=9)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_yticks(ys, [f"{r.group} ({r.kind})" for r in rows])
    axes[0].invert_yaxis()
    fig.suptitle("TLS 1.3 key exchange groups (orange: post-quantum), measured in this kernel",
                 fontsize=11, fontweight="bold")
    return fig


# =================================================================================================
# The handshake state machines, drawn and printed from ``tlslesson.states`` (never by hand)
# =================================================================================================
STATE_TITLES = {("client", "1.3"): "TLS 1.3 client (RFC 8446 App. A.1)",
                ("server", "1.3"): "TLS 1.3 server (RFC 8446 App. A.2)",
                ("client", "1.2"): "TLS 1.2 client (RFC 5246 §7.3)",
                ("server", "1.2"): "TLS 1.2 server (RFC 5246 §7.3)"}
STATE_TABLES_BEGIN, STATE_TABLES_END = "<!-- state-tables:begin -->", "<!-- state-tables:end -->"
# The diagram is laid out in inches (one data unit = one inch, y growing down), so text sizes
# and gaps are known before anything is drawn: one row per state, in table order.
BOX_H, LINE_H, LANE_GAP, WRAP = 0.36, 0.15, 0.22, 30
STATE_NAME_SIZE = 9
VISITED, PLAIN_FACE, FAINT_LINE = "#ffe8d6", "#f8f9fa", "#ced4da"
STATE_NOTE = "recv X: X received from the peer; any other label: a step of our own"


def _state_table(role: str, version: str) -> dict:
    try:
        return states.TABLES[(role, version)]
    except KeyError:
        raise ValueError(f"no state table for role={role!r}, version={version!r}; there are "
                         f"{sorted(states.TABLES)}") from None


def _text_width(text: str, size: float, **font) -> float:
    """Width in inches of ``text`` (its longest line) as Agg draws it at DPI, measured before
    the figure exists (the outline width is some 7% narrower than the hinted pixels)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties
    prop, renderer = FontProperties(size=size, **font), RendererAgg(1, 1, DPI)
    return max(renderer.get_text_width_height_descent(line, prop, ismath=False)[0]
               for line in text.split("\n")) / DPI


def _wrap(label: str) -> str:
    return textwrap.fill(label, WRAP, break_on_hyphens=False, break_long_words=False)


def _lines(labels) -> int:
    return sum(_wrap(label).count("\n") + 1 for label in labels)


def _lanes(spans: dict) -> dict:
    """A lane (0 = nearest the boxes) for each edge that is not a step to the next row: the
    longest spans go inside, and two edges share a lane only if their rows don't meet."""
    lanes: dict = {}
    for pair, (lo, hi) in sorted(spans.items(), key=lambda kv: kv[1][0] - kv[1][1]):
        k = 0
        while any(lanes[p] == k and lo <= spans[p][1] and spans[p][0] <= hi for p in lanes):
            k += 1
        lanes[pair] = k
    return lanes


def _crossing_lanes(pair, g: int, spans: dict, lanes: dict) -> list:
    """The lanes further out than ``pair``'s whose edges pass through gap ``g``."""
    return [p for p in lanes if lanes[p] > lanes[pair] and spans[p][0] <= g < spans[p][1]]


def _lane_label_gaps(spans: dict, lanes: dict) -> dict:
    """The gap (g: between rows g and g+1) where the label of each lane goes: one no other lane
    label has taken, then one that no lane further out crosses (the label is written out to the
    right), nearest the middle. Where every gap is crossed, the label moves out beyond the
    crossing lanes (``_label_lane``)."""
    gaps, used = {}, set()
    for pair in sorted(lanes, key=lambda p: (lanes[p], spans[p])):
        lo, hi = spans[pair]
        gaps[pair] = min(range(lo, hi), key=lambda g: (
            g in used, len(_crossing_lanes(pair, g, spans, lanes)), abs(g - (lo + hi - 1) / 2), g))
        used.add(gaps[pair])
    return gaps


def _label_lane(pair, layout: dict) -> int:
    """The lane a lane edge's label is written right of: its own, or the outermost lane that
    crosses the label's gap (so no arrow runs through the words)."""
    lanes, spans = layout["lanes"], layout["spans"]
    g = layout["label_gap"][pair]
    return max([lanes[pair]] + [lanes[p] for p in _crossing_lanes(pair, g, spans, lanes)])


def _state_layout(table: dict) -> dict:
    """Where everything goes. An edge to the next row is a straight arrow labelled on its left;
    a self-loop is a loop left of its box; every other edge (a skip, or a step back like
    HelloRetryRequest) runs in a lane right of the boxes, as RFC 8446 draws it."""
    row = {state: i for i, state in enumerate(table)}
    groups: dict = {}                                  # (from, to) -> labels, in table order
    for a, label, b in states.edges(table):
        if b not in row:
            raise ValueError(f"the table leads from {a} to {b}, which is not one of its states")
        groups.setdefault((a, b), []).append(label)
    kind = {(a, b): "loop" if a == b else "down" if row[b] == row[a] + 1 else "lane"
            for a, b in groups}
    spans = {(a, b): tuple(sorted((row[a], row[b]))) for (a, b) in groups if kind[a, b] == "lane"}
    lanes = _lanes(spans)
    label_gap = _lane_label_gaps(spans, lanes)
    gap_lines = [0] * len(table)
    for (a, b), labels in groups.items():
        g = row[a] if kind[a, b] == "down" else label_gap.get((a, b))
        if g is not None:
            gap_lines[g] = max(gap_lines[g], _lines(labels))
    band = [max(BOX_H, _lines(groups.get((s, s), ())) * LINE_H + 0.06) for s in table]
    y, gap_mid, at = {}, [], 0.75                      # the title is above
    for i, state in enumerate(table):
        y[state] = at + band[i] / 2
        gap = max(0.42, gap_lines[i] * LINE_H + 0.22)
        gap_mid.append(at + band[i] + gap / 2)
        at += band[i] + gap
    box_w = max(1.3, max(_text_width(s, STATE_NAME_SIZE, family="monospace", weight="bold")
                         for s in table) + 0.3)
    return {"y": y, "gap_mid": gap_mid, "groups": groups, "kind": kind, "lanes": lanes,
            "label_gap": label_gap, "spans": spans, "box_w": box_w,
            "attach": _attachments(spans, lanes, row),
            "bottom": gap_mid[-1] + 0.1}


def _attachments(spans: dict, lanes: dict, row: dict) -> dict:
    """(pair, state) -> vertical offset where a lane meets the right side of the box. Lanes to
    states above leave from the top of the box, inner ones first; lanes to states below from
    the bottom, outer ones first: so no lane's horizontal crosses another lane at its box."""
    at: dict = {}
    for state, r in row.items():
        ends = [pair for pair in lanes if state in pair]
        up = sorted((p for p in ends if min(spans[p]) < r), key=lanes.get)
        down = sorted((p for p in ends if min(spans[p]) >= r), key=lanes.get, reverse=True)
        step = min(0.1, (BOX_H - 0.12) / max(1, len(ends) - 1))
        for j, pair in enumerate(up + down):
            at[pair, state] = (j - (len(ends) - 1) / 2) * step
    return at


def _state_extent(layout: dict) -> tuple[float, float]:
    """Left and right edges (inches from the boxes' centre line) of everything drawn."""
    half = layout["box_w"] / 2
    left, right = half + 0.15, half + 0.15
    for (a, b), labels in layout["groups"].items():
        width = max(_text_width(_wrap(label), EDGE_SIZE, weight="bold") for label in labels)
        if layout["kind"][a, b] == "down":
            left = max(left, width + 0.1)
        elif layout["kind"][a, b] == "loop":
            left = max(left, half + 0.42 + width)
        else:
            right = max(right, half + 0.25 + _label_lane((a, b), layout) * LANE_GAP + 0.08
                        + width)
    return -left - 0.2, right + 0.2


def _check_walk(table: dict, walk) -> None:
    for state in walk:
        if state not in table:
            raise ValueError(f"the walk goes through {state!r}, which is not a state of this "
                             f"table ({', '.join(table)})")
    for a, b in zip(walk, walk[1:]):
        if b not in states.next_states(table, a):
            raise ValueError(f"the walk steps from {a} to {b}, but the table has no transition "
                             f"{a} -> {b}")


def state_diagram(role: str, version: str, walk=None, ax=None):
    """One handshake state machine of ``tlslesson.states.TABLES`` as RFC 8446 Appendix A draws
    it: the states as boxes top to bottom in table order, each transition an arrow labelled
    with what triggers it. ``walk`` (state names, e.g. ``["START", "WAIT_SH", "WAIT_EE", ...]``)
    highlights the states a real handshake went through and the transitions between them, the
    rest grey; a state the table lacks, or a step it has no transition for, is a ValueError.
    Every box, arrow and label has a gid ("state:WAIT_SH", "edge:WAIT_SH->WAIT_EE",
    "label:WAIT_SH|recv ServerHello|WAIT_EE") naming what it shows. Returns the Figure."""
    from matplotlib.patches import FancyBboxPatch
    table = _state_table(role, version)
    walk = list(walk) if walk is not None else None
    if walk is not None:
        _check_walk(table, walk)
    layout = _state_layout(table)
    left, right = _state_extent(layout)
    spare = max(_text_width(STATE_NOTE, EDGE_SIZE),
                _text_width(STATE_TITLES[role, version], 11, weight="bold")) + 0.4 - (right - left)
    if spare > 0:                                      # the note is wider than the picture
        left, right = left - spare / 2, right + spare / 2
    height = layout["bottom"] + 0.3
    if ax is None:
        fig = _figure(right - left, height)
        ax = fig.add_axes((0, 0, 1, 1))
    else:
        fig = ax.figure
    ax.set_xlim(left, right)
    ax.set_ylim(height, 0)
    ax.axis("off")
    centre = (left + right) / 2
    ax.text(centre, 0.3, STATE_TITLES[role, version], ha="center", va="center", fontsize=11,
            fontweight="bold", color=INK, gid="title")
    ax.text(centre, layout["bottom"], STATE_NOTE, ha="center", va="center", fontsize=EDGE_SIZE,
            color=GREY, gid="note")
    taken = set(zip(walk, walk[1:])) if walk else set()
    for pair in layout["groups"]:
        _state_edge(ax, layout, pair, None if walk is None else pair in taken)
    w = layout["box_w"]
    for state, y in layout["y"].items():
        style = None if walk is None else state in walk
        face, edge, ink = {None: (PLAIN_FACE, PLAIN, INK), True: (VISITED, STRONG, INK),
                           False: (PLAIN_FACE, MUTED, FAINT_INK)}[style]
        ax.add_patch(FancyBboxPatch((-w / 2, y - BOX_H / 2), w, BOX_H, fc=face, ec=edge,
                                    lw=2.0 if style else 1.2, zorder=3, gid=f"state:{state}",
                                    boxstyle="round,pad=0,rounding_size=0.06"))
        ax.text(0, y, state, ha="center", va="center", fontsize=STATE_NAME_SIZE, color=ink,
                family="monospace", fontweight="bold", zorder=4, gid=f"name:{state}")
    return fig


def _state_edge(ax, layout: dict, pair, taken) -> None:
    """The arrow of ``pair`` = (from, to) and one label per transition between them; ``taken``
    is None (no walk), True (the walk took it: orange) or False (grey)."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path
    a, b = pair
    ya, yb, half = layout["y"][a], layout["y"][b], layout["box_w"] / 2
    colour = {None: GREY, True: STRONG, False: FAINT_LINE}[taken]
    kind = layout["kind"][pair]
    if kind == "down":
        path = Path([(0, ya + BOX_H / 2), (0, yb - BOX_H / 2)])
        x, y, ha = -0.1, (ya + yb) / 2, "right"
    elif kind == "loop":
        x0 = -half
        path = Path([(x0, ya - 0.1), (x0 - 0.42, ya - 0.24), (x0 - 0.42, ya + 0.24),
                     (x0, ya + 0.1)], [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4])
        x, y, ha = x0 - 0.38, ya, "right"
    else:
        lane_x = half + 0.25 + layout["lanes"][pair] * LANE_GAP
        y0, y1 = ya + layout["attach"][pair, a], yb + layout["attach"][pair, b]
        path = Path([(half, y0), (lane_x, y0), (lane_x, y1), (half, y1)])
        x = half + 0.25 + _label_lane(pair, layout) * LANE_GAP + 0.08
        y, ha = layout["gap_mid"][layout["label_gap"][pair]], "left"
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=11, color=colour,
                                 lw=2.2 if taken else 1.2, zorder=2, gid=f"edge:{a}->{b}"))
    labels = layout["groups"][pair]
    top = y - _lines(labels) * LINE_H / 2
    for label in labels:
        text = _wrap(label)
        ax.text(x, top, text, ha=ha, va="top", fontsize=EDGE_SIZE, linespacing=1.15,
                color=STRONG if taken else FAINT_INK if taken is False else GREY,
                fontweight="bold" if taken else "normal", zorder=4, gid=f"label:{a}|{label}|{b}")
        top += (text.count("\n") + 1) * LINE_H


# -- the same tables as text: for print() in a notebook, and for the README ------------------------
LABEL_COLUMN = 36        # a longer label (TLS 1.2's whole client flight) pushes only its own "->"


def state_table_text(role: str, version: str) -> str:
    """One line per transition of ``tlslesson.states.TABLES[role, version]``, in table order:
    the state, what triggers the transition, and the states it may lead to. A state with no
    transitions (TLS 1.2's CONNECTED) still gets its line.

    >>> print(state_table_text("client", "1.3").splitlines()[1])
    WAIT_SH        recv ServerHello          -> WAIT_EE | START
    """
    table = _state_table(role, version)
    targets: dict = {}                                 # (state, label) -> targets, table order
    for a, label, b in states.edges(table):
        targets.setdefault((a, label), []).append(b)
    rows = []
    for state in table:
        mine = [(label, to) for (a, label), to in targets.items() if a == state]
        rows += [(state, label, "-> " + " | ".join(to)) for label, to in mine]
        rows += [(state, "(no transitions)", "")] if not mine else []
    w1 = max(len(state) for state in table) + 2
    w2 = min(LABEL_COLUMN, max(len(label) for _, label, _ in rows)) + 2
    return "\n".join(f"{s:<{w1}}{label:<{w2 - 2}}  {to}".rstrip() for s, label, to in rows)


def state_tables_markdown(heading: str = "###") -> str:
    """The four tables as Markdown: a heading per table ("TLS 1.3 client (RFC 8446 App. A.1)"
    ...) over its ``state_table_text`` in a code block. What ``update_readme`` writes between
    the state-tables markers."""
    parts = ["<!-- generated from tlslesson/states.py by `python -m tlslesson.lesson.diagrams "
             "--update-readme README.md`: edit the tables, not this block -->\n"]
    for role, version in states.TABLES:
        parts.append(f"{heading} {STATE_TITLES[role, version]}\n\n"
                     f"```text\n{state_table_text(role, version)}\n```\n")
    return "\n".join(parts)


def update_readme(path) -> bool:
    """Rewrite the block between ``<!-- state-tables:begin -->`` and ``<!-- state-tables:end
    -->`` in the file at ``path`` with ``state_tables_markdown()``, leaving every other byte as
    it was. Returns whether the file changed (running it twice changes nothing the second
    time). A file without exactly one begin marker before one end marker is a ValueError."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as f:    # newline="": keep CRLF if it has it
        text = f.read()
    begin, end = text.find(STATE_TABLES_BEGIN), text.find(STATE_TABLES_END)
    if (text.count(STATE_TABLES_BEGIN), text.count(STATE_TABLES_END)) != (1, 1) or begin > end:
        raise ValueError(f"{path}: needs one {STATE_TABLES_BEGIN} line and, after it, one "
                         f"{STATE_TABLES_END} line")
    newline = "\r\n" if "\r\n" in text else "\n"
    block = state_tables_markdown().replace("\n", newline)
    new = (text[:begin + len(STATE_TABLES_BEGIN)] + newline + block + text[end:])
    if new == text:
        return False
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(new)
    return True


def main(argv=None) -> int:
    """``python -m tlslesson.lesson.diagrams --state-tables`` (print the Markdown),
    ``--update-readme README.md`` (rewrite its block), ``--state-diagrams DIR`` (save the four
    PNGs)."""
    import argparse
    import sys
    parser = argparse.ArgumentParser(prog="python -m tlslesson.lesson.diagrams",
                                     description="The handshake state tables, as text or PNG.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--state-tables", action="store_true",
                      help="print the four state tables as Markdown")
    what.add_argument("--update-readme", metavar="PATH",
                      help="rewrite the block between the state-tables markers in PATH")
    what.add_argument("--state-diagrams", metavar="DIR",
                      help="save the four state diagrams as DIR/state-<role>-<version>.png")
    args = parser.parse_args(argv)
    try:
        if args.state_tables:
            print(state_tables_markdown(), end="")
        elif args.update_readme:
            changed = update_readme(args.update_readme)
            print(f"{args.update_readme}: {'updated' if changed else 'already up to date'}")
        else:
            for role, version in states.TABLES:
                out = Path(args.state_diagrams) / f"state-{role}-{version}.png"
                out.write_bytes(to_png(state_diagram(role, version)))
                print(out)
    except (OSError, ValueError) as e:                 # one line, no traceback (DESIGN.md)
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
