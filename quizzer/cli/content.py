"""Commands on questions' content: check, export, schema, add, edit, delete."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from quizzer.cli import (
    UTF8_TEXT,
    command,
    complete_decks,
    complete_names,
    database_of,
    deck_option,
    echo_json,
    progress_bar,
    settings_of,
    utc_now,
)
from quizzer.cli.visible import echo
from quizzer.errors import QuizzerError

#: Bounds of check's limits: generous for any quiz snippet, and far inside what the
#: clock and rlimit arithmetic can represent (an infinite timeout overflows them).
MAX_SECONDS = 3600
MAX_MEMORY_MIB = 1024 * 1024  # 1 TiB
MAX_JOBS = 256


class Seconds(click.FloatRange):
    """A number of seconds within a range; NaN, which every comparison lets through, is not."""

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


def _limits(timeout: float | None, cpu: int | None, memory: int | None) -> Any:
    """The sandbox's limits, with the ones given on the command line."""
    from dataclasses import replace

    from quizzer import sandbox

    limits = sandbox.DEFAULT_LIMITS
    if timeout is not None:
        limits = replace(limits, wall_seconds=timeout)
    if cpu is not None:
        limits = replace(limits, cpu_seconds=cpu)
    if memory is not None:
        limits = replace(limits, memory_bytes=memory * sandbox.MiB)
    return limits


def _limit_options(function: Any) -> Any:
    """--timeout, --cpu and --memory, as check takes them."""
    function = click.option(
        "--memory",
        type=click.IntRange(min=16, max=MAX_MEMORY_MIB),
        metavar="MIB",
        help="Memory per snippet in MiB (default 512).",
    )(function)
    function = click.option(
        "--cpu",
        type=click.IntRange(min=1, max=MAX_SECONDS),
        metavar="S",
        help="CPU seconds per snippet (default 5).",
    )(function)
    return click.option(
        "--timeout",
        type=Seconds(min=0.1, max=MAX_SECONDS),
        metavar="S",
        help="Wall-clock seconds per snippet (default 10).",
    )(function)


def describe_boundary() -> Any:
    """What this machine's sandbox enforces (``quizzer.sandbox.boundary.describe()``)."""
    from quizzer.sandbox.boundary import describe

    return describe()


def refuse_untrusted(sources: list[str], *, trust: bool) -> None:
    """Where the sandbox's kernel boundary is not enforced, refuse to run code from the deck
    files among ``sources`` that are not bundled with quizzer, unless ``trust``; say so in
    one line either way. Bundled decks and the user's own questions run as they always did.
    """
    from quizzer import checking

    foreign = checking.foreign_sources(sources)
    if not foreign:
        return
    boundary = describe_boundary()
    if boundary.enforced:
        return
    more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
    why = boundary.reason or "no kernel boundary"
    if trust:
        echo(
            f"note: the sandbox is no security boundary here ({why}); running code from "
            f"{foreign[0]}{more} with your rights, as --trust says",
            err=True,
        )
        return
    raise QuizzerError(
        f"the sandbox is no security boundary here ({why}): code from {foreign[0]}{more}, "
        "a deck file not bundled with quizzer, is not run; pass --trust to run it anyway "
        "with your rights (`quizzer check --sandbox-info` says what is enforced)"
    )


def _trust_option(function: Any) -> Any:
    return click.option(
        "--trust",
        is_flag=True,
        help="Run code from deck files even where the sandbox is no security boundary.",
    )(function)


def sandbox_info_lines() -> list[str]:
    """What this machine enforces around a snippet, a fact a line (check --sandbox-info)."""
    found = describe_boundary()
    landlock = (
        f"Landlock ABI {found.landlock_abi}" if found.landlock_abi is not None else "no Landlock"
    )
    lines = [
        f"kernel boundary: {'enforced' if found.enforced else 'NOT enforced'}"
        + ("" if found.enforced or not found.reason else f" ({found.reason})"),
        f"landlock: {landlock}",
        f"seccomp: {'yes' if found.seccomp else 'no'}",
        f"no_new_privs: {'yes' if found.no_new_privs else 'no'}",
        f"uid drop (when run as root): {'yes' if found.uid_drop else 'no'}",
    ]
    if not found.enforced:
        lines.append(
            "code from deck files not bundled with quizzer runs only with --trust; "
            "bundled decks and your own `add` run as they are"
        )
    return lines


