"""How much the sandbox adds per snippet: run_many vs bare ``python -I -c pass``.

Runs N small snippets through :func:`quizzer.sandbox.run_many` and N bare interpreter
starts through a thread pool of the same size, and prints both times and their ratio
(target: at most 1.5).

``--boundary`` measures instead what the kernel boundary costs per snippet: each bundled
predict-output snippet run through :func:`quizzer.sandbox.run_snippet` as it is (boot.py:
limits, Landlock, seccomp, the uid drop) and the way the sandbox ran it before the
boundary (util-linux ``prlimit`` execing ``python -I snippet.py``, same supervisor), in
alternating pairs; it prints the median of the per-snippet ratios (target: at most 1.2).

    python bench/sandbox_bench.py [-n 100] [--jobs N] [--repeat 3] [--boundary]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collections.abc import Callable, Iterator, Sequence
from statistics import median

from quizzer import sandbox
from quizzer.sandbox import run as sandbox_run
from quizzer.sandbox.boundary import Boundary
from quizzer.sandbox.limits import Limits

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


@contextlib.contextmanager
def without_boundary() -> Iterator[None]:
    """The sandbox as it ran snippets before the boundary: prlimit execs the interpreter."""
    prlimit = shutil.which("prlimit", path=sandbox.SAFE_PATH)
    if prlimit is None:
        raise SystemExit("util-linux prlimit is needed to run the sandbox as it was")

    def command(
        python: str, script: str, limits: Limits, args: Sequence[str] = (), **_: object
    ) -> list[str]:
        options = [
            f"{option}={soft}:{hard}" for option, _, soft, hard in sandbox_run._rlimits(limits)
        ]
        return [prlimit, *options, "--", python, "-I", script, *args]

    none = Boundary(None, False, False, False, "measuring the sandbox without it")
    with pytest_free_patch() as patch:
        patch(sandbox_run, "_command", command)
        patch(sandbox_run, "_prepare", lambda paths: None)
        patch(sandbox_run, "describe", lambda: none)
        yield


@contextlib.contextmanager
def pytest_free_patch() -> Iterator[Callable[[object, str, object], None]]:
    """setattr that is undone on leaving (monkeypatch without pytest)."""
    saved: list[tuple[object, str, object]] = []

    def patch(target: object, name: str, value: object) -> None:
        saved.append((target, name, getattr(target, name)))
        setattr(target, name, value)

    try:
        yield patch
    finally:
        for target, name, value in reversed(saved):
            setattr(target, name, value)


def _seconds(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def boundary_pairs(codes: Sequence[str], repeat: int) -> tuple[list[float], list[float]]:
    """Per snippet: the median seconds of ``repeat`` runs with the boundary and without,
    alternating (so machine load hits both alike), after one warm-up of each."""
    with_b: list[float] = []
    without_b: list[float] = []
    for code in codes:
        a: list[float] = []
        b: list[float] = []
        for i in range(repeat + 1):
            a_time = _seconds(functools.partial(sandbox.run_snippet, code))
            with without_boundary():
                b_time = _seconds(functools.partial(sandbox.run_snippet, code))
            if i:
                a.append(a_time)
                b.append(b_time)
        with_b.append(median(a))
        without_b.append(median(b))
    return with_b, without_b


def bundled_codes(count: int | None = None) -> list[str]:
    from quizzer.deckfile import load_decks
    from quizzer.importing import bundled_decks_dir

    version = sandbox.interpreter_version()
    return [
        q.code or ""
        for _, deck in load_decks([bundled_decks_dir()])
        for q in deck.questions
        if q.type == "predict_output" and q.applies_to(version)
    ][:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="snippets per measurement")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many rounds")
    parser.add_argument("--boundary", action="store_true", help="the boundary's cost")
    args = parser.parse_args()
    if args.boundary:
        codes = bundled_codes()
        a, b = boundary_pairs(codes, args.repeat)
        ratios = [x / y for x, y in zip(a, b, strict=True)]
        print(f"{len(codes)} bundled snippets, one at a time, median of {args.repeat} pairs each")
        print(f"  with the boundary:    {median(a) * 1000:6.1f} ms per snippet (median)")
        print(f"  without (prlimit):    {median(b) * 1000:6.1f} ms per snippet (median)")
        print(f"  median ratio: {median(ratios):.2f}x, worst {max(ratios):.2f}x (target <= 1.2x)")
        return
    launcher = "boot.py (limits and the kernel boundary)"

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
