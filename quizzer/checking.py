"""The check service: run predict_output questions in the sandbox, compare with their answers.

Works on plain data (labels and :class:`~quizzer.deckfile.Question` objects), so
``quizzer check PATH`` and ``quizzer check --deck SLUG`` share it: the items come from deck
files (:func:`file_items`) or stored questions (:func:`stored_items`), and new answers go
back to the files (``deckfile.rewrite``) or the database (:func:`store_answers`).
Nothing here runs at import time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from packaging.specifiers import SpecifierSet

from quizzer.answers import normalize_output, output_diff, outputs_match
from quizzer.deckfile import Question, load_decks
from quizzer.errors import QuizzerError
from quizzer.sandbox import (
    DEFAULT_LIMITS,
    Limits,
    RunResult,
    interpreter_version,
    resolve_python,
    run_many,
    run_snippet,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "Matrix",
    "answer_from_run",
    "check",
    "check_files",
    "check_questions",
    "computed_answer",
    "deck_sources",
    "file_items",
    "foreign_sources",
    "store_answers",
    "stored_items",
    "version_split",
    "wrong_answers",
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
    #: Which variant ran (0: the question's own code; see ``Question.variant_runs``).
    variant: int = 0

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
    #: Variants whose output is another variant's of the same question: they teach
    #: nothing new (reported, not failed).
    repeats: tuple[str, ...] = ()

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
        if self.repeats:
            count = len(self.repeats)
            text += f"; {count} variant{'s' if count != 1 else ''} print what another prints"
        return text

    def to_json(self) -> dict[str, Any]:
        """The report as ``check --json`` prints it (see docs/json.md)."""
        return {
            "python": self.python,
            "python_version": self.python_version,
            "passed": len(self.passed),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "results": [
                {
                    "label": result.label,
                    "status": result.status,
                    "reason": result.reason or None,
                    "diff": (
                        result.diff
                        if result.diff and not (result.run and _cut_short(result.run))
                        else None
                    ),
                    "output": result.actual,
                }
                for result in self.results
            ],
            "repeats": list(self.repeats),
        }

    def answer_updates(self) -> dict[Path, dict[str, str]]:
        """New answers for the failed questions that ran to the end, by deck file and id.

        Meant for an explicit "write the actual outputs back" step
        (:func:`quizzer.deckfile.rewrite.update_answers`). Runs that were stopped or ran into a
        limit are left out: their output is not the snippet's real answer.
        """
        updates: dict[Path, dict[str, str]] = {}
        for result in self.failed:
            run = result.run
            if result.source is None or run is None or _cut_short(run) or result.variant:
                continue
            if result.question.answers_by_python is not None:
                continue  # see split_updates
            updates.setdefault(result.source, {})[result.question.id] = answer_from_run(run)
        return updates

    def variant_updates(self) -> dict[Path, dict[str, dict[int, str]]]:
        """New answers of the variants after the first (by deck file, id and variant
        number), for :func:`quizzer.deckfile.rewrite.update_variant_answers`."""
        updates: dict[Path, dict[str, dict[int, str]]] = {}
        for result in self.failed:
            run = result.run
            if result.source is None or run is None or _cut_short(run) or not result.variant:
                continue
            by_id = updates.setdefault(result.source, {})
            by_id.setdefault(result.question.id, {})[result.variant] = answer_from_run(run)
        return updates

    def split_updates(self) -> dict[Path, dict[str, Split]]:
        """New answers of failed questions that hold answers by version: the entry whose
        range holds this Python changes (``answer`` if none does), the others stay."""
        updates: dict[Path, dict[str, Split]] = {}
        for result in self.failed:
            run, question = result.run, result.question
            if result.source is None or run is None or _cut_short(run):
                continue
            if question.answers_by_python is None:
                continue
            new = answer_from_run(run)
            by_python = dict(question.answers_by_python)
            answer = question.answer
            for spec in by_python:
                if SpecifierSet(spec).contains(self.python_version):
                    by_python[spec] = new
                    break
            else:
                answer = new
            updates.setdefault(result.source, {})[question.id] = (answer, by_python)
        return updates

    def stored_updates(self) -> dict[str, dict[int, str]]:
        """New answers for the failed stored questions (no deck file) that ran to the end,
        by their ``DECK/ID`` name and variant number."""
        updates: dict[str, dict[int, str]] = {}
        for result in self.failed:
            if result.source is None and result.run is not None and not _cut_short(result.run):
                name = result.label.split(" [", 1)[0]
                updates.setdefault(name, {})[result.variant] = answer_from_run(result.run)
        return updates

    def not_updatable(self) -> tuple[CheckResult, ...]:
        """Failed questions whose run was stopped or hit a limit: no answer to write back."""
        return tuple(r for r in self.failed if r.run is None or _cut_short(r.run))


#: A question's new answers: ``answer``, and ``answers_by_python`` (None: one answer).
Split = tuple[str, "dict[str, str] | None"]


@dataclass(frozen=True, slots=True)
class Matrix:
    """The verdicts of one check on several Pythons: a report per version, oldest first."""

    reports: tuple[CheckReport, ...]

    @property
    def versions(self) -> list[str]:
        """The Pythons' versions, in the order of the reports."""
        return [report.python_version for report in self.reports]

    def rows(self) -> list[tuple[str, list[CheckStatus]]]:
        """Each question's label and its status on each version."""
        if not self.reports:
            return []
        return [
            (results[0].label, [result.status for result in results])
            for results in zip(*(report.results for report in self.reports), strict=True)
        ]

    @property
    def failed(self) -> int:
        """How many (question, version) runs failed."""
        return sum(len(report.failed) for report in self.reports)

    def to_json(self) -> dict[str, Any]:
        """The matrix as ``check --json`` prints it with several Pythons."""
        return {
            "pythons": [report.to_json() for report in self.reports],
            "matrix": [
                {"label": label, "status": dict(zip(self.versions, statuses, strict=True))}
                for label, statuses in self.rows()
            ],
        }

    def _columns(self) -> list[tuple[CheckResult, ...]]:
        return list(zip(*(report.results for report in self.reports), strict=True))

    def not_updatable(self) -> list[str]:
        """Questions that failed somewhere and whose run was stopped or hit a limit on some
        version: what it printed there is no answer."""
        return [
            results[0].label
            for results in self._columns()
            if any(r.status == "failed" for r in results)
            and any(r.run is not None and _cut_short(r.run) for r in results)
        ]

    def stored_labels(self) -> list[str]:
        """Failed questions from no deck file (their answers by version are not written)."""
        return [
            results[0].label
            for results in self._columns()
            if results[0].source is None and any(r.status == "failed" for r in results)
        ]

    def answer_splits(self) -> dict[Path, dict[str, Split]]:
        """For each deck file, the failed questions' answers as observed: one ``answer`` when
        every version printed the same, else ``answers_by_python`` by version range (the
        newest version's output is ``answer`` too)."""
        stopped = set(self.not_updatable())
        splits: dict[Path, dict[str, Split]] = {}
        for results in self._columns():
            first = results[0]
            if first.source is None or first.label in stopped:
                continue
            if not any(r.status == "failed" for r in results):
                continue
            observed = [
                (report.python_version, answer_from_run(r.run))
                for report, r in zip(self.reports, results, strict=True)
                if r.status != "skipped" and r.run is not None
            ]
            if not observed:
                continue
            splits.setdefault(first.source, {})[first.question.id] = version_split(observed)
        return splits


