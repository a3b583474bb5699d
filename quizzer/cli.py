"""The ``quizzer`` command line: parse, open the database, call one service, render.

Start-up is a feature: this module imports only click and the standard library at the
top. Commands import sqlalchemy, genanki, alembic, pygments and rich when they run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from quizzer import __version__
from quizzer.errors import QuizzerError

if TYPE_CHECKING:
    from quizzer.db import Database

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    """What the global options chose, shared by the group and every subcommand."""

    db: str | None = None
    today: date | None = None

    def day(self) -> date:
        """The calendar day the command acts on (``--today``, else the local date)."""
        return self.today or date.today()


class QuizzerGroup(click.Group):
    """Turns QuizzerError into a one-line message and exit 1, once, at the edge."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QuizzerError as exc:
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

    with _database(ctx) as database, database.transaction() as session:
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
@click.option("--deck", "decks", multiple=True, metavar="SLUG", help="Only this deck (repeatable).")
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

    with _database(ctx) as database, database.transaction() as session:
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
@click.argument("name", metavar="DECK/ID")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the question, state and history as JSON."
)
@click.pass_context
def show_command(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show one question, its schedule and its review history."""
    from quizzer import services

    with _database(ctx) as database, database.transaction() as session:
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


@command("grade")
@click.argument("name", metavar="DECK/ID")
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
@click.option("--deck", "decks", multiple=True, metavar="SLUG", help="Only this deck (repeatable).")
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
