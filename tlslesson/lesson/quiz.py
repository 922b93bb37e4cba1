"""Small questions a notebook checks on the spot ("Check your understanding").

Two layers, as everywhere in ``tlslesson.lesson``:

* the model — ``Question`` (multiple choice) and ``ValueQuestion`` (type a value) — is plain
  Python: ``check(answer) -> (correct, feedback)``; it needs no browser and is unit-tested;
* the view — ``quiz(...)`` — is a thin ipywidgets layer: radio buttons, a Check button and an
  ``Output`` that the button's callback writes into (never a bare ``print``).

``check_answer(question, value)`` prints the feedback instead of drawing widgets: for a cell
where the student writes code (``check_answer(q, len(client_random))``) and for a notebook run
without a widget frontend.

>>> q = Question("How long is a TLS random?", ["16 bytes", "32 bytes"], answer=1,
...              explain="RFC 5246 §7.4.1.2: 32 bytes.")
>>> q.check("32 bytes")
(True, 'Correct. RFC 5246 §7.4.1.2: 32 bytes.')
>>> q.check(0)[0]
False
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

CORRECT = "Correct."
WRONG = "Not quite."
TRY_AGAIN = "Try again."


@dataclass(frozen=True)
class Question:
    """A multiple-choice question.

    ``answer`` is the index of the right option (or its text). ``explain`` is shown with a right
    answer; a wrong one gets "Try again." and, if ``hints`` has one for that option (keyed by
    index or text), a specific nudge.
    """

    question: str
    options: tuple[str, ...]
    answer: int
    explain: str = ""
    hints: Mapping[int, str] = field(default_factory=dict, compare=False)

    def __init__(self, question: str, options: Sequence[str], answer: int | str,
                 explain: str = "", hints: Mapping[int | str, str] | None = None):
        options = tuple(str(o) for o in options)
        if len(options) < 2:
            raise ValueError("a multiple-choice question needs at least two options")
        if len(set(options)) != len(options):
            raise ValueError("options must be different from each other")
        object.__setattr__(self, "question", question)
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "answer", self._index(options, answer))
        object.__setattr__(self, "explain", explain)
        object.__setattr__(self, "hints", {self._index(options, k): v
                                           for k, v in (hints or {}).items()})

    @staticmethod
    def _index(options: tuple[str, ...], choice: int | str) -> int:
        if isinstance(choice, bool):          # True/False are ints; never a valid option index
            raise ValueError(f"{choice!r} is not one of the options")
        if isinstance(choice, int):
            if not 0 <= choice < len(options):
                raise ValueError(f"option {choice} does not exist (0..{len(options) - 1})")
            return choice
        if choice in options:
            return options.index(choice)
        raise ValueError(f"{choice!r} is not one of the options")

    @property
    def correct_option(self) -> str:
        return self.options[self.answer]

    def check(self, choice: int | str | None) -> tuple[bool, str]:
        """(correct, feedback) for the chosen option (its index or its text)."""
        if choice is None:
            return False, "Choose an option first."
        try:
            index = self._index(self.options, choice)
        except ValueError as exc:
            return False, str(exc)
        if index == self.answer:
            return True, _join(CORRECT, self.explain)
        return False, _join(WRONG, self.hints.get(index, ""), TRY_AGAIN)


def _as_expected(value: Any, expected: Any) -> Any:
    """Read what a student typed as the same kind of thing as the answer, generously: bytes from
    hex text (spaces, colons and 0x allowed), numbers from decimal or 0x-hex text, names without
    case or surrounding spaces. None if it can't be read that way."""
    if isinstance(expected, (bytes, bytearray, memoryview)):
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, str):
            text = value.strip().lower().replace(" ", "").replace(":", "")
            text = text[2:] if text.startswith("0x") else text
            try:
                return bytes.fromhex(text)
            except ValueError:
                return None
        return None
    if isinstance(expected, int) and not isinstance(expected, bool):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip().replace("_", ""), 0)
            except ValueError:
                return None
        return None
    if isinstance(expected, str):
        return str(value).strip().lower()
    return value


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, str):
        return _as_expected(value, expected) == expected.strip().lower()
    if isinstance(expected, (bytes, bytearray, memoryview)):
        return _as_expected(value, expected) == bytes(expected)
    return _as_expected(value, expected) == expected


@dataclass(frozen=True)
class ValueQuestion:
    """A question answered with a value: a number (typed as 32 or 0x20), bytes (typed as hex,
    spaces and colons allowed) or a name (any case). ``explain`` comes with a right answer,
    ``hint`` with a wrong one."""

    question: str
    answer: Any
    explain: str = ""
    hint: str = ""

    def check(self, value: Any) -> tuple[bool, str]:
        if value is None or (isinstance(value, str) and not value.strip()):
            return False, "Type an answer first."
        if _same(value, self.answer):
            return True, _join(CORRECT, self.explain)
        return False, _join(WRONG, self.hint, TRY_AGAIN)


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def check_answer(question: Question | ValueQuestion, value: Any) -> bool:
    """Print the feedback for ``value`` (✓ or ✗ first) and return whether it was right."""
    correct, feedback = question.check(value)
    print(("✓ " if correct else "✗ ") + feedback)
    return correct


# -- the view ------------------------------------------------------------------------------------


def view(question: Question | ValueQuestion):
    """The widget for a question: options (or a text box), a Check button, and an Output."""
    import ipywidgets as w          # imported here: the model above works without ipywidgets

    title = w.HTML(f"<b>{_escape(question.question)}</b>")
    if isinstance(question, Question):
        answer_box = w.RadioButtons(options=list(question.options), value=None,
                                    layout=w.Layout(width="max-content"))
    else:
        answer_box = w.Text(placeholder="your answer")
    button = w.Button(description="Check", button_style="primary")
    out = w.Output()

    def on_click(_):
        correct, feedback = question.check(answer_box.value)
        out.clear_output()
        with out:
            print(("✓ " if correct else "✗ ") + feedback)

    button.on_click(on_click)
    box = w.VBox([title, answer_box, button, out])
    box.question = question          # the model, for a test or a curious student
    box.check_button, box.answer_box, box.output = button, answer_box, out
    return box


def quiz(question: str, options: Sequence[str] | None = None, answer: Any = None,
         explain: str = "", hints: Mapping[int | str, str] | None = None, hint: str = ""):
    """One question as a widget: ``quiz("...", ["a", "b"], answer=1, explain="...")``.

    Without ``options`` it is a ``ValueQuestion`` (the student types the value)."""
    if options is None:
        return view(ValueQuestion(question, answer, explain, hint))
    return view(Question(question, options, answer, explain, hints))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
