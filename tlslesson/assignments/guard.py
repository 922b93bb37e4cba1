"""Is it the student's own code? Notice when an answer calls the package's solution instead.

``check`` runs the student's function inside ``watching(specs)``: a profile hook
(``sys.setprofile``) notes every call into a forbidden function — however it was imported or
renamed, directly or through another function — without changing what the answer returns. A spec
is ``"tlslesson.tls12"`` (every function of the module) or ``"tlslesson.tls12:prf"`` (one,
``Class.method`` works too). The assignments package itself (the checker's reference answers)
is always forbidden.

For answers that are values, not functions (assignment 06's diagnosis), ``record_calls``
wraps a module's functions so the notebook's calls to them are remembered (``calls_made``).
"""
from __future__ import annotations

import functools
import importlib
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

_ASSIGNMENTS_DIR = os.path.dirname(os.path.abspath(__file__))
# functions of the assignments package an answer may call (an oracle it is handed, say): while
# one runs, calls into the package are its own, not the answer's — the forbidden specs still hold
_ALLOWED: set = set()


def allowed(function):
    """Mark a function (or method) of the assignments package as one answers may call."""
    _ALLOWED.add(_unwrap(function).__code__)
    return function


@dataclass
class Watch:
    files: dict[str, str] = field(default_factory=dict)        # filename -> module name
    codes: dict[object, str] = field(default_factory=dict)     # code object -> dotted name
    hits: list[str] = field(default_factory=list)
    spy: tuple[str, ...] = ()
    # the student's own helpers named in ``spy``: name -> (arguments, return value) of the last call
    seen: dict[str, tuple[dict, object]] = field(default_factory=dict)
    inside_allowed: int = 0

    def first(self) -> str | None:
        return self.hits[0] if self.hits else None


def _unwrap(obj):
    while hasattr(obj, "__wrapped__"):
        obj = obj.__wrapped__
    return getattr(obj, "__func__", obj)


@functools.lru_cache(maxsize=None)
def _resolve(specs: tuple[str, ...]) -> tuple[dict, dict]:
    files, codes = {}, {}
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        module = importlib.import_module(module_name)
        if not attr:
            files[os.path.abspath(module.__file__)] = module_name
            continue
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
        code = getattr(_unwrap(obj), "__code__", None)
        if code is None:
            raise ValueError(f"{spec}: not a Python function")
        codes[code] = f"{module_name}.{attr}"
    return files, codes


@contextmanager
def watching(specs=(), spy=()):
    """Note calls into the forbidden functions while the block runs (yields a ``Watch``), and
    what the student's own functions named in ``spy`` were given and returned."""
    files, codes = _resolve(tuple(specs))
    watch = Watch(dict(files), dict(codes), spy=tuple(spy))
    previous = sys.getprofile()
    package = os.path.dirname(_ASSIGNMENTS_DIR)

    def hook(frame, event, arg):
        if frame.f_code in _ALLOWED and event in ("call", "return"):
            watch.inside_allowed += 1 if event == "call" else -1
            return
        if event == "return" and frame.f_code.co_name in watch.spy \
                and not frame.f_code.co_filename.startswith(package):
            code = frame.f_code
            names = code.co_varnames[:code.co_argcount]
            watch.seen[code.co_name] = ({n: frame.f_locals.get(n) for n in names}, arg)
            return
        if event != "call":
            return
        code = frame.f_code
        name = watch.codes.get(code)
        if name is None:
            filename = code.co_filename
            if filename.startswith(_ASSIGNMENTS_DIR) and not filename.endswith("guard.py") \
                    and not watch.inside_allowed:
                name = f"tlslesson.assignments ({os.path.basename(filename)}, {code.co_name})"
            elif filename in watch.files:
                name = f"{watch.files[filename]}.{code.co_qualname}"
        if name is not None and (not watch.hits or watch.hits[-1] != name):
            watch.hits.append(name)

    sys.setprofile(hook)
    try:
        yield watch
    finally:
        sys.setprofile(previous)


# -- value answers: remember the notebook's calls ----------------------------------------------

# pki's validation, whole and step by step: assignment 06 asks the student to do it by hand
PKI_VALIDATORS = ("validate_chain", "check_chain_building", "check_signatures", "check_validity",
                  "check_basic_constraints", "check_key_usage", "check_extended_key_usage",
                  "check_name")

_calls: list[tuple[str, tuple, dict]] = []
_recorded: set[tuple[str, str]] = set()
_quiet = [0]


def _recorder(original, name):
    @functools.wraps(original)
    def recorder(*args, **kwargs):
        if not _quiet[0]:
            _calls.append((name, args, kwargs))
        return original(*args, **kwargs)
    return recorder


def record_calls(module_name: str, names) -> None:
    """Wrap ``module.<name>`` for each name so calls are remembered (once per process)."""
    module = importlib.import_module(module_name)
    for name in names:
        if (module_name, name) not in _recorded:
            setattr(module, name, _recorder(getattr(module, name), f"{module_name}.{name}"))
            _recorded.add((module_name, name))


@contextmanager
def unrecorded():
    """The checker's own calls (computing the expected answers) are not the student's."""
    _quiet[0] += 1
    try:
        yield
    finally:
        _quiet[0] -= 1


def calls_made() -> list[tuple[str, tuple, dict]]:
    return list(_calls)
