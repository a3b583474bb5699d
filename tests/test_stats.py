"""`quizzer stats`: numbers computed from a real review history, and how they are drawn."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from helpers import write
from rich.console import Console

from quizzer import importing, review, store
from quizzer.cli.render import render_stats
from quizzer.db import Database, open_database
from quizzer.errors import NotFoundError, QuizzerError
from quizzer.stats import Stats, compute_stats

IMPORTED = date(2025, 11, 1)
TODAY = date(2026, 1, 7)  # a Wednesday
D = date.fromisoformat

# (day, question, quality), in the order given. An answer on the day of the card's
# last graded one is a drill: logged, counted as an answer, not graded.
HISTORY: list[tuple[str, str, int]] = [
    ("2025-12-01", "alpha/a0", 4),  # in the heatmap, outside the 30 days
    ("2025-12-20", "alpha/a1", 2),
    ("2025-12-20", "alpha/a1", 4),  # drill
    ("2025-12-31", "alpha/a2", 5),
    ("2026-01-03", "alpha/a5", 4),  # a5 is retired afterwards
    ("2026-01-04", "alpha/a3", 1),
    ("2026-01-04", "alpha/a3", 3),  # drill
    ("2026-01-04", "alpha/a3", 4),  # drill
    ("2026-01-05", "alpha/a4", 3),
    ("2026-01-05", "beta/b0", 4),
    ("2026-01-06", "alpha/a4", 4),
    ("2026-01-06", "beta/b1", 0),
]


def _deck(tmp_path: Path, slug: str, ids: list[str]) -> Path:
    lines = [f"deck: {slug}", f"title: Deck {slug}", "questions:"]
    for qid in ids:
        lines += [
            f"  - id: {qid}",
            "    type: recall",
            f"    prompt: {qid}?",
            f"    answer: A{qid}",
        ]
    return write(tmp_path / "decks" / f"{slug}.yaml", "\n".join(lines) + "\n")


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def answer(database: Database, name: str, quality: int, day: date) -> None:
    """Record one answer through the same service `review` and `grade` use."""
    with database.transaction() as session:
        question = store.get_question(session, name)
        review.record_answer(session, question, quality=quality, today=day, now=_at(day))


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(str(tmp_path / "q.db"))
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two decks, the answers in HISTORY, and alpha/a5 retired after its answer: made once
    (some thirty transactions), copied by each test that reads or changes it."""
    folder = tmp_path_factory.mktemp("history")
    path = folder / "q.db"
    database = open_database(str(path))
    try:
        alpha = _deck(folder, "alpha", [f"a{n}" for n in range(6)])
        beta = _deck(folder, "beta", ["b0", "b1", "b2"])
        with database.transaction() as session:
            importing.import_decks(session, [alpha, beta], now=_at(IMPORTED), today=IMPORTED)
        for day, name, quality in HISTORY:
            answer(database, name, quality, D(day))
        _deck(folder, "alpha", [f"a{n}" for n in range(5)])
        with database.transaction() as session:
            report = importing.import_decks(session, [alpha], now=_at(TODAY), today=TODAY)
        assert report.decks[0].retired == 1
    finally:
        database.dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return path


@pytest.fixture
def history(history_file: Path, tmp_path: Path) -> Iterator[Database]:
    """A copy of ``history_file`` of this test's own."""
    shutil.copyfile(history_file, tmp_path / "q.db")
    database = open_database(str(tmp_path / "q.db"))
    yield database
    database.dispose()


def stats_of(
    database: Database, *, today: date = TODAY, weeks: int = 12, decks: Sequence[str] = ()
) -> Stats:
    with database.transaction() as session:
        return compute_stats(session, today=today, weeks=weeks, decks=decks)


def _counts(stats: Stats) -> dict[str, tuple[int, int, int]]:
    return {d.day.isoformat(): (d.reviews, d.graded, d.correct) for d in stats.days if d.reviews}


# --- the numbers --------------------------------------------------------------------


def test_reviews_per_day_cover_whole_weeks_up_to_today(history: Database) -> None:
    stats = stats_of(history)
    # Twelve weeks, Monday first: from the Monday eleven weeks before this one, to today.
    assert stats.days[0].day == D("2025-10-20") and stats.days[0].day.weekday() == 0
    assert stats.days[-1].day == TODAY
    assert len(stats.days) == 11 * 7 + 3
    assert [d.day for d in stats.days] == sorted({d.day for d in stats.days})
    assert _counts(stats) == {
        "2025-12-01": (1, 1, 1),
        "2025-12-20": (2, 1, 0),
        "2025-12-31": (1, 1, 1),
        "2026-01-03": (1, 1, 1),
        "2026-01-04": (3, 1, 0),
        "2026-01-05": (2, 2, 2),
        "2026-01-06": (2, 2, 1),
    }
    assert stats.reviews_in_window == len(HISTORY)
    assert stats.active_days == 7


