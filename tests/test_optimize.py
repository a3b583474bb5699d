"""`quizzer optimize` on a collection built from the real review log in tests/data."""

from __future__ import annotations

import json
import math
import sqlite3
import sys
from pathlib import Path

import pytest
from helpers import Invoke, dump_db

from quizzer import fsrs6

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import review_log  # noqa: E402

QUIZZER = str(Path(sys.executable).with_name("quizzer"))


@pytest.fixture(scope="module")
def log_collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared review log as a quizzer collection (one recall question per card)."""
    path = tmp_path_factory.mktemp("log") / "quizzer.db"
    review_log.build_collection(path, review_log.read_log(), quizzer=QUIZZER)
    return path


def _parameters(path: Path) -> list[float] | None:
    with sqlite3.connect(path) as connection:
        row = connection.execute(
            "SELECT value FROM settings WHERE key = 'fsrs-parameters'"
        ).fetchone()
    connection.close()
    return None if row is None else list(json.loads(row[0]))


def test_optimize_fits_shows_both_and_keeps_only_better_parameters(
    log_collection: Path, tmp_path: Path, invoke: Invoke, db_path: Path
) -> None:
    db_path.write_bytes(log_collection.read_bytes())
    assert _parameters(db_path) is None

    result = invoke("optimize")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "Fitted FSRS-6 to 6276 reviews of 1205 cards (lower is better):"
    before = [float(x) for x in lines[2].split()[-2:]]
    after = [float(x) for x in lines[3].split()[-2:]]
    assert lines[2].lstrip().startswith("current (FSRS-6 defaults)")
    assert after[0] < before[0] and after[1] < before[1]
    assert lines[4] == "Kept the fitted parameters: their log loss is lower."
    fitted = _parameters(db_path)
    assert fitted is not None and len(fitted) == 21
    assert fitted != list(fsrs6.default_parameters())

    # Fitted again from the same history: no better, so the stored ones stay, untouched.
    stored = dump_db(db_path)
    again = invoke("optimize", "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.output)
    assert report["kept"] is False
    assert report["current_parameters"] == fitted
    assert report["after"]["log_loss"] >= report["before"]["log_loss"]
    assert dump_db(db_path) == stored


def test_the_fitted_parameters_are_the_ones_fsrs_then_uses(
    log_collection: Path, invoke: Invoke, db_path: Path
) -> None:
    db_path.write_bytes(log_collection.read_bytes())
    assert invoke("optimize").exit_code == 0
    assert invoke("config", "scheduler", "fsrs", today="2024-10-07").exit_code == 0
    fitted = _parameters(db_path)
    assert fitted is not None
    fsrs = fsrs6.Fsrs(fsrs6.Config(parameters=tuple(fitted)))
    first = next(iter(review_log.read_log().values()))
    memory = fsrs.replay([(a.day, a.quality) for a in first], seed="")
    assert memory is not None
    with sqlite3.connect(db_path) as connection:
        row = connection.execute(
            "SELECT c.stability, c.difficulty FROM card_states c JOIN questions q "
            "ON q.id = c.question_id WHERE q.qid = ?",
            (f"c{first[0].card}",),
        ).fetchone()
    connection.close()
    assert row == (memory.stability, memory.difficulty)


def test_too_few_reviews_says_how_many_more_and_changes_nothing(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("grade", "test-closures/cell", "4").exit_code == 0
    assert invoke("grade", "test-closures/cell", "4", today="2026-01-06").exit_code == 0
    before = dump_db(db_path)
    result = invoke("optimize")
    assert result.exit_code == 1
    assert result.output == (
        "Error: optimize needs 400 graded answers that follow an earlier one on the same card; "
        "this collection has 1: 399 more to go\n"
    )
    assert dump_db(db_path) == before


def test_optimize_under_fsrs_recomputes_memory_states_and_keeps_due_dates(
    log_collection: Path, invoke: Invoke, db_path: Path
) -> None:
    db_path.write_bytes(log_collection.read_bytes())
    assert invoke("config", "scheduler", "fsrs", today="2024-10-07").exit_code == 0
    query = "SELECT question_id, due, stability, difficulty FROM card_states ORDER BY 1"
    with sqlite3.connect(db_path) as connection:
        before = connection.execute(query).fetchall()
    connection.close()
    assert invoke("optimize", today="2024-10-07").exit_code == 0
    with sqlite3.connect(db_path) as connection:
        after = connection.execute(query).fetchall()
    connection.close()
    assert [row[:2] for row in after] == [row[:2] for row in before]
    changed = sum(1 for a, b in zip(after, before, strict=True) if a[2:] != b[2:])
    assert changed == len(before)


def test_the_comparison_fsrs6_beats_sm2_on_the_held_out_reviews() -> None:
    import fsrs_compare

    report = fsrs_compare.compare()
    results = report["results"]
    sm2 = results["SM-2 (quizzer)"]
    for name in ("FSRS-6, default parameters", "FSRS-6, fitted on the first 80%"):
        assert results[name]["log_loss"] < sm2["log_loss"], name
        assert results[name]["rmse_bins"] < sm2["rmse_bins"], name
        assert results[name]["reviews"] == sm2["reviews"] > 1000
    assert "| SM-2 (quizzer) |" in fsrs_compare.table(report)


def test_the_comparison_metrics_on_small_cases() -> None:
    import fsrs_compare

    def predictions(pairs: list[tuple[float, bool]]) -> list[fsrs_compare.Prediction]:
        return [fsrs_compare.Prediction(None, p, y, 1, 2, 0) for p, y in pairs]

    perfect = predictions([(0.9, True), (0.8, True), (0.2, False)])
    assert fsrs_compare.auc(perfect) == 1.0
    assert fsrs_compare.auc(predictions([(0.5, True), (0.5, False)])) == 0.5
    assert fsrs_compare.auc(predictions([(0.1, True), (0.9, False)])) == 0.0
    loss = fsrs_compare.log_loss(predictions([(0.8, True), (0.25, False)]))
    assert abs(loss - (-(math.log(0.8) + math.log(0.75)) / 2)) < 1e-12
    # One bin: the mean prediction against the mean outcome.
    assert abs(fsrs_compare.rmse_bins(perfect) - abs((0.9 + 0.8 + 0.2) / 3 - 2 / 3)) < 1e-12