def version_split(observed: Sequence[tuple[str, str]]) -> Split:
    """``(answer, answers_by_python)`` for the outputs ``observed`` on each version (oldest
    first): ranges where consecutive versions printed the same, bounded at the first
    version of the next group (as ``X.Y`` unless another ``X.Y`` release disagrees)."""
    ordered = sorted(observed, key=lambda pair: tuple(int(p) for p in pair[0].split(".")))
    groups: list[tuple[list[str], str]] = []
    for version, answer in ordered:
        if groups and groups[-1][1] == answer:
            groups[-1][0].append(version)
        else:
            groups.append(([version], answer))
    newest = groups[-1][1]
    if len(groups) == 1:
        return newest, None

    def bound(index: int) -> str:
        version = groups[index][0][0]
        minor = ".".join(version.split(".")[:2])
        elsewhere = [
            v
            for i, (vs, _) in enumerate(groups)
            if i != index
            for v in vs
            if v.startswith(minor + ".")
        ]
        return version if elsewhere else minor

    by_python: dict[str, str] = {}
    for index, (_, answer) in enumerate(groups):
        low = f">={bound(index)}" if index else ""
        high = f"<{bound(index + 1)}" if index + 1 < len(groups) else ""
        by_python[",".join(part for part in (low, high) if part)] = answer
    return newest, by_python


