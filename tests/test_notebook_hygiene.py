"""The lesson notebooks follow the course conventions (notebooks/NN-name.ipynb; not assignments/).

* structure: nbformat 4, numbered NN-short-name consecutively from 00, a first markdown cell with
  "What you'll learn / do / need", a "Check your understanding" heading;
* outputs: stored only on cells tagged ``nbval-check-output``, and every such cell has them (nbval
  compares nothing for a cell saved without output), no widget state, at least one such cell;
  no ``# NBVAL_...`` comment in a cell's source (the tag is the rule: students read no test
  plumbing; ``python tests/notebook_outputs.py convert`` turns comments into tags).

That they run is not tested here: ``make test`` runs every notebook once, under nbval (which fails
on a cell that raises, and compares the marked cells' outputs). How long each takes on its own is
the bench's business (``benchmarks/bench.py``, "notebooks on their own").

The outputs rule is ``tests/notebook_outputs.py``'s ``problems()``; fix a failure with
``python tests/notebook_outputs.py refresh notebooks/NN-*.ipynb``.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))   # not notebooks/assignments/**
NAME = re.compile(r"^(\d\d)-[a-z0-9]+(?:-[a-z0-9]+)*\.ipynb$")


def _outputs_tool():
    spec = importlib.util.spec_from_file_location("notebook_outputs",
                                                  ROOT / "tests" / "notebook_outputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _outputs_tool()
ids = [p.name for p in NOTEBOOKS]


def read(path: Path):
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def test_names_are_numbered_consecutively_from_00():
    bad = [p.name for p in NOTEBOOKS if not NAME.match(p.name)]
    assert not bad, f"not NN-short-name.ipynb: {bad}"
    numbers = [int(NAME.match(p.name).group(1)) for p in NOTEBOOKS]
    assert numbers == list(range(len(numbers))), f"numbers not 00, 01, ... without gaps: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_valid_nbformat_4(path):
    nb = read(path)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_opens_with_learn_do_need(path):
    first = read(path).cells[0]
    assert first.cell_type == "markdown", "the first cell must be markdown"
    for heading in ("What you'll learn", "What you'll do", "What you'll need"):
        assert heading in first.source, f"first cell lacks {heading!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_ends_with_check_your_understanding(path):
    headings = [line for cell in read(path).cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if line.startswith("#")]
    assert any("Check your understanding" in h for h in headings), \
        "no 'Check your understanding' heading"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_outputs_only_on_checked_cells(path):
    problems = tool.problems(read(path))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_has_a_checked_cell(path):
    assert any(tool.is_checked(c) for c in read(path).cells), \
        f"no cell tagged {tool.TAG}: nbval would compare nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_nbval_comment_markers(path):
    found = [f"cell {i}: # {m}" for i, c in enumerate(read(path).cells) for m in tool.comment_markers(c)]
    assert not found, "nbval comment markers (use cell tags): " + ", ".join(found)


def test_convert_turns_comment_markers_into_tags():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="1\n")]),
        nbformat.v4.new_code_cell("#  NBVAL_SKIP\nx = 1"),
        nbformat.v4.new_code_cell("print(2)")])
    assert tool.convert(nb) == 2
    first, second, third = nb.cells
    assert first.source == "print(1)" and first.metadata["tags"] == ["nbval-check-output"]
    assert first.outputs and tool.is_checked(first)
    assert second.source == "x = 1" and second.metadata["tags"] == ["nbval-skip"]
    assert "tags" not in third.metadata and tool.convert(nb) == 0
