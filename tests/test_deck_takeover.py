"""A downloaded deck cannot take over another (issue 19): a file declaring a deck another
file or quizzer's bundled decks own is refused unless --replace; a FIFO, a device or a
socket named as a file is refused with one line instead of waiting forever."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from helpers import SMALL_DECK, Invoke, write

from quizzer.db import resource_dir

EVIL = (
    "deck: python-closures\ntitle: Evil\nquestions:\n"
    "  - id: q1\n    type: recall\n    prompt: hi\n    answer: x\n"
)


def _active(db_path: Path, slug: str) -> int:
    with sqlite3.connect(db_path) as connection:
        (count,) = connection.execute(
            "select count(*) from questions join decks on decks.id = questions.deck_id "
            "where decks.slug = ? and not questions.retired",
            (slug,),
        ).fetchone()
    return int(count)


def test_a_file_cannot_take_over_a_bundled_deck(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    before = _active(db_path, "python-closures")
    assert before > 20
    evil = write(tmp_path / "evil.yaml", EVIL)
    result = invoke("import", str(evil))
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {evil}: field 'deck': the deck 'python-closures' belongs to the decks "
        "bundled with quizzer; importing this file would take it over (its questions retired "
        "or rewritten). Give the deck another slug, or pass --replace to take it over\n"
    )
    assert _active(db_path, "python-closures") == before
    taken = invoke("import", "--replace", str(evil))
    assert taken.exit_code == 0, taken.output
    assert _active(db_path, "python-closures") == 1
    # Taken over on purpose, the deck is the file's now: importing it again needs no flag.
    assert invoke("import", str(evil)).exit_code == 0


def test_a_file_cannot_take_over_another_files_deck(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    first = write(tmp_path / "a" / "closures.yaml", SMALL_DECK)
    assert invoke("import", str(first)).exit_code == 0
    copy = write(tmp_path / "b" / "mine.yaml", SMALL_DECK.replace("What prints?", "Changed"))
    result = invoke("import", str(copy))
    assert result.exit_code == 1
    assert f"the deck 'test-closures' belongs to {first.resolve()}" in result.output
    assert invoke("import", "--replace", str(copy)).exit_code == 0


def test_a_moved_file_keeps_its_deck(invoke: Invoke, tmp_path: Path) -> None:
    first = write(tmp_path / "a" / "closures.yaml", SMALL_DECK)
    assert invoke("import", str(first)).exit_code == 0
    moved = tmp_path / "b.yaml"
    first.rename(moved)
    assert invoke("import", str(moved)).exit_code == 0


def test_the_bundled_decks_and_an_exported_copy_in_a_fresh_collection(
    invoke: Invoke, tmp_path: Path
) -> None:
    # No deck of that slug in the collection yet: nothing to take over.
    exported = write(
        tmp_path / "closures.yaml", (resource_dir("decks") / "closures.yaml").read_text()
    )
    assert invoke("import", str(exported)).exit_code == 0


@pytest.mark.parametrize("command", [["import"], ["add", "--from"], ["check"]])
def test_a_fifo_is_refused_with_one_line(
    invoke: Invoke, tmp_path: Path, command: list[str]
) -> None:
    fifo = tmp_path / "deck.yaml"
    os.mkfifo(fifo)
    result = invoke(*command, str(fifo))
    assert result.exit_code == 1
    assert result.output == f"Error: {fifo}: not a regular file (a FIFO); name a file or folder\n"


@pytest.mark.parametrize("command", [["trace", "--code-file"], ["add", "--deck", "m", "--type",
                         "predict_output", "--prompt", "P", "--code-file"]])  # fmt: skip
def test_a_fifo_as_code_file_is_refused(invoke: Invoke, tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / "code.py"
    os.mkfifo(fifo)
    result = invoke(*command, str(fifo))
    assert result.exit_code == 1
    assert result.output == f"Error: {fifo}: not a regular file (a FIFO); name a file or folder\n"