def _cut_short(run: RunResult) -> bool:
    """Whether a run was stopped or hit a limit: its output is not the snippet's answer."""
    return run.stopped or run.limit is not None


def answer_from_run(run: RunResult) -> str:
    """The answer to store for a run: its output, normalized, ending in one newline."""
    text = normalize_output(run.output)
    return f"{text}\n" if text else ""


def _verdict(
    label: str,
    question: Question,
    run: RunResult,
    source: Path | None,
    *,
    variant: int = 0,
    expected: str | None = None,
    version: str,
) -> CheckResult:
    stored = question.answer_for(version) if variant == 0 and expected is None else expected
    diff = output_diff(
        stored or "", run.output, expected_label=f"{label} (stored)", actual_label="actual"
    )
    if run.stopped:
        return CheckResult(label, question, "failed", run.reason, diff, run, source, variant)
    if stored is None:
        reason = "no answer yet (quizzer check --update writes it)"
        if run.limit is not None:
            reason = run.reason
        return CheckResult(label, question, "failed", reason, diff, run, source, variant)
    if outputs_match(stored, run.output) and run.limit is None:
        return CheckResult(label, question, "passed", "", "", run, source, variant)
    reason = "output differs" if run.limit is None else f"output differs: {run.reason}"
    if run.limit is not None and outputs_match(stored, run.output):
        reason = f"stopped by a limit: {run.reason}"
    return CheckResult(label, question, "failed", reason, diff, run, source, variant)


def _repeats(results: Sequence[CheckResult]) -> tuple[str, ...]:
    """Variants that print what an earlier variant of the same question prints."""
    said: list[str] = []
    first: dict[tuple[str, str, str], str] = {}
    for result in results:
        run = result.run
        if run is None or _cut_short(run) or result.status == "skipped":
            continue
        varies = result.question.vary is not None or result.question.variants is not None
        if not varies:
            continue
        key = (str(result.source), result.question.id, normalize_output(run.output))
        seen = first.setdefault(key, result.label)
        if seen != result.label:
            said.append(f"{result.label}: prints what {seen} prints; it teaches nothing new")
    return tuple(said)


def check(
    items: Sequence[tuple[str, Question, Path | None]],
    *,
    python: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    jobs: int | None = None,
    progress: Progress | None = None,
    each: Callable[[CheckResult], None] | None = None,
) -> CheckReport:
    """Check ``(label, question, deck file or None)`` items; see :func:`check_questions`.

    ``each`` is given every verdict as soon as it is known (runs in the order they end),
    in the calling thread; the report lists them in the order of ``items``.
    """
    interpreter = resolve_python(python)
    version = interpreter_version(interpreter)
    verdicts: list[CheckResult | None] = []
    to_run: list[tuple[int, str, Question, Path | None, int, str, str | None]] = []
    for label, question, source in items:
        if question.type != "predict_output":
            continue
        if not question.applies_to(version):
            reason = f"needs python{question.python}"
            skipped = CheckResult(label, question, "skipped", reason, source=source)
            verdicts.append(skipped)
            if each is not None:
                each(skipped)
            continue
        variants = question.variant_runs()
        if not variants:
            to_run.append((len(verdicts), label, question, source, 0, question.code or "", None))
            verdicts.append(None)
            continue
        for number, (key, code, answer) in enumerate(variants):
            shown = f"{label} [{key}]"
            to_run.append((len(verdicts), shown, question, source, number, code, answer))
            verdicts.append(None)

    total = len(to_run)

    def judged(position: int, run: RunResult) -> None:
        index, label, question, source, number, _, answer = to_run[position]
        verdicts[index] = verdict = _verdict(
            label,
            question,
            run,
            source,
            variant=number,
            expected=answer if number else None,
            version=version,
        )
        if each is not None:
            each(verdict)

    run_many(
        [code for *_, code, _ in to_run],
        python=interpreter,
        limits=limits,
        jobs=jobs,
        progress=None if progress is None else (lambda done: progress(done, total)),
        each=judged,
    )
    results = tuple(verdict for verdict in verdicts if verdict is not None)
    return CheckReport(
        python=interpreter, python_version=version, results=results, repeats=_repeats(results)
    )


