"""Every Python you have (issue 19): check --python takes several, or all, and prints a
version matrix; pyenv shims are resolved or refused clearly; a question can hold answers
by version, which check --update writes as ranges and review and export use."""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import pytest
import yaml
from helpers import Invoke, write

from quizzer import deckfile
from quizzer.checking import version_split
from quizzer.db import open_database, resource_dir
from quizzer.deckfile.rewrite import update_version_answers
from quizzer.errors import DeckFileError
from quizzer.sandbox import pythons

CLOSE = """\
deck: gen
title: Gen
questions:
  - id: close-value
    type: predict_output
    prompt: What prints?
    code: |
      def worker():
          try:
              yield "working"
          except GeneratorExit:
              return "cleaned up"

      g = worker()
      print(next(g))
      print(g.close())
    answer: |
      working
      cleaned up
{by_python}    explanation: From 3.13 close() returns the value.
  - id: plain
    type: predict_output
    prompt: P
    code: print(1)   # a comment that stays
    answer: "1"
"""
SPLIT = """\
    answers_by_python:
      "<3.13": "working\\nNone\\n"
      ">=3.13": "working\\ncleaned up\\n"
"""


@functools.cache
def _found() -> list[pythons.Python]:
    """What the commands should find: looked for once per process (each look runs every
    Python, and pyenv for each shim on PATH)."""
    return pythons.find_all()


def test_version_split_makes_ranges_of_what_each_version_printed() -> None:
    assert version_split([("3.12.1", "None\n"), ("3.13.0", "x\n"), ("3.11.7", "None\n")]) == (
        "x\n",
        {"<3.13": "None\n", ">=3.13": "x\n"},
    )
    assert version_split([("3.12.1", "a"), ("3.13.0", "a")]) == ("a", None)
    assert version_split([("3.8.1", "a"), ("3.9.1", "b"), ("3.13.0", "a")])[1] == {
        "<3.9": "a",
        ">=3.9,<3.13": "b",
        ">=3.13": "a",
    }
    # Two releases of one minor version that disagree: bounded at the release itself.
    assert version_split([("3.12.1", "a"), ("3.12.4", "b")])[1] == {"<3.12.4": "a", ">=3.12.4": "b"}


def test_a_deck_holds_answers_by_version() -> None:
    deck = deckfile.parse_deck(CLOSE.format(by_python=SPLIT), source="g.yaml")
    question = deck.questions[0]
    assert question.answer_for("3.12.1") == "working\nNone\n"
    assert question.answer_for("3.13.0") == "working\ncleaned up\n"
    assert question.answer_for("3.14") == "working\ncleaned up\n"


@pytest.mark.parametrize(
    ("by_python", "problem"),
    [
        ('    answers_by_python: {"3.13": "x"}\n', "field 'answers_by_python': "),
        ("    answers_by_python: {}\n", "give at least one range"),
    ],
)
def test_bad_answers_by_version_are_refused_where_they_are(by_python: str, problem: str) -> None:
    with pytest.raises(DeckFileError) as caught:
        deckfile.parse_deck(CLOSE.format(by_python=by_python), source="g.yaml")
    message = str(caught.value)
    assert message.startswith("g.yaml: question 'close-value' (#1): ")
    assert problem in message and "\n" not in message


def test_only_predict_output_has_answers_by_version() -> None:
    text = (
        "deck: r\ntitle: R\nquestions:\n  - {id: r, type: recall, prompt: P, answer: A, "
        'answers_by_python: {">=3.13": "B"}}\n'
    )
    with pytest.raises(
        DeckFileError, match="only predict_output questions have answers by version"
    ):
        deckfile.parse_deck(text, source="r.yaml")


def test_update_version_answers_writes_replaces_and_removes_the_block(tmp_path: Path) -> None:
    path = write(tmp_path / "g.yaml", CLOSE.format(by_python=""))
    split = (
        "working\ncleaned up\n",
        {"<3.13": "working\nNone\n", ">=3.13": "working\ncleaned up\n"},
    )
    assert update_version_answers(path, {"close-value": split}) == 1
    assert path.read_text() == CLOSE.format(by_python=SPLIT)
    other = (
        "working\ncleaned up\n",
        {"<3.14": "working\nNone\n", ">=3.14": "working\ncleaned up\n"},
    )
    assert update_version_answers(path, {"close-value": other}) == 1
    assert path.read_text() == CLOSE.format(by_python=SPLIT.replace("3.13", "3.14"))
    assert update_version_answers(path, {"close-value": other}) == 0
    assert update_version_answers(path, {"close-value": ("working\ncleaned up\n", None)}) == 1
    assert path.read_text() == CLOSE.format(by_python="")