@command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--deck",
    "decks",
    multiple=True,
    type=UTF8_TEXT,
    shell_complete=complete_decks,
    metavar="SLUG",
    help="Check stored questions of a deck.",
)
@click.option("--update", is_flag=True, help="Write what CPython prints back as the answers.")
@click.option(
    "--python",
    "--interpreter",
    "pythons",
    multiple=True,
    type=UTF8_TEXT,
    metavar="PYTHON",
    help="Python to run snippets with: a path, a command, a version (3.12) or 'all' "
    "(every CPython found); repeat for several (default: this one).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=MAX_JOBS),
    metavar="N",
    help="Snippets at a time (default: CPUs).",
)
@_limit_options
@_trust_option
@click.option(
    "--sandbox-info", is_flag=True, help="Print what this machine's sandbox enforces, and stop."
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@click.pass_context
def check_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    decks: tuple[str, ...],
    update: bool,
    pythons: tuple[str, ...],
    jobs: int | None,
    timeout: float | None,
    cpu: int | None,
    memory: int | None,
    trust: bool,
    sandbox_info: bool,
    as_json: bool,
) -> None:
    """Run predict_output code in the sandbox and compare with the stored answers.

    PATHS are deck files or folders; --deck checks questions in the database. Each
    failure is shown as soon as its snippet ends, with a diff (cut after 200 lines; none
    for a run stopped by a limit); the exit status is 1 if anything failed. With
    --update the actual outputs are written back (deck files keep their comments and
    layout; stored questions of your own decks are updated; a deck loaded from a file is
    refused: check that file).
    Answers are compared whole, an uncaught exception's last line as CPython prints it (in
    a review that line also counts as right typed as the exception's type alone).
    Where the sandbox is no security boundary (see --sandbox-info), code from deck files
    not bundled with quizzer runs only with --trust. With several Pythons (--python 3.11
    --python 3.13, or --python all) each snippet runs on each, and a matrix of pass and
    FAIL is printed; --update then writes the answers each version printed, as version
    ranges (answers_by_python) where they differ.
    """
    from quizzer import checking
    from quizzer.bulk import end_startup
    from quizzer.cli import render

    if sandbox_info:
        for line in sandbox_info_lines():
            echo(line)
        return
    if not paths and not decks:
        raise click.UsageError("name deck files or folders, or --deck SLUG")
    limits = _limits(timeout, cpu, memory)
    items = checking.file_items(paths) if paths else []
    sources = [str(source) for _, _, source in items if source is not None]
    if decks:
        with database_of(ctx) as database, database.reading() as session:
            items += checking.stored_items(session, decks, update=update)
            sources += checking.deck_sources(session, decks)
    refuse_untrusted(sources, trust=trust)
    runnable = sum(1 for _, q, _ in items if q.type == "predict_output")
    if len(pythons) > 1 or "all" in pythons:
        _check_matrix(ctx, items, pythons, update=update, limits=limits, jobs=jobs, as_json=as_json)
        return
    python = _interpreter(pythons[0]) if pythons else None
    end_startup()  # when only files were named, no database was opened

    def shown(result: checking.CheckResult) -> None:
        """A failure is told as soon as its run ends, not after the slowest snippet."""
        if result.status != "failed" or as_json:
            return
        echo(f"FAIL {result.label}: {result.reason}" if result.reason else f"FAIL {result.label}")
        run = result.run
        cut_short = run is not None and (run.stopped or run.limit is not None)
        # A runaway snippet's output is not an answer: its diff would only bury the reason.
        if result.diff and not cut_short:
            render.echo_diff(result.diff)

    # While the bar is shown, rich sends what is written to stdout above it.
    with progress_bar("checking") as bar:
        task = bar.add_task("check", total=runnable, visible=runnable >= 20)
        report = checking.check(
            items,
            python=python,
            limits=limits,
            jobs=jobs,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            each=shown,
        )
    if as_json:
        data = report.to_json()
        if update:
            data["updated"] = []
            left = _write_back(ctx, report, said=data["updated"].append)
        else:
            left = len(report.failed)
        echo_json(data)
        if left:
            ctx.exit(1)
        return
    for line in report.repeats:
        echo(f"note: {line}")
    echo(report.summary())
    left = _write_back(ctx, report, said=click.echo) if update else len(report.failed)
    if left:
        ctx.exit(1)


def _interpreter(name: str) -> str:
    """The path of the interpreter a --python (or --interpreter) value names: a path, a
    command, a version; a pyenv shim resolved to its Python, or refused in one line."""
    from quizzer.sandbox import pythons

    return pythons.resolve(name).path


def _check_matrix(
    ctx: click.Context,
    items: list[Any],
    names: tuple[str, ...],
    *,
    update: bool,
    limits: Any,
    jobs: int | None,
    as_json: bool,
) -> None:
    """check on several Pythons: each snippet on each, a matrix of the verdicts."""
    from quizzer import checking
    from quizzer.bulk import end_startup
    from quizzer.cli import render
    from quizzer.sandbox import pythons

    chosen = pythons.resolve_many(names)
    end_startup()
    if len(chosen) < 2:
        found = ", ".join(p.version for p in chosen) or "none"
        echo(f"note: only one Python found ({found}): no matrix to draw", err=True)
    runnable = sum(1 for _, q, _ in items if q.type == "predict_output") * len(chosen)
    reports = []
    with progress_bar("checking") as bar:
        task = bar.add_task("check", total=runnable, visible=runnable >= 20)
        done_before = 0

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done_before + done)

        for python in chosen:
            report = checking.check(
                items, python=python.path, limits=limits, jobs=jobs, progress=progress
            )
            done_before += sum(1 for r in report.results if r.status != "skipped")
            reports.append(report)
    matrix = checking.Matrix(tuple(reports))
    if as_json:
        data = matrix.to_json()
        if update:
            data["updated"] = []
            left = _write_matrix_back(ctx, matrix, said=data["updated"].append)
        else:
            left = matrix.failed
        echo_json(data)
        if left:
            ctx.exit(1)
        return
    render.echo_matrix(matrix)
    left = _write_matrix_back(ctx, matrix, said=echo) if update else matrix.failed
    if left:
        ctx.exit(1)


