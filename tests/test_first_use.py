"""What a stranger meets first: the version, the bundled decks in any collection, and one
clear line on a system quizzer does not run on."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from helpers import Invoke

import quizzer
from quizzer.cli import main, refuse_platform
from quizzer.db import resource_dir
from quizzer.deckfile import load_deck


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_the_version_is_the_package_version(flag: str) -> None:
    result = CliRunner().invoke(main, [flag])
    assert result.exit_code == 0
    assert result.output == f"quizzer, version {quizzer.__version__}\n"


def test_a_collection_begun_with_add_gets_the_bundled_decks_on_request(invoke: Invoke) -> None:
    added = invoke(
        "add", "--deck", "my-notes", "--type", "recall", "--prompt", "What is a cell?",
        "--answer", "The box a closure reads a variable through",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    review = invoke("review", input="q\n")
    assert "Loaded the bundled decks" not in review.output  # not empty: review leaves it be
    loaded = invoke("import", "--bundled")
    assert loaded.exit_code == 0, loaded.output
    closures = len(load_deck(resource_dir("decks") / "closures.yaml").questions)
    assert f"python-closures: {closures} added" in loaded.output
    decks = invoke("decks", "--json")
    slugs = {deck["deck"] for deck in json.loads(decks.output)}
    assert {"my-notes", "python-closures", "python-decorators"} <= slugs
    again = invoke("import", "--bundled")
    assert f"python-closures: 0 added, 0 updated, {closures} unchanged" in again.output


def test_import_needs_something_to_import(invoke: Invoke) -> None:
    result = invoke("import")
    assert result.exit_code == 2
    assert "name deck files or folders, or --bundled" in result.output


def test_a_system_that_is_not_posix_is_told_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        refuse_platform("nt", "win32")
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("Error: quizzer runs on Linux and macOS") and "win32" in err
    refuse_platform("posix", "linux")  # no exit
