"""FSRS-6 as quizzer's second scheduler, through the reference implementation (py-fsrs).

Pure: no database, no terminal, no clock. The ``fsrs`` library is imported only when an
:class:`Fsrs` is made, so commands that do not schedule with FSRS never load it.

Day granularity, as SM-2 in quizzer: a review happens on a day (taken as midnight UTC),
py-fsrs's learning and relearning steps (minutes) are left empty, so a card goes
straight to FSRS's Review state on its first answer and an Again is scheduled in days.
An answer on the day of the card's last graded review is a drill and changes nothing,
as under SM-2, so FSRS's same-day (short-term) formulas are never used.

Fuzz is py-fsrs's own range, but the random draw comes from a generator seeded by the
card's name and the day, so the same history always gives the same due dates.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from quizzer.errors import SchedulingError

if TYPE_CHECKING:
    import fsrs

#: SM-2's qualities as FSRS ratings (1 Again, 2 Hard, 3 Good, 4 Easy): 0-2 are failures
#: in SM-2 and Again in FSRS; 3 (right, with serious difficulty) is Hard; 4 Good; 5 Easy.
RATING_OF_QUALITY: dict[int, int] = {0: 1, 1: 1, 2: 1, 3: 2, 4: 3, 5: 4}

DEFAULT_DESIRED_RETENTION = 0.9
MIN_DESIRED_RETENTION, MAX_DESIRED_RETENTION = 0.70, 0.99
DEFAULT_MAXIMUM_INTERVAL = 36500
#: FSRS-6's default decay (its 21st parameter, w20), as in py-fsrs.
DEFAULT_DECAY = 0.1542
#: py-fsrs's interval ranges for fuzz: (start, end, factor) in days.
FUZZ_RANGES: tuple[tuple[float, float, float], ...] = (
    (2.5, 7.0, 0.15),
    (7.0, 20.0, 0.10),
    (20.0, math.inf, 0.05),
)


@dataclass(frozen=True)
class Memory:
    """A card's FSRS memory state after its last graded review on ``last_review``."""

    stability: float
    difficulty: float
    last_review: date
    due: date


@dataclass(frozen=True)
class Config:
    """How FSRS schedules: its 21 parameters (None: py-fsrs's defaults) and the options."""

    parameters: tuple[float, ...] | None = None
    desired_retention: float = DEFAULT_DESIRED_RETENTION
    maximum_interval: int = DEFAULT_MAXIMUM_INTERVAL
    fuzz: bool = True


def default_parameters() -> tuple[float, ...]:
    """FSRS-6's default parameters, as py-fsrs has them."""
    from fsrs.scheduler import DEFAULT_PARAMETERS

    return tuple(DEFAULT_PARAMETERS)


def decay(config: Config) -> float:
    """The forgetting curve's decay (w20) of ``config``'s parameters."""
    return config.parameters[20] if config.parameters else DEFAULT_DECAY


def recall(stability: float, elapsed_days: int, decay: float) -> float:
    """FSRS-6's retrievability ``elapsed_days`` after a review that left ``stability``.

    The same arithmetic as py-fsrs's ``get_card_retrievability``, without loading it.
    """
    power = -decay
    factor = 0.9 ** (1 / power) - 1
    return float((1 + factor * max(0, elapsed_days) / stability) ** power)


def rating(quality: int) -> int:
    """The FSRS rating (1-4) of an SM-2 quality (0-5)."""
    return RATING_OF_QUALITY[quality]


def midnight(day: date) -> datetime:
    """The moment quizzer takes a review on ``day`` to happen: midnight UTC."""
    return datetime.combine(day, time(), tzinfo=UTC)


def fuzz_range(interval: int, maximum: int) -> tuple[int, int]:
    """The days an ``interval`` may be fuzzed to, as py-fsrs computes them."""
    delta = 1.0
    for start, end, factor in FUZZ_RANGES:
        delta += factor * max(min(float(interval), end) - start, 0.0)
    low = max(2, round(interval - delta))
    high = min(round(interval + delta), maximum)
    return min(low, high), high


def fuzzed(interval: int, *, maximum: int, seed: str, day: date) -> int:
    """``interval`` fuzzed within py-fsrs's range, by a generator seeded by ``seed`` and ``day``.

    Every day of the range is equally likely (py-fsrs rounds ``random() * (n + 1)``, which
    can land one day past the top of its own range; Anki draws a whole day, as here).
    """
    if interval < 2.5:
        return interval
    low, high = fuzz_range(interval, maximum)
    digest = hashlib.sha256(f"{seed}\0{day.isoformat()}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big")).randint(low, high)


class Fsrs:
    """FSRS-6 scheduling of days, delegated to py-fsrs's ``Scheduler``."""

    def __init__(self, config: Config | None = None) -> None:
        import fsrs

        config = config or Config()
        self.config = config
        parameters: Sequence[float] = config.parameters or default_parameters()
        try:
            self._scheduler = fsrs.Scheduler(
                parameters=parameters,
                desired_retention=config.desired_retention,
                learning_steps=(),
                relearning_steps=(),
                maximum_interval=config.maximum_interval,
                enable_fuzzing=False,  # fuzz is applied here, seeded: see fuzzed()
            )
        except ValueError as exc:
            raise SchedulingError(f"FSRS parameters: {' '.join(str(exc).split())}") from None
        self._fsrs = fsrs

    @property
    def parameters(self) -> tuple[float, ...]:
        return tuple(self._scheduler.parameters)

    def _card(self, memory: Memory | None) -> fsrs.Card:
        if memory is None:
            return self._fsrs.Card(card_id=1)
        return self._fsrs.Card(
            card_id=1,
            state=self._fsrs.State.Review,
            stability=memory.stability,
            difficulty=memory.difficulty,
            due=midnight(memory.due),
            last_review=midnight(memory.last_review),
        )

    def review(self, memory: Memory | None, *, quality: int, day: date, seed: str) -> Memory:
        """The memory state after a graded answer of ``quality`` on ``day``.

        ``memory`` is None for a card never graded. ``seed`` names the card (its fuzz).
        """
        card, _ = self._scheduler.review_card(
            self._card(memory), self._fsrs.Rating(rating(quality)), midnight(day)
        )
        assert card.stability is not None and card.difficulty is not None
        interval = (card.due - midnight(day)).days
        if self.config.fuzz:
            interval = fuzzed(interval, maximum=self.config.maximum_interval, seed=seed, day=day)
        try:
            due = day + timedelta(days=interval)
        except OverflowError:
            raise SchedulingError(f"the next due date is beyond {date.max.isoformat()}") from None
        return Memory(card.stability, card.difficulty, day, due)

    def replay(self, answers: Sequence[tuple[date, int]], *, seed: str) -> Memory | None:
        """The memory state after graded ``answers`` (day, quality), oldest first."""
        memory: Memory | None = None
        for day, quality in answers:
            memory = self.review(memory, quality=quality, day=day, seed=seed)
        return memory

    def retrievability(self, memory: Memory, day: date) -> float:
        """The predicted probability of recalling the card on ``day``."""
        return float(self._scheduler.get_card_retrievability(self._card(memory), midnight(day)))