def check_questions(
    items: Iterable[tuple[str, Question]],
    *,
    python: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    """Run the predict_output questions among ``items`` and compare with their answers
    (as :func:`check`, for questions from no file).

    Each item is ``(label, question)``; the label names the question in the report, e.g.
    ``"decks/closures.yaml: late-binding"`` or ``"closures/late-binding"``. Other question
    types are ignored. A question whose ``python:`` range excludes the interpreter's
    version is skipped; a run that hits a limit fails with the reason. ``python`` is the
    interpreter to check against (default: the one running quizzer); ``jobs`` snippets
    run at a time (default: the number of CPUs).
    """
    return check(
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
    items = file_items(paths)
    return check(items, python=python, limits=limits, jobs=jobs, progress=progress)


# --- where the questions come from, and where new answers go --------------------------


def file_items(paths: Iterable[Path]) -> list[tuple[str, Question, Path | None]]:
    """The questions of the deck files named by ``paths``, labelled ``file: id``."""
    return [
        (f"{path}: {question.id}", question, path)
        for path, deck in load_decks(paths)
        for question in deck.questions
    ]


def stored_items(
    session: Session, decks: Sequence[str], *, update: bool
) -> list[tuple[str, Question, Path | None]]:
    """The active stored questions of ``decks``, labelled ``DECK/ID``.

    With ``update``, a deck loaded from a file is refused before anything runs: its
    answers are changed in the file (``check --update FILE``), not in the database.
    """
    from quizzer import authoring, store, transfer

    items: list[tuple[str, Question, Path | None]] = []
    for slug in decks:
        deck = store.get_deck(session, slug)
        if update:
            authoring.refuse_file_deck(
                deck, advice=f"update the file instead: quizzer check --update {deck.source}"
            )
        for row in deck.questions:
            if not row.retired:
                items.append((row.name, transfer.question_file(row), None))
    return items


def foreign_sources(sources: Iterable[str]) -> list[str]:
    """The deck files among ``sources`` that are not bundled with quizzer, each once, in
    order: the code whose running ``--trust`` decides where the sandbox is no boundary."""
    from quizzer.importing import bundled_decks_dir

    bundled = bundled_decks_dir().resolve()
    found: list[str] = []
    for source in sources:
        if not Path(source).resolve().is_relative_to(bundled) and source not in found:
            found.append(source)
    return found


def deck_sources(session: Session, decks: Sequence[str]) -> list[str]:
    """The deck files the stored ``decks`` were imported from (your own decks have none)."""
    from quizzer import store

    return [
        source for slug in decks if (source := store.get_deck(session, slug).source) is not None
    ]


def store_answers(
    session: Session, answers: dict[str, dict[int, str]], *, now: datetime
) -> list[str]:
    """Store new answers for stored questions (by ``DECK/ID`` and variant number);
    returns the names updated."""
    from quizzer import authoring, store, transfer

    for name, by_variant in answers.items():
        question = store.get_question(session, name)
        current = transfer.question_file(question)
        edited = current.with_variant_answers({k: v for k, v in by_variant.items() if k})
        if 0 in by_variant:
            edited = authoring.with_answer(edited, by_variant[0], source=name)
        authoring.custom_deck(session, question.deck.slug, now=now)
        authoring.apply_edit(session, question, edited, now=now)
    return list(answers)


# --- add and edit: computing and verifying one question's answer ---------------------


def wrong_answers(
    questions: Sequence[Question], *, interpreter: str | None, label: str
) -> list[CheckResult]:
    """The predict_output ``questions`` whose answer is not what CPython prints.

    A snippet stopped by the sandbox is refused (QuizzerError): its output is no answer.
    """
    report = check_questions([(f"{label}/{q.id}", q) for q in questions], python=interpreter)
    for result in report.failed:
        if result.run is not None and _cut_short(result.run):
            raise QuizzerError(
                f"{result.label}: the code was stopped by the sandbox: {result.reason}"
            )
    return list(report.failed)


def computed_answer(question: Question, *, interpreter: str | None, label: str) -> str:
    """What CPython prints for ``question``'s code, refused if its ``python:`` range excludes
    the interpreter (the output of another version is not the answer it claims)."""
    version = interpreter_version(interpreter)
    if not question.applies_to(version):
        which = "this Python" if interpreter is None else interpreter
        raise QuizzerError(
            f"{label}: the answer is for python{question.python} but {which} is {version}; "
            "give it with --answer, or run the code with --interpreter PATH of a matching Python"
        )
    run = run_snippet(question.code or "", python=interpreter)
    if _cut_short(run):
        raise QuizzerError(f"{label}: the code was stopped by the sandbox: {run.reason}")
    return answer_from_run(run)
