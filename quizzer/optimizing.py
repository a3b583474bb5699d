"""Fitting FSRS's parameters to the collection's own review log (`quizzer optimize`).

Three steps, so no transaction is open while the optimizer runs: ``gather`` reads the
graded answers (a read transaction), ``fit`` runs fsrs-rs-python's optimizer and scores the
current and the fitted parameters on the same history, ``keep`` stores the fitted ones when
they are better (a write transaction). Functions never print or commit.

The figures are fsrs-rs's own evaluation, as Anki shows them: log loss and RMSE(bins) over
every graded answer that follows an earlier one (fsrs-rs weights later answers more). The
rule is Anki's: the fitted parameters replace the current ones only when their log loss is
lower; otherwise the current ones stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from quizzer import fsrs6, review, store
from quizzer.errors import QuizzerError
from quizzer.orm import Card, Setting

if TYPE_CHECKING:
    from fsrs_rs_python import FSRSItem

#: Graded answers that follow an earlier one on the same card, below which there is too
#: little to fit 21 parameters to (Anki asks for about as many).
MIN_REVIEWS = 400


@dataclass(frozen=True)
class History:
    """What the optimizer learns from: each card's graded answers, and the parameters in use."""

    answers: dict[int, list[tuple[date, int]]]
    current: tuple[float, ...] | None  # None: FSRS's defaults

    @property
    def reviews(self) -> int:
        """Answers that follow an earlier one: the ones a model predicts."""
        return sum(max(0, len(a) - 1) for a in self.answers.values())


@dataclass(frozen=True)
class Score:
    log_loss: float
    rmse_bins: float


@dataclass(frozen=True)
class Optimized:
    """The fit: the parameters before and after, their scores, and whether it is kept."""

    reviews: int
    cards: int
    current: tuple[float, ...]
    current_is_default: bool
    fitted: tuple[float, ...]
    before: Score
    after: Score

    @property
    def better(self) -> bool:
        return self.after.log_loss < self.before.log_loss


def gather(session: Session) -> History:
    """The collection's graded answers; a QuizzerError when there are too few to fit."""
    history = History(store.graded_answers(session), review.fsrs_config(session).parameters)
    if history.reviews < MIN_REVIEWS:
        raise QuizzerError(
            f"optimize needs {MIN_REVIEWS} graded answers that follow an earlier one on the "
            f"same card; this collection has {history.reviews}: "
            f"{MIN_REVIEWS - history.reviews} more to go"
        )
    return history


def _items(answers: dict[int, list[tuple[date, int]]]) -> list[FSRSItem]:
    from fsrs_rs_python import FSRSItem, FSRSReview

    items: list[FSRSItem] = []
    for card in answers.values():
        reviews = []
        for n, (day, quality) in enumerate(card):
            elapsed = (day - card[n - 1][0]).days if n else 0
            reviews.append(FSRSReview(fsrs6.rating(quality), elapsed))
            if n:
                items.append(FSRSItem(list(reviews)))
    return items


def _within_bounds(parameters: Sequence[float]) -> tuple[float, ...]:
    """``parameters`` clamped to the bounds py-fsrs accepts (fsrs-rs's are a little wider)."""
    from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

    return tuple(
        min(max(float(w), low), high)
        for w, low, high in zip(
            parameters, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True
        )
    )


def fit(history: History) -> Optimized:
    """Fit FSRS-6 to ``history`` with fsrs-rs-python and score both parameter sets on it."""
    from fsrs_rs_python import FSRS

    current = history.current or fsrs6.default_parameters()
    items = _items(history.answers)
    # Day granularity: no same-day answers reach FSRS, so its short-term part is not fitted.
    fitted = _within_bounds(FSRS(list(current)).compute_parameters(items, enable_short_term=False))

    def score(parameters: Sequence[float]) -> Score:
        evaluation = FSRS(list(parameters)).evaluate(items)
        return Score(float(evaluation.log_loss), float(evaluation.rmse_bins))

    return Optimized(
        reviews=history.reviews,
        cards=sum(1 for a in history.answers.values() if a),
        current=tuple(current),
        current_is_default=history.current is None,
        fitted=fitted,
        before=score(current),
        after=score(fitted),
    )


def keep(session: Session, optimized: Optimized) -> bool:
    """Store the fitted parameters when they are better; True when they were stored.

    While FSRS schedules, every card's memory state is computed again from its log with
    the new parameters; due dates stay as they are (the next answers use the new ones).
    """
    if not optimized.better:
        return False
    row = session.get(Setting, review.PARAMETERS_KEY)
    if row is None:
        session.add(Setting(key=review.PARAMETERS_KEY, value=list(optimized.fitted)))
    else:
        row.value = list(optimized.fitted)
    session.flush()
    fsrs = review.load_fsrs(session)
    if fsrs is not None:
        answers = store.graded_answers(session)
        names = review.question_names(session)
        for card in session.scalars(select(Card)):
            memory = fsrs.replay(answers.get(card.question_id, []), seed=names[card.question_id])
            if memory is not None:
                card.stability, card.difficulty = memory.stability, memory.difficulty
        session.flush()
    return True
