"""``quizzer stats``: reviews per day, retention, streak, the coming load and per-deck numbers.

Every number is aggregated by the database (GROUP BY day, due date or deck); Python only
ever sees a row per day, due date or deck. The answers are read from ``review_days``, the
answers per deck and day that the database's triggers keep (migrations 0010, 0011), and
the cards from ``deck_cards`` and ``due_days`` (0011), so the cost follows days and
decks, not answers or cards; ``recount=True`` counts the same from the review log and the
cards themselves (what the tests compare them with).
Only the ``stats`` command imports this module, so sqlalchemy loads at the top; the
rendering is the command's (``quizzer.cli.render``).

Activity (reviews per day, retention, streak, reviews in 30 days) counts every answer
ever logged, retired questions included: it is the learner's history. The due forecast
counts what ``review`` would ask: learned, active, not suspended cards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import FromClause, func, select
from sqlalchemy.orm import Session

from quizzer import collection, fsrs6, review, store
from quizzer.errors import QuizzerError
from quizzer.orm import Card, Deck, Question

#: Days in the due forecast; day 0 is today and includes every overdue card.
FORECAST_DAYS = 14
#: The longer retention window and the per-deck "last 30 days", ending today.
RECENT_DAYS = 30
#: The longest heatmap ``compute_stats`` accepts (ten years).
MAX_WEEKS = 520


def _rate(correct: int, graded: int) -> float | None:
    return correct / graded if graded else None


def _rounded(rate: float | None) -> float | None:
    return round(rate, 4) if rate is not None else None


@dataclass(frozen=True)
class DayCount:
    """One calendar day's answers: all of them (graded and drill), graded, graded passing."""

    day: date
    reviews: int
    graded: int
    correct: int

    def to_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "reviews": self.reviews,
            "graded": self.graded,
            "correct": self.correct,
        }


@dataclass(frozen=True)
class Retention:
    """Graded answers with quality >= 3 among all graded answers, over ``days`` ending today."""

    days: int
    graded: int
    correct: int

    @property
    def rate(self) -> float | None:
        """The share of passing answers; None when nothing was graded."""
        return _rate(self.correct, self.graded)

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "graded": self.graded,
            "correct": self.correct,
            "rate": _rounded(self.rate),
        }


@dataclass(frozen=True)
class Streak:
    """Consecutive days with at least one answer, ending today (or yesterday, if today has none)."""

    days: int
    reviewed_today: bool
    last_day: date | None

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "reviewed_today": self.reviewed_today,
            "last_day": self.last_day.isoformat() if self.last_day else None,
        }


@dataclass(frozen=True)
class DueDay:
    """Cards due on one day of the forecast (day 0 includes the overdue ones)."""

    day: date
    due: int

    def to_json(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "due": self.due}


@dataclass(frozen=True)
class DeckStats(collection.DeckSummary):
    """One row of the per-deck table: ``decks``' counts plus the last 30 days of answers."""

    reviews_30d: int
    graded_30d: int
    correct_30d: int
    #: The average predicted recall today of its learned cards, under FSRS (else None).
    recall: float | None = None

    @property
    def retention_30d(self) -> float | None:
        """The share of passing graded answers in the last 30 days; None when none."""
        return _rate(self.correct_30d, self.graded_30d)

    def to_json(self) -> dict[str, Any]:
        return {
            **vars(self),
            "retention_30d": _rounded(self.retention_30d),
            "recall": _rounded(self.recall),
        }


@dataclass(frozen=True)
class Recall:
    """FSRS's predicted recall today, averaged over the learned, unsuspended active cards."""

    cards: int
    average: float | None

    def to_json(self) -> dict[str, Any]:
        return {"cards": self.cards, "average": _rounded(self.average)}


@dataclass(frozen=True)
class Stats:
    """Everything ``quizzer stats`` shows, as plain data."""

    today: date
    weeks: int
    #: The decks the numbers are limited to; empty for all decks.
    deck_filter: tuple[str, ...]
    #: Every day from the Monday ``weeks - 1`` weeks before this week's, up to today.
    days: tuple[DayCount, ...]
    retention_7d: Retention
    retention_30d: Retention
    streak: Streak
    #: Cards due before today (all counted in ``forecast[0]``).
    overdue: int
    forecast: tuple[DueDay, ...]
    decks: tuple[DeckStats, ...]
    #: "sm2" or "fsrs"; ``recall`` is FSRS's prediction, None under SM-2.
    scheduler: str = "sm2"
    recall: Recall | None = None
    #: Graded answers to questions that vary, in the last 30 days: on the question's own
    #: code, and on its other variants (does knowing one snippet carry to the others?).
    variants_own: Retention | None = None
    variants_other: Retention | None = None

    @property
    def reviews_in_window(self) -> int:
        """Answers given on the days of the heatmap."""
        return sum(d.reviews for d in self.days)

    @property
    def active_days(self) -> int:
        """Days of the heatmap with at least one answer."""
        return sum(1 for d in self.days if d.reviews)

    def to_json(self) -> dict[str, Any]:
        """The same numbers as JSON-ready data; dates are ISO strings, rates 0..1 or null."""
        return {
            "today": self.today.isoformat(),
            "weeks": self.weeks,
            "deck_filter": list(self.deck_filter),
            "days": [d.to_json() for d in self.days],
            "reviews_in_window": self.reviews_in_window,
            "active_days": self.active_days,
            "retention_7d": self.retention_7d.to_json(),
            "retention_30d": self.retention_30d.to_json(),
            "streak": self.streak.to_json(),
            "overdue": self.overdue,
            "forecast": [d.to_json() for d in self.forecast],
            "decks": [d.to_json() for d in self.decks],
            "scheduler": self.scheduler,
            "recall": self.recall.to_json() if self.recall else None,
            "variants": (
                None
                if self.variants_own is None or self.variants_other is None
                else {"own": self.variants_own.to_json(), "other": self.variants_other.to_json()}
            ),
        }


