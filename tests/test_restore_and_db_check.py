"""A deleted question of your own can come back; `db check` finds a damaged file or a card
that is not where its review log leads."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from helpers import Invoke


def _own_question(invoke: Invoke) -> None:
    added = invoke(
        "add", "--deck", "my-notes", "--type", "recall", "--id", "cell",
        "--prompt", "What is a cell?", "--answer", "The box a closure reads a variable through",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert invoke("grade", "my-notes/cell", "4").exit_code == 0


def test_restore_brings_back_a_deleted_question_with_its_history(invoke: Invoke) -> None:
    _own_question(invoke)
    deleted = invoke("delete", "my-notes/cell")
    assert "`quizzer restore my-notes/cell` brings it back." in deleted.output
    assert json.loads(invoke("show", "my-notes/cell", "--json").output)["retired"] is True
    restored = invoke("restore", "my-notes/cell")
    assert restored.output == "my-notes/cell: restored, with its schedule and history.\n"
    shown = json.loads(invoke("show", "my-notes/cell", "--json").output)
    assert shown["retired"] is False
    assert [entry["quality"] for entry in shown["history"]] == [4]
    assert shown["state"]["repetitions"] == 1
    again = invoke("restore", "my-notes/cell")
    assert (
        again.exit_code == 0 and again.output == "my-notes/cell is not retired; nothing changed.\n"
    )


def test_a_deck_files_question_comes_back_by_its_file(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("delete", "test-closures/cell").exit_code == 0
    refused = invoke("restore", "test-closures/cell")
    assert refused.exit_code == 1
    assert "this deck is loaded from" in refused.output
    assert "put the question back in that file and import it again" in refused.output


def test_db_check_passes_a_sound_collection(invoke: Invoke) -> None:
    _own_question(invoke)
    result = invoke("db", "check")
    assert result.exit_code == 0, result.output
    assert result.output == "ok: 1 questions, 1 answers checked\n"
    assert json.loads(invoke("db", "check", "--json").output)["ok"] is True


def test_db_check_finds_a_card_that_is_not_where_its_log_leads(
    invoke: Invoke, db_path: Path
) -> None:
    _own_question(invoke)
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE card_states SET ease = 200")
    connection.close()
    result = invoke("db", "check")
    assert result.exit_code == 1
    assert "my-notes/cell: its card is not where its review log leads (answer #1)" in result.output
    assert result.output.endswith("1 problems: 1 questions, 1 answers checked\n")


def test_a_damaged_file_is_called_damaged(invoke: Invoke, db_path: Path) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    size = db_path.stat().st_size
    with db_path.open("r+b") as handle:  # keep the header, break the pages after it
        for offset in range(4096 * 3, size - 4096, 4096 * 2):
            handle.seek(offset + 100)
            handle.write(b"\xa5" * 300)
    checked = invoke("db", "check")
    assert checked.exit_code == 1
    assert "the database file is damaged" in checked.output
    listed = invoke("cards")
    assert listed.exit_code == 1
    assert listed.output.startswith("Error: the database file is damaged (")
    assert "`quizzer db check` says more" in listed.output
    assert len(listed.output.strip().splitlines()) == 1
