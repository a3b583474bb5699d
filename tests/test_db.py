"""The database: created only by migrations, upgraded on first use, refused when not ours."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from helpers import Invoke, other_program_with_alembic
from sqlalchemy import Engine, create_engine, event, text

from quizzer import db
from quizzer.errors import DatabaseError, UsageError
from quizzer.orm import Base


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(db.resource_dir("migrations")))
    return config


def test_known_revisions_match_the_migrations() -> None:
    script = ScriptDirectory.from_config(_alembic_config())
    chain = [rev.revision for rev in script.walk_revisions()][::-1]
    assert tuple(chain) == db.SCHEMA_REVISIONS
    assert script.get_current_head() == db.SCHEMA_HEAD


def test_revision_ids_are_numbered_so_a_newer_quizzer_is_told_from_another_program() -> None:
    assert all(db.REVISION_FORM.fullmatch(rev) for rev in db.SCHEMA_REVISIONS)


def test_models_and_migrations_do_not_drift(db_path: Path) -> None:
    database = db.open_database(str(db_path))
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    database.dispose()
    assert diff == [], f"models and migrations differ; add a revision: {diff}"


def test_new_database_is_created_by_migrations_with_pragmas(db_path: Path) -> None:
    database = db.open_database(str(db_path))
    with database.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA busy_timeout").fetchone() == (db.BUSY_TIMEOUT_MS,)
        assert raw.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    database.dispose()
    with sqlite3.connect(db_path) as connection:
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert version == [(db.SCHEMA_HEAD,)]
    assert {"decks", "questions", "card_states", "reviews", "settings"} <= tables


def test_a_page_cache_size_is_set_on_every_connection_and_the_default_left_alone(
    db_path: Path,
) -> None:
    def cache_size(database: db.Database) -> object:
        with database.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            return raw.execute("PRAGMA cache_size").fetchone()

    default = sqlite3.connect(":memory:").execute("PRAGMA cache_size").fetchone()
    plain = db.open_database(str(db_path))
    small = db.open_database(str(db_path), page_cache_kib=db.SMALL_PAGE_CACHE_KIB)
    try:
        assert cache_size(plain) == default
        assert cache_size(small) == (-db.SMALL_PAGE_CACHE_KIB,)  # negative: KiB
        # A connection made later (the pool's first one was closed) gets it too.
        small.engine.dispose()
        assert cache_size(small) == (-db.SMALL_PAGE_CACHE_KIB,)
        with small.reading() as session:
            assert session.execute(text("PRAGMA cache_size")).one() == (-db.SMALL_PAGE_CACHE_KIB,)
    finally:
        plain.dispose()
        small.dispose()


def test_opening_an_up_to_date_sqlite_database_loads_no_alembic_and_no_postgresql(
    db_path: Path,
) -> None:
    db.open_database(str(db_path)).dispose()
    code = (
        "import sys; from quizzer.db import open_database; import quizzer.review; "
        f"open_database({str(db_path)!r}).dispose(); "
        "print(sorted(m for m in sys.modules if 'alembic' in m or 'postgresql' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_postgresql_engine_describes_the_partial_indexes_for_postgresql() -> None:
    pytest.importorskip("psycopg")
    from quizzer.orm import Card, Review

    db.make_engine("postgresql://nobody@127.0.0.1:1/none").dispose()  # connects to nothing
    wheres = {
        index.name: str(index.dialect_options["postgresql"]["where"])
        for table in (Base.metadata.tables[m.__tablename__] for m in (Card, Review))
        for index in table.indexes
        if index.dialect_options["sqlite"]["where"] is not None
    }
    assert wheres == {
        "ix_card_states_due_learned": "last_graded IS NOT NULL",
        "uq_reviews_graded_per_day": "kind = 'graded'",
        "ix_reviews_new_started": "kind = 'graded' AND last_graded_before IS NULL",
        "ix_card_states_due_new": "last_graded IS NULL",
    }


def test_older_database_is_upgraded_on_first_use(db_path: Path) -> None:
    from alembic import command

    config = _alembic_config()
    engine = create_engine(f"sqlite:///{db_path}")
    base = db.SCHEMA_REVISIONS[-2] if len(db.SCHEMA_REVISIONS) > 1 else None
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if base is None:
            command.stamp(config, "base")
        else:
            command.upgrade(config, base)
    engine.dispose()
    if base == "0001":
        # A collection written by the first schema: its data must survive the upgrade.
        with sqlite3.connect(db_path) as connection:
            connection.executescript(
                "INSERT INTO decks VALUES (1, 'd', 'D', NULL, '[]', NULL, '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00');"
                "INSERT INTO questions VALUES (1, 1, 'q', 0, 'recall', 'P?', NULL, 'A', NULL,"
                " NULL, '[]', NULL, 'h', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 0);"
                "INSERT INTO card_states VALUES (1, 250, 1, 1, '2026-01-02', 0, '2026-01-01');"
            )
    db.open_database(str(db_path)).dispose()
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (db.SCHEMA_HEAD,)
        ]
        if base == "0001":
            assert connection.execute(
                "SELECT ease, due, leech, suspended FROM card_states"
            ).fetchall() == [(250, "2026-01-02", 0, 0)]


def test_database_from_a_newer_quizzer_is_refused_untouched(db_path: Path) -> None:
    db.open_database(str(db_path)).dispose()
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    before = db_path.read_bytes()
    with pytest.raises(DatabaseError, match="newer quizzer"):
        db.open_database(str(db_path))
    assert db_path.read_bytes() == before


@pytest.mark.parametrize(
    ("revision", "message"),
    [
        (None, "not a quizzer database (it has other tables and no quizzer schema)"),
        ("ae1027a6acf", "not a quizzer database (its schema version 'ae1027a6acf' is another"),
    ],
    ids=["stamped-at-base", "its-own-revision"],
)
def test_sqlite_file_of_another_program_with_alembic_is_refused_untouched(
    tmp_path: Path, revision: str | None, message: str
) -> None:
    path = tmp_path / "other.db"
    other_program_with_alembic(path, revision)
    before = path.read_bytes()
    with pytest.raises(DatabaseError) as raised:
        db.open_database(str(path))
    assert str(raised.value).startswith(f"{path}: {message}")
    assert "newer quizzer" not in str(raised.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_a_database_stamped_at_base_with_nothing_else_is_new(db_path: Path) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
    connection.close()
    db.open_database(str(db_path)).dispose()
    with sqlite3.connect(db_path) as connection:
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    connection.close()
    assert version == [(db.SCHEMA_HEAD,)]


def test_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n" * 100)
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="not an SQLite file"):
        db.open_database(str(path))
    assert path.read_bytes() == before


def test_sqlite_file_of_another_program_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO photos (name) VALUES ('cat.jpg')")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="not a quizzer database"):
        db.open_database(str(path))
    assert path.read_bytes() == before
    assert not Path(str(path) + "-wal").exists()


def test_database_urls_and_paths_resolve(tmp_path: Path) -> None:
    assert db.resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert db.resolve_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(DatabaseError, match="does not exist"):
        db.resolve_url(str(tmp_path / "missing" / "a.db"))
    with pytest.raises(DatabaseError, match="is a folder"):
        db.resolve_url(str(tmp_path))
    # A URL naming an SQLite file is checked like a path.
    with pytest.raises(DatabaseError, match="is a folder"):
        db.resolve_url(f"sqlite:///{tmp_path}")
    with pytest.raises(DatabaseError, match="does not exist"):
        db.resolve_url(f"sqlite:///{tmp_path / 'missing' / 'a.db'}")


def test_only_a_missing_target_means_the_default_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("QUIZZER_DB", "")
    with pytest.raises(UsageError, match="empty"):
        db.resolve_url("")
    with pytest.raises(UsageError, match="QUIZZER_DB is set but empty"):
        db.open_database()
    with pytest.raises(UsageError, match="QUIZZER_DB is set but empty"):
        db.database_exists(None)
    assert not (tmp_path / "data").exists()


def test_a_folder_named_by_a_url_is_refused_when_its_header_is_read(tmp_path: Path) -> None:
    # Past resolve_url's check (Database takes a URL as it is): reading the header of
    # something that is not a readable file is one DatabaseError, not an OSError.
    with pytest.raises(DatabaseError, match="cannot read this file: Is a directory"):
        db.Database(f"sqlite:///{tmp_path}")


# --- a second engine in a process keeps the first one's locks -------------------------------

_TWO_ENGINES = """
import sys
from sqlalchemy import text
from quizzer import db
first = db.open_database(sys.argv[1])
with first.reading() as session:  # a pooled connection now holds its WAL-mode shared lock
    session.execute(text("SELECT count(*) FROM questions")).one()