# --- queries ------------------------------------------------------------------------


def _sums(days: FromClause) -> tuple[Any, Any, Any]:
    return (func.sum(days.c.reviews), func.sum(days.c.graded), func.sum(days.c.correct))


def _per_day(
    session: Session, *, since: date, today: date, decks: Sequence[str], days: FromClause
) -> dict[date, DayCount]:
    stmt = (
        select(days.c.day, *_sums(days))
        .where(days.c.day >= since, days.c.day <= today)
        .group_by(days.c.day)
    )
    return {
        day: DayCount(day, int(n), int(graded), int(correct))
        for day, n, graded, correct in session.execute(store.by_deck_in(stmt, days, decks))
    }


def _streak(
    session: Session,
    *,
    today: date,
    recent: dict[date, DayCount],
    since: date,
    decks: Sequence[str],
    days: FromClause,
) -> Streak:
    """The streak, from the days already counted (``recent``: since..today) and older ones.

    The older days are read only when the streak spans all of ``recent``, newest day
    first and only up to the first gap.
    """
    one = timedelta(days=1)
    if recent:
        last: date | None = max(recent)
    else:
        last = session.scalar(
            store.by_deck_in(select(func.max(days.c.day)).where(days.c.day < since), days, decks)
        )
    if last is None or last < today - one:
        return Streak(0, False, last)
    count, day = 0, last
    while day in recent:
        count, day = count + 1, day - one
    if day < since:
        older = store.by_deck_in(
            select(days.c.day).where(days.c.day < since).group_by(days.c.day), days, decks
        ).order_by(days.c.day.desc())
        result = session.execute(older.execution_options(yield_per=64)).scalars()
        try:
            for answered in result:
                if answered != day:
                    break
                count, day = count + 1, day - one
        finally:
            result.close()
    return Streak(count, last == today, last)


def _forecast(
    session: Session, *, today: date, decks: Sequence[str], recount: bool
) -> tuple[int, tuple[DueDay, ...]]:
    """Cards overdue, and due on each forecast day (day 0 includes the overdue ones)."""
    horizon = today + timedelta(days=FORECAST_DAYS - 1)
    # What `review` asks: learned, not suspended, of active questions, one row per deck
    # and due date (store.due_days), summed per day up to the horizon.
    days = store.due_days(recount=recount)
    scoped = store.by_deck_in(
        select(days.c.day, func.sum(days.c.cards))
        .where(days.c.day <= horizon)
        .group_by(days.c.day),
        days,
        decks,
    )
    overdue = 0
    counts: dict[date, int] = {}
    for due, n in session.execute(scoped):
        if due < today:
            overdue += int(n)
        else:
            counts[due] = int(n)
    forecast = tuple(
        DueDay(day, counts.get(day, 0) + (overdue if offset == 0 else 0))
        for offset in range(FORECAST_DAYS)
        for day in [today + timedelta(days=offset)]
    )
    return overdue, forecast


def _deck_rows(
    session: Session, *, today: date, decks: Sequence[str], days: FromClause, recount: bool
) -> tuple[DeckStats, ...]:
    since = today - timedelta(days=RECENT_DAYS - 1)
    recent = (
        select(Deck.slug, *_sums(days))
        .join(Deck, Deck.id == days.c.deck_id)
        .where(days.c.day >= since, days.c.day <= today)
        .group_by(Deck.slug)
    )
    if decks:
        recent = recent.where(Deck.slug.in_(decks))
    answers = {slug: (int(n), int(g), int(c)) for slug, n, g, c in session.execute(recent)}
    rows = []
    for summary in collection.deck_summaries(session, today=today, recount=recount):
        if decks and summary.deck not in decks:
            continue
        n, graded, correct = answers.get(summary.deck, (0, 0, 0))
        counts = vars(summary)
        rows.append(DeckStats(**counts, reviews_30d=n, graded_30d=graded, correct_30d=correct))
    return tuple(rows)