def test_fewer_weeks_and_answers_after_today_left_out(history: Database) -> None:
    stats = stats_of(history, weeks=1, today=D("2026-01-05"))
    assert [d.day for d in stats.days] == [D("2026-01-05")]
    assert _counts(stats) == {"2026-01-05": (2, 2, 2)}
    # The 30-day retention still looks back 30 days, though the heatmap is one week.
    assert (stats.retention_30d.graded, stats.retention_30d.correct) == (6, 4)
    longest = stats_of(history, weeks=520)
    assert len(longest.days) == 519 * 7 + 3 and longest.reviews_in_window == len(HISTORY)
    with history.transaction() as session, pytest.raises(QuizzerError, match="from 1 to 520"):
        compute_stats(session, today=TODAY, weeks=0)


def test_retention_over_7_and_30_days(history: Database) -> None:
    stats = stats_of(history)
    # 7 days (01-01..01-07): graded a5 4, a3 1, a4 3, b0 4, a4 4, b1 0. Drills don't count.
    assert (stats.retention_7d.days, stats.retention_7d.graded, stats.retention_7d.correct) == (
        7,
        6,
        4,
    )
    assert stats.retention_7d.rate == pytest.approx(4 / 6)
    # 30 days (12-09..01-07) adds a1 2 and a2 5; 12-01 is a day too early.
    assert (stats.retention_30d.graded, stats.retention_30d.correct) == (8, 5)
    assert stats.retention_30d.rate == pytest.approx(5 / 8)


def test_retention_is_none_without_graded_answers(database: Database) -> None:
    stats = stats_of(database)
    assert stats.retention_7d.rate is None and stats.retention_30d.rate is None
    assert stats.to_json()["retention_7d"] == {"days": 7, "graded": 0, "correct": 0, "rate": None}


def test_streak_counts_up_to_yesterday_until_today_is_reviewed(history: Database) -> None:
    before = stats_of(history).streak
    # 01-03, 01-04, 01-05, 01-06; 01-02 had no answer.
    assert (before.days, before.reviewed_today, before.last_day) == (4, False, D("2026-01-06"))
    answer(history, "beta/b1", 4, TODAY)
    after = stats_of(history).streak
    assert (after.days, after.reviewed_today, after.last_day) == (5, True, TODAY)


def test_streak_broken_by_a_gap_and_on_past_days(history: Database) -> None:
    gap = stats_of(history, today=D("2026-01-08")).streak
    assert (gap.days, gap.reviewed_today, gap.last_day) == (0, False, D("2026-01-06"))
    # Looking from 2026-01-01: 12-31 was yesterday, 12-30 had nothing.
    past = stats_of(history, today=D("2026-01-01")).streak
    assert (past.days, past.reviewed_today, past.last_day) == (1, False, D("2025-12-31"))
    on_the_day = stats_of(history, today=D("2025-12-20")).streak
    assert (on_the_day.days, on_the_day.reviewed_today) == (1, True)


def test_a_streak_longer_than_the_days_shown(database: Database, tmp_path: Path) -> None:
    deck = _deck(tmp_path, "long", [f"l{n:02d}" for n in range(40)])
    with database.transaction() as session:
        importing.import_decks(session, [deck], now=_at(IMPORTED), today=IMPORTED)
    days = [D("2025-11-10") + timedelta(days=n) for n in range(40)]
    days.remove(D("2025-11-14"))
    for n, day in enumerate(days):
        answer(database, f"long/l{n:02d}", 4, day)
    # 11-15 .. 12-19, seen from 12-20: 35 days, whether the heatmap shows 1 week or 12.
    for weeks in (1, 12):
        streak = stats_of(database, today=D("2025-12-20"), weeks=weeks).streak
        assert (streak.days, streak.reviewed_today, streak.last_day) == (35, False, D("2025-12-19"))
    # Long after: no streak, and the last day with answers is still found.
    later = stats_of(database, today=D("2026-03-01"), weeks=1).streak
    assert (later.days, later.reviewed_today, later.last_day) == (0, False, D("2025-12-19"))


def test_streak_without_any_answer(database: Database) -> None:
    streak = stats_of(database).streak
    assert (streak.days, streak.reviewed_today, streak.last_day) == (0, False, None)


def test_forecast_14_days_with_overdue_in_day_0(history: Database) -> None:
    stats = stats_of(history)
    # Due: a0 12-02, a1 12-21, a2 01-01, a3 01-05, b0 01-06 (overdue), b1 01-07 (today),
    # a4 01-12 (6 days after its second success). Retired a5 and new b2 are not counted.
    assert stats.overdue == 5
    assert [d.day for d in stats.forecast][:2] == [TODAY, D("2026-01-08")]
    assert len(stats.forecast) == 14 and stats.forecast[-1].day == D("2026-01-20")
    assert {d.day.isoformat(): d.due for d in stats.forecast if d.due} == {
        "2026-01-07": 6,
        "2026-01-12": 1,
    }


