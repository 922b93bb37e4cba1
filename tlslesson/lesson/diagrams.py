"""Pictures drawn from real transcripts: the ladder diagram, the key-derivation tree, and a
chart comparing cipher suites.

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
            rows.append((s.sender, s.name, bool(s.protected), len(s.record)))
        else:
            sender, name, protected, size = (tuple(s) + (False, 0))[:4]
            rows.append((sender, name, bool(protected), int(size)))
    return rows


# =================================================================================================
# The ladder diagram
# =================================================================================================
def ladder(steps, highlight: int | None = None, ax=None, title: str | None = None,
           show_bytes: bool = True, mark: int | None = None):
    """Client and server columns, one arrow per message in the order sent.

    ``steps``: a list of ``connection.Step`` (``Handshake.steps``), of (sender, name, protected,
    bytes) rows, or a model with ``ladder_rows()``. Encrypted messages are dashed and labelled
    "[enc]"; alerts are red; ``highlight`` (a step index) is drawn thick in orange; ``mark``
    (a step index) gets a "tampered" tag. Flights (consecutive messages from one side) are
    numbered on the left. Returns the Figure."""
    rows = _rows(steps)
    n = len(rows)
    if ax is None:
        fig = _figure(5.4, 0.36 * n + 1.0)
        ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    else:
        fig = ax.figure
    left, right = 0.0, 1.0
    ax.set_xlim(-0.42, 1.30)
    ax.set_ylim(n - 0.35, -1.15)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    for x, who in ((left, "client"), (right, "server")):
        ax.plot([x, x], [-0.65, n - 0.45], color="#6c757d", lw=1.2, zorder=1)
        ax.text(x, -0.8, who, ha="center", va="bottom", fontsize=10, fontweight="bold")

    # flights: shade every other one, number them on the left
    at, bands = 0, {}
    for k, (sender, names) in enumerate(flights(rows), 1):
        top, bottom = at - 0.5, at + len(names) - 0.5
        if k % 2 == 0:
            ax.axhspan(top, bottom, xmin=0.0, xmax=1.0, color=BAND, zorder=0)
        for j in range(at, at + len(names)):
            bands[j] = BAND if k % 2 == 0 else "white"
        ax.text(-0.40, (top + bottom) / 2, f"flight {k}", fontsize=7, color="#6c757d",
                va="center", ha="left")
        at += len(names)

    for i, row in enumerate(rows):
        sender, _name, _protected, size = row
        _message(ax, i, row, strong=i == highlight)
        if show_bytes:
            ax.text(1.04 if sender == "client" else -0.04, i, f"{size} B", fontsize=7,
                    color="#6c757d", va="center", ha="left" if sender == "client" else "right")
        if mark is not None and i == mark:
            ax.text(1.17, i, "tampered", fontsize=7, color=ALERT, va="center", ha="left",
                    fontweight="bold")
    fig.ladder_info = {"ax": ax, "rows": rows, "bands": bands}
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
                    va="bottom", fontsize=8.5, color=colour,
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
            eraser = Rectangle((0.004, highlight - 0.47), 0.992, 0.71, zorder=2, lw=0,
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
def _box(ax, x, y, text, *, faint=False, input_=False, value=None, width=None):
    face = "#f8f9fa" if input_ else ("#e9ecef" if faint else "#d8f3dc")
    edge = "#adb5bd" if faint or input_ else "#2d6a4f"
    label = text if value is None else f"{text}\n{value}"
    ax.text(x, y, label, ha="center", va="center", fontsize=8.5,
            color="#868e96" if faint else "#212529", zorder=3,
            bbox=dict(boxstyle="round,pad=0.35", fc=face, ec=edge,
                      ls="--" if input_ else "-", lw=1.0))


def _edge(ax, a, b, label=None, *, faint=False, label_at=0.5, ha="center", dy=0.0, dx=0.0):
    colour = "#ced4da" if faint else "#495057"
    ax.annotate("", xy=b, xytext=a, zorder=2,
                arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.1, shrinkA=14, shrinkB=14))
    if label:
        x = a[0] + (b[0] - a[0]) * label_at + dx
        y = a[1] + (b[1] - a[1]) * label_at + dy
        ax.text(x, y, label, fontsize=7.5, color="#868e96" if faint else "#6c757d",
                ha=ha, va="center", zorder=4,
                bbox=dict(fc="white", ec="none", pad=0.5, alpha=0.85))


def _short_hex(values, name):
    if values is None:
        return None
    value = values.get(name)
    if isinstance(value, (bytes, bytearray)) and value:
        return bytes(value[:8]).hex() + "…"
    return None


def key_tree(version: str = "1.2", values: dict | None = None, ems: bool = True, suite=None,
             ax=None):
    """The key-derivation tree: TLS 1.2's PRF (pre-master -> master -> key block -> keys,
    verify_data) or TLS 1.3's HKDF schedule (early / handshake / master secrets -> traffic
    secrets -> keys). With ``values`` (e.g. ``ExplorerModel.values_so_far()``) each node shows
    the first bytes of its value and the ones not computed yet are greyed out. ``suite`` sizes
    the TLS 1.2 key block's parts (default AES-128-GCM). Returns the Figure."""
    if version not in ("1.2", "1.3"):
        raise ValueError("version must be '1.2' or '1.3'")
    if ax is None:
        fig = _figure(9.6, 6.4)
        ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
    else:
        fig = ax.figure
    ax.set_xlim(-0.3, 10.3)
    ax.set_ylim(8.6, -0.6)
    ax.axis("off")

    def have(name):
        return values is None or name in values

    if version == "1.2":
        _tree12(ax, values, have, ems, suite)
    else:
        _tree13(ax, values, have)
    return fig


