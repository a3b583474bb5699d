"""The daily practice: review and stats."""

from __future__ import annotations

import contextlib
import sys

import click

from quizzer.cli import (
    command,
    database_of,
    deck_option,
    echo_json,
    reconfigure_output,
    settings_of,
    utc_now,
)
from quizzer.cli.visible import echo

#: The bound of --new and --limit: collection.MAX_SETTING, the bound of the `new-per-day`
#: setting (a test checks they agree; collection is not imported here, to keep start-up light).
MAX_CARDS = 100_000

# --- review ---------------------------------------------------------------------------


@command("review")
@deck_option
@click.option(
    "--new",
    "new_per_day",
    type=click.IntRange(min=0, max=MAX_CARDS),
    metavar="N",
    help="New cards allowed today (default: the `new-per-day` setting, 10).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1, max=MAX_CARDS),
    metavar="N",
    help="At most N due and new cards this session (drill not counted).",
)
@click.option(
    "--trust",
    is_flag=True,
    help="Let t trace code of decks from files not bundled with quizzer even where the "
    "sandbox is no security boundary.",
)
@click.pass_context
def review_command(
    ctx: click.Context,
    decks: tuple[str, ...],
    new_per_day: int | None,
    limit: int | None,
    trust: bool,
) -> None:
    """The daily session: due cards, then new ones, then the same-day drill.

    Each answer is saved the moment it is given; run it again the same day to go on
    where you stopped. A new database is filled with the bundled decks first.

    When stdin is not a terminal, answers are read one per line (see the README's
    "Scripting a review"); `?` shows the keys. Ctrl-C stops with exit status 130.
    """
    from rich.console import Console

    from quizzer import collection, review, store
    from quizzer.cli.review_screen import ReviewScreen, Terminal
    from quizzer.db import SMALL_PAGE_CACHE_KIB, describe
    from quizzer.errors import QuizzerError

    settings = settings_of(ctx)
    today = settings.day()
    with database_of(ctx, page_cache_kib=SMALL_PAGE_CACHE_KIB) as database:
        if database.read_only:  # said before the first card, not after its answer
            raise QuizzerError(
                f"{describe(database.url)}: cannot be written here (the file or its folder is "
                "read-only), so a review could not save its answers; `quizzer decks`, "
                "`cards`, `stats` and `show` work"
            )
        with database.transaction() as session:
            if not store.has_decks(session):
                from quizzer import importing  # a new database only

                report = importing.import_decks(
                    session, [importing.bundled_decks_dir()], now=utc_now(), today=today
                )
                added = sum(d.added for d in report.decks)
                echo(
                    f"Loaded the bundled decks: {len(report.decks)} decks, {added} questions "
                    "(a collection that began otherwise gets them with `quizzer import --bundled`)."
                )
            for slug in decks:
                store.get_deck(session, slug)
            leech_threshold = collection.get_setting(session, "leech-threshold")
            python = collection.target_python(session)
            fsrs = review.load_fsrs(session)
            per_day = (
                new_per_day
                if new_per_day is not None
                else collection.get_setting(session, "new-per-day")
            )
        reconfigure_output()
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        if interactive:
            with contextlib.suppress(ImportError):  # line editing for input(), where there is one
                import readline  # noqa: F401
        # emoji=False: a ":name:" in a card, an answer or a typed line is text, shown as
        # it is (and rich's 4,000-entry emoji table is never loaded).
        terminal = Terminal(Console(highlight=False, emoji=False), interactive=interactive)
        summary = ReviewScreen(
            database,
            terminal,
            today=today,
            decks=decks,
            new_per_day=per_day,
            limit=limit,
            leech_threshold=leech_threshold,
            now=utc_now,
            fsrs=fsrs,
            python=python,
            trust=trust,
        ).run()
    if summary.interrupted:
        ctx.exit(130)  # the shell's convention for Ctrl-C, after the "saved" line


# --- stats ----------------------------------------------------------------------------


@command("stats")
@deck_option
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
    from quizzer import stats, store

    with database_of(ctx) as database, database.reading() as session:
        for slug in decks:
            store.get_deck(session, slug)
        numbers = stats.compute_stats(
            session, today=settings_of(ctx).day(), weeks=weeks, decks=decks
        )
    if as_json:
        echo_json(numbers.to_json())
        return
    from rich.console import Console

    reconfigure_output()
    from quizzer.cli.render import render_stats

    render_stats(numbers, Console(highlight=False))


# --- optimize -------------------------------------------------------------------------


@command("optimize")
@click.option("--json", "as_json", is_flag=True, help="Print the figures and parameters as JSON.")
@click.pass_context
def optimize_command(ctx: click.Context, as_json: bool) -> None:
    """Fit FSRS's parameters to your own review log; keep them only if they are better.

    Shows log loss and RMSE(bins) of the current and the fitted parameters on your
    history (lower is better). The fitted ones are kept when their log loss is lower.
    """
    from quizzer import optimizing

    with database_of(ctx) as database:
        with database.reading() as session:
            history = optimizing.gather(session)
        optimized = optimizing.fit(history)
        with database.transaction() as session:
            kept = optimizing.keep(session, optimized)
    if as_json:
        echo_json(
            {
                "reviews": optimized.reviews,
                "cards": optimized.cards,
                "before": vars(optimized.before),
                "after": vars(optimized.after),
                "current_parameters": list(optimized.current),
                "fitted_parameters": list(optimized.fitted),
                "kept": kept,
            }
        )
        return
    current = "current (FSRS-6 defaults)" if optimized.current_is_default else "current"
    width = len(current)
    echo(
        f"Fitted FSRS-6 to {optimized.reviews} reviews of {optimized.cards} cards "
        "(lower is better):"
    )
    echo(f"  {'':<{width}}  log loss  RMSE(bins)")
    for label, score in ((current, optimized.before), ("fitted", optimized.after)):
        echo(f"  {label:<{width}}  {score.log_loss:8.4f}  {score.rmse_bins:10.4f}")
    if kept:
        echo("Kept the fitted parameters: their log loss is lower.")
    else:
        echo("Kept the current parameters: the fitted ones are no better.")
