"""No prompt ever holds a database lock, and every path reads YAML by one set of rules."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
from pathlib import Path

import pexpect
import pytest
from helpers import Invoke, cli_for, dump_db, expected_error, malformed_cases, write

from quizzer import db


def test_purge_waiting_at_its_prompt_does_not_block_another_writer(
    invoke: Invoke, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = invoke(
        "add", "--deck", "my-notes", "--type", "recall", "--id", "cell",
        "--prompt", "What is a cell?", "--answer", "A box a closure reads through",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert invoke("grade", "my-notes/cell", "4").exit_code == 0
    env = {**os.environ, "QUIZZER_DB": str(db_path), "NO_COLOR": "1"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "quizzer", "delete", "my-notes/cell", "--purge"],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    try:
        child.expect(r"Delete my-notes/cell and its 1 reviews for good\? \[y/N\]: ")
        # Were the prompt inside a write transaction, this writer would wait for the lock
        # and, with a short busy timeout, fail at once with "database is locked".
        monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
        other = invoke("config", "new-per-day", "15")
        assert other.exit_code == 0, other.output
        assert invoke("config", "new-per-day").output == "15\n"
        child.sendline("y")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, child.before
    assert "my-notes/cell: deleted with 1 reviews." in (child.before or "")
    assert invoke("show", "my-notes/cell").exit_code == 1


MALFORMED = [case for case in malformed_cases() if case.name != "top-level-list.yaml"]


@pytest.fixture(scope="module")
def configured_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database that exists (a setting changed), made once and copied by each case."""
    path = tmp_path_factory.mktemp("configured") / "quizzer.db"
    result = cli_for(str(path))("config", "new-per-day", "10")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


@pytest.mark.parametrize("case", MALFORMED, ids=lambda path: path.stem)
def test_add_from_refuses_what_import_refuses_in_the_same_words(
    case: Path, configured_db: Path, invoke: Invoke, db_path: Path
) -> None:
    shutil.copyfile(configured_db, db_path)
    before = dump_db(db_path)
    imported = invoke("import", str(case))
    added = invoke("add", "--from", str(case), "--deck", "my-notes")
    assert imported.exit_code == added.exit_code == 1, added.output
    assert len(added.output.strip().splitlines()) == 1, added.output
    assert added.output == imported.output
    assert expected_error(case) in added.output
    assert dump_db(db_path) == before


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "- id: a\n  type: recall\n  prompt: One?\n  prompt: Two?\n  answer: x\n",
            "question 'a' (#1): field 'prompt': duplicate key (each key may appear once) (line 4",
        ),
        (
            "- id: a\n  type: recall\n  prompt: &p Same?\n  answer: x\n"
            "- id: b\n  type: recall\n  prompt: *p\n  answer: y\n",
            "anchors and aliases (&name, *name) are not allowed",
        ),
        (
            "- id: a\n  type: recall\n  prompt: One?\n  answer: x\n  colour: red\n",
            "question 'a' (#1): field 'colour': unknown key",
        ),
        (
            "- id: a\n  type: recall\n  prompt: One?\n  answer: x\n"
            "- id: a\n  type: recall\n  prompt: Two?\n  answer: y\n",
            "question 'a' (#2): field 'id': duplicate id",
        ),
    ],
    ids=["duplicate-key", "alias", "unknown-key", "duplicate-id"],
)
def test_a_list_of_questions_is_read_as_strictly_as_a_deck(
    text: str, problem: str, invoke: Invoke, tmp_path: Path
) -> None:
    path = write(tmp_path / "list.yaml", text)
    result = invoke("add", "--from", str(path), "--deck", "my-notes")
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {path}: "), result.output
    assert problem in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_list_of_decks_is_refused_naming_the_question(invoke: Invoke, tmp_path: Path) -> None:
    case = next(case for case in malformed_cases() if case.name == "top-level-list.yaml")
    result = invoke("add", "--from", str(case), "--deck", "my-notes")
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {case}: question #1: field ")