def _write_matrix_back(ctx: click.Context, matrix: Any, *, said: Callable[[str], object]) -> int:
    """Write each version's answers back (as version ranges where they differ); returns how
    many questions could not be written."""
    from quizzer.deckfile import rewrite

    for label in matrix.not_updatable():
        said(f"not updated: {label}: a run was stopped or hit a limit")
    for path, splits in matrix.answer_splits().items():
        changed = rewrite.update_version_answers(path, splits)
        said(f"{path}: {changed} answer{'s' if changed != 1 else ''} updated")
    stored = matrix.stored_labels()
    for label in stored:
        said(f"not updated: {label}: a stored question; check its deck file, or edit it")
    return len(matrix.not_updatable()) + len(stored)


def _write_back(ctx: click.Context, report: Any, *, said: Callable[[str], object]) -> int:
    """Store the actual outputs of failed questions, telling ``said`` what was done;
    returns how many could not be stored."""
    from quizzer import checking
    from quizzer.deckfile import rewrite

    skipped = report.not_updatable()
    for result in skipped:
        said(f"not updated: {result.label}: {result.reason}")
    for path, answers in report.answer_updates().items():
        changed = rewrite.update_answers(path, answers)
        said(f"{path}: {changed} answer{'s' if changed != 1 else ''} updated")
    for path, by_id in report.variant_updates().items():
        changed = rewrite.update_variant_answers(path, by_id)
        said(f"{path}: {changed} variant answer{'s' if changed != 1 else ''} updated")
    for path, splits in report.split_updates().items():
        changed = rewrite.update_version_answers(path, splits)
        said(f"{path}: {changed} answer{'s' if changed != 1 else ''} by version updated")
    stored = report.stored_updates()
    if stored:
        with database_of(ctx) as database, database.transaction() as session:
            for name in checking.store_answers(session, stored, now=utc_now()):
                said(f"{name}: answer updated")
    return len(skipped)


# --- export ---------------------------------------------------------------------------


