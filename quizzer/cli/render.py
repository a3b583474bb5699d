"""How the commands draw: diffs, the stats heatmap and bars. Only ``cli`` uses it, and
imports it inside the commands that draw (rich is not loaded for the others)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from quizzer import scheduler
from quizzer.answers import LineComparison, Spans
from quizzer.cli.visible import echo, visible

if TYPE_CHECKING:  # the review screen draws comparisons and must not load the stats
    from quizzer.stats import Stats

# --- diffs ---------------------------------------------------------------------------

#: A longer diff is cut: past a few screens it only buries the other failures.
MAX_DIFF_LINES = 200


def echo_diff(diff: str, *, err: bool = False) -> None:
    """Print ``diff``, cut to MAX_DIFF_LINES lines and a last one saying how many were cut."""
    lines = diff.rstrip("\n").split("\n")
    if len(lines) > MAX_DIFF_LINES:
        left_out = len(lines) - MAX_DIFF_LINES
        lines = [*lines[:MAX_DIFF_LINES], f"... {left_out} more lines of the diff left out"]
    echo("\n".join(lines), err=err)


# --- a wrong answer beside the right one ---------------------------------------------

EXPECTED_LABEL, TYPED_LABEL = "expected", "you typed"
#: Colours say what is right (green) and what was typed wrong (red); without colour a
#: line of carets under each line marks the characters that differ.
EXPECTED_STYLE, TYPED_STYLE = "bold green", "bold red"
CARET = "^"


def _shown(line: str, marks: Spans) -> tuple[str, Spans]:
    """``line`` made :func:`visible` (a control character spelled out), with ``marks``
    moved to where their characters are in it."""
    if visible(line) == line:
        return line, marks
    starts = [0]
    for char in line:
        starts.append(starts[-1] + len(visible(char)))
    return visible(line), tuple((starts[start], starts[end]) for start, end in marks)


def _marked(line: str, marks: Spans, style: str) -> Text:
    text = Text(line)
    for start, end in marks:
        text.stylize(style, start, end)
    return text


def _carets(line: str, marks: Spans) -> str:
    """A line with a caret under each marked character of ``line`` (tabs and wide
    characters keep their width, so the carets stay under their characters)."""
    marked = {index for start, end in marks for index in range(start, end)}
    out: list[str] = []
    for index, char in enumerate(line):
        if char == "\t":
            out.append("\t")
            continue
        width = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        out.append((CARET if index in marked else " ") * width)
    return "".join(out).rstrip()


#: How an empty line that differs is shown (it has no characters to mark).
EMPTY_LINE = "(empty line)"


def _side(rows: Sequence[LineComparison], *, expected: bool) -> list[tuple[str, Spans]]:
    lines: list[tuple[str, Spans]] = []
    for row in rows:
        line = row.expected if expected else row.typed
        if line is None:
            continue
        marks = row.expected_marks if expected else row.typed_marks
        if not line and not row.same:
            line, marks = EMPTY_LINE, ((0, len(EMPTY_LINE)),)
        lines.append((line, marks))
    return lines


def print_comparison(console: Console, rows: Sequence[LineComparison]) -> None:
    """A wrong output beside the right one, as Anki shows a typed answer: "expected" and
    "you typed", with the differing characters in colour, or marked with carets below
    when there is no colour (piped, NO_COLOR). A one-line answer is shown on two lines;
    a longer one as two blocks.
    """
    carets = console.no_color or console.color_system is None
    sides = [
        (EXPECTED_LABEL, _side(rows, expected=True), EXPECTED_STYLE),
        (TYPED_LABEL, _side(rows, expected=False), TYPED_STYLE),
    ]
    one_line = all(len(lines) <= 1 for _, lines, _ in sides)
    width = max(len(label) for label, _, _ in sides) + 2
    for label, lines, style in sides:
        if one_line:
            indent = " " * width
            head = Text.assemble((f"{label}:".ljust(width), "dim"))
            if not lines:
                console.print(Text.assemble(head, ("(nothing)", "dim")), highlight=False)
                continue
            prefixed = [(lines[0], head)]
        else:
            indent = "  "
            console.print(Text(f"{label}:", style="dim"), highlight=False)
            prefixed = [(line, Text(indent)) for line in lines]
        for (raw, raw_marks), prefix in prefixed:
            line, marks = _shown(raw, raw_marks)
            body = Text(line) if carets else _marked(line, marks, style)
            console.print(Text.assemble(prefix, body), highlight=False, soft_wrap=True)
            if carets and marks:
                console.print(indent + _carets(line, marks), highlight=False, markup=False)


# --- stats ---------------------------------------------------------------------------

#: The heatmap's shades above "no reviews": a day's level is ceil(LEVELS * n / busiest day).
LEVELS = 4
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: GitHub's greens, from no reviews to the busiest days.
SHADE_STYLES = ("bright_black", "#0e4429", "#006d32", "#26a641", "#39d353")
#: Without colour the level must show in the character itself.
UNICODE_RAMP = ("·", "░", "▒", "▓", "█")
ASCII_RAMP = (".", ":", "+", "*", "#")
#: Left margin of the heatmap and the bars (weekday names, dates).
LABEL_WIDTH = 4


@dataclass(frozen=True)
class _Glyphs:
    cells: tuple[str, ...]
    bar: str
    ge: str


def _glyphs(console: Console) -> _Glyphs:
    ascii_only = not console.encoding.lower().startswith("utf")
    if ascii_only:
        return _Glyphs(ASCII_RAMP, "#", ">=")
    # Shades of green are only told apart with 256 colours or more; otherwise the
    # character carries the level and colour just helps.
    many_colours = not console.no_color and console.color_system in ("256", "truecolor")
    cells = ("■",) * (LEVELS + 1) if many_colours else UNICODE_RAMP
    return _Glyphs(cells, "█", "≥")


def level(count: int, busiest: int) -> int:
    """A day's shade, 0 (no answers) to LEVELS (the busiest day)."""
    if count <= 0 or busiest <= 0:
        return 0
    return max(1, min(LEVELS, math.ceil(LEVELS * count / busiest)))


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _weeks(stats: Stats, console: Console) -> tuple[int, int]:
    """(weeks in the stats, weeks the terminal has room for): the oldest give way."""
    columns = len(stats.days) // 7 + (1 if len(stats.days) % 7 else 0)
    return columns, max(1, min(columns, (console.width - LABEL_WIDTH) // 2))


def _heatmap(stats: Stats, console: Console, glyphs: _Glyphs) -> None:
    start = stats.days[0].day
    columns, shown = _weeks(stats, console)
    first_column = columns - shown
    busiest = max((d.reviews for d in stats.days), default=0)

    # A label may run one character past the last column ("Jan" over a 2-wide cell).
    header = [" "] * min(console.width, LABEL_WIDTH + 2 * shown + 1)
    free_from = 0
    previous_month: int | None = None
    for column in range(first_column, columns):
        monday = start + timedelta(days=7 * column)
        label = MONTHS[monday.month - 1]
        at = LABEL_WIDTH + 2 * (column - first_column)
        if monday.month != previous_month and at >= free_from and at + len(label) <= len(header):
            header[at : at + len(label)] = label
            free_from = at + len(label) + 1
        previous_month = monday.month
    console.print("".join(header).rstrip(), highlight=False)

    for weekday in range(7):
        line = Text(f"{WEEKDAYS[weekday]:<{LABEL_WIDTH}}")
        for column in range(first_column, columns):
            index = 7 * column + weekday
            if index >= len(stats.days):
                line.append("  ")
                continue
            shade = level(stats.days[index].reviews, busiest)
            line.append(glyphs.cells[shade], style=SHADE_STYLES[shade])
            line.append(" ")
        line.rstrip()
        console.print(line, highlight=False)

    legend = Text(" " * LABEL_WIDTH + "less ")
    for shade in range(LEVELS + 1):
        legend.append(glyphs.cells[shade], style=SHADE_STYLES[shade])
        legend.append(" ")
    legend.append("more")
    if busiest:
        legend.append(f"  (busiest day: {busiest})")
    console.print(legend, highlight=False)


def _bars(stats: Stats, console: Console, glyphs: _Glyphs) -> None:
    busiest = max((d.due for d in stats.forecast), default=0)
    label_width = len("Mon 01-05 today")
    count_width = len(str(busiest))
    room = max(10, min(50, console.width - label_width - count_width - 3))
    for offset, entry in enumerate(stats.forecast):
        when = f"{WEEKDAYS[entry.day.weekday()]} {entry.day:%m-%d}"
        when += " today" if offset == 0 else f" +{offset:<4}"
        length = round(room * entry.due / busiest) if busiest else 0
        if entry.due and not length:
            length = 1
        line = Text(f"{when:<{label_width}} ")
        line.append(glyphs.bar * length, style="cyan")
        line.append(f" {entry.due}" if length else f"{entry.due}")
        console.print(line, highlight=False)


def _deck_table(stats: Stats, console: Console) -> None:
    if not stats.decks:
        console.print("No decks yet. Load some with `quizzer import PATH`.", highlight=False)
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("deck")
    for name in ("total", "new", "due", "learned", "retired", "reviews 30d", "retention 30d"):
        table.add_column(name, justify="right")
    for row in stats.decks:
        table.add_row(
            Text(row.deck),
            str(row.total),
            str(row.new),
            str(row.due),
            str(row.learned),
            str(row.retired),
            str(row.reviews_30d),
            _percent(row.retention_30d),
        )
    console.print(table, highlight=False)


def render_stats(stats: Stats, console: Console) -> None:
    """Print ``stats`` for a terminal: heatmap, retention, streak, forecast bars, decks.

    Falls back to plain shade characters without colour (NO_COLOR, not a terminal) and
    to ASCII when the console's encoding is not UTF-8.
    """
    glyphs = _glyphs(console)
    scope = f" (decks: {', '.join(stats.deck_filter)})" if stats.deck_filter else ""
    columns, shown = _weeks(stats, console)
    first, last = stats.days[0].day, stats.days[-1].day
    days, answers = stats.active_days, stats.reviews_in_window
    console.print(
        Text(
            f"Reviews per day, {first.isoformat()} to {last.isoformat()}{scope}: "
            f"{answers} answer{'s' if answers != 1 else ''} "
            f"on {days} day{'s' if days != 1 else ''}",
            style="bold",
        ),
        highlight=False,
    )
    if shown < columns:  # the heatmap says what it leaves out
        from_day = stats.days[7 * (columns - shown)].day
        console.print(
            f"(the heatmap shows the last {shown} of {columns} weeks, from "
            f"{from_day.isoformat()}: a wider terminal shows all)",
            highlight=False,
            markup=False,
        )
    _heatmap(stats, console, glyphs)
    console.print()

    r7, r30 = stats.retention_7d, stats.retention_30d
    console.print(
        f"Retention (graded answers with quality {glyphs.ge} {scheduler.PASSING_QUALITY}): "
        f"7 days {_percent(r7.rate)} ({r7.correct} of {r7.graded}), "
        f"30 days {_percent(r30.rate)} ({r30.correct} of {r30.graded})",
        highlight=False,
        markup=False,
    )
    own, other = stats.variants_own, stats.variants_other
    if own is not None and other is not None:
        console.print(
            f"Questions that vary, 30 days: own code {_percent(own.rate)} ({own.correct} of "
            f"{own.graded}), other variants {_percent(other.rate)} ({other.correct} of "
            f"{other.graded})",
            highlight=False,
            markup=False,
        )
    streak = stats.streak
    if streak.days:
        note = "" if streak.reviewed_today else " (today not reviewed yet)"
        text = f"Streak: {streak.days} day{'s' if streak.days != 1 else ''}{note}"
    elif streak.last_day is not None:
        text = f"Streak: 0 days (last answer on {streak.last_day.isoformat()})"
    else:
        text = "Streak: 0 days (no answers yet)"
    console.print(text, highlight=False, markup=False)
    if stats.recall is not None:
        console.print(
            f"Predicted recall today (FSRS): {_percent(stats.recall.average)} on average over "
            f"{stats.recall.cards} learned cards",
            highlight=False,
            markup=False,
        )
    console.print()

    overdue = f", today includes {stats.overdue} overdue" if stats.overdue else ""
    console.print(
        Text(f"Due in the next {len(stats.forecast)} days{overdue}", style="bold"),
        highlight=False,
    )
    _bars(stats, console, glyphs)
    console.print()
    _deck_table(stats, console)


#: How each verdict shows in check's version matrix.
MATRIX_CELLS = {"passed": "pass", "failed": "FAIL", "skipped": "-"}


def echo_matrix(matrix: Any) -> None:
    """check on several Pythons: a row per question, a column per version (pass, FAIL, or
    - where its ``python:`` range leaves the version out); then each failure's reason and
    a summary line per version."""
    versions = matrix.versions
    rows = matrix.rows()
    width = max([len("question"), *(len(visible(label)) for label, _ in rows)])
    cell = max([4, *(len(v) for v in versions)])
    echo(f"{'question':<{width}}  " + "  ".join(f"{v:<{cell}}" for v in versions).rstrip())
    for label, statuses in rows:
        cells = "  ".join(f"{MATRIX_CELLS[s]:<{cell}}" for s in statuses).rstrip()
        echo(f"{visible(label):<{width}}  {cells}")
    for report in matrix.reports:
        for result in report.failed:
            echo(f"FAIL {result.label} on {report.python_version}: {result.reason}")
    for report in matrix.reports:
        echo(f"{report.python_version} ({report.python}): {report.summary()}")
