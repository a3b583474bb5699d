"""The real review log in tests/data/review-logs/, as quizzer sees a history: days, not minutes.

Each card's reviews are cut to one a day, the first of the day (a later answer the same day
is a drill in quizzer and schedules nothing); the day starts at 4 a.m. UTC, as in the
reference figures of the log's README. The log's FSRS ratings become SM-2 qualities by the
inverse of quizzer's table (fsrs6.RATING_OF_QUALITY): Again 1 (what a wrong answer scores
in a review), Hard 3, Good 4, Easy 5.

``build_collection`` turns it into a quizzer collection: one recall question per card,
imported with ``quizzer import``, and the log bulk-inserted with every state chained through
quizzer's own SM-2 (the one in use when the log was made), as bench_data.py does.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOG = (
    ROOT / "tests" / "data" / "review-logs" / "review_logs_josh_1711744352250_to_1728234780857.csv"
)
DAY_STARTS = timedelta(hours=4)
QUALITY_OF_RATING = {1: 1, 2: 3, 3: 4, 4: 5}
STATE_COLUMNS = ("ease", "repetitions", "interval", "due", "lapses", "last_graded")


@dataclass(frozen=True)
class Answer:
    """One graded answer: when, on which day, and the FSRS rating (1-4)."""

    card: int
    at: datetime
    day: date
    rating: int

    @property
    def quality(self) -> int:
        return QUALITY_OF_RATING[self.rating]


def read_log(path: Path = LOG) -> dict[int, list[Answer]]:
    """Each card's answers, one a day (the day's first), oldest first."""
    rows: list[tuple[int, datetime, int]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            at = datetime.fromisoformat(row["review_time"]).astimezone(UTC)
            rows.append((int(row["card_id"]), at, int(row["review_rating"])))
    rows.sort(key=lambda r: (r[0], r[1]))
    cards: dict[int, list[Answer]] = {}
    for card, at, rating in rows:
        day = (at - DAY_STARTS).date()
        answers = cards.setdefault(card, [])
        if answers and answers[-1].day == day:
            continue
        answers.append(Answer(card, at, day, rating))
    return cards


def in_time_order(cards: dict[int, list[Answer]]) -> list[Answer]:
    """Every answer of every card, oldest first."""
    return sorted((a for answers in cards.values() for a in answers), key=lambda a: (a.at, a.card))


def deck_text(cards: Iterable[int], slug: str = "review-log") -> str:
    """A deck file with one recall question per card of the log."""
    out = [f"deck: {slug}\n", "title: The shared review log\n", "questions:\n"]
    for card in cards:
        out += [
            f"  - id: c{card}\n",
            "    type: recall\n",
            f'    prompt: "Card {card} of the review log"\n',
            f'    answer: "answer {card}"\n',
        ]
    return "".join(out)


def build_collection(db: Path, cards: dict[int, list[Answer]], *, quizzer: str) -> date:
    """A quizzer collection at ``db`` holding ``cards`` and their log; returns the last day.

    The questions are imported with the ``quizzer`` script on the log's first day; the
    answers are inserted in time order with SM-2's states before and after each (graded
    as if due that day when the person answered before SM-2's due date).
    """
    import subprocess

    from sqlalchemy import bindparam, insert, select, update

    from quizzer import scheduler
    from quizzer.db import open_database
    from quizzer.orm import Card, Question, Review

    first = min(a[0].day for a in cards.values())
    deck = db.with_suffix(".yaml")
    deck.write_text(deck_text(cards), encoding="utf-8")
    subprocess.run(
        [quizzer, "--db", str(db), "--today", first.isoformat(), "import", str(deck)],
        check=True,
        capture_output=True,
    )
    database = open_database(str(db))
    rows: list[dict[str, Any]] = []
    finals: list[dict[str, Any]] = []
    try:
        with database.engine.begin() as connection:
            ids = {
                int(qid[1:]): question_id
                for question_id, qid in connection.execute(select(Question.id, Question.qid))
            }
            for card, answers in cards.items():
                state = scheduler.new_card(first)
                for answer in answers:
                    own = replace(state, due=min(state.due, answer.day))
                    outcome = scheduler.answer(own, quality=answer.quality, day=answer.day)
                    before, after = state, outcome.after
                    rows.append(
                        {
                            "question_id": ids[card],
                            "answered_at": answer.at,
                            "day": answer.day,
                            "quality": answer.quality,
                            "kind": "graded",
                            "typed": None,
                            "seconds": None,
                            "ease_before": before.ease,
                            "repetitions_before": before.repetitions,
                            "interval_before": before.interval,
                            "due_before": before.due,
                            "lapses_before": before.lapses,
                            "last_graded_before": before.last_graded,
                            "leech_before": False,
                            "suspended_before": False,
                            "ease_after": after.ease,
                            "repetitions_after": after.repetitions,
                            "interval_after": after.interval,
                            "due_after": after.due,
                            "lapses_after": after.lapses,
                            "scheduler": "sm2",
                        }
                    )
                    state = after
                finals.append(
                    {
                        "b_qid": ids[card],
                        "ease": state.ease,
                        "repetitions": state.repetitions,
                        "interval": state.interval,
                        "due": state.due,
                        "lapses": state.lapses,
                        "last_graded": state.last_graded,
                    }
                )
            rows.sort(key=lambda r: (r["answered_at"], r["question_id"]))
            connection.execute(insert(Review), rows)
            table = Card.metadata.tables["card_states"]
            connection.execute(
                update(table)
                .where(table.c.question_id == bindparam("b_qid"))
                .values({name: bindparam(name) for name in STATE_COLUMNS}),
                finals,
            )
    finally:
        database.dispose()
    return max(a[-1].day for a in cards.values())
