"""The counts the database's triggers keep for ``stats`` and ``decks``: ``review_days``,
the answers per deck and day (migrations 0010, 0011), and ``deck_cards`` and
``due_days``, the cards per deck and due date (0011). After every kind of change to the
review log, the questions and the cards they equal a recount, and ``stats`` and ``decks``
show the same from either."""

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
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from quizzer import authoring, collection, db, dbcopy, review, stats
from quizzer.errors import QuizzerError
from quizzer.orm import Card, Deck, Question, Review

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
#: The variant columns (0011), recounted with the same rules written out again.
RECOUNT_VARIED = """
    SELECT q.deck_id, r.day,
           sum(CASE WHEN r.variant IS NOT NULL THEN 1 ELSE 0 END),
           sum(CASE WHEN r.variant = 0 AND r.kind = 'graded' THEN 1 ELSE 0 END),
           sum(CASE WHEN r.variant = 0 AND r.kind = 'graded' AND r.quality >= 3
               THEN 1 ELSE 0 END),
           sum(CASE WHEN r.variant > 0 AND r.kind = 'graded' THEN 1 ELSE 0 END),
           sum(CASE WHEN r.variant > 0 AND r.kind = 'graded' AND r.quality >= 3
               THEN 1 ELSE 0 END)
    FROM reviews AS r JOIN questions AS q ON q.id = r.question_id
    GROUP BY q.deck_id, r.day ORDER BY q.deck_id, r.day
"""
KEPT_VARIED = """
    SELECT deck_id, day, varied, own_graded, own_correct, other_graded, other_correct
    FROM review_days ORDER BY deck_id, day
"""
#: Per deck: questions, retired, learned and active; a deck emptied keeps a row of zeros.
RECOUNT_DECKS = """
    SELECT q.deck_id, count(*), sum(CASE WHEN q.retired THEN 1 ELSE 0 END),
           sum(CASE WHEN NOT q.retired AND c.last_graded IS NOT NULL THEN 1 ELSE 0 END)
    FROM questions AS q LEFT JOIN card_states AS c ON c.question_id = q.id
    GROUP BY q.deck_id ORDER BY q.deck_id
"""
KEPT_DECKS = """
    SELECT deck_id, questions, retired, learned FROM deck_cards
    WHERE questions <> 0 OR retired <> 0 OR learned <> 0 ORDER BY deck_id
"""
RECOUNT_DUE = """
    SELECT q.deck_id, c.due, count(*)
    FROM card_states AS c JOIN questions AS q ON q.id = c.question_id
    WHERE c.last_graded IS NOT NULL AND NOT q.retired AND NOT c.suspended
    GROUP BY q.deck_id, c.due ORDER BY q.deck_id, c.due
"""
KEPT_DUE = "SELECT deck_id, day, cards FROM due_days ORDER BY deck_id, day"
PAIRS = (
    (KEPT, RECOUNT),
    (KEPT_VARIED, RECOUNT_VARIED),
    (KEPT_DECKS, RECOUNT_DECKS),
    (KEPT_DUE, RECOUNT_DUE),
)


def _kept_and_recounted(session: Session) -> tuple[list[Any], list[Any]]:
    """Every kept count and its recount, table after table."""
    kept, recounted = [], []
    for kept_sql, recount_sql in PAIRS:
        kept.append([tuple(row) for row in session.execute(text(kept_sql))])
        recounted.append([tuple(row) for row in session.execute(text(recount_sql))])
    return kept, recounted


def _same_stats(session: Session, today: date) -> None:
    slugs = list(session.scalars(select(Deck.slug).order_by(Deck.id)))
    for decks in [(), tuple(slugs[:1]), tuple(slugs[1:3])]:
        for weeks in (1, 12):
            kept = stats.compute_stats(session, today=today, weeks=weeks, decks=decks)
            recounted = stats.compute_stats(
                session, today=today, weeks=weeks, decks=decks, recount=True
            )
            assert kept.to_json() == recounted.to_json()
    for day in (today, today + timedelta(days=30)):
        kept_decks = collection.deck_summaries(session, today=day)
        assert kept_decks == collection.deck_summaries(session, today=day, recount=True)


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


