"""The queue a review keeps between cards (review.Queue) stays what a fresh build_queue gives.

After every kind of answer (graded, failed into the drill, drill passed, a leech), a
rerating, a skip, an undo and an answer given meanwhile by another process (`quizzer
grade`, through the real CLI, in a process of its own), the kept queue is compared with
one built from scratch on the same database. Real SQLite files, the bundled decks.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from helpers import Invoke

from quizzer import review, store
from quizzer.db import Database, open_database

DAY0 = date(2026, 1, 4)
DAY1 = date(2026, 1, 5)
NEW_PER_DAY = 12


def _fresh(session: object, queue: review.Queue, cap: int | None) -> list[review.QueueItem]:
    built = review.build_queue(
        session,  # type: ignore[arg-type]
        today=queue.today,
        decks=queue.decks,
        new_per_day=queue.new_per_day,
        due_and_new_left=cap,
    )
    order = {qid: n for n, qid in enumerate(queue.skipped, start=1)}
    return sorted(built, key=lambda item: order.get(item.question_id, 0))


def _check(database: Database, queue: review.Queue, cap: int | None = None) -> None:
    with database.reading() as session:
        assert not queue.stale(session)
        fresh = _fresh(session, queue, cap)
    assert queue.items(cap) == fresh
    assert queue.total(cap) == len(fresh)
    assert queue.head(cap) == (fresh[0] if fresh else None)


def _answer(
    database: Database, queue: review.Queue, item: review.QueueItem, quality: int
) -> review.Recorded:
    with database.transaction() as session:
        recorded = review.record_answer(
            session,
            store.load_question(session, item.question_id),
            quality=quality,
            today=queue.today,
            now=datetime.now(UTC),
            leech_threshold=2,
        )
        queue.answered(item.question_id, recorded, quality=quality)
    return recorded


#: Another process: runs each `quizzer grade` command line it reads (JSON, one a line)
#: through the real CLI, and says how each ended. One process serves a whole test, since
#: Python and SQLAlchemy take longer to start than a grade takes.
_ELSEWHERE = """
import json, sys
from click.testing import CliRunner
from quizzer.cli import main

runner = CliRunner()
for line in sys.stdin:
    result = runner.invoke(main, json.loads(line))
    print(json.dumps([result.exit_code, result.output]), flush=True)
"""

GradeElsewhere = Callable[[str, int], None]


@pytest.fixture
def grade_elsewhere(db_path: Path) -> Iterator[GradeElsewhere]:
    """Another process answers: `quizzer grade` in a process of its own."""
    process = subprocess.Popen(
        [sys.executable, "-c", _ELSEWHERE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def grade(name: str, quality: int) -> None:
        argv = ["--db", str(db_path), "--today", DAY1.isoformat(), "grade", name, str(quality)]
        stdin.write(json.dumps(argv) + "\n")
        stdin.flush()
        reply = stdout.readline()
        assert reply, f"the other process ended (exit {process.wait()})"
        code, output = json.loads(reply)
        assert code == 0, output

    with process:
        yield grade
        stdin.close()
        assert process.wait(timeout=60) == 0


@pytest.fixture(params=["interleaved", "in-order", "random"])
def collection(invoke: Invoke, db_path: Path, request: pytest.FixtureRequest) -> Database:
    """The bundled decks, 15 cards answered yesterday (due today), none answered today;
    new cards in each of the orders."""
    assert invoke("import", "--bundled", today=DAY0.isoformat()).exit_code == 0
    assert invoke("config", "new-order", request.param).exit_code == 0
    reader = open_database(str(db_path))
    with reader.reading() as session:
        first = review.new_ids(session, today=DAY0, limit=15)
        names = [store.load_question(session, q).name for q in first]
    reader.dispose()
    for n, name in enumerate(names):
        quality = (4, 5, 2, 3, 0)[n % 5]
        assert invoke("grade", name, str(quality), today=DAY0.isoformat()).exit_code == 0
    # Opened after the in-process commands: each opening reads the file's header, and
    # closing that file drops the SQLite locks of every connection of the process.
    return open_database(str(db_path))


def test_the_kept_queue_is_a_fresh_rebuild_after_every_step(
    collection: Database, grade_elsewhere: GradeElsewhere
) -> None:
    database = collection
    rng = random.Random("queue")
    queue = review.Queue(today=DAY1, new_per_day=NEW_PER_DAY)
    with database.reading() as session:
        queue.load(session)
    _check(database, queue)
    kinds: set[str] = set()
    try:
        for step in range(70):
            item = queue.head()
            if item is None:
                break
            roll = rng.random()
            if roll < 0.15:
                queue.skip(item.question_id)
                kinds.add("skip")
            elif roll < 0.25 and step:
                with database.transaction() as session:
                    review.undo_last(session)
                    queue.undone(session)
                kinds.add("undo")
            elif roll < 0.35:
                # Right, saved as good, then rated hard or easy (the screen's rerating).
                recorded = _answer(database, queue, item, 4)
                quality = rng.choice((3, 5))
                with database.transaction() as session:
                    rerated = review.rerate(
                        session, recorded, quality, today=DAY1, now=datetime.now(UTC)
                    )
                    assert rerated is not None
                    queue.rerated(item.question_id, recorded, rerated, quality=quality)
                kinds.add(f"rerate-{quality}")
            elif roll < 0.45:
                # Another process answers a card of the queue (not the one on screen).
                items = queue.items()
                other = items[-1] if len(items) > 1 else item
                with database.reading() as session:
                    name = store.load_question(session, other.question_id).name
                grade_elsewhere(name, rng.choice((1, 4)))
                with database.reading() as session:
                    assert queue.stale(session)
                    queue.load(session)
                kinds.add("elsewhere")
            else:
                quality = rng.choice((0, 1, 2, 3, 4, 5))
                recorded = _answer(database, queue, item, quality)
                kinds.add(f"{item.phase}-{quality}" + ("-leech" if recorded.leeched else ""))
            _check(database, queue)
            _check(database, queue, cap=5)
    finally:
        database.dispose()
    # Every kind of step happened: a failing and a passing answer in each phase, a leech.
    assert {"skip", "undo", "elsewhere", "rerate-3", "rerate-5"} <= kinds, kinds
    for phase in ("due", "new", "drill"):
        assert any(k.startswith(phase) and int(k.split("-")[1]) < 3 for k in kinds), kinds
        assert any(k.startswith(phase) and int(k.split("-")[1]) >= 4 for k in kinds), kinds
    assert any(k.endswith("-leech") for k in kinds), kinds


def test_a_queue_is_stale_only_when_someone_else_answered(
    collection: Database, grade_elsewhere: GradeElsewhere
) -> None:
    database = collection
    queue = review.Queue(today=DAY1, new_per_day=NEW_PER_DAY)
    try:
        with database.reading() as session:
            queue.load(session)
        item = queue.head()
        assert item is not None
        _answer(database, queue, item, 1)  # our own answers never make it stale
        with database.reading() as session:
            assert not queue.stale(session)
        second = queue.items()[1]
        with database.reading() as session:
            name = store.load_question(session, second.question_id).name
        grade_elsewhere(name, 4)
        with database.reading() as session:
            assert queue.stale(session)
            queue.load(session)
            assert not queue.stale(session)
            assert second.question_id not in [i.question_id for i in queue.items()]
    finally:
        database.dispose()