def test_forecast_agrees_with_what_review_asks(history: Database) -> None:
    stats = stats_of(history)
    with history.transaction() as session:
        due_now = review.due_ids(session, today=TODAY)
        outlook = review.outlook(session, today=TODAY)
    assert stats.forecast[0].due == len(due_now)
    assert outlook.tomorrow == sum(d.due for d in stats.forecast[:2])
    assert outlook.week == sum(d.due for d in stats.forecast[:8])


def test_suspended_cards_are_not_forecast(history: Database) -> None:
    with history.transaction() as session:
        store.get_question(session, "beta/b1").state.suspended = True
    stats = stats_of(history)
    assert stats.forecast[0].due == 5
    with history.transaction() as session:
        assert stats.forecast[0].due == len(review.due_ids(session, today=TODAY))


def test_per_deck_table(history: Database) -> None:
    rows = {row.deck: row for row in stats_of(history).decks}
    assert list(rows) == ["alpha", "beta"]
    alpha, beta = rows["alpha"], rows["beta"]
    # alpha: 6 questions, a5 retired; a0..a4 learned, of which a0..a3 due by today.
    assert (alpha.total, alpha.new, alpha.due, alpha.learned, alpha.retired) == (6, 0, 4, 5, 1)
    # 30 days: a1 x2, a2, a5 (retired since, still history), a3 x3, a4 x2.
    assert (alpha.reviews_30d, alpha.graded_30d, alpha.correct_30d) == (9, 6, 4)
    assert alpha.retention_30d == pytest.approx(4 / 6)
    assert (beta.total, beta.new, beta.due, beta.learned, beta.retired) == (3, 1, 2, 2, 0)
    assert (beta.reviews_30d, beta.graded_30d, beta.correct_30d) == (2, 2, 1)
    stats = stats_of(history)
    recent = sum(d.reviews for d in stats.days if (TODAY - d.day).days < 30)
    assert alpha.reviews_30d + beta.reviews_30d == recent


def test_deck_filter_limits_every_number(history: Database) -> None:
    stats = stats_of(history, decks=["beta"])
    assert stats.deck_filter == ("beta",)
    assert _counts(stats) == {"2026-01-05": (1, 1, 1), "2026-01-06": (1, 1, 0)}
    assert (stats.retention_7d.graded, stats.retention_7d.correct) == (2, 1)
    assert (stats.streak.days, stats.streak.last_day) == (2, D("2026-01-06"))
    assert (stats.overdue, stats.forecast[0].due) == (1, 2)
    assert [row.deck for row in stats.decks] == ["beta"]
    text = _render(stats, Console(file=io.StringIO(), width=100, no_color=True))
    assert "to 2026-01-07 (decks: beta): 2 answers on 2 days" in text
    with history.transaction() as session, pytest.raises(NotFoundError, match="gamma"):
        compute_stats(session, today=TODAY, decks=["gamma"])


def test_json_field_names_and_values(history: Database) -> None:
    data = json.loads(json.dumps(stats_of(history).to_json()))
    assert set(data) == {
        "today",
        "weeks",
        "deck_filter",
        "days",
        "reviews_in_window",
        "active_days",
        "retention_7d",
        "retention_30d",
        "streak",
        "overdue",
        "forecast",
        "decks",
        "scheduler",
        "recall",
        "variants",
    }
    assert data["variants"] is None  # no question varies
    assert (data["today"], data["weeks"], data["deck_filter"]) == ("2026-01-07", 12, [])
    assert data["days"][0] == {"date": "2025-10-20", "reviews": 0, "graded": 0, "correct": 0}
    assert {"date": "2026-01-04", "reviews": 3, "graded": 1, "correct": 0} in data["days"]
    assert data["retention_30d"] == {"days": 30, "graded": 8, "correct": 5, "rate": 0.625}
    assert data["retention_7d"]["rate"] == 0.6667
    assert data["streak"] == {"days": 4, "reviewed_today": False, "last_day": "2026-01-06"}
    assert data["overdue"] == 5
    assert data["forecast"][0] == {"date": "2026-01-07", "due": 6}
    assert data["decks"][1] == {
        "deck": "beta",
        "title": "Deck beta",
        "total": 3,
        "new": 1,
        "due": 2,
        "learned": 2,
        "retired": 0,
        "reviews_30d": 2,
        "graded_30d": 2,
        "correct_30d": 1,
        "retention_30d": 0.5,
        "recall": None,
    }


