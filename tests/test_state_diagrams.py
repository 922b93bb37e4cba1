"""The state-machine diagrams are drawn from ``tlslesson.states`` and nothing else: every state
one box, every transition one arrow and one label, a walk lit up exactly, and nothing drawn on
top of anything else (measured on matplotlib's Agg renderer)."""
from __future__ import annotations

import doctest
import gc
import os
import re
import subprocess
import sys
import weakref
from collections import Counter
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from tlslesson import states  # noqa: E402
from tlslesson.lesson import diagrams  # noqa: E402
from tlslesson.lesson.diagrams import STRONG  # noqa: E402

KINDS = list(states.TABLES)
IDS = [f"{role}-{version}" for role, version in KINDS]

# One real handshake per table (full handshakes, HelloRetryRequest in 1.3, client auth where the
# table has it), for the highlight tests.
WALKS = {
    ("client", "1.3"): ["START", "WAIT_SH", "START", "WAIT_SH", "WAIT_EE", "WAIT_CERT_CR", "WAIT_CERT",
                        "WAIT_CV", "WAIT_FINISHED", "CONNECTED", "CONNECTED"],
    ("server", "1.3"): ["START", "RECVD_CH", "START", "RECVD_CH", "NEGOTIATED", "WAIT_FLIGHT2",
                        "WAIT_FINISHED", "CONNECTED"],
    ("client", "1.2"): ["START", "WAIT_SH", "WAIT_CERT", "WAIT_SKE", "WAIT_CR_OR_SHD",
                        "SEND_FLIGHT", "WAIT_CCS", "WAIT_FINISHED", "CONNECTED"],
    ("server", "1.2"): ["START", "RECVD_CH", "WAIT_CERT", "WAIT_CKE", "WAIT_CV", "WAIT_CCS",
                        "WAIT_FINISHED", "SEND_FINISHED", "CONNECTED"],
}


def tagged(fig, prefix: str) -> list:
    """The texts and patches of the diagram whose gid starts with ``prefix``."""
    (ax,) = fig.axes
    return [a for a in [*ax.texts, *ax.patches] if (a.get_gid() or "").startswith(prefix)]


def strong(artist) -> bool:
    colour = artist.get_color() if hasattr(artist, "get_text") else artist.get_edgecolor()
    return to_rgba(colour) == to_rgba(STRONG)


def crosses(path, extent, filled=False) -> bool:
    """Whether the drawn arrow ``path`` (display coordinates) meets ``extent``. Taken apart into
    polylines first: an arrow's path ends in a CLOSEPOLY whose (unused) vertex
    ``intersects_bbox`` would count."""
    return any(MplPath(line).intersects_bbox(extent, filled=filled)
               for line in path.to_polygons(closed_only=False))


# -- what is drawn ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_every_transition_has_one_arrow_and_one_label(kind):
    table = states.TABLES[kind]
    fig = diagrams.state_diagram(*kind)
    edges = states.edges(table)
    labels = tagged(fig, "label:")
    assert Counter(t.get_gid() for t in labels) == Counter(f"label:{a}|{label}|{b}"
                                                           for a, label, b in edges)
    assert (Counter(t.get_text().replace("\n", " ") for t in labels)      # wrapped, same words
            == Counter(label for _, label, _ in edges))
    arrows = tagged(fig, "edge:")
    assert Counter(p.get_gid() for p in arrows) == Counter({f"edge:{a}->{b}" for a, _, b in edges})
    boxes = {p.get_gid()[len("state:"):]: p.get_extents() for p in tagged(fig, "state:")}
    FigureCanvasAgg(fig).draw()
    for arrow in arrows:         # each arrow runs from its state's box to its target's
        a, b = arrow.get_gid()[len("edge:"):].split("->")
        ends = arrow.get_path().transformed(fig.axes[0].transData).vertices
        for state in (a, b):
            box = boxes[state].padded(2)
            assert any(box.contains(x, y) for x, y in ends), f"{a}->{b} misses the box {state}"


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_every_state_has_exactly_one_box_in_table_order(kind):
    table = states.TABLES[kind]
    fig = diagrams.state_diagram(*kind)
    boxes = tagged(fig, "state:")
    assert [p.get_gid() for p in boxes] == [f"state:{s}" for s in table]
    names = [t for t in fig.axes[0].texts if t.get_text() in table]
    assert sorted(t.get_text() for t in names) == sorted(table)     # one name each
    tops = [p.get_y() for p in boxes]
    assert tops == sorted(tops) and len(set(tops)) == len(tops)      # top to bottom, table order
    assert not any(strong(a) for a in tagged(fig, ""))               # no walk: nothing lit


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_a_walk_highlights_exactly_its_states_and_steps(kind):
    walk = WALKS[kind]
    fig = diagrams.state_diagram(*kind, walk=walk)
    lit = {p.get_gid()[len("state:"):] for p in tagged(fig, "state:") if strong(p)}
    assert lit == set(walk)
    steps = {f"{a}->{b}" for a, b in zip(walk, walk[1:])}
    assert {p.get_gid()[len("edge:"):] for p in tagged(fig, "edge:") if strong(p)} == steps
    lit_labels = {t.get_gid() for t in tagged(fig, "label:") if strong(t)}
    assert lit_labels == {f"label:{a}|{l}|{b}" for a, l, b in states.edges(states.TABLES[kind])
                          if f"{a}->{b}" in steps}


