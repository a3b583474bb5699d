"""quizzer's benchmark suite: one table of figures, each against a floor measured in the same run.

    python bench/run.py            # full: 1k/10k/100k questions, 10k/100k/1M review rows (~10 min)
    python bench/run.py --quick    # small sizes, one repetition (a smoke test; well under a minute)
    python bench/run.py --out DIR  # where latest.json goes (default bench/results/, gitignored)

Collections are built through quizzer itself: deck files written by bench_data.py and
loaded with ``quizzer import``. Only the review log is bulk-inserted (SQLAlchemy Core
``insert(Review)`` in chunks, before/after states chained through quizzer's own SM-2, card
states set to each history's last state; see bench_data.py). The review-log series keeps
the questions and the share of due cards fixed (the large collection, its first 10% of
questions learned) and varies only the number of log rows.

Commands are timed as whole processes of the installed ``quizzer`` script, so start-up
counts. Every figure is the median of several runs (one with --quick); ratios divide by a
floor timed in the same run, interleaved with it so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import bench_data as data  # noqa: E402

QUIZZER = data.QUIZZER
PYTHON = sys.executable

SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "questions": {"small": 1_000, "medium": 10_000, "large": 100_000},
        "learned": 10_000,
        "reviews": (10_000, 100_000, 1_000_000),
        "snippets": 100,
        "traced": None,
        "repeat": 5,
    },
    "quick": {
        "questions": {"small": 100, "medium": 500, "large": 2_000},
        "learned": 200,
        "reviews": (200, 1_000, 5_000),
        "snippets": 20,
        "traced": 8,
        "repeat": 1,
    },
}

#: Every figure's name, what it measures, its floor, and its target (kind, limit).
FIGURES: dict[str, tuple[str, str, str, float]] = {
    "help": ("`quizzer --help` wall time", 'python -c "import click"', "ratio", 1.5),
    "deck_load": (
        "reading and checking every bundled deck file (in process)",
        "(absolute)",
        "seconds",
        2.0,
    ),
    "deck_refusal": (
        "refusing a deck file of one value more than the reader's limit (in process)",
        "(absolute)",
        "seconds",
        10.0,
    ),
    "review_first_card": (
        "start → first card on screen, `review` in a pty (large collection, max log)",
        'python -c "import sqlalchemy.orm, click"',
        "ratio",
        1.3,
    ),
    "review_fsrs": (
        "start → first card with `scheduler fsrs` (large collection, max log)",
        "the same with `scheduler sm2`",
        "ratio",
        1.1,
    ),
    "due_query": (
        "due-card query (`review.build_queue`) at the max review log",
        "the same query at the min review log",
        "ratio",
        1.2,
    ),
    "decks": ("`quizzer decks`, large collection, max review log", "(absolute)", "seconds", 1.0),
    "stats": ("`quizzer stats`, large collection, max review log", "(absolute)", "seconds", 1.0),
    "import": ("`quizzer import` of the medium collection", "(absolute)", "seconds", 2.0),
    "reimport": ("the same import again, nothing changed", "(absolute)", "seconds", 1.0),
    "anki_import": (
        "`quizzer import` of a medium-sized .apkg written by Anki",
        "(absolute)",
        "seconds",
        5.0,
    ),
    "export": (
        "Anki export of the medium collection",
        "a bare genanki script writing the same notes (code highlighted by stock Pygments)",
        "ratio",
        1.3,
    ),
    "verify": (
        "running the small snippets through the sandbox",
        "as many bare `python -I -c pass`, same parallelism",
        "ratio",
        1.5,
    ),
    "trace": (
        "tracing a bundled snippet in the sandbox (`quizzer trace`'s run), median over snippets",
        "running it untraced in the sandbox (`check`'s run)",
        "ratio",
        2.0,
    ),
    "boundary": (
        "a bundled snippet in the sandbox with the kernel boundary (Landlock, seccomp, uid), "
        "median over snippets (the median per-snippet ratio is in the note)",
        "the same snippet in the sandbox as before the boundary (prlimit, same supervisor)",
        "ratio",
        1.2,
    ),
    "review_rss": (
        "peak RSS of `review`, large collection",
        "bare import of its dependencies",
        "ratio",
        1.2,
    ),
    # --- the long-time collection (issue 23): LONG_SIZES, bench_data.LONG_TIME ---------
    "lt_review_first_card": (
        "long-time collection: start → first card, `review` in a pty",
        'python -c "import sqlalchemy.orm, click"',
        "ratio",
        1.3,
    ),
    "lt_review_line": (
        "long-time collection: `review` over the line protocol, first card then q",
        'python -c "import sqlalchemy.orm, click"',
        "ratio",
        1.3,
    ),
    "lt_between_cards": (
        "long-time collection: time per card over the first, 20 skips in a row (line protocol)",
        "(absolute, from A/B pairs of 20 skips and none)",
        "seconds",
        0.02,
    ),
    "lt_stats": (
        "`stats`, long-time collection, large",
        "the same at the small long-time collection",
        "ratio",
        1.2,
    ),
    "lt_cards_json": (
        "`cards --due --json`, long-time collection, large",
        "the same at the small long-time collection",
        "ratio",
        1.2,
    ),
    "lt_export_repeat": (
        "`export` of the medium collection's 10k notes again (highlighting cached)",
        "a bare genanki script writing the same fields (code escaped, not highlighted)",
        "ratio",
        1.3,
    ),
    "lt_export_bundled": (
        "first `export` of the bundled decks (nothing cached)",
        "the same bare script on them",
        "ratio",
        1.3,
    ),
    "lt_review_rss": (
        "peak RSS of `review`, long-time collection, large",
        "bare `import sqlalchemy.orm, click`",
        "ratio",
        1.2,
    ),
}

#: The long-time collections: every question learned, reviews over three years.
LONG_SIZES: dict[str, dict[str, int]] = {
    "full": {"small": 1_000, "large": 100_000, "per_card": 10},
    "quick": {"small": 100, "large": 1_000, "per_card": 10},
}
#: Skips in a row for lt_between_cards.
SKIPS = 20
#: The floor of the long-time figures, as the issue's table states it.
SA_CLICK = "import sqlalchemy.orm, click"

#: The dependencies `review` needs, imported bare: the RSS floor.
DEPS_CODE = (
    "import io, sqlalchemy.orm, click, pydantic, yaml\n"
    "from rich.console import Console\n"
    "from rich.syntax import Syntax\n"
    "Console(file=io.StringIO()).print(Syntax('print(1)', 'python'))\n"
)
#: Runs argv (stdin "q"), prints the peak RSS (KiB) of that one child.
RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], input=b'q\\n', stdout=subprocess.DEVNULL, check=True)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


def run_timed(argv: list[str], *, stdin: bytes | None = None) -> float:
    """Wall seconds of one whole process (which must succeed)."""
    started = time.perf_counter()
    result = subprocess.run(
        argv,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=data.environment(),
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{argv[:6]} failed: {result.stderr.decode(errors='replace')[-500:]}")
    return elapsed


def interleaved(
    repeat: int, ours: Callable[[], float], floor: Callable[[], float], *, warm: bool = True
) -> tuple[float, float, list[float], list[float]]:
    """Medians of ``repeat`` alternating runs of ``ours`` and ``floor`` (after one warm-up)."""
    if warm:
        ours()
        floor()
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeat):
        a.append(ours())
        b.append(floor())
    return median(a), median(b), a, b


@dataclass
class Figure:
    name: str
    value: float | str
    measured: float | None = None
    floor: float | None = None
    unit: str = "s"
    runs: list[float] | None = None
    floor_runs: list[float] | None = None
    note: str = ""
    #: Further facts of the measurement, as JSON.
    extra: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        label, floor_label, kind, limit = FIGURES[self.name]
        ok = None if isinstance(self.value, str) else self.value <= limit
        return {
            "label": label,
            "floor_label": floor_label,
            "kind": kind,
            "target": limit,
            "value": self.value,
            "ok": ok,
            "measured": self.measured,
            "floor": self.floor,
            "unit": self.unit,
            "runs": self.runs,
            "floor_runs": self.floor_runs,
            "note": self.note,
            "extra": self.extra,
        }


def fig_help(repeat: int) -> Figure:
    ours, floor, a, b = interleaved(
        repeat,
        lambda: run_timed([QUIZZER, "--help"]),
        lambda: run_timed([PYTHON, "-c", "import click"]),
    )
    return Figure("help", ours / floor, ours, floor, runs=a, floor_runs=b)


def _in_process(repeat: int, function: Callable[[], object]) -> tuple[float, list[float]]:
    """The median wall time of ``function`` over ``repeat`` runs after one to warm up."""
    runs = []
    for n in range(repeat + 1):
        started = time.perf_counter()
        function()
        if n:
            runs.append(time.perf_counter() - started)
    return median(runs), runs


def fig_deck_load(repeat: int) -> Figure:
    from quizzer.db import resource_dir
    from quizzer.deckfile.reader import load_deck

    paths = sorted(resource_dir("decks").glob("*.yaml"))
    seconds, runs = _in_process(repeat, lambda: [load_deck(path) for path in paths])
    return Figure("deck_load", seconds, seconds, runs=runs, note=f"{len(paths)} deck files")


def fig_deck_refusal(repeat: int) -> Figure:
    """The YAML reader's bound on values (tests/test_malformed.py checks the refusal)."""
    from quizzer.deckfile import reader
    from quizzer.errors import DeckFileError

    tags = ", ".join(["t"] * (reader.MAX_NODES + 1))
    text = f"deck: many\ntitle: Many\ntags: [{tags}]\nquestions: []\n"

    def refuse() -> None:
        try:
            reader.parse_deck(text, source="many.yaml")
        except DeckFileError:
            return
        raise RuntimeError("a deck file over the limit was read")

    seconds, runs = _in_process(repeat, refuse)
    note = f"{reader.MAX_NODES + 1} values in {len(text) // 1024} KiB"
    return Figure("deck_refusal", seconds, seconds, runs=runs, note=note)


