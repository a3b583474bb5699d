"""Commands on the collection: import, decks, cards, show, grade, undo, config, db."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from quizzer.cli import (
    UTF8_TEXT,
    command,
    common_options,
    complete_names,
    database_of,
    deck_option,
    echo_json,
    leech_message,
    main,
    print_table,
    refuse_empty,
    settings_of,
    utc_now,
)
from quizzer.cli.visible import echo
from quizzer.errors import QuizzerError

if TYPE_CHECKING:
    from quizzer.collection import CardListing

# --- import ---------------------------------------------------------------------------


@command("import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--bundled", is_flag=True, help="Also the decks that come with quizzer.")
@click.option(
    "--with-progress",
    is_flag=True,
    help="From Anki packages, bring the review history and schedule too.",
)
@click.option("--dry-run", is_flag=True, help="Validate the files only; change nothing.")
@click.option(
    "--replace", is_flag=True, help="Let a file take over a deck another file (or quizzer) owns."
)
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def import_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    bundled: bool,
    with_progress: bool,
    dry_run: bool,
    replace: bool,
    as_json: bool,
) -> None:
    """Load deck files, Anki packages (.apkg, .colpkg), or folders of them, into the database.

    Importing is idempotent: unchanged questions stay as they are, edited ones keep
    their schedule and history, and questions removed from a file are retired. The
    whole import is one transaction: a bad file changes nothing. Code is never run.
    --bundled loads the decks that come with quizzer (`review` loads them by itself
    only into an empty collection). Each Anki note becomes a question of a deck of
    your own; importing the package again updates them (see "Coming from Anki" in
    the README). A file whose `deck:` is a deck another file (or quizzer's bundled
    decks) owns is refused unless --replace.
    """
    from quizzer import importing
    from quizzer.files import deck_paths, package_paths

    if bundled:
        paths = (*paths, importing.bundled_decks_dir())
    if not paths:
        raise click.MissingParameter(
            "name deck files or folders, or --bundled",
            ctx=ctx,
            param_hint="'PATHS...'",
            param_type="argument",
        )
    packages = package_paths(paths)
    deck_files = list(deck_paths(paths))
    plans: list[Any] = []
    if packages:
        from quizzer import ankiimport

        # Read before anything is opened: a bad package changes nothing, not even a new file.
        plans = [ankiimport.plan_package(path, with_progress=with_progress) for path in packages]

    if dry_run:
        from quizzer import deckfile

        decks = deckfile.load_decks(deck_files) if deck_files else []
        for path, deck in decks:
            deckfile.refuse_missing_answers(path, deck)
        count = sum(len(deck.questions) for _, deck in decks)
        if as_json:
            echo_json(
                {
                    "dry_run": True,
                    "decks": [
                        {"deck": d.deck, "path": str(p), "questions": len(d.questions)}
                        for p, d in decks
                    ],
                    "packages": [
                        {"package": str(plan.path), "questions": len(plan.planned)}
                        for plan in plans
                    ],
                }
            )
        else:
            echo(f"{len(decks)} deck files valid, {count} questions (dry run: nothing changed)")
            for plan in plans:
                echo(
                    f"{plan.path}: {len(plan.planned)} of {plan.notes} notes can be imported "
                    "(dry run: nothing changed)"
                )
        return
    from quizzer.db import database_exists

    # A new database is made only once the files have proved valid.
    settings = settings_of(ctx)
    plan = None
    if deck_files and not database_exists(settings.db):
        plan = importing.plan_import(deck_files, known=set())
    with database_of(ctx) as database:
        if plan is None and deck_files:
            with database.reading() as session:
                known = importing.known_digests(session)
            # Parsed before the write transaction: other processes are not kept waiting.
            plan = importing.plan_import(deck_files, known=known)
        with database.transaction() as session:
            now, today = utc_now(), settings.day()
            report = (
                importing.apply_import(session, plan, now=now, today=today, replace=replace)
                if plan is not None
                else importing.ImportReport()
            )
            imported = [
                ankiimport.apply_package(
                    session, package, now=now, today=today, with_progress=with_progress
                )
                for package in plans
            ]
    if as_json:
        echo_json({**report.to_json(), "packages": [done.to_json() for done in imported]})
        return
    for item in report.decks:
        parts = [f"{item.added} added", f"{item.updated} updated", f"{item.unchanged} unchanged"]
        if item.retired:
            parts.append(f"{item.retired} retired")
        if item.restored:
            parts.append(f"{item.restored} restored")
        echo(f"{item.deck}: {', '.join(parts)}  ({item.path})")
    for done in imported:
        echo(_package_line(done))


def _package_line(done: Any) -> str:
    """One line for an imported Anki package."""
    parts = [f"{done.added} added", f"{done.updated} updated", f"{done.unchanged} unchanged"]
    if done.moved:
        parts.append(f"{done.moved} moved from another deck")
    skipped = sum(done.skipped.values())
    if skipped:
        reasons = "; ".join(f"{count} {why}" for why, count in done.skipped.items())
        parts.append(f"{skipped} notes skipped ({reasons})")
    parts.append(f"{done.media} media files skipped")
    if done.reviews or done.progress_kept:
        parts.append(f"{done.reviews} answers of history")
    if done.progress_kept:
        parts.append(f"{done.progress_kept} cards kept their quizzer history")
    decks = ", ".join(done.decks) or "no deck"
    return f"{done.path}: {done.notes} notes into {decks}: {', '.join(parts)}"


# --- decks, cards, show ---------------------------------------------------------------


@command("decks")
@click.option("--json", "as_json", is_flag=True, help="Print the decks as JSON.")
@click.pass_context
def decks_command(ctx: click.Context, as_json: bool) -> None:
    """List decks with counts: new, due today, learned, retired."""
    from dataclasses import asdict

    from quizzer import collection

    with database_of(ctx) as database, database.reading() as session:
        summaries = collection.deck_summaries(session, today=settings_of(ctx).day())
    if as_json:
        echo_json([asdict(s) for s in summaries])
        return
    if not summaries:
        echo("No decks yet. Load some with `quizzer import PATH` (or just run `quizzer review`).")
        return
    print_table(
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
@deck_option
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
    from quizzer import collection

    with database_of(ctx) as database, database.reading() as session:
        cards = collection.iter_cards(
            session,
            today=settings_of(ctx).day(),
            decks=decks,
            due_only=due_only,
            include_retired=include_retired,
            leeches_only=leeches_only,
        )
        if as_json:
            _echo_json_list(row.to_json() for row in cards)
            return
        rows = list(cards)
    if not rows:
        echo("No cards match.")
        return
    print_table(
        None,
        [
            ("question", "left"),
            ("type", "left"),
            ("ease", "right"),
            ("reps", "right"),
            ("interval", "right"),
            ("due", "left"),
            ("lapses", "right"),
            ("", "left"),
        ],
        [
            [
                row.name,
                row.type,
                f"{row.ease:.2f}",
                str(row.repetitions),
                str(row.interval),
                "new" if row.new else row.due.isoformat(),
                str(row.lapses),
                " ".join(_markers(row)),
            ]
            for row in rows
        ],
    )


def _echo_json_list(items: Iterator[dict[str, Any]], *, batch: int = 500) -> None:
    """A JSON list printed as it is read, ``batch`` items a write: what ``echo_json``
    prints for the whole list (2-space indent, non-ASCII kept, control characters escaped),
    without holding it all."""
    import json

    from quizzer.questions import TERMINAL_CONTROL

    # json's indenting encoder is pure Python (a third of `cards --json` at 100k). An item
    # of scalars is written by the C encoder, its separators spelling the indent (a newline
    # inside a string is escaped, so each one in the text is a separator's).
    flat = json.JSONEncoder(ensure_ascii=False, separators=(",\n    ", ": ")).encode
    indented = json.JSONEncoder(indent=2, ensure_ascii=False).encode

    def encode(item: dict[str, Any]) -> str:
        if not item or any(isinstance(value, dict | list | tuple) for value in item.values()):
            return indented(item).replace("\n", "\n  ")
        return "{\n    " + flat(item)[1:-1] + "\n  }"

    def write(text: str) -> None:
        click.echo(TERMINAL_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text), nl=False)

    first = next(items, None)
    if first is None:
        write("[]\n")
        return
    parts = ["[\n  " + encode(first)]
    for item in items:
        parts.append(",\n  " + encode(item))
        if len(parts) >= batch:
            write("".join(parts))
            parts.clear()
    parts.append("\n]\n")
    write("".join(parts))


def _markers(row: CardListing) -> list[str]:
    """What sets a card apart, shown on its own row: (retired), (leech), (suspended)."""
    return [
        marker
        for marker, on in (
            ("(retired)", row.retired),
            ("(leech)", row.leech),
            ("(suspended)", row.suspended and not row.leech),
        )
        if on
    ]


@command("show")
@click.argument("name", metavar="DECK/ID", type=UTF8_TEXT, shell_complete=complete_names)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the question, state and history as JSON."
)
@click.pass_context
def show_command(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show one question, its schedule and its review history."""
    from quizzer import collection

    with database_of(ctx) as database, database.reading() as session:
        data = collection.show_question(session, name, today=settings_of(ctx).day())
    if as_json:
        echo_json(data)
        return
    state = data["state"]
    echo(f"{data['name']}  [{data['type']}]" + ("  (retired)" if data["retired"] else ""))
    echo(data["prompt"])
    if data["code"]:
        echo("")
        echo(data["code"].rstrip("\n"))
    if data["choices"]:
        for choice in data["choices"]:
            echo(f"  - {choice}")
    echo("")
    echo("answer: " + data["answer"].rstrip("\n").replace("\n", "\n        "))
    for spec, answer in (data.get("answers_by_python") or {}).items():
        echo(f"  python{spec}: " + answer.rstrip("\n").replace("\n", "\n        "))
    if data["explanation"]:
        echo("why:    " + data["explanation"].strip())
    if data["python"]:
        echo(f"python: {data['python']}  (the versions the answer holds for)")
    for number, variant in enumerate(data["variants"] or [], start=2):
        echo("")
        echo(f"variant {number}:")
        echo("  " + variant["code"].rstrip("\n").replace("\n", "\n  "))
        echo("answer: " + variant["answer"].rstrip("\n").replace("\n", "\n        "))
    echo("")
    due = "new" if state["new"] else f"due {state['due']}"
    echo(
        f"ease {state['ease']:.2f}, repetitions {state['repetitions']}, interval "
        f"{state['interval']} d, {due}, lapses {state['lapses']}"
    )
    if state["stability"] is not None:
        recall = (
            "" if state["recall"] is None else f", predicted recall today {state['recall']:.0%}"
        )
        echo(
            f"FSRS: stability {state['stability']:.2f} d, difficulty {state['difficulty']:.2f}"
            f"{recall}"
        )
    for row in data["by_variant"] or []:
        last = f", last shown {row['last']}" if row["last"] else ", not shown yet"
        echo(
            f"  variant {row['variant']}: {row['answers']} answer"
            f"{'s' if row['answers'] != 1 else ''}, {row['right']} right{last}"
        )
    for entry in data["history"]:
        after = entry["after"]
        memory = (
            "" if after["stability"] is None else f", FSRS stability {after['stability']:.2f} d"
        )
        echo(
            f"  {entry['day']}  q={entry['quality']}  {entry['kind']:<6}  -> ease "
            f"{after['ease']:.2f}, reps {after['repetitions']}, due {after['due']}{memory}"
            + ("" if entry["variant"] is None else f"  (variant {entry['variant'] + 1})")
        )
        if entry["typed"] is not None:
            typed = entry["typed"].replace("\n", "\n              ") if entry["typed"] else ""
            echo(f"      typed:  {typed or '(nothing)'}")


