"""A snippet that ends in an uncaught exception: its type alone is a right last line."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import Invoke, write

from quizzer.answers import answer_matches, exception_type

DECK = """\
deck: raises
title: Raises
questions:
  - id: missing-key
    type: predict_output
    prompt: What prints?
    code: |
      print("start")
      {}["k"]
    answer: |
      start
      KeyError: 'k'
"""


@pytest.mark.parametrize(
    ("typed", "right"),
    [
        ("start\nKeyError\n", True),  # the type alone
        ("start\nKeyError: 'k'\n", True),  # the whole line, as Python prints it
        ("start\nKeyError: k\n", False),  # a message, if given, must be Python's
        ("start\nIndexError\n", False),
        ("KeyError\n", False),  # the output before it still counts
    ],
)
def test_the_type_alone_is_right(typed: str, right: bool) -> None:
    assert answer_matches("start\nKeyError: 'k'\n", typed) is right


def test_what_counts_as_an_exception_line() -> None:
    assert exception_type("TypeError: f() missing 1 required positional argument: 'x'") == (
        "TypeError"
    )
    assert exception_type("StopIteration") == "StopIteration"
    assert exception_type("mymodule.ParseError: bad") == "mymodule.ParseError"
    assert exception_type("result: 3") is None
    assert exception_type("[2, 2, 2]") is None


def test_review_grades_the_type_alone_as_right(invoke: Invoke, tmp_path: Path) -> None:
    deck = write(tmp_path / "raises.yaml", DECK)
    assert invoke("import", str(deck)).exit_code == 0
    result = invoke("review", input="start\nKeyError\n.\n\nq\n")
    assert "Correct." in result.output
    with sqlite3.connect(tmp_path / "quizzer.db") as connection:
        logged = connection.execute("SELECT quality, typed FROM reviews").fetchall()
    connection.close()
    assert logged == [(4, "start\nKeyError")]
