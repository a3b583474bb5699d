"""Synthetic collections for the benchmarks, built through quizzer's own code paths.

Questions reach the database the way a user's do: deck files written here, loaded with
``quizzer import`` (a subprocess of the installed script, so ``importing.import_decks`` does
the work). Only the review log is bulk-loaded: months of answering cannot be replayed
through ``quizzer grade`` in a benchmark's time, so :func:`add_review_histories` simulates
each card's answers with quizzer's own SM-2 (``scheduler.answer``), with before/after
states chained exactly as ``review.record_answer`` writes them (drill answers included).
The rows are written with SQLAlchemy Core ``insert()`` of 20k rows at a time into a staging
table with the columns of ``Review``, moved into ``reviews`` in time order by one
INSERT ... SELECT, and each card's stored state is set to the last ``after`` state of its
history by one executemany UPDATE.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

QUIZZER = str(Path(sys.executable).with_name("quizzer"))

#: The day the collections' questions are imported (new cards are due from then).
IMPORT_DAY = date(2000, 1, 3)
#: The "today" every measurement acts on; histories end on or before it.
TODAY = date(2026, 1, 5)
#: Questions per deck file: the medium collection, whose import is a figure, is one file of
#: 10k questions, as the issue asks (a file is limited to 250k YAML values, some 14 each).
PER_FILE = 10_000

_SNIPPETS = (
    "def {name}(items=[]):\n    items.append({n})\n    return items\n\n{name}()\nprint({name}())\n",
    "class {cls}:\n    count = {n}\n\n    def __init__(self):\n        self.count += 1\n\n"
    "a, b = {cls}(), {cls}()\nprint(a.count, b.count, {cls}.count)\n",
    "import functools\n\n\ndef loud(f):\n    @functools.wraps(f)\n    def wrapper(*args, **kw):\n"
    '        print("calling", f.__name__)\n        return f(*args, **kw)\n    return wrapper\n\n'
    "@loud\ndef {name}(x):\n    return x * {n}\n\nprint({name}(2))\n",
    "xs = [i * {n} for i in range(5) if i % 2]\nprint(xs, sum(xs) // 3)\n",
    "try:\n    {name} = 1 / 0\nexcept ZeroDivisionError as exc:\n    print(type(exc).__name__)\n"
    "finally:\n    print('done {n}')\n",
)


#: Where subprocesses cache bytecode (set by :func:`use_pycache`); None: Python's default.
_PYCACHE: Path | None = None


def use_pycache(folder: Path) -> None:
    """Make every subprocess read and write bytecode under ``folder``.

    An installed quizzer has its bytecode compiled (pip does it), but a checkout run with
    PYTHONDONTWRITEBYTECODE recompiles every module on every start: timing that would
    measure the compiler, not quizzer. A private prefix also leaves the checkout untouched.
    """
    global _PYCACHE
    _PYCACHE = folder


def environment() -> dict[str, str]:
    """The environment for subprocesses: no inherited database or day, bytecode cached."""
    skip = ("QUIZZER_DB", "QUIZZER_TODAY", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
    env = {k: v for k, v in os.environ.items() if k not in skip}
    if _PYCACHE is not None:
        env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)
    env.setdefault("COLUMNS", "100")
    return env


def _block(text: str, indent: str) -> str:
    """A YAML literal block (``|``) holding ``text``, which ends with one newline."""
    lines = text.rstrip("\n").split("\n")
    return "|\n" + "".join(f"{indent}{line}\n" if line else "\n" for line in lines)


def deck_text(slug: str, count: int, *, start: int = 0, seed: int = 0) -> str:
    """A valid deck file with ``count`` questions: 60% predict_output, 25% MC, 15% recall."""
    rng = random.Random(f"{seed}/{slug}")
    out = [f"deck: {slug}\n", f"title: Bench deck {slug}\n", "tags: [bench]\n", "questions:\n"]
    q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    for i in range(start, start + count):
        roll = rng.random()
        out.append(f"  - id: q-{i}\n")
        if roll < 0.6:
            code = rng.choice(_SNIPPETS).format(name=f"f{i}", cls=f"C{i}", n=i)
            answer = f"[{i}]\n" if i % 2 else f"line {i}\nline two\n"
            out.append("    type: predict_output\n")
            out.append(f"    prompt: {q(f'What does snippet {i} print?')}\n")
            out.append(f"    code: {_block(code, '      ')}")
            out.append(f"    answer: {_block(answer, '      ')}")
        elif roll < 0.85:
            choices = [f"choice {i} a", f"choice {i} b", f"choice {i} c"]
            out.append("    type: multiple_choice\n")
            out.append(f"    prompt: {q(f'Which is true about case {i}?')}\n")
            out.append("    choices:\n" + "".join(f"      - {q(c)}\n" for c in choices))
            out.append(f"    answer: {q(choices[0])}\n")
        else:
            out.append("    type: recall\n")
            out.append(f"    prompt: {q(f'Explain idea {i}.')}\n")
            out.append(f"    answer: {q(f'Idea {i} is about the variable, not the value.')}\n")
        out.append(f"    explanation: {q(f'Because of rule {i}: names are looked up late.')}\n")
        if i % 5 == 0:
            out.append(f"    tags: [t{i % 7}]\n")
    return "".join(out)


def write_decks(
    folder: Path, total: int, *, per_file: int = PER_FILE, prefix: str = "bench"
) -> Path:
    """Deck files with ``total`` questions in ``folder`` (``per_file`` to a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = max(1, -(-total // per_file))
    for n in range(files):
        count = min(per_file, total - n * per_file)
        slug = f"{prefix}-{n:02d}"
        (folder / f"{slug}.yaml").write_text(
            deck_text(slug, count, start=n * per_file), encoding="utf-8"
        )
    return folder


def quizzer(db: Path, *args: str, today: date = TODAY, check: bool = True) -> str:
    """Run the installed ``quizzer`` script on ``db``; its stdout."""
    result = subprocess.run(
        [QUIZZER, "--db", str(db), "--today", today.isoformat(), *args],
        env=environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"quizzer {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def create_empty(db: Path) -> Path:
    """A new database with the current schema and no decks (``quizzer config``)."""
    quizzer(db, "config")
    checkpoint(db)
    return db


def checkpoint(db: Path) -> None:
    """Fold the WAL into the main file, so copying the file copies the database."""
    with sqlite3.connect(db) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def copy_db(source: Path, target: Path) -> Path:
    """A copy of the database ``source`` (checkpointed first)."""
    checkpoint(source)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def import_collection(db: Path, paths: Sequence[Path]) -> None:
    """Load deck files into ``db`` with ``quizzer import`` (on IMPORT_DAY)."""
    quizzer(db, "import", *map(str, paths), today=IMPORT_DAY)
    checkpoint(db)


# --- the review log --------------------------------------------------------------------


def _qualities(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.10:
        return rng.choice((0, 1, 2))
    if roll < 0.25:
        return 3
    if roll < 0.80:
        return 4
    return 5


@dataclass(frozen=True)
class Shape:
    """How histories end: the longest interval before a forced lapse, and where the last
    graded day falls (``today_share`` of the cards answered today, the rest spread over
    ``spread`` of their interval before it; None: the original shape's rule)."""

    cap: int = 90
    spread: float = 1.2
    today_share: float | None = None
    #: Calendar mode: each card starts on a day of the last ``years`` years and is answered
    #: on every due day before TODAY (and on TODAY by ``today_share`` of the cards due);
    #: the history is as long as that makes it (``rows`` is ignored).
    years: int | None = None


CAP_LONG = 365

#: The shape of the original series: about a sixth of the cards due, 40% answered today.
SHORT = Shape()
#: A long-time user's collection: cards started over three years and answered on their
#: due days ever since; today, the cards due and a share of them already answered.
LONG_TIME = Shape(cap=CAP_LONG, today_share=0.25, years=3)


def card_history(
    rng: random.Random, question_id: int, rows: int, shape: Shape = SHORT
) -> tuple[list[dict[str, Any]], Any]:
    """``rows`` consistent review-log rows for one card, ending on or before TODAY.

    Answers are given on the due day (SM-2 ignores lateness); a graded answer below 4 is
    followed by one drill answer the same day, as the session does. A card whose interval
    reaches 90 days fails its next review, so long histories stay within a few decades.
    The whole history is then shifted so its last graded day is up to 1.2 intervals before
    TODAY: about a sixth of the cards end up due, whatever the history's length.
    """
    from quizzer import scheduler

    calendar = shape.years is not None
    start = TODAY - timedelta(days=1 + rng.randrange(365 * (shape.years or 1)))
    state = scheduler.new_card(start if calendar else date(2000, 1, 3))
    steps: list[tuple[str, int, Any, Any, date]] = []
    day = state.due

    def more() -> bool:
        if not calendar:
            return len(steps) < rows
        return day < TODAY or (day == TODAY and rng.random() < (shape.today_share or 0))

    while more():
        if calendar:
            rows = len(steps) + 2  # room for the drill
        quality = 2 if state.interval >= shape.cap else _qualities(rng)
        outcome = scheduler.answer(state, quality=quality, day=day)
        steps.append(("graded", quality, outcome.before, outcome.after, day))
        state = outcome.after
        if quality < scheduler.DRILL_UNTIL and len(steps) < rows:
            drill = scheduler.answer(state, quality=4, day=day)
            steps.append((drill.kind, 4, drill.before, drill.after, day))
        day = state.due
    last = state.last_graded
    assert last is not None
    if calendar:
        target = last
    elif shape.today_share is None:
        target = TODAY - timedelta(days=int(rng.random() * state.interval * shape.spread))
    elif rng.random() < shape.today_share:
        target = TODAY
    else:
        span = max(1.0, state.interval * shape.spread - 1)
        target = TODAY - timedelta(days=1 + int(rng.random() * span))
    shift = target - last
    clock = rng.randrange(3600)  # the card's time of day; a drill comes 30 s after its grade
    out = []
    for kind, quality, before, after, on in steps:
        answered = datetime(on.year, on.month, on.day, 12, tzinfo=UTC) + shift
        answered += timedelta(seconds=clock + (30 if kind == "drill" else 0))
        out.append(
            {
                "question_id": question_id,
                "answered_at": answered,
                "day": on + shift,
                "quality": quality,
                "kind": kind,
                "typed": None if quality == 0 else f"typed {quality}",
                "seconds": round(rng.uniform(2, 40), 3),
                "ease_before": before.ease,
                "repetitions_before": before.repetitions,
                "interval_before": before.interval,
                "due_before": before.due + shift,
                "lapses_before": before.lapses,
                "last_graded_before": (
                    before.last_graded + shift if before.last_graded is not None else None
                ),
                "ease_after": after.ease,
                "repetitions_after": after.repetitions,
                "interval_after": after.interval,
                "due_after": after.due + shift,
                "lapses_after": after.lapses,
            }
        )
    final = {
        "ease": state.ease,
        "repetitions": state.repetitions,
        "interval": state.interval,
        "due": state.due + shift,
        "lapses": state.lapses,
        "last_graded": last + shift,
    }
    return out, final


def add_review_histories(
    dbs: dict[int, Path], *, learned: int, seed: int = 7, shape: Shape = SHORT
) -> dict[int, int]:
    """Give the first ``learned`` questions of each database its number of log rows in all.

    ``dbs`` maps a row count to a copy of the same collection. Each card gets one history,
    long enough for the biggest log; a database with a shorter log keeps the most recent
    rows of the same histories (as if older rows had been pruned), so every database ends
    with the same card states, the same due cards and the same answers today: only the
    log's length differs. Bulk path: see the module docstring; one transaction per database.
    """
    from contextlib import ExitStack

    from sqlalchemy import Column, MetaData, Table, bindparam, insert, select, text, update

    from quizzer.db import open_database
    from quizzer.orm import Card, Question, Review

    extra = {
        name: False for name in ("leech_before", "suspended_before") if name in Review.__table__.c
    }
    most = max(dbs)
    written = dict.fromkeys(dbs, 0)
    # Rows are made card by card but a real log is in time order (ids grow with time, and
    # a day's answers sit together in the table): they go to a staging table first and
    # then into reviews sorted by answered_at.
    columns = [c.name for c in Review.__table__.c if c.name != "id"]
    staging = Table(
        "bench_staging",
        MetaData(),
        *(Column(c.name, c.type) for c in Review.__table__.c if c.name != "id"),
        prefixes=["TEMPORARY"],
    )
    listed = ", ".join(columns)
    move = text(
        f"INSERT INTO reviews ({listed}) SELECT {listed} FROM bench_staging "
        "ORDER BY answered_at, question_id"
    )
    with ExitStack() as stack:
        connections = {}
        for rows, db in dbs.items():
            database = open_database(str(db))
            stack.callback(database.dispose)
            connections[rows] = stack.enter_context(database.engine.begin())
            staging.create(connections[rows])
        first = connections[most]
        ids = list(first.scalars(select(Question.id).order_by(Question.id).limit(learned)))
        if len(ids) < learned:
            raise ValueError(f"only {len(ids)} questions, {learned} wanted")
        chunks: dict[int, list[dict[str, Any]]] = {rows: [] for rows in dbs}
        finals: list[dict[str, Any]] = []

        def flush(rows: int) -> None:
            if chunks[rows]:
                connections[rows].execute(insert(staging), chunks[rows])
                written[rows] += len(chunks[rows])
                chunks[rows] = []

        for n, question_id in enumerate(ids):
            rng = random.Random(seed * 1_000_003 + question_id)
            counts = {rows: rows // learned + (1 if n < rows % learned else 0) for rows in dbs}
            history, final = card_history(rng, question_id, max(counts.values()), shape)
            for row in history:
                row.update(extra)
            finals.append({"qid": question_id, **final})
            for rows, count in counts.items():
                if count:
                    chunks[rows].extend(history[-count:])
                if len(chunks[rows]) >= 20_000:
                    flush(rows)
        table = Card.metadata.tables["card_states"]
        states = (
            update(table)
            .where(table.c.question_id == bindparam("qid"))
            .values(
                {
                    name: bindparam(name)
                    for name in ("ease", "repetitions", "interval", "due", "lapses", "last_graded")
                }
            )
        )
        for rows, connection in connections.items():
            flush(rows)
            connection.execute(move)
            staging.drop(connection)
            connection.execute(states, finals)
    for db in dbs.values():
        checkpoint(db)
    return written


def build_long_time(
    work: Path, empty: Path, *, questions: int, reviews: int, name: str
) -> tuple[Path, dict[str, Any]]:
    """A long-time collection: ``questions`` questions, every one learned, ``reviews`` log
    rows in all (LONG_TIME's shape); the database and its counts (due, answered today)."""
    folder = write_decks(work / f"decks-{name}", questions, prefix=name)
    db = copy_db(empty, work / f"{name}.db")
    import_collection(db, [folder])
    (written,) = add_review_histories({reviews: db}, learned=questions, shape=LONG_TIME).values()
    with sqlite3.connect(db) as connection:
        today = TODAY.isoformat()
        due = connection.execute(
            "SELECT count(*) FROM card_states WHERE last_graded IS NOT NULL AND due <= ?",
            (today,),
        ).fetchone()[0]
        answered = connection.execute(
            "SELECT count(*) FROM reviews WHERE day = ?", (today,)
        ).fetchone()[0]
        first = connection.execute("SELECT min(day) FROM reviews").fetchone()[0]
    connection.close()
    return db, {"due": due, "answers_today": answered, "first_day": first, "reviews": written}
