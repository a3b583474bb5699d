"""`--json` on check, export: what was done, as data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click
from click.testing import CliRunner
from helpers import Invoke, write
from hypothesis import given, settings
from hypothesis import strategies as st

DECK = """\
deck: json-check
title: JSON check
questions:
  - id: right
    type: predict_output
    prompt: What prints?
    code: print(1)
    answer: "1\\n"
  - id: wrong
    type: predict_output
    prompt: What prints?
    code: print(2)
    answer: "3\\n"
"""


def test_check_json_gives_each_verdict(invoke: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path / "deck.yaml", DECK)
    result = invoke("check", "--json", str(path))
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert (data["passed"], data["failed"], data["skipped"]) == (1, 1, 0)
    right, wrong = data["results"]
    assert right == {
        "label": f"{path}: right", "status": "passed", "reason": None, "diff": None,
        "output": "1\n",
    }  # fmt: skip
    assert wrong["status"] == "failed" and wrong["reason"] == "output differs"
    assert wrong["output"] == "2\n" and "-3\n+2\n" in wrong["diff"]


def test_check_json_update_says_what_it_wrote(invoke: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path / "deck.yaml", DECK)
    result = invoke("check", "--json", "--update", str(path))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["updated"] == [f"{path}: 1 answer updated"]
    again = json.loads(invoke("check", "--json", str(path)).output)
    assert (again["passed"], again["failed"]) == (2, 0)


def test_check_names_its_interpreter_as_add_and_edit_do(invoke: Invoke, tmp_path: Path) -> None:
    import sys

    path = write(tmp_path / "deck.yaml", DECK.replace('answer: "3\\n"', 'answer: "2\\n"'))
    for flag in ("--interpreter", "--python"):  # --python: its old spelling
        result = invoke("check", "--json", flag, sys.executable, str(path))
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["python"] == sys.executable


def test_export_json_says_what_was_written(invoke: Invoke, deck_file: Path, tmp_path: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    apkg = json.loads(invoke("export", "-o", str(tmp_path / "t.apkg"), "--json").output)
    assert apkg == {
        "format": "apkg", "path": str(tmp_path / "t.apkg"), "notes": 3, "cards": 3,
        "decks": ["quizzer::Test closures"],
    }  # fmt: skip
    out = tmp_path / "yaml"
    files = json.loads(invoke("export", "--format", "yaml", "-o", str(out), "--json").output)
    assert files == {"format": "yaml", "files": [str(out / "test-closures.yaml")]}


# --- a listing streamed item by item prints what echo_json prints for the whole list ------

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(alphabet=st.characters(codec="utf-8"))
)
_ITEMS = st.dictionaries(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
    _SCALARS | st.lists(_SCALARS, max_size=3) | st.dictionaries(st.text(max_size=3), _SCALARS),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(items=st.lists(_ITEMS, max_size=7), batch=st.integers(1, 4))
def test_a_streamed_json_list_is_the_whole_lists_text(
    items: list[dict[str, object]], batch: int
) -> None:
    from quizzer.cli import echo_json
    from quizzer.cli.collection import _echo_json_list

    def printed(function: Callable[[], None]) -> str:
        runner = CliRunner()
        result = runner.invoke(click.command()(function), catch_exceptions=False)
        return result.output

    whole = printed(lambda: echo_json(items))
    streamed = printed(lambda: _echo_json_list(iter(items), batch=batch))
    assert streamed == whole
    assert json.loads(streamed) == items
