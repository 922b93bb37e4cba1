"""Widgets, pictures and "check it yourself" for the notebooks.

The only part of tlslesson that uses ipywidgets or matplotlib, and only when a widget or a picture
is actually made: ``import tlslesson.lesson`` (and ``tlslesson.lesson.models``) needs neither.

    from tlslesson.lesson import explorer, tamper_lab, suite_picker    # widgets (ipywidgets)
    from tlslesson.lesson import attack_lab                            # notebook 14's labs
    from tlslesson.lesson import ladder, ladders, key_tree, suite_chart   # pictures (matplotlib)
    from tlslesson.lesson import measure_groups, group_chart           # key exchange groups compared
    from tlslesson.lesson import state_diagram, state_table_text       # the state machines
    from tlslesson.lesson import hex_html, fields_table_html           # HTML, no dependencies
    from tlslesson.lesson import layout_fields, message_fields         # fields with their meaning
    from tlslesson.lesson import ExplorerModel, TamperModel, SuiteModel   # the plain models
    from tlslesson.lesson import CaptureExplorerModel                   # the explorer on a capture
    from tlslesson.lesson import flights, handshake_values              # helpers over a transcript
    from tlslesson.lesson import quiz, Question, check_answer           # "Check your understanding"
    from tlslesson.lesson import quiz_for, questions                   # each lesson's questions
    from tlslesson.lesson import certificates                          # a certificate's DER, stapling bytes
    from tlslesson.lesson import check                                 # compare with openssl
    from tlslesson.lesson import lesson_client, lesson_server          # reproducible configurations
    from tlslesson.lesson.localhost import reference_server             # openssl / ssl peers (notebook 10)
"""
from __future__ import annotations

import importlib

# ``quiz`` is both a submodule and the function the notebooks call. The module is tiny (no
# ipywidgets until a question is drawn), so it is imported now and the package attribute is then
# rebound to the function: ``from tlslesson.lesson import quiz`` always gives the function, even
# after someone imported ``tlslesson.lesson.quiz`` (the import system sets the attribute only the
# first time the submodule is loaded, which is here). ``from tlslesson.lesson.quiz import ...``
# works as before; only ``import tlslesson.lesson.quiz as m`` now gives the function, not the module.
from . import quiz as _quiz_module

quiz = _quiz_module.quiz
Question, ValueQuestion = _quiz_module.Question, _quiz_module.ValueQuestion
check_answer = _quiz_module.check_answer

# name -> module (relative) that defines it; loaded on first use (PEP 562)
_EXPORTS = {
    "ExplorerModel": "models", "CaptureExplorerModel": "models", "TamperModel": "models", "SuiteModel": "models",
    "TamperResult": "models", "Field": "models", "run_handshake": "models",
    "measure_suites": "models", "SuiteMeasurement": "models",
    "measure_groups": "models", "GroupMeasurement": "models", "group_chart": "diagrams",
    "flights": "models", "handshake_values": "models",
    "message_fields": "models", "record_fields": "models", "layout_fields": "models",
    "hex_html": "hexview", "fields_table_html": "hexview", "values_table_html": "hexview",
    "suite_html": "hexview",
    "ladder": "diagrams", "ladders": "diagrams", "key_tree": "diagrams", "suite_chart": "diagrams", "to_png": "diagrams",
    "state_diagram": "diagrams", "state_table_text": "diagrams",
    "explorer": "widgets", "tamper_lab": "widgets", "suite_picker": "widgets",
    "quiz_for": "questions", "questions": "questions",
    "attack_lab": "attack_lab",
    "lesson_client": "configs", "lesson_server": "configs", "lesson_configs": "configs",
}
_MODULES = ("models", "hexview", "diagrams", "widgets", "check", "configs", "certificates")

__all__ = [*sorted(_EXPORTS), "check",  # noqa: PLE0605
           "quiz", "Question", "ValueQuestion", "check_answer"]


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
