"""The review session's use-cases: what to ask next, undo, settings and the day's numbers.

Everything is derived from the database each time it is asked, so a session that is
interrupted and started again the same day continues exactly where it stopped, drill
included. Functions take a Session and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session, joinedload

from quizzer import scheduler, services
from quizzer.errors import QuizzerError
from quizzer.orm import CardState, Deck, Question, Review, Setting

#: New cards a day when the user has not chosen another number.
DEFAULT_NEW_PER_DAY = 10
#: The largest value a setting takes: far more cards than anyone reviews in a day, and
#: far inside what SQLite's 64-bit integers hold (a bigger number would be stored as a
#: float and overflow the queries that use it).
MAX_SETTING = 100_000
SETTINGS: dict[str, tuple[type, Any, str]] = {
    "new-per-day": (int, DEFAULT_NEW_PER_DAY, "new cards introduced per day by `review`"),
    "leech-threshold": (
        int,
        services.DEFAULT_LEECH_THRESHOLD,
        "failures after which a card is tagged leech and suspended (0: never)",
    ),
}

Phase = Literal["due", "new", "drill"]


@dataclass(frozen=True)
class QueueItem:
    """One card to ask, and why it is asked today."""

    question_id: int
    phase: Phase


# --- settings -----------------------------------------------------------------------


def get_setting(session: Session, key: str) -> Any:
    """A persisted setting, or its default.

    A number stored out of bounds (by an older quizzer, which did not check) is read as
    the nearest bound.
    """
    kind, default, _ = SETTINGS[key]
    row = session.get(Setting, key)
    if row is None:
        return default
    try:
        value = kind(row.value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise QuizzerError(
            f"{key}: the stored value {row.value!r} is not {_wanted(kind)}; "
            f"set it again with `quizzer config {key} N`"
        ) from None
    if isinstance(value, int):
        value = min(max(value, 0), MAX_SETTING)
    return value


def _wanted(kind: type) -> str:
    return "a whole number" if kind is int else kind.__name__


def set_setting(session: Session, key: str, value: str) -> Any:
    """Persist a setting from its text form; returns the stored value."""
    if key not in SETTINGS:
        raise QuizzerError(f"{key}: no such setting (known: {', '.join(sorted(SETTINGS))})")
    kind, _, _ = SETTINGS[key]
    try:
        parsed = kind(value)
    except ValueError:
        raise QuizzerError(f"{key}: {value!r} is not {_wanted(kind)}") from None
    if isinstance(parsed, int) and parsed < 0:
        raise QuizzerError(f"{key}: must not be negative")
    if isinstance(parsed, int) and parsed > MAX_SETTING:
        raise QuizzerError(f"{key}: must be at most {MAX_SETTING}")
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=parsed))
    else:
        row.value = parsed
    return parsed


# --- the queue ----------------------------------------------------------------------


def _scope(stmt: Select[Any], decks: Sequence[str]) -> Select[Any]:
    """Only active questions (not retired), of the chosen decks."""
    stmt = stmt.where(Question.retired.is_(False))
    if decks:
        stmt = stmt.join(Deck, Deck.id == Question.deck_id).where(Deck.slug.in_(decks))
    return stmt


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
        select(CardState.question_id)
        .join(Question, Question.id == CardState.question_id)
        .where(
            CardState.last_graded.is_not(None),
            CardState.due <= today,
            CardState.suspended.is_(False),
        )
        .order_by(CardState.due, Question.deck_id, Question.position)
    )
    return list(session.scalars(_scope(stmt, decks)))


def new_ids(session: Session, *, today: date, limit: int, decks: Sequence[str] = ()) -> list[int]:
    """Up to ``limit`` never-answered cards, deck by deck in file order.

    A new card is due from the day it was added: a review ``--today`` an earlier day does
    not see it (the scheduler would refuse the answer).
    """
    if limit <= 0:
        return []
    stmt = (
        select(CardState.question_id)
        .join(Question, Question.id == CardState.question_id)
        .where(
            CardState.last_graded.is_(None),
            CardState.due <= today,
            CardState.suspended.is_(False),
        )
        .order_by(Question.deck_id, Question.position)
        .limit(limit)
    )
    return list(session.scalars(_scope(stmt, decks)))


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
        .join(CardState, CardState.question_id == Review.question_id)
        .where(
            Review.quality < scheduler.DRILL_UNTIL,
            # Not answered on a later day since (a review --today an earlier day).
            CardState.last_graded == today,
            CardState.suspended.is_(False),
        )
        .order_by(Review.id)
    )
    return list(session.scalars(_scope(stmt, decks)))


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


def load_question(session: Session, question_id: int) -> Question:
    """A question with its deck and state, for asking it."""
    question = session.scalars(
        select(Question)
        .options(joinedload(Question.deck), joinedload(Question.state))
        .where(Question.id == question_id)
    ).one()
    return question


# --- undo ---------------------------------------------------------------------------


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
    question = load_question(session, review.question_id)
    state = question.state
    services.store_state(state, services.state_before(review))
    if review.leech_before is not None:
        state.leech = review.leech_before
    if review.suspended_before is not None:
        state.suspended = review.suspended_before
    undone = Undone(question.id, question.name, review.quality, review.kind, review.day)
    session.execute(delete(Review).where(Review.id == review.id))
    session.flush()
    return undone


# --- numbers for the end of a session -----------------------------------------------


@dataclass(frozen=True)
class Outlook:
    """How much is waiting: tomorrow, in the next seven days, and when the next card is due."""

    tomorrow: int
    week: int
    next_due: date | None
    new_waiting: int


def outlook(session: Session, *, today: date, decks: Sequence[str] = ()) -> Outlook:
    """Due counts for tomorrow and the next 7 days, and the next due date after today."""
    learned = CardState.last_graded.is_not(None)

    def count(stmt: Select[Any]) -> int:
        return int(session.scalar(_scope(stmt, decks)) or 0)

    base = (
        select(func.count())
        .select_from(CardState)
        .join(Question, Question.id == CardState.question_id)
        .where(learned, CardState.suspended.is_(False))
    )
    tomorrow = count(base.where(CardState.due <= today + timedelta(days=1)))
    week = count(base.where(CardState.due <= today + timedelta(days=7)))
    next_due = session.scalar(
        _scope(
            select(func.min(CardState.due))
            .join(Question, Question.id == CardState.question_id)
            .where(learned, CardState.suspended.is_(False), CardState.due > today),
            decks,
        )
    )
    new_waiting = count(
        select(func.count())
        .select_from(CardState)
        .join(Question, Question.id == CardState.question_id)
        .where(CardState.last_graded.is_(None))
    )
    return Outlook(tomorrow, week, next_due, new_waiting)
