"""The collection as a whole: listing decks and cards, one question in full, unsuspending a
card, and the settings. Functions take a Session and never commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quizzer import fsrs6, review, scheduler, store
from quizzer.errors import QuizzerError
from quizzer.orm import Card, Deck, Question, Review, Setting
from quizzer.questions import RUNNING_PYTHON, Content, python_version
from quizzer.review import DEFAULT_LEECH_THRESHOLD

# --- listings -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeckSummary:
    """One deck with its counts (retired questions count only as retired)."""

    deck: str
    title: str
    total: int
    new: int
    due: int
    learned: int
    retired: int


def deck_summaries(session: Session, *, today: date, recount: bool = False) -> list[DeckSummary]:
    """Every deck with counts of new, due-today, learned and retired questions.

    The counts are read per deck and due date, never per card (``recount``: from the
    cards, see ``store.deck_counts``).
    """
    counts, days = store.deck_counts(recount=recount), store.due_days(recount=recount)
    due = (
        select(days.c.deck_id, func.sum(days.c.cards).label("cards"))
        .where(days.c.day <= today)
        .group_by(days.c.deck_id)
        .subquery("due")
    )
    total = func.coalesce(counts.c.questions, 0)
    retired = func.coalesce(counts.c.retired, 0)
    learned = func.coalesce(counts.c.learned, 0)
    stmt = (
        select(
            Deck.slug,
            Deck.title,
            total,
            total - retired - learned,
            func.coalesce(due.c.cards, 0),
            learned,
            retired,
        )
        .select_from(Deck)
        .outerjoin(counts, counts.c.deck_id == Deck.id)
        .outerjoin(due, due.c.deck_id == Deck.id)
        .order_by(Deck.slug)
    )
    return [
        DeckSummary(slug, title, int(n), int(new), int(due), int(lrn), int(ret))
        for slug, title, n, new, due, lrn, ret in session.execute(stmt)
    ]


@dataclass
class CardListing:
    """A question with its schedule, as ``cards`` lists it."""

    name: str
    deck: str
    id: str
    type: str
    prompt: str
    ease: float
    repetitions: int
    interval: int
    due: date
    lapses: int
    last_graded: date | None
    new: bool
    retired: bool
    leech: bool
    suspended: bool

    def to_json(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict (deep copies) was a third of `cards --json`.
        return {
            "name": self.name,
            "deck": self.deck,
            "id": self.id,
            "type": self.type,
            "prompt": self.prompt,
            "ease": self.ease,
            "repetitions": self.repetitions,
            "interval": self.interval,
            "due": self.due.isoformat(),
            "lapses": self.lapses,
            "last_graded": self.last_graded.isoformat() if self.last_graded else None,
            "new": self.new,
            "retired": self.retired,
            "leech": self.leech,
            "suspended": self.suspended,
        }


def iter_cards(
    session: Session,
    *,
    today: date,
    decks: Iterable[str] = (),
    due_only: bool = False,
    include_retired: bool = False,
    leeches_only: bool = False,
) -> Iterator[CardListing]:
    """Questions with their schedule, deck by deck in file order, row by row as the
    database gives them (read them inside the session).

    Only the columns a listing shows are read, not whole questions (their code, answer
    and explanation were most of the bytes of 100k rows).
    """
    slugs = list(decks)
    for slug in slugs:
        store.get_deck(session, slug)
    stmt = (
        select(
            Deck.slug,
            Question.qid,
            Question.type,
            Question.prompt,
            Question.retired,
            Card.ease,
            Card.repetitions,
            Card.interval,
            Card.due,
            Card.lapses,
            Card.last_graded,
            Card.leech,
            Card.suspended,
        )
        .join(Card, Card.question_id == Question.id)
        .join(Deck, Deck.id == Question.deck_id)
        .order_by(Deck.slug, Question.position, Question.id)
    )
    if slugs:
        stmt = stmt.where(Deck.slug.in_(slugs))
    if not include_retired:
        stmt = stmt.where(store.ACTIVE)
    if due_only:
        stmt = stmt.where(store.due_by(today))
    if leeches_only:
        stmt = stmt.where(Card.leech.is_(True))
    for row in session.execute(stmt.execution_options(yield_per=500)):
        slug, qid, kind, prompt, retired, ease, reps, interval, due, lapses, last, leech, susp = row
        yield CardListing(
            name=f"{slug}/{qid}",
            deck=slug,
            id=qid,
            type=kind,
            prompt=prompt,
            ease=ease / 100,
            repetitions=reps,
            interval=interval,
            due=due,
            lapses=lapses,
            last_graded=last,
            new=last is None,
            retired=retired,
            leech=leech,
            suspended=susp,
        )


def _state_json(state: scheduler.CardState) -> dict[str, Any]:
    return {
        "ease": state.ease / 100,
        "repetitions": state.repetitions,
        "interval": state.interval,
        "due": state.due.isoformat(),
        "lapses": state.lapses,
        "last_graded": state.last_graded.isoformat() if state.last_graded else None,
    }


def review_json(review: Review) -> dict[str, Any]:
    """One review-log entry as ``show --json`` gives it (FSRS's memory: null under SM-2)."""
    return {
        "answered_at": review.answered_at.isoformat(),
        "day": review.day.isoformat(),
        "quality": review.quality,
        "kind": review.kind,
        "typed": review.typed,
        "seconds": review.seconds,
        "variant": review.variant,
        "scheduler": review.scheduler or "sm2",
        "before": {
            **_state_json(store.state_before(review)),
            "stability": review.stability_before,
            "difficulty": review.difficulty_before,
        },
        "after": {
            **_state_json(store.state_after(review)),
            "stability": review.stability_after,
            "difficulty": review.difficulty_after,
        },
    }


def show_question(session: Session, name: str, *, today: date | None = None) -> dict[str, Any]:
    """One question, its state and its review history, as plain data.

    Under FSRS the state has the card's memory state and its predicted recall on ``today``
    (all three None under SM-2, and for a card never graded).
    """
    question = store.get_question(session, name)
    history = [review_json(r) for r in store.history(session, question)]
    memory = None
    if review.scheduler_in_use(session) == "fsrs":
        memory = store.to_memory(question.state)
    recall = None
    if memory is not None and today is not None:
        decay = fsrs6.decay(review.fsrs_config(session))
        recall = fsrs6.recall(memory.stability, (today - memory.last_review).days, decay)
    return {
        "name": question.name,
        "deck": question.deck.slug,
        "id": question.qid,
        **Content.of(question).columns(),
        "tags": list(question.deck.tags or []) + list(question.tags or []),
        "retired": question.retired,
        "created_at": question.created_at.isoformat(),
        "changed_at": question.changed_at.isoformat(),
        "state": {
            **_state_json(store.to_state(question.state)),
            "new": question.state.last_graded is None,
            "leech": question.state.leech,
            "suspended": question.state.suspended,
            "stability": memory.stability if memory else None,
            "difficulty": memory.difficulty if memory else None,
            "recall": round(recall, 4) if recall is not None else None,
        },
        "history": history,
        "by_variant": by_variant(history, Content.of(question).variant_count),
    }


def by_variant(history: list[dict[str, Any]], count: int) -> list[dict[str, Any]] | None:
    """How each variant of a question went (answers, right ones: quality 3 or more, the
    last day shown), numbered from 1 as ``show`` prints them; None when it does not vary."""
    if count < 2:
        return None
    rows = [{"variant": n + 1, "answers": 0, "right": 0, "last": None} for n in range(count)]
    for entry in history:
        shown = entry["variant"]
        if shown is None or not 0 <= shown < count:
            continue  # answered before the question varied, or a variant since removed
        row = rows[shown]
        row["answers"] += 1
        row["right"] += entry["quality"] >= 3
        row["last"] = entry["day"]
    return rows


def unsuspend(session: Session, name: str) -> bool:
    """Bring the suspended card ``DECK/ID`` back into reviews and clear its leech tag.

    Returns False, changing nothing, when the card is not suspended. A retired question is
    refused (QuizzerError): it is not asked, suspended or not.
    """
    question = store.get_question(session, name)
    if question.retired:
        raise QuizzerError(
            f"{name}: this question is retired (deleted, or removed from its deck file) and "
            "will not be asked; nothing changed"
        )
    state = question.state
    if not state.suspended:
        return False
    state.suspended = False
    state.leech = False
    session.flush()
    return True


# --- settings -----------------------------------------------------------------------


#: New cards a day when the user has not chosen another number.
DEFAULT_NEW_PER_DAY = 10


#: The largest value a setting takes: far more cards than anyone reviews in a day, and
#: far inside what SQLite's 64-bit integers hold (a bigger number would be stored as a
#: float and overflow the queries that use it).
MAX_SETTING = 100_000


_PYTHON_VERSION = re.compile(r"3\.\d+(\.\d+)?")


def target_python(session: Session) -> str:
    """The Python version whose answers review and export use (``config python``)."""
    return python_version(str(get_setting(session, "python")))


SETTINGS: dict[str, tuple[type, Any, str]] = {
    "new-per-day": (int, DEFAULT_NEW_PER_DAY, "new cards introduced per day by `review`"),
    "leech-threshold": (
        int,
        DEFAULT_LEECH_THRESHOLD,
        "failures after which a card is tagged leech and suspended (0: never)",
    ),
    "scheduler": (
        str,
        "sm2",
        "sm2 (the default) or fsrs; switching keeps every card's history and state",
    ),
    "desired-retention": (
        float,
        fsrs6.DEFAULT_DESIRED_RETENTION,
        "FSRS: the chance of recall it schedules each review for (0.70-0.99)",
    ),
    "maximum-interval": (
        int,
        fsrs6.DEFAULT_MAXIMUM_INTERVAL,
        f"FSRS: the longest interval, in days (1-{fsrs6.DEFAULT_MAXIMUM_INTERVAL})",
    ),
    "fuzz": (str, "on", "FSRS: spread due dates a little, the same way every run (on/off)"),
    "new-order": (
        str,
        review.DEFAULT_NEW_ORDER,
        "how new cards come: interleaved (each deck in turn), in-order, or random",
    ),
    "python": (
        str,
        RUNNING_PYTHON,
        "the Python version (e.g. 3.12) whose answers review and export use, for questions "
        "with answers by version; 'running': the one running quizzer",
    ),
}

#: The bounds of the settings that have their own (the others: 0..MAX_SETTING).
_BOUNDS: dict[str, tuple[float, float]] = {
    "desired-retention": (fsrs6.MIN_DESIRED_RETENTION, fsrs6.MAX_DESIRED_RETENTION),
    "maximum-interval": (1, fsrs6.DEFAULT_MAXIMUM_INTERVAL),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "scheduler": review.SCHEDULERS,
    "fuzz": ("on", "off"),
    "new-order": review.NEW_ORDERS,
}


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
    if key in _CHOICES and value not in _CHOICES[key]:
        raise QuizzerError(
            f"{key}: the stored value {row.value!r} is not one of {', '.join(_CHOICES[key])}; "
            f"set it again with `quizzer config {key} {default}`"
        )
    if isinstance(value, int | float):
        low, high = _BOUNDS.get(key, (0, MAX_SETTING))
        value = kind(min(max(value, low), high))
    return value


def _wanted(kind: type) -> str:
    return {int: "a whole number", float: "a number"}.get(kind, kind.__name__)


def set_setting(session: Session, key: str, value: str) -> Any:
    """Persist a setting from its text form; returns the stored value."""
    if key not in SETTINGS:
        raise QuizzerError(f"{key}: no such setting (known: {', '.join(sorted(SETTINGS))})")
    kind, _, _ = SETTINGS[key]
    try:
        parsed = kind(value)
    except ValueError:
        raise QuizzerError(f"{key}: {value!r} is not {_wanted(kind)}") from None
    if key in _CHOICES and parsed not in _CHOICES[key]:
        raise QuizzerError(f"{key}: {value!r} is not one of {', '.join(_CHOICES[key])}")
    if key in _BOUNDS:
        low, high = _BOUNDS[key]
        if not low <= parsed <= high:  # NaN is refused too
            raise QuizzerError(f"{key}: must be from {low} to {high}, not {value}")
    if isinstance(parsed, int) and parsed < 0:
        raise QuizzerError(f"{key}: must not be negative")
    if isinstance(parsed, int) and parsed > MAX_SETTING:
        raise QuizzerError(f"{key}: must be at most {MAX_SETTING}")
    if key == "python" and parsed != RUNNING_PYTHON and not _PYTHON_VERSION.fullmatch(parsed):
        raise QuizzerError(
            f"python: {value!r} is not a Python version like 3.12 (or {RUNNING_PYTHON!r})"
        )
    if key == "scheduler":
        review.switch_scheduler(session, parsed)
        return parsed
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=parsed))
    else:
        row.value = parsed
    return parsed
