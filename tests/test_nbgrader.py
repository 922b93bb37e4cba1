"""nbgrader accepts the assignments as they are.

In a temporary course directory (source/ = notebooks/assignments/source): `nbgrader
generate_assignment` makes the student versions, then two students submit every assignment —
"solution" (and "solution2", another variant) hands in the instructor version, "unanswered" the
generated student version untouched, and three cheating students (tests/cheating_students.py:
delegating to the package, copying a neighbour's values, answering with what the notebook shows)
hand in the instructor version with their cheats — and `nbgrader autograde` grades them. Scores are read with nbgrader's gradebook API:

* the solution gets full marks on every autograded cell (the written answers are left for a
  human: nbgrader marks them "needs manual grade");
* the unanswered copy gets zero on every graded cell;
* every cheated exercise gets zero (a copied A6 diagnosis too: it names another variant's chains);
* nbgrader's student versions have the same cells as the ones `python -m tlslesson.assignments
  release` commits (so handing out either is the same).

Needs nbgrader (`pip install nbgrader`, ~100 packages with Jupyter's server stack); skipped
without it. All nine assignments are graded with one `generate_assignment "*"` and one
`autograde "*"` (nbgrader globs assignment ids), each a subprocess with a timeout.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

nbgrader = pytest.importorskip("nbgrader",
                               reason="nbgrader is not installed (pip install nbgrader)")
pytest.importorskip("ipykernel", reason="autograde runs the notebooks: needs ipykernel")

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks" / "assignments" / "source"
RELEASE = ROOT / "notebooks" / "assignments" / "release"
NAMES = sorted(p.name for p in SOURCE.iterdir() if p.is_dir())
STUDENTS = ("solution", "unanswered", "solution2", "delegator", "neighbour", "reader")
pytestmark = pytest.mark.slow            # a few minutes: two nbgrader runs, 6 students × 9 notebooks graded


def _nbgrader(course: Path, env: dict, *args: str, timeout: int) -> float:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"nbgrader {' '.join(args)} failed ({done.returncode}):\n"
                    + done.stdout[-3000:] + done.stderr[-3000:])
    return time.monotonic() - start


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """Generate and autograde every assignment once; return (course dir, grades, timings)."""
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(SOURCE, course / "source")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'tlslesson'\n"
        "c.ExecutePreprocessor.timeout = 120\n")
    # autograde starts the notebooks' `python3` kernel: make it this interpreter, importing this
    # checkout; nbgrader runs the `alembic` command installed next to this interpreter
    kernel = course / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (tlslesson tests)", "language": "python"}))
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(course / "jupyter"),
                                                        env.get("JUPYTER_PATH")]))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PATH"] = os.pathsep.join(filter(None, [os.path.dirname(sys.executable),
                                                env.get("PATH")]))
    timings = {"generate_assignment": _nbgrader(course, env, "generate_assignment", "*",
                                                "--force", timeout=600)}
    sys.path.insert(0, str(ROOT / "tests"))
    import cheating_students as cs
    copied = cs.neighbour_cheats(cs.neighbour_values("solution"))
    for name in NAMES:
        # "solution2": the same reference solution, graded on another student's variant
        for student, origin in (("solution", course / "source"), ("solution2", course / "source"),
                                ("unanswered", course / "release")):
            target = course / "submitted" / student / name
            target.mkdir(parents=True)
            shutil.copy(origin / name / f"{name}.ipynb", target / f"{name}.ipynb")
        for student, cheats, typed in (("delegator", cs.DELEGATOR, None),
                                       ("neighbour", copied, "solution"),
                                       ("reader", cs.READER, None)):
            target = course / "submitted" / student / name
            target.mkdir(parents=True)
            nb = cs.cheat(cs.load(course / "source" / name / f"{name}.ipynb"),
                          cheats.get(name, {}), typed)
            (target / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    timings["autograde"] = _nbgrader(course, env, "autograde", "*", "--force", timeout=1200)

    from nbgrader.api import Gradebook
    grades = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in STUDENTS:
            for name in NAMES:
                notebook = gradebook.find_submission_notebook(name, name, student)
                grades[student, name] = [
                    (g.name, g.cell.cell_type, g.score, g.max_score, g.needs_manual_grade)
                    for g in notebook.grades]
    print(f"\nnbgrader {nbgrader.__version__}: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return course, grades, timings


@pytest.mark.parametrize("student", ["solution", "solution2"])
@pytest.mark.parametrize("name", NAMES)
def test_solution_scores_full_marks(course, name, student):
    _, grades, _ = course
    cells = grades[student, name]
    autograded = [g for g in cells if g[1] == "code"]
    assert autograded, f"{name}: no autograded cells"
    for cell, _, score, max_score, _ in autograded:
        assert score == max_score, f"{name}/{cell}: {score} of {max_score}"
    for cell, cell_type, _, _, manual in cells:
        if cell_type == "markdown":          # a written answer: a human grades it
            assert manual, f"{name}/{cell} should wait for manual grading"


@pytest.mark.parametrize("name", NAMES)
def test_unanswered_scores_zero(course, name):
    _, grades, _ = course
    cells = grades["unanswered", name]
    assert cells
    for cell, _, score, max_score, manual in cells:
        assert score == 0 and not manual, f"{name}/{cell}: {score} of {max_score}"


@pytest.mark.parametrize("name", NAMES)
def test_nbgrader_hands_out_what_we_commit(course, name):
    directory, _, _ = course
    theirs = json.loads((directory / "release" / name / f"{name}.ipynb").read_text())
    ours = json.loads((RELEASE / name / f"{name}.ipynb").read_text())

    def cells(nb):
        return [(c["id"], c["cell_type"], "".join(c["source"]),
                 c["metadata"].get("deletable"), c["metadata"].get("editable"))
                for c in nb["cells"]]
    assert cells(ours) == cells(theirs)
    assert ours["metadata"] == theirs["metadata"]


CHEATERS = ("delegator", "neighbour", "reader")


@pytest.mark.parametrize("student", CHEATERS)
@pytest.mark.parametrize("name", NAMES)
def test_cheating_gets_no_marks(course, name, student):
    """Issue 18's cheating student: each cheated exercise scores zero, the rest full marks."""
    sys.path.insert(0, str(ROOT / "tests"))
    import cheating_students as cs
    cheats = {"delegator": cs.DELEGATOR, "reader": cs.READER,
              "neighbour": cs.neighbour_cheats(cs.neighbour_values("solution"))}[student]
    cheated = cheats.get(name, {})
    if not cheated:
        pytest.skip(f"{student} has no cheat for {name}")
    source = cs.load(SOURCE / name / f"{name}.ipynb")
    zero = set(cs.graded_after(source, cheated))
    _, grades, _ = course
    for cell, cell_type, score, max_score, _ in grades[student, name]:
        if cell in zero:
            # (a copied A6 diagnosis too: its labels name the other variant's chains, not these)
            assert score == 0, f"{student} scored {score} of {max_score} on {name}/{cell}"
        elif cell_type == "code":
            assert score == max_score, f"{student}: {name}/{cell} {score} of {max_score}"
