"""Make the student versions of the assignments from the instructor versions (no nbgrader needed).

    python -m tlslesson.assignments release            # write notebooks/assignments/release/
    python -m tlslesson.assignments release --check    # exit 1 if the committed copies are stale
    python -m tlslesson.assignments release --students ids.txt --out class/
                          # a class set: class/<id>/<assignment>/..., STUDENT filled in for each

What it does to each ``source/<assignment>/*.ipynb`` is what ``nbgrader generate_assignment`` does
to the cells (so nbgrader and this command hand out the same notebook):

* in a code cell, the lines from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` become
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (indented like the BEGIN line); in a
  markdown cell they become ``YOUR ANSWER HERE``. A solution cell (nbgrader metadata
  ``solution: true``) without such a region is replaced whole by the stub.
* the lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` are removed.
* outputs and execution counts are cleared.
* answer cells can't be deleted, and tests and read-only cells can't be edited either (cell
  metadata ``deletable``/``editable``, as nbgrader's LockCells sets them).

Other files in an assignment's folder are copied as they are. The notebooks are written as JSON
the way nbformat writes them (sorted keys, indent 1), so the output is byte-for-byte stable.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"

DEFAULT_SOURCE = Path("notebooks/assignments/source")
DEFAULT_RELEASE = Path("notebooks/assignments/release")


class ReleaseError(Exception):
    """An instructor notebook the generator cannot turn into a student version."""


def _source_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _is_solution(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def _replace_region(text: str, begin: str, end: str, stub: str | None,
                    where: str) -> tuple[str, bool]:
    """Cut every ``begin`` ... ``end`` region out of ``text`` (marker lines included), putting
    ``stub`` (indented like the marker) in its place when given. Returns (text, found any)."""
    out, inside, found = [], False, False
    for line in text.split("\n"):
        if begin in line:
            if inside:
                raise ReleaseError(f"{where}: nested {begin}")
            inside = found = True
            if stub is not None:
                indent = re.match(r"\s*", line).group(0)
                out.extend(indent + stub_line for stub_line in stub.split("\n"))
        elif end in line:
            if not inside:
                raise ReleaseError(f"{where}: {end} without {begin}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{where}: {begin} without {end}")
    return "\n".join(out), found


def _replace_solution(text: str, stub: str, where: str) -> tuple[str, bool]:
    return _replace_region(text, BEGIN_SOLUTION, END_SOLUTION, stub, where)


def _remove_hidden(text: str, where: str) -> tuple[str, bool]:
    return _replace_region(text, BEGIN_HIDDEN, END_HIDDEN, None, where)


def _lock(cell: dict) -> None:
    """What nbgrader's LockCells does by default, so students can't delete answer cells or edit
    tests (JupyterLab and Notebook honour `deletable` / `editable`)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    solution, grade, locked = (bool(meta.get(k)) for k in ("solution", "grade", "locked"))
    if solution:
        cell["metadata"]["deletable"] = False
    elif grade or locked:
        cell["metadata"]["deletable"] = False
        cell["metadata"]["editable"] = False