def _pty_seconds(argv: list[str], *, until: str | None) -> float:
    import pexpect

    env = data.environment()
    env.pop("NO_COLOR", None)
    env.update({"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40"})
    started = time.perf_counter()
    child = pexpect.spawn(
        argv[0], argv[1:], env=env, encoding="utf-8", timeout=300, dimensions=(40, 100)
    )
    try:
        if until is None:
            child.expect(pexpect.EOF)
            return time.perf_counter() - started
        child.expect(until)
        elapsed = time.perf_counter() - started
        child.sendline("q")
        child.expect(pexpect.EOF)
        return elapsed
    finally:
        child.close(force=True)


#: What `review` shows once a card is on screen and it waits for the answer.
FIRST_CARD = r"\| |Your choice \(|Recall the answer"


def fig_review_first_card(repeat: int, db: Path) -> Figure:
    argv = [QUIZZER, "--db", str(db), "--today", data.TODAY.isoformat(), "review"]
    ours, floor, a, b = interleaved(
        repeat,
        lambda: _pty_seconds(argv, until=FIRST_CARD),
        lambda: _pty_seconds([PYTHON, "-c", "import sqlalchemy.orm, click"], until=None),
    )
    return Figure("review_first_card", ours / floor, ours, floor, runs=a, floor_runs=b)


