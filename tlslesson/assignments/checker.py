"""Instant feedback: run a student's answer against reference cases and say, kindly, how it went.

    >>> from tlslesson.assignments import check
    >>> def prf(secret, label, seed, length, hash_name="SHA256"):
    ...     raise NotImplementedError()
    >>> report = check("prf", prf)          # prints the report, here:
    … prf: not answered yet. Replace `raise NotImplementedError()` in prf with your code, ...
    >>> bool(report), report.status
    (False, 'unanswered')

Every exercise has fixed cases (test vectors, the assignment's own recorded bytes) and randomised
ones (made with a ``random.Random`` seeded by the exercise name, so a report is the same on every
run; ``seed=`` picks another set, which the hidden tests do). The report says what is right, shows
the first wrong case (inputs, expected and got, abbreviated) and gives a hint. It never shows a
traceback: when the answer raises, the report names the exception in one line; when it returns
the wrong type, the report says which type was expected; a stub that still raises
``NotImplementedError`` is "not answered yet".

``check`` itself never raises (except KeyboardInterrupt): a mistyped exercise name or a missing
answer is a report too. ``Report`` is truthy only when every case passed, so an autograder test
cell is ``assert check("prf", prf)``.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import random
import signal
import sys
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

PASS, FAIL, ERROR, WRONG_TYPE, UNANSWERED, UNKNOWN, BAD_ANSWER, DELEGATED = (
    "pass", "fail", "error", "wrong type", "unanswered", "unknown exercise", "bad answer",
    "delegated")

TIME_BUDGET = 10.0            # seconds for all the cases of one check (an endless loop ends here)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- the pieces an exercise is made of ----------------------------------------------------------


@dataclass
class Case:
    """One call of the student's function: a label saying where the case comes from, the
    arguments, and the expected result."""
    label: str
    args: tuple
    expected: Any
    kind: str = "random"          # "fixed" (test vector / recorded bytes) or "random"


@dataclass
class Exercise:
    """What ``check(name, ...)`` knows about one exercise."""
    name: str
    signature: str                                   # shown to the student, e.g. "prf(secret, ...)"
    params: tuple[str, ...]                          # argument names, to show a case's inputs
    returns: str                                     # the expected return type, in words
    make_cases: Callable[[random.Random], list[Case]]
    hint: str                                        # said whenever a case is wrong
    type_ok: Callable[[Any], bool]                   # is the returned value of the right type?
    normalize: Callable[[Any], Any] = lambda v: v    # bytearray -> bytes, list -> tuple, ...
    compare: Callable[[Any, Any], str | None] | None = None   # None: equal; else what differs
    diagnose: Callable[[Case, Any], str | None] | None = None  # a hint for a known mistake
    takes: str = "function"                          # "function", or "value" (a dict of answers)
    value_check: Callable[[Any], "Report"] | None = None       # for takes == "value"
    aliases: tuple[str, ...] = ()
    # the package functions that solve this exercise (specs for guard.watching): an answer that
    # calls one is not the student's own; ``own_tools`` says what the exercise does allow
    forbidden: tuple[str, ...] = ()
    own_tools: str = ""
    # when the answer raises: a hint for a known mistake, from the case, the exception and what
    # the student's own helpers (named in ``spy``) were given and returned (guard.Watch.seen)
    explain: Callable[[Case, BaseException, dict], str | None] | None = None
    spy: tuple[str, ...] = ()
    # False: a wrong case's report shows what the answer returned, never what was expected (the
    # fixed case is the student's own secret: assignment 09's cookie); ``compare`` says how much
    reveal: bool = True


EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    for key in (exercise.name, *exercise.aliases):
        EXERCISES[_key(key)] = exercise
    return exercise


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


# -- the report ---------------------------------------------------------------------------------


@dataclass
class Report:
    """The result of one ``check``: truthy only if every case passed. Prints itself once."""
    exercise: str
    status: str
    passed: int = 0
    total: int = 0
    lines: list[str] = field(default_factory=list)
    _shown: bool = field(default=False, repr=False)

    def __bool__(self) -> bool:
        return self.status == PASS

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        count = f", {self.passed}/{self.total} cases" if self.total else ""
        return f"<Report {self.exercise}: {self.status}{count}>"

    def show(self) -> None:
        print(self.text)
        self._shown = True

    # In Jupyter a report left as a cell's last value prints its text, unless check() already
    # printed it (no execute_result output either: nbgrader would try to read it as a score).
    def _ipython_display_(self) -> None:
        if not self._shown:
            self.show()


# -- abbreviating values for the report ---------------------------------------------------------


def short(value: Any, width: int = 100) -> str:
    """A value in at most about ``width`` characters: bytes as hex with their length."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if data and len(data) <= 40 and all(32 <= b < 127 for b in data):
            return repr(data)                     # ASCII, e.g. a label: b'master secret'
        if not data:
            return "b'' (empty)"
        if len(data) <= 24:
            return f"{data.hex()} ({len(data)} bytes)"
        return f"{data[:12].hex()}…{data[-4:].hex()} ({len(data)} bytes)"
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= width else text[:width - 6] + "…" + text[-5:]
    if isinstance(value, (list, tuple)):
        open_, close = ("[", "]") if isinstance(value, list) else ("(", ")")
        parts, used = [], 0
        for item in value:
            part = short(item, 30)
            if used + len(part) > width and parts:
                parts.append(f"… {len(value) - len(parts)} more")
                break
            parts.append(part)
            used += len(part) + 2
        return open_ + ", ".join(parts) + ("," if len(value) == 1 and close == ")" else "") + close
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {short(v, 30)}" for k, v in value.items()) + "}"
    if type(value).__name__ == "CipherSuite":
        return f"suites.get({value.openssl_name!r})"
    text = repr(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def type_name(value: Any) -> str:
    return "None" if value is None else type(value).__name__


# -- running student code -----------------------------------------------------------------------


class _OutOfTime(BaseException):
    """Not an Exception: a student's `except Exception:` must not swallow it."""


class _Budget:
    """Stop a runaway answer after TIME_BUDGET seconds (SIGALRM, main thread, Unix only; skipped
    when another timer, e.g. pytest-timeout's, is already armed)."""

    def __enter__(self):
        self.armed = False
        if (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()):
            previous = signal.getitimer(signal.ITIMER_REAL)
            if previous[0] == 0:
                def ring(signum, frame):
                    raise _OutOfTime()
                self.old_handler = signal.signal(signal.SIGALRM, ring)
                signal.setitimer(signal.ITIMER_REAL, TIME_BUDGET)
                self.armed = True
        return self

    def __exit__(self, *exc):
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old_handler)
        return False