def student_version(notebook: dict, name: str = "notebook") -> dict:
    """The student version of one instructor notebook (a dict as json.load gives it)."""
    nb = copy.deepcopy(notebook)
    for index, cell in enumerate(nb.get("cells", [])):
        where = f"{name}, cell {index} ({cell.get('id', 'no id')})"
        text = _source_text(cell)
        text, _ = _remove_hidden(text, where)
        stub = CODE_STUB if cell.get("cell_type") == "code" else TEXT_STUB
        text, replaced = _replace_solution(text, stub, where)
        if replaced and not _is_solution(cell):
            raise ReleaseError(f"{where}: a solution region in a cell that is not marked as a "
                               "solution cell (nbgrader metadata solution: true)")
        if _is_solution(cell) and not replaced:
            text = stub
        cell["source"] = text.splitlines(True)      # stored as lines, as nbformat writes it
        _lock(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    nb.get("metadata", {}).pop("celltoolbar", None)
    return nb


def dumps(notebook: dict) -> str:
    """JSON as nbformat writes it: sorted keys, indent 1, non-ASCII kept, a final newline."""
    return json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def _outputs(source_dir: Path) -> dict[Path, bytes]:
    """relative path -> bytes of every file the release should contain."""
    files: dict[Path, bytes] = {}
    for path in sorted(source_dir.rglob("*")):
        if not path.is_file() or ".ipynb_checkpoints" in path.parts or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(source_dir)
        if path.suffix == ".ipynb":
            try:
                notebook = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ReleaseError(f"{path}: not a readable notebook ({exc})") from None
            files[relative] = dumps(student_version(notebook, str(relative))).encode("utf-8")
        else:
            files[relative] = path.read_bytes()
    return files


def generate(source_dir, release_dir) -> list[Path]:
    """Write the student versions of everything under ``source_dir`` into ``release_dir``
    (files of the release that have no source are removed). Returns the paths written."""
    source_dir, release_dir = Path(source_dir), Path(release_dir)
    if not source_dir.is_dir():
        raise ReleaseError(f"no instructor notebooks at {source_dir}")
    files = _outputs(source_dir)
    if release_dir.exists():
        for old in sorted(release_dir.rglob("*"), reverse=True):
            relative = old.relative_to(release_dir)
            if old.is_file() and relative not in files:
                old.unlink()
            elif old.is_dir() and not any(old.iterdir()):
                old.rmdir()
    written = []
    for relative, content in files.items():
        target = release_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != content:
            target.write_bytes(content)
        written.append(target)
    return written


def stale(source_dir, release_dir) -> list[str]:
    """What differs between the committed release and what ``generate`` would write ([] = up to
    date), one line each."""
    source_dir, release_dir = Path(source_dir), Path(release_dir)
    files = _outputs(source_dir)
    problems = []
    for relative, content in files.items():
        target = release_dir / relative
        if not target.exists():
            problems.append(f"missing: {target}")
        elif target.read_bytes() != content:
            problems.append(f"out of date: {target}")
    if release_dir.exists():
        for extra in sorted(release_dir.rglob("*")):
            if extra.is_file() and extra.relative_to(release_dir) not in files \
                    and "__pycache__" not in extra.parts:
                problems.append(f"no source for: {extra}")
    return problems


STUDENT_CELL = "student-id"


def class_set(release_dir, students, out_dir) -> list[Path]:
    """One copy of the release per student, with the notebook's ``STUDENT`` cell filled in
    (``out_dir/<student>/<assignment>/...``). Returns the paths written."""
    release_dir, out_dir = Path(release_dir), Path(out_dir)
    written = []
    for student in students:
        if not re.fullmatch(r"[A-Za-z0-9._@-]+", student):
            raise ReleaseError(f"{student!r}: a student id is letters, digits and ._@- only")
        for path in sorted(release_dir.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            target = out_dir / student / path.relative_to(release_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".ipynb":
                nb = json.loads(path.read_text(encoding="utf-8"))
                for cell in nb.get("cells", []):
                    if cell.get("id") == STUDENT_CELL:
                        text = re.sub(r'^STUDENT = ".*?"', f"STUDENT = {json.dumps(student)}",
                                      _source_text(cell), count=1)
                        cell["source"] = text.splitlines(True)
                target.write_text(dumps(nb), encoding="utf-8")
            else:
                target.write_bytes(path.read_bytes())
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tlslesson.assignments",
        description="Tools for the tlslesson notebook assignments.")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="write the student versions of the assignments")
    rel.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                     help=f"instructor notebooks (default: {DEFAULT_SOURCE})")
    rel.add_argument("--release", type=Path, default=DEFAULT_RELEASE,
                     help=f"where the student versions go (default: {DEFAULT_RELEASE})")
    rel.add_argument("--check", action="store_true",
                     help="write nothing; exit 1 if the release is out of date")
    rel.add_argument("--students", type=Path,
                     help="a file of student ids, one a line: also write a class set to --out")
    rel.add_argument("--out", type=Path, default=Path("class"),
                     help="where the class set goes (default: class/)")
    args = parser.parse_args(argv)
    try:
        if not args.source.is_dir():
            raise ReleaseError(f"no instructor notebooks at {args.source} (run from the "
                               "repository root, or give --source)")
        if args.check:
            problems = stale(args.source, args.release)
            for line in problems:
                print(line)
            if problems:
                print("the student versions are out of date: run "
                      "`python -m tlslesson.assignments release`", file=sys.stderr)
                return 1
            print(f"up to date: {args.release}")
            return 0
        written = generate(args.source, args.release)
        print(f"wrote {len(written)} file(s) under {args.release}")
        if args.students:
            ids = [line.strip() for line in args.students.read_text().splitlines()
                   if line.strip() and not line.startswith("#")]
            copies = class_set(args.release, ids, args.out)
            print(f"wrote a class set of {len(ids)} student(s), {len(copies)} file(s), "
                  f"under {args.out}")
        return 0
    except (ReleaseError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