@command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    metavar="PATH",
    help="The .apkg file to write (a folder with --format yaml).",
)
@deck_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["apkg", "yaml"]),
    default="apkg",
    show_default=True,
    help="An Anki package, or deck files.",
)
@click.option(
    "--with-trace",
    is_flag=True,
    help="Run each predict_output snippet traced and put the trace on the card's back.",
)
@_trust_option
@click.option(
    "--with-progress",
    is_flag=True,
    help="Add each card's schedule and its graded answers (Anki's review log).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@click.pass_context
def export_command(
    ctx: click.Context,
    output: Path,
    decks: tuple[str, ...],
    fmt: str,
    with_trace: bool,
    trust: bool,
    with_progress: bool,
    as_json: bool,
) -> None:
    """Write an Anki package (.apkg) of every deck, or of some; or deck files (--format yaml).

    Exporting again after edits updates the notes in Anki rather than duplicating them;
    the file is written atomically. With --format yaml each deck (your own ones too)
    becomes OUTPUT/<slug>.yaml, which `quizzer import` reads back. --with-trace runs
    every predict_output snippet traced, in the sandbox, and adds the whole trace, folded,
    after the explanation (where the sandbox is no kernel boundary, code of decks imported
    from files not bundled with quizzer needs --trust). A question with answers by version
    gets the answer for `config python`. --with-progress brings each card's
    schedule and review log along, for Anki's "Import any learning progress".
    """
    if with_trace and fmt != "apkg":
        raise click.UsageError("--with-trace is for Anki packages (--format apkg)")
    if with_progress and fmt != "apkg":
        raise click.UsageError("--with-progress is for Anki packages (--format apkg)")
    if fmt == "yaml":
        from quizzer import transfer

        with database_of(ctx) as database, database.reading() as session:
            written = transfer.export_yaml(session, output, decks=decks)
        if as_json:
            echo_json({"format": "yaml", "files": [str(path) for path in written]})
            return
        for path in written:
            echo(f"wrote {path}")
        return
    if output.suffix != ".apkg":
        raise click.BadParameter("an Anki package's name ends in .apkg", param_hint="'-o'")
    direct = None
    if not (with_progress or with_trace):
        from quizzer import exportread

        # An up-to-date SQLite collection is read without SQLAlchemy (whose import alone
        # takes longer than exporting the bundled decks); anything else as usual.
        settings = settings_of(ctx)
        direct = exportread.read_direct(settings.db, decks=decks, today=settings.day())
    if direct is None:
        questions, highlighted = _export_read(ctx, decks, with_progress, with_trace, trust)
    else:
        from quizzer.bulk import end_startup

        end_startup()  # as database_of does once the command has loaded what it needs
        questions, highlighted = direct
    from quizzer import anki

    cached = set(highlighted)
    # The bar shows from 1000 notes; below, rich.progress is not even imported.
    with progress_bar("exporting", shown=len(questions) >= 1000) as bar:
        task = bar.add_task("export", total=len(questions))
        summary = anki.export_apkg(
            questions,
            output,
            progress=lambda done: bar.update(task, completed=done),
            highlighted=highlighted,
        )
    fresh = {key: value for key, value in highlighted.items() if key not in cached}
    if fresh:
        _remember_highlights(ctx, fresh)
    if as_json:
        echo_json(
            {
                "format": "apkg",
                "path": str(summary.path),
                "notes": summary.notes,
                "cards": summary.cards,
                "decks": list(summary.decks),
            }
        )
        return
    echo(
        f"wrote {summary.path}: {summary.notes} notes, {summary.cards} cards, "
        f"{len(summary.decks)} deck{'s' if len(summary.decks) != 1 else ''}"
    )


def _export_read(
    ctx: click.Context,
    decks: tuple[str, ...],
    with_progress: bool,
    with_trace: bool,
    trust: bool,
) -> tuple[list[Any], dict[str, str]]:
    """The questions an Anki export writes and their cached highlighting, read through
    the database (``quizzer.db``); with their traces for ``--with-trace``."""
    from quizzer import collection, transfer

    sources: list[str] = []
    with database_of(ctx) as database, database.reading() as session:
        fsrs = None
        if with_progress:
            from quizzer import review

            if review.scheduler_in_use(session) == "fsrs":
                fsrs = review.fsrs_config(session)
        questions = transfer.export_questions(
            session,
            decks=decks,
            today=settings_of(ctx).day(),
            python=collection.target_python(session),
            with_progress=with_progress,
            fsrs=fsrs,
        )
        highlighted = transfer.cached_highlights(session, (q.code for q in questions))
        if with_trace:
            from quizzer import checking

            slugs = sorted({q.deck_slug for q in questions if q.type == "predict_output"})
            sources = checking.deck_sources(session, slugs)
    if with_trace:
        refuse_untrusted(sources, trust=trust)
        questions = _with_traces(questions)
    return questions, highlighted


def _remember_highlights(ctx: click.Context, fresh: dict[str, str]) -> None:
    """Keep what an export highlighted for the next one. The package is written: a cache
    that cannot be kept (a read-only database) only costs the next export its
    highlighting."""
    from sqlalchemy.exc import OperationalError

    from quizzer import transfer

    try:
        with database_of(ctx) as database, database.transaction() as session:
            transfer.remember_highlights(session, fresh)
    except (QuizzerError, OperationalError):
        pass


def _with_traces(questions: list[Any]) -> list[Any]:
    """The questions, predict_output ones with a folded trace of their code (run in parallel,
    in the sandbox; skipped where the question's ``python:`` range excludes this Python)."""
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from packaging.specifiers import SpecifierSet

    from quizzer.sandbox import interpreter_version
    from quizzer.sandbox.tracing import folded, trace_snippet

    version = interpreter_version()
    wanted = [
        i
        for i, q in enumerate(questions)
        if q.type == "predict_output"
        and q.code
        and (q.python is None or SpecifierSet(q.python).contains(version))
    ]
    traced = list(questions)
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    try:
        with progress_bar("tracing") as bar:
            task = bar.add_task("trace", total=len(wanted), visible=len(wanted) >= 20)
            runs = pool.map(lambda i: folded(trace_snippet(questions[i].code, stop=stop)), wanted)
            for done, (index, text) in enumerate(zip(wanted, runs, strict=True), start=1):
                traced[index] = replace(questions[index], trace=text)
                bar.update(task, completed=done)
    except BaseException:
        # Ctrl-C: the running traces are killed, the queued ones never start (as in check).
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return traced


def _read_code_file(code_file: Path) -> str:
    """The text of a --code-file (``-``: stdin), or one line saying why it cannot be had."""
    try:
        data = sys.stdin.buffer.read() if str(code_file) == "-" else _read_file(code_file)
        return data.decode("utf-8")
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {code_file}: {exc.strerror or exc}", param_hint="'--code-file'"
        ) from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        name = "<stdin>" if str(code_file) == "-" else code_file
        raise click.BadParameter(
            f"{name} is not UTF-8 text (it holds the byte 0x{byte:02x})",
            param_hint="'--code-file'",
        ) from None


def _read_file(path: Path) -> bytes:
    """The bytes of a file named on the command line; a FIFO, device or socket is refused
    with one line (reading a FIFO would wait for a writer forever)."""
    from quizzer.files import open_regular

    with open_regular(path) as handle:
        return handle.read()


# --- trace ----------------------------------------------------------------------------


@command("trace")
@click.argument(
    "name", metavar="DECK/ID", type=UTF8_TEXT, required=False, shell_complete=complete_names
)
@click.option(
    "--code-file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Trace the code in this file instead ('-': stdin).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the steps as JSON.")