def test_check_python_all_finds_the_interpreters_and_prints_the_matrix(
    invoke: Invoke, tmp_path: Path
) -> None:
    found = _found()
    if len(found) < 2:
        pytest.skip(f"fewer than two CPythons on this machine ({[p.version for p in found]})")
    deck = write(tmp_path / "g.yaml", CLOSE.format(by_python=SPLIT))
    result = invoke("check", "--python", "all", str(deck))
    assert result.exit_code == 0, result.output
    header, first, second, *rest = result.output.splitlines()
    assert header.split() == ["question", *(p.version for p in found)]
    assert first.split() == [f"{deck}:", "close-value", *["pass"] * len(found)]
    assert second.split() == [f"{deck}:", "plain", *["pass"] * len(found)]
    assert rest == [f"{p.version} ({p.path}): 2 passed, 0 failed" for p in found]
    pyenv = [p for p in found if "/.pyenv/versions/" in p.path]
    if Path.home().joinpath(".pyenv", "versions").is_dir():
        assert pyenv, "pyenv's interpreters were not found"


def test_check_update_on_two_versions_writes_the_split(invoke: Invoke, tmp_path: Path) -> None:
    found = _found()
    old = [p for p in found if p.version_key < (3, 13)]
    new = [p for p in found if p.version_key >= (3, 13)]
    if not old or not new:
        pytest.skip("needs a CPython before 3.13 and one from 3.13")
    wrong = CLOSE.format(by_python="").replace(
        "      working\n      cleaned up\n", "      wrong\n", 1
    )
    deck = write(tmp_path / "g.yaml", wrong)
    result = invoke(
        "check", "--update", "--python", old[-1].version, "--python", new[-1].version, str(deck)
    )
    assert result.exit_code == 0, result.output
    assert f"{deck}: 1 answer updated" in result.output
    minor = ".".join(new[-1].version.split(".")[:2])
    expected = SPLIT.replace("3.13", minor) if minor == "3.13" else None
    if expected is not None:
        assert deck.read_text() == CLOSE.format(by_python=expected)
    again = invoke("check", "--python", old[-1].version, "--python", new[-1].version, str(deck))
    assert again.exit_code == 0, again.output


def test_a_pyenv_shim_with_no_python_gets_a_clear_message(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shim = write(
        tmp_path / "shims" / "python3.4", '#!/usr/bin/env bash\nexec pyenv exec "${0##*/}" "$@"\n'
    )
    shim.chmod(0o755)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    deck = write(tmp_path / "g.yaml", CLOSE.format(by_python=""))
    result = invoke("check", "--python", str(shim), str(deck))
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: {shim} is a pyenv shim, and pyenv has no Python for 'python3.4' here"
    ), result.output
    assert "`pyenv install` one, or name an interpreter itself" in result.output
    assert "127" not in result.output and len(result.output.splitlines()) == 1
    for command in (
        ["trace", "--interpreter", str(shim), "--code-file", str(deck)],
        ["add", "--deck", "m", "--type", "predict_output", "--prompt", "P", "--code",
         "print(1)", "--interpreter", str(shim)],
    ):  # fmt: skip
        other = invoke(*command)
        assert other.exit_code == 1, other.output
        assert f"{shim} is a pyenv shim" in other.output and "127" not in other.output


def test_a_pyenv_shim_runs_the_python_behind_it(invoke: Invoke, tmp_path: Path) -> None:
    shims = Path.home() / ".pyenv" / "shims"
    found = [p for p in _found() if "/.pyenv/versions/" in p.path]
    if not found or not (shims / f"python{'.'.join(found[-1].version.split('.')[:2])}").exists():
        pytest.skip("no pyenv shim with a Python behind it here")
    minor = ".".join(found[-1].version.split(".")[:2])
    resolved = pythons.resolve(str(shims / f"python{minor}"))
    assert resolved.version == found[-1].version
    deck = write(tmp_path / "g.yaml", CLOSE.format(by_python=SPLIT))
    result = invoke("check", "--python", str(shims / f"python{minor}"), str(deck))
    assert result.exit_code == 0, result.output


