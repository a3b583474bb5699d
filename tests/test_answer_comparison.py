"""A wrong answer beside the right one: which characters differ (answers.compare_outputs),
and how the review shows them, with colour and without (cli.render.print_comparison)."""

from __future__ import annotations

import io
from pathlib import Path

from helpers import Invoke, write
from rich.console import Console

from quizzer.answers import LineComparison, compare_outputs
from quizzer.cli.render import print_comparison


def _shown(expected: str, typed: str, *, colour: bool = False) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=80, force_terminal=colour, color_system="standard" if colour else None
    )
    print_comparison(console, compare_outputs(expected, typed))
    return out.getvalue()


def test_the_differing_characters_are_marked_on_each_side() -> None:
    assert compare_outputs("[2, 2, 2]\n", "[0, 1, 2]") == [
        LineComparison("[2, 2, 2]", "[0, 1, 2]", ((1, 2), (4, 5)), ((1, 2), (4, 5)))
    ]


def test_lines_left_out_and_lines_too_many_are_marked_whole() -> None:
    rows = compare_outputs("a\nb\nc\n", "a\nc\nd\ne")
    assert rows == [
        LineComparison("a", "a"),
        LineComparison("b", None, ((0, 1),)),
        LineComparison("c", "c"),
        LineComparison(None, "d", (), ((0, 1),)),
        LineComparison(None, "e", (), ((0, 1),)),
    ]


def test_lines_with_little_in_common_are_marked_whole() -> None:
    (row,) = compare_outputs("hello world", "xyz")
    assert row.expected_marks == ((0, 11),) and row.typed_marks == ((0, 3),)


def test_an_exception_type_alone_is_compared_with_the_type_only() -> None:
    expected = "TypeError: f() missing 1 required positional argument: 'x'\n"
    (wrong,) = compare_outputs(expected, "ValueError")
    assert wrong.expected_marks == ((0, len("TypeError")),)  # not the message
    assert wrong.typed_marks == ((0, len("ValueError")),)
    (right,) = compare_outputs(expected, "TypeError")
    assert right.expected_marks == right.typed_marks == ()


def test_without_colour_carets_mark_the_characters_and_no_diff_noise() -> None:
    shown = _shown("[2, 2, 2]\n", "[0, 1, 2]")
    assert shown == (
        "expected:  [2, 2, 2]\n            ^  ^\nyou typed: [0, 1, 2]\n            ^  ^\n"
    )
    longer = _shown("one\n\ttwo\n", "one\n\ttwa\n3")
    tab_stop = " " * 6  # a tab after the two-space indent reaches column 8
    assert longer == (
        f"expected:\n  one\n  {tab_stop}two\n  {tab_stop}  ^\n"
        f"you typed:\n  one\n  {tab_stop}twa\n  {tab_stop}  ^\n  3\n  ^\n"
    )
    assert not any(mark in longer for mark in ("---", "+++", "@@"))


def test_wide_characters_keep_their_carets_under_them() -> None:
    shown = _shown("日本x\n", "日本y")
    assert "expected:  日本x\n               ^\n" in shown


def test_an_empty_line_that_differs_is_named() -> None:
    assert "  (empty line)\n  ^^^^^^^^^^^^\n" in _shown("a\n\nb\n", "a\nb\n")


def test_with_colour_the_right_text_is_green_and_the_wrong_text_red() -> None:
    shown = _shown("[2, 2, 2]\n", "[0, 1, 2]", colour=True)
    assert "^" not in shown
    assert "\x1b[1;32m2\x1b[0m" in shown  # bold green: what was expected
    assert "\x1b[1;31m0\x1b[0m" in shown  # bold red: what was typed instead


def test_the_review_shows_expected_and_typed(invoke: Invoke, tmp_path: Path) -> None:
    deck = write(
        tmp_path / "e.yaml",
        "deck: e\ntitle: E\nquestions:\n  - id: raise\n    type: predict_output\n"
        "    prompt: What prints?\n    code: |\n      print(1)\n      int('x')\n"
        "    answer: |\n      1\n      ValueError: invalid literal for int() with base 10: 'x'\n",
    )
    assert invoke("import", str(deck)).exit_code == 0
    result = invoke("review", input="1\nTypeError\n.\nq\n")
    assert "Not quite." in result.output
    assert (
        "expected:\n  1\n  ValueError: invalid literal for int() with base 10: 'x'\n"
        "  ^^^^^^^^^^\nyou typed:\n  1\n  TypeError\n  ^^^^^^^^^\n"
    ) in result.output