@click.option(
    "--interpreter", metavar="PATH", help="Python to run the code with (default: this one)."
)
@_limit_options
@_trust_option
@click.pass_context
def trace_command(
    ctx: click.Context,
    name: str | None,
    code_file: Path | None,
    as_json: bool,
    interpreter: str | None,
    timeout: float | None,
    cpu: int | None,
    memory: int | None,
    trust: bool,
) -> None:
    """Run a predict_output question's code step by step, in the sandbox, and show each step.

    Each step is a line as it runs (in its function and frame), a call, a return, an
    exception, a decorator applied, a generator suspended or resumed, a context manager
    entered or left; with the names it changed and what it printed. The trace is cut
    after 2000 steps. It runs in the sandbox with check's limits (--timeout, --cpu,
    --memory as check takes them).
    """
    from rich.console import Console

    from quizzer.cli import reconfigure_output
    from quizzer.cli.trace_view import print_trace
    from quizzer.sandbox.tracing import trace_snippet

    if (name is None) == (code_file is None):
        raise click.UsageError("name a question (DECK/ID) or give --code-file, not both")
    interpreter = _interpreter(interpreter) if interpreter else None
    if code_file is not None:
        # Read here, not by click.File: a usage error in a later option leaves no file open.
        code = _read_code_file(code_file)
        title = f"Trace of {code_file}"
    else:
        from quizzer import store

        assert name is not None
        with database_of(ctx) as database, database.reading() as session:
            question = store.get_question(session, name)
            kind, found, versions = question.type, question.code, question.python
            source = question.deck.source
        if kind != "predict_output" or not found:
            raise QuizzerError(f"{name}: only predict_output questions have code to trace")
        code, title = found, f"Trace of {name}"
        refuse_untrusted([source] if source else [], trust=trust)
        if versions is not None:
            from packaging.specifiers import SpecifierSet

            from quizzer.sandbox import interpreter_version

            version = interpreter_version(interpreter)
            if not SpecifierSet(versions).contains(version):
                echo(
                    f"note: {name}'s answer is for python{versions}; this trace runs {version}",
                    err=True,
                )
    trace = trace_snippet(code, python=interpreter, limits=_limits(timeout, cpu, memory))
    if as_json:
        echo_json(trace.to_json())
        return
    reconfigure_output()
    print_trace(Console(highlight=False), trace, title)
    if trace.run.stderr and not trace.exception and trace.run.exit_status:
        echo(trace.run.stderr.rstrip("\n"), err=True)


# --- schema ---------------------------------------------------------------------------


@command("schema")
def schema_command() -> None:
    """Print the JSON Schema of deck files, for editors (e.g. yaml-language-server)."""
    from quizzer import deckfile

    echo_json(deckfile.json_schema())


# --- add, edit, delete ----------------------------------------------------------------


def _verify(questions: list[Any], *, force: bool, interpreter: str | None, label: str) -> None:
    """Run predict_output code and refuse answers CPython does not print (unless forced)."""
    from quizzer import checking
    from quizzer.cli import render

    for result in checking.wrong_answers(questions, interpreter=interpreter, label=label):
        if force:
            echo(
                f"warning: {result.label}: storing an answer CPython does not print (--force)",
                err=True,
            )
            continue
        render.echo_diff(result.diff, err=True)
        raise QuizzerError(
            f"{result.label}: field 'answer': not what CPython prints (diff above); fix it, "
            "leave --answer out to store the real output, or --force"
        )


@command("add")
@click.option(
    "--deck",
    metavar="SLUG",
    type=UTF8_TEXT,
    shell_complete=complete_decks,
    help="Your deck to add to (made if it does not exist).",
)
@click.option("--type", "qtype", type=click.Choice(["predict_output", "multiple_choice", "recall"]))
@click.option("--prompt", type=UTF8_TEXT, help="The question.")
@click.option(
    "--code",
    type=UTF8_TEXT,
    help="Code shown with the question (predict_output: the code to run).",
)
@click.option(
    "--code-file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Read the code from a file ('-': stdin).",
)
@click.option(
    "--answer",
    type=UTF8_TEXT,
    help="The answer (predict_output: computed by running the code if left out).",
)
@click.option(
    "--choice",
    "choices",
    type=UTF8_TEXT,
    multiple=True,
    help="A choice (multiple_choice; repeat).",
)
@click.option("--explanation", type=UTF8_TEXT, help="Why the answer is what it is.")
@click.option("--tag", "tags", type=UTF8_TEXT, multiple=True, help="A tag (repeatable).")
@click.option(
    "--python",
    "python_range",
    type=UTF8_TEXT,
    metavar="RANGE",
    help="Versions the answer holds for, e.g. '>=3.12'.",
)
@click.option(
    "--id", "qid", type=UTF8_TEXT, help="The question id (default: made from the prompt)."
)
@click.option("--title", type=UTF8_TEXT, help="Title of a new deck (default: its slug).")
@click.option(
    "--from",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Add the questions of a YAML file: a deck file, or a list of questions.",
)
@click.option("--interpreter", metavar="PATH", help="Python to run code with (default: this one).")
@click.option("--force", is_flag=True, help="Store a predict_output answer CPython does not print.")
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help="Store the computed output (--from: run the file's code) without asking.",
)
@click.option(
    "--vary",
    is_flag=True,
    help="Also store the mechanical variants whose output is new (see `quizzer vary`).",
)
@_trust_option
@click.pass_context
def add_command(ctx: click.Context, /, **options: Any) -> None:
    """Add your own question, from flags, a YAML file, or prompts (on a terminal).

    A predict_output question without --answer runs its code in the sandbox and stores
    what CPython prints, after you confirm it (refused when --python excludes the
    interpreter); with --answer the answer is verified and a mismatch is refused (shown
    as a diff) unless --force. --from asks before it runs the file's code (-y: do not
    ask); where the sandbox is no security boundary it needs --trust too.
    """
    from quizzer import authoring, checking

    if options["interpreter"]:
        options["interpreter"] = _interpreter(options["interpreter"])
    if options["from_file"] is not None:
        _add_from_file(ctx, options)
        return
    if options["qtype"] is None and options["prompt"] is None:
        if not sys.stdin.isatty():
            raise click.UsageError(
                "give --type and --prompt (or --from FILE); prompts need a terminal"
            )
        _ask_fields(options)
    for required in ("deck", "qtype", "prompt"):
        if not options[required]:
            flag = "--type" if required == "qtype" else f"--{required}"
            raise click.UsageError(f"{flag} is needed")
    code = options["code"]
    if options["code_file"] is not None:
        if code is not None:
            raise click.UsageError("give --code or --code-file, not both")
        code = _read_code_file(options["code_file"])
    slug = options["deck"]
    with database_of(ctx) as database:
        with database.transaction() as session:
            deck = authoring.custom_deck(session, slug, now=utc_now(), title=options["title"])
            taken = authoring.existing_qids(session, deck)
            session.rollback()
        qid = options["qid"] or authoring.unique_qid(taken, authoring.slugify(options["prompt"]))
        answer = options["answer"]
        compute = options["qtype"] == "predict_output" and answer is None and code and code.strip()
        item = {
            "id": qid,
            "type": options["qtype"],
            "prompt": options["prompt"],
            "code": code,
            "answer": answer if answer is not None else "",
            "choices": list(options["choices"]) or None,
            "explanation": options["explanation"],
            "tags": list(options["tags"]),
            "python": options["python_range"],
        }
        (question,) = authoring.validate_questions(
            [{k: v for k, v in item.items() if v is not None}],
            source=f"{slug}/{qid}",
            single=True,
        )
        if compute:
            # Validated first, with an empty answer: a bad field (or --python range) is
            # reported before any code runs.
            answer = checking.computed_answer(
                question, interpreter=options["interpreter"], label=f"{slug}/{qid}"
            )
            echo("CPython prints:")
            echo(answer.rstrip("\n") if answer.strip() else "(nothing)")
            if not options["yes"] and not click.confirm("Store this as the answer?", default=True):
                raise QuizzerError("not added")
            question = authoring.with_answer(question, answer, source=f"{slug}/{qid}")
        elif options["qtype"] == "predict_output":
            _verify(
                [question], force=options["force"], interpreter=options["interpreter"], label=slug
            )
        if options["vary"]:
            question = _with_variants(
                question, label=f"{slug}/{qid}", python=options["interpreter"]
            )
        with database.transaction() as session:
            deck = authoring.custom_deck(session, slug, now=utc_now(), title=options["title"])
            authoring.add_questions(
                session, deck, [question], now=utc_now(), today=settings_of(ctx).day()
            )
    echo(f"Added {slug}/{question.id}.")


