"""`--json` on check, export: what was done, as data."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import Invoke, write

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
