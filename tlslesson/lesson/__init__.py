"""Widgets, pictures and "check it yourself" for the notebooks.

The only part of tlslesson that uses ipywidgets or matplotlib, and only when a widget or a picture
is actually made: ``import tlslesson.lesson`` (and ``tlslesson.lesson.models``) needs neither.

    from tlslesson.lesson import explorer, tamper_lab, suite_picker    # widgets (ipywidgets)
    from tlslesson.lesson import ladder, key_tree, suite_chart         # pictures (matplotlib)
    from tlslesson.lesson import hex_html, fields_table_html           # HTML, no dependencies
    from tlslesson.lesson import ExplorerModel, TamperModel, SuiteModel   # the plain models
    from tlslesson.lesson import check                                 # compare with openssl
"""
from __future__ import annotations

import importlib

# name -> module (relative) that defines it; loaded on first use (PEP 562)
_EXPORTS = {
    "ExplorerModel": "models", "TamperModel": "models", "SuiteModel": "models",
    "TamperResult": "models", "Field": "models", "run_handshake": "models",
    "measure_suites": "models", "SuiteMeasurement": "models",
    "hex_html": "hexview", "fields_table_html": "hexview", "values_table_html": "hexview",
    "suite_html": "hexview",
    "ladder": "diagrams", "key_tree": "diagrams", "suite_chart": "diagrams", "to_png": "diagrams",
    "explorer": "widgets", "tamper_lab": "widgets", "suite_picker": "widgets",
}
_MODULES = ("models", "hexview", "diagrams", "widgets", "check")

__all__ = [*sorted(_EXPORTS), "check"]  # noqa: PLE0605


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in _MODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
