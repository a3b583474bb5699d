"""SM-2 as the sm2 spec says: every worked example is a golden table, plus invariants."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quizzer import scheduler
from quizzer.errors import NotDueError, SchedulingError

# (date, q, kind, EF, reps, interval, next due): the worked examples, verbatim.
EXAMPLES = {
    "A": """
        2025-01-01 4 graded 2.50 1 1 2025-01-02
        2025-01-02 4 graded 2.50 2 6 2025-01-08
        2025-01-08 4 graded 2.50 3 15 2025-01-23
        2025-01-23 4 graded 2.50 4 38 2025-03-02
        2025-03-02 4 graded 2.50 5 95 2025-06-05
    """,
    "B": """
        2025-01-01 5 graded 2.60 1 1 2025-01-02
        2025-01-02 5 graded 2.70 2 6 2025-01-08
        2025-01-08 5 graded 2.80 3 17 2025-01-25
        2025-01-25 5 graded 2.90 4 48 2025-03-14
    """,
    "C": """
        2025-01-01 3 graded 2.36 1 1 2025-01-02
        2025-01-01 2 drill 2.36 1 1 2025-01-02
        2025-01-01 4 drill 2.36 1 1 2025-01-02
        2025-01-02 4 graded 2.36 2 6 2025-01-08
        2025-01-08 3 graded 2.22 3 15 2025-01-23
        2025-01-08 5 drill 2.22 3 15 2025-01-23
    """,
    "D": """
        2025-01-01 4 graded 2.50 1 1 2025-01-02
        2025-01-02 4 graded 2.50 2 6 2025-01-08
        2025-01-08 4 graded 2.50 3 15 2025-01-23
        2025-01-23 1 graded 1.96 0 1 2025-01-24
        2025-01-23 4 drill 1.96 0 1 2025-01-24
        2025-01-24 4 graded 1.96 1 1 2025-01-25
        2025-01-25 4 graded 1.96 2 6 2025-01-31
        2025-01-31 4 graded 1.96 3 12 2025-02-12
    """,
    "E": """
        2025-01-01 4 graded 2.50 1 1 2025-01-02
        2025-01-02 4 graded 2.50 2 6 2025-01-08
        2025-01-18 4 graded 2.50 3 15 2025-02-02
        2025-02-02 5 graded 2.60 4 38 2025-03-12
    """,
    "F": """
        2025-01-01 0 graded 1.70 0 1 2025-01-02
        2025-01-01 4 drill 1.70 0 1 2025-01-02
        2025-01-02 0 graded 1.30 0 1 2025-01-03
        2025-01-02 5 drill 1.30 0 1 2025-01-03
        2025-01-03 3 graded 1.30 1 1 2025-01-04
        2025-01-03 4 drill 1.30 1 1 2025-01-04
        2025-01-04 3 graded 1.30 2 6 2025-01-10
        2025-01-04 4 drill 1.30 2 6 2025-01-10
        2025-01-10 4 graded 1.30 3 8 2025-01-18
        2025-01-18 4 graded 1.30 4 11 2025-01-29
    """,
    "G": """
        2025-01-01 3 graded 2.36 1 1 2025-01-02
        2025-01-01 4 drill 2.36 1 1 2025-01-02
        2025-01-02 4 graded 2.36 2 6 2025-01-08
        2025-01-08 4 graded 2.36 3 15 2025-01-23
        2025-01-23 4 graded 2.36 4 36 2025-02-28
    """,
    "H": """
        2025-01-01 5 graded 2.60 1 1 2025-01-02
        2025-01-02 5 graded 2.70 2 6 2025-01-08
        2025-01-08 4 graded 2.70 3 17 2025-01-25
        2025-01-25 4 graded 2.70 4 46 2025-03-12
        2025-03-12 5 graded 2.80 5 125 2025-07-15
        2025-07-15 4 graded 2.80 6 350 2026-06-30
    """,
}


def _rows(table: str) -> list[tuple[date, int, str, int, int, int, date]]:
    rows = []
    for line in table.strip().splitlines():
        day, q, kind, ef, reps, interval, due = line.split()
        ease = int(ef.replace(".", ""))  # "2.36" -> 236 hundredths, exactly
        rows.append(
            (
                date.fromisoformat(day),
                int(q),
                kind,
                ease,
                int(reps),
                int(interval),
                date.fromisoformat(due),
            )
        )
    return rows


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_worked_example(name: str) -> None:
    rows = _rows(EXAMPLES[name])
    state = scheduler.new_card(rows[0][0])
    for day, quality, kind, ease, reps, interval, due in rows:
        outcome = scheduler.answer(state, quality=quality, day=day)
        state = outcome.after
        assert outcome.kind == kind
        assert (state.ease, state.repetitions, state.interval, state.due) == (
            ease,
            reps,
            interval,
            due,
        ), f"example {name}, answer on {day} q={quality}"


def test_example_h_needs_exact_arithmetic() -> None:
    # Float ease accumulated as in example H (2.5 + 0.1 + 0.1 + 0.1) is 2.8000000000000003,
    # and ceil(125 x that) is 351: the reason ease is kept in integer hundredths.
    import math

    assert math.ceil(125 * (2.5 + 0.1 + 0.1 + 0.1)) == 351
    state = scheduler.CardState(
        ease=280, repetitions=5, interval=125, due=date(2025, 7, 15), last_graded=date(2025, 3, 12)
    )
    assert scheduler.answer(state, quality=4, day=date(2025, 7, 15)).after.interval == 350


def test_not_due_is_refused() -> None:
    state = scheduler.answer(
        scheduler.new_card(date(2025, 1, 1)), quality=4, day=date(2025, 1, 1)
    ).after
    with pytest.raises(NotDueError, match="not due until 2025-01-02"):
        scheduler.answer(state, quality=4, day=date(2024, 12, 31))


def test_due_date_overflow_is_an_error() -> None:
    state = scheduler.CardState(
        ease=250,
        repetitions=5,
        interval=3_000_000,
        due=date(9000, 1, 1),
        last_graded=date(8000, 1, 1),
    )
    with pytest.raises(SchedulingError, match="beyond"):
        scheduler.answer(state, quality=5, day=date(9000, 1, 1))


@pytest.mark.parametrize("quality", [-1, 6, 2.5, "4", True, None])
def test_invalid_quality_is_refused(quality: object) -> None:
    with pytest.raises(SchedulingError, match="quality"):
        scheduler.answer(
            scheduler.new_card(date(2025, 1, 1)),
            quality=quality,  # type: ignore[arg-type]
            day=date(2025, 1, 1),
        )


def test_lapses_count_graded_failures_only() -> None:
    day = date(2025, 1, 1)
    state = scheduler.answer(scheduler.new_card(day), quality=1, day=day).after
    state = scheduler.answer(state, quality=0, day=day).after  # drill: no lapse
    assert state.lapses == 1


# --- invariants ------------------------------------------------------------------------

qualities = st.integers(min_value=0, max_value=5)
gaps = st.integers(min_value=0, max_value=400)
histories = st.lists(st.tuples(gaps, qualities), min_size=1, max_size=40)


@given(histories)
def test_invariants_hold_over_any_history(history: list[tuple[int, int]]) -> None:
    day = date(2025, 1, 1)
    state = scheduler.new_card(day)
    for gap, quality in history:
        if state.last_graded is not None:
            # gap 0 answers on the day of the last graded review: a drill.
            day = state.last_graded if gap == 0 else max(state.due, state.due + timedelta(gap - 1))
        outcome = scheduler.answer(state, quality=quality, day=day)
        after = outcome.after
        assert after.ease >= scheduler.MIN_EASE
        if outcome.kind == "drill":
            assert after == state
        else:
            assert after.due > day
            assert after.last_graded == day
            if quality < 3:
                assert after.repetitions == 0 and after.interval == 1
            else:
                assert after.repetitions == state.repetitions + 1
        state = after


@given(qualities, st.integers(min_value=1, max_value=300))
def test_early_answers_change_nothing(quality: int, early_by: int) -> None:
    start = date(2025, 1, 1)
    state = scheduler.answer(scheduler.new_card(start), quality=5, day=start).after
    state = scheduler.answer(state, quality=5, day=state.due).after
    # Two easy answers: due in 6 days, on 2025-01-08.
    graded = scheduler.CardState(
        ease=270, repetitions=2, interval=6, due=date(2025, 1, 8), last_graded=date(2025, 1, 2)
    )
    assert state == graded
    early = state.due - timedelta(days=min(early_by, 5))
    with pytest.raises(NotDueError, match="not due until 2025-01-08"):
        scheduler.answer(state, quality=quality, day=early)
    # The refused answer left no trace: on its due day the card is graded exactly as if
    # it had never been tried early.
    on_time = scheduler.answer(state, quality=quality, day=state.due)
    assert on_time.kind == "graded" and on_time.before == graded
    assert on_time.after == scheduler.replay(
        start, [(start, 5), (date(2025, 1, 2), 5), (date(2025, 1, 8), quality)]
    )


@given(st.integers().filter(lambda q: q not in range(6)))
def test_out_of_range_quality_never_accepted(quality: int) -> None:
    with pytest.raises(SchedulingError):
        scheduler.answer(
            scheduler.new_card(date(2025, 1, 1)), quality=quality, day=date(2025, 1, 1)
        )


@given(histories)
def test_replay_matches_step_by_step(history: list[tuple[int, int]]) -> None:
    day = date(2025, 1, 1)
    state = scheduler.new_card(day)
    answers = []
    for gap, quality in history:
        if state.last_graded is not None:
            day = state.last_graded if gap == 0 else state.due + timedelta(gap - 1)
        answers.append((day, quality))
        state = scheduler.answer(state, quality=quality, day=day).after
    assert scheduler.replay(date(2025, 1, 1), answers) == state
