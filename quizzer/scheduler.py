"""SM-2 exactly as the project's sm2 spec says: pure functions, no database, no clock.

Ease is kept in integer hundredths (250 means 2.50): every change of ease is a multiple
of 0.01, and binary floats get the ceiling wrong (125 x 2.80 gives 351 instead of 350).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

from quizzer.errors import NotDueError, SchedulingError

INITIAL_EASE = 250
MIN_EASE = 130
QUALITIES = range(6)
PASSING_QUALITY = 3
#: A graded answer below this comes back in the same-day drill (step 7 of SM-2).
DRILL_UNTIL = 4

ReviewKind = Literal["graded", "drill"]

# Ease change per quality, in hundredths: 0.1 - (5-q)*(0.08 + (5-q)*0.02).
EASE_DELTA = {5: 10, 4: 0, 3: -14, 2: -32, 1: -54, 0: -80}


@dataclass(frozen=True)
class CardState:
    """A card's schedule. ``ease`` is in hundredths; ``lapses`` counts graded failures."""

    ease: int
    repetitions: int
    interval: int
    due: date
    lapses: int = 0
    last_graded: date | None = None

    @property
    def ease_value(self) -> float:
        """The ease as a number for display (2.5 for 250)."""
        return self.ease / 100


@dataclass(frozen=True)
class Outcome:
    """What one answer did: the kind of review and the state after it."""

    kind: ReviewKind
    before: CardState
    after: CardState


def new_card(added: date) -> CardState:
    """The state of a card added on ``added``: (2.50, 0, 0, added)."""
    return CardState(ease=INITIAL_EASE, repetitions=0, interval=0, due=added)


def is_new(state: CardState) -> bool:
    """A card that has never had a graded review."""
    return state.last_graded is None


def check_quality(quality: object) -> int:
    """Return ``quality`` if it is an integer 0..5, else raise SchedulingError."""
    if isinstance(quality, bool) or not isinstance(quality, int) or quality not in QUALITIES:
        raise SchedulingError(f"quality must be a whole number from 0 to 5, not {quality!r}")
    return quality


def _ceil_hundredths(value_times_100: int) -> int:
    return -(-value_times_100 // 100)


def answer(state: CardState, *, quality: int, day: date) -> Outcome:
    """Apply one answer given on ``day``.

    An answer on the day of the card's last graded review is a drill: logged, state
    unchanged. Otherwise the card must be due (``day >= due``) and the answer is graded.
    Raises SchedulingError (state unchanged) for a bad quality, a not-due card, or a due
    date beyond what dates can hold.
    """
    check_quality(quality)
    if state.last_graded is not None and day == state.last_graded:
        return Outcome("drill", state, state)
    if day < state.due:
        raise NotDueError(f"not due until {state.due.isoformat()}")
    if quality >= PASSING_QUALITY:
        if state.repetitions == 0:
            interval = 1
        elif state.repetitions == 1:
            interval = 6
        else:
            # The ease used is the one before this review, as in SuperMemo's own code.
            interval = _ceil_hundredths(state.interval * state.ease)
        repetitions = state.repetitions + 1
        lapses = state.lapses
    else:
        interval, repetitions, lapses = 1, 0, state.lapses + 1
    # Ease changes on every graded review, failures included (SuperMemo's code does this).
    ease = max(MIN_EASE, state.ease + EASE_DELTA[quality])
    try:
        due = day + timedelta(days=interval)
    except OverflowError:
        raise SchedulingError(f"the next due date is beyond {date.max.isoformat()}") from None
    after = replace(
        state,
        ease=ease,
        repetitions=repetitions,
        interval=interval,
        due=due,
        lapses=lapses,
        last_graded=day,
    )
    return Outcome("graded", state, after)


def needs_drill(quality: int) -> bool:
    """Whether an answer of ``quality`` sends the card (back) into today's drill."""
    return quality < DRILL_UNTIL


def replay(added: date, answers: list[tuple[date, int]]) -> CardState:
    """The state after applying ``answers`` (day, quality) in order to a card added on ``added``."""
    state = new_card(added)
    for day, quality in answers:
        state = answer(state, quality=quality, day=day).after
    return state