second = db.open_database(sys.argv[1])  # ensure_schema of another engine on the same file
print("opened", flush=True)
sys.stdin.readline()
with first.transaction() as session:
    session.execute(text("UPDATE settings SET value = value"))
    print(session.execute(text("SELECT count(*) FROM questions")).scalar_one(), flush=True)
second.dispose()
first.dispose()
"""


def test_opening_a_second_engine_keeps_the_first_engines_locks(tmp_path: Path) -> None:
    # Closing any descriptor of a file drops every POSIX lock the process holds on it:
    # reading the header with Python's open() used to take away the shared lock the first
    # engine's connection keeps, so another process closing its last connection deleted
    # the WAL under it ("disk I/O error").
    path = tmp_path / "quizzer.db"
    db.open_database(str(path)).dispose()
    holder = subprocess.Popen(
        [sys.executable, "-c", _TWO_ENGINES, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline() == "opened\n"
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sqlite3, sys\n"
                "c = sqlite3.connect(sys.argv[1])\n"
                "c.execute('PRAGMA user_version = 7')\n"
                "c.commit()\n"
                "c.close()\n",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 0, other.stderr
        # The first process still holds the database open: the other one was not the
        # last to close it, so it left the WAL in place.
        assert Path(f"{path}-wal").exists()
        out, err = holder.communicate("go\n", timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    assert holder.returncode == 0, err
    assert out == "0\n"


# --- locks: readers never wait for a writer; a migration takes the write lock --------------


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another program in the middle of a write transaction on ``path`` (not committed)."""
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE decks SET title = 'Renamed'")
    return writer