def fig_review_fsrs(repeat: int, db: Path, work: Path) -> Figure:
    """``review`` to the first card under FSRS over the same under SM-2, alternately.

    The FSRS copy is switched with ``quizzer config scheduler fsrs`` (every card's log
    replayed, timed as a note); start-up then also loads py-fsrs and reads its settings.
    """
    fsrs_db = data.copy_db(db, work / "large-fsrs.db")
    started = time.perf_counter()
    data.quizzer(fsrs_db, "config", "scheduler", "fsrs")
    switch = time.perf_counter() - started
    data.checkpoint(fsrs_db)

    def first_card(path: Path) -> float:
        argv = [QUIZZER, "--db", str(path), "--today", data.TODAY.isoformat(), "review"]
        return _pty_seconds(argv, until=FIRST_CARD)

    ours, floor, a, b = interleaved(repeat, lambda: first_card(fsrs_db), lambda: first_card(db))
    note = f"switching the collection to FSRS took {switch:.1f} s"
    extra = {"switch_seconds": round(switch, 3)}
    return Figure(
        "review_fsrs", ours / floor, ours, floor, runs=a, floor_runs=b, note=note, extra=extra
    )


def fig_due_query(repeat: int, small_log: Path, big_log: Path) -> Figure:
    """``review.build_queue`` on both databases, alternately (so load hits both alike)."""
    from quizzer import review
    from quizzer.db import open_database

    databases = [open_database(str(big_log)), open_database(str(small_log))]
    times: list[list[float]] = [[], []]
    sizes = [0, 0]
    try:
        for n in range(max(5, repeat * 3) + 1):
            for which, database in enumerate(databases):
                with database.transaction() as session:
                    started = time.perf_counter()
                    queue = review.build_queue(session, today=data.TODAY, new_per_day=10)
                    elapsed = time.perf_counter() - started
                sizes[which] = len(queue)
                if n:  # the first round warms the caches
                    times[which].append(elapsed)
    finally:
        for database in databases:
            database.dispose()
    ours, floor = median(times[0]), median(times[1])
    note = f"queue sizes {sizes[1]} and {sizes[0]}; in-process, {len(times[0])} runs each"
    return Figure(
        "due_query", ours / floor, ours, floor, runs=times[0], floor_runs=times[1], note=note
    )


def fig_command(name: str, repeat: int, db: Path, *args: str) -> Figure:
    argv = [QUIZZER, "--db", str(db), "--today", data.TODAY.isoformat(), *args]
    run_timed(argv)
    runs = [run_timed(argv) for _ in range(repeat)]
    return Figure(name, median(runs), median(runs), runs=runs)


