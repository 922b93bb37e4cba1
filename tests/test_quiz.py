"""tlslesson.lesson.quiz: the question models, and the thin widget view over them."""
from __future__ import annotations

import pytest

from tlslesson.lesson.quiz import Question, ValueQuestion, check_answer, quiz


def test_choice_by_index_or_text():
    q = Question("Which?", ["a", "b", "c"], answer="b", explain="Because b.")
    assert q.answer == 1 and q.correct_option == "b"
    assert q.check(1) == (True, "Correct. Because b.")
    assert q.check("b") == (True, "Correct. Because b.")


def test_wrong_choice_gets_its_hint_not_the_explanation():
    q = Question("Which?", ["a", "b"], answer=1, explain="Because b.", hints={"a": "Not a."})
    correct, feedback = q.check(0)
    assert not correct
    assert "Not a." in feedback and "Because b." not in feedback


@pytest.mark.parametrize("choice", [None, 5, -1, "z", True])
def test_no_or_impossible_choice_is_wrong_not_an_exception(choice):
    correct, feedback = Question("Which?", ["a", "b"], answer=0).check(choice)
    assert correct is False and feedback


@pytest.mark.parametrize("options, answer", [(["only"], 0), (["a", "a"], 0), (["a", "b"], 2),
                                             (["a", "b"], "c")])
def test_bad_questions_are_refused(options, answer):
    with pytest.raises(ValueError):
        Question("?", options, answer)


@pytest.mark.parametrize("expected, typed, ok", [
    (32, "32", True), (32, " 0x20 ", True), (32, 32, True), (32, "33", False), (32, "abc", False),
    (bytes.fromhex("c02f"), "C0 2F", True), (bytes.fromhex("c02f"), "0xc02f", True),
    (bytes.fromhex("c02f"), "c0:2f", True), (bytes.fromhex("c02f"), b"\xc0\x2f", True),
    (bytes.fromhex("1234"), "1234", True), (bytes.fromhex("c02f"), "zz", False),
    ("ECDHE", " ecdhe ", True), ("ECDHE", "RSA", False),
])
def test_value_answers_are_read_generously(expected, typed, ok):
    assert ValueQuestion("?", expected).check(typed)[0] is ok


def test_empty_value_asks_for_an_answer():
    assert ValueQuestion("?", 32).check("  ") == (False, "Type an answer first.")


def test_check_answer_prints_the_verdict(capsys):
    assert check_answer(ValueQuestion("?", 32, explain="32 bytes."), "32") is True
    assert capsys.readouterr().out == "✓ Correct. 32 bytes.\n"
    assert check_answer(ValueQuestion("?", 32, hint="Count again."), "31") is False
    assert capsys.readouterr().out.startswith("✗ Not quite. Count again.")


def test_view_writes_feedback_into_its_output():
    pytest.importorskip("ipywidgets")
    box = quiz("Which?", ["a", "b"], answer=1, explain="Because b.")
    assert box.question.correct_option == "b"
    box.answer_box.value = "b"
    box.check_button.click()          # outside a kernel the Output has nowhere to capture to
    typed = quiz("How many?", answer=32)
    assert isinstance(typed.question, ValueQuestion)
    assert typed.question.check(typed.answer_box.value)[0] is False    # nothing typed yet


# -- each lesson's questions, kept out of the notebooks' cell source ------------------------------
def test_every_lesson_has_its_questions_and_each_right_answer_checks():
    from tlslesson.lesson.questions import LESSONS, QUESTIONS
    from pathlib import Path
    notebooks = sorted(p.name[:2] for p in (Path(__file__).resolve().parent.parent
                                             / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert LESSONS == tuple(notebooks)          # every lesson has its questions
    for lesson, qs in QUESTIONS.items():
        assert len(qs) >= 3, lesson
        for q in qs:
            right = q.correct_option if isinstance(q, Question) else q.answer
            assert q.check(right)[0], (lesson, q.question)


def test_no_lesson_cell_shows_a_quiz_answer():
    import json
    from pathlib import Path
    for path in sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            assert not (cell["cell_type"] == "code" and "answer=" in source and "quiz(" in source), \
                f"{path.name}: a quiz answer in plain sight: {source[:80]!r}"


def test_quiz_for_draws_every_question_of_the_lesson():
    pytest.importorskip("ipywidgets")
    from tlslesson.lesson import quiz_for
    from tlslesson.lesson.questions import questions
    box = quiz_for("09")
    assert box.questions == questions(9) and len(box.children) == len(questions("09"))