def _where(exc: BaseException) -> str:
    """'in prf, line 4': the innermost frame of the student's own code (not this package's,
    not the standard library's), else the innermost frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    library = (_PACKAGE_DIR, sys.prefix, sys.base_prefix, os.path.dirname(os.__file__))
    own = [f for f in frames if not f.filename.startswith(library)]
    chosen = own[-1] if own else (frames[-1] if frames else None)
    if chosen is None:
        return ""
    if chosen.filename.startswith(library):
        return f" in {chosen.name} ({os.path.basename(chosen.filename)}, line {chosen.lineno})"
    return f" in {chosen.name}, line {chosen.lineno}"


def _raised_in(exc: BaseException) -> str | None:
    """The name of the function that raised (the innermost frame)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return frames[-1].name if frames else None


def _called_wrong(exc: TypeError) -> bool:
    """A TypeError raised by the call itself (wrong number/names of arguments), not inside it."""
    return exc.__traceback__ is not None and exc.__traceback__.tb_next is None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 160 else text[:157] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _call_text(exercise: Exercise, case: Case) -> str:
    parts = [f"{p}={short(a, 40)}" for p, a in zip(exercise.params, case.args)]
    return f"{exercise.signature.split('(')[0]}({', '.join(parts)})"


# -- check --------------------------------------------------------------------------------------

_MISSING = object()


def check(name: str, answer: Any = _MISSING, *, seed: Any = None, show: bool = True) -> Report:
    """Check ``answer`` (your function, or for a few exercises your dict of answers) for exercise
    ``name``; print a friendly report (unless ``show=False``) and return it.

    ``seed`` picks another set of random cases (the hidden tests use one you haven't seen); the
    fixed cases are your own variant's data (``variant.current()``). An answer that calls the
    package's own solution of the exercise is reported as such and does not pass.
    The report is truthy only when every case is right.
    """
    # importing here registers the exercises and keeps `import checker` light
    from . import exercises  # noqa: F401
    try:
        report = _check(name, answer, seed)
    except KeyboardInterrupt:
        raise
    except Exception as exc:          # a bug in the checker must not look like the student's
        report = Report(str(name), ERROR, lines=[
            f"✘ {name}: the checker itself failed ({_one_line(exc)}). "
            "This is not your fault: tell your instructor."])
    if show:
        report.show()
    return report


