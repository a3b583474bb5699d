"""The command line: global options, listing, grading, errors and start-up cost."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from helpers import Invoke, cli_process, write

from quizzer.cli import COMMAND_MODULES, main


def test_grade_follows_sm2_and_logs_history(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    result = invoke("grade", "test-closures/late-binding", "3", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "name": "test-closures/late-binding",
        "quality": 3,
        "kind": "graded",
        "ease": 2.36,
        "repetitions": 1,
        "interval": 1,
        "due": "2026-01-06",
        "lapses": 0,
        "leech": False,
    }
    drill = json.loads(invoke("grade", "test-closures/late-binding", "5", "--json").output)
    assert drill["kind"] == "drill" and drill["ease"] == 2.36
    assert invoke("grade", "test-closures/late-binding", "4", today="2026-01-06").exit_code == 0
    shown = json.loads(invoke("show", "test-closures/late-binding", "--json").output)
    assert [(h["day"], h["quality"], h["kind"]) for h in shown["history"]] == [
        ("2026-01-05", 3, "graded"),
        ("2026-01-05", 5, "drill"),
        ("2026-01-06", 4, "graded"),
    ]
    assert shown["history"][2]["before"]["repetitions"] == 1
    assert shown["state"] == {
        "ease": 2.36,
        "repetitions": 2,
        "interval": 6,
        "due": "2026-01-12",
        "lapses": 0,
        "last_graded": "2026-01-06",
        "new": False,
        "leech": False,
        "suspended": False,
        "stability": None,
        "difficulty": None,
        "recall": None,
    }


def test_grade_not_due_says_so_and_changes_nothing(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("grade", "test-closures/cell", "4").exit_code == 0
    before = invoke("show", "test-closures/cell", "--json").output
    result = invoke("grade", "test-closures/cell", "4", today="2026-01-04")
    assert result.exit_code == 1
    assert "test-closures/cell: not due until 2026-01-06" in result.output
    assert invoke("show", "test-closures/cell", "--json").output == before


def test_bad_values_are_usage_errors(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    bad_quality = invoke("grade", "test-closures/cell", "6")
    assert bad_quality.exit_code == 2 and "0<=x<=5" in bad_quality.output
    bad_day = invoke("decks", today="2026-13-01")
    assert bad_day.exit_code == 2 and "use YYYY-MM-DD" in bad_day.output
    unknown = invoke("show", "test-closures/nope")
    assert unknown.exit_code == 1 and "no such question" in unknown.output
    no_deck = invoke("show", "nope/x")
    assert no_deck.exit_code == 1 and "nope: no such deck" in no_deck.output
    not_a_name = invoke("show", "late-binding")
    assert not_a_name.exit_code == 2 and "DECK/ID" in not_a_name.output


def test_decks_counts_new_due_learned(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("grade", "test-closures/cell", "4").exit_code == 0
    decks = json.loads(invoke("decks", "--json", today="2026-01-06").output)
    assert decks == [
        {
            "deck": "test-closures",
            "title": "Test closures",
            "total": 3,
            "new": 2,
            "due": 1,
            "learned": 1,
            "retired": 0,
        }
    ]
    table = invoke("decks").output
    assert "test-closures" in table and "Test closures" in table
    due = json.loads(invoke("cards", "--due", "--json", today="2026-01-06").output)
    assert [c["name"] for c in due] == ["test-closures/cell"]


def test_options_work_before_and_after_the_command_and_from_env(
    deck_file: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    db = str(tmp_path / "env.db")
    env = {"QUIZZER_DB": db, "QUIZZER_TODAY": "2026-03-01"}
    assert runner.invoke(main, ["import", str(deck_file)], env=env).exit_code == 0
    cards = json.loads(runner.invoke(main, ["cards", "--json"], env=env).output)
    assert {c["due"] for c in cards} == {"2026-03-01"}
    after = runner.invoke(main, ["cards", "--json", "--today", "2026-03-02", "--db", db], env={})
    assert after.exit_code == 0 and len(json.loads(after.output)) == 3


def test_help_imports_no_heavy_modules() -> None:
    heavy = ("sqlalchemy", "genanki", "alembic", "pygments", "rich", "pydantic")
    run = cli_process(["--help"], heavy)
    assert "Commands:" in run.output
    assert run.loaded == []


ONE_SNIPPET = """\
deck: one-snippet
title: One snippet
questions:
  - id: sum
    type: predict_output
    prompt: What prints?
    code: print(sum(range(4)))
    answer: "6"
