"""The ``quizzer`` command line: parse, open the database, call one service, render.

Start-up is a feature: this module imports only click and the standard library at the
top. Commands import sqlalchemy, genanki, alembic, pygments and rich when they run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from quizzer import __version__
from quizzer.errors import QuizzerError

if TYPE_CHECKING:
    from quizzer.db import Database

F = TypeVar("F", bound=Callable[..., Any])


class Settings:
    """What the global options chose, shared by the group and every subcommand."""

    # A plain class, not a dataclass: importing dataclasses (and json) cost `--help` a
    # fifth of its start-up; click builds this with no arguments.
    def __init__(self) -> None:
        self.db: str | None = None
        self.today: date | None = None

    def day(self) -> date:
        """The calendar day the command acts on (``--today``, else the local date)."""
        return self.today or date.today()


class QuizzerGroup(click.Group):
    """Turns QuizzerError into a one-line message and exit 1, once, at the edge."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QuizzerError as exc:
            if exc.exit_code == 2:
                raise click.UsageError(str(exc), ctx=click.get_current_context()) from None
            raise click.ClickException(str(exc)) from None


def _settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:
        settings = ctx.ensure_object(Settings)
    return settings


def _parse_day(value: str | None, param_hint: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2026-01-05", param_hint=param_hint
        ) from None


