"""The ``quizzer`` command line: parse, open the database, call one service, render.

Start-up is a feature: this module imports only click and the standard library at the
top. Commands import sqlalchemy, genanki, alembic, pygments and rich when they run.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
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


#: The module of each command (under ``quizzer.cli``), imported when the command is run or
#: listed: click's lazy-loading pattern. A command pays only for its own module: `review`
#: never holds the other commands' code and objects (0.4 MiB of its peak memory).
#: tests/test_cli.py checks the table against what each module defines.
COMMAND_MODULES: dict[str, str] = {
    **dict.fromkeys(("optimize", "review", "stats"), "practice"),
    **dict.fromkeys(
        (
            "cards",
            "config",
            "db",
            "decks",
            "grade",
            "import",
            "restore",
            "show",
            "undo",
            "unsuspend",
        ),
        "collection",
    ),
    **dict.fromkeys(
        ("add", "check", "delete", "edit", "export", "schema", "trace", "vary"), "content"
    ),
}


class QuizzerGroup(click.Group):
    """Turns QuizzerError into a one-line message and exit 1, once, at the edge; loads
    each command's module when the command is asked for (:data:`COMMAND_MODULES`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMAND_MODULES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            # An unknown name loads them all, so click's "did you mean" sees every command.
            wanted = COMMAND_MODULES.get(cmd_name)
            for module in sorted(set(COMMAND_MODULES.values()) if wanted is None else {wanted}):
                # The module registers its commands on `main` as it loads.
                importlib.import_module(f"quizzer.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QuizzerError as exc:
            from quizzer.cli.visible import visible

            # A message names files and questions from anywhere: shown, never interpreted.
            if exc.exit_code == 2:
                raise click.UsageError(visible(str(exc)), ctx=click.get_current_context()) from None
            raise click.ClickException(visible(str(exc))) from None
        except Exception as exc:
            # A database that fails mid-command (a server gone, a value it cannot store):
            # one line, exit 1; the transaction was rolled back. sqlalchemy is looked up,
            # not imported, so start-up stays light.
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                where = f"{exc.filename}: " if exc.filename else ""
                raise click.ClickException(
                    f"{where}the disk is full: what this command was writing was not saved"
                ) from None
            db_errors = sys.modules.get("sqlalchemy.exc")
            if db_errors is not None and isinstance(exc, db_errors.DBAPIError):
                reason = " ".join(str(exc.orig or exc).split())
                from quizzer import db

                url = db.url_for(settings_of(ctx).db)
                if db.disk_full(url, reason):
                    raise click.ClickException(db.full_disk_message(url)) from None
                if any(sign in reason for sign in db.DAMAGED):
                    raise click.ClickException(
                        f"the database file is damaged ({reason}): what this command was "
                        "saving was not saved. `quizzer db check` says more; "
                        "`sqlite3 FILE .recover | sqlite3 NEW.db` saves what can be saved"
                    ) from None
                if any(sign in reason for sign in READ_ONLY):
                    raise click.ClickException(
                        "the database cannot be written here (the file or its folder is "
                        "read-only): nothing was changed; commands that only read it work"
                    ) from None
                raise click.ClickException(
                    f"database error, nothing was changed: {reason}"
                ) from None
            raise


#: What SQLite says when a write meets a file opened read-only (see db._read_only_uri).
READ_ONLY = ("attempt to write a readonly database",)


def settings_of(ctx: click.Context) -> Settings:
    """The global options' choices for this invocation."""
    settings = ctx.find_object(Settings)
    if settings is None:
        settings = ctx.ensure_object(Settings)
    return settings


#: The days ``--today`` accepts: stats look two years back, schedules centuries ahead,
#: and Python's dates end at 9999-12-31.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(8999, 12, 31)


def _parse_day(value: str | None, param_hint: str) -> date | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD, e.g. 2026-01-05", param_hint=param_hint
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise click.BadParameter(
            f"{value!r} is out of range: quizzer works with days from {FIRST_DAY} to {LAST_DAY}",
            param_hint=param_hint,
        )
    return day


def refuse_empty(value: str | None, param_hint: str) -> str | None:
    """``value`` unless it is an empty string (a usage error): only a missing value means
    the default database, so a script passing an unset variable never reaches it."""
    if value == "":
        raise click.BadParameter(
            "empty; name a database file or URL (leave the option out for the default)",
            param_hint=param_hint,
        )
    return value


def _set_db(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    # Click skips an empty QUIZZER_DB; quizzer.db.url_for refuses it in its turn.
    if refuse_empty(value, "'--db'") is not None:
        settings_of(ctx).db = value


def _set_today(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    day = _parse_day(value, "'--today' / QUIZZER_TODAY")
    if day is not None:
        settings_of(ctx).today = day


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
@click.version_option(__version__, "-V", "--version", prog_name="quizzer")
@common_options(envvar=True)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Spaced-repetition quizzes for the parts of Python people get wrong.

    Start with `quizzer review`: the bundled decks are loaded on first use.
    """
    settings_of(ctx)


def _complete(ctx: click.Context, incomplete: str, *, names: bool) -> list[Any]:
    """Deck slugs or question names from the database, for shell completion."""
    from click.shell_completion import CompletionItem

    try:
        from sqlalchemy import select

        from quizzer.db import open_database
        from quizzer.orm import Deck, Question

        database = open_database(settings_of(ctx).db)
        try:
            with database.reading() as session:
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


def complete_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of ``DECK/QUESTION`` names."""
    return _complete(ctx, incomplete, names=True)


def complete_decks(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """Shell completion of deck slugs."""
    return _complete(ctx, incomplete, names=False)


class Utf8Text(click.types.StringParamType):
    """Text that can be stored and run: bytes that are not UTF-8 reach Python from argv as
    lone surrogates, which the database and the sandbox's script file cannot encode."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = super().convert(value, param, ctx)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            self.fail(
                f"not UTF-8 text: character {exc.start + 1} is a byte that is not UTF-8",
                param,
                ctx,
            )
        return text


UTF8_TEXT = Utf8Text()


#: ``--deck SLUG``, repeatable, completed from the database; the value is ``decks``.
deck_option = click.option(
    "--deck",
    "decks",
    multiple=True,
    type=UTF8_TEXT,
    shell_complete=complete_decks,
    metavar="SLUG",
    help="Only this deck (repeatable).",
)


def utc_now() -> datetime:
    """The moment a command records (the services never read the clock)."""
    return datetime.now(UTC)


def run() -> None:
    """The ``quizzer`` console script: :data:`main`, with the collector paused for start-up."""
    import signal

    from quizzer.bulk import pause_for_startup

    refuse_platform(os.name, sys.platform)
    pause_for_startup()
    # SIGTERM unwinds like Ctrl-C, so cleanup runs: snippets running in the sandbox are
    # killed and their temp dirs removed; a database transaction is rolled back.
    signal.signal(signal.SIGTERM, _terminated)
    main(prog_name="quizzer")


def refuse_platform(os_name: str, platform: str) -> None:
    """Exit with one line where quizzer cannot run: it needs POSIX (the sandbox's process
    groups and resource limits)."""
    if os_name != "posix":
        click.echo(
            f"Error: quizzer runs on Linux and macOS (POSIX systems), not on {platform}; "
            "on Windows, use it inside WSL",
            err=True,
        )
        sys.exit(1)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def database_of(ctx: click.Context, *, page_cache_kib: int | None = None) -> Iterator[Database]:
    """The database named by ``--db`` (or ``QUIZZER_DB``, or the default), disposed after;
    ``page_cache_kib`` as :func:`quizzer.db.open_database` takes it."""
    from quizzer.bulk import end_startup
    from quizzer.db import open_database

    database = open_database(settings_of(ctx).db, page_cache_kib=page_cache_kib)
    end_startup()  # the command has loaded what it needs
    try:
        yield database
    finally:
        database.dispose()


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON, non-ASCII kept but control characters escaped
    (``\\u001b``, ``\\u202e``: JSON escapes the C0 ones itself, not C1 or bidi)."""
    import json

    from quizzer.questions import TERMINAL_CONTROL

    text = json.dumps(data, indent=2, ensure_ascii=False)
    click.echo(TERMINAL_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def output_is_plain() -> bool:
    """Whether stdout goes to a program rather than a person: tables print as plain rows."""
    return not sys.stdout.isatty()


def print_table(
    title: str | None,
    columns: list[tuple[str, str]],
    rows: list[list[str]],
    *,
    names: int = 1,
) -> None:
    """Print a table; ``columns`` are (header, justify) pairs, the first ``names`` of them
    names that other commands take (never cut or wrapped).

    To a terminal: a borderless table whose other text wraps. To a pipe or a file: one
    tab-separated line per row, every value whole, no header, for awk, cut and xargs.
    """
    from quizzer.cli.visible import visible

    rows = [[visible(cell) for cell in row] for row in rows]
    if output_is_plain():
        for row in rows:
            click.echo("\t".join(cell.replace("\t", " ").replace("\n", " ") for cell in row))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    widths = [
        max([len(header), *(len(row[index]) for row in rows)])
        for index, (header, _) in enumerate(columns)
    ]
    if sum(widths) + 2 * (len(widths) - 1) > console.width:
        # Too narrow for a table: each row as a record, its names whole on the first line.
        for row in rows:
            click.echo(" ".join(row[:names]))
            rest = [
                f"{header} {cell}" if header else cell
                for (header, _), cell in zip(columns[names:], row[names:], strict=True)
                if cell
            ]
            click.echo("  " + "  ".join(rest))
        return
    table = Table(title=title, box=None, pad_edge=False, header_style="bold")
    for name, justify in columns:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # text, not markup: "[/]" is a title too
    console.print(table)


def leech_message(name: str, lapses: int) -> str:
    """What to tell the learner when a question has just become a leech."""
    return (
        f"{name} is a leech (failed {lapses} times) and is suspended. Rewrite it with "
        f"`quizzer edit {name}`, or bring it back with `quizzer unsuspend {name}`."
    )


def reconfigure_output() -> None:
    """A terminal whose encoding cannot show a character gets a replacement, not a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


# --- check ----------------------------------------------------------------------------


class _NoProgress:
    """Where stderr is not a terminal: no bar, and not a byte written (nor rich loaded)."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, **fields: Any) -> int:
        return 0

    def update(self, task: int, **fields: Any) -> None:
        return None


def progress_bar(total_hint: str, *, shown: bool = True) -> Any:
    """A transient progress bar on stderr (stdout stays clean for pipes); nothing at all
    when stderr is not a terminal or not ``shown``."""
    if not shown or not sys.stderr.isatty():
        return _NoProgress()
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
