"""Import time of two checkouts of quizzer, measured in alternating A/B pairs.

    python bench/ab_import.py BASE_SRC [--questions 10000] [--pairs 7]

BASE_SRC is a folder holding another version's ``quizzer`` package (for instance
``git archive main | tar -x -C /tmp/base``); B is this checkout. Both run with this
interpreter and its installed dependencies, on the same deck files (bench_data.py's,
no variants), each into a copy of an empty database made by its own version. Runs
alternate A, B, B, A, A, B... so machine load hits both alike; the figure is the median
of the pairs' ratios B / A (below 1: this checkout is faster), of wall time and of the
processes' CPU time (which a busy machine disturbs less).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import bench_data as data  # noqa: E402


def _run(src: Path, db: Path, *args: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one quizzer process."""
    env = {**data.environment(), "PYTHONPATH": str(src)}
    argv = [sys.executable, "-m", "quizzer", "--db", str(db), *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # Run from the database's folder: "-m" puts the working directory first on the path.
    subprocess.run(
        argv, env=env, cwd=db.parent, stdin=subprocess.DEVNULL, capture_output=True, check=True
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path, help="folder holding the other version's quizzer/")
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    sides = {"A": args.base.resolve(), "B": BENCH.parent}
    with tempfile.TemporaryDirectory(prefix="quizzer-ab-") as tmp:
        work = Path(tmp)
        decks = data.write_decks(work / "decks", args.questions)
        empty = {}
        for name, src in sides.items():
            empty[name] = work / f"empty-{name}.db"
            _run(src, empty[name], "config")
            data.checkpoint(empty[name])
        times: dict[str, list[tuple[float, float]]] = {"A": [], "B": []}
        argv = ("--today", data.IMPORT_DAY.isoformat(), "import", str(decks))
        for n in range(args.pairs + 1):
            for name, src in sides.items() if n % 2 else reversed(sides.items()):
                db = work / f"{name}-{n}.db"
                shutil.copyfile(empty[name], db)
                seconds = _run(src, db, *argv)
                if n:  # the first pair warms the caches
                    times[name].append(seconds)
                os.unlink(db)
    print(f"import of {args.questions} questions, {args.pairs} pairs (B/A: median of the pairs)")
    for index, what in enumerate(("wall", "CPU")):
        a = [run[index] for run in times["A"]]
        b = [run[index] for run in times["B"]]
        ratio = statistics.median(y / x for x, y in zip(a, b, strict=True))
        print(
            f"{what:>4}: A {statistics.median(a):.3f}s  B {statistics.median(b):.3f}s  "
            f"B/A {ratio:.3f}"
        )
        print("      A", " ".join(f"{t:.3f}" for t in a))
        print("      B", " ".join(f"{t:.3f}" for t in b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