def _with_variants(question: Any, *, label: str, python: str | None) -> Any:
    """``question`` with the proposals of ``quizzer vary`` whose output is new, each told."""
    from quizzer import varying
    from quizzer.deckfile.models import Variant

    if question.type != "predict_output":
        raise click.UsageError("--vary is for predict_output questions")
    chosen = varying.prove(question, label=label, python=python).worth_having()
    for proven in chosen:
        echo(f"variant: {proven.proposal.kind}: {proven.proposal.description}")
    if not chosen:
        echo("No mechanical variant prints anything new; added without variants.")
        return question
    new = [Variant(code=p.proposal.code, answer=p.answer) for p in chosen]
    return question.model_copy(update={"variants": [*(question.variants or []), *new]})


def _ask_fields(options: dict[str, Any]) -> None:
    options["deck"] = options["deck"] or click.prompt("Deck (your own, e.g. my-notes)")
    options["qtype"] = click.prompt(
        "Type",
        type=click.Choice(["predict_output", "multiple_choice", "recall"]),
        default="predict_output",
    )
    options["prompt"] = click.prompt("Prompt", default="What does this print?")
    if options["qtype"] == "predict_output" or click.confirm("Show code with it?", default=False):
        code = click.edit("\n", extension=".py")
        options["code"] = code.strip("\n") + "\n" if code and code.strip() else None
    if options["qtype"] == "multiple_choice":
        choices: list[str] = []
        while True:
            choice = click.prompt(
                f"Choice {len(choices) + 1} (empty to finish)", default="", show_default=False
            )
            if not choice:
                break
            choices.append(choice)
        options["choices"] = tuple(choices)
        options["answer"] = click.prompt("The correct choice, exactly")
    elif options["qtype"] == "recall":
        options["answer"] = click.prompt("Answer")
    explanation = click.prompt("Explanation (why)", default="", show_default=False)
    options["explanation"] = explanation or None


