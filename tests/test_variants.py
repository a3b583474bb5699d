"""Questions that vary: the deck format, check, import, review's rotation, the log."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from helpers import Invoke

VARYING = """\
deck: vary
title: Varying
questions:
  - id: late
    type: predict_output
    prompt: What does it print?
    code: |
      fs = [lambda: i for i in range($n)]
      print([f() for f in fs])
    vary: {n: [3, 2, 4]}
    answer: |
      [2, 2, 2]
    variants:
      - values: {n: 2}
        answer: |
          [1, 1]
      - values: {n: 4}
        answer: |
          [3, 3, 3, 3]
"""


def _variants_log(db_path: Path) -> list[tuple[str, int | None, str | None, int]]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(
            "SELECT day, variant, typed, quality FROM reviews ORDER BY id"
        ).fetchall()


@pytest.fixture
def varying(invoke: Invoke, tmp_path: Path) -> Invoke:
    path = tmp_path / "vary.yaml"
    path.write_text(VARYING, encoding="utf-8")
    result = invoke("import", str(path))
    assert result.exit_code == 0, result.output
    return invoke


def test_three_days_three_variants_each_graded_against_its_own_answer(
    varying: Invoke, db_path: Path
) -> None:
    # Day 1, a new card: the question's own code (n=3).
    day1 = varying("review", input="[2, 2, 2]\n.\n\n", today="2026-01-05")
    assert day1.exit_code == 0, day1.output
    assert "range(3)" in day1.output and "Correct." in day1.output

    # Day 2: the next variant (n=2). Day 1's answer is wrong for it: graded against [1, 1].
    day2 = varying("review", input="[2, 2, 2]\n.\nq\n", today="2026-01-06")
    assert day2.exit_code == 0, day2.output
    assert "range(2)" in day2.output and "range(3)" not in day2.output
    assert "Correct." not in day2.output
    assert "+[2, 2, 2]" in day2.output or "[1, 1]" in day2.output

    # Day 3 (due again after the lapse): the third variant (n=4), right against its answer.
    day3 = varying("review", input="[3, 3, 3, 3]\n.\n\nq\n", today="2026-01-07")
    assert day3.exit_code == 0, day3.output
    assert "range(4)" in day3.output and "Correct." in day3.output
    log = _variants_log(db_path)
    assert [(day, variant) for day, variant, _, _ in log] == [
        ("2026-01-05", 0),
        ("2026-01-06", 1),
        ("2026-01-07", 2),
    ]
    assert [quality >= 3 for *_, quality in log] == [True, False, True]

    # Undo takes the answer back, and the rotation with it: the same variant again.
    again = varying("undo", today="2026-01-07")
    assert again.exit_code == 0, again.output
    day3_again = varying("review", input="[2, 2, 2]\n.\nq\n", today="2026-01-07")
    assert "range(4)" in day3_again.output and "Correct." not in day3_again.output
    assert [variant for _, variant, _, _ in _variants_log(db_path)] == [0, 1, 2]


def test_show_tells_how_each_variant_went(varying: Invoke) -> None:
    varying("review", input="[2, 2, 2]\n.\n\n", today="2026-01-05")
    varying("review", input="[2, 2, 2]\n.\nq\n", today="2026-01-06")
    shown = varying("show", "vary/late", today="2026-01-06")
    assert shown.exit_code == 0, shown.output
    assert "variant 2:\n  fs = [lambda: i for i in range(2)]" in shown.output
    assert "  variant 1: 1 answer, 1 right, last shown 2026-01-05" in shown.output
    assert "  variant 2: 1 answer, 0 right, last shown 2026-01-06" in shown.output
    assert "  variant 3: 0 answers, 0 right, not shown yet" in shown.output
    data = json.loads(varying("show", "vary/late", "--json").output)
    assert [row["answers"] for row in data["by_variant"]] == [1, 1, 0]
    assert [entry["variant"] for entry in data["history"]] == [0, 1]
