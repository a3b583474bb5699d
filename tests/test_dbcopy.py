"""`quizzer db copy` between SQLite files (tests/test_postgres.py covers PostgreSQL)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from helpers import Invoke, cli_for, dump_db, table_rows


def _collection(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("config", "new-per-day", "3").exit_code == 0
    assert invoke("grade", "test-closures/cell", "5").exit_code == 0
    assert invoke("grade", "test-closures/nonlocal", "1").exit_code == 0
    assert invoke("grade", "test-closures/nonlocal", "4").exit_code == 0


def test_copy_to_a_new_file_is_the_same_collection(
    invoke: Invoke, db_path: Path, deck_file: Path, tmp_path: Path
) -> None:
    _collection(invoke, deck_file)
    target = tmp_path / "copy.db"
    result = invoke("db", "copy", "--to", str(target))
    assert result.exit_code == 0, result.output
    assert f"Copied to {target}: 1 deck, 1 setting, 3 questions, 3 card states, 3 reviews" in (
        result.output
    )
    assert table_rows(str(target)) == table_rows(str(db_path))
    assert dump_db(target) == dump_db(db_path)
    # The copy is a working collection: ids go on after the copied ones.
    copy = cli_for(str(target))
    assert copy("grade", "test-closures/late-binding", "4").exit_code == 0
    with sqlite3.connect(target) as connection:
        assert connection.execute("SELECT max(id) FROM reviews").fetchone() == (4,)
    connection.close()


def test_a_non_empty_target_is_refused_unless_replace(
    invoke: Invoke, db_path: Path, deck_file: Path, tmp_path: Path
) -> None:
    _collection(invoke, deck_file)
    target = tmp_path / "other.db"
    other = cli_for(str(target))
    assert other("grade", "test-closures/cell", "3").exit_code == 1  # creates it, empty
    assert other("config", "leech-threshold", "4").exit_code == 0
    before = dump_db(target)
    refused = invoke("db", "copy", "--to", str(target))
    assert refused.exit_code == 1
    assert f"{target}: not empty (0 decks, 1 setting, 0 questions" in refused.output
    assert "use --replace" in refused.output
    assert dump_db(target) == before
    replaced = invoke("db", "copy", "--to", str(target), "--replace")
    assert replaced.exit_code == 0, replaced.output
    assert dump_db(target) == dump_db(db_path)


def test_what_cannot_be_copied_is_refused_and_nothing_written(
    invoke: Invoke, db_path: Path, deck_file: Path, tmp_path: Path
) -> None:
    missing = cli_for(str(tmp_path / "missing.db"))("db", "copy", "--to", str(tmp_path / "t.db"))
    assert missing.exit_code == 1 and "missing.db: no database here to copy" in missing.output
    assert not (tmp_path / "missing.db").exists()

    assert invoke("decks").exit_code == 0  # an empty collection
    empty = invoke("db", "copy", "--to", str(tmp_path / "t.db"))
    assert empty.exit_code == 1 and "nothing to copy" in empty.output

    _collection(invoke, deck_file)
    itself = invoke("db", "copy", "--to", f"sqlite:///{db_path}")
    assert itself.exit_code == 1 and "is the database being copied" in itself.output

    foreign = tmp_path / "photos.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    connection.close()
    before = foreign.read_bytes()
    refused = invoke("db", "copy", "--to", str(foreign), "--replace")
    assert refused.exit_code == 1 and "not a quizzer database" in refused.output
    assert foreign.read_bytes() == before

    usage = invoke("db", "copy")
    assert usage.exit_code == 2 and "--to" in usage.output