def fig_import(repeat: int, empty: Path, decks: Path, work: Path) -> tuple[Figure, Figure, Path]:
    """Import into a copy of an empty database (schema made already), then re-import."""
    argv = ["--today", data.IMPORT_DAY.isoformat(), "import", str(decks)]
    runs: list[float] = []
    db = work / "medium.db"
    for n in range(repeat):
        db = data.copy_db(empty, work / f"medium-{n}.db")
        runs.append(run_timed([QUIZZER, "--db", str(db), *argv]))
    re_runs = [run_timed([QUIZZER, "--db", str(db), *argv]) for _ in range(repeat)]
    data.checkpoint(db)
    return (
        Figure("import", median(runs), median(runs), runs=runs),
        Figure("reimport", median(re_runs), median(re_runs), runs=re_runs),
        db,
    )


def fig_anki_import(repeat: int, empty: Path, work: Path, count: int) -> Figure:
    """Import an Anki package of ``count`` notes into a copy of an empty database."""
    import resource

    package = work / "anki-bench.apkg"
    writer = data.write_anki_package(package, count)
    runs, cpu = [], []
    for n in range(repeat):
        db = data.copy_db(empty, work / f"anki-{n}.db")
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append(run_timed([QUIZZER, "--db", str(db), "import", str(package)]))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime)
    # CPU time beside the wall time: on a shared machine it tells a slow run from a busy one.
    note = (
        f"{count} notes (basic, cloze, type-in) written by {writer}; "
        f"CPU {median(cpu):.2f} s of the median's wall time"
    )
    extra = {"cpu_seconds": cpu}
    return Figure("anki_import", median(runs), median(runs), runs=runs, note=note, extra=extra)


def _code_fields(package: Path) -> dict[str, str]:
    """GUID -> Code field of every note in an .apkg (read as `quizzer import` reads one)."""
    from quizzer import anki, ankipkg

    position = anki.FIELDS.index("Code")
    return {note.guid: note.fields[position] for note in ankipkg.read_package(package).notes}


def fig_export(repeat: int, db: Path, work: Path) -> Figure:
    import sqlite3

    from bench_child import write_models

    with sqlite3.connect(db) as connection:
        slugs = [row[0] for row in connection.execute("SELECT slug FROM decks")]
    connection.close()
    models = write_models(work / "models.json", slugs)
    child = str(BENCH / "bench_child.py")
    out_ours, out_bare = work / "ours.apkg", work / "bare.apkg"
    ours_argv = [QUIZZER, "--db", str(db), "export", "-o", str(out_ours)]
    bare_argv = [PYTHON, child, "export-bare", str(db), str(out_bare), str(models)]
    ours, floor, a, b = interleaved(
        repeat, lambda: run_timed(ours_argv), lambda: run_timed(bare_argv), warm=False
    )
    ours_code, bare_code = _code_fields(out_ours), _code_fields(out_bare)
    same = sum(ours_code[guid] == code for guid, code in bare_code.items() if guid in ours_code)
    plain = median([run_timed([*bare_argv, "--no-highlight"]) for _ in range(repeat)])
    note = (
        f"`quizzer export` process; Code field identical in {same} of {len(bare_code)} notes; "
        f"against genanki with the code not highlighted at all ({plain:.2f} s): "
        f"{ours / plain:.2f}x"
    )
    extra = {
        "notes": len(ours_code),
        "same_guids": ours_code.keys() == bare_code.keys(),
        "code_fields_identical": same,
        "unhighlighted_floor": plain,
        "ratio_to_unhighlighted_floor": ours / plain,
    }
    return Figure("export", ours / floor, ours, floor, runs=a, floor_runs=b, note=note, extra=extra)


def fig_verify(repeat: int, snippets: int) -> Figure:
    import sandbox_bench

    jobs = os.cpu_count() or 1
    ours, floor, a, b = interleaved(
        repeat,
        lambda: sandbox_bench.sandboxed(snippets, jobs),
        lambda: sandbox_bench.bare(snippets, jobs),
        warm=False,
    )
    note = f"{snippets} snippets, {jobs} at a time, quizzer.sandbox.run_many"
    return Figure("verify", ours / floor, ours, floor, runs=a, floor_runs=b, note=note)