def _tree12(ax, values, have, ems, suite):
    from ..suites import get as get_suite
    ax.text(5, -0.35, "TLS 1.2 key derivation (RFC 5246 §5-8, RFC 7627)", ha="center",
            fontsize=11, fontweight="bold")
    _box(ax, 5, 0.5, "pre_master_secret", faint=not have("pre_master_secret"),
         value=_short_hex(values, "pre_master_secret"))
    if ems:
        _box(ax, 1.6, 1.9, "session_hash\n= Hash(ClientHello..ClientKeyExchange)", input_=True,
             value=_short_hex(values, "session_hash"))
        label = 'PRF(pre_master, "extended master secret", session_hash)'
    else:
        _box(ax, 1.6, 1.9, "client_random + server_random", input_=True)
        label = 'PRF(pre_master, "master secret", client_random + server_random)'
    _edge(ax, (1.6, 1.9), (5, 3.0), faint=not have("master_secret"))
    _edge(ax, (5, 0.5), (5, 3.0), label, faint=not have("master_secret"), label_at=0.45)
    _box(ax, 5, 3.0, "master_secret (48 bytes)", faint=not have("master_secret"),
         value=_short_hex(values, "master_secret"))
    # Finished: a PRF over the master secret and the transcript hash, for each side
    _box(ax, 8.6, 1.5, "Hash(all handshake messages\nbefore this Finished)", input_=True)
    _box(ax, 8.6, 3.0, "client verify_data (12 B)", faint=not have("client_verify_data"),
         value=_short_hex(values, "client_verify_data"))
    _box(ax, 8.6, 4.7, "server verify_data (12 B)", faint=not have("server_verify_data"),
         value=_short_hex(values, "server_verify_data"))
    _edge(ax, (8.6, 1.5), (8.6, 3.0), faint=not have("client_verify_data"))
    _edge(ax, (5, 3.0), (8.6, 3.0), 'PRF(master, "client finished",\nhash)[:12]',
          faint=not have("client_verify_data"), label_at=0.52, dy=-0.45)
    _edge(ax, (5, 3.0), (8.6, 4.7), 'PRF(master, "server finished",\nhash)[:12]',
          faint=not have("server_verify_data"), label_at=0.5, dy=0.45)
    # key block as a bar cut into its parts
    s = get_suite(suite or "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    iv = 0 if s.mac else s.iv_length
    parts = [("client_write_mac_key", s.mac_length), ("server_write_mac_key", s.mac_length),
             ("client_write_key", s.key_length), ("server_write_key", s.key_length),
             ("client_write_iv", iv), ("server_write_iv", iv)]
    parts = [(n, size) for n, size in parts if size]
    kb_have = have("client_write_key")
    _edge(ax, (5, 3.0), (3.6, 6.3),
          'PRF(master, "key expansion", server_random + client_random)', faint=not kb_have,
          label_at=0.45, dx=-1.4)
    total = sum(size for _, size in parts)
    x, x_end, y = 0.2, 7.0, 6.8
    ax.text(0.2, 6.3, f"key_block ({total} bytes for {s.openssl_name}), cut in this order:",
            fontsize=8.5, ha="left", va="center", color="#212529" if kb_have else "#868e96")
    scale = (x_end - x) / total
    palette = {"mac": "#ffd6a5", "key": "#9bf6ff", "iv": "#caffbf"}
    for name, size in parts:
        w = size * scale
        kind = name.rsplit("_", 1)[1] if not name.endswith("mac_key") else "mac"
        ax.add_patch(_rect(x, y, w, 0.9, palette[kind] if kb_have else "#e9ecef"))
        short = name.replace("_write", "").replace("_", " ")
        ax.text(x + w / 2, y + 0.3, short, ha="center", va="center", fontsize=7, rotation=0,
                color="#212529" if kb_have else "#868e96", wrap=True)
        ax.text(x + w / 2, y + 0.68, f"{size} B", ha="center", va="center", fontsize=7,
                color="#495057")
        x += w
    if s.aead:
        ax.text(0.2, 8.1, "AEAD suite: no MAC keys; the 4-byte (GCM) / 12-byte (ChaCha20) IV "
                "salts each record's nonce.", fontsize=7.5, color="#6c757d")
    else:
        ax.text(0.2, 8.1, "CBC suite: HMAC keys first; no IVs from the key block (each record "
                "carries its own explicit IV).", fontsize=7.5, color="#6c757d")


def _rect(x, y, w, h, colour):
    from matplotlib.patches import Rectangle
    return Rectangle((x, y), w, h, fc=colour, ec="#495057", lw=0.8, zorder=2)


def _tree13(ax, values, have):
    ax.text(5, -0.35, "TLS 1.3 key schedule (RFC 8446 §7.1): HKDF-Extract down, "
            "Derive-Secret across", ha="center", fontsize=11, fontweight="bold")
    col, right = 3.6, 8.1
    _box(ax, 0.8, 0.6, "PSK\n(none: zeros)", input_=True)
    _box(ax, col, 0.6, "early_secret", faint=not have("early_secret"),
         value=_short_hex(values, "early_secret"))
    _edge(ax, (0.8, 0.6), (col, 0.6), "HKDF-Extract", faint=not have("early_secret"))
    _box(ax, 0.8, 2.7, "(EC)DHE shared secret\n(key_share)", input_=True,
         value=_short_hex(values, "shared_secret"))
    _box(ax, col, 2.7, "handshake_secret", faint=not have("handshake_secret"),
         value=_short_hex(values, "handshake_secret"))
    _edge(ax, (col, 0.6), (col, 2.7), 'Derive-Secret(., "derived", "")',
          faint=not have("handshake_secret"), label_at=0.5)
    _edge(ax, (0.8, 2.7), (col, 2.7), "HKDF-Extract", faint=not have("handshake_secret"))
    for y, who, label in ((1.8, "client", '"c hs traffic"'), (3.6, "server", '"s hs traffic"')):
        name = f"{who}_handshake_traffic_secret"
        _box(ax, right, y, f"{name}\n-> key, iv, finished_key", faint=not have(name),
             value=_short_hex(values, name))
        _edge(ax, (col, 2.7), (right, y), f"{label}, H(ClientHello..ServerHello)",
              faint=not have(name), label_at=0.5)
    _box(ax, 0.8, 5.4, "0\n(zeros)", input_=True)
    _box(ax, col, 5.4, "master_secret", faint=not have("master_secret"),
         value=_short_hex(values, "master_secret"))
    _edge(ax, (col, 2.7), (col, 5.4), 'Derive-Secret(., "derived", "")',
          faint=not have("master_secret"), label_at=0.5)
    _edge(ax, (0.8, 5.4), (col, 5.4), "HKDF-Extract", faint=not have("master_secret"))
    outs = ((4.7, "client_application_traffic_secret_0", '"c ap traffic"'),
            (5.7, "server_application_traffic_secret_0", '"s ap traffic"'),
            (6.7, "exporter_master_secret", '"exp master"'),
            (7.7, "resumption_master_secret", '"res master"'))
    for y, name, label in outs:
        extra = "\n-> key, iv" if "traffic" in name else ""
        _box(ax, right, y, name + extra, faint=not have(name), value=_short_hex(values, name))
        hashed = "H(..client Finished)" if name.startswith("res") else "H(..server Finished)"
        _edge(ax, (col, 5.4), (right, y), f"{label}, {hashed}", faint=not have(name),
              label_at=0.62)
    ax.text(0.2, 8.4, 'Derive-Secret(S, label, msgs) = HKDF-Expand-Label(S, label, '
            'Transcript-Hash(msgs), Hash.length);  key/iv = HKDF-Expand-Label(secret, '
            '"key"/"iv", "", length)', fontsize=7.5, color="#6c757d")


# =================================================================================================
# Comparing suites
# =================================================================================================
def suite_chart(rows=None, repeat: int = 5):
    """Three bar charts per suite: handshake cost (ms, both sides, in memory), round trips
    before the client may send data, and bytes on the wire. ``rows`` from
    ``measure_suites()`` (measured now if None)."""
    rows = list(rows) if rows is not None else measure_suites(repeat)
    fig = _figure(11.0, 0.38 * len(rows) + 1.6)
    axes = fig.subplots(1, 3, sharey=True)
    fig.subplots_adjust(left=0.26, right=0.98, top=0.86, bottom=0.12, wspace=0.12)
    labels = [f"{r.openssl_name} ({r.version})" for r in rows]
    colours = ["#2a9d8f" if r.version == "1.3" else "#457b9d" for r in rows]
    ys = range(len(rows))
    for ax, (title, key, fmt) in zip(axes, (("handshake cost (ms, both sides)", "ms", "{:.1f}"),
                                            ("round trips before data", "round_trips", "{:d}"),
                                            ("bytes on the wire", "bytes", "{:d}"))):
        values = [getattr(r, key) for r in rows]
        ax.barh(list(ys), values, color=colours)
        ax.set_title(title, fontsize=9)
        ax.invert_yaxis() if ax is axes[0] else None
        if key == "round_trips":
            ax.set_xticks(range(max(values) + 1))
        for y, v in zip(ys, values):
            ax.text(v, y, " " + fmt.format(v), va="center", fontsize=7)
        ax.tick_params(labelsize=8)
        ax.margins(x=0.18)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[0].set_yticks(list(ys), labels)
    fig.suptitle("Cipher suites compared (teal: TLS 1.3, blue: TLS 1.2) — measured in this "
                 "kernel", fontsize=10)
    return fig