def _recall(
    session: Session, *, today: date, decks: Sequence[str]
) -> tuple[Recall, dict[str, float]]:
    """The collection's and each deck's average predicted recall today, under FSRS."""
    decay = fsrs6.decay(review.fsrs_config(session))
    stmt = (
        select(Deck.slug, Card.stability, Card.last_graded)
        .select_from(Card)
        .join(Question, Question.id == Card.question_id)
        .join(Deck, Deck.id == Question.deck_id)
        .where(store.LEARNED, store.NOT_SUSPENDED, store.ACTIVE, Card.stability.is_not(None))
    )
    if decks:
        stmt = stmt.where(Deck.slug.in_(decks))
    sums: dict[str, list[float]] = {}
    for slug, stability, last in session.execute(stmt):
        assert stability is not None and last is not None  # the query's conditions
        entry = sums.setdefault(slug, [0.0, 0.0])
        entry[0] += fsrs6.recall(stability, (today - last).days, decay)
        entry[1] += 1
    total = sum(n for _, n in sums.values())
    average = sum(r for r, _ in sums.values()) / total if total else None
    return Recall(int(total), average), {slug: r / n for slug, (r, n) in sums.items()}


def _retention(per_day: dict[date, DayCount], *, today: date, days: int) -> Retention:
    first = today - timedelta(days=days - 1)
    window = [c for d, c in per_day.items() if first <= d <= today]
    return Retention(days, sum(c.graded for c in window), sum(c.correct for c in window))


def heatmap_start(today: date, weeks: int) -> date:
    """The Monday that begins a heatmap of ``weeks`` weeks ending with today's week."""
    return today - timedelta(days=today.weekday() + 7 * (weeks - 1))


def compute_stats(
    session: Session,
    *,
    today: date,
    weeks: int = 12,
    decks: Sequence[str] = (),
    recount: bool = False,
) -> Stats:
    """Every number ``quizzer stats`` shows, for the days up to ``today``.

    ``weeks`` is the heatmap's length (whole weeks, Monday first, this week last);
    ``decks`` limits everything to those decks (NotFoundError for an unknown slug);
    ``recount`` counts from the review log and the cards instead of the counts the
    database keeps (``review_days``, ``deck_cards``, ``due_days``).
    """
    if not 1 <= weeks <= MAX_WEEKS:
        raise QuizzerError(f"weeks: must be from 1 to {MAX_WEEKS}, not {weeks}")
    slugs = tuple(dict.fromkeys(decks))
    for slug in slugs:
        store.get_deck(session, slug)
    start = heatmap_start(today, weeks)
    since = min(start, today - timedelta(days=RECENT_DAYS - 1))
    days_of_answers = store.answer_days(recount=recount)
    per_day = _per_day(session, since=since, today=today, decks=slugs, days=days_of_answers)
    span = (today - start).days + 1
    days = tuple(
        per_day.get(day) or DayCount(day, 0, 0, 0)
        for day in (start + timedelta(days=n) for n in range(span))
    )
    overdue, forecast = _forecast(session, today=today, decks=slugs, recount=recount)
    rows = _deck_rows(session, today=today, decks=slugs, days=days_of_answers, recount=recount)
    in_use = review.scheduler_in_use(session)
    recall = None
    if in_use == "fsrs":
        recall, per_deck = _recall(session, today=today, decks=slugs)
        rows = tuple(replace(row, recall=per_deck.get(row.deck)) for row in rows)
    own, other = _by_variant(session, today=today, decks=slugs, days=days_of_answers)
    return Stats(
        today=today,
        weeks=weeks,
        deck_filter=slugs,
        days=days,
        retention_7d=_retention(per_day, today=today, days=7),
        retention_30d=_retention(per_day, today=today, days=RECENT_DAYS),
        streak=_streak(
            session, today=today, recent=per_day, since=since, decks=slugs, days=days_of_answers
        ),
        overdue=overdue,
        forecast=forecast,
        decks=rows,
        scheduler=in_use,
        recall=recall,
        variants_own=own,
        variants_other=other,
    )


def _by_variant(
    session: Session, *, today: date, decks: Sequence[str], days: FromClause
) -> tuple[Retention | None, Retention | None]:
    """Graded answers of the last 30 days on varying questions: (own code, other variants);
    (None, None) when there are no answers on varying questions then."""
    since = today - timedelta(days=RECENT_DAYS - 1)
    c = days.c
    stmt = select(
        func.sum(c.varied),
        func.sum(c.own_graded),
        func.sum(c.own_correct),
        func.sum(c.other_graded),
        func.sum(c.other_correct),
    ).where(c.day >= since, c.day <= today)
    row = session.execute(store.by_deck_in(stmt, days, decks)).one()
    varied, own_g, own_c, other_g, other_c = (int(n or 0) for n in row)
    if not varied:
        return None, None
    return (
        Retention(RECENT_DAYS, own_g, own_c),
        Retention(RECENT_DAYS, other_g, other_c),
    )
