"""``review_days``, the answers per deck and day that ``stats`` reads, kept by the
database's triggers (migration 0010): after every kind of change to the review log it
equals a recount of the log, and ``stats`` shows the same from either."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import Invoke
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from quizzer import authoring, db, dbcopy, review, stats
from quizzer.errors import QuizzerError
from quizzer.orm import Deck, Question, Review

DATA = Path(__file__).parent / "data"
DECKS = ("closures.yaml", "decorators.yaml", "gil-and-concurrency.yaml")
START = date(2026, 1, 5)

RECOUNT = """
    SELECT q.deck_id, r.day, count(*),
           sum(CASE WHEN r.kind = 'graded' THEN 1 ELSE 0 END),
           sum(CASE WHEN r.kind = 'graded' AND r.quality >= 3 THEN 1 ELSE 0 END)
    FROM reviews AS r JOIN questions AS q ON q.id = r.question_id
    GROUP BY q.deck_id, r.day ORDER BY q.deck_id, r.day
"""
KEPT = "SELECT deck_id, day, reviews, graded, correct FROM review_days ORDER BY deck_id, day"


def _kept_and_recounted(session: Session) -> tuple[list[Any], list[Any]]:
    kept = [tuple(row) for row in session.execute(text(KEPT))]
    return kept, [tuple(row) for row in session.execute(text(RECOUNT))]


def _same_stats(session: Session, today: date) -> None:
    slugs = list(session.scalars(select(Deck.slug).order_by(Deck.id)))
    for decks in [(), tuple(slugs[:1]), tuple(slugs[1:3])]:
        for weeks in (1, 12):
            kept = stats.compute_stats(session, today=today, weeks=weeks, decks=decks)
            logged = stats.compute_stats(
                session, today=today, weeks=weeks, decks=decks, from_log=True
            )
            assert kept.to_json() == logged.to_json()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection of three of the bundled decks, no answers yet."""
    path = tmp_path_factory.mktemp("review_days") / "template.db"
    decks = db.resource_dir("decks")
    files = [str(decks / name) for name in DECKS]
    result = subprocess.run(
        [sys.executable, "-m", "quizzer", "--db", str(path), "import", *files],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QUIZZER_TODAY": START.isoformat()},
    )
    assert result.returncode == 0, result.stderr
    return path


#: Answers given first, over a few days, so that what follows has a history to change.
HISTORY = st.tuples(
    st.sampled_from(["grade", "drill"]), st.integers(0, 11), st.integers(0, 5), st.integers(0, 2)
)
STEP = st.one_of(
    HISTORY,
    st.tuples(st.just("grade"), st.integers(0, 10**6), st.integers(0, 5), st.integers(0, 3)),
    st.tuples(st.just("drill"), st.integers(0, 10**6), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("undo"), st.just(0), st.just(0), st.just(0)),
    st.tuples(st.just("rerate"), st.just(0), st.integers(0, 5), st.just(0)),
    st.tuples(st.just("purge"), st.integers(0, 10**6), st.just(0), st.just(0)),
    st.tuples(st.just("delete-deck"), st.integers(0, 2), st.just(0), st.just(0)),
    # Another program's SQL: answers deleted, moved to another day, regraded.
    st.tuples(st.just("sql-delete"), st.integers(0, 10**6), st.just(0), st.just(0)),
    st.tuples(st.just("sql-delete-question"), st.integers(0, 10**6), st.just(0), st.just(0)),
    st.tuples(st.just("sql-move"), st.integers(0, 10**6), st.integers(0, 5), st.integers(1, 9)),
)