def _check(name: str, answer: Any, seed: Any) -> Report:
    exercise = EXERCISES.get(_key(name))
    if exercise is None:
        known = sorted({e.name for e in EXERCISES.values()})
        close = difflib.get_close_matches(_key(name), known, n=1)
        maybe = f" Did you mean {close[0]!r}?" if close else ""
        return Report(str(name), UNKNOWN, lines=[
            f"? There is no exercise called {name!r}.{maybe} Known: {', '.join(known)}."])
    label = exercise.name
    if answer is _MISSING:
        return Report(label, BAD_ANSWER, lines=[
            f"? Give check your answer too: check({label!r}, {exercise.signature.split('(')[0]})"])
    if exercise.takes == "value":
        return exercise.value_check(answer)
    if not callable(answer):
        fn = exercise.signature.split("(")[0]
        what = ("the result of calling it" if answer is not None else "None")
        return Report(label, BAD_ANSWER, lines=[
            f"✘ {label}: check wants your function itself, got {type_name(answer)} ({what}).",
            f"  Write check({label!r}, {fn}) — no parentheses after {fn}."])

    from .variant import current
    rng = random.Random(f"tlslesson-check/{exercise.name}/{current()}/{seed}")
    cases = exercise.make_cases(rng)
    return _run_cases(exercise, answer, cases)


def _run_cases(exercise: Exercise, answer: Callable, cases: list[Case]) -> Report:
    from .guard import watching
    label = exercise.name
    passed, first_wrong, right_kinds = 0, None, {"fixed": [0, 0], "random": [0, 0]}
    with _Budget():
        for case in cases:
            right_kinds[case.kind][1] += 1
            watch = None
            try:
                with watching(exercise.forbidden, exercise.spy) as watch:
                    got = answer(*case.args)
                if watch.hits:
                    return delegated(exercise, answer, watch.first())
            except NotImplementedError as exc:
                return _unanswered(exercise, answer, exc)
            except _OutOfTime:
                return Report(label, ERROR, passed, len(cases), [
                    f"✘ {label}: still running after {TIME_BUDGET:.0f} s on case "
                    f"“{case.label}” — an endless loop?",
                    f"  hint: {exercise.hint}"])
            except TypeError as exc:
                if _called_wrong(exc):
                    return Report(label, ERROR, passed, len(cases), [
                        f"✘ {label}: your function can't be called the way the exercise calls it "
                        f"({_one_line(exc)}).",
                        f"  It should look like: def {exercise.signature}"])
                return _raised(exercise, case, exc, passed, len(cases), watch)
            except Exception as exc:
                if watch is not None and watch.hits:
                    return delegated(exercise, answer, watch.first())
                return _raised(exercise, case, exc, passed, len(cases), watch)
            if not exercise.type_ok(got):
                return _wrong_type(exercise, case, got, passed, len(cases))
            got = exercise.normalize(got)
            expected = exercise.normalize(case.expected)
            if exercise.compare is not None:
                difference = exercise.compare(expected, got)
            else:
                difference = None if got == expected else ""
            if difference is None:
                passed += 1
                right_kinds[case.kind][0] += 1
            elif first_wrong is None:
                first_wrong = (case, got, difference)
    if first_wrong is None:
        return Report(label, PASS, passed, len(cases), [
            f"✔ {label}: all {len(cases)} cases right ({_kinds(right_kinds)}). Well done!"])
    case, got, difference = first_wrong
    lines = [f"✘ {label}: {passed} of {len(cases)} cases right."]
    if passed:
        lines.append(f"  right: {_kinds(right_kinds, only_right=True)}")
    lines.append(f"  first wrong case ({case.label}):")
    lines.append(f"    call:     {_call_text(exercise, case)}")
    if exercise.reveal:
        lines.append(f"    expected: {short(case.expected)}")
    lines.append(f"    got:      {short(got)}")
    if difference:
        lines.append(f"    {difference}")
    specific = exercise.diagnose(case, got) if exercise.diagnose else None
    lines.append(f"  hint: {specific or exercise.hint}")
    return Report(label, FAIL, passed, len(cases), lines)


def _kinds(counts, only_right: bool = False) -> str:
    out = []
    for kind, words in (("fixed", "fixed case"), ("random", "random case")):
        right, total = counts[kind]
        if total == 0 or (only_right and right == 0):
            continue
        if only_right and right < total:
            out.append(f"{right} of {total} {words}s")
        else:
            out.append(f"{total} {words}{'s' * (total != 1)}")
    return ", ".join(out)