def _add_from_file(ctx: click.Context, options: dict[str, Any]) -> None:
    from quizzer import authoring, deckfile

    path: Path = options["from_file"]
    # The reader `import` uses: whatever import refuses is refused here, in the same words.
    parsed = deckfile.load_questions_or_deck(path)
    if isinstance(parsed, list):
        if not options["deck"]:
            raise click.UsageError("a list of questions needs --deck SLUG")
        slug, title = options["deck"], options["title"]
        questions = parsed
    else:
        deckfile.refuse_missing_answers(path, parsed)
        slug = options["deck"] or parsed.deck
        title = options["title"] or parsed.title
        questions = list(parsed.questions)
    for question in questions:
        missing = question.missing_answers()
        if missing:
            raise QuizzerError(
                f"{path}: question {question.id!r}: field 'variants': variant {missing[0]} has "
                "no answer; give each variant its answer (`quizzer check --update` writes them "
                "into a deck file)"
            )
    runnable = [q for q in questions if q.type == "predict_output"]
    if runnable:
        refuse_untrusted([str(path)], trust=options["trust"])
        # Asked with no transaction open: a prompt never holds a lock.
        count = f"{len(runnable)} snippet{'s' if len(runnable) != 1 else ''}"
        if not options["yes"] and not click.confirm(
            f"Run the code of {path} ({count}) in the sandbox to verify the answers?",
            default=False,
        ):
            raise QuizzerError("not added: the file's code was not run")
    _verify(
        [q for q in questions if q.type == "predict_output"],
        force=options["force"],
        interpreter=options["interpreter"],
        label=slug,
    )
    with database_of(ctx) as database, database.transaction() as session:
        deck = authoring.custom_deck(session, slug, now=utc_now(), title=title)
        authoring.add_questions(
            session, deck, questions, now=utc_now(), today=settings_of(ctx).day()
        )
    echo(f"Added {len(questions)} question{'s' if len(questions) != 1 else ''} to {slug}.")


@command("edit")
@click.argument("name", metavar="DECK/ID", type=UTF8_TEXT, shell_complete=complete_names)
@click.option(
    "--interpreter", metavar="PATH", help="Python to verify code with (default: this one)."
)
@click.option("--force", is_flag=True, help="Keep a predict_output answer CPython does not print.")
@click.pass_context
def edit_command(ctx: click.Context, name: str, interpreter: str | None, force: bool) -> None:
    """Edit a question as YAML in $EDITOR; its schedule and history are kept.

    A predict_output question whose code or answer changed is verified again; when
    CPython prints something else you can store what it prints, edit again, or stop.
    Text that cannot be stored is never lost: it is kept, and the next `quizzer edit`
    of the question opens it again. Editing a card also unsuspends it (rewriting a
    leech is the cure).
    """
    from quizzer import authoring, checking, store, transfer
    from quizzer.cli import render

    interpreter = _interpreter(interpreter) if interpreter else None
    draft = _draft_path(settings_of(ctx).db, name)
    interactive = sys.stdin.isatty()
    with database_of(ctx) as database:
        with database.reading() as session:
            question = store.get_question(session, name)
            original = f"# {name}: save and close to apply; the id cannot change.\n"
            original += authoring.question_yaml(question)
            before = transfer.question_file(question)
            source = question.deck.source
        text = original
        if draft.exists():
            text = draft.read_text(encoding="utf-8")
            echo(f"Opening your unsaved edit of {name} again (kept in {draft}).")
        while True:
            edited_text = click.edit(text, extension=".yaml", require_save=True)
            if edited_text is None or edited_text in (original, text):
                echo(
                    "No change."
                    + (f" Your unsaved edit stays in {draft}." if draft.exists() else "")
                )
                return
            text = edited_text
            problem: str | None = None
            try:
                with database.reading() as session:
                    edited = authoring.parse_edited(
                        text, name=name, original=store.get_question(session, name)
                    )
            except QuizzerError as exc:
                problem = str(exc)
            if (
                problem is None
                and edited.type == "predict_output"
                and (
                    (edited.code, edited.answer, edited.python)
                    != (before.code, before.answer, before.python)
                )
            ):
                wrong = checking.wrong_answers(
                    [edited], interpreter=interpreter, label=name.split("/")[0]
                )
                if wrong and force:
                    echo(
                        f"warning: {name}: storing an answer CPython does not print (--force)",
                        err=True,
                    )
                elif wrong:
                    render.echo_diff(wrong[0].diff, err=True)
                    problem = f"{name}: field 'answer': not what CPython prints (diff above)"
                    if interactive:
                        choice = click.prompt(
                            "s(tore what CPython prints) / e(dit again) / q(uit)",
                            type=click.Choice(["s", "e", "q"]),
                            default="e",
                        )
                        if choice == "s":
                            answer = checking.computed_answer(
                                edited, interpreter=interpreter, label=name
                            )
                            edited = authoring.with_answer(edited, answer, source=name)
                            problem = None
                        elif choice == "e":
                            continue
            if problem is None:
                break
            _keep_draft(draft, text)
            if interactive and click.confirm(f"{problem}\nEdit again?", default=True):
                continue
            echo(f"Your text is kept in {draft}; `quizzer edit {name}` opens it again.", err=True)
            raise QuizzerError(problem)
        with database.transaction() as session:
            changed = authoring.apply_edit(
                session, store.get_question(session, name), edited, now=utc_now()
            )
    draft.unlink(missing_ok=True)
    echo(f"{name}: {'updated' if changed else 'no change'}; schedule and history kept.")
    if changed and source:
        echo(f"note: this deck comes from {source}; importing that file again undoes this edit.")


def _draft_path(db: str | None, name: str) -> Path:
    """Where an edit that could not be stored is kept, per collection and question."""
    import hashlib

    from platformdirs import user_cache_path

    from quizzer.db import url_for

    collection = hashlib.sha256(url_for(db).encode()).hexdigest()[:12]
    return (
        user_cache_path("quizzer", appauthor=False)
        / "drafts"
        / collection
        / (name.replace("/", "--") + ".yaml")
    )