# --- grade ----------------------------------------------------------------------------


@command("grade", context_settings={"ignore_unknown_options": True})
@click.argument("name", metavar="DECK/ID", type=UTF8_TEXT, shell_complete=complete_names)
@click.argument("quality", type=click.IntRange(0, 5), metavar="QUALITY")
@click.option("--json", "as_json", is_flag=True, help="Print the review and new state as JSON.")
@click.pass_context
def grade_command(ctx: click.Context, name: str, quality: int, as_json: bool) -> None:
    """Record one answer (QUALITY 0-5, SM-2) without the interactive session.

    An answer on the day of the card's last graded review is a drill: logged, schedule
    unchanged. A card that is not due yet is refused and nothing changes.
    """
    from quizzer import collection, review

    with database_of(ctx) as database, database.transaction() as session:
        threshold = collection.get_setting(session, "leech-threshold")
        recorded = review.grade(
            session,
            name,
            quality,
            today=settings_of(ctx).day(),
            now=utc_now(),
            leech_threshold=threshold,
        )
    outcome, after = recorded.outcome, recorded.outcome.after
    if as_json:
        fsrs_state = {}
        if recorded.memory is not None:
            fsrs_state = {
                "stability": recorded.memory.stability,
                "difficulty": recorded.memory.difficulty,
            }
        echo_json(
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
                **fsrs_state,
            }
        )
        return
    if outcome.kind == "drill":
        echo(f"{name}: drill answer logged (graded already today); next due {after.due}")
    elif recorded.memory is not None:
        memory = recorded.memory
        echo(
            f"{name}: q={quality}; FSRS stability {memory.stability:.2f} d, difficulty "
            f"{memory.difficulty:.2f}, next due {after.due}"
        )
    else:
        echo(
            f"{name}: q={quality}; ease {after.ease / 100:.2f}, repetitions {after.repetitions}, "
            f"interval {after.interval} d, next due {after.due}"
        )
    if recorded.leeched:
        echo(leech_message(name, after.lapses))