def fig_trace(repeat: int, count: int | None) -> Figure:
    """Each bundled predict-output snippet (``count`` of them with --quick), traced and
    untraced, one at a time, interleaved; the medians over snippets of their medians."""
    from quizzer.deckfile import load_decks
    from quizzer.importing import bundled_decks_dir
    from quizzer.sandbox import interpreter_version, run_snippet
    from quizzer.sandbox.tracing import trace_snippet

    version = interpreter_version()
    codes = [
        q.code or ""
        for _, deck in load_decks([bundled_decks_dir()])
        for q in deck.questions
        if q.type == "predict_output" and q.applies_to(version)
    ][:count]

    def timed(function: Callable[[], object]) -> float:
        started = time.perf_counter()
        function()
        return time.perf_counter() - started

    traced: list[float] = []
    untraced: list[float] = []
    ratios: list[float] = []
    for code in codes:
        ours, floor, _, _ = interleaved(
            repeat,
            lambda code=code: timed(lambda: trace_snippet(code)),  # type: ignore[misc]
            lambda code=code: timed(lambda: run_snippet(code)),  # type: ignore[misc]
        )
        traced.append(ours)
        untraced.append(floor)
        ratios.append(ours / floor)
    ours, floor = median(traced), median(untraced)
    worst = max(ratios)
    note = (
        f"{len(codes)} snippets, one at a time; median per-snippet ratio {median(ratios):.2f}, "
        f"worst {worst:.2f}"
    )
    extra = {"snippets": len(codes), "median_ratio": median(ratios), "worst_ratio": worst}
    return Figure(
        "trace", ours / floor, ours, floor, runs=traced, floor_runs=untraced, note=note, extra=extra
    )


def fig_boundary(repeat: int, count: int | None) -> Figure:
    """Each bundled predict-output snippet (``count`` of them with --quick) with the
    boundary and without, in alternating pairs; the median of the per-snippet ratios."""
    import sandbox_bench

    codes = sandbox_bench.bundled_codes(count)
    ours, floors = sandbox_bench.boundary_pairs(codes, repeat)
    ratios = [a / b for a, b in zip(ours, floors, strict=True)]
    note = (
        f"{len(codes)} snippets, one at a time; median per-snippet ratio {median(ratios):.2f}, "
        f"worst {max(ratios):.2f}"
    )
    extra = {"snippets": len(codes), "median_ratio": median(ratios), "worst_ratio": max(ratios)}
    return Figure(
        "boundary",
        median(ours) / median(floors),
        median(ours),
        median(floors),
        runs=ours,
        floor_runs=floors,
        note=note,
        extra=extra,
    )