@pytest.mark.parametrize("walk, named", [
    (["START", "WAIT_SH", "WAIT_HELLO"], "'WAIT_HELLO'"),            # no such state
    (["START", "WAIT_SH", "WAIT_EE"], "'WAIT_EE'"),                  # a TLS 1.3 state, not 1.2's
    (["START", "WAIT_SH", "WAIT_FINISHED"], "WAIT_SH to WAIT_FINISHED"),   # CCS comes first
    (["START", "CONNECTED"], "START to CONNECTED"),
])
def test_an_impossible_walk_is_a_value_error_naming_the_state(walk, named):
    figures = plt.get_fignums()
    with pytest.raises(ValueError, match=named):
        diagrams.state_diagram("client", "1.2", walk=walk)
    assert plt.get_fignums() == figures


def test_an_unknown_table_is_a_value_error():
    with pytest.raises(ValueError, match="'1.1'"):
        diagrams.state_diagram("client", "1.1")
    with pytest.raises(ValueError, match="'peer'"):
        diagrams.state_table_text("peer", "1.3")


# -- how it is drawn -------------------------------------------------------------------------------
@pytest.mark.parametrize("walk", [False, True], ids=["plain", "walk"])
@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_nothing_is_drawn_over_anything_else(kind, walk):
    """Labels apart from each other, from the boxes and from the arrows; arrows clear of every
    box but their own two ends (self-loops and back edges included); all inside the figure."""
    fig = diagrams.state_diagram(*kind, walk=WALKS[kind] if walk else None)
    (ax,) = fig.axes
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = {p.get_gid()[len("state:"):]: p.get_window_extent(renderer)
             for p in tagged(fig, "state:")}
    arrows = {p.get_gid(): p.get_path().transformed(ax.transData) for p in tagged(fig, "edge:")}
    texts = [(t.get_text(), t.get_gid(), t.get_window_extent(renderer)) for t in ax.texts]
    problems = []
    for i, (text, gid, extent) in enumerate(texts):
        problems += [f"{text!r} overlaps {other!r}" for other, _, e in texts[i + 1:]
                     if extent.overlaps(e)]
        own = gid[len("name:"):] if gid.startswith("name:") else None
        problems += [f"{text!r} overlaps the box {s}" for s, box in boxes.items()
                     if s != own and extent.overlaps(box)]
        problems += [f"{text!r} is crossed by {edge}" for edge, path in arrows.items()
                     if crosses(path, extent)]
        if not (fig.bbox.contains(extent.x0, extent.y0)
                and fig.bbox.contains(extent.x1, extent.y1)):
            problems.append(f"{text!r} is cut off by the figure's edge")
    for edge, path in arrows.items():
        ends = edge[len("edge:"):].split("->")
        problems += [f"{edge} crosses the box {s}" for s, box in boxes.items()
                     if s not in ends and crosses(path, box.padded(-1), filled=True)]
    assert not problems


def test_figures_are_freed_and_pyplot_never_sees_them():
    figures = plt.get_fignums()
    refs = []
    for kind in KINDS:
        for walk in (None, WALKS[kind]):
            fig = diagrams.state_diagram(*kind, walk=walk)
            assert diagrams.to_png(fig).startswith(b"\x89PNG") and fig._repr_png_()
            refs.append(weakref.ref(fig))
    del fig
    gc.collect()
    assert plt.get_fignums() == figures and not any(ref() for ref in refs)
    # drawn into an Axes of the caller's: that figure is returned, and the caller closes it
    fig, ax = plt.subplots()
    assert diagrams.state_diagram("server", "1.3", ax=ax) is fig
    plt.close(fig)
    assert plt.get_fignums() == figures


