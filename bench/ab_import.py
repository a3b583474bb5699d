"""Import time of two checkouts of quizzer, measured in alternating A/B pairs.

    python bench/ab_import.py BASE_SRC [--questions 10000] [--pairs 7]

BASE_SRC is a folder holding another version's ``quizzer`` package (for instance
``git archive main | tar -x -C /tmp/base``); B is this checkout. Both run with this
interpreter and its installed dependencies, on the same deck files (bench_data.py's,
no variants), each into a copy of an empty database made by its own version. Runs
alternate A, B, A, B... so machine load hits both alike; the figure is the ratio of the
medians (B / A: below 1 means this checkout is faster).
"""

from __future__ import annotations

import argparse
import os
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


def _run(src: Path, db: Path, *args: str) -> float:
    env = {**data.environment(), "PYTHONPATH": str(src)}
    argv = [sys.executable, "-m", "quizzer", "--db", str(db), *args]
    started = time.perf_counter()
    # Run from the database's folder: "-m" puts the working directory first on the path.
    subprocess.run(
        argv, env=env, cwd=db.parent, stdin=subprocess.DEVNULL, capture_output=True, check=True
    )
    return time.perf_counter() - started


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
        times: dict[str, list[float]] = {"A": [], "B": []}
        argv = ("--today", data.IMPORT_DAY.isoformat(), "import", str(decks))
        for n in range(args.pairs + 1):
            for name, src in sides.items() if n % 2 else reversed(sides.items()):
                db = work / f"{name}-{n}.db"
                shutil.copyfile(empty[name], db)
                seconds = _run(src, db, *argv)
                if n:  # the first pair warms the caches
                    times[name].append(seconds)
                os.unlink(db)
    a, b = statistics.median(times["A"]), statistics.median(times["B"])
    print(f"import of {args.questions} questions, {args.pairs} pairs")
    print(f"A {a:.3f}s  B {b:.3f}s  B/A {b / a:.3f}")
    print("A runs:", " ".join(f"{t:.3f}" for t in times["A"]))
    print("B runs:", " ".join(f"{t:.3f}" for t in times["B"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
