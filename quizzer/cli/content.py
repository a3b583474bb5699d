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
    "--interpreter",
    "--python",  # its old name: elsewhere --python is a version range, so it is not shown
    "python",
    metavar="PATH",
    help="Interpreter to run snippets with (default: this one).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=MAX_JOBS),
    metavar="N",
    help="Snippets at a time (default: CPUs).",
)
@_limit_options
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@click.pass_context
def check_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    decks: tuple[str, ...],
    update: bool,
    python: str | None,
    jobs: int | None,
    timeout: float | None,
    cpu: int | None,
    memory: int | None,
    as_json: bool,
) -> None:
    """Run predict_output code in the sandbox and compare with the stored answers.

    PATHS are deck files or folders; --deck checks questions in the database. Each
    failure is shown with a diff (cut after 200 lines; none for a run stopped by a
    limit); the exit status is 1 if anything failed. With --update the actual outputs
    are written back (deck files keep their comments and layout; stored questions of
    your own decks are updated; a deck loaded from a file is refused: check that file).
    """
    from quizzer import checking
    from quizzer.bulk import end_startup
    from quizzer.cli import render

    if not paths and not decks:
        raise click.UsageError("name deck files or folders, or --deck SLUG")
    limits = _limits(timeout, cpu, memory)
    items = checking.file_items(paths) if paths else []
    if decks:
        with database_of(ctx) as database, database.reading() as session:
            items += checking.stored_items(session, decks, update=update)
    runnable = sum(1 for _, q, _ in items if q.type == "predict_output")
    end_startup()  # when only files were named, no database was opened
    with progress_bar("checking") as bar:
        task = bar.add_task("check", total=runnable, visible=runnable >= 20)
        report = checking.check(
            items,
            python=python,
            limits=limits,
            jobs=jobs,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
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
    for result in report.failed:
        click.echo(
            f"FAIL {result.label}: {result.reason}" if result.reason else f"FAIL {result.label}"
        )
        run = result.run
        cut_short = run is not None and (run.stopped or run.limit is not None)
        # A runaway snippet's output is not an answer: its diff would only bury the reason.
        if result.diff and not cut_short:
            render.echo_diff(result.diff)
    click.echo(report.summary())
    left = _write_back(ctx, report, said=click.echo) if update else len(report.failed)
    if left:
        ctx.exit(1)


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
    with_progress: bool,
    as_json: bool,
) -> None:
    """Write an Anki package (.apkg) of every deck, or of some; or deck files (--format yaml).

    Exporting again after edits updates the notes in Anki rather than duplicating them;
    the file is written atomically. With --format yaml each deck (your own ones too)
    becomes OUTPUT/<slug>.yaml, which `quizzer import` reads back. --with-trace runs
    every predict_output snippet traced, in the sandbox, and adds the whole trace, folded,
    after the explanation. --with-progress brings each card's schedule and review log
    along, for Anki's "Import any learning progress".
    """
    from quizzer import transfer

    if with_trace and fmt != "apkg":
        raise click.UsageError("--with-trace is for Anki packages (--format apkg)")
    if with_progress and fmt != "apkg":
        raise click.UsageError("--with-progress is for Anki packages (--format apkg)")
    if fmt == "yaml":
        with database_of(ctx) as database, database.reading() as session:
            written = transfer.export_yaml(session, output, decks=decks)
        if as_json:
            echo_json({"format": "yaml", "files": [str(path) for path in written]})
            return
        for path in written:
            click.echo(f"wrote {path}")
        return
    if output.suffix != ".apkg":
        raise click.BadParameter("an Anki package's name ends in .apkg", param_hint="'-o'")
    with database_of(ctx) as database:
        with database.reading() as session:
            fsrs = None
            if with_progress:
                from quizzer import review

                if review.scheduler_in_use(session) == "fsrs":
                    fsrs = review.fsrs_config(session)
            questions = transfer.export_questions(
                session, decks=decks, with_progress=with_progress, fsrs=fsrs
            )
            highlighted = transfer.cached_highlights(session, (q.code for q in questions))
        if with_trace:
            questions = _with_traces(questions)
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
            from sqlalchemy.exc import OperationalError

            # The package is written: a cache that cannot be kept (a read-only database)
            # only costs the next export its highlighting.
            try:
                with database.transaction() as session:
                    transfer.remember_highlights(session, fresh)
            except (QuizzerError, OperationalError):
                pass
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
    click.echo(
        f"wrote {summary.path}: {summary.notes} notes, {summary.cards} cards, "
        f"{len(summary.decks)} deck{'s' if len(summary.decks) != 1 else ''}"
    )


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
    if code_file is not None:
        # Read here, not by click.File: a usage error in a later option leaves no file open.
        try:
            data = sys.stdin.buffer.read() if str(code_file) == "-" else code_file.read_bytes()
            code = data.decode("utf-8")
        except OSError as exc:
            raise click.BadParameter(
                f"cannot read {code_file}: {exc.strerror or exc}", param_hint="'--code-file'"
            ) from None
        except UnicodeDecodeError as exc:
            raise click.BadParameter(
                f"not UTF-8 text (it holds the byte 0x{exc.object[exc.start]:02x})",
                param_hint="'--code-file'",
            ) from None
        title = f"Trace of {code_file}"
    else:
        from quizzer import store

        assert name is not None
        with database_of(ctx) as database, database.reading() as session:
            question = store.get_question(session, name)
            kind, found, versions = question.type, question.code, question.python
        if kind != "predict_output" or not found:
            raise QuizzerError(f"{name}: only predict_output questions have code to trace")
        code, title = found, f"Trace of {name}"
        if versions is not None:
            from packaging.specifiers import SpecifierSet

            from quizzer.sandbox import interpreter_version

            version = interpreter_version(interpreter)
            if not SpecifierSet(versions).contains(version):
                click.echo(
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
        click.echo(trace.run.stderr.rstrip("\n"), err=True)


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
            click.echo(
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
    type=click.File("r", encoding="utf-8"),
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
@click.option("-y", "--yes", is_flag=True, help="Store the computed output without asking.")
@click.pass_context
def add_command(ctx: click.Context, /, **options: Any) -> None:
    """Add your own question, from flags, a YAML file, or prompts (on a terminal).

    A predict_output question without --answer runs its code in the sandbox and stores
    what CPython prints, after you confirm it (refused when --python excludes the
    interpreter); with --answer the answer is verified and a mismatch is refused (shown
    as a diff) unless --force.
    """
    from quizzer import authoring, checking

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
        code_file = options["code_file"]
        try:
            code = code_file.read()
        except UnicodeDecodeError as exc:
            byte = exc.object[exc.start]
            raise click.BadParameter(
                f"{code_file.name} is not UTF-8 text (it holds the byte 0x{byte:02x})",
                param_hint="'--code-file'",
            ) from None
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
            click.echo("CPython prints:")
            click.echo(answer.rstrip("\n") if answer.strip() else "(nothing)")
            if not options["yes"] and not click.confirm("Store this as the answer?", default=True):
                raise QuizzerError("not added")
            question = authoring.with_answer(question, answer, source=f"{slug}/{qid}")
        elif options["qtype"] == "predict_output":
            _verify(
                [question], force=options["force"], interpreter=options["interpreter"], label=slug
            )
        with database.transaction() as session:
            deck = authoring.custom_deck(session, slug, now=utc_now(), title=options["title"])
            authoring.add_questions(
                session, deck, [question], now=utc_now(), today=settings_of(ctx).day()
            )
    click.echo(f"Added {slug}/{question.id}.")


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
        slug = options["deck"] or parsed.deck
        title = options["title"] or parsed.title
        questions = list(parsed.questions)
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
    click.echo(f"Added {len(questions)} question{'s' if len(questions) != 1 else ''} to {slug}.")


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
            click.echo(f"Opening your unsaved edit of {name} again (kept in {draft}).")
        while True:
            edited_text = click.edit(text, extension=".yaml", require_save=True)
            if edited_text is None or edited_text in (original, text):
                click.echo(
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
                    click.echo(
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
            click.echo(
                f"Your text is kept in {draft}; `quizzer edit {name}` opens it again.", err=True
            )
            raise QuizzerError(problem)
        with database.transaction() as session:
            changed = authoring.apply_edit(
                session, store.get_question(session, name), edited, now=utc_now()
            )
    draft.unlink(missing_ok=True)
    click.echo(f"{name}: {'updated' if changed else 'no change'}; schedule and history kept.")
    if changed and source:
        click.echo(
            f"note: this deck comes from {source}; importing that file again undoes this edit."
        )


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
            click.echo(f"{name}: retired (its history is kept).")
            if not source:
                click.echo(f"`quizzer restore {name}` brings it back.")
            if source:
                click.echo(f"note: importing {source} again brings it back while the file has it.")
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
    click.echo(f"{name}: deleted with {removed} reviews.")
