"""FSRS-6 as a choice of scheduler: the same numbers as py-fsrs, switching and undo that lose
nothing, and the upgrade of a collection written by schema 0003."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import fsrs
import pytest
from helpers import Invoke, cli_process, dump_db
from hypothesis import given, settings
from hypothesis import strategies as st

from quizzer import db, fsrs6, review, store
from quizzer.orm import Question

DATA = Path(__file__).parent / "data"
START = date(2026, 1, 5)

#: Answer scripts: (days after the card is due, SM-2 quality) per graded answer.
SCRIPTS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=90), st.integers(min_value=0, max_value=5)),
    min_size=1,
    max_size=25,
)


def _library(retention: float, maximum: int) -> fsrs.Scheduler:
    """py-fsrs as quizzer uses it: days, no learning steps, no fuzz."""
    return fsrs.Scheduler(
        desired_retention=retention,
        learning_steps=(),
        relearning_steps=(),
        maximum_interval=maximum,
        enable_fuzzing=False,
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- 1. the same numbers as the library -----------------------------------------------


def test_qualities_map_to_ratings_by_the_documented_table() -> None:
    assert [fsrs6.rating(q) for q in range(6)] == [1, 1, 1, 2, 3, 4]
    assert [fsrs.Rating(fsrs6.rating(q)).name for q in range(6)] == [
        "Again", "Again", "Again", "Hard", "Good", "Easy",
    ]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    script=SCRIPTS,
    retention=st.floats(min_value=0.70, max_value=0.99),
    maximum=st.integers(min_value=1, max_value=36500),
)
def test_without_fuzz_quizzer_schedules_as_py_fsrs(
    script: list[tuple[int, int]], retention: float, maximum: int
) -> None:
    ours = fsrs6.Fsrs(
        fsrs6.Config(desired_retention=retention, maximum_interval=maximum, fuzz=False)
    )
    library = _library(retention, maximum)
    memory: fsrs6.Memory | None = None
    card = fsrs.Card(card_id=1)
    due = START
    for late, quality in script:
        day = due + timedelta(days=late)
        memory = ours.review(memory, quality=quality, day=day, seed="d/q")
        card, _ = library.review_card(card, fsrs.Rating(fsrs6.rating(quality)), _midnight(day))
        assert (memory.stability, memory.difficulty) == (card.stability, card.difficulty)
        assert memory.due == card.due.date()
        assert memory.last_review == day
        due = memory.due
        expected = library.get_card_retrievability(card, _midnight(due))
        assert ours.retrievability(memory, due) == expected
        elapsed = (due - day).days
        assert fsrs6.recall(memory.stability, elapsed, fsrs6.DEFAULT_DECAY) == expected


def test_fuzz_stays_in_py_fsrs_range_and_is_the_same_every_run() -> None:
    for interval in (1, 2, 3, 10, 50, 400):
        low, high = fsrs6.fuzz_range(interval, 36500)
        draws = {
            fsrs6.fuzzed(interval, maximum=36500, seed=f"d/{n}", day=START) for n in range(200)
        }
        if interval < 3:
            assert draws == {interval}
        else:
            assert min(draws) >= low and max(draws) <= high and len(draws) > 1
        again = {
            fsrs6.fuzzed(interval, maximum=36500, seed=f"d/{n}", day=START) for n in range(200)
        }
        assert draws == again


def test_fuzz_through_the_store_is_the_same_in_every_collection(
    template: Path, tmp_path: Path
) -> None:
    dues = []
    for name, fuzz in (("a", "on"), ("b", "on"), ("c", "off")):
        path = tmp_path / f"{name}.db"
        shutil.copy(template, path)
        database = db.open_database(str(path))
        try:
            with database.transaction() as session:
                from quizzer.collection import set_setting

                set_setting(session, "fuzz", fuzz)
                review.switch_scheduler(session, "fsrs")
            day, got = START, []
            for _ in range(6):
                with database.transaction() as session:
                    recorded = review.grade(
                        session, "test-closures/nonlocal", 5, today=day, now=_midnight(day)
                    )
                day = recorded.outcome.after.due
                got.append(day)
            dues.append(got)
        finally:
            database.dispose()
    fuzzed, again, plain = dues
    assert fuzzed == again
    assert fuzzed != plain  # six Easy answers: intervals of weeks and months, fuzzed
    # Each fuzzed interval lies in py-fsrs's fuzz range around the interval without fuzz.
    plain_fsrs = fsrs6.Fsrs(fsrs6.Config(fuzz=False))
    memory: fsrs6.Memory | None = None
    for answered, due in zip([START, *fuzzed], fuzzed, strict=False):
        memory = plain_fsrs.review(memory, quality=5, day=answered, seed="")
        low, high = fsrs6.fuzz_range((memory.due - answered).days, 36500)
        if (memory.due - answered).days >= 3:
            assert low <= (due - answered).days <= high
        else:
            assert due == memory.due


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection with the small test deck imported, copied by the tests that use it."""
    from click.testing import CliRunner
    from helpers import SMALL_DECK

    from quizzer.cli import main

    root = tmp_path_factory.mktemp("template")
    deck = root / "closures.yaml"
    deck.write_text(SMALL_DECK, encoding="utf-8")
    path = root / "quizzer.db"
    result = CliRunner().invoke(
        main, ["--db", str(path), "--today", START.isoformat(), "import", str(deck)]
    )
    assert result.exit_code == 0, result.output
    return path


