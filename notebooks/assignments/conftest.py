"""pytest --nbval-lax (make test's notebook run) leaves the assignments alone.

The instructor versions (source/) run once, in tests/test_assignments.py, which checks more than
nbval would (no error, nothing on stderr, every check() passes); the student versions (release/)
stop at their first unanswered exercise by design (`raise NotImplementedError()`), which
tests/test_assignments.py checks too. nbgrader grades both in tests/test_nbgrader.py.
"""
collect_ignore = ["release", "source"]
