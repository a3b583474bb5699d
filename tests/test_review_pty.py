"""`quizzer review` in a real pseudo-terminal: what is on screen, and nothing lost on a kill."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pexpect
import pytest
from helpers import Invoke, choice_number

QUIZZER = str(Path(sys.executable).with_name("quizzer"))


def _spawn(db_path: Path, *args: str, **env: str) -> pexpect.spawn:
    environment = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "QUIZZER_DB")}
    environment.update({"TERM": "xterm-256color", "COLUMNS": "100", "LINES": "40", **env})
    return pexpect.spawn(
        QUIZZER,
        ["--db", str(db_path), "--today", "2026-01-05", "review", *args],
        env=environment,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 100),
    )


def _ctrl_c_once_waiting(child: pexpect.spawn) -> None:
    """Ctrl-C once the child waits for the line, as a person would press it."""
    _once_waiting(child)
    child.sendintr()


def _ctrl_d_once_waiting(child: pexpect.spawn) -> None:
    """Ctrl-D once the child waits for the line (readline sets the terminal up first)."""
    _once_waiting(child)
    child.sendeof()


def _first_card_right(db_path: Path) -> pexpect.spawn:
    """A review whose first card (late-binding) is answered right, at its rating prompt."""
    child = _spawn(db_path)
    child.expect("Type the output")
    child.sendline("[2, 2, 2]")
    child.sendline(".")
    child.expect("How did it feel")
    return child


def _once_waiting(child: pexpect.spawn) -> None:
    """Return once the child waits for the line or key, as a person would see it do.

    The prompt is on screen a moment before the child waits: readline prints it, then
    calls select(), and CPython looks for a signal only when select() is interrupted, so
    a Ctrl-C in between is seen only after the next key. A person cannot type that fast;
    a test on a busy machine can.
    """
    proc = Path(f"/proc/{child.pid}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            waiting_in = (proc / "wchan").read_text()
        except OSError:  # no /proc: a short pause instead
            time.sleep(0.5)
            break
        # poll/select: readline waits for a line; wait_woken/n_tty_read: a key is read.
        if state == "S" and any(w in waiting_in for w in ("poll", "select", "wait_woken", "tty")):
            break
        time.sleep(0.01)


def _answers(db_path: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(
            "SELECT q.qid, r.quality FROM reviews r JOIN questions q ON q.id = r.question_id "
            "ORDER BY r.id"
        ).fetchall()


@pytest.fixture
def imported_db(invoke: Invoke, deck_file: Path, db_path: Path) -> Path:
    assert invoke("import", str(deck_file)).exit_code == 0
    return db_path


def test_answers_survive_a_kill_mid_session(imported_db: Path) -> None:
    child = _spawn(imported_db)
    child.expect("1/3")
    child.expect("Type the output")
    screen = child.before
    assert "\x1b[" in screen, "code should be highlighted on a colour terminal"
    child.sendline("[2, 2, 2]")
    child.sendline(".")
    child.expect("Correct.")
    child.expect("How did it feel")
    child.sendline("")
    child.expect("2/3")
    child.expect("Your choice")
    child.sendline(choice_number(child.before, "The variable (a cell)"))
    child.expect("How did it feel")
    child.sendline("e")
    child.expect("3/3")
    child.expect("press Enter to see it")
    # Mid-card: the third answer is being thought about when the process dies.
    child.kill(signal.SIGKILL)
    child.expect(pexpect.EOF)
    child.close()
    assert child.signalstatus == signal.SIGKILL
    assert _answers(imported_db) == [("late-binding", 4), ("cell", 5)]
    with sqlite3.connect(imported_db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_ctrl_c_stops_cleanly_without_traceback(imported_db: Path) -> None:
    child = _first_card_right(imported_db)
    child.sendline("h")  # quality 3: the card joins today's drill, so 4 cards in all
    child.expect("Back later today")
    child.expect("2/4")
    child.expect("Your choice")
    _ctrl_c_once_waiting(child)
    child.expect("Every answer you gave is saved")
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    assert _answers(imported_db) == [("late-binding", 3)]


def test_ctrl_c_exits_130_after_saying_the_answers_are_saved(imported_db: Path) -> None:
    child = _spawn(imported_db)
    child.expect("Type the output")
    _ctrl_c_once_waiting(child)
    child.expect("Every answer you gave is saved")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert "Traceback" not in (child.before or "")


@pytest.mark.parametrize("key", ["q", "ctrl-c"])
def test_a_wrong_answer_is_saved_before_the_pause(imported_db: Path, key: str) -> None:
    child = _spawn(imported_db)
    child.expect("Type the output")
    child.sendline("[0, 1, 2]")
    child.sendline(".")
    child.expect("Not quite.")
    child.expect(r"\[Enter\] next card")
    if key == "q":
        child.sendline("q")
    else:
        _ctrl_c_once_waiting(child)
    child.expect("Reviewed 1 card" if key == "q" else "Every answer you gave is saved")
    child.expect(pexpect.EOF)
    child.close()
    assert _answers(imported_db) == [("late-binding", 1)]


def test_undo_at_the_pause_takes_back_the_wrong_answer(imported_db: Path) -> None:
    child = _spawn(imported_db)
    child.expect("Type the output")
    child.sendline("[0, 1, 2]")
    child.sendline(".")
    child.expect(r"\[Enter\] next card")
    child.sendline("u")
    child.expect("Undone: test-closures/late-binding")
    child.expect("late-binding")  # asked again
    child.expect("Type the output")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert _answers(imported_db) == []


def test_no_color_and_narrow_terminal(imported_db: Path) -> None:
    child = _spawn(imported_db, NO_COLOR="1", COLUMNS="40")
    child.setwinsize(30, 40)
    child.expect("Type the output")
    assert "\x1b[3" not in child.before  # no colour escapes
    assert "print([f() for f in fs])" in child.before
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_non_utf8_locale_shows_cards_without_crashing(invoke: Invoke, tmp_path: Path) -> None:
    import subprocess

    deck = tmp_path / "u.yaml"
    deck.write_text(
        "deck: unicode\ntitle: Ünïcode → ≥\nquestions:\n"
        "  - id: arrow\n    type: predict_output\n    prompt: What prints → here?\n"
        "    code: |\n      print('→ ≥ ü')\n    answer: |\n      → ≥ ü\n",
        encoding="utf-8",
    )
    assert invoke("import", str(deck)).exit_code == 0
    db = tmp_path / "quizzer.db"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    # An ASCII terminal: no UTF-8 coercion of the C locale, no UTF-8 mode.
    environment.update(LC_ALL="C", LANG="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0")
    result = subprocess.run(
        [QUIZZER, "--db", str(db), "--today", "2026-01-05", "review"],
        input=b"? ? ?\n.\n\nq\n",
        capture_output=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"What prints" in result.stdout and b"1/1" in result.stdout
    # The expected output could not be encoded: it is shown with replacement characters.
    assert b"expected:  ? ? ?" in result.stdout


def test_add_on_a_terminal_asks_for_each_field(tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys\nopen(sys.argv[1], 'w').write('print(sorted({3, 1, 2}))\\n')\n",
        encoding="utf-8",
    )
    environment = {k: v for k, v in os.environ.items() if k != "QUIZZER_DB"}
    environment.update(TERM="xterm", EDITOR=f"{sys.executable} {editor}", NO_COLOR="1")
    db = tmp_path / "quizzer.db"
    child = pexpect.spawn(
        QUIZZER, ["--db", str(db), "add"], env=environment, encoding="utf-8", timeout=30
    )
    child.expect("Deck")
    child.sendline("my-notes")
    child.expect("Type")
    child.sendline("")  # predict_output, the default
    child.expect("Prompt")
    child.sendline("")  # "What does this print?"
    child.expect("Explanation")
    child.sendline("Sets of small ints sort fine.")
    child.expect("CPython prints:")
    child.expect("Store this as the answer")
    assert "[1, 2, 3]" in child.before
    child.sendline("")
    child.expect("Added my-notes/what-does-this-print")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT answer, explanation FROM questions").fetchall() == [
            ("[1, 2, 3]\n", "Sets of small ints sort fine.")
        ]


def test_t_after_a_wrong_answer_opens_the_trace_at_the_first_divergent_step(
    imported_db: Path,
) -> None:
    child = _spawn(imported_db, NO_COLOR="1")
    child.expect("Type the output")
    child.sendline("[0, 1, 2]")
    child.sendline(".")
    child.expect("Not quite.")
    child.expect(r"\[Enter\] next card")
    child.sendline("t")
    child.expect(r"steps 1-(\d+) folded")
    folded = int(child.match.group(1))
    child.expect(rf"step {folded + 1} of (\d+)")
    child.expect("trace> ")
    # The first differing output is the print's: the step that printed [2, 2, 2].
    screen = re.sub(r"\x1b\[[0-9;]*m", "", child.before)  # NO_COLOR keeps bold and dim
    assert "printed '[2, 2, 2]\\n'" in screen
    assert "→  2  print([f() for f in fs])" in screen
    child.sendline("p")
    child.expect(rf"step {folded} of")
    child.expect("trace> ")
    child.sendline("q")
    child.expect("Back to the review.")
    child.expect(r"\[Enter\] next card")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert _answers(imported_db) == [("late-binding", 1)]


@pytest.mark.parametrize("key", ["q", "ctrl-c"])
def test_a_right_answer_is_saved_before_its_rating(imported_db: Path, key: str) -> None:
    child = _spawn(imported_db)
    child.expect("Type the output")
    child.sendline("[2, 2, 2]")
    child.sendline(".")
    child.expect("Correct.")
    # Each rating shows the interval it gives: a new card's first success is 1 day.
    child.expect(r"How did it feel\? h\(ard\) 1d / g\(ood\) 1d / e\(asy\) 1d \[g\]: ")
    if key == "q":
        child.sendline("q")
    else:
        _ctrl_c_once_waiting(child)
        child.expect("Every answer you gave is saved")
    child.expect(pexpect.EOF)
    child.close()
    assert "Traceback" not in (child.before or "")
    assert _answers(imported_db) == [("late-binding", 4)]  # saved as "good" when checked


def test_a_rating_after_a_right_answer_replaces_good(imported_db: Path) -> None:
    child = _first_card_right(imported_db)
    child.sendline("e")
    child.expect("Next review in 1 day")
    child.expect("2/3")
    child.sendline("q")
    child.expect(pexpect.EOF)
    child.close()
    assert _answers(imported_db) == [("late-binding", 5)]


def test_ctrl_d_ends_a_typed_answer_and_quits_at_an_empty_prompt(imported_db: Path) -> None:
    child = _spawn(imported_db)
    child.expect("Type the output")
    child.sendline("[2, 2, 2]")
    child.expect(r"\| ")
    _ctrl_d_once_waiting(child)  # Ctrl-D on the empty line after the answer: it is done
    child.expect("Correct.")
    child.expect("How did it feel")
    child.sendline("")
    child.expect("2/3")
    child.expect("Your choice")
    _ctrl_d_once_waiting(child)  # Ctrl-D at an empty prompt: quit
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert _answers(imported_db) == [("late-binding", 4)]


def test_ratings_and_choices_take_a_single_key_press(imported_db: Path) -> None:
    child = _first_card_right(imported_db)
    _once_waiting(child)
    child.send("e")  # no Enter
    child.expect("Next review in 1 day")
    child.expect("Your choice")
    number = choice_number(child.before, "The variable (a cell)")
    _once_waiting(child)
    child.send(number)
    child.expect("Correct.")
    child.expect("How did it feel")
    _once_waiting(child)
    child.send("h")
    child.expect("Back later today")
    child.expect("press Enter to see it")
    child.sendline("")
    child.expect(r"or 0-5 \[g\]: ")
    _once_waiting(child)
    child.send("2")  # a recall rating is a key too
    child.expect("Back later today")
    child.expect(r"test-closures/cell .*\(drill\)")
    child.expect("Your choice")
    _once_waiting(child)
    child.send("q")  # a command is a key too
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert _answers(imported_db) == [("late-binding", 5), ("cell", 3), ("nonlocal", 2)]


def test_ctrl_c_at_a_single_key_prompt_restores_the_terminal(imported_db: Path) -> None:
    child = _first_card_right(imported_db)
    _once_waiting(child)
    assert not child.getecho(), "a key prompt reads with echo off (cbreak mode)"
    child.sendintr()
    child.expect("Every answer you gave is saved")
    child.expect(pexpect.EOF)
    assert child.getecho(), "the terminal's own mode is back after Ctrl-C"
    child.close()
    assert child.exitstatus == 130
    assert _answers(imported_db) == [("late-binding", 4)]


def test_an_enter_pressed_after_a_key_is_not_the_next_answer(imported_db: Path) -> None:
    child = _first_card_right(imported_db)
    _once_waiting(child)
    child.sendline("g")  # a key and the Enter out of habit
    child.expect("Your choice")
    _once_waiting(child)
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert _answers(imported_db) == [("late-binding", 4)]  # the Enter was no "don't know"


def test_markdown_code_spans_are_styled_on_a_terminal(invoke: Invoke, tmp_path: Path) -> None:
    deck = tmp_path / "ticks.yaml"
    deck.write_text(
        "deck: ticks\ntitle: Ticks\nquestions:\n  - id: n\n    type: recall\n"
        "    prompt: Which statement is `nonlocal` for?\n    answer: rebinding\n"
        "    explanation: Without `nonlocal` an assignment makes a local.\n",
        encoding="utf-8",
    )
    assert invoke("import", str(deck)).exit_code == 0
    child = _spawn(tmp_path / "quizzer.db")
    child.expect("press Enter to see it")
    screen = child.before
    assert "`" not in screen  # the backticks are not printed ...
    assert re.search(r"Which statement is \x1b\[[0-9;]*mnonlocal\x1b\[0m for\?", screen)
    child.sendline("")
    child.expect(r"or 0-5 \[g\]: ")
    assert re.search(r"Without \x1b\[[0-9;]*mnonlocal\x1b\[0m an assignment", child.before)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