def _set_db(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _settings(ctx).db = value


def _set_today(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    day = _parse_day(value, "'--today' / QUIZZER_TODAY")
    if day is not None:
        _settings(ctx).today = day


def common_options(*, envvar: bool) -> Callable[[F], F]:
    """``--db`` and ``--today``, accepted before or after the subcommand's name."""

    def decorate(function: F) -> F:
        function = click.option(
            "--db",
            metavar="TARGET",
            envvar="QUIZZER_DB" if envvar else None,
            expose_value=False,
            callback=_set_db,
            help="Database file path or SQLAlchemy URL [env QUIZZER_DB; default: user data dir].",
        )(function)
        function = click.option(
            "--today",
            metavar="YYYY-MM-DD",
            envvar="QUIZZER_TODAY" if envvar else None,
            expose_value=False,
            callback=_set_today,
            help="The calendar day to act on [env QUIZZER_TODAY; default: the local date].",
        )(function)
        return function

    return decorate


def command(*args: Any, **kwargs: Any) -> Callable[[F], click.Command]:
    """A subcommand of ``quizzer`` that also takes the global options."""

    def decorate(function: F) -> click.Command:
        made: click.Command = main.command(*args, **kwargs)(common_options(envvar=False)(function))
        return made

    return decorate


@click.group(cls=QuizzerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="quizzer")
@common_options(envvar=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Spaced-repetition quizzes for the parts of Python people get wrong.

    Start with `quizzer review`: the bundled decks are loaded on first use.
    """
    _settings(ctx)


def _complete(ctx: click.Context, incomplete: str, *, names: bool) -> list[Any]:
    """Deck slugs or question names from the database, for shell completion."""
    from click.shell_completion import CompletionItem

    try:
        from sqlalchemy import select

        from quizzer.db import open_database
        from quizzer.orm import Deck, Question

        database = open_database(_settings(ctx).db)
        try:
            with database.transaction() as session:
                if names:
                    rows = session.execute(
                        select(Deck.slug, Question.qid)
                        .join(Question, Question.deck_id == Deck.id)
                        .where(Question.retired.is_(False))
                        .order_by(Deck.slug, Question.position)
                    )
                    found = [f"{d}/{q}" for d, q in rows]
                else:
                    found = list(session.scalars(select(Deck.slug).order_by(Deck.slug)))
        finally:
            database.dispose()
    except Exception:  # completion must never print a traceback into the shell
        return []
    return [CompletionItem(item) for item in found if item.startswith(incomplete)]


def _complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    return _complete(ctx, incomplete, names=True)


def _complete_decks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    return _complete(ctx, incomplete, names=False)


def _now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def _database(ctx: click.Context) -> Iterator[Database]:
    from quizzer.db import open_database

    database = open_database(_settings(ctx).db)
    try:
        yield database
    finally:
        database.dispose()


def _echo_json(data: Any) -> None:
    import json

    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _table(title: str | None, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, box=None, pad_edge=False, header_style="bold")
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*row)
    Console(highlight=False).print(table)


# --- import ---------------------------------------------------------------------------


@command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate the files only; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def import_command(
    ctx: click.Context, paths: tuple[Path, ...], dry_run: bool, as_json: bool
) -> None:
    """Load deck files (or folders of them) into the database.

    Importing is idempotent: unchanged questions stay as they are, edited ones keep
    their schedule and history, and questions removed from a file are retired. The
    whole import is one transaction: a bad file changes nothing. Code is never run.
    """
    from quizzer import deckfile, services

    if dry_run:
        decks = deckfile.load_decks(paths)
        count = sum(len(deck.questions) for _, deck in decks)
        if as_json:
            _echo_json(
                {
                    "dry_run": True,
                    "decks": [
                        {"deck": d.deck, "path": str(p), "questions": len(d.questions)}
                        for p, d in decks
                    ],
                }
            )
        else:
            click.echo(
                f"{len(decks)} deck files valid, {count} questions (dry run: nothing changed)"
            )
        return
    with _database(ctx) as database, database.transaction() as session:
        report = services.import_decks(session, paths, now=_now(), today=_settings(ctx).day())
    if as_json:
        _echo_json(report.to_json())
        return
    for item in report.decks:
        parts = [f"{item.added} added", f"{item.updated} updated", f"{item.unchanged} unchanged"]
        if item.retired:
            parts.append(f"{item.retired} retired")
        if item.restored:
            parts.append(f"{item.restored} restored")
        click.echo(f"{item.deck}: {', '.join(parts)}  ({item.path})")


# --- decks, cards, show ---------------------------------------------------------------


@command("decks")
@click.option("--json", "as_json", is_flag=True, help="Print the decks as JSON.")
@click.pass_context
def decks_command(ctx: click.Context, as_json: bool) -> None:
    """List decks with counts: new, due today, learned, retired."""
    from dataclasses import asdict

    from quizzer import services

    with _database(ctx) as database, database.reading() as session:
        summaries = services.deck_summaries(session, today=_settings(ctx).day())
    if as_json:
        _echo_json([asdict(s) for s in summaries])
        return
    if not summaries:
        click.echo(
            "No decks yet. Load some with `quizzer import PATH` (or just run `quizzer review`)."
        )
        return
    _table(
        None,
        [
            ("deck", "left"),
            ("new", "right"),
            ("due", "right"),
            ("learned", "right"),
            ("retired", "right"),
            ("title", "left"),
        ],
        [
            [s.deck, str(s.new), str(s.due), str(s.learned), str(s.retired), s.title]
            for s in summaries
        ],
    )


@command("cards")
@click.option(
    "--deck",
    "decks",
    multiple=True,
    shell_complete=_complete_decks,
    metavar="SLUG",
    help="Only this deck (repeatable).",
)
@click.option("--due", "due_only", is_flag=True, help="Only cards due today or earlier.")
@click.option("--retired", "include_retired", is_flag=True, help="Include retired questions.")
@click.option("--leeches", "leeches_only", is_flag=True, help="Only leeches (failed too often).")
@click.option("--json", "as_json", is_flag=True, help="Print the cards as JSON.")
@click.pass_context
def cards_command(
    ctx: click.Context,
    decks: tuple[str, ...],
    due_only: bool,
    include_retired: bool,
    leeches_only: bool,
    as_json: bool,
) -> None:
    """List questions with their schedule: ease, repetitions, interval, due, lapses."""
    from quizzer import services

    with _database(ctx) as database, database.reading() as session:
        rows = services.list_cards(
            session,
            today=_settings(ctx).day(),
            decks=decks,
            due_only=due_only,
            include_retired=include_retired,
            leeches_only=leeches_only,
        )
    if as_json:
        _echo_json([row.to_json() for row in rows])
        return
    if not rows:
        click.echo("No cards match.")
        return
    _table(
        None,
        [
            ("question", "left"),
            ("type", "left"),
            ("ease", "right"),
            ("reps", "right"),
            ("interval", "right"),
            ("due", "left"),
            ("lapses", "right"),
        ],
        [
            [
                row.name
                + (" (retired)" if row.retired else "")
                + (" (leech)" if row.leech else "")
                + (" (suspended)" if row.suspended and not row.leech else ""),
                row.type,
                f"{row.ease:.2f}",
                str(row.repetitions),
                str(row.interval),
                "new" if row.new else row.due.isoformat(),
                str(row.lapses),
            ]
            for row in rows
        ],
    )


@command("show")
@click.argument("name", metavar="DECK/ID", shell_complete=_complete_names)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the question, state and history as JSON."
)
@click.pass_context
def show_command(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show one question, its schedule and its review history."""
    from quizzer import services

    with _database(ctx) as database, database.reading() as session:
        data = services.show_question(session, name)
    if as_json:
        _echo_json(data)
        return
    state = data["state"]
    click.echo(f"{data['name']}  [{data['type']}]" + ("  (retired)" if data["retired"] else ""))
    click.echo(data["prompt"])
    if data["code"]:
        click.echo("")
        click.echo(data["code"].rstrip("\n"))
    if data["choices"]:
        for choice in data["choices"]:
            click.echo(f"  - {choice}")
    click.echo("")
    click.echo("answer: " + data["answer"].rstrip("\n").replace("\n", "\n        "))
    if data["explanation"]:
        click.echo("why:    " + data["explanation"].strip())
    click.echo("")
    due = "new" if state["new"] else f"due {state['due']}"
    click.echo(
        f"ease {state['ease']:.2f}, repetitions {state['repetitions']}, interval "
        f"{state['interval']} d, {due}, lapses {state['lapses']}"
    )
    for entry in data["history"]:
        after = entry["after"]
        click.echo(
            f"  {entry['day']}  q={entry['quality']}  {entry['kind']:<6}  -> ease "
            f"{after['ease']:.2f}, reps {after['repetitions']}, due {after['due']}"
        )


# --- grade ----------------------------------------------------------------------------


@command("grade", context_settings={"ignore_unknown_options": True})
@click.argument("name", metavar="DECK/ID", shell_complete=_complete_names)
@click.argument("quality", type=click.IntRange(0, 5), metavar="QUALITY")
@click.option("--json", "as_json", is_flag=True, help="Print the review and new state as JSON.")
@click.pass_context
def grade_command(ctx: click.Context, name: str, quality: int, as_json: bool) -> None:
    """Record one answer (QUALITY 0-5, SM-2) without the interactive session.

    An answer on the day of the card's last graded review is a drill: logged, schedule
    unchanged. A card that is not due yet is refused and nothing changes.
    """
    from quizzer import reviews, services

    with _database(ctx) as database, database.transaction() as session:
        threshold = reviews.get_setting(session, "leech-threshold")
        recorded = services.grade(
            session,
            name,
            quality,
            today=_settings(ctx).day(),
            now=_now(),
            leech_threshold=threshold,
        )
    outcome, after = recorded.outcome, recorded.outcome.after
    if as_json:
        _echo_json(
            {
                "name": name,
                "quality": quality,
                "kind": outcome.kind,
                "ease": after.ease / 100,
                "repetitions": after.repetitions,
                "interval": after.interval,
                "due": after.due.isoformat(),
                "lapses": after.lapses,
                "leech": recorded.leeched,
            }
        )
        return
    if outcome.kind == "drill":
        click.echo(f"{name}: drill answer logged (graded already today); next due {after.due}")
    else:
        click.echo(
            f"{name}: q={quality}; ease {after.ease / 100:.2f}, repetitions {after.repetitions}, "
            f"interval {after.interval} d, next due {after.due}"
        )
    if recorded.leeched:
        click.echo(_leech_message(name, after.lapses))


def _leech_message(name: str, lapses: int) -> str:
    return (
        f"{name} is a leech (failed {lapses} times) and is suspended. Rewrite it with "
        f"`quizzer edit {name}`, or bring it back with `quizzer unsuspend {name}`."
    )


# --- review ---------------------------------------------------------------------------


@command("review")
@click.option(
    "--deck",
    "decks",
    multiple=True,
    shell_complete=_complete_decks,
    metavar="SLUG",
    help="Only this deck (repeatable).",
)
@click.option(
    "--new",
    "new_per_day",
    type=click.IntRange(min=0),
    metavar="N",
    help="New cards allowed today (default: the `new-per-day` setting, 10).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="At most N due and new cards this session (drill not counted).",
)
@click.pass_context
def review_command(
    ctx: click.Context, decks: tuple[str, ...], new_per_day: int | None, limit: int | None
) -> None:
    """The daily session: due cards, then new ones, then the same-day drill.

    Each answer is saved the moment it is given; run it again the same day to go on
    where you stopped. A new database is filled with the bundled decks first.

    When stdin is not a terminal, answers are read one per line (see the README's
    "Scripting a review"); `?` shows the keys.
    """
    from rich.console import Console

    from quizzer import reviews, services
    from quizzer.session import ReviewSession, Terminal

    settings = _settings(ctx)
    today = settings.day()
    with _database(ctx) as database:
        with database.transaction() as session:
            if not services.has_decks(session):
                report = services.import_decks(
                    session, [services.bundled_decks_dir()], now=_now(), today=today
                )
                added = sum(d.added for d in report.decks)
                click.echo(
                    f"Loaded the bundled decks: {len(report.decks)} decks, {added} questions."
                )
            for slug in decks:
                services.get_deck(session, slug)
            leech_threshold = reviews.get_setting(session, "leech-threshold")
            per_day = (
                new_per_day
                if new_per_day is not None
                else reviews.get_setting(session, "new-per-day")
            )
        _reconfigure_output()
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        if interactive:
            import readline  # noqa: F401  (line editing for input())
        terminal = Terminal(Console(highlight=False), interactive=interactive)
        ReviewSession(
            database,
            terminal,
            today=today,
            decks=decks,
            new_per_day=per_day,
            limit=limit,
            leech_threshold=leech_threshold,
            now=_now,
        ).run()


def _reconfigure_output() -> None:
    # A terminal whose encoding cannot show a character gets a replacement, not a crash.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


# --- settings -------------------------------------------------------------------------


@command("config")
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.pass_context
def config_command(ctx: click.Context, key: str | None, value: str | None) -> None:
    """Show or change persisted settings.

    `quizzer config` lists them; `quizzer config new-per-day 20` changes one.
    """
    from quizzer import reviews

    with _database(ctx) as database, database.transaction() as session:
        if key is None:
            for name, (_, _, about) in sorted(reviews.SETTINGS.items()):
                click.echo(f"{name} = {reviews.get_setting(session, name)}    # {about}")
            return
        if value is None:
            if key not in reviews.SETTINGS:
                raise QuizzerError(f"{key}: no such setting")
            click.echo(str(reviews.get_setting(session, key)))
            return
        stored = reviews.set_setting(session, key, value)
    click.echo(f"{key} = {stored}")


# --- undo, unsuspend ------------------------------------------------------------------


@command("undo")
@click.pass_context
def undo_command(ctx: click.Context) -> None:
    """Take back the last answer, restoring the card's state exactly as before it.

    Works across sessions; a second undo takes back the answer before that.
    """
    from quizzer import reviews

    with _database(ctx) as database, database.transaction() as session:
        undone = reviews.undo_last(session)
    click.echo(f"Undone: {undone.name}, quality {undone.quality} ({undone.kind}) on {undone.day}.")


@command("unsuspend")
@click.argument("name", metavar="DECK/ID", shell_complete=_complete_names)
@click.pass_context
def unsuspend_command(ctx: click.Context, name: str) -> None:
    """Bring a suspended card (a leech) back into reviews; its leech tag is cleared."""
    from quizzer import services

    with _database(ctx) as database, database.transaction() as session:
        services.set_suspended(session, name, suspended=False)
    click.echo(f"{name}: back in reviews.")


# --- check ----------------------------------------------------------------------------


def _progress_bar(total_hint: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn(total_hint),
        BarColumn(),
        MofNCompleteColumn(),
        transient=True,
        console=_stderr_console(),
    )


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--deck",
    "decks",
    multiple=True,
    shell_complete=_complete_decks,
    metavar="SLUG",
    help="Check stored questions of a deck.",
)
@click.option("--update", is_flag=True, help="Write what CPython prints back as the answers.")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter to run snippets with (default: this one).",
)
@click.option(
    "--jobs", type=click.IntRange(min=1), metavar="N", help="Snippets at a time (default: CPUs)."
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    metavar="S",
    help="Wall-clock seconds per snippet (default 10).",
)
@click.option(
    "--cpu", type=click.IntRange(min=1), metavar="S", help="CPU seconds per snippet (default 5)."
)
@click.option(
    "--memory",
    type=click.IntRange(min=16),
    metavar="MIB",
    help="Memory per snippet in MiB (default 512).",
)
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
) -> None:
    """Run predict_output code in the sandbox and compare with the stored answers.

    PATHS are deck files or folders; --deck checks questions in the database. Each
    failure is shown with a diff; the exit status is 1 if anything failed. With
    --update the actual outputs are written back (deck files keep their comments and
    layout; stored questions of your own decks are updated).
    """
    from dataclasses import replace

    from quizzer import checking, sandbox

    if not paths and not decks:
        raise click.UsageError("name deck files or folders, or --deck SLUG")
    limits = sandbox.DEFAULT_LIMITS
    if timeout is not None:
        limits = replace(limits, wall_seconds=timeout)
    if cpu is not None:
        limits = replace(limits, cpu_seconds=cpu)
    if memory is not None:
        limits = replace(limits, memory_bytes=memory * sandbox.MiB)
    items: list[tuple[str, Any]] = []
    sources: list[tuple[Path | None, str]] = []
    if paths:
        from quizzer import deckfile

        for path, deck in deckfile.load_decks(paths):
            for question in deck.questions:
                items.append((f"{path}: {question.id}", question))
                sources.append((path, question.id))
    if decks:
        from quizzer import authoring, services

        with _database(ctx) as database, database.reading() as session:
            for slug in decks:
                deck_row = services.get_deck(session, slug)
                for row in deck_row.questions:
                    if not row.retired:
                        items.append((row.name, authoring.question_file(row)))
                        sources.append((None, row.name))
    runnable = sum(1 for _, q in items if q.type == "predict_output")
    with _progress_bar("checking") as bar:
        task = bar.add_task("check", total=runnable, visible=runnable >= 20)
        report = checking.check_questions(
            items,
            python=python,
            limits=limits,
            jobs=jobs,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    by_label = dict(zip((label for label, _ in items), sources, strict=True))
    for result in report.failed:
        click.echo(
            f"FAIL {result.label}: {result.reason}" if result.reason else f"FAIL {result.label}"
        )
        if result.diff:
            click.echo(result.diff.rstrip("\n"))
    click.echo(report.summary())
    left = _write_back(ctx, report, by_label) if update else len(report.failed)
    if left:
        ctx.exit(1)


def _write_back(
    ctx: click.Context, report: Any, by_label: dict[str, tuple[Path | None, str]]
) -> int:
    """Store the actual outputs of failed questions; returns how many could not be."""
    from quizzer import checking, yamledit

    files: dict[Path, dict[str, str]] = {}
    stored: dict[str, str] = {}
    left = 0
    for result in report.failed:
        run = result.run
        if run is None or run.stopped or run.limit is not None:
            click.echo(f"not updated: {result.label}: {result.reason}")
            left += 1
            continue
        path, key = by_label[result.label]
        if path is not None:
            files.setdefault(path, {})[key] = checking.answer_from_run(run)
        else:
            stored[key] = checking.answer_from_run(run)
    for path, answers in files.items():
        changed = yamledit.update_answers(path, answers)
        click.echo(f"{path}: {changed} answer{'s' if changed != 1 else ''} updated")
    if stored:
        from quizzer import authoring, services

        with _database(ctx) as database, database.transaction() as session:
            for name, answer in stored.items():
                question = services.get_question(session, name)
                edited = authoring.question_file(question).model_copy(update={"answer": answer})
                authoring.custom_deck(session, question.deck.slug, now=_now())
                authoring.apply_edit(session, question, edited, now=_now())
                click.echo(f"{name}: answer updated")
    return left


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
@click.option(
    "--deck",
    "decks",
    multiple=True,
    shell_complete=_complete_decks,
    metavar="SLUG",
    help="Only this deck (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["apkg", "yaml"]),
    default="apkg",
    show_default=True,
    help="An Anki package, or deck files.",
)
@click.pass_context
def export_command(ctx: click.Context, output: Path, decks: tuple[str, ...], fmt: str) -> None:
    """Write an Anki package (.apkg) of every deck, or of some; or deck files (--format yaml).

    Exporting again after edits updates the notes in Anki rather than duplicating them;
    the file is written atomically. With --format yaml each deck (your own ones too)
    becomes OUTPUT/<slug>.yaml, which `quizzer import` reads back.
    """
    from quizzer import services

    if fmt == "yaml":
        from quizzer import authoring

        with _database(ctx) as database, database.reading() as session:
            written = authoring.export_yaml(session, output, decks=decks)
        for path in written:
            click.echo(f"wrote {path}")
        return
    if output.suffix != ".apkg":
        raise click.BadParameter("an Anki package's name ends in .apkg", param_hint="'-o'")
    with _database(ctx) as database, database.reading() as session:
        questions = services.export_questions(session, decks=decks)
    from quizzer import anki

    with _progress_bar("exporting") as bar:
        task = bar.add_task("export", total=len(questions), visible=len(questions) >= 1000)
        summary = anki.export_apkg(
            questions, output, progress=lambda done: bar.update(task, completed=done)
        )
    click.echo(
        f"wrote {summary.path}: {summary.notes} notes, {summary.cards} cards, "
        f"{len(summary.decks)} deck{'s' if len(summary.decks) != 1 else ''}"
    )


# --- schema ---------------------------------------------------------------------------


@command("schema")
def schema_command() -> None:
    """Print the JSON Schema of deck files, for editors (e.g. yaml-language-server)."""
    from quizzer import deckfile

    _echo_json(deckfile.json_schema())


# --- add, edit, delete ----------------------------------------------------------------


def _verify(questions: list[Any], *, force: bool, interpreter: str | None, label: str) -> None:
    """Run predict_output code and refuse answers CPython does not print (unless forced)."""
    from quizzer import checking

    report = checking.check_questions(
        [(f"{label}/{q.id}", q) for q in questions], python=interpreter
    )
    for result in report.failed:
        run = result.run
        if run is not None and (run.stopped or run.limit is not None):
            raise QuizzerError(
                f"{result.label}: the code was stopped by the sandbox: {result.reason}"
            )
        if force:
            click.echo(
                f"warning: {result.label}: storing an answer CPython does not print (--force)",
                err=True,
            )
            continue
        click.echo(result.diff.rstrip("\n"), err=True)
        raise QuizzerError(
            f"{result.label}: field 'answer': not what CPython prints (diff above); fix it, "
            "leave --answer out to store the real output, or --force"
        )


def _computed_answer(code: str, *, interpreter: str | None, label: str) -> str:
    from quizzer import checking, sandbox

    run = sandbox.run_snippet(code, python=interpreter)
    if run.stopped or run.limit is not None:
        raise QuizzerError(f"{label}: the code was stopped by the sandbox: {run.reason}")
    return checking.answer_from_run(run)


@command("add")
@click.option(
    "--deck",
    metavar="SLUG",
    shell_complete=_complete_decks,
    help="Your deck to add to (made if it does not exist).",
)
@click.option("--type", "qtype", type=click.Choice(["predict_output", "multiple_choice", "recall"]))
@click.option("--prompt", help="The question.")
@click.option("--code", help="Code shown with the question (predict_output: the code to run).")
@click.option(
    "--code-file",
    type=click.File("r", encoding="utf-8"),
    help="Read the code from a file ('-': stdin).",
)
@click.option(
    "--answer", help="The answer (predict_output: computed by running the code if left out)."
)
@click.option("--choice", "choices", multiple=True, help="A choice (multiple_choice; repeat).")
@click.option("--explanation", help="Why the answer is what it is.")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@click.option(
    "--python",
    "python_range",
    metavar="RANGE",
    help="Versions the answer holds for, e.g. '>=3.12'.",
)
@click.option("--id", "qid", help="The question id (default: made from the prompt).")
@click.option("--title", help="Title of a new deck (default: its slug).")
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
    what CPython prints, after you confirm it; with --answer the answer is verified and
    a mismatch is refused (shown as a diff) unless --force.
    """
    from quizzer import authoring

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
        code = options["code_file"].read()
    slug = options["deck"]
    with _database(ctx) as database:
        with database.transaction() as session:
            deck = authoring.custom_deck(session, slug, now=_now(), title=options["title"])
            taken = authoring.existing_qids(session, deck)
            session.rollback()
        qid = options["qid"] or authoring.unique_qid(taken, authoring.slugify(options["prompt"]))
        answer = options["answer"]
        if options["qtype"] == "predict_output" and answer is None and code and code.strip():
            answer = _computed_answer(
                code, interpreter=options["interpreter"], label=f"{slug}/{qid}"
            )
            click.echo("CPython prints:")
            click.echo(answer.rstrip("\n") if answer.strip() else "(nothing)")
            if not options["yes"] and not click.confirm("Store this as the answer?", default=True):
                raise QuizzerError("not added")
            verify = False
        else:
            verify = options["qtype"] == "predict_output"
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
            deck=slug,
            source=f"{slug}/{qid}",
            single=True,
        )
        if verify:
            _verify(
                [question], force=options["force"], interpreter=options["interpreter"], label=slug
            )
        with database.transaction() as session:
            deck = authoring.custom_deck(session, slug, now=_now(), title=options["title"])
            authoring.add_questions(
                session, deck, [question], now=_now(), today=_settings(ctx).day()
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
    import yaml

    from quizzer import authoring, deckfile

    path: Path = options["from_file"]
    try:
        text = path.read_text(encoding="utf-8-sig")
        data = yaml.safe_load(text)
    except (OSError, UnicodeError, yaml.YAMLError):
        data = None  # load_deck below reports the problem precisely
    if isinstance(data, list):
        if not options["deck"]:
            raise click.UsageError("a list of questions needs --deck SLUG")
        slug, title = options["deck"], options["title"]
        questions = authoring.validate_questions(data, deck=slug, source=str(path))
    else:
        parsed = deckfile.load_deck(path)
        slug = options["deck"] or parsed.deck
        title = options["title"] or parsed.title
        questions = list(parsed.questions)
    _verify(
        [q for q in questions if q.type == "predict_output"],
        force=options["force"],
        interpreter=options["interpreter"],
        label=slug,
    )
    with _database(ctx) as database, database.transaction() as session:
        deck = authoring.custom_deck(session, slug, now=_now(), title=title)
        authoring.add_questions(session, deck, questions, now=_now(), today=_settings(ctx).day())
    click.echo(f"Added {len(questions)} question{'s' if len(questions) != 1 else ''} to {slug}.")


@command("edit")
@click.argument("name", metavar="DECK/ID", shell_complete=_complete_names)
@click.option(
    "--interpreter", metavar="PATH", help="Python to verify code with (default: this one)."
)
@click.option("--force", is_flag=True, help="Keep a predict_output answer CPython does not print.")
@click.pass_context
def edit_command(ctx: click.Context, name: str, interpreter: str | None, force: bool) -> None:
    """Edit a question as YAML in $EDITOR; its schedule and history are kept.

    A predict_output question whose code or answer changed is verified again. Editing
    a card also unsuspends it (rewriting a leech is the cure).
    """
    from quizzer import authoring, services

    with _database(ctx) as database:
        with database.transaction() as session:
            question = services.get_question(session, name)
            text = authoring.question_yaml(question)
            before = authoring.question_file(question)
            source = question.deck.source
        header = f"# {name}: save and close to apply; the id cannot change.\n"
        edited_text = click.edit(header + text, extension=".yaml", require_save=True)
        if edited_text is None or edited_text == header + text:
            click.echo("No change.")
            return
        with database.transaction() as session:
            edited = authoring.parse_edited(
                edited_text, name=name, original=services.get_question(session, name)
            )
        rerun = (edited.code, edited.answer, edited.python) != (
            before.code,
            before.answer,
            before.python,
        )
        if edited.type == "predict_output" and rerun:
            _verify([edited], force=force, interpreter=interpreter, label=name.split("/")[0])
        with database.transaction() as session:
            changed = authoring.apply_edit(
                session, services.get_question(session, name), edited, now=_now()
            )
    click.echo(f"{name}: {'updated' if changed else 'no change'}; schedule and history kept.")
    if changed and source:
        click.echo(
            f"note: this deck comes from {source}; importing that file again undoes this edit."
        )


@command("delete")
@click.argument("name", metavar="DECK/ID", shell_complete=_complete_names)
@click.option("--purge", is_flag=True, help="Remove it and its review history for good.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before --purge.")
@click.pass_context
def delete_command(ctx: click.Context, name: str, purge: bool, yes: bool) -> None:
    """Retire a question (kept with its history, never asked); --purge removes it."""
    from quizzer import authoring, services

    with _database(ctx) as database, database.transaction() as session:
        question = services.get_question(session, name)
        if not purge:
            authoring.retire(session, question)
            click.echo(f"{name}: retired (its history is kept).")
            if question.deck.source:
                click.echo(
                    f"note: importing {question.deck.source} again brings it back "
                    "while the file has it."
                )
            return
        reviews_count = len(services.history(session, question))
        if not yes and not click.confirm(
            f"Delete {name} and its {reviews_count} reviews for good?", default=False
        ):
            raise QuizzerError("nothing deleted")
        removed = authoring.purge(session, question)
    click.echo(f"{name}: deleted with {removed} reviews.")


# --- stats ----------------------------------------------------------------------------


@command("stats")
@click.option(
    "--deck",
    "decks",
    multiple=True,
    metavar="SLUG",
    shell_complete=_complete_decks,
    help="Only this deck (repeatable).",
)
@click.option(
    "--weeks",
    type=click.IntRange(1, 104),
    default=12,
    show_default=True,
    help="Weeks of history in the heatmap.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the same numbers as JSON.")
@click.pass_context
def stats_command(ctx: click.Context, decks: tuple[str, ...], weeks: int, as_json: bool) -> None:
    """Reviews per day (heatmap), retention, streak, 14-day forecast, per-deck table."""
    from quizzer import services, stats

    with _database(ctx) as database, database.reading() as session:
        for slug in decks:
            services.get_deck(session, slug)
        numbers = stats.compute_stats(session, today=_settings(ctx).day(), weeks=weeks, decks=decks)
    if as_json:
        _echo_json(numbers.to_json())
        return
    from rich.console import Console

    _reconfigure_output()
    stats.render_stats(numbers, Console(highlight=False))


# --- db -------------------------------------------------------------------------------


@main.group("db", context_settings={"help_option_names": ["-h", "--help"]})
@common_options(envvar=False)
def db_group() -> None:
    """Work on the database as a whole (e.g. move a collection to a PostgreSQL server)."""


@db_group.command("copy")
@common_options(envvar=False)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="TARGET",
    help="Where to copy to: a database file path or SQLAlchemy URL (any backend).",
)
@click.option("--replace", is_flag=True, help="Empty a target that already holds a collection.")
@click.pass_context
def db_copy_command(ctx: click.Context, target: str, replace: bool) -> None:
    """Copy the whole collection (--db) to another database, e.g. SQLite to PostgreSQL.

    Decks, questions, schedules, settings and the full review log are copied with their
    ids; the target gets the current schema first. A target that already holds a
    collection is refused unless --replace. The rows are written in one transaction: on any
    error, including row counts that differ afterwards, none is (a new target keeps just
    its empty schema).

        quizzer db copy --to postgresql+psycopg://me@dbhost/quizzer
    """
    from quizzer import dbcopy

    report = dbcopy.copy_database(_settings(ctx).db, target, replace=replace)
    verb = "Replaced the collection in" if report.replaced else "Copied to"
    click.echo(f"{verb} {report.target}: {report.summary()} (from {report.source}).")
