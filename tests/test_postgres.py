"""quizzer on a PostgreSQL server: the same commands, schema and behaviour as on SQLite.

Each test gets a database of its own on the server named by ``--postgres`` or
``QUIZZER_TEST_POSTGRES`` (see conftest.py); without one they are all skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from helpers import Choice, Invoke, cli_for, dump_db, review_script, table_rows, write
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from test_import_fast_paths import assert_bulk_insert_stores_what_sqlalchemy_stores

from quizzer import db
from quizzer.errors import DatabaseError
from quizzer.orm import Base

pytestmark = pytest.mark.postgres

QUIZZER = Path(sys.executable).with_name("quizzer")
CELL_CHOICES = ["The value at definition time", "The variable (a cell)"]
CELL_ANSWER = "The variable (a cell)"


def _sql(url: str, statement: str, **params: object) -> list[tuple[object, ...]]:
    """Run one statement in its own committed transaction; the rows it returned."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _log(url: str) -> list[tuple[object, ...]]:
    return _sql(
        url,
        "SELECT q.qid, r.quality, r.kind, r.typed FROM reviews r "
        "JOIN questions q ON q.id = r.question_id ORDER BY r.id",
    )


# --- schema ---------------------------------------------------------------------------


def test_migrations_create_the_schema_and_it_matches_the_models(pg_url: str) -> None:
    database = db.open_database(pg_url)
    try:
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
            tables = set(inspect(connection).get_table_names())
            indexes = {i["name"]: i for i in inspect(connection).get_indexes("reviews")}
    finally:
        database.dispose()
    assert diff == [], f"models and migrations differ on PostgreSQL: {diff}"
    assert tables == {
        "alembic_version",
        "decks",
        "questions",
        "card_states",
        "reviews",
        "settings",
        "highlight_cache",
        "review_days",
        "deck_cards",
        "due_days",
    }
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]
    graded_once = indexes["uq_reviews_graded_per_day"]
    assert graded_once["unique"] and graded_once["column_names"] == ["question_id", "day"]
    assert "graded" in str(graded_once["dialect_options"]["postgresql_where"])


def test_an_older_database_is_upgraded_by_the_same_revisions(pg_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(db.resource_dir("migrations")))
    engine = create_engine(pg_url, poolclass=NullPool)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, db.SCHEMA_REVISIONS[0])
    engine.dispose()
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_REVISIONS[0],)]
    db.open_database(pg_url).dispose()
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]