# --- drawing ------------------------------------------------------------------------


def _render(stats: Stats, console: Console) -> str:
    render_stats(stats, console)
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _rows(text: str) -> dict[str, str]:
    """The heatmap's lines, by weekday name."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        # The heatmap comes first; the forecast's lines start with weekday names too.
        if line[:3] in {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}:
            rows.setdefault(line[:3], line)
    return rows


def test_render_without_colour_uses_shade_characters(history: Database) -> None:
    console = Console(file=io.StringIO(), width=100, no_color=True)
    text = _render(stats_of(history), console)
    assert "\x1b[3" not in text  # no colour codes
    assert "Reviews per day, 2025-10-20 to 2026-01-07: 12 answers on 7 days" in text
    rows = _rows(text)
    # Columns are weeks (2025-10-20 .. 2026-01-05), the busiest day (3 answers) is darkest.
    assert rows["Mon"] == "Mon · · · · · · ▒ · · · · ▓"  # 12-01: 1 answer, 01-05: 2
    assert rows["Wed"] == "Wed · · · · · · · · · · ▒ ·"  # 12-31: 1; today: none yet
    assert rows["Sat"] == "Sat · · · · · · · · ▓ · ▒"  # this week's Saturday is to come
    assert rows["Sun"] == "Sun · · · · · · · · · · █"
    assert "\n    Oct Nov     Dec       Jan\n" in text  # above each month's first week
    assert "Retention (graded answers with quality ≥ 3): 7 days 67% (4 of 6)" in text
    assert "30 days 62% (5 of 8)" in text or "30 days 63% (5 of 8)" in text
    assert "Streak: 4 days (today not reviewed yet)" in text
    assert "Due in the next 14 days, today includes 5 overdue" in text
    bars = {line[:9]: line for line in text.splitlines() if line[3:4] == " " and "-" in line[4:9]}
    assert bars["Wed 01-07"].startswith("Wed 01-07 today ")
    assert bars["Wed 01-07"].endswith("█" * 50 + " 6")
    assert bars["Mon 01-12"].rstrip().endswith("█" * 8 + " 1")  # 1/6 of the longest bar
    assert bars["Thu 01-08"].rstrip().endswith(" 0") and "█" not in bars["Thu 01-08"]
    table = [line.split() for line in text.splitlines() if line.startswith(("deck", "alpha"))]
    assert table == [
        ["deck", "total", "new", "due", "learned", "retired", "reviews", "30d", "retention", "30d"],
        ["alpha", "6", "0", "4", "5", "1", "9", "67%"],
    ]


def test_render_on_an_ascii_terminal(history: Database) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    console = Console(file=stream, width=100, no_color=True)
    render_stats(stats_of(history), console)  # a non-ASCII character would raise here
    stream.flush()
    text = raw.getvalue().decode("ascii")
    assert _rows(text)["Sun"] == "Sun . . . . . . . . . . #"
    assert "quality >= 3" in text
    assert "#" * 50 + " 6" in text


def test_render_in_colour_and_with_no_color(
    history: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    stats = stats_of(history)
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = _render(
        stats, Console(file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor")
    )
    assert "\x1b[38;" in coloured and "■" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _render(
        stats, Console(file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor")
    )
    assert "\x1b[38;" not in plain and "■" not in plain
    assert "Sun · · · · · · · · · · █" in plain


def test_narrow_terminal_shows_the_latest_weeks(history: Database) -> None:
    text = _render(stats_of(history), Console(file=io.StringIO(), width=20, no_color=True))
    rows = _rows(text)
    # The last 8 weeks fit: 2025-11-17 .. 2026-01-05; this week's Sunday is to come.
    assert rows["Mon"] == "Mon · · ▒ · · · · ▓"
    assert rows["Sun"] == "Sun · · · · · · █"
    assert all(len(line) <= 20 for line in rows.values())
    # ... and says so: the heading's range is the whole window, the heatmap shows less.
    assert "(the heatmap shows the last 8 of 12 weeks, from 2025-11-17" in " ".join(text.split())


def test_one_active_day_is_one_day(database: Database, tmp_path: Path) -> None:
    with database.transaction() as session:
        deck = _deck(tmp_path, "alpha", ["a0"])
        importing.import_decks(session, [deck], now=_at(IMPORTED), today=IMPORTED)
    answer(database, "alpha/a0", 4, TODAY)
    text = _render(stats_of(database), Console(file=io.StringIO(), width=100, no_color=True))
    assert ": 1 answer on 1 day\n" in text


def test_render_an_empty_database(database: Database) -> None:
    text = _render(stats_of(database), Console(file=io.StringIO(), width=100, no_color=True))
    assert "0 answers on 0 days" in text
    assert "Streak: 0 days (no answers yet)" in text
    assert "No decks yet" in text
