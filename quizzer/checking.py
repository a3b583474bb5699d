"""The check service: run predict_output questions in the sandbox, compare with their answers.

Works on plain data (labels and :class:`~quizzer.deckfile.Question` objects), never on a
database, so ``quizzer check PATH`` and ``quizzer check --deck SLUG`` share it: the CLI
builds the items from deck files or from stored questions and renders the report.
Nothing here runs at import time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from quizzer.answers import normalize_output, output_diff, outputs_match
from quizzer.deckfile import Question, load_decks
from quizzer.sandbox import (
    DEFAULT_LIMITS,
    Limits,
    RunResult,
    interpreter_version,
    resolve_python,
    run_many,
)

__all__ = [
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "answer_from_run",
    "check_files",
    "check_questions",
]

CheckStatus = Literal["passed", "failed", "skipped"]
#: Called as ``progress(done, total)`` after each snippet; ``total`` counts only the
#: questions that actually run (not the skipped ones).
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict on one question.

    ``reason`` says why it failed or was skipped (empty when it passed); ``diff`` is a
    unified diff from the stored answer to the actual output when they differ; ``run``
    is the sandbox result (None when skipped); ``source`` is the deck file, when known.
    """

    label: str
    question: Question
    status: CheckStatus
    reason: str = ""
    diff: str = ""
    run: RunResult | None = None
    source: Path | None = None

    @property
    def actual(self) -> str | None:
        """The output the code produced, in the deck format's answer form."""
        return None if self.run is None else self.run.output


@dataclass(frozen=True, slots=True)
class CheckReport:
    """All verdicts, in the order the questions were given."""

    python: str
    python_version: str
    results: tuple[CheckResult, ...]

    def _with(self, status: CheckStatus) -> tuple[CheckResult, ...]:
        return tuple(result for result in self.results if result.status == status)

    @property
    def passed(self) -> tuple[CheckResult, ...]:
        """Questions whose code printed the stored answer."""
        return self._with("passed")

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """Questions whose output differs, or whose run hit a limit."""
        return self._with("failed")

    @property
    def skipped(self) -> tuple[CheckResult, ...]:
        """Questions whose ``python:`` range excludes the interpreter."""
        return self._with("skipped")

    @property
    def ok(self) -> bool:
        """True when nothing failed (skips are fine)."""
        return not self.failed

    def summary(self) -> str:
        """One line, e.g. ``143 passed, 2 failed, 1 skipped (needs python>=3.12)``."""
        text = f"{len(self.passed)} passed, {len(self.failed)} failed"
        skipped = self.skipped
        if skipped:
            reasons = Counter(result.reason for result in skipped)
            if len(reasons) == 1:
                detail = next(iter(reasons))
            else:
                detail = "; ".join(f"{reason}: {count}" for reason, count in reasons.items())
            text += f", {len(skipped)} skipped ({detail})"
        return text

    def answer_updates(self) -> dict[Path, dict[str, str]]:
        """New answers for the failed questions that ran to the end, by deck file and id.

        Meant for an explicit "write the actual outputs back" step
        (:func:`quizzer.deckfile.rewrite.update_answers`). Runs that were stopped or ran into a
        limit are left out: their output is not the snippet's real answer.
        """
        updates: dict[Path, dict[str, str]] = {}
        for result in self.failed:
            run = result.run
            if result.source is None or run is None or run.stopped or run.limit is not None:
                continue
            updates.setdefault(result.source, {})[result.question.id] = answer_from_run(run)
        return updates


def answer_from_run(run: RunResult) -> str:
    """The answer to store for a run: its output, normalized, ending in one newline."""
    text = normalize_output(run.output)
    return f"{text}\n" if text else ""


def _verdict(label: str, question: Question, run: RunResult, source: Path | None) -> CheckResult:
    diff = output_diff(
        question.answer, run.output, expected_label=f"{label} (stored)", actual_label="actual"
    )
    if run.stopped:
        return CheckResult(label, question, "failed", run.reason, diff, run, source)
    if outputs_match(question.answer, run.output):
        return CheckResult(label, question, "passed", "", "", run, source)
    reason = "output differs" if run.limit is None else f"output differs: {run.reason}"
    return CheckResult(label, question, "failed", reason, diff, run, source)


def _check(
    items: Sequence[tuple[str, Question, Path | None]],
    *,
    python: str | None,
    limits: Limits,
    jobs: int | None,
    progress: Progress | None,
) -> CheckReport:
    interpreter = resolve_python(python)
    version = interpreter_version(interpreter)
    verdicts: list[CheckResult | None] = []
    to_run: list[tuple[int, str, Question, Path | None]] = []
    for label, question, source in items:
        if question.type != "predict_output":
            continue
        if not question.applies_to(version):
            reason = f"needs python{question.python}"
            verdicts.append(CheckResult(label, question, "skipped", reason, source=source))
            continue
        to_run.append((len(verdicts), label, question, source))
        verdicts.append(None)

    total = len(to_run)
    runs = run_many(
        [question.code or "" for _, _, question, _ in to_run],
        python=interpreter,
        limits=limits,
        jobs=jobs,
        progress=None if progress is None else (lambda done: progress(done, total)),
    )
    for (index, label, question, source), run in zip(to_run, runs, strict=True):
        verdicts[index] = _verdict(label, question, run, source)
    results = tuple(verdict for verdict in verdicts if verdict is not None)
    return CheckReport(python=interpreter, python_version=version, results=results)


def check_questions(
    items: Iterable[tuple[str, Question]],
    *,
    python: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    """Run the predict_output questions among ``items`` and compare with their answers.

    Each item is ``(label, question)``; the label names the question in the report, e.g.
    ``"decks/closures.yaml: late-binding"`` or ``"closures/late-binding"``. Other question
    types are ignored. A question whose ``python:`` range excludes the interpreter's
    version is skipped; a run that hits a limit fails with the reason. ``python`` is the
    interpreter to check against (default: the one running quizzer); ``jobs`` snippets
    run at a time (default: the number of CPUs).
    """
    return _check(
        [(label, question, None) for label, question in items],
        python=python,
        limits=limits,
        jobs=jobs,
        progress=progress,
    )


def check_files(
    paths: Iterable[Path],
    *,
    python: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    """Check every deck file named by ``paths`` (files or folders); labels are ``file: id``.

    Raises :class:`~quizzer.errors.DeckFileError` for a file that is not a valid deck.
    """
    items = [
        (f"{path}: {question.id}", question, path)
        for path, deck in load_decks(paths)
        for question in deck.questions
    ]
    return _check(items, python=python, limits=limits, jobs=jobs, progress=progress)
