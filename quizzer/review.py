"""Reviewing: what to ask next, recording an answer through the scheduler, taking it back.

Everything is derived from the database each time it is asked, so a review that is
interrupted and started again the same day continues exactly where it stopped, drill
included. Functions take a Session and ``today``/``now``, and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from quizzer import scheduler, store
from quizzer.errors import QuizzerError
from quizzer.orm import Card, Question, Review

# --- the queue ----------------------------------------------------------------------


Phase = Literal["due", "new", "drill"]


@dataclass(frozen=True)
class QueueItem:
    """One card to ask, and why it is asked today."""

    question_id: int
    phase: Phase


def new_started_on(session: Session, day: date) -> int:
    """How many new cards had their first graded answer on ``day``, in any deck.

    The limit is per day, not per ``--deck``: ten new cards in one deck and ten in another
    make twenty new cards that day.
    """
    stmt = (
        select(func.count())
        .select_from(Review)
        .where(Review.day == day, Review.kind == "graded", Review.last_graded_before.is_(None))
    )
    return int(session.scalar(stmt) or 0)


def due_ids(session: Session, *, today: date, decks: Sequence[str] = ()) -> list[int]:
    """Cards due today or earlier, most overdue first."""
    stmt = (
        select(Card.question_id)
        .join(Question, Question.id == Card.question_id)
        .where(store.due_by(today))
        .order_by(Card.due, Question.deck_id, Question.position)
    )
    return list(session.scalars(store.in_decks(stmt, decks)))


def new_ids(session: Session, *, today: date, limit: int, decks: Sequence[str] = ()) -> list[int]:
    """Up to ``limit`` never-answered cards, deck by deck in file order.

    A new card is due from the day it was added: a review ``--today`` an earlier day does
    not see it (the scheduler would refuse the answer).
    """
    if limit <= 0:
        return []
    stmt = (
        select(Card.question_id)
        .join(Question, Question.id == Card.question_id)
        .where(
            store.NEW,
            Card.due <= today,
            store.NOT_SUSPENDED,
        )
        .order_by(Question.deck_id, Question.position)
        .limit(limit)
    )
    return list(session.scalars(store.in_decks(stmt, decks)))


def drill_ids(session: Session, *, today: date, decks: Sequence[str] = ()) -> list[int]:
    """Cards whose latest answer today scored below 4: the same-day drill, oldest first."""
    latest = (
        select(func.max(Review.id).label("id"))
        .where(Review.day == today)
        .group_by(Review.question_id)
        .subquery()
    )
    stmt = (
        select(Review.question_id)
        .join(latest, latest.c.id == Review.id)
        .join(Question, Question.id == Review.question_id)
        .join(Card, Card.question_id == Review.question_id)
        .where(
            Review.quality < scheduler.DRILL_UNTIL,
            # Not answered on a later day since (a review --today an earlier day).
            Card.last_graded == today,
            store.NOT_SUSPENDED,
        )
        .order_by(Review.id)
    )
    return list(session.scalars(store.in_decks(stmt, decks)))


def build_queue(
    session: Session,
    *,
    today: date,
    decks: Sequence[str] = (),
    new_per_day: int,
    due_and_new_left: int | None = None,
) -> list[QueueItem]:
    """What is left to ask today: due cards, then new ones within the daily limit, then drill.

    ``due_and_new_left`` caps the due and new cards (``review --limit``); drill is not capped.
    """
    due = due_ids(session, today=today, decks=decks)
    new_left = max(0, new_per_day - new_started_on(session, today))
    new = new_ids(session, today=today, limit=new_left, decks=decks)
    fresh = [QueueItem(q, "due") for q in due] + [QueueItem(q, "new") for q in new]
    if due_and_new_left is not None:
        fresh = fresh[: max(0, due_and_new_left)]
    return fresh + [QueueItem(q, "drill") for q in drill_ids(session, today=today, decks=decks)]


# --- answering ----------------------------------------------------------------------


#: Failures (lapses) after which a card is a leech: tagged and suspended.
DEFAULT_LEECH_THRESHOLD = 8


def is_leech_lapse(lapses: int, threshold: int) -> bool:
    """Whether reaching ``lapses`` makes a card a leech: at the threshold, then every half of it."""
    if threshold <= 0 or lapses < threshold:
        return False
    return (lapses - threshold) % max(1, threshold // 2) == 0


@dataclass(frozen=True)
class Recorded:
    """What recording one answer did."""

    outcome: scheduler.Outcome
    leeched: bool


def record_answer(
    session: Session,
    question: Question,
    *,
    quality: int,
    today: date,
    now: datetime,
    typed: str | None = None,
    seconds: float | None = None,
    leech_threshold: int = DEFAULT_LEECH_THRESHOLD,
) -> Recorded:
    """Apply one answer through SM-2 and log it. Refused answers change nothing.

    A graded failure that brings the card's lapses to the leech threshold (and every
    half-threshold after it) tags it as a leech and suspends it.

    The card's state row is locked and read again first: of two processes answering the
    same card at once (a shared PostgreSQL server), the second waits for the first to
    commit and then sees its state, so its answer is a drill and never a second grade.
    On SQLite the IMMEDIATE transaction already serializes writers (FOR UPDATE is not
    emitted there).
    """
    # Fetched, not just executed: the ORM refreshes question.state only as rows are read.
    session.scalars(
        select(Card)
        .where(Card.question_id == question.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    try:
        outcome = scheduler.answer(store.to_state(question.state), quality=quality, day=today)
    except QuizzerError as exc:
        raise type(exc)(f"{question.name}: {exc}") from None
    before, after = outcome.before, outcome.after
    row = question.state
    session.add(
        Review(
            question_id=question.id,
            answered_at=now,
            day=today,
            quality=quality,
            kind=outcome.kind,
            typed=typed,
            seconds=seconds,
            ease_before=before.ease,
            repetitions_before=before.repetitions,
            interval_before=before.interval,
            due_before=before.due,
            lapses_before=before.lapses,
            last_graded_before=before.last_graded,
            leech_before=row.leech,
            suspended_before=row.suspended,
            ease_after=after.ease,
            repetitions_after=after.repetitions,
            interval_after=after.interval,
            due_after=after.due,
            lapses_after=after.lapses,
        )
    )
    store.store_state(row, after)
    leeched = after.lapses > before.lapses and is_leech_lapse(after.lapses, leech_threshold)
    if leeched:
        row.leech = True
        row.suspended = True
    session.flush()
    return Recorded(outcome, leeched)


def grade(
    session: Session,
    name: str,
    quality: int,
    *,
    today: date,
    now: datetime,
    leech_threshold: int = DEFAULT_LEECH_THRESHOLD,
) -> Recorded:
    """Record one answer for the question named ``DECK/ID`` (``quizzer grade``)."""
    question = store.get_question(session, name)
    if question.retired:
        raise QuizzerError(f"{name}: this question is retired (removed from its deck file)")
    return record_answer(
        session, question, quality=quality, today=today, now=now, leech_threshold=leech_threshold
    )


@dataclass(frozen=True)
class Undone:
    """The answer that was taken back."""

    question_id: int
    name: str
    quality: int
    kind: str
    day: date


def undo_last(session: Session) -> Undone:
    """Take back the most recent answer: its log entry goes, the card's state is restored."""
    # Locked (on a server) so two machines undoing at once take back two answers, not one twice.
    review = session.scalars(
        select(Review).order_by(Review.id.desc()).limit(1).with_for_update()
    ).one_or_none()
    if review is None:
        raise QuizzerError("nothing to undo: no answers have been given")
    question = store.load_question(session, review.question_id)
    state = question.state
    store.store_state(state, store.state_before(review))
    if review.leech_before is not None:
        state.leech = review.leech_before
    if review.suspended_before is not None:
        state.suspended = review.suspended_before
    undone = Undone(question.id, question.name, review.quality, review.kind, review.day)
    session.execute(delete(Review).where(Review.id == review.id))
    session.flush()
    return undone