def _keep_draft(draft: Path, text: str) -> None:
    from quizzer.files import write_bytes_atomically

    draft.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(draft, text.encode("utf-8"))


@command("delete")
@click.argument("name", metavar="DECK/ID", type=UTF8_TEXT, shell_complete=complete_names)
@click.option("--purge", is_flag=True, help="Remove it and its review history for good.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before --purge.")
@click.pass_context
def delete_command(ctx: click.Context, name: str, purge: bool, yes: bool) -> None:
    """Retire a question (kept with its history, never asked); --purge removes it."""
    from quizzer import authoring, store

    with database_of(ctx) as database:
        if not purge:
            with database.transaction() as session:
                question = store.get_question(session, name)
                authoring.retire(session, question)
                source = question.deck.source
            echo(f"{name}: retired (its history is kept).")
            if not source:
                echo(f"`quizzer restore {name}` brings it back.")
            if source:
                echo(f"note: importing {source} again brings it back while the file has it.")
            return
        # Asked with no transaction open: a prompt never holds a lock.
        with database.reading() as session:
            reviews_count = len(store.history(session, store.get_question(session, name)))
        if not yes and not click.confirm(
            f"Delete {name} and its {reviews_count} reviews for good?", default=False
        ):
            raise QuizzerError("nothing deleted")
        with database.transaction() as session:
            removed = authoring.purge(session, store.get_question(session, name))
    echo(f"{name}: deleted with {removed} reviews.")


# --- vary -----------------------------------------------------------------------------


@command("vary")
@click.argument("name", metavar="DECK/ID", type=UTF8_TEXT, shell_complete=complete_names)
@click.option(
    "--file",
    "deck_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the question from this deck file (DECK/ID's ID in it), not the collection.",
)
@click.option(
    "--pick",
    "picked",
    type=click.IntRange(min=1),
    multiple=True,
    metavar="N",
    help="With --write: the proposals to add (default: every one whose output is new).",
)
@click.option("--write", is_flag=True, help="Add the chosen proposals as variants.")
@click.option("--interpreter", metavar="PATH", help="Python to run code with (default: this one).")
@_trust_option
@click.pass_context
def vary_command(
    ctx: click.Context,
    name: str,
    deck_path: Path | None,
    picked: tuple[int, ...],
    write: bool,
    interpreter: str | None,
    trust: bool,
) -> None:
    """Propose mechanical variants of a predict_output question, proven by running.

    Swaps two stacked decorators, changes an integer literal, reverses two independent
    statements, turns a generator's yield into return (or back). Each proposal is run in
    the sandbox and printed with its output and whether that output is new (only those
    are worth having). --write adds them (or the --pick'ed ones) to the deck file the
    question came from, with their answers; a question of your own deck is updated in
    the collection.
    """
    from quizzer import deckfile, store, varying
    from quizzer.deckfile import rewrite

    if picked and not write:
        raise click.UsageError("--pick chooses what --write adds; give --write too")
    slug, _, qid = name.partition("/")
    source: Path | None = deck_path
    if deck_path is not None:
        deck = deckfile.load_deck(deck_path)
        found = [q for q in deck.questions if q.id == (qid or slug)]
        if not found:
            raise QuizzerError(f"{deck_path}: no question with id {qid or slug!r}")
        question = found[0]
    else:
        with database_of(ctx) as database, database.reading() as session:
            row = store.get_question(session, name)
            from quizzer import transfer

            question = transfer.question_file(row)
            source = varying.source_file(row)
    if source is not None:
        refuse_untrusted([str(source)], trust=trust)
    proofs = varying.prove(question, label=name, python=interpreter)
    echo(f"{name}: its own code prints:")
    echo(_indented(proofs.original.output))
    if not proofs.proposals:
        echo("No mechanical variant fits this snippet.")
        return
    for proven in proofs.proposals:
        if proven.stopped:
            verdict = f"stopped: {proven.run.reason}"
        elif proven.existing:
            verdict = "output differs; a variant of this question already"
        else:
            verdict = "output differs" if proofs.differs(proven) else "same output as a variant"
        echo("")
        echo(f"{proven.number}. {proven.proposal.kind}: {proven.proposal.description}")
        echo(_indented(proven.proposal.code))
        echo(f"   prints ({verdict}):")
        echo(_indented(proven.run.output))
    if not write:
        return
    chosen = proofs.worth_having(picked)
    if not chosen:
        echo("Nothing to add: no proposal prints anything new.")
        return
    numbers = ", ".join(str(p.number) for p in chosen)
    if source is not None and deck_path is None and not source.exists():
        raise QuizzerError(f"{name}: its deck file {source} is gone; nothing written")
    if source is not None:
        added = rewrite.add_variants(
            source, question.id, [(p.proposal.code, p.answer) for p in chosen]
        )
        echo(f"{source}: {added} variant{'s' if added != 1 else ''} added ({numbers}).")
        return
    with database_of(ctx) as database, database.transaction() as session:
        added = varying.add_to_stored(
            session, store.get_question(session, name), chosen, now=utc_now()
        )
    echo(f"{name}: {added} variant{'s' if added != 1 else ''} added ({numbers}).")


def _indented(text: str) -> str:
    body = text.rstrip("\n")
    return "     " + body.replace("\n", "\n     ") if body else "     (nothing)"
