"""Listings never cut a name: piped, one tab-separated row per line with every value whole;
on a narrow terminal, one record per row with its name whole on the first line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from helpers import Invoke

from quizzer.db import resource_dir
from quizzer.deckfile import load_deck


@pytest.fixture
def bundled(invoke: Invoke, db_path: Path) -> Path:
    assert invoke("import", "--bundled").exit_code == 0
    assert invoke("delete", "python-closures/late-binding").exit_code == 0
    return db_path


def _names(invoke: Invoke, command: str) -> list[str]:
    extra = ["--retired"] if command == "cards" else []
    rows = json.loads(invoke(command, "--json", *extra).output)
    return [row["name"] if command == "cards" else row["deck"] for row in rows]


def _env(db: Path) -> dict[str, str]:
    return {**os.environ, "QUIZZER_DB": str(db), "QUIZZER_TODAY": "2026-01-05", "COLUMNS": "40"}


@pytest.mark.parametrize("command", ["cards", "decks"])
def test_piped_rows_are_tab_separated_and_whole(
    command: str, bundled: Path, invoke: Invoke
) -> None:
    args = [command, "--retired"] if command == "cards" else [command]
    out = subprocess.run(
        [sys.executable, "-m", "quizzer", *args],
        env=_env(bundled), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [line.split("\t") for line in out.splitlines()]
    assert [row[0] for row in rows] == _names(invoke, command)
    assert len({len(row) for row in rows}) == 1  # same fields on every row, no header
    if command == "cards":
        retired = [row for row in rows if row[0] == "python-closures/late-binding"]
        assert retired and retired[0][-1] == "(retired)"  # the marker is its own field
    else:
        gil = load_deck(resource_dir("decks") / "gil-and-concurrency.yaml")
        row = next(row for row in rows if row[0] == gil.deck)
        assert row[:5] == [gil.deck, str(len(gil.questions)), "0", "0", "0"]
        assert row[5] == "The GIL and concurrency in CPython"


@pytest.mark.parametrize("command", ["cards", "decks"])
def test_a_forty_column_terminal_shows_every_name_whole(
    command: str, bundled: Path, invoke: Invoke
) -> None:
    child = pexpect.spawn(
        sys.executable, ["-m", "quizzer", command], env={**_env(bundled), "NO_COLOR": "1"},
        dimensions=(24, 40), encoding="utf-8", timeout=60,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    lines = [line.rstrip() for line in (child.before or "").replace("\r\n", "\n").split("\n")]
    shown = [line for line in lines if line and not line.startswith(" ")]
    assert shown == [n for n in _names(invoke, command) if not n.endswith("/late-binding")]
