"""Checking a collection: the database file itself, then quizzer's own invariants.

``quizzer db check`` runs it. Functions take a Session and never write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import FromClause, func, select, text
from sqlalchemy.orm import Session

from quizzer import scheduler, store
from quizzer.orm import Card, Deck, Question, Review
from quizzer.questions import Content

#: At most this many problems are listed; the count says how many there were.
MAX_LISTED = 50


@dataclass
class IntegrityReport:
    """What the check found: problems, one line each, and what it looked at."""

    questions: int = 0
    reviews: int = 0
    problems: list[str] = field(default_factory=list)
    total_problems: int = 0

    def add(self, problem: str) -> None:
        self.total_problems += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)

    @property
    def ok(self) -> bool:
        return self.total_problems == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "questions": self.questions,
            "reviews": self.reviews,
            "problems": self.problems,
            "total_problems": self.total_problems,
        }


def _sm2_part(state: scheduler.CardState) -> tuple[int, int, int, int, object]:
    """What every answer keeps of SM-2's state, whichever scheduler set the due date."""
    return (state.ease, state.repetitions, state.interval, state.lapses, state.last_graded)


def check_collection(session: Session) -> IntegrityReport:
    """Check the file (SQLite's integrity and foreign keys) and quizzer's invariants: every
    question has its card, its content hash, and a card whose SM-2 state is where its review
    log leads, each answer starting from the state the one before it left."""
    report = IntegrityReport()
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        for (found,) in connection.execute(text("PRAGMA integrity_check")):
            for line in str(found).splitlines():
                if line not in ("ok", "*** in database main ***"):
                    report.add(f"the database file is damaged: {line}")
        for row in connection.execute(text("PRAGMA foreign_key_check")):
            report.add(f"a row of {row[0]} (rowid {row[1]}) points at a missing {row[2]} row")
        if not report.ok:
            return report  # quizzer's own checks would only repeat what is broken
    names = {
        qid: f"{slug}/{name}"
        for qid, slug, name in session.execute(
            select(Question.id, Deck.slug, Question.qid).join(Deck, Deck.id == Question.deck_id)
        )
    }
    report.questions = len(names)
    cards = {row.question_id: row for row in session.scalars(select(Card))}
    for question in session.scalars(select(Question)):
        name = names[question.id]
        if question.id not in cards:
            report.add(f"{name}: has no card (no schedule)")
        if Content.of(question).digest() != question.content_hash:
            report.add(f"{name}: its content hash does not match its content")
        if question.type not in ("predict_output", "multiple_choice", "recall"):
            report.add(f"{name}: unknown type {question.type!r}")
    previous: dict[int, Review] = {}
    for review in session.scalars(select(Review).order_by(Review.question_id, Review.id)):
        report.reviews += 1
        name = names.get(review.question_id, f"question #{review.question_id}")
        if review.quality not in scheduler.QUALITIES or review.kind not in ("graded", "drill"):
            report.add(f"{name}: answer #{review.id} has quality {review.quality}, {review.kind}")
        before = previous.get(review.question_id)
        if before is not None and _sm2_part(store.state_after(before)) != _sm2_part(
            store.state_before(review)
        ):
            report.add(f"{name}: answer #{review.id} does not start where #{before.id} ended")
        previous[review.question_id] = review
    for question_id, last in previous.items():
        card = cards.get(question_id)
        if card is not None and _sm2_part(store.to_state(card)) != _sm2_part(
            store.state_after(last)
        ):
            report.add(
                f"{names.get(question_id, question_id)}: its card is not where its review log "
                f"leads (answer #{last.id})"
            )
    for question_id, card in cards.items():
        if card.ease < scheduler.MIN_EASE:
            report.add(f"{names.get(question_id, question_id)}: ease {card.ease / 100} below 1.30")
    counted = session.scalar(select(func.count()).select_from(Review))
    if counted != report.reviews:
        report.add(f"the review log has {counted} rows but {report.reviews} could be read")
    _check_kept_counts(session, report)
    return report


def _check_kept_counts(session: Session, report: IntegrityReport) -> None:
    """The counts the database's triggers keep for ``stats`` and ``decks`` against a
    recount (they differ only if the triggers were dropped or bypassed)."""
    # What, the table's name, its key columns (deck, and day), the kept table and a recount.
    kept_and_recount: list[tuple[str, str, int, FromClause, FromClause]] = [
        (
            "answers per deck and day",
            "review_days",
            2,
            store.answer_days(),
            store.answer_days(recount=True),
        ),
        (
            "questions per deck",
            "deck_cards",
            1,
            store.deck_counts(),
            store.deck_counts(recount=True),
        ),
        (
            "cards per deck and due date",
            "due_days",
            2,
            store.due_days(),
            store.due_days(recount=True),
        ),
    ]
    for what, name, keys, kept, recounted in kept_and_recount:
        columns = [column.name for column in kept.c]
        rows = [
            # A deck left without questions keeps a row of zeros; a recount has none.
            {
                tuple(row)
                for row in session.execute(select(*(table.c[column] for column in columns)))
                if any(row[keys:])
            }
            for table in (kept, recounted)
        ]
        differ = len(rows[0] ^ rows[1])
        if differ:
            report.add(
                f"the {what} kept for stats ({name}) differ from a recount in {differ} "
                "rows: `quizzer db copy --to NEW.db` counts them afresh"
            )