def test_a_database_of_a_newer_quizzer_is_refused_untouched(pg_url: str) -> None:
    db.open_database(pg_url).dispose()
    _sql(pg_url, "UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(DatabaseError, match="newer quizzer"):
        db.open_database(pg_url)
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [("9999",)]


def test_a_database_of_another_program_is_refused_untouched(pg_url: str) -> None:
    _sql(pg_url, "CREATE TABLE photos (id serial PRIMARY KEY, name text)")
    with pytest.raises(DatabaseError, match="not a quizzer database"):
        db.open_database(pg_url)
    tables = _sql(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == [("photos",)]


def _wait_for_waiters(url: str, count: int, procs: list[subprocess.Popen[str]]) -> None:
    """Until ``count`` other sessions of this database wait for a lock."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = _sql(
            url,
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
        )[0][0]
        if waiting == count:
            return
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"a process ended before waiting for the lock: {proc.communicate()}")
        time.sleep(0.05)
    pytest.fail(f"{count} processes never waited for the lock together")


def _finish(procs: list[subprocess.Popen[str]]) -> list[tuple[str, str]]:
    """Every process's (stdout, stderr); any still running after a minute is killed."""
    results = []
    for proc in procs:
        try:
            results.append(proc.communicate(timeout=60))
        except subprocess.TimeoutExpired:
            proc.kill()
            results.append(proc.communicate())
    return results


def _quizzer(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZZER_")}
    return subprocess.Popen(
        [str(QUIZZER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_processes_starting_on_a_new_database_migrate_it_once(pg_url: str) -> None:
    # The test holds the migration lock, so all three are certain to arrive together.
    engine = create_engine(pg_url, poolclass=NullPool)
    with engine.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": db._MIGRATION_LOCK})
        procs = [_quizzer("--db", pg_url, "decks", "--json") for _ in range(3)]
        try:
            _wait_for_waiters(pg_url, 3, procs)
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": db._MIGRATION_LOCK})
            results = _finish(procs)
    engine.dispose()
    assert [proc.returncode for proc in procs] == [0, 0, 0], results
    assert all(json.loads(out) == [] for out, _ in results)
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]


# --- import ---------------------------------------------------------------------------


def test_bulk_insert_stores_what_sqlalchemy_stores(pg_url: str) -> None:
    assert_bulk_insert_stores_what_sqlalchemy_stores(pg_url)


def test_the_counts_kept_for_stats_equal_a_recount_on_postgresql(
    pg_invoke: Invoke, pg_url: str
) -> None:
    """The triggers of migrations 0010 and 0011 in PL/pgSQL: every kind of change of
    tests/test_review_days.py, in turn, then `stats` and `decks` as from a recount."""
    from test_review_days import DECKS, START, apply_and_compare

    decks = db.resource_dir("decks")
    loaded = pg_invoke("import", *(str(decks / name) for name in DECKS), today=START.isoformat())
    assert loaded.exit_code == 0, loaded.output
    history = [("grade", n, 4 if n % 3 else 1, n % 2) for n in range(12)] + [("drill", 2, 5, 0)]
    steps = [
        (verb, 7, 2, 3)
        for verb in (
            "undo", "rerate", "unsuspend", "sql-suspend", "sql-due", "sql-retire", "retire",
            "sql-other-deck", "sql-replace-card", "sql-forget", "sql-move", "sql-delete",
            "grade", "purge", "sql-delete-question", "delete-deck",
        )
    ]  # fmt: skip
    database = db.open_database(pg_url)
    try:
        recounted = apply_and_compare(database, [*history, *steps])
        assert recounted[0] and recounted[2] and recounted[3]  # answers, decks, due cards
    finally:
        database.dispose()
    assert pg_invoke("db", "check").exit_code == 0


def test_import_twice_is_idempotent(pg_invoke: Invoke, pg_url: str, deck_file: Path) -> None:
    first = pg_invoke("import", str(deck_file), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["decks"][0]["added"] == 3
    before = table_rows(pg_url)
    again = pg_invoke("import", str(deck_file), "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)["decks"][0]
    assert (report["added"], report["updated"], report["unchanged"]) == (0, 0, 3)
    assert table_rows(pg_url) == before


def test_a_bad_file_changes_nothing(
    pg_invoke: Invoke, pg_url: str, deck_file: Path, tmp_path: Path
) -> None:
    assert pg_invoke("import", str(deck_file)).exit_code == 0
    before = table_rows(pg_url)
    edited = write(
        tmp_path / "more" / "edited.yaml",
        deck_file.read_text().replace("What prints?", "What does it print?"),
    )
    bad = write(
        tmp_path / "more" / "bad.yaml",
        """\
        deck: bad
        title: Bad
        questions:
          - id: broken
            type: recall
            prompt: Broken?
            answer: [not, a, string]
        """,
    )
    result = pg_invoke("import", str(edited), str(bad))
    assert result.exit_code == 1
    assert "bad.yaml: question 'broken'" in result.output and "answer" in result.output
    assert table_rows(pg_url) == before


# --- review, grade, undo ----------------------------------------------------------------


def test_scripted_review_records_answers_and_drills(
    pg_invoke: Invoke, pg_url: str, deck_file: Path
) -> None:
    assert pg_invoke("import", str(deck_file)).exit_code == 0
    script = review_script(
        *("[0, 1, 2]", "."),  # wrong output: q=1
        Choice("The value at definition time"),  # wrong choice: q=1
        *("", "g"),  # recall: good, q=4
        *("[2, 2, 2]", ".", "h"),  # drill: right but hard, q=3
        *(Choice(CELL_ANSWER), ""),  # drill: good, q=4
        *("[2, 2, 2]", ".", ""),  # drill again: good
    )
    result = pg_invoke("review", input=script)
    assert result.exit_code == 0, result.output
    assert "expected:  [2, 2, 2]\n            ^  ^\nyou typed: [0, 1, 2]\n" in result.output
    assert "4/5  test-closures/late-binding  (drill)" in result.output
    assert "6/6  test-closures/late-binding  (drill)" in result.output
    assert _log(pg_url) == [
        ("late-binding", 1, "graded", "[0, 1, 2]"),
        ("cell", 1, "graded", "The value at definition time"),
        ("nonlocal", 4, "graded", None),
        ("late-binding", 3, "drill", "[2, 2, 2]"),
        ("cell", 4, "drill", CELL_ANSWER),
        ("late-binding", 4, "drill", "[2, 2, 2]"),
    ]
    resumed = pg_invoke("review", input="")
    assert "Nothing due today. The next card is due on 2026-01-06" in resumed.output


def test_grade_then_undo_restores_the_card_exactly(pg_invoke: Invoke, deck_file: Path) -> None:
    assert pg_invoke("import", str(deck_file)).exit_code == 0
    name = "test-closures/nonlocal"
    before = pg_invoke("show", name, "--json").output
    graded = json.loads(pg_invoke("grade", name, "4", "--json").output)
    assert (graded["kind"], graded["repetitions"], graded["due"]) == ("graded", 1, "2026-01-06")
    drill = json.loads(pg_invoke("grade", name, "2", "--json").output)
    assert (drill["kind"], drill["repetitions"]) == ("drill", 1)
    early = pg_invoke("grade", name, "5", today="2026-01-05")
    assert early.exit_code == 0 and "drill" in early.output
    history = json.loads(pg_invoke("show", name, "--json").output)["history"]
    assert [(h["kind"], h["quality"]) for h in history] == [
        ("graded", 4),
        ("drill", 2),
        ("drill", 5),
    ]
    for _ in range(3):
        assert pg_invoke("undo").exit_code == 0
    assert pg_invoke("show", name, "--json").output == before
    nothing = pg_invoke("undo")
    assert nothing.exit_code == 1 and "nothing to undo" in nothing.output


def test_two_machines_grading_one_card_the_same_day_grade_it_once(
    pg_invoke: Invoke, pg_url: str, deck_file: Path
) -> None:
    assert pg_invoke("import", str(deck_file)).exit_code == 0
    name = "test-closures/late-binding"
    engine = create_engine(pg_url, poolclass=NullPool)
    with engine.connect() as holder:
        # While the test holds the card's row, both processes are sure to be answering it
        # at the same time; then they are let go together.
        holder.execute(
            text(
                "SELECT s.question_id FROM card_states s JOIN questions q ON q.id = s.question_id"
                " WHERE q.qid = 'late-binding' FOR UPDATE"
            )
        )
        procs = [
            _quizzer("--db", pg_url, "--today", "2026-01-05", "grade", name, "4", "--json")
            for _ in range(2)
        ]
        try:
            _wait_for_waiters(pg_url, 2, procs)
        finally:
            holder.rollback()
            results = _finish(procs)
    engine.dispose()
    assert [proc.returncode for proc in procs] == [0, 0], results
    kinds = sorted(json.loads(out)["kind"] for out, _ in results)
    assert kinds == ["drill", "graded"]
    assert _log(pg_url) == [("late-binding", 4, "graded", None), ("late-binding", 4, "drill", None)]
    state = json.loads(pg_invoke("show", name, "--json").output)["state"]
    assert (state["repetitions"], state["interval"], state["due"]) == (1, 1, "2026-01-06")


def test_authoring_and_leech_commands(pg_invoke: Invoke, pg_url: str, deck_file: Path) -> None:
    assert pg_invoke("import", str(deck_file)).exit_code == 0
    added = pg_invoke(
        "add", "--deck", "mine", "--type", "recall", "--prompt", "R?", "--answer", "r"
    )
    assert added.exit_code == 0 and "Added mine/r." in added.output
    assert pg_invoke("grade", "mine/r", "4").exit_code == 0
    assert pg_invoke("delete", "mine/r").exit_code == 0
    assert pg_invoke("show", "mine/r", "--json").output.count('"retired": true') == 1
    purged = pg_invoke("delete", "mine/r", "--purge", "-y")
    assert purged.exit_code == 0 and "deleted with 1 reviews" in purged.output
    assert _sql(
        pg_url,
        "SELECT count(*) FROM questions q JOIN decks d ON d.id = q.deck_id WHERE d.slug = 'mine'",
    ) == [(0,)]
    assert pg_invoke("config", "leech-threshold", "2").exit_code == 0
    name = "test-closures/nonlocal"
    assert pg_invoke("grade", name, "1").exit_code == 0
    leech = pg_invoke("grade", name, "1", today="2026-01-06")
    assert leech.exit_code == 0 and "is a leech (failed 2 times) and is suspended" in leech.output
    leeches = json.loads(pg_invoke("cards", "--leeches", "--json").output)
    assert [(c["name"], c["leech"], c["suspended"]) for c in leeches] == [(name, True, True)]
    assert pg_invoke("unsuspend", name).exit_code == 0
    assert json.loads(pg_invoke("cards", "--leeches", "--json").output) == []


# --- the same collection on both backends ---------------------------------------------------


def _history(invoke: Invoke, deck_file: Path, tmp_path: Path) -> None:
    """A collection with something in every table: reviews over days, settings, a retired card."""
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("config", "new-per-day", "15").exit_code == 0
    script = review_script("[0]", ".", Choice(CELL_ANSWER), "e", "", "g", "[2, 2, 2]", ".", "")
    assert invoke("review", input=script).exit_code == 0
    assert invoke("review", input="[2, 2, 2]\n.\n\n", today="2026-01-06").exit_code == 0
    fewer = write(
        tmp_path / "fewer" / "closures.yaml", deck_file.read_text().split("  - id: cell")[0]
    )
    assert invoke("import", "--replace", str(fewer)).exit_code == 0  # cell and nonlocal retired
    assert invoke("import", "--replace", str(deck_file)).exit_code == 0  # and back
    # Due on the 7th: cell, nonlocal, late-binding (answered wrong, in Unicode).
    script = review_script(Choice(CELL_ANSWER), "", "", "g", "Ünïcode — typed", "\ttab", ".")
    assert invoke("review", input=script, today="2026-01-07").exit_code == 0


def _views(invoke: Invoke, today: str) -> list[str]:
    names = ["test-closures/late-binding", "test-closures/cell", "test-closures/nonlocal"]
    return [
        invoke("decks", "--json", today=today).output,
        invoke("cards", "--json", "--retired", today=today).output,
        invoke("cards", "--json", "--due", today=today).output,
        invoke("stats", "--json", today=today).output,
        invoke("config", today=today).output,
        *(invoke("show", name, "--json", today=today).output for name in names),
    ]


def _timeless(views: list[str]) -> list[object]:
    parsed: list[object] = []
    for view in views:
        try:
            data = json.loads(view)
        except ValueError:
            parsed.append(view)
            continue
        if isinstance(data, dict) and "history" in data:
            for entry in data["history"]:
                entry.pop("answered_at")
                entry.pop("seconds")
        parsed.append(data)
    return parsed


def _timeless_rows(rows: dict[str, list[tuple[object, ...]]]) -> dict[str, object]:
    columns = [c.name for c in Base.metadata.tables["reviews"].columns]
    clock = {columns.index("answered_at"), columns.index("seconds")}
    reviews = [tuple(v for i, v in enumerate(row) if i not in clock) for row in rows["reviews"]]
    return {**rows, "reviews": reviews}


def test_db_copy_round_trip_sqlite_postgres_sqlite_is_identical(
    invoke: Invoke, db_path: Path, pg_url: str, deck_file: Path, tmp_path: Path
) -> None:
    _history(invoke, deck_file, tmp_path)
    original = table_rows(str(db_path))
    assert all(original.values()), "every table should hold rows"
    to_pg = invoke("db", "copy", "--to", pg_url)
    assert to_pg.exit_code == 0, to_pg.output
    assert "1 deck, 1 setting, 3 questions, 3 card states, 8 reviews" in to_pg.output
    assert ("late-binding", 1, "graded", "Ünïcode — typed\n\ttab") in _log(pg_url)
    assert table_rows(pg_url) == original
    back_path = tmp_path / "back.db"
    back = cli_for(pg_url)("db", "copy", "--to", str(back_path))
    assert back.exit_code == 0, back.output
    assert table_rows(str(back_path)) == original
    assert dump_db(back_path) == dump_db(db_path)


def test_every_command_shows_the_same_on_both_backends(
    invoke: Invoke, pg_invoke: Invoke, db_path: Path, pg_url: str, deck_file: Path, tmp_path: Path
) -> None:
    _history(invoke, deck_file, tmp_path)
    assert invoke("db", "copy", "--to", pg_url).exit_code == 0
    for today in ("2026-01-07", "2026-01-08", "2026-01-20"):
        assert _views(pg_invoke, today) == _views(invoke, today)
    # Go on answering on both: PostgreSQL's ids continue after the copied ones.
    for run in (invoke, pg_invoke):
        assert run("review", input="\ng\n[2, 2, 2]\n.\ne\n" * 3, today="2026-01-08").exit_code == 0
        assert run("grade", "test-closures/cell", "3", today="2026-01-13").exit_code == 0
        assert run("undo").exit_code == 0
    # Only the clock differs: when each new answer was given, and how long it took.
    assert _timeless(_views(pg_invoke, "2026-01-13")) == _timeless(_views(invoke, "2026-01-13"))
    rows_pg, rows_sqlite = table_rows(pg_url), table_rows(str(db_path))
    assert len(rows_pg["reviews"]) > 8
    assert _timeless_rows(rows_pg) == _timeless_rows(rows_sqlite)
    # The same collection exports to the same Anki package, byte for byte.
    apkg_sqlite, apkg_pg = tmp_path / "sqlite.apkg", tmp_path / "pg.apkg"
    assert invoke("export", "-o", str(apkg_sqlite)).exit_code == 0
    exported = pg_invoke("export", "-o", str(apkg_pg))
    assert exported.exit_code == 0, exported.output
    assert zipfile.is_zipfile(apkg_pg)
    assert apkg_pg.read_bytes() == apkg_sqlite.read_bytes()


def test_db_copy_refuses_a_non_empty_target_unless_replace(
    invoke: Invoke, pg_invoke: Invoke, pg_url: str, deck_file: Path, tmp_path: Path
) -> None:
    other = write(
        tmp_path / "other.yaml",
        "deck: other\ntitle: Other\nquestions:\n  - {id: a, type: recall, prompt: A?, answer: a}\n",
    )
    assert pg_invoke("import", str(other)).exit_code == 0
    target = table_rows(pg_url)
    assert invoke("import", str(deck_file)).exit_code == 0
    refused = invoke("db", "copy", "--to", pg_url)
    assert refused.exit_code == 1
    assert "not empty (1 deck, 0 settings, 1 question" in refused.output
    assert "--replace" in refused.output
    assert table_rows(pg_url) == target
    replaced = invoke("db", "copy", "--to", pg_url, "--replace")
    assert replaced.exit_code == 0, replaced.output
    decks = json.loads(pg_invoke("decks", "--json").output)
    assert [d["deck"] for d in decks] == ["test-closures"]


def test_db_copy_checks_the_row_counts_and_keeps_the_target_on_a_mismatch(
    invoke: Invoke, pg_url: str, deck_file: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("grade", "test-closures/cell", "4").exit_code == 0
    db.open_database(pg_url).dispose()
    # A trigger on the server that silently drops a row: the copy must notice.
    _sql(
        pg_url,
        "CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RETURN NULL; END $$",
    )
    _sql(
        pg_url,
        "CREATE TRIGGER lose_reviews BEFORE INSERT ON reviews FOR EACH ROW "
        "EXECUTE FUNCTION drop_row()",
    )
    result = invoke("db", "copy", "--to", pg_url)
    assert result.exit_code == 1
    assert "the copy has" in result.output and "0 reviews" in result.output
    assert all(rows == [] for rows in table_rows(pg_url).values())


def test_connection_url_spelling(pg_url: str) -> None:
    # postgresql:// without a driver uses psycopg 3, the driver quizzer[postgres] installs.
    plain = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    database = db.open_database(plain)
    try:
        assert database.engine.dialect.driver == "psycopg"
    finally:
        database.dispose()
