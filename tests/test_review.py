"""`quizzer review` driven through the line protocol (stdin not a terminal)."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from helpers import Choice, Invoke, review_script, shown_choices, write

CELL_CHOICES = ["The value at definition time", "The variable (a cell)"]
CELL_ANSWER = "The variable (a cell)"


def _log(db_path: Path) -> list[tuple[str, int, str, str | None]]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(
            "SELECT q.qid, r.quality, r.kind, r.typed FROM reviews r "
            "JOIN questions q ON q.id = r.question_id ORDER BY r.id"
        ).fetchall()


@pytest.fixture
def imported(invoke: Invoke, deck_file: Path) -> Invoke:
    assert invoke("import", str(deck_file)).exit_code == 0
    return invoke


def test_every_type_answered_right(imported: Invoke, db_path: Path) -> None:
    wrong = "The value at definition time"
    assert wrong != CELL_ANSWER
    script = review_script("[2, 2, 2]", ".", "", Choice(CELL_ANSWER), "e", "", "g")
    result = imported("review", input=script)
    assert result.exit_code == 0, result.output
    assert "1/3  test-closures/late-binding  (new)" in result.output
    assert "fs = [lambda: i for i in range(3)]" in result.output
    assert "Correct." in result.output
    assert "Answer: nonlocal" in result.output
    assert "Reviewed 3 cards (3 answers, 100% correct), 3 new" in result.output
    assert "Due tomorrow: 3." in result.output
    assert _log(db_path) == [
        ("late-binding", 4, "graded", "[2, 2, 2]"),
        ("cell", 5, "graded", CELL_ANSWER),
        ("nonlocal", 4, "graded", None),
    ]


def test_wrong_answers_show_diff_then_drill_until_four(imported: Invoke, db_path: Path) -> None:
    script = review_script(
        *("[0, 1, 2]", "."),  # wrong output: q=1
        Choice("The value at definition time"),  # wrong choice: q=1
        *("", "a"),  # recall: again, q=1
        # the drill, in the order the cards were missed:
        *("[2, 2, 2]", ".", "h"),  # right but hard: q=3, stays in the drill
        *(Choice(CELL_ANSWER), ""),  # right, good: q=4, done
        *("", "4"),  # recall: 4, done
        *("[2, 2, 2]", ".", ""),  # late-binding again: good, done
    )
    result = imported("review", input=script)
    assert result.exit_code == 0, result.output
    assert "expected:  [2, 2, 2]\n            ^  ^\nyou typed: [0, 1, 2]\n" in result.output
    assert "The lambdas look up i when called" in result.output
    assert f"The answer is: {CELL_ANSWER}" in result.output
    assert "4/6  test-closures/late-binding  (drill)" in result.output
    assert [(q, quality, kind) for q, quality, kind, _ in _log(db_path)] == [
        ("late-binding", 1, "graded"),
        ("cell", 1, "graded"),
        ("nonlocal", 1, "graded"),
        ("late-binding", 3, "drill"),
        ("cell", 4, "drill"),
        ("nonlocal", 4, "drill"),
        ("late-binding", 4, "drill"),
    ]
    cards = json.loads(imported("cards", "--json").output)
    assert {c["id"]: (c["ease"], c["lapses"], c["due"]) for c in cards} == {
        "late-binding": (1.96, 1, "2026-01-06"),
        "cell": (1.96, 1, "2026-01-06"),
        "nonlocal": (1.96, 1, "2026-01-06"),
    }


def test_empty_answer_is_dont_know(imported: Invoke, db_path: Path) -> None:
    result = imported("review", input=".\n\nq\n")
    assert "Don't know." in result.output
    assert _log(db_path)[0][:2] == ("late-binding", 0)


def test_skip_brings_the_card_back_later(imported: Invoke, db_path: Path) -> None:
    script = review_script("s", Choice(CELL_ANSWER), "", "", "", "[2, 2, 2]", ".", "")
    result = imported("review", input=script)
    assert "Skipped: it comes back later." in result.output
    assert [row[0] for row in _log(db_path)] == ["cell", "nonlocal", "late-binding"]


def test_undo_restores_the_last_answer(imported: Invoke, db_path: Path) -> None:
    before = imported("show", "test-closures/late-binding", "--json").output
    result = imported("review", input="[2, 2, 2]\n.\ne\nu\nq\n")
    assert "Undone: test-closures/late-binding (quality 5, graded)." in result.output
    assert _log(db_path) == []
    assert imported("show", "test-closures/late-binding", "--json").output == before
    # After the undo the same card is asked again, first.
    assert result.output.count("1/3  test-closures/late-binding  (new)") == 2


def test_quit_keeps_answers_and_the_same_day_resumes(imported: Invoke, db_path: Path) -> None:
    first = imported("review", input="[0]\n.\nq\n")
    assert first.exit_code == 0
    assert "Reviewed 1 card (1 answer, 0% correct)" in first.output
    assert "3 cards still to do today" in first.output
    assert _log(db_path) == [("late-binding", 1, "graded", "[0]")]
    second = imported("review", input="q\n")
    assert "No answers this time; 3 cards wait for today." in second.output
    # Resumed: two new cards left, then the drill of the missed one.
    assert "1/3  test-closures/cell  (new)" in second.output
    third = imported(
        "review", input=review_script(Choice(CELL_ANSWER), "", "", "", "[2, 2, 2]", ".", "")
    )
    assert "3/3  test-closures/late-binding  (drill)" in third.output
    assert [(q, k) for q, _, k, _ in _log(db_path)] == [
        ("late-binding", "graded"),
        ("cell", "graded"),
        ("nonlocal", "graded"),
        ("late-binding", "drill"),
    ]
    done = imported("review", input="")
    assert "Nothing due today. The next card is due on 2026-01-06 (in 1 day)." in done.output


def test_end_of_input_at_a_rating_keeps_the_right_answer_as_good(
    imported: Invoke, db_path: Path
) -> None:
    # The right choice, then input ends before the rating: it was saved when it was checked.
    result = imported("review", input=review_script("[2, 2, 2]", ".", "", Choice(CELL_ANSWER)))
    assert result.exit_code == 0
    assert [row[:2] for row in _log(db_path)] == [("late-binding", 4), ("cell", 4)]


def _recall_deck(tmp_path: Path, count: int) -> Path:
    lines = ["deck: many", "title: Many", "questions:"]
    for n in range(count):
        lines += [
            f"  - id: q{n:02d}",
            "    type: recall",
            f"    prompt: Q{n}?",
            f"    answer: A{n}",
        ]
    return write(tmp_path / "many.yaml", "\n".join(lines) + "\n")


def test_daily_new_card_limit_counts_cards_started_today(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    assert invoke("import", str(_recall_deck(tmp_path, 14))).exit_code == 0
    assert invoke("review", input="\ng\n" * 4 + "q\n").exit_code == 0
    rest = invoke("review", input="\ng\n" * 20)
    assert "1/6  many/q04  (new)" in rest.output
    assert len(_log(db_path)) == 10
    assert "today's limit of 10 is reached" in invoke("review", input="").output
    # The hint's number works: --new is the day's total, today's ten included.
    hint = " ".join(invoke("review", input="").output.split())
    assert "(10 new done today; `quizzer review --new 14` for 4 more)" in hint
    more = invoke("review", "--new", "12", input="\ng\n" * 20)
    assert "1/2  many/q10  (new)" in more.output and len(_log(db_path)) == 12
    assert invoke("config", "new-per-day", "1").output.strip() == "new-per-day = 1"
    next_day = invoke("review", input="\ng\n" * 20, today="2026-01-06")
    # Twelve cards learned yesterday are due, then one new card (the saved limit).
    assert "1/13  many/q00  (review)" in next_day.output
    assert "13/13  many/q12  (new)" in next_day.output
    assert "q13" not in next_day.output


def test_limit_caps_due_and_new_cards(invoke: Invoke, tmp_path: Path, db_path: Path) -> None:
    assert invoke("import", str(_recall_deck(tmp_path, 5))).exit_code == 0
    result = invoke("review", "--limit", "2", input="\ng\n" * 10)
    assert "1/2  many/q00" in result.output and "2/2  many/q01" in result.output
    assert len(_log(db_path)) == 2


def test_deck_filter(invoke: Invoke, deck_file: Path, tmp_path: Path, db_path: Path) -> None:
    assert invoke("import", str(deck_file), str(_recall_deck(tmp_path, 2))).exit_code == 0
    result = invoke("review", "--deck", "many", input="\ng\n" * 5)
    assert "Reviewed 2 cards" in result.output
    assert {row[0] for row in _log(db_path)} == {"q00", "q01"}
    unknown = invoke("review", "--deck", "nope", input="")
    assert unknown.exit_code == 1 and "nope: no such deck" in unknown.output


def test_help_and_commands_are_shown(imported: Invoke) -> None:
    result = imported("review", input="?\nq\n")
    assert "s  skip (comes back later)" in result.output
    assert 'a line with just "." ends it' in result.output


def test_escaped_command_lines_are_answers(invoke: Invoke, tmp_path: Path, db_path: Path) -> None:
    deck = write(
        tmp_path / "s.yaml",
        """\
        deck: esc
        title: Escapes
        questions:
          - id: prints-s
            type: predict_output
            prompt: What prints?
            code: |
              print("s")
              print(".")
            answer: |
              s
              .
        """,
    )
    assert invoke("import", str(deck)).exit_code == 0
    result = invoke("review", input="\\s\n\\.\n.\n\n")
    assert "Correct." in result.output
    assert _log(db_path) == [("prints-s", 4, "graded", "s\n.")]


def test_backslashes_and_spaces_in_typed_output_are_output(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    # A backslash escapes only a line that is exactly a command or "."; " q" is output.
    deck = write(
        tmp_path / "b.yaml",
        r"""
        deck: raw
        title: Raw lines
        questions:
          - id: backslash
            type: predict_output
            prompt: What prints?
            code: |
              print(r"\n is a newline")
              print(" q")
              print(r"\q")
            answer: |
              \n is a newline
               q
              \q
        """,
    )
    assert invoke("import", str(deck)).exit_code == 0
    typed = ["\\n is a newline", " q", "\\\\q"]  # "\q" alone would be the line "q"
    result = invoke("review", input="\n".join([*typed, ".", "", ""]))
    assert "Correct." in result.output, result.output
    assert _log(db_path) == [("backslash", 4, "graded", "\\n is a newline\n q\n\\q")]


def test_a_choice_that_is_a_digit_but_not_a_number_is_asked_again(
    imported: Invoke, db_path: Path
) -> None:
    result = imported("review", input=review_script(".", "²", Choice(CELL_ANSWER), "", "q"))
    assert result.exit_code == 0, result.output
    assert "Type a number from 1 to 2." in result.output
    assert [row[:2] for row in _log(db_path)] == [("late-binding", 0), ("cell", 4)]


def test_the_daily_new_card_limit_holds_across_deck_filters(
    invoke: Invoke, deck_file: Path, tmp_path: Path, db_path: Path
) -> None:
    assert invoke("import", str(deck_file), str(_recall_deck(tmp_path, 12))).exit_code == 0
    first = invoke("review", "--deck", "many", input="\ng\n" * 12)
    assert "Reviewed 10 cards" in first.output
    other = invoke("review", "--deck", "test-closures", input="")
    assert "today's limit of 10 is reached" in other.output
    assert len(_log(db_path)) == 10


def test_cards_added_after_the_day_under_review_wait_for_their_day(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    # Imported on the 5th; a catch-up review of the 4th has nothing new to offer.
    assert invoke("import", str(deck_file)).exit_code == 0
    earlier = invoke("review", input="\ng\n", today="2026-01-04")
    assert earlier.exit_code == 0, earlier.output
    assert "Nothing due today." in earlier.output
    assert _log(db_path) == []


def test_the_drill_of_a_day_leaves_out_cards_answered_on_a_later_day(
    imported: Invoke, db_path: Path
) -> None:
    assert imported("grade", "test-closures/nonlocal", "1").exit_code == 0
    assert imported("grade", "test-closures/nonlocal", "4", today="2026-01-06").exit_code == 0
    again = imported("review", "--new", "0", input="\ng\n")
    assert again.exit_code == 0, again.output
    assert "(drill)" not in again.output
    assert len(_log(db_path)) == 2


def test_the_next_due_date_leaves_out_suspended_cards(imported: Invoke) -> None:
    assert imported("config", "leech-threshold", "1").exit_code == 0
    assert imported("grade", "test-closures/nonlocal", "1").exit_code == 0  # a leech now
    result = imported("review", "--new", "0", input="")
    assert "Nothing due today. No cards are scheduled yet." in result.output, result.output


def test_what_limit_leaves_for_today_is_counted(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    assert invoke("import", str(_recall_deck(tmp_path, 5))).exit_code == 0
    result = invoke("review", "--limit", "2", input="\ng\n" * 10)
    assert "Reviewed 2 cards" in result.output
    assert "3 cards still to do today" in result.output, result.output


def test_first_review_on_a_new_database_loads_the_bundled_decks(invoke: Invoke) -> None:
    result = invoke("review", "--new", "0", input="")
    assert result.exit_code == 0, result.output
    assert "Loaded the bundled decks:" in result.output
    decks = json.loads(invoke("decks", "--json").output)
    assert sum(d["total"] for d in decks) >= 100


def test_the_largest_numbers_work_and_a_huge_stored_one_is_read_as_the_largest(
    imported: Invoke, db_path: Path
) -> None:
    from quizzer.cli.practice import MAX_CARDS
    from quizzer.collection import MAX_SETTING

    assert MAX_CARDS == MAX_SETTING == 100_000
    assert imported("config", "new-per-day", "100000").exit_code == 0
    assert imported("config", "leech-threshold", "100000").exit_code == 0
    result = imported("review", "--new", "100000", "--limit", "100000", input="q\n")
    assert result.exit_code == 0, result.output
    # What an older quizzer stored for `config new-per-day 99999999999999999999`.
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE settings SET value = 1e20 WHERE key = 'new-per-day'")
    connection.close()
    assert "new-per-day = 100000" in imported("config").output
    result = imported("review", input="q\n")
    assert result.exit_code == 0, result.output
    assert "3 cards wait for today" in result.output


def test_config_rejects_unknown_and_bad_values(invoke: Invoke) -> None:
    assert invoke("config", "colour", "red").exit_code == 1
    bad = invoke("config", "new-per-day", "many")
    assert bad.exit_code == 1 and "not a int" not in bad.output and "new-per-day" in bad.output
    assert "new-per-day = 10" in invoke("config").output


SIX_CHOICES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def _six_choice_deck(tmp_path: Path) -> Path:
    choices = "".join(f"      - {choice}\n" for choice in SIX_CHOICES)
    return write(
        tmp_path / "six.yaml",
        "deck: six\ntitle: Six\nquestions:\n  - id: pick\n    type: multiple_choice\n"
        f"    prompt: Which is the fourth?\n    choices:\n{choices}    answer: delta\n",
    )


def _showings(output: str) -> list[list[str]]:
    """The order of the choices at each showing of a card in ``output``."""
    parts = output.split("Which is the fourth?")[1:]
    return [shown_choices(part.split("Your choice")[0]) for part in parts]


def test_multiple_choice_order_is_shuffled_at_every_showing(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke("import", str(_six_choice_deck(tmp_path))).exit_code == 0
    # A card shown and left unanswered shows the same order when the review resumes.
    first_look = _showings(invoke("review", input="q\n").output)
    again = _showings(invoke("review", input="q\n").output)
    assert first_look == again and sorted(first_look[0]) == SIX_CHOICES
    # Day one: missed, then the drill shows it again; day two: due again.
    day_one = invoke("review", input=review_script(Choice("alpha"), Choice("delta"), ""))
    assert "Correct." in day_one.output
    missed, drill = _showings(day_one.output)
    day_two = invoke("review", input=review_script(Choice("delta"), ""), today="2026-01-06")
    (next_day,) = _showings(day_two.output)
    assert missed == first_look[0]
    assert drill != missed, "the drill shows the choices in the order they were missed in"
    assert next_day != missed and next_day != drill
    assert sorted(drill) == sorted(next_day) == SIX_CHOICES


RATING_PROMPT = re.compile(r"How did it feel\? h\(ard\) (\d+)d / g\(ood\) (\d+)d / e\(asy\) (\d+)d")


@pytest.mark.parametrize("scheduler", ["sm2", "fsrs"])
@pytest.mark.parametrize(("key", "index"), [("h", 0), ("", 1), ("e", 2)])
def test_the_rating_prompt_shows_the_interval_each_rating_gives(
    imported: Invoke, scheduler: str, key: str, index: int
) -> None:
    assert imported("config", "scheduler", scheduler).exit_code == 0
    # late-binding right (good) twice, on the days it is due (SM-2's first two intervals
    # do not depend on the rating); the third time each rating gives its own interval.
    due = "2026-01-05"
    for _ in range(2):
        assert imported("review", input="[2, 2, 2]\n.\n\nq\n", today=due).exit_code == 0
        shown = json.loads(imported("show", "test-closures/late-binding", "--json").output)
        due = shown["state"]["due"]
    result = imported("review", input=f"[2, 2, 2]\n.\n{key}\nq\n", today=due)
    found = RATING_PROMPT.search(result.output)
    assert found is not None, result.output
    days = [int(n) for n in found.groups()]
    assert days[0] <= days[1] <= days[2], days
    if scheduler == "fsrs":  # SM-2's interval grows by the ease from before the answer
        assert days[0] < days[2], days
    # What the prompt said is what the rating stored.
    shown = json.loads(imported("show", "test-closures/late-binding", "--json").output)
    stored = date.fromisoformat(shown["state"]["due"]) - date.fromisoformat(due)
    assert stored.days == days[index]


LONG_LINE_DECK = """\
deck: long
title: Long
questions:
  - id: wide
    type: predict_output
    prompt: What does `print` show?
    code: |
      values = [value * 2 for value in range(3) if value is not None and value >= 0]
      print(values)
    answer: |
      [0, 2, 4]
    explanation: The `if` filter keeps them all.
"""


def test_a_code_line_wider_than_the_screen_goes_on_after_a_mark(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    assert invoke("import", str(write(tmp_path / "long.yaml", LONG_LINE_DECK))).exit_code == 0
    result = invoke("review", input="q\n")
    code = "values = [value * 2 for value in range(3) if value is not None and value >= 0]"
    assert f"\n{code[:60]}\n↪ {code[60:]}\nprint(values)\n\n" in result.output
    assert all(len(line) <= 60 for line in result.output.splitlines())
    # Piped, the Markdown backticks stay: plain text reads well with them.
    assert "What does `print` show?" in result.output


def test_code_is_highlighted_where_colour_is_on(
    imported: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pygments is loaded with the first card that has code (not at start-up): the card's
    # keywords still come out coloured, as on a terminal.
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = imported("review", input="q\n")
    assert result.exit_code == 0, result.output
    assert re.search(r"\x1b\[[0-9;]+mlambda\x1b\[0m", result.output), result.output