def test_a_version_no_python_has_is_one_line(invoke: Invoke, tmp_path: Path) -> None:
    deck = write(tmp_path / "g.yaml", CLOSE.format(by_python=""))
    result = invoke("check", "--python", "3.99", str(deck))
    assert result.exit_code == 1
    assert result.output.startswith("Error: no Python 3.99 found on this machine (found: ")


def test_the_bundled_question_with_answers_by_version_passes_on_each_python(
    invoke: Invoke, tmp_path: Path
) -> None:
    source = resource_dir("decks") / "iterators-and-generators.yaml"
    bundled = deckfile.load_deck(source)
    question = next(q for q in bundled.questions if q.id == "close-returns-the-return-value")
    assert question.answers_by_python is not None
    found = _found()
    if len(found) < 2:
        pytest.skip("fewer than two CPythons on this machine")
    # That question alone, as the bundled file spells it (the whole deck on every Python
    # is `.ci/run`'s job).
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["questions"] = [q for q in data["questions"] if q["id"] == question.id]
    alone = tmp_path / "iterators-and-generators.yaml"
    alone.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    result = invoke("check", "--python", "all", str(alone))
    row = next(
        line for line in result.output.splitlines() if "close-returns-the-return-value" in line
    )
    assert row.split()[2:] == ["pass"] * len(found), result.output


def test_review_and_export_use_the_answer_for_the_python_in_config(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    deck = write(tmp_path / "g.yaml", CLOSE.format(by_python=SPLIT))
    assert invoke("import", str(deck)).exit_code == 0
    with sqlite3.connect(db_path) as connection:
        (stored,) = connection.execute(
            "select answers_by_python from questions where qid = 'close-value'"
        ).fetchone()
    assert "cleaned up" in stored
    assert invoke("config", "python", "3.12").exit_code == 0
    review = invoke("review", "--deck", "gen", input="working\nNone\n.\n\nq\n")
    assert "Correct." in review.output, review.output
    assert invoke("config", "python", "3.13").exit_code == 0
    review = invoke(
        "review", "--deck", "gen", input="working\ncleaned up\n.\n\nq\n", today="2026-02-05"
    )
    assert "Correct." in review.output, review.output
    from quizzer import transfer

    database = open_database(str(db_path))
    try:
        with database.reading() as session:
            old = transfer.export_questions(session, python="3.12")
            new = transfer.export_questions(session, python="3.13.0")
    finally:
        database.dispose()
    assert [q.answer for q in old if q.qid == "close-value"] == ["working\nNone\n"]
    assert [q.answer for q in new if q.qid == "close-value"] == ["working\ncleaned up\n"]
    shown = invoke("show", "gen/close-value").output
    assert "python<3.13: working" in shown and "python>=3.13: working" in shown


def test_config_python_takes_a_version_or_running(invoke: Invoke) -> None:
    assert invoke("config", "python").output.strip() == "running"
    refused = invoke("config", "python", "banana")
    assert refused.exit_code == 1
    assert "python: 'banana' is not a Python version like 3.12 (or 'running')" in refused.output
    assert invoke("config", "python", "3.12").exit_code == 0
    assert invoke("config", "python", "running").exit_code == 0


def test_check_update_on_one_python_fixes_its_own_range_only(
    invoke: Invoke, tmp_path: Path
) -> None:
    import sys

    running = ".".join(map(str, sys.version_info[:3]))
    old = sys.version_info < (3, 13)
    broken = SPLIT.replace(
        '"working\\nNone\\n"' if old else '"working\\ncleaned up\\n"', '"stale\\n"'
    )
    deck = write(tmp_path / "g.yaml", CLOSE.format(by_python=broken))
    result = invoke("check", "--update", str(deck))
    assert f"{deck}: 1 answer by version updated" in result.output, (running, result.output)
    assert deck.read_text() == CLOSE.format(by_python=SPLIT)
    assert invoke("check", str(deck)).exit_code == 0


def test_check_json_on_several_pythons(invoke: Invoke, tmp_path: Path) -> None:
    import json

    found = _found()
    if len(found) < 2:
        pytest.skip("fewer than two CPythons on this machine")
    deck = write(tmp_path / "g.yaml", CLOSE.format(by_python=SPLIT))
    names = [found[0].version, found[-1].version]
    result = invoke("check", "--json", "--python", names[0], "--python", names[1], str(deck))
    data = json.loads(result.output)
    assert [report["python_version"] for report in data["pythons"]] == names
    assert data["matrix"][0] == {
        "label": f"{deck}: close-value",
        "status": {names[0]: "passed", names[1]: "passed"},
    }