def _peak_rss_kib(argv: list[str]) -> float:
    result = subprocess.run(
        [PYTHON, "-c", RSS_WRAPPER, *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=data.environment(),
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def fig_review_rss(repeat: int, db: Path) -> Figure:
    argv = [QUIZZER, "--db", str(db), "--today", data.TODAY.isoformat(), "review"]
    ours, floor, a, b = interleaved(
        repeat,
        lambda: _peak_rss_kib(argv),
        lambda: _peak_rss_kib([PYTHON, "-c", DEPS_CODE]),
        warm=False,
    )
    note = f"{ours / 1024:.1f} MiB vs {floor / 1024:.1f} MiB (line protocol: first card, then q)"
    return Figure(
        "review_rss", ours / floor, ours, floor, unit="KiB", runs=a, floor_runs=b, note=note
    )


# --- the long-time collection -------------------------------------------------------


def _review_argv(db: Path) -> list[str]:
    return [QUIZZER, "--db", str(db), "--today", data.TODAY.isoformat(), "review"]


def fig_lt_review_first_card(repeat: int, db: Path, small: Path) -> Figure:
    fig = fig_review_first_card(repeat, db)
    fig.name = "lt_review_first_card"
    runs = min(repeat, 3)
    at_small = median([_pty_seconds(_review_argv(small), until=FIRST_CARD) for _ in range(runs)])
    fig.note = f"growth: {at_small * 1000:.0f} ms at the small collection ({runs} runs, not paired)"
    fig.extra = {"small_seconds": at_small}
    return fig


def fig_lt_review_line(repeat: int, db: Path, small: Path) -> Figure:
    ours, floor, a, b = interleaved(
        repeat,
        lambda: run_timed(_review_argv(db), stdin=b"q\n"),
        lambda: run_timed([PYTHON, "-c", SA_CLICK]),
    )
    large, at_small, _, _ = interleaved(
        min(repeat, 3),
        lambda: run_timed(_review_argv(db), stdin=b"q\n"),
        lambda: run_timed(_review_argv(small), stdin=b"q\n"),
    )
    note = f"growth: {large / at_small:.2f}x the small collection's time ({min(repeat, 3)} pairs)"
    return Figure("lt_review_line", ours / floor, ours, floor, runs=a, floor_runs=b, note=note)


def fig_lt_between_cards(repeat: int, db: Path) -> Figure:
    """(20 skips then q) minus (q) over 20, from A/B pairs: what each card costs."""
    skips = b"s\n" * SKIPS + b"q\n"
    pairs = repeat
    with_skips, alone, _, _ = interleaved(
        pairs,
        lambda: run_timed(_review_argv(db), stdin=skips),
        lambda: run_timed(_review_argv(db), stdin=b"q\n"),
    )
    # Below the noise a difference can come out negative: the figure is then 0.1 ms.
    per_card = max(1e-4, (with_skips - alone) / SKIPS)
    note = (
        f"{SKIPS} skips: {with_skips * 1000:.0f} ms, first card then q: {alone * 1000:.0f} ms "
        f"(medians of {pairs} pairs)"
    )
    return Figure("lt_between_cards", per_card, per_card, note=note)


def fig_lt_pair(name: str, repeat: int, db: Path, small: Path, *args: str) -> Figure:
    def argv(path: Path) -> list[str]:
        return [QUIZZER, "--db", str(path), "--today", data.TODAY.isoformat(), *args]

    ours, floor, a, b = interleaved(
        repeat, lambda: run_timed(argv(db)), lambda: run_timed(argv(small))
    )
    note = f"{' '.join(args)}: {ours * 1000:.0f} ms vs {floor * 1000:.0f} ms"
    if name == "lt_cards_json":
        rows = [len(json.loads(data.quizzer(path, *args))) for path in (small, db)]
        note += f"; {rows[1]} rows vs {rows[0]}, per row {ours / rows[1] * 1000:.2f} ms"
    return Figure(name, ours / floor, ours, floor, runs=a, floor_runs=b, note=note)


def _bare_export(db: Path, out: Path, work: Path, *options: str) -> list[str]:
    import sqlite3

    from bench_child import write_models

    with sqlite3.connect(db) as connection:
        slugs = [row[0] for row in connection.execute("SELECT slug FROM decks")]
    connection.close()
    models = write_models(work / f"models-{db.stem}.json", slugs)
    child = str(BENCH / "bench_child.py")
    argv = [PYTHON, child, "export-bare", str(db), str(out), str(models), "--no-highlight"]
    return argv + list(options)


def run_cpu(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one whole process (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = run_timed(argv)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _export_pairs(
    repeat: int, ours: Callable[[], tuple[float, float]], bare: list[str]
) -> dict[str, list[tuple[float, float]]]:
    """``repeat`` rounds of ours and the floor, interleaved (after one warm-up of each);
    (wall, cpu) of each run."""
    runs: dict[str, Callable[[], tuple[float, float]]] = {
        "ours": ours,
        "floor": lambda: run_cpu(bare),
    }
    for run in runs.values():
        run()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            times[name].append(run())
    return times


def _export_figure(
    name: str, times: dict[str, list[tuple[float, float]]], note: str, extra: dict[str, Any]
) -> Figure:
    """The figure against the floor; CPU times in extra."""
    wall = {key: median([w for w, _ in runs]) for key, runs in times.items()}
    cpu = {key: median([c for _, c in runs]) for key, runs in times.items()}
    extra = {
        **extra,
        "cpu": cpu,
        "cpu_ratio": cpu["ours"] / cpu["floor"],
        "cpu_runs": {key: [c for _, c in runs] for key, runs in times.items()},
    }
    note += (
        f"; CPU {cpu['ours'] * 1000:.0f} ms vs {cpu['floor'] * 1000:.0f} ms "
        f"({cpu['ours'] / cpu['floor']:.2f}x)"
    )
    return Figure(
        name,
        wall["ours"] / wall["floor"],
        wall["ours"],
        wall["floor"],
        runs=[w for w, _ in times["ours"]],
        floor_runs=[w for w, _ in times["floor"]],
        note=note,
        extra=extra,
    )


def fig_lt_export_repeat(repeat: int, db: Path, work: Path) -> Figure:
    out = work / "repeat.apkg"
    ours_argv = [QUIZZER, "--db", str(db), "export", "-o", str(out)]
    first = run_timed(ours_argv)  # fills the cache
    times = _export_pairs(
        repeat,
        lambda: run_cpu(ours_argv),
        _bare_export(db, out, work),
    )
    note = f"the first export, which highlighted and cached every snippet, took {first:.2f} s"
    return _export_figure("lt_export_repeat", times, note, {"first_seconds": first})


def fig_lt_export_bundled(repeat: int, bundled: Path, work: Path) -> Figure:
    out = work / "bundled.apkg"
    copies = iter(range(10**6))

    def first_export() -> tuple[float, float]:
        fresh = data.copy_db(bundled, work / f"bundled-{next(copies)}.db")
        return run_cpu([QUIZZER, "--db", str(fresh), "export", "-o", str(out)])

    bare_out = work / "bundled-bare.apkg"
    times = _export_pairs(
        repeat,
        first_export,
        _bare_export(bundled, bare_out, work),
    )
    fresh = data.copy_db(bundled, work / "bundled-warm.db")
    argv = [QUIZZER, "--db", str(fresh), "export", "-o", str(out)]
    run_timed(argv)
    again = median([run_timed(argv) for _ in range(min(repeat, 3))])
    floor = median([w for w, _ in times["floor"]])
    note = f"a repeat export of them: {again * 1000:.0f} ms ({again / floor:.2f}x)"
    return _export_figure("lt_export_bundled", times, note, {"repeat_seconds": again})


def fig_lt_review_rss(repeat: int, db: Path) -> Figure:
    ours, floor, a, b = interleaved(
        repeat,
        lambda: _peak_rss_kib(_review_argv(db)),
        lambda: _peak_rss_kib([PYTHON, "-c", SA_CLICK]),
        warm=False,
    )
    note = f"{ours / 1024:.1f} MiB vs {floor / 1024:.1f} MiB (line protocol: first card, then q)"
    return Figure(
        "lt_review_rss", ours / floor, ours, floor, unit="KiB", runs=a, floor_runs=b, note=note
    )


def build_long_time(work: Path, empty: Path, sizes: dict[str, int]) -> dict[str, Any]:
    """Both long-time collections and the bundled decks' database; their facts."""
    built: dict[str, Any] = {}
    for size in ("small", "large"):
        count = sizes[size]
        db, facts = data.build_long_time(
            work, empty, questions=count, reviews=count * sizes["per_card"], name=f"lt-{size}"
        )
        built[size] = db
        built[f"{size}_facts"] = facts
    bundled = data.copy_db(empty, work / "bundled.db")
    data.quizzer(bundled, "import", "--bundled", today=data.IMPORT_DAY)
    data.checkpoint(bundled)
    built["bundled"] = bundled
    return built


# --- output --------------------------------------------------------------------------


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    if unit == "KiB":
        return f"{value / 1024:.1f} MiB"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def table(figures: dict[str, Figure]) -> str:
    lines = [
        "| figure | measured | floor | result | target | ok |",
        "|---|---|---|---|---|---|",
    ]
    for name, (label, floor_label, kind, limit) in FIGURES.items():
        fig = figures[name]
        if isinstance(fig.value, str):
            result, ok = fig.value, "–"
        elif kind == "ratio":
            result, ok = f"{fig.value:.2f}×", "yes" if fig.value <= limit else "**no**"
        else:
            result, ok = _fmt(fig.value, "s"), "yes" if fig.value <= limit else "**no**"
        target = f"≤ {limit}×" if kind == "ratio" else f"≤ {limit:g} s"
        floor_text = floor_label + (f" ({_fmt(fig.floor, fig.unit)})" if fig.floor else "")
        lines.append(
            f"| {label} | {_fmt(fig.measured, fig.unit)} | {floor_text} | {result} | {target} "
            f"| {ok} |"
        )
    return "\n".join(lines)


#: Imports every module the measured processes use, so their bytecode is cached first.
WARM_CODE = """
import importlib, pkgutil, quizzer
for module in pkgutil.iter_modules(quizzer.__path__):
    if module.name != "__main__":
        importlib.import_module("quizzer." + module.name)
import alembic.command, alembic.config, genanki, pexpect, rich.syntax, rich.table, sqlalchemy.orm
"""


def warm_bytecode() -> None:
    subprocess.run(
        [PYTHON, "-c", WARM_CODE],
        env=data.environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        check=True,
    )


# --- main ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--out", type=Path, default=BENCH / "results", help="folder for JSON")
    parser.add_argument("--repeat", type=int, help="runs per figure (default 5; --quick 1)")
    parser.add_argument("--keep", type=Path, help="build the collections here and keep them")
    parser.add_argument(
        "--only", action="append", choices=sorted(FIGURES), help="measure only these (repeatable)"
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    sizes = SIZES[mode]
    repeat = args.repeat or sizes["repeat"]
    wanted = set(args.only or FIGURES)
    started = time.perf_counter()
    build: dict[str, float] = {}

    def step(name: str, function: Callable[[], Any]) -> Any:
        log(f"[{time.perf_counter() - started:6.1f}s] {name} ...")
        t0 = time.perf_counter()
        value = function()
        build[name] = round(time.perf_counter() - t0, 3)
        return value

    with tempfile.TemporaryDirectory(prefix="quizzer-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        q = sizes["questions"]
        data.use_pycache(work / "pycache")
        step("compile bytecode", warm_bytecode)
        empty = step("empty database", lambda: data.create_empty(work / "empty.db"))
        folders = {
            size: step(
                f"deck files: {count} questions",
                functools.partial(data.write_decks, work / f"decks-{size}", count),
            )
            for size, count in q.items()
        }
        figures: dict[str, Figure] = {}
        # The medium collection is made by the timed import itself.
        if wanted & {"import", "reimport", "export"}:
            imp, reimp, medium = step(
                "import figures (medium)",
                lambda: fig_import(repeat, empty, folders["medium"], work),
            )
            figures["import"], figures["reimport"] = imp, reimp
        else:
            medium = data.copy_db(empty, work / "medium.db")
            step("import medium", lambda: data.import_collection(medium, [folders["medium"]]))
        least = most = empty
        # The review-log series, unless only figures of other collections are wanted.
        series = {"review_first_card", "review_fsrs", "due_query", "decks", "stats", "review_rss"}
        if wanted & series:
            small = data.copy_db(empty, work / "small.db")
            step("import small", lambda: data.import_collection(small, [folders["small"]]))
            large = data.copy_db(empty, work / "large.db")
            step("import large", lambda: data.import_collection(large, [folders["large"]]))
            logs = {
                rows: data.copy_db(large, work / f"large-log{rows}.db") for rows in sizes["reviews"]
            }
            step(
                f"review logs: {'/'.join(map(str, logs))} rows",
                lambda: data.add_review_histories(logs, learned=sizes["learned"]),
            )
            least, most = logs[min(logs)], logs[max(logs)]
        long_time: dict[str, Any] = {}
        if any(name.startswith("lt_") for name in wanted):
            long_time = step(
                "long-time collections",
                lambda: build_long_time(work, empty, LONG_SIZES[mode]),
            )
        lt_large, lt_small = long_time.get("large", empty), long_time.get("small", empty)
        lt_pairs = max(repeat, 7) if mode == "full" else repeat

        measures: dict[str, Callable[[], Figure]] = {
            "help": lambda: fig_help(max(repeat, 3) if mode == "full" else repeat),
            "deck_load": lambda: fig_deck_load(repeat),
            "deck_refusal": lambda: fig_deck_refusal(min(repeat, 3)),
            "review_first_card": lambda: fig_review_first_card(repeat, most),
            "review_fsrs": lambda: fig_review_fsrs(repeat, most, work),
            "due_query": lambda: fig_due_query(repeat, least, most),
            "decks": lambda: fig_command("decks", repeat, most, "decks"),
            "stats": lambda: fig_command("stats", repeat, most, "stats"),
            "export": lambda: fig_export(min(repeat, 3), medium, work),
            "anki_import": lambda: fig_anki_import(repeat, empty, work, q["medium"]),
            # One of issue 23's figures: at least 7 alternating pairs, as the lt_* ones.
            "verify": lambda: fig_verify(lt_pairs, sizes["snippets"]),
            "review_rss": lambda: fig_review_rss(min(repeat, 3), most),
            "trace": lambda: fig_trace(max(repeat, 3), sizes["traced"]),
            "boundary": lambda: fig_boundary(max(repeat, 3), sizes["traced"]),
            "lt_review_first_card": lambda: fig_lt_review_first_card(lt_pairs, lt_large, lt_small),
            "lt_review_line": lambda: fig_lt_review_line(lt_pairs, lt_large, lt_small),
            "lt_between_cards": lambda: fig_lt_between_cards(lt_pairs, lt_large),
            "lt_stats": lambda: fig_lt_pair("lt_stats", lt_pairs, lt_large, lt_small, "stats"),
            "lt_cards_json": lambda: fig_lt_pair(
                "lt_cards_json", lt_pairs, lt_large, lt_small, "cards", "--due", "--json"
            ),
            "lt_export_repeat": lambda: fig_lt_export_repeat(lt_pairs, medium, work),
            "lt_export_bundled": lambda: fig_lt_export_bundled(
                lt_pairs, long_time["bundled"], work
            ),
            "lt_review_rss": lambda: fig_lt_review_rss(lt_pairs, lt_large),
        }
        for name, measure in measures.items():
            if name in wanted:
                figures[name] = step(f"measure {name}", measure)
        for name in FIGURES:
            figures.setdefault(name, Figure(name, "n/a", note="n/a (not measured: --only)"))

    report = {
        "mode": mode,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "repeat": repeat,
        "sizes": {
            "questions": q,
            "learned": sizes["learned"],
            "reviews": list(sizes["reviews"]),
            "snippets": sizes["snippets"],
        },
        "long_time": {
            "sizes": LONG_SIZES[mode],
            **{k: v for k, v in long_time.items() if k.endswith("_facts")},
        },
        "build_seconds": build,
        "total_seconds": round(time.perf_counter() - started, 1),
        "figures": {name: figures[name].to_json() for name in FIGURES},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out = args.out / "latest.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        f"quizzer benchmarks ({mode}; median of {repeat}; questions "
        f"{'/'.join(str(v) for v in q.values())}, review rows "
        f"{'/'.join(str(v) for v in sizes['reviews'])}; {report['total_seconds']} s)\n"
    )
    print(table(figures))
    for name in FIGURES:
        if figures[name].note:
            print(f"- {name}: {figures[name].note}")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
