"""`quizzer check` and `quizzer export` through the command line: real subprocesses, real Anki."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from anki.collection import Collection
from helpers import SMALL_DECK, Invoke, anki_import, dump_db, write

from quizzer.answers import output_diff
from quizzer.db import resource_dir

COMMENTED = """\
# My closures notes: keep this comment.
deck: notes
title: Notes
questions:
  - id: late   # the classic
    type: predict_output
    prompt: What prints?
    code: |
      fs = [lambda: i for i in range(3)]

      print([f() for f in fs])
    answer: |
      [0, 1, 2]
  - id: ok
    type: predict_output
    prompt: And this?
    code: print(1 / 0)
    answer: "ZeroDivisionError: division by zero"
"""


def test_every_bundled_answer_is_what_cpython_prints(invoke: Invoke) -> None:
    result = invoke("check", str(resource_dir("decks")))
    assert result.exit_code == 0, result.output
    summary = result.output.strip().splitlines()[-1]
    passed = int(summary.split(" passed")[0])
    assert passed >= 100 and " 0 failed" in summary


def test_check_shows_a_diff_and_update_keeps_the_file(invoke: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path / "notes.yaml", COMMENTED)
    result = invoke("check", str(path))
    assert result.exit_code == 1
    assert f"FAIL {path}: late" in result.output
    assert "-[0, 1, 2]\n+[2, 2, 2]" in result.output
    assert result.output.strip().endswith("1 passed, 1 failed")
    updated = invoke("check", str(path), "--update")
    assert updated.exit_code == 0, updated.output
    assert path.read_text() == COMMENTED.replace("[0, 1, 2]", "[2, 2, 2]")
    assert invoke("check", str(path)).exit_code == 0


def test_check_skips_answers_for_other_versions(invoke: Invoke, tmp_path: Path) -> None:
    path = write(
        tmp_path / "v.yaml", COMMENTED.replace("  - id: ok\n", '  - id: ok\n    python: ">=99"\n')
    )
    result = invoke("check", str(path))
    assert "1 skipped (needs python>=99)" in result.output


def test_check_stored_questions_of_a_deck(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke("import", str(write(tmp_path / "n.yaml", COMMENTED))).exit_code == 0
    result = invoke("check", "--deck", "notes")
    assert result.exit_code == 1 and "FAIL notes/late" in result.output
    assert invoke("check").exit_code == 2


def test_check_reports_a_limit(invoke: Invoke, tmp_path: Path) -> None:
    path = write(
        tmp_path / "slow.yaml",
        COMMENTED.replace("code: print(1 / 0)", "code: import time; time.sleep(5)"),
    )
    result = invoke("check", str(path), "--timeout", "0.5")
    assert result.exit_code == 1
    assert "FAIL" in result.output and "ok" in result.output and "wall" in result.output.lower()


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--timeout", "inf"),
        ("--timeout", "1e20"),
        ("--timeout", "3000000"),
        ("--timeout", "nan"),
        ("--timeout", "3600.5"),
        ("--cpu", "100000000000000000000000000000"),
        ("--cpu", "3601"),
        ("--memory", "100000000000000000000000000000"),
        ("--jobs", "100000"),
    ],
)
def test_check_refuses_limits_out_of_bounds(
    invoke: Invoke, tmp_path: Path, flag: str, value: str
) -> None:
    path = write(tmp_path / "notes.yaml", COMMENTED)
    result = invoke("check", str(path), flag, value)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1].startswith(f"Error: Invalid value for '{flag}': ")


def test_check_accepts_the_largest_limits(invoke: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path / "notes.yaml", COMMENTED)
    largest = ["--timeout", "3600", "--cpu", "3600", "--memory", "1048576", "--jobs", "256"]
    result = invoke("check", str(path), *largest)
    assert result.exit_code == 1 and result.output.endswith("1 passed, 1 failed\n")


def test_check_shows_no_diff_for_a_runaway_snippet(invoke: Invoke, tmp_path: Path) -> None:
    path = write(
        tmp_path / "runaway.yaml",
        COMMENTED.replace(
            "code: print(1 / 0)", 'code: "i = 0\\nwhile True:\\n    print(i); i += 1\\n"'
        ),
    )
    result = invoke("check", str(path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    # The other failure keeps its diff; the runaway one has none (it would be 160k lines).
    reason = lines.index(f"FAIL {path}: ok: stopped: wrote more than 1 MiB of output")
    # Failures are told as their runs end, in either order: no diff follows the reason.
    assert lines[reason + 1] == "0 passed, 2 failed" or lines[reason + 1].startswith(
        f"FAIL {path}: late"
    ), lines[:30]
    assert "+[2, 2, 2]" in lines


def test_check_cuts_a_long_diff(invoke: Invoke, tmp_path: Path) -> None:
    path = write(
        tmp_path / "long.yaml",
        COMMENTED.replace("code: print(1 / 0)", 'code: "for i in range(1000): print(i)"'),
    )
    result = invoke("check", str(path))
    assert result.exit_code == 1
    full = output_diff(
        "ZeroDivisionError: division by zero",
        "".join(f"{i}\n" for i in range(1000)),
        expected_label=f"{path}: ok (stored)",
        actual_label="actual",
    ).splitlines()
    lines = result.output.splitlines()
    start = lines.index(f"FAIL {path}: ok: output differs") + 1
    assert lines[start : start + 200] == full[:200]
    assert lines[start + 200] == f"... {len(full) - 200} more lines of the diff left out"
    # Then the summary, or the other failure (failures are told as their runs end).
    assert lines[start + 201] == "0 passed, 2 failed" or lines[start + 201].startswith(
        f"FAIL {path}: late"
    )
    assert lines[-1] == "0 passed, 2 failed"


def test_check_update_refuses_a_deck_loaded_from_a_file_up_front(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    path = write(tmp_path / "notes.yaml", COMMENTED)
    assert invoke("import", str(path)).exit_code == 0
    before = dump_db(db_path)
    result = invoke("check", str(path), "--update", "--deck", "notes")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: notes: this deck is loaded from {path}; "
        f"update the file instead: quizzer check --update {path}\n"
    )
    assert path.read_text() == COMMENTED and dump_db(db_path) == before
    # A deck of your own is still updated in the database.
    add = ["add", "--deck", "mine", "--type", "predict_output", "--prompt", "P", "--id", "p"]
    assert invoke(*add, "--code", "print(2)", "--answer", "3", "--force").exit_code == 0
    updated = invoke("check", "--update", "--deck", "mine")
    assert updated.exit_code == 0, updated.output
    assert "mine/p: answer updated" in updated.output
    assert invoke("check", "--deck", "mine").exit_code == 0


def _anki_import(package: Path, collection: Path) -> tuple[int, int]:
    col = Collection(str(collection))
    try:
        log = anki_import(col, package).log
        return len(log.new), len(log.updated)
    finally:
        col.close()


def test_export_from_the_database_updates_rather_than_duplicates(
    invoke: Invoke, deck_file: Path, tmp_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    package = tmp_path / "out" / "closures.apkg"
    package.parent.mkdir()
    result = invoke("export", "-o", str(package), "--deck", "test-closures")
    assert result.exit_code == 0, result.output
    assert "3 notes, 3 cards, 1 deck" in result.output
    collection = tmp_path / "anki.anki2"
    assert _anki_import(package, collection) == (3, 0)
    same = package.read_bytes()
    assert invoke("export", "-o", str(package), "--deck", "test-closures").exit_code == 0
    assert package.read_bytes() == same
    assert _anki_import(package, collection) == (0, 0)
    # An edit and one new question. Anki takes a note only when its time is newer to the
    # second, and the import stamps the real clock: make sure a second has passed.
    time.sleep(1.1)
    deck_file.write_text(
        SMALL_DECK.replace("What prints?", "What does this print?")
        + "  - id: extra\n    type: recall\n    prompt: Extra?\n    answer: Yes.\n"
    )
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("export", "-o", str(package)).exit_code == 0
    assert _anki_import(package, collection) == (1, 1)
    with sqlite3.connect(collection) as connection:
        assert connection.execute("SELECT count(*) FROM notes").fetchone() == (4,)
    assert not list(package.parent.glob("*.tmp")) and not list(package.parent.glob(".*"))


def test_export_errors(invoke: Invoke, tmp_path: Path) -> None:
    empty = invoke("export", "-o", str(tmp_path / "x.apkg"))
    assert empty.exit_code == 1 and "nothing to export" in empty.output
    wrong = invoke("export", "-o", str(tmp_path / "x.zip"))
    assert wrong.exit_code == 2 and ".apkg" in wrong.output
    json.loads(invoke("decks", "--json").output)


@pytest.mark.stress
def test_bundled_snippets_are_deterministic_and_self_contained() -> None:
    from quizzer import deckfile
    from quizzer.checking import check_questions

    questions = [
        q
        for _, deck in deckfile.load_decks([resource_dir("decks")])
        for q in deck.questions
        if q.type == "predict_output" and q.code
    ]
    forbidden = ("input(", "urllib", "socket", "requests", "http", "open('/", 'open("/')
    for question in questions:
        assert question.code is not None
        assert not [word for word in forbidden if word in question.code], question.id
    # One more run, with its own hash seed (python -I): with the run that wrote the answers
    # and test_every_bundled_answer_is_what_cpython_prints's (the default suite's one run),
    # three runs agree; `.ci/run` runs every deck again on each CPython 3.11-3.13.
    report = check_questions((q.id, q) for q in questions)
    moved = [result.label for result in report.failed]
    assert moved == [] and report.passed


def test_importing_a_deck_never_runs_its_code(invoke: Invoke, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    deck = write(
        tmp_path / "d.yaml",
        f"""\
        deck: sneaky
        title: Sneaky
        questions:
          - id: writes
            type: predict_output
            prompt: What prints?
            code: |
              open({str(marker)!r}, "w").write("x")
              print("hi")
            answer: |
              hi
        """,
    )
    assert invoke("import", str(deck)).exit_code == 0
    assert invoke("review", input="hi\n.\n\n").exit_code == 0
    assert not marker.exists()


@pytest.mark.parametrize("where", ["a-file", "a-file/sub"])
def test_yaml_export_to_a_place_that_is_not_a_folder_is_one_line(
    invoke: Invoke, deck_file: Path, tmp_path: Path, where: str
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    (tmp_path / "a-file").write_text("not a folder")
    result = invoke("export", "--format", "yaml", "-o", str(tmp_path / where))
    assert result.exit_code == 1, result.output
    assert "cannot write deck files there" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_check_tells_each_failure_as_its_run_ends(tmp_path: Path) -> None:
    """A slow snippet does not hold back the others' verdicts: the slow one waits for a
    file the test makes only once the fast one's FAIL line has been read."""
    import subprocess
    import sys

    marker = tmp_path / "go"
    deck = write(
        tmp_path / "order.yaml",
        "deck: order\ntitle: Order\nquestions:\n"
        "  - id: slow\n    type: predict_output\n    prompt: What prints?\n    code: |\n"
        "      import os, time\n"
        f"      while not os.path.exists({str(marker)!r}):\n"
        "          time.sleep(0.01)\n"
        "      print('slow')\n"
        "    answer: |\n      not slow\n"
        "  - id: fast\n    type: predict_output\n    prompt: What prints?\n    code: |\n"
        "      print('fast')\n    answer: |\n      not fast\n",
    )
    quizzer = Path(sys.executable).with_name("quizzer")
    with subprocess.Popen(
        [quizzer, "check", str(deck), "--jobs", "2", "--timeout", "30"],
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        marker.touch()
        rest = process.stdout.read()
    assert first == f"FAIL {deck}: fast: output differs\n"
    assert f"FAIL {deck}: slow: output differs\n" in rest
    assert rest.rstrip("\n").endswith("0 passed, 2 failed")
    assert process.returncode == 1
