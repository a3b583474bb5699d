"""Fixtures shared by the test-suite: real SQLite files in tmp_path, the real CLI."""

from __future__ import annotations

import sqlite3
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from quizzer.cli import main

SMALL_DECK = """\
deck: test-closures
title: Test closures
tags: [closures]
questions:
  - id: late-binding
    type: predict_output
    prompt: What prints?
    code: |
      fs = [lambda: i for i in range(3)]
      print([f() for f in fs])
    answer: |
      [2, 2, 2]
    explanation: The lambdas look up i when called, after the loop ended.
    tags: [late-binding]
  - id: cell
    type: multiple_choice
    prompt: What does a closure capture?
    choices:
      - The value at definition time
      - The variable (a cell)
    answer: The variable (a cell)
  - id: nonlocal
    type: recall
    prompt: Which statement lets an inner function rebind an outer variable?
    answer: nonlocal
"""

Invoke = Callable[..., Result]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where this test's database lives (created on first use)."""
    return tmp_path / "quizzer.db"


@pytest.fixture
def invoke(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the real CLI against this test's database; ``--today`` defaults to 2026-01-05."""
    monkeypatch.delenv("QUIZZER_DB", raising=False)
    monkeypatch.delenv("QUIZZER_TODAY", raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None, today: str | None = "2026-01-05") -> Result:
        argv = ["--db", str(db_path)]
        if today is not None:
            argv += ["--today", today]
        return runner.invoke(main, [*argv, *args], input=input, catch_exceptions=False)

    return run


@pytest.fixture
def deck_file(tmp_path: Path) -> Path:
    """A small deck file with one question of each type."""
    path = tmp_path / "decks" / "closures.yaml"
    path.parent.mkdir()
    path.write_text(SMALL_DECK, encoding="utf-8")
    return path


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def dump_db(path: Path) -> list[str]:
    """The whole database as SQL, to compare before and after."""
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())
