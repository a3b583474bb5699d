"""What keeps a big, old collection fast, checked for what it must not change: migration
0005 on a collection written by schema 0003, the export's highlight cache, the streamed
`cards --json`. (How fast is bench/'s business: no timing here.)"""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from helpers import Invoke, code_fields

from quizzer import db, highlight, review, stats
from quizzer.db import open_database

DATA = Path(__file__).parent / "data"


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(sql).fetchall()
    connection.close()
    return rows


def _ok(result: object) -> None:
    assert getattr(result, "exit_code", 1) == 0, getattr(result, "output", result)


def test_a_schema_0003_collection_gets_the_indexes_and_keeps_its_history(
    invoke: Invoke, db_path: Path
) -> None:
    shutil.copy(DATA / "quizzer-0003.sqlite", db_path)
    assert _rows(db_path, "SELECT version_num FROM alembic_version") == [("0003",)]
    history = "SELECT id, question_id, day, quality, kind FROM reviews ORDER BY id"
    before = _rows(db_path, history)
    assert len(before) == 7

    _ok(invoke("decks", today="2026-01-12"))
    assert _rows(db_path, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]
    assert _rows(db_path, history) == before
    indexes = dict(_rows(db_path, "SELECT name, sql FROM sqlite_master WHERE type = 'index'"))
    assert "ix_reviews_day_question_id" not in indexes
    assert "(day, question_id, kind, quality)" in str(
        indexes["ix_reviews_day_question_id_kind_quality"]
    )
    assert "WHERE kind = 'graded' AND last_graded_before IS NULL" in str(
        indexes["ix_reviews_new_started"]
    )
    assert "(deck_id, retired)" in str(indexes["ix_questions_deck_id_retired"])
    assert "WHERE last_graded IS NULL" in str(indexes["ix_card_states_due_new"])
    assert _rows(db_path, "SELECT count(*) FROM highlight_cache") == [(0,)]

    # The queries the indexes serve answer as before: the day's new cards, the drill, stats.
    database = open_database(str(db_path))
    try:
        with database.reading() as session:
            started = review.new_started_ids(session, date(2026, 1, 5))
            numbers = stats.compute_stats(session, today=date(2026, 1, 12))
            queue = review.Queue(today=date(2026, 1, 12), new_per_day=7)
            queue.load(session)
            assert not queue.stale(session)
            built = review.build_queue(session, today=date(2026, 1, 12), new_per_day=7)
    finally:
        database.dispose()
    first_graded = _rows(
        db_path,
        "SELECT question_id FROM reviews WHERE day = '2026-01-05' AND kind = 'graded' "
        "AND last_graded_before IS NULL ORDER BY id",
    )
    assert sorted(started) == sorted(q for (q,) in first_graded) and started
    assert numbers.reviews_in_window == 7
    assert queue.items() == built

    # And back: 0005's downgrade restores 0004's index and drops the cache.
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    config = Config()
    config.set_main_option("script_location", str(db.resource_dir("migrations")))
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    engine.dispose()
    names = {n for (n,) in _rows(db_path, "SELECT name FROM sqlite_master")}
    assert "ix_reviews_day_question_id" in names and "highlight_cache" not in names
    assert not names & {
        "ix_reviews_new_started",
        "ix_questions_deck_id_retired",
        "ix_card_states_due_new",
    }
    assert _rows(db_path, history) == before


def test_a_repeat_export_takes_its_highlighting_from_the_database(
    invoke: Invoke, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the HTML shipped for the bundled decks, as under another Pygments: the first
    # export highlights them itself (tests/test_bundled_html.py covers the shipped HTML).
    monkeypatch.setattr(highlight, "shipped_html", dict)
    _ok(invoke("import", "--bundled"))
    first, second = tmp_path / "first.apkg", tmp_path / "second.apkg"
    _ok(invoke("export", "-o", str(first)))
    cached = _rows(db_path, "SELECT digest, html FROM highlight_cache")
    codes = _rows(db_path, "SELECT count(DISTINCT rtrim(code)) FROM questions WHERE code != ''")
    assert len(cached) == codes[0][0] > 100
    # What the cache holds is what is exported: mark one entry, and the mark shows up.
    digest, html = cached[0]
    marked = html.replace("<span", '<span data-cached="yes"', 1)
    assert marked != html
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE highlight_cache SET html = ? WHERE digest = ?", (marked, digest))
    connection.close()
    _ok(invoke("export", "-o", str(second)))
    one, two = code_fields(first), code_fields(second)
    changed = [guid for guid in one if one[guid] != two[guid]]
    assert len(changed) >= 1 and all('data-cached="yes"' in two[guid] for guid in changed)
    assert _rows(db_path, "SELECT count(*) FROM highlight_cache") == [(len(cached),)]
    # Without the cache (emptied) the export highlights again, to the same text.
    with sqlite3.connect(db_path) as connection:
        connection.execute("DELETE FROM highlight_cache")
    connection.close()
    third = tmp_path / "third.apkg"
    _ok(invoke("export", "-o", str(third)))
    assert code_fields(third) == one
    assert sorted(_rows(db_path, "SELECT digest, html FROM highlight_cache")) == sorted(cached)


def test_cards_json_streams_the_same_text_as_one_dump(invoke: Invoke) -> None:
    _ok(invoke("import", "--bundled"))
    _ok(invoke("grade", "python-closures/late-binding", "4"))
    for args, today in ((["cards", "--json"], None), (["cards", "--due", "--json"], "2026-01-06")):
        result = invoke(*args, today=today)
        _ok(result)
        rows = json.loads(result.output)
        assert rows and result.output == json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    empty = invoke("cards", "--leeches", "--json")
    _ok(empty)
    assert empty.output == "[]\n"
