"""Rows and domain values: the one place that converts between them, and the one definition
of what is active, learned and due, and of which decks a query covers.

Functions take a Session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Label,
    Select,
    Table,
    case,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session, joinedload

from quizzer import fsrs6, scheduler
from quizzer.errors import NotFoundError, UsageError
from quizzer.orm import Card, Deck, DeckCards, DueDay, Question, Review, ReviewDay
from quizzer.questions import Content

Columns = TypeVarTuple("Columns")

# --- names --------------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str]:
    """Split ``DECK/ID`` into its parts; a usage error when it is not of that form."""
    deck_slug, sep, qid = name.partition("/")
    if not sep or not deck_slug or not qid or "/" in qid:
        raise UsageError(f"{name!r}: name a question as DECK/ID, e.g. python-closures/late-binding")
    return deck_slug, qid


def get_deck(session: Session, slug: str) -> Deck:
    """The deck with ``slug``, or NotFoundError."""
    deck = session.scalars(select(Deck).where(Deck.slug == slug)).one_or_none()
    if deck is None:
        raise NotFoundError.deck(slug)
    return deck


def get_question(session: Session, name: str) -> Question:
    """The question named ``DECK/ID``, with its deck and state loaded, or NotFoundError."""
    deck_slug, qid = split_name(name)
    question = session.scalars(
        select(Question)
        .join(Question.deck)
        .options(joinedload(Question.deck), joinedload(Question.state))
        .where(Deck.slug == deck_slug, Question.qid == qid)
    ).one_or_none()
    if question is None:
        get_deck(session, deck_slug)
        raise NotFoundError(f"{name}: no such question in deck {deck_slug}")
    return question


def load_question(session: Session, question_id: int) -> Question:
    """A question with its deck and state, for asking it."""
    question = session.scalars(
        select(Question)
        .options(joinedload(Question.deck), joinedload(Question.state))
        .where(Question.id == question_id)
    ).one()
    return question


# --- what is active, learned and due ------------------------------------------------

#: A question that is asked: not retired (deleted, or removed from its deck file).
ACTIVE: ColumnElement[bool] = Question.retired.is_(False)
#: A card answered at least once (a new card has never been graded).
LEARNED: ColumnElement[bool] = Card.last_graded.is_not(None)
NEW: ColumnElement[bool] = Card.last_graded.is_(None)
NOT_SUSPENDED: ColumnElement[bool] = Card.suspended.is_(False)


def due_by(day: date) -> ColumnElement[bool]:
    """A learned, unsuspended card due on ``day`` or earlier (join Card to use it)."""
    return LEARNED & (Card.due <= day) & NOT_SUSPENDED


def in_decks(stmt: Select[*Columns], decks: Sequence[str]) -> Select[*Columns]:
    """``stmt`` (over Question) limited to active questions of ``decks`` (all when empty)."""
    stmt = stmt.where(ACTIVE)
    if decks:
        stmt = stmt.join(Deck, Deck.id == Question.deck_id).where(Deck.slug.in_(decks))
    return stmt


# --- the counts the database keeps (migration 0011's triggers) ----------------------


def answer_days(*, recount: bool = False) -> FromClause:
    """Answers per deck and day: ``deck_id``, ``day``, ``reviews``, ``graded``, ``correct``,
    and on varying questions ``varied``, ``own_graded``, ``own_correct``, ``other_graded``,
    ``other_correct`` (``ReviewDay``'s columns).

    Unlike reviews._scope, retired questions stay in: their answers were still given.
    """
    if not recount:
        return ReviewDay.__table__
    graded = Review.kind == "graded"
    passing = graded & (Review.quality >= scheduler.PASSING_QUALITY)
    own, other = Review.variant == 0, Review.variant != 0

    def count(condition: ColumnElement[bool], name: str) -> Label[Any]:
        return func.sum(case((condition, 1), else_=0)).label(name)

    return (
        select(
            Question.deck_id.label("deck_id"),
            Review.day.label("day"),
            func.count(Review.id).label("reviews"),
            count(graded, "graded"),
            count(passing, "correct"),
            count(Review.variant.is_not(None), "varied"),
            count(own & graded, "own_graded"),
            count(own & passing, "own_correct"),
            count(other & graded, "other_graded"),
            count(other & passing, "other_correct"),
        )
        .join(Question, Question.id == Review.question_id)
        .group_by(Question.deck_id, Review.day)
        .subquery("answer_days")
    )


def deck_counts(*, recount: bool = False) -> FromClause:
    """Per deck: ``deck_id``, ``questions``, ``retired`` and ``learned`` (active questions
    whose card is learned); an active question not learned is new.

    Read from ``deck_cards``, which the database's triggers keep (migration 0011), or with
    ``recount`` counted from the questions and cards themselves (what the tests compare).
    """
    if not recount:
        return DeckCards.__table__
    return (
        select(
            Question.deck_id.label("deck_id"),
            func.count(Question.id).label("questions"),
            func.sum(case((~ACTIVE, 1), else_=0)).label("retired"),
            func.sum(case((ACTIVE & LEARNED, 1), else_=0)).label("learned"),
        )
        .outerjoin(Card, Card.question_id == Question.id)
        .group_by(Question.deck_id)
        .subquery("deck_counts")
    )


def due_days(*, recount: bool = False) -> FromClause:
    """Per deck and due date: ``deck_id``, ``day``, ``cards`` (what ``review`` asks:
    active, learned, unsuspended cards due that day). From ``due_days``, which the
    triggers keep, or with ``recount`` counted from the cards."""
    if not recount:
        return DueDay.__table__
    return (
        select(
            Question.deck_id.label("deck_id"),
            Card.due.label("day"),
            func.count().label("cards"),
        )
        .join(Question, Question.id == Card.question_id)
        .where(ACTIVE, LEARNED, NOT_SUSPENDED)
        .group_by(Question.deck_id, Card.due)
        .subquery("due_days")
    )


def by_deck_in(stmt: Select[*Columns], table: FromClause, decks: Sequence[str]) -> Select[*Columns]:
    """``stmt`` over a table of counts by deck (its ``deck_id``) limited to ``decks`` (all
    when empty)."""
    if not decks:
        return stmt
    return stmt.where(table.c.deck_id.in_(select(Deck.id).where(Deck.slug.in_(decks))))


# --- card states --------------------------------------------------------------------


def to_state(row: Card) -> scheduler.CardState:
    """The scheduler's view of a stored card."""
    return scheduler.CardState(
        ease=row.ease,
        repetitions=row.repetitions,
        interval=row.interval,
        due=row.due,
        lapses=row.lapses,
        last_graded=row.last_graded,
    )


def store_state(row: Card, state: scheduler.CardState) -> None:
    """Write the scheduler's ``state`` onto the stored card ``row``."""
    row.ease = state.ease
    row.repetitions = state.repetitions
    row.interval = state.interval
    row.due = state.due
    row.lapses = state.lapses
    row.last_graded = state.last_graded


def new_card_columns(today: date) -> dict[str, Any]:
    """The stored columns of a new card, due ``today`` (the day it was added)."""
    start = scheduler.new_card(today)
    return {
        "ease": start.ease,
        "repetitions": start.repetitions,
        "interval": start.interval,
        "due": start.due,
        "lapses": start.lapses,
        "last_graded": None,
        "leech": False,
        "suspended": False,
    }


def state_before(review: Review) -> scheduler.CardState:
    """The card's state just before ``review`` was answered."""
    return scheduler.CardState(
        ease=review.ease_before,
        repetitions=review.repetitions_before,
        interval=review.interval_before,
        due=review.due_before,
        lapses=review.lapses_before,
        last_graded=review.last_graded_before,
    )


def state_after(review: Review) -> scheduler.CardState:
    """The card's state just after ``review`` was answered."""
    last = review.day if review.kind == "graded" else review.last_graded_before
    return scheduler.CardState(
        ease=review.ease_after,
        repetitions=review.repetitions_after,
        interval=review.interval_after,
        due=review.due_after,
        lapses=review.lapses_after,
        last_graded=last,
    )


def sm2_due(state: scheduler.CardState) -> date:
    """SM-2's own due date for ``state``: ``last_graded + interval``, or ``due`` when new.

    It is what ``due`` holds while SM-2 schedules; under FSRS ``due`` is FSRS's.
    """
    if state.last_graded is None:
        return state.due
    return state.last_graded + timedelta(days=state.interval)


def to_memory(row: Card) -> fsrs6.Memory | None:
    """FSRS's view of a stored card (None for a card never graded, or never under FSRS)."""
    if row.stability is None or row.difficulty is None or row.last_graded is None:
        return None
    return fsrs6.Memory(row.stability, row.difficulty, row.last_graded, row.due)


def store_memory(row: Card, memory: fsrs6.Memory | None) -> None:
    """Write FSRS's memory state onto ``row`` (its due date too, when there is one)."""
    row.stability = memory.stability if memory else None
    row.difficulty = memory.difficulty if memory else None
    if memory is not None:
        row.due = memory.due


def graded_answers(
    session: Session, question_ids: Sequence[int] | None = None
) -> dict[int, list[tuple[date, int]]]:
    """Each card's graded answers (day, quality), oldest first: what FSRS replays."""
    stmt = (
        select(Review.question_id, Review.day, Review.quality)
        .where(Review.kind == "graded")
        .order_by(Review.question_id, Review.id)
    )
    if question_ids is not None:
        stmt = stmt.where(Review.question_id.in_(question_ids))
    answers: dict[int, list[tuple[date, int]]] = {}
    for question_id, day, quality in session.execute(stmt):
        answers.setdefault(question_id, []).append((day, quality))
    return answers


def answer_count(session: Session, question_id: int) -> int:
    """How many answers ``question_id`` has in the log (graded and drill)."""
    return (
        session.scalar(
            select(func.count()).select_from(Review).where(Review.question_id == question_id)
        )
        or 0
    )


def history(session: Session, question: Question) -> list[Review]:
    """Every answer given to ``question``, oldest first."""
    return list(
        session.scalars(select(Review).where(Review.question_id == question.id).order_by(Review.id))
    )


# --- questions ----------------------------------------------------------------------


def write_content(row: Question, content: Content) -> None:
    """Copy what a learner sees onto the stored ``row``, with its digest."""
    for name, value in content.columns().items():
        setattr(row, name, value)
    row.content_hash = content.digest()


def new_question_row(
    deck: Deck, qid: str, content: Content, *, position: int, now: datetime, today: date
) -> Question:
    """A stored question with a new card (due ``today``)."""
    row = Question(
        deck=deck, qid=qid, position=position, created_at=now, changed_at=now, retired=False
    )
    write_content(row, content)
    row.state = Card(**new_card_columns(today))
    return row


def changed_now(previous: datetime | None, now: datetime) -> datetime:
    """The time to record for a change of content made at ``now``, when the note it shows as
    in Anki last changed at ``previous``: ``now``, or the start of the second after
    ``previous`` if ``now`` is still in its second.

    Anki keeps a note's modification time in whole seconds and takes an incoming note only
    when it is strictly newer: without this, an edit made in the same second as the
    previous change would never reach it.
    """
    if previous is None:
        return now
    return max(now, previous.replace(microsecond=0) + timedelta(seconds=1))


def forget_source_digest(deck: Deck) -> None:
    """The deck's questions changed outside an import: its file must be read again next time."""
    deck.source_digest = None


def has_decks(session: Session) -> bool:
    """Whether any deck has been imported yet."""
    return session.scalar(select(func.count()).select_from(Deck)) != 0


# --- bulk writes --------------------------------------------------------------------


def bulk_insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) with one executemany on the driver.

    SQLAlchemy's compiler writes the statement and the column types convert the values, as
    in ``connection.execute(insert(table), rows)``; what is skipped is its generic per-row
    parameter handling, which was two thirds of inserting 10k questions.
    """
    if not rows:
        return
    # Python-side column defaults are SQLAlchemy's to fill in, and are not filled in here.
    unset = [c.name for c in table.columns if c.default is not None and c.name not in rows[0]]
    if unset:
        raise ValueError(f"{table.name}: rows must give {', '.join(unset)}")
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup or rows[0])
    types = [table.c[name].type.dialect_impl(dialect) for name in names]
    converters = [(name, t.bind_processor(dialect)) for name, t in zip(names, types, strict=True)]
    converted = [
        [row[name] if convert is None else convert(row[name]) for name, convert in converters]
        for row in rows
    ]
    params: Any
    if compiled.positional:
        params = [tuple(values) for values in converted]
    else:
        params = [dict(zip(names, values, strict=True)) for values in converted]
    connection.exec_driver_sql(str(compiled), params)
