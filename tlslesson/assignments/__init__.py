"""Notebook assignments with instant feedback, and the tool that makes their student versions.

    from tlslesson.assignments import check, data
    check("prf", prf)            # run your function against reference cases; prints a report

* ``check`` (``checker.py``, exercises in ``exercises.py``): fixed and seeded-random cases, a
  friendly report, never a traceback.
* ``data``: the real bytes the assignments work on (recorded handshakes, certificate chains).
* ``rfc8448``: the RFC 8448 §3 values assignment 05 is checked against, with where they are.
* ``release``: ``python -m tlslesson.assignments release [--check]`` writes the student versions
  (solutions and hidden tests stripped) from the instructor versions.

The instructor versions live in ``notebooks/assignments/source/<assignment>/`` (nbgrader layout);
the student versions in ``notebooks/assignments/release/<assignment>/``.
"""
from .checker import Report, check

__all__ = ["check", "Report"]