@settings(max_examples=12, deadline=None)
@given(script=SCRIPTS)
def test_answers_stored_under_fsrs_match_py_fsrs(
    template: Path, tmp_path_factory: pytest.TempPathFactory, script: list[tuple[int, int]]
) -> None:
    path = tmp_path_factory.mktemp("stored") / "quizzer.db"
    shutil.copy(template, path)
    database = db.open_database(str(path))
    try:
        with database.transaction() as session:
            review.switch_scheduler(session, "fsrs")
            from quizzer.collection import set_setting

            set_setting(session, "fuzz", "off")
        library = _library(0.9, 36500)
        card = fsrs.Card(card_id=1)
        due = START
        for late, quality in script:
            day = due + timedelta(days=late)
            with database.transaction() as session:
                # No leech rule: a suspended card is not graded, and the library has none.
                recorded = review.grade(
                    session,
                    "test-closures/cell",
                    quality,
                    today=day,
                    now=_midnight(day),
                    leech_threshold=0,
                )
            card, _ = library.review_card(card, fsrs.Rating(fsrs6.rating(quality)), _midnight(day))
            with database.reading() as session:
                row = store.get_question(session, "test-closures/cell").state
                assert (row.stability, row.difficulty) == (card.stability, card.difficulty)
                assert row.due == card.due.date() == recorded.outcome.after.due
            due = row.due
    finally:
        database.dispose()


# --- 2. switching and undo lose nothing -----------------------------------------------

CARD_COLUMNS = (
    "question_id, ease, repetitions, interval, due, lapses, last_graded, leech, suspended, "
    "stability, difficulty"
)