# --- what is ahead ------------------------------------------------------------------


@dataclass(frozen=True)
class Outlook:
    """How much is waiting: tomorrow, in the next seven days, and when the next card is due."""

    tomorrow: int
    week: int
    next_due: date | None
    new_waiting: int


def outlook(session: Session, *, today: date, decks: Sequence[str] = ()) -> Outlook:
    """Due counts for tomorrow and the next 7 days, and the next due date after today."""

    def count(stmt: Select[Any]) -> int:
        return int(session.scalar(store.in_decks(stmt, decks)) or 0)

    base = (
        select(func.count())
        .select_from(Card)
        .join(Question, Question.id == Card.question_id)
        .where(store.LEARNED, store.NOT_SUSPENDED)
    )
    tomorrow = count(base.where(Card.due <= today + timedelta(days=1)))
    week = count(base.where(Card.due <= today + timedelta(days=7)))
    next_due = session.scalar(
        store.in_decks(
            select(func.min(Card.due))
            .join(Question, Question.id == Card.question_id)
            .where(store.LEARNED, store.NOT_SUSPENDED, Card.due > today),
            decks,
        )
    )
    new_waiting = count(
        select(func.count())
        .select_from(Card)
        .join(Question, Question.id == Card.question_id)
        .where(store.NEW)
    )
    return Outlook(tomorrow, week, next_due, new_waiting)