# --- settings -------------------------------------------------------------------------


# A negative number is a value to refuse with the reason, not an unknown option "-1".
@command("config", context_settings={"ignore_unknown_options": True})
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@click.pass_context
def config_command(ctx: click.Context, key: str | None, value: str | None, as_json: bool) -> None:
    """Show or change persisted settings.

    `quizzer config` lists them; `quizzer config new-per-day 20` changes one.
    """
    from quizzer import collection

    with database_of(ctx) as database, database.transaction() as session:
        if key is None:
            values = {name: collection.get_setting(session, name) for name in collection.SETTINGS}
            if as_json:
                echo_json(dict(sorted(values.items())))
                return
            for name, (_, _, about) in sorted(collection.SETTINGS.items()):
                echo(f"{name} = {values[name]}    # {about}")
            return
        if value is None:
            if key not in collection.SETTINGS:
                raise QuizzerError(f"{key}: no such setting")
            stored = collection.get_setting(session, key)
        else:
            stored = collection.set_setting(session, key, value)
    if as_json:
        echo_json({key: stored})
    elif value is None:
        echo(str(stored))
    else:
        echo(f"{key} = {stored}")


# --- undo, unsuspend ------------------------------------------------------------------


@command("undo")
@click.pass_context
def undo_command(ctx: click.Context) -> None:
    """Take back the last answer, restoring the card's state exactly as before it.

    Works across sessions; a second undo takes back the answer before that.
    """
    from quizzer import review

    with database_of(ctx) as database, database.transaction() as session:
        undone = review.undo_last(session)
    echo(f"Undone: {undone.name}, quality {undone.quality} ({undone.kind}) on {undone.day}.")