def _cards(path: Path) -> dict[int, tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(f"SELECT {CARD_COLUMNS} FROM card_states").fetchall()
    connection.close()
    return {row[0]: row for row in rows}


def _reviews(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    connection.close()
    return rows


def _id(path: Path, qid: str) -> int:
    with sqlite3.connect(path) as connection:
        (found,) = connection.execute("SELECT id FROM questions WHERE qid = ?", (qid,)).fetchone()
    connection.close()
    return int(found)


def _sm2(row: tuple[object, ...]) -> tuple[object, ...]:
    return row[:9]


def _ok(result: object) -> str:
    assert getattr(result, "exit_code", 1) == 0, getattr(result, "output", result)
    return str(getattr(result, "output", ""))


def test_switch_review_switch_back_and_undo_across_the_switch(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    _ok(invoke("import", str(deck_file)))
    late, cell = _id(db_path, "late-binding"), _id(db_path, "cell")
    _ok(invoke("grade", "test-closures/late-binding", "4"))
    _ok(invoke("grade", "test-closures/cell", "2"))
    _ok(invoke("grade", "test-closures/cell", "5"))  # a drill: schedules nothing
    sm2_before = _cards(db_path)
    log_before = _reviews(db_path)

    # To FSRS: each card's memory state is its log replayed through py-fsrs.
    assert _ok(invoke("config", "scheduler", "fsrs")).strip() == "scheduler = fsrs"
    fsrs_start = _cards(db_path)
    replayed = fsrs6.Fsrs().replay([(START, 4)], seed="test-closures/late-binding")
    assert replayed is not None
    assert fsrs_start[late][9:] == (replayed.stability, replayed.difficulty)
    assert fsrs_start[late][4] == replayed.due.isoformat()
    for qid, row in fsrs_start.items():  # SM-2's own state is untouched, due aside
        assert row[:4] + row[5:9] == sm2_before[qid][:4] + sm2_before[qid][5:9]
    assert _reviews(db_path) == log_before

    # Review under FSRS, back to SM-2: SM-2 went on from its own state.
    day = "2026-01-20"
    out = _ok(invoke("grade", "test-closures/late-binding", "4", today=day))
    assert "FSRS stability" in out
    fsrs_after = _cards(db_path)
    _ok(invoke("config", "scheduler", "sm2"))
    back = _cards(db_path)
    # late-binding had 1 SM-2 repetition (interval 1); the answer gives 2 (interval 6).
    assert back[late][1:7] == (250, 2, 6, "2026-01-26", 0, day)
    assert back[late][9:] == fsrs_after[late][9:]
    assert _sm2(back[cell]) == _sm2(sm2_before[cell])
    assert back[cell][9:] == fsrs_start[cell][9:]  # FSRS's state is kept for next time

    # Undo, under SM-2, the answer FSRS graded: both states as they were before it.
    _ok(invoke("undo"))
    undone = _cards(db_path)
    assert _sm2(undone[late]) == _sm2(sm2_before[late])
    assert undone[late][9:] == fsrs_start[late][9:]
    assert _reviews(db_path) == log_before

    # An answer SM-2 graded, undone under FSRS: FSRS's state is the log replayed without it.
    _ok(invoke("grade", "test-closures/cell", "4", today=day))
    _ok(invoke("config", "scheduler", "fsrs"))
    assert _cards(db_path)[cell] != fsrs_start[cell]
    _ok(invoke("undo"))
    assert _cards(db_path) == fsrs_start
    assert _reviews(db_path) == log_before

    # And undo of an answer FSRS graded, under FSRS: exactly the state before it.
    _ok(invoke("grade", "test-closures/cell", "3", today=day))
    _ok(invoke("undo"))
    assert _cards(db_path) == fsrs_start
    assert _reviews(db_path) == log_before


def test_review_session_under_fsrs_logs_fsrs_states(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    _ok(invoke("import", str(deck_file)))
    _ok(invoke("config", "scheduler", "fsrs"))
    result = invoke("review", input="[2, 2, 2]\n.\n\n1\ne\n\ng\n")
    assert result.exit_code == 0, result.output
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute(
            "SELECT scheduler, stability_before, stability_after, difficulty_after, due_after "
            "FROM reviews WHERE kind = 'graded'"
        ).fetchall()
    connection.close()
    assert rows and all(r[0] == "fsrs" and r[1] is None and r[2] and r[3] for r in rows)
    assert "Next review in" in result.output


def test_undo_in_a_review_session_under_fsrs_restores_the_card(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    _ok(invoke("import", str(deck_file)))
    _ok(invoke("config", "scheduler", "fsrs"))
    before = _cards(db_path)
    result = invoke("review", input="[2, 2, 2]\n.\n\nu\nq\n")
    assert result.exit_code == 0, result.output
    assert "Undone: test-closures/late-binding" in result.output
    assert _reviews(db_path) == []
    assert _cards(db_path) == before


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("scheduler", "anki", "scheduler: 'anki' is not one of sm2, fsrs"),
        ("desired-retention", "0.5", "desired-retention: must be from 0.7 to 0.99, not 0.5"),
        ("desired-retention", "nan", "desired-retention: must be from 0.7 to 0.99, not nan"),
        ("desired-retention", "high", "desired-retention: 'high' is not a number"),
        ("maximum-interval", "0", "maximum-interval: must be from 1 to 36500, not 0"),
        ("fuzz", "maybe", "fuzz: 'maybe' is not one of on, off"),
    ],
)
def test_bad_scheduler_settings_are_refused_and_change_nothing(
    invoke: Invoke, deck_file: Path, db_path: Path, key: str, value: str, message: str
) -> None:
    _ok(invoke("import", str(deck_file)))
    _ok(invoke("grade", "test-closures/cell", "4"))
    before = dump_db(db_path)
    result = invoke("config", key, value)
    assert result.exit_code == 1
    assert result.output == f"Error: {message}\n"
    assert dump_db(db_path) == before


def test_fsrs_settings_are_kept_and_used(invoke: Invoke, deck_file: Path, db_path: Path) -> None:
    _ok(invoke("import", str(deck_file)))
    for key, value in [("desired-retention", "0.8"), ("maximum-interval", "3"), ("fuzz", "off")]:
        assert _ok(invoke("config", key, value)) == f"{key} = {value}\n"
    _ok(invoke("config", "scheduler", "fsrs"))
    out = json.loads(_ok(invoke("grade", "test-closures/cell", "5", "--json")))
    # Easy's first stability (8.3 days) is far beyond the 3-day maximum.
    assert out["due"] == "2026-01-08"


def test_show_and_stats_give_predicted_recall_under_fsrs(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    _ok(invoke("import", str(deck_file)))
    _ok(invoke("grade", "test-closures/cell", "4"))
    _ok(invoke("grade", "test-closures/late-binding", "1"))
    shown = json.loads(_ok(invoke("show", "test-closures/cell", "--json", today="2026-01-09")))
    assert shown["state"]["recall"] is None  # SM-2 predicts no recall
    sm2_stats = json.loads(_ok(invoke("stats", "--json", today="2026-01-09")))
    assert (sm2_stats["scheduler"], sm2_stats["recall"]) == ("sm2", None)

    _ok(invoke("config", "scheduler", "fsrs"))
    library = _library(0.9, 36500)
    recalls = []
    for qid, quality in (("cell", 4), ("late-binding", 1)):
        card, _ = library.review_card(
            fsrs.Card(card_id=1), fsrs.Rating(fsrs6.rating(quality)), _midnight(START)
        )
        recalls.append(library.get_card_retrievability(card, _midnight(date(2026, 1, 9))))
        name = f"test-closures/{qid}"
        shown = json.loads(_ok(invoke("show", name, "--json", today="2026-01-09")))
        assert shown["state"]["recall"] == round(recalls[-1], 4)
        assert shown["state"]["stability"] == card.stability
        text = _ok(invoke("show", name, today="2026-01-09"))
        assert f"predicted recall today {recalls[-1]:.0%}" in text
    stats = json.loads(_ok(invoke("stats", "--json", today="2026-01-09")))
    assert stats["scheduler"] == "fsrs"
    assert stats["recall"] == {"cards": 2, "average": round(sum(recalls) / 2, 4)}
    assert stats["decks"][0]["recall"] == round(sum(recalls) / 2, 4)
    text = _ok(invoke("stats", today="2026-01-09"))
    assert f"Predicted recall today (FSRS): {sum(recalls) / 2:.0%} on average over 2" in text

    # The history tells which scheduler graded each answer, with FSRS's state before/after.
    _ok(invoke("grade", "test-closures/cell", "4", today="2026-01-20"))
    shown = json.loads(_ok(invoke("show", "test-closures/cell", "--json", today="2026-01-20")))
    first, last = shown["history"]
    assert (first["scheduler"], first["after"]["stability"]) == ("sm2", None)
    assert last["scheduler"] == "fsrs"
    assert last["after"]["stability"] == shown["state"]["stability"]
    assert last["before"]["stability"] == fsrs6.Fsrs().replay([(START, 4)], seed="").stability  # type: ignore[union-attr]


def test_py_fsrs_loads_only_where_fsrs_schedules(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    _ok(invoke("import", str(deck_file)))
    watched = ["fsrs", "fsrs_rs_python"]
    review_args = ["--db", str(db_path), "--today", "2026-01-05", "review"]
    for args in (review_args, ["--db", str(db_path), "stats"], ["--db", str(db_path), "undo"]):
        if args[-1] == "undo":
            _ok(invoke("grade", "test-closures/cell", "4"))
        assert cli_process(args, watched, input="q\n").loaded == [], args
    _ok(invoke("config", "scheduler", "fsrs"))
    assert cli_process(review_args, watched, input="q\n").loaded == ["fsrs"]
    # stats and show compute recall without py-fsrs; only optimize loads the Rust optimizer.
    assert cli_process(["--db", str(db_path), "stats"], watched).loaded == []


# --- 5. a collection written by schema 0003 -------------------------------------------

OLD_CARD = "question_id, ease, repetitions, interval, due, lapses, last_graded, leech, suspended"
OLD_REVIEW = (
    "id, question_id, answered_at, day, quality, kind, typed, seconds, ease_before, "
    "repetitions_before, interval_before, due_before, lapses_before, last_graded_before, "
    "leech_before, suspended_before, ease_after, repetitions_after, interval_after, due_after, "
    "lapses_after"
)


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute(sql).fetchall()
    connection.close()
    return rows


def test_a_collection_written_by_schema_0003_is_upgraded_with_its_history(
    invoke: Invoke, db_path: Path
) -> None:
    shutil.copy(DATA / "quizzer-0003.sqlite", db_path)
    assert _rows(db_path, "SELECT version_num FROM alembic_version") == [("0003",)]
    queries = [
        f"SELECT {OLD_CARD} FROM card_states ORDER BY question_id",
        f"SELECT {OLD_REVIEW} FROM reviews ORDER BY id",
        "SELECT * FROM questions ORDER BY id",
        "SELECT * FROM decks ORDER BY id",
        "SELECT * FROM settings ORDER BY key",
    ]
    before = [_rows(db_path, sql) for sql in queries]
    assert len(before[1]) == 7

    _ok(invoke("cards", today="2026-01-12"))
    assert _rows(db_path, "SELECT version_num FROM alembic_version") == [(db.SCHEMA_HEAD,)]
    assert [_rows(db_path, sql) for sql in queries] == before
    assert _rows(db_path, "SELECT DISTINCT scheduler, stability_after FROM reviews") == [
        (None, None)
    ]

    # The old history is FSRS's to replay, and SM-2's answers from before 0004 undo as ever.
    _ok(invoke("config", "scheduler", "fsrs"))
    library = _library(0.9, 36500)
    card = fsrs.Card(card_id=1)
    for day, quality in [(date(2026, 1, 5), 4), (date(2026, 1, 6), 5), (date(2026, 1, 12), 3)]:
        card, _ = library.review_card(card, fsrs.Rating(fsrs6.rating(quality)), _midnight(day))
    (row,) = _rows(
        db_path,
        "SELECT c.stability, c.difficulty FROM card_states c JOIN questions q "
        "ON q.id = c.question_id WHERE q.qid = 'late-binding'",
    )
    assert row == (card.stability, card.difficulty)
    _ok(invoke("config", "scheduler", "sm2"))
    _ok(invoke("undo"))
    _ok(invoke("undo"))
    assert _rows(db_path, queries[0])[0] == (1, 260, 2, 6, "2026-01-12", 0, "2026-01-06", 0, 0)


def test_the_store_converts_memory_both_ways(template: Path, tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    shutil.copy(template, path)
    database = db.open_database(str(path))
    try:
        with database.transaction() as session:
            question = session.get(Question, 1)
            assert question is not None
            assert store.to_memory(question.state) is None
            memory = fsrs6.Memory(3.5, 6.25, START, START + timedelta(days=4))
            question.state.last_graded = START
            store.store_memory(question.state, memory)
            assert store.to_memory(question.state) == memory
    finally:
        database.dispose()