# -- the tables as text ----------------------------------------------------------------------------
LINE = re.compile(r"(\S+) +(.+?)  +-> (.+)$")


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_the_text_lists_each_transition_once_aligned(kind):
    table = states.TABLES[kind]
    text = diagrams.state_table_text(*kind)
    listed, arrows = [], set()
    for line in text.splitlines():
        match = LINE.match(line)
        if match is None:                              # only a state with nothing to do
            state, rest = line.split(maxsplit=1)
            assert rest == "(no transitions)" and not table[state], line
            continue
        state, label, targets = match.groups()
        listed += [(state, label, to) for to in targets.split(" | ")]
        if len(label) <= diagrams.LABEL_COLUMN:
            arrows.add(line.index("->"))
    assert Counter(listed) == Counter(states.edges(table))
    assert len(arrows) == 1                            # one column for every "->" that fits
    assert len({line.index(line.split()[1]) for line in text.splitlines()}) == 1
    assert [line.split()[0] for line in text.splitlines()] == sorted(
        [line.split()[0] for line in text.splitlines()], key=list(table).index)   # table order


def test_the_markdown_has_each_table_under_its_heading():
    md = diagrams.state_tables_markdown()
    headings = re.findall(r"^### (.+)$", md, re.M)
    assert headings == [diagrams.STATE_TITLES[kind] for kind in KINDS]
    assert headings[:2] == ["TLS 1.3 client (RFC 8446 App. A.1)",
                            "TLS 1.3 server (RFC 8446 App. A.2)"]
    blocks = re.findall(r"^```text\n(.*?)\n```$", md, re.M | re.S)
    assert blocks == [diagrams.state_table_text(*kind) for kind in KINDS]


README = """# tlslesson

Some prose the README's author wrote.

{begin}
stale tables, from before
{end}

More prose, kept as it is: `code`, <!-- a comment -->
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_update_readme_rewrites_only_the_marked_block(tmp_path, newline):
    path = tmp_path / "README.md"
    before = README.format(begin=diagrams.STATE_TABLES_BEGIN, end=diagrams.STATE_TABLES_END)
    path.write_bytes(before.replace("\n", newline).encode())
    assert diagrams.update_readme(path) is True
    after = path.read_bytes().decode()
    head, rest = after.split(diagrams.STATE_TABLES_BEGIN)
    block, tail = rest.split(diagrams.STATE_TABLES_END)
    old_head, old_rest = before.replace("\n", newline).split(diagrams.STATE_TABLES_BEGIN)
    assert head == old_head and tail == old_rest.split(diagrams.STATE_TABLES_END)[1]
    assert block == newline + diagrams.state_tables_markdown().replace("\n", newline)
    assert "stale" not in after
    assert diagrams.update_readme(path) is False and path.read_bytes().decode() == after


@pytest.mark.parametrize("text", [
    "no markers at all\n",
    f"{diagrams.STATE_TABLES_END}\nreversed\n{diagrams.STATE_TABLES_BEGIN}\n",
    f"{diagrams.STATE_TABLES_BEGIN}\n{diagrams.STATE_TABLES_BEGIN}\n{diagrams.STATE_TABLES_END}\n",
])
def test_update_readme_refuses_a_file_without_one_pair_of_markers(tmp_path, text):
    path = tmp_path / "README.md"
    path.write_text(text)
    with pytest.raises(ValueError, match="state-tables:begin"):
        diagrams.update_readme(path)
    assert path.read_text() == text


def test_the_command_line_prints_the_tables_and_updates_a_readme(tmp_path):
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "tlslesson.lesson.diagrams", *args],
                              capture_output=True, text=True, env=env, cwd=tmp_path)

    out = run("--state-tables")
    assert out.returncode == 0 and out.stdout == diagrams.state_tables_markdown(), out.stderr
    readme = tmp_path / "README.md"
    readme.write_text(f"x\n{diagrams.STATE_TABLES_BEGIN}\n{diagrams.STATE_TABLES_END}\n")
    assert run("--update-readme", str(readme)).returncode == 0
    assert diagrams.state_tables_markdown() in readme.read_text()
    bad = run("--update-readme", str(tmp_path / "missing.md"))     # one line, no traceback
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    assert run("--state-diagrams", str(tmp_path)).returncode == 0
    assert sorted(p.name for p in tmp_path.glob("state-*.png")) == sorted(
        f"state-{role}-{version}.png" for role, version in KINDS)


def test_the_doctests_hold():
    failures, tried = doctest.testmod(diagrams)
    assert tried and not failures


def test_the_readme_shows_the_tables_as_they_are(tmp_path):
    """README.md's block between the markers is what states.py says (regenerate it with
    `python -m tlslesson.lesson.diagrams --update-readme README.md`)."""
    import shutil
    from pathlib import Path
    copy = tmp_path / "README.md"
    shutil.copy(Path(__file__).resolve().parent.parent / "README.md", copy)
    assert diagrams.update_readme(copy) is False, "README.md's state tables are stale"