@command("unsuspend")
@click.argument("name", metavar="DECK/ID", type=UTF8_TEXT, shell_complete=complete_names)
@click.pass_context
def unsuspend_command(ctx: click.Context, name: str) -> None:
    """Bring a suspended card (a leech) back into reviews; its leech tag is cleared.

    A card that is not suspended is left as it is; a retired question is refused.
    """
    from quizzer import collection

    with database_of(ctx) as database, database.transaction() as session:
        changed = collection.unsuspend(session, name)
    if changed:
        echo(f"{name}: back in reviews.")
    else:
        echo(f"{name} is not suspended; nothing changed.")


@command("restore")
@click.argument("name", metavar="DECK/ID", type=UTF8_TEXT, shell_complete=complete_names)
@click.pass_context
def restore_command(ctx: click.Context, name: str) -> None:
    """Bring back a question `quizzer delete` retired, with its schedule and history.

    For your own decks; a question of a deck file comes back when the file has it again
    and is imported.
    """
    from quizzer import authoring, store

    with database_of(ctx) as database, database.transaction() as session:
        restored = authoring.restore(session, store.get_question(session, name))
    if restored:
        echo(f"{name}: restored, with its schedule and history.")
    else:
        echo(f"{name} is not retired; nothing changed.")


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
    callback=lambda ctx, param, value: refuse_empty(value, "'--to'"),
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
    from quizzer.bulk import end_startup

    end_startup()
    report = dbcopy.copy_database(settings_of(ctx).db, target, replace=replace)
    verb = "Replaced the collection in" if report.replaced else "Copied to"
    echo(f"{verb} {report.target}: {report.summary()} (from {report.source}).")


@db_group.command("check")
@common_options(envvar=False)
@click.option("--json", "as_json", is_flag=True, help="Print what was found as JSON.")
@click.pass_context
def db_check_command(ctx: click.Context, as_json: bool) -> None:
    """Check the collection: the database file (SQLite's integrity check) and quizzer's own
    rules (every card where its review log leads). Exit status 1 if anything is wrong.

    A damaged SQLite file can often be saved with `sqlite3 FILE .recover | sqlite3 NEW`,
    then `quizzer --db NEW db check`.
    """
    from quizzer import integrity

    with database_of(ctx) as database, database.reading() as session:
        report = integrity.check_collection(session)
    if as_json:
        echo_json(report.to_json())
    else:
        for problem in report.problems:
            echo(problem)
        if report.total_problems > len(report.problems):
            echo(f"... and {report.total_problems - len(report.problems)} more")
        verdict = "ok" if report.ok else f"{report.total_problems} problems"
        echo(f"{verdict}: {report.questions} questions, {report.reviews} answers checked")
    if not report.ok:
        ctx.exit(1)