def _write_lock_is_held(path: Path) -> bool:
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return True
    finally:
        other.close()
    other.execute("ROLLBACK")
    return False


def test_reading_commands_run_beside_a_writer(
    invoke: Invoke,
    db_path: Path,
    deck_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    # Were a command to wait for the writer after all, it would fail at once, not in 30 s.
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    writer = _hold_write_lock(db_path)
    try:
        for args in (
            ["decks"],
            ["cards"],
            ["show", "test-closures/cell"],
            ["stats"],
            ["db", "copy", "--to", str(tmp_path / "copy.db")],
        ):
            result = invoke(*args)
            assert result.exit_code == 0, (args, result.output)
        # They saw the collection as it was before the writer's change.
        assert "Test closures" in invoke("decks").output
        assert _write_lock_is_held(db_path)
        writer.execute("COMMIT")
    finally:
        writer.close()
    assert "Renamed" in invoke("decks").output


def _statements_while_opening(path: Path) -> list[str]:
    issued: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        issued.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        db.open_database(str(path)).dispose()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return issued


def test_opening_an_up_to_date_database_takes_no_write_lock(db_path: Path) -> None:
    db.open_database(str(db_path)).dispose()
    issued = _statements_while_opening(db_path)
    assert "BEGIN" in issued
    assert "BEGIN IMMEDIATE" not in issued


def test_a_migration_takes_the_write_lock_before_it_looks_again(db_path: Path) -> None:
    from alembic import command

    config = _alembic_config()
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, db.SCHEMA_REVISIONS[0])
    engine.dispose()
    issued = _statements_while_opening(db_path)
    immediate = issued.index("BEGIN IMMEDIATE")
    first_change = next(
        n for n, sql in enumerate(issued) if sql.startswith(("CREATE", "ALTER", "UPDATE"))
    )
    assert immediate < first_change
    assert "SELECT version_num FROM alembic_version" in issued[immediate:first_change]


def test_bundled_resources_are_found() -> None:
    assert (db.resource_dir("migrations") / "env.py").is_file()
    assert any(db.resource_dir("decks").glob("*.yaml"))
