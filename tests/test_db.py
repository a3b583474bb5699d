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
from sqlalchemy import create_engine

from quizzer import db
from quizzer.errors import DatabaseError
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
    database.dispose()
    with sqlite3.connect(db_path) as connection:
        version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert version == [(db.SCHEMA_HEAD,)]
    assert {"decks", "questions", "card_states", "reviews", "settings"} <= tables


def test_opening_an_up_to_date_sqlite_database_loads_no_alembic_and_no_postgresql(
    db_path: Path,
) -> None:
    db.open_database(str(db_path)).dispose()
    code = (
        "import sys; from quizzer.db import open_database; import quizzer.reviews; "
        f"open_database({str(db_path)!r}).dispose(); "
        "print(sorted(m for m in sys.modules if 'alembic' in m or 'postgresql' in m))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_postgresql_engine_describes_the_partial_indexes_for_postgresql() -> None:
    pytest.importorskip("psycopg")
    from quizzer.orm import CardState, Review

    db.make_engine("postgresql://nobody@127.0.0.1:1/none").dispose()  # connects to nothing
    wheres = {
        index.name: str(index.dialect_options["postgresql"]["where"])
        for table in (CardState.__table__, Review.__table__)
        for index in table.indexes
        if index.dialect_options["sqlite"]["where"] is not None
    }
    assert wheres == {
        "ix_card_states_due_learned": "last_graded IS NOT NULL",
        "uq_reviews_graded_per_day": "kind = 'graded'",
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


def test_bundled_resources_are_found() -> None:
    assert (db.resource_dir("migrations") / "env.py").is_file()
    assert any(db.resource_dir("decks").glob("*.yaml"))
