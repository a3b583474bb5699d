"""A deleted question of your own can come back; `db check` finds a damaged file, a card
that is not where its review log leads, or counts kept for `stats` that drifted."""

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


def test_db_check_finds_counts_that_no_trigger_kept(invoke: Invoke, db_path: Path) -> None:
    _own_question(invoke)
    with sqlite3.connect(db_path) as connection:
        # Another program changes the card and the log with the triggers out of the way.
        for trigger in ("deck_cards_card_update", "review_days_update"):
            connection.execute(f"DROP TRIGGER {trigger}")
        connection.execute("UPDATE card_states SET suspended = 1")
        connection.execute("UPDATE reviews SET day = '2030-01-01'")
    connection.close()
    result = invoke("db", "check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (
        "the answers per deck and day kept for stats (review_days) differ from a recount "
        "in 2 rows: `quizzer db copy --to NEW.db` counts them afresh" in lines
    )
    assert any(
        line.startswith("the cards per deck and due date kept for stats (due_days)")
        for line in lines
    )
    assert not any("questions per deck" in line for line in lines)  # still one, learned
    copied = invoke("db", "copy", "--to", str(db_path.with_name("copy.db")))
    assert copied.exit_code == 0, copied.output
    again = invoke("--db", str(db_path.with_name("copy.db")), "db", "check")
    # The copy's triggers counted what was copied (the card changed behind its log's back
    # is still reported).
    assert "kept for stats" not in again.output
    assert "its card is not where its review log leads" in again.output


def test_a_damaged_file_is_called_damaged(invoke: Invoke, db_path: Path) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    size = db_path.stat().st_size
    # Keep the header and the schema (the first pages, written when the database was
    # made), break pages of the questions imported after it.
    with db_path.open("r+b") as handle:
        for offset in range(size // 2 // 4096 * 4096, size - 4096, 4096 * 2):
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


def test_a_damaged_schema_is_called_damaged_in_one_line(invoke: Invoke, db_path: Path) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    with sqlite3.connect(db_path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'alembic_version'"
        ).fetchone()
    connection.close()
    # The page of the schema's revision, which every command reads first.
    with db_path.open("r+b") as handle:
        handle.seek(4096 * (page - 1) + 8)
        handle.write(b"\xa5" * 2000)
    checked = invoke("db", "check")
    assert checked.exit_code == 1
    (line,) = checked.output.splitlines()
    assert line.startswith(f"Error: {db_path}: the database file is damaged (")
    assert f"`sqlite3 {db_path} .recover | sqlite3 NEW.db`" in line
