"""Whose assignment this is: every student works on their own variant of the data.

Each assignment's bytes (randoms, keys, records, which chain has which defect) derive from a
student identifier, so two students' answers differ and copying a neighbour's gets no marks:

* when nbgrader autogrades (it sets ``NBGRADER_EXECUTION=autograde`` and runs the notebook in
  ``autograded/<student id>/<assignment>/``), the identifier is nbgrader's student id — whatever
  the notebook says. ``TLSLESSON_STUDENT`` overrides it (for a course with another
  ``CourseDirectory.directory_structure``);
* otherwise it is what the student typed in the notebook's ``STUDENT = "..."`` cell (a class set
  made by ``python -m tlslesson.assignments release --students ...`` has it filled in);
* with nothing typed, the "practice" variant: everything works, but the grade is computed on the
  student's own variant.

    >>> from tlslesson.assignments import variant
    >>> variant.seed("02", "session", "s1234")
    'tlslesson-assignment/02/s1234/session'
"""
from __future__ import annotations

import os
from pathlib import Path

PRACTICE = "practice"
_current: str | None = None


def _clean(student) -> str:
    return " ".join(str(student).split()) if student is not None else ""


def nbgrader_student() -> str | None:
    """nbgrader's student id while it autogrades this notebook, else None."""
    if os.environ.get("NBGRADER_EXECUTION") != "autograde":
        return None
    forced = _clean(os.environ.get("TLSLESSON_STUDENT"))
    if forced:
        return forced
    parts = Path.cwd().parts                    # .../autograded/<student>/<assignment>
    if len(parts) >= 3 and parts[-3] == "autograded":
        return parts[-2]
    return None


def use(typed: str = "", *, quiet: bool = False) -> str:
    """Set whose variant this notebook works on (see the module's text) and say so."""
    global _current
    typed = _clean(typed)
    graded = nbgrader_student()
    _current = graded or typed or PRACTICE
    if not quiet:
        if graded:
            extra = f" (the notebook said {typed!r})" if typed and typed != graded else ""
            print(f"Graded as {graded!r}, nbgrader's student id{extra}.")
        elif typed:
            print(f"Your variant: {typed!r}. Everything below is made for you; grading uses this "
                  "id, so it must be the one your course knows you by.")
        else:
            print("No student id yet: this is the practice variant. Type your id in the "
                  "STUDENT cell above and run the notebook again — you are graded on your own "
                  "variant, not this one.")
    return _current


def current() -> str:
    """The student whose variant is in use (``use`` not called yet: nbgrader's id or practice)."""
    if _current is None:
        return nbgrader_student() or PRACTICE
    return _current


def seed(assignment: str, what: str, student: str | None = None) -> str:
    """The seed of one piece of one student's data."""
    return f"tlslesson-assignment/{assignment}/{student or current()}/{what}"