def _apply(session: Session, step: tuple[str, int, int, int], today: date, last: list[Any]) -> date:
    verb, index, quality, advance = step
    # Four questions of each deck, so that days and decks gather several answers; what
    # takes answers away picks among the answered ones.
    per_deck: dict[int, list[Question]] = {}
    for each in session.scalars(select(Question).order_by(Question.id)):
        if len(per_deck.setdefault(each.deck_id, [])) < 4:
            per_deck[each.deck_id].append(each)
    questions = [q for qs in per_deck.values() for q in qs]
    if verb not in ("grade", "drill"):
        answered = set(session.scalars(select(Review.question_id)))
        questions = [q for q in questions if q.id in answered] or questions
    question = questions[index % len(questions)] if questions else None
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    if verb in ("grade", "drill") and question is not None:
        if verb == "grade":
            today += timedelta(days=advance)
            now += timedelta(days=advance)
        try:
            recorded = review.record_answer(
                session, question, quality=quality, today=today, now=now
            )
        except QuizzerError:
            return today
        last[:] = [recorded]
    elif verb == "undo":
        with contextlib.suppress(QuizzerError):  # nothing to undo
            review.undo_last(session)
        last.clear()
    elif verb == "rerate" and last:
        with contextlib.suppress(QuizzerError):
            last[0] = review.rerate(session, last[0], quality, today=today, now=now)
    elif verb == "purge" and question is not None:
        authoring.purge(session, question)
        last.clear()
    elif verb == "delete-deck":
        decks = list(session.scalars(select(Deck).order_by(Deck.id)))
        if decks:
            session.delete(decks[index % len(decks)])
            last.clear()
    elif verb == "sql-delete" and question is not None:
        session.execute(delete(Review).where(Review.question_id == question.id))
        last.clear()
    elif verb == "sql-delete-question" and question is not None:
        # Its answers go by the foreign key's cascade, not by a statement of their own.
        session.expunge_all()
        session.execute(delete(Question).where(Question.id == question.id))
        last.clear()
    elif verb == "sql-move" and question is not None:
        session.execute(
            update(Review)
            .where(Review.question_id == question.id, Review.kind == "drill")
            .values(day=today - timedelta(days=advance), quality=quality)
        )
    session.flush()
    return today


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    history=st.lists(HISTORY, min_size=3, max_size=20),
    steps=st.lists(STEP, min_size=1, max_size=30),
)
def test_the_kept_days_equal_a_recount_after_every_change(
    template: Path,
    history: list[tuple[str, int, int, int]],
    steps: list[tuple[str, int, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "quizzer.db"
        shutil.copy(template, path)
        database = db.open_database(str(path))
        today, last = START, list[Any]()
        try:
            for step in [*history, *steps]:
                with database.transaction() as session:
                    today = _apply(session, step, today, last)
                    kept, recounted = _kept_and_recounted(session)
                    assert kept == recounted, step
            with database.reading() as session:
                _same_stats(session, today)
            if not recounted:
                return
            # `db copy` does not copy the days: the target's triggers count the answers.
            target = Path(folder) / "copy.db"
            dbcopy.copy_database(f"sqlite:///{path}", str(target))
            copied = db.open_database(str(target))
            try:
                with copied.reading() as session:
                    kept_copy, recounted_copy = _kept_and_recounted(session)
            finally:
                copied.dispose()
            assert kept_copy == recounted_copy == recounted
        finally:
            database.dispose()


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(sql).fetchall()
    connection.close()
    return rows


def test_a_schema_0003_collection_gets_its_answers_counted_by_day(
    invoke: Invoke, db_path: Path
) -> None:
    shutil.copy(DATA / "quizzer-0003.sqlite", db_path)
    assert _rows(db_path, "SELECT version_num FROM alembic_version") == [("0003",)]
    recount = _rows(db_path, RECOUNT)
    assert sum(n for _, _, n, _, _ in recount) == 7

    result = invoke("stats", "--json", today="2026-01-12")
    assert result.exit_code == 0, result.output
    assert _rows(db_path, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]
    assert _rows(db_path, KEPT) == recount
    database = db.open_database(str(db_path))
    try:
        with database.reading() as session:
            _same_stats(session, date(2026, 1, 12))
            assert stats.compute_stats(session, today=date(2026, 1, 12)).reviews_in_window == 7
        # Answering after the upgrade is counted by the triggers the migration made.
        with database.transaction() as session:
            question = session.scalars(select(Question).order_by(Question.id)).first()
            assert question is not None
            review.record_answer(
                session,
                question,
                quality=2,
                today=date(2026, 1, 12),
                now=datetime(2026, 1, 12, 9, tzinfo=UTC),
            )
            kept, recounted = _kept_and_recounted(session)
            assert kept == recounted
    finally:
        database.dispose()

    # And back: 0010's downgrade drops the table and its triggers.
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    config = Config()
    config.set_main_option("script_location", str(db.resource_dir("migrations")))
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    engine.dispose()
    names = {n for (n,) in _rows(db_path, "SELECT name FROM sqlite_master")}
    assert not {n for n in names if n.startswith("review_days")}
