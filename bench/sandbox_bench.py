"""How much the sandbox adds per snippet: run_many vs bare ``python -I -c pass``.

Runs N small snippets through :func:`quizzer.sandbox.run_many` and N bare interpreter
starts through a thread pool of the same size, and prints both times and their ratio
(target: at most 1.5). ``--launcher python`` measures the fallback used where
util-linux's ``prlimit`` is missing.

    python bench/sandbox_bench.py [-n 100] [--jobs N] [--repeat 3] [--launcher python]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quizzer import sandbox
from quizzer.sandbox import run as sandbox_run

SNIPPETS = [
    "print(sum(range(100)))",
    "def f(x=[]):\n    x.append(1)\n    return x\nf()\nprint(f())",
    "print([i * i for i in range(10)])",
    "print(1 / 0)",
]


def bare(n: int, jobs: int) -> float:
    """Seconds for ``n`` bare ``python -I -c pass`` runs, ``jobs`` at a time."""
    argv = [sys.executable, "-I", "-c", "pass"]

    def one(_: int) -> None:
        subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, range(n)))
    return time.perf_counter() - started


def sandboxed(n: int, jobs: int) -> float:
    """Seconds for ``n`` small snippets through ``run_many``, ``jobs`` at a time."""
    codes = [SNIPPETS[i % len(SNIPPETS)] for i in range(n)]
    started = time.perf_counter()
    results = sandbox.run_many(codes, jobs=jobs)
    elapsed = time.perf_counter() - started
    bad = [r for r in results if r.stopped or r.limit is not None]
    if bad:
        raise SystemExit(f"unexpected sandbox result: {bad[0]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="snippets per measurement")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many rounds")
    parser.add_argument("--launcher", choices=["auto", "python"], default="auto")
    args = parser.parse_args()
    if args.launcher == "python":
        sandbox_run._prlimit_path = lambda: None  # type: ignore[assignment]
    launcher = "prlimit" if sandbox_run._prlimit_path() else "python -I -S -c (fallback)"

    bare_times, sandbox_times = [], []
    for _ in range(args.repeat):  # interleaved, so machine load affects both alike
        bare_times.append(bare(args.n, args.jobs))
        sandbox_times.append(sandboxed(args.n, args.jobs))
    best_bare, best_sandbox = min(bare_times), min(sandbox_times)
    print(f"{args.n} runs, {args.jobs} at a time, best of {args.repeat}; launcher: {launcher}")
    print(
        f"  bare python -I -c pass: {best_bare:6.3f} s  ({best_bare / args.n * 1000:5.1f} ms each)"
    )
    print(
        f"  sandbox run_many:       {best_sandbox:6.3f} s  "
        f"({best_sandbox / args.n * 1000:5.1f} ms each)"
    )
    print(f"  ratio: {best_sandbox / best_bare:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
