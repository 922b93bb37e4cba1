"""Keep notebook outputs to exactly what nbval should compare.

Notebooks are committed without outputs, except code cells tagged ``nbval-check-output`` (cell
metadata ``tags``, which nbval reads under ``--nbval-lax``): their stored output is the expected
output ``pytest --nbval-lax`` compares against (nbval compares nothing for a cell saved without
outputs). A tag, not the ``# NBVAL_CHECK_OUTPUT`` comment nbval also accepts, so a student reads no
test plumbing in the code.

    python tests/notebook_outputs.py refresh notebooks/01-client-hello.ipynb ...
        execute each notebook (cwd = its folder, 60 s per cell), keep outputs and execution_count
        only on marked cells, clear everything else (outputs, counts, widget state, per-cell
        execution/collapsed/scrolled metadata), write it back (nbformat, indent 1).
    python tests/notebook_outputs.py convert notebooks/13-new-lesson.ipynb ...
        turn nbval comment markers (a first line ``# NBVAL_CHECK_OUTPUT``, ``# NBVAL_IGNORE_OUTPUT``,
        ``# NBVAL_SKIP``, ``# NBVAL_RAISES_EXCEPTION``) into the cell tags nbval reads instead
        (``nbval-check-output``, ...): the line is removed, the outputs are kept; no kernel runs.
    python tests/notebook_outputs.py check notebooks/*.ipynb
        exit 1 (listing every problem) if a notebook breaks the rule; writes nothing.

``problems(nb)`` is the rule itself; tests/test_notebook_hygiene.py uses it.
"""
from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import time
from pathlib import Path

import nbformat

TAG = "nbval-check-output"            # the cell tag that marks a compared cell
COMMENT_MARKERS = {                    # nbval's comment markers -> the tags nbval reads instead
    "NBVAL_CHECK_OUTPUT": "nbval-check-output",
    "NBVAL_IGNORE_OUTPUT": "nbval-ignore-output",
    "NBVAL_SKIP": "nbval-skip",
    "NBVAL_RAISES_EXCEPTION": "raises-exception",
}
CELL_TIMEOUT = 60                     # seconds per cell
NOISY_CELL_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")
ROOT = Path(__file__).resolve().parent.parent


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_checked(cell) -> bool:
    """A code cell tagged ``nbval-check-output``."""
    return cell.get("cell_type") == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def comment_markers(cell) -> list[str]:
    """The nbval comment markers (``# NBVAL_...`` lines) in a code cell's source."""
    if cell.get("cell_type") != "code":
        return []
    found = []
    return [m for m in map(_marker, _source(cell).splitlines()) if m]


def _marker(line: str) -> str | None:
    """The nbval marker a source line is (``# NBVAL_SKIP`` -> "NBVAL_SKIP"), else None."""
    text = line.strip()
    name = text.lstrip("#").strip()
    return name if text.startswith("#") and name in COMMENT_MARKERS else None


def convert(nb) -> int:
    """Replace nbval comment markers by cell tags, in place; returns how many cells changed."""
    changed = 0
    for cell in nb.cells:
        markers = comment_markers(cell)
        if not markers:
            continue
        cell.source = "\n".join(line for line in _source(cell).splitlines() if not _marker(line))
        tags = list(cell.metadata.get("tags", []))
        for marker in markers:
            if COMMENT_MARKERS[marker] not in tags:
                tags.append(COMMENT_MARKERS[marker])
        cell.metadata["tags"] = tags
        changed += 1
    return changed


def problems(nb) -> list[str]:
    """Every way ``nb`` (a NotebookNode) breaks the outputs rule; [] when it is clean."""
    found = []
    if "widgets" in nb.get("metadata", {}):
        found.append("notebook metadata holds widget state (metadata.widgets)")
    for index, cell in enumerate(nb.cells):
        where = f"cell {index} ({cell.get('id', 'no id')})"
        for marker in comment_markers(cell):
            found.append(f"{where}: '# {marker}' comment in the source: use the cell tag "
                         f"'{COMMENT_MARKERS[marker]}' (run `python tests/notebook_outputs.py "
                         "convert`)")
        for key in NOISY_CELL_METADATA:
            if key in cell.get("metadata", {}):
                found.append(f"{where}: cell metadata '{key}'")
        if cell.get("cell_type") != "code":
            continue
        outputs = cell.get("outputs", [])
        if is_checked(cell):
            if not outputs:
                found.append(f"{where}: tagged {TAG} but has no stored output "
                             "(run `python tests/notebook_outputs.py refresh`)")
            for out in outputs:
                if out.get("output_type") == "error":
                    found.append(f"{where}: stored output is an error ({out.get('ename')})")
                data = out.get("data", {})
                if "application/vnd.jupyter.widget-view+json" in data:
                    found.append(f"{where}: stored output is a widget")
        else:
            if outputs:
                found.append(f"{where}: has outputs but is not tagged {TAG}")
            if cell.get("execution_count") is not None:
                found.append(f"{where}: has an execution_count but is not tagged {TAG}")
    return found


def clean(nb, metadata=None):
    """Strip ``nb`` in place to what may be committed. ``metadata``: the notebook metadata to
    keep (the file's own, so a kernel's language_info version does not churn the diff)."""
    if metadata is not None:
        nb.metadata = copy.deepcopy(metadata)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for key in NOISY_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        if is_checked(cell):
            for out in cell.outputs:
                out.get("metadata", {}).pop("execution", None)
        else:
            cell.outputs = []
            cell.execution_count = None
    return nb


def execute(path: Path, timeout: int = CELL_TIMEOUT):
    """Run a notebook top to bottom in a fresh python3 kernel, cwd = its folder.
    Returns (executed notebook, seconds). Raises nbclient's CellExecutionError on a failing cell."""
    from nbclient import NotebookClient

    # The kernel inherits our environment: make the checkout importable even without
    # `pip install -e .` (an installed tlslesson still comes first only if it is on sys.path earlier).
    paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - start


def refresh(path: Path) -> float:
    original = nbformat.read(path, as_version=4)
    nb, seconds = execute(path)
    clean(nb, original.metadata)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("refresh", "check", "convert"))
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        if args.command == "convert":
            nb = nbformat.read(path, as_version=4)
            changed = convert(nb)
            if changed:
                nbformat.validate(nb)
                nbformat.write(nb, path)
            print(f"{path}: {changed} cell(s) converted to tags")
            continue
        if args.command == "refresh":
            try:
                seconds = refresh(path)
            except Exception as exc:        # one line per notebook, then go on with the rest
                first = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
                print(f"{path}: FAILED: {type(exc).__name__}: "
                      f"{first[-1] if first else ''}", file=sys.stderr)
                status = 1
                continue
            nb = nbformat.read(path, as_version=4)
            marked = sum(is_checked(c) for c in nb.cells)
            print(f"{path}: refreshed in {seconds:.1f} s, {marked} {TAG} cells")
        else:
            found = problems(nbformat.read(path, as_version=4))
            for problem in found:
                print(f"{path}: {problem}", file=sys.stderr)
            if found:
                status = 1
            else:
                print(f"{path}: ok")
    return status


if __name__ == "__main__":
    sys.exit(main())