"""


@pytest.mark.parametrize(
    ("args", "stdin"),
    [(["decks"], ""), (["review"], "q\n"), (["check", "--trust", "{deck}"], "")],
    ids=["decks", "review", "check of a file, no database"],
)
def test_the_collector_is_paused_while_a_command_starts_then_runs_again(
    tmp_path: Path, args: list[str], stdin: str
) -> None:
    # Start-up builds some 100k long-lived objects; collecting among them cost a tenth of
    # the time to the first card. Once the command has loaded what it needs they are
    # frozen (never walked again) and the collector runs for the rest of the command,
    # e.g. a long review session. For scale: a bare `import quizzer.cli` tracks 14k
    # objects, adding sqlalchemy.orm 50k.
    deck = write(tmp_path / "one.yaml", ONE_SNIPPET)
    argv = ["--db", str(tmp_path / "q.db"), *[a.format(deck=deck) for a in args]]
    run = cli_process(argv, ["sqlalchemy.orm"], input=stdin)
    assert run.collector_enabled
    assert run.frozen > (60_000 if run.loaded else 20_000), run.frozen


RECALL_WITH_COLONS = """\
deck: plain
title: Plain
questions:
  - id: emoji-codes
    type: recall
    prompt: "What does :thumbs_up: mean in a Slack message?"
    answer: ":+1:"
"""


def test_a_review_loads_only_what_its_first_card_needs(tmp_path: Path, deck_file: Path) -> None:
    # A card without code: no highlighter, no emoji table, no diff, no other command's
    # module. Each was memory held by every review (the peak RSS figure in bench/).
    db = str(tmp_path / "q.db")
    cli_process(["--db", db, "import", str(write(tmp_path / "plain.yaml", RECALL_WITH_COLONS))])
    lean = ["pygments", "rich.syntax", "rich._emoji_codes", "difflib", "quizzer.importing"]
    modules = ["quizzer.cli.collection", "quizzer.cli.content", "quizzer.cli.practice"]
    # Enter shows the answer, q quits at the rating.
    run = cli_process(["--db", db, "review"], [*lean, *modules], input="\nq\n")
    assert run.loaded == ["quizzer.cli.practice"]
    # Shown as written: rich no longer turns ":+1:" into an emoji.
    assert "What does :thumbs_up: mean in a Slack message?" in run.output
    assert "Answer: :+1:" in run.output
    # A card with code loads Pygments for it (it is highlighted on a terminal: test_review).
    db = str(tmp_path / "code.db")
    cli_process(["--db", db, "import", str(deck_file)])
    run = cli_process(["--db", db, "review"], ["pygments", "rich.syntax"], input="q\n")
    assert "fs = [lambda: i for i in range(3)]" in run.output
    assert run.loaded == ["pygments", "rich.syntax"]


def test_the_command_table_names_each_module_s_commands() -> None:
    # The test-suite's fixtures have loaded every module: all commands are registered.
    for module in set(COMMAND_MODULES.values()):
        importlib.import_module(f"quizzer.cli.{module}")
    registered = {
        name: command.callback.__module__
        for name, command in main.commands.items()
        if command.callback is not None
    }
    assert registered == {name: f"quizzer.cli.{m}" for name, m in COMMAND_MODULES.items()}


def test_commands_load_on_demand_and_a_mistyped_one_gets_a_suggestion(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("quizzer")
    db = str(tmp_path / "q.db")
    listed = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    names = [line.split()[0] for line in listed.stdout.split("Commands:\n")[1].splitlines()]
    assert names == sorted(COMMAND_MODULES)
    # Each command, in a fresh process, is found and runs (its --help: nothing is written).
    for name in names:
        result = subprocess.run(
            [str(script), "--db", db, name, "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0 and f"Usage: quizzer {name}" in result.stdout, name
    wrong = subprocess.run([str(script), "stat"], capture_output=True, text=True)
    assert wrong.returncode == 2
    assert "No such command 'stat'. Did you mean 'stats'?" in wrong.stderr
    assert not (tmp_path / "q.db").exists()


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``group``, nested groups' commands included, by its argv path."""
    context = click.Context(group, info_name=" ".join(("quizzer", *path)))
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, (*path, name)
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def test_every_command_has_help() -> None:
    runner = CliRunner()
    commands = dict(_commands(main))
    assert ("db", "copy") in commands  # nested commands are walked too
    for path, command in commands.items():
        name = " ".join(path)
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, name
        assert command.help, f"{name} has no help text"


def test_installed_script_runs_from_any_directory(tmp_path: Path, deck_file: Path) -> None:
    script = Path(sys.executable).with_name("quizzer")
    db = tmp_path / "any.db"
    result = subprocess.run(
        [str(script), "--db", str(db), "import", str(deck_file)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "3 added" in result.stdout


def test_titles_are_shown_as_written_not_as_markup(invoke: Invoke, tmp_path: Path) -> None:
    deck = write(
        tmp_path / "t.yaml",
        """\
        deck: brackets
        title: "Lists [/] and [red]arrays[advanced]"
        questions:
          - id: one
            type: recall
            prompt: Q?
            answer: A
        """,
    )
    assert invoke("import", str(deck)).exit_code == 0
    result = invoke("decks")
    assert result.exit_code == 0, result.output
    assert "Lists [/] and [red]arrays[advanced]" in result.output