@pytest.fixture(scope="module")
def empty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new collection, migrated to the current schema, empty: where `db copy` writes."""
    path = tmp_path_factory.mktemp("review_days_empty") / "empty.db"
    db.open_database(str(path)).dispose()
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
    # Cards and questions changed (0011's counts): by quizzer, and by another program.
    st.tuples(st.just("unsuspend"), st.integers(0, 10**6), st.just(0), st.just(0)),
    st.tuples(st.just("retire"), st.integers(0, 10**6), st.just(0), st.just(0)),
    st.tuples(st.just("sql-suspend"), st.integers(0, 10**6), st.just(0), st.just(0)),
    st.tuples(st.just("sql-due"), st.integers(0, 10**6), st.just(0), st.integers(-9, 9)),
    st.tuples(st.just("sql-retire"), st.integers(0, 10**6), st.just(0), st.just(0)),
    st.tuples(st.just("sql-other-deck"), st.integers(0, 10**6), st.integers(0, 2), st.just(0)),
    st.tuples(st.just("sql-replace-card"), st.integers(0, 10**6), st.just(0), st.just(0)),
    st.tuples(st.just("sql-forget"), st.integers(0, 10**6), st.just(0), st.just(0)),
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
    elif verb == "unsuspend" and question is not None:
        with contextlib.suppress(QuizzerError):  # not suspended
            collection.unsuspend(session, f"{question.deck.slug}/{question.qid}")
    elif verb == "retire" and question is not None:
        authoring.retire(session, question)
    elif verb.startswith("sql-") and question is not None:
        card = Card.question_id == question.id
        session.expunge_all()
        if verb == "sql-suspend":
            session.execute(update(Card).where(card).values(suspended=~Card.suspended))
        elif verb == "sql-due":
            due = session.scalars(select(Card.due).where(card)).first()
            if due is not None:
                session.execute(update(Card).where(card).values(due=due + timedelta(days=advance)))
        elif verb == "sql-retire":
            retired = ~Question.retired
            session.execute(
                update(Question).where(Question.id == question.id).values(retired=retired)
            )
        elif verb == "sql-other-deck":
            decks = list(session.scalars(select(Deck.id).order_by(Deck.id)))
            session.execute(
                update(Question)
                .where(Question.id == question.id)
                .values(deck_id=decks[quality % len(decks)])
            )
        elif verb == "sql-replace-card":
            # Deleted and inserted again (as another program's "upsert" might), unlearned.
            row = session.execute(select(Card.__table__).where(card)).mappings().first()
            if row is not None:
                session.execute(delete(Card).where(card))
                session.execute(insert(Card).values({**row, "last_graded": None}))
        elif verb == "sql-forget":
            session.execute(update(Card).where(card).values(last_graded=None))
    session.flush()
    return today


def apply_and_compare(database: db.Database, steps: list[tuple[str, int, int, int]]) -> list[Any]:
    """Each step in its own transaction, every kept count then compared with its recount;
    then ``stats`` and ``decks`` from either. The last recount."""
    today, last = START, list[Any]()
    recounted: list[Any] = []
    for step in steps:
        with database.transaction() as session:
            today = _apply(session, step, today, last)
            kept, recounted = _kept_and_recounted(session)
            assert kept == recounted, step
    with database.reading() as session:
        _same_stats(session, today)
    return recounted


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    history=st.lists(HISTORY, min_size=3, max_size=20),
    steps=st.lists(STEP, min_size=1, max_size=30),
)
def test_the_kept_days_equal_a_recount_after_every_change(
    template: Path,
    empty: Path,
    history: list[tuple[str, int, int, int]],
    steps: list[tuple[str, int, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "quizzer.db"
        shutil.copy(template, path)
        database = db.open_database(str(path))
        try:
            recounted = apply_and_compare(database, [*history, *steps])
            if not recounted[0]:
                return
            # `db copy` does not copy the days: the target's triggers count the answers.
            # (The target is a new collection, made once: migrating one costs more than the
            # copy.)
            target = Path(folder) / "copy.db"
            shutil.copy(empty, target)
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


def test_a_schema_0003_collection_gets_its_answers_and_cards_counted(
    invoke: Invoke, db_path: Path
) -> None:
    shutil.copy(DATA / "quizzer-0003.sqlite", db_path)
    assert _rows(db_path, "SELECT version_num FROM alembic_version") == [("0003",)]
    recount = _rows(db_path, RECOUNT)
    assert sum(n for _, _, n, _, _ in recount) == 7
    recount_decks, recount_due = _rows(db_path, RECOUNT_DECKS), _rows(db_path, RECOUNT_DUE)
    assert sum(learned for _, _, _, learned in recount_decks) > 0
    assert recount_due

    result = invoke("stats", "--json", today="2026-01-12")
    assert result.exit_code == 0, result.output
    assert _rows(db_path, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]
    assert _rows(db_path, KEPT) == recount
    assert _rows(db_path, KEPT_DECKS) == recount_decks
    assert _rows(db_path, KEPT_DUE) == recount_due
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

    # And back: 0011's downgrade puts 0010's triggers back, which go on counting; 0010's
    # drops the table and its triggers.
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    config = Config()
    config.set_main_option("script_location", str(db.resource_dir("migrations")))
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    # One more answer, on a day of its own, written as 0010's schema has it.
    columns = [c.name for c in Review.__table__.columns if c.name not in {"id", "day"}]
    names = ", ".join(f'"{name}"' for name in columns)
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO reviews (day, {names}) SELECT '2026-02-01', {names} "
                "FROM reviews WHERE id = (SELECT max(id) FROM reviews)"
            )
        )
    assert _rows(db_path, KEPT) == _rows(db_path, RECOUNT) != recount
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    engine.dispose()
    left = {n for (n,) in _rows(db_path, "SELECT name FROM sqlite_master")}
    assert not {n for n in left if n.startswith(("review_days", "deck_cards", "due_days"))}