def delegated(exercise: Exercise, answer, called: str) -> Report:
    """The answer called the package's solution: say so kindly; no marks."""
    own = getattr(answer, "__name__", exercise.name)
    tools = f" {exercise.own_tools}" if exercise.own_tools else ""
    return Report(exercise.name, DELEGATED, lines=[
        f"✘ {exercise.name}: your {own} calls {called}, the package's own solution of this "
        "exercise.",
        "  The checker compares answers with that very code, so it can't tell whether yours "
        "works — and it earns no marks when graded.",
        f"  Write it yourself{' — what you need:' + tools if tools else ''} (comparing with the "
        "package in a scratch cell is fine)."])


def _unanswered(exercise: Exercise, answer, exc: NotImplementedError) -> Report:
    own = getattr(answer, "__name__", exercise.name)
    culprit = _raised_in(exc)
    if culprit and culprit != own and culprit != "<module>":
        return Report(exercise.name, UNANSWERED, lines=[
            f"… {exercise.name}: not answered yet — it calls {culprit}, which still raises "
            f"NotImplementedError. Answer {culprit} first, then check again."])
    return Report(exercise.name, UNANSWERED, lines=[
        f"… {exercise.name}: not answered yet. Replace `raise NotImplementedError()` in {own} "
        "with your code, run that cell, then check again."])


def _raised(exercise: Exercise, case: Case, exc: Exception, passed: int, total: int,
            watch=None) -> Report:
    specific = None
    if exercise.explain is not None:
        specific = exercise.explain(case, exc, watch.seen if watch is not None else {})
    hint = specific or _exception_hint(exc) or exercise.hint
    return Report(exercise.name, ERROR, passed, total, [
        f"✘ {exercise.name} raised {_one_line(exc)}{_where(exc)} (case “{case.label}”).",
        f"  call: {_call_text(exercise, case)}",
        f"  hint: {hint}"])


def _exception_hint(exc: Exception) -> str | None:
    text = str(exc)
    if type(exc).__name__ == "InvalidTag":
        return ("the AEAD tag did not verify, so the key, the nonce or the additional data is not "
                "what the sender used: check each against the exercise's definition.")
    if isinstance(exc, TypeError) and ("str" in text and "bytes" in text):
        return ("bytes and str don't mix: labels are bytes (b\"master secret\") or need "
                ".encode(); hex text becomes bytes with bytes.fromhex(...).")
    if isinstance(exc, (IndexError, ValueError)) and "index" in text:
        return "an index ran off the end of the bytes: check each length you read."
    if isinstance(exc, KeyError):
        return "a dictionary lookup failed: check the key's spelling and type."
    return None


def _describe_type(value: Any) -> str:
    """'bytes', or for a short tuple/list the types inside: 'a tuple (int, bytes, bytes)'."""
    if isinstance(value, (tuple, list)) and 0 < len(value) <= 6:
        inner = ", ".join(type_name(v) for v in value)
        return f"a {type_name(value)} ({inner})"
    if isinstance(value, dict) and value:
        return "a dict with keys " + ", ".join(repr(k) for k in list(value)[:8])
    return type_name(value)


def _wrong_type(exercise: Exercise, case: Case, got: Any, passed: int, total: int) -> Report:
    lines = [f"✘ {exercise.name} returned {_describe_type(got)}, expected {exercise.returns} "
             f"(case “{case.label}”)."]
    if got is None:
        lines.append("  hint: a function without `return` returns None — did you forget it?")
    elif isinstance(got, str) and "bytes" in exercise.returns:
        lines.append("  hint: that is text; if it is hex, bytes.fromhex(text) turns it into bytes "
                     "(and .hex() goes the other way).")
    elif isinstance(got, (bytes, bytearray)) and "int" in exercise.returns:
        lines.append("  hint: int.from_bytes(data, 'big') reads bytes as a number (network byte "
                     "order is big-endian).")
    elif isinstance(got, int) and "bytes" in exercise.returns:
        lines.append("  hint: n.to_bytes(length, 'big') writes a number as bytes.")
    else:
        lines.append(f"  It should look like: def {exercise.signature}")
    return Report(exercise.name, WRONG_TYPE, passed, total, lines)


# -- helpers the exercise definitions share -----------------------------------------------------


def is_bytes(value) -> bool:
    return isinstance(value, (bytes, bytearray, memoryview))


def as_bytes(value):
    return bytes(value) if isinstance(value, (bytearray, memoryview)) else value


def tuple_of(n: int, item_ok: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def ok(value):
        return (isinstance(value, (tuple, list)) and len(value) == n
                and all(item_ok(v) for v in value))
    return ok


def normalize_seq(value):
    if isinstance(value, (tuple, list)):
        return tuple(as_bytes(v) for v in value)
    return value


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def as_dict(value):
    """A dataclass instance (e.g. tlslesson.tls12.KeyBlock) as a dict; other values unchanged."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value
