"""Your own questions and progress: add, edit, delete, undo, leeches, YAML export, schema."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from helpers import Invoke, dump_db, editor, write

from quizzer.cli import main
from quizzer.db import resource_dir

SNIPPET = "x = [1, 2]\ny = x\ny += [3]\nprint(x)\n"


def _show(invoke: Invoke, name: str) -> dict[str, Any]:
    result = invoke("show", name, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    return data


# --- add ------------------------------------------------------------------------------


def test_add_predict_output_stores_what_cpython_prints(invoke: Invoke, tmp_path: Path) -> None:
    code = write(tmp_path / "surprise.py", SNIPPET)
    result = invoke(
        "add",
        "--deck",
        "my-notes",
        "--type",
        "predict_output",
        "--code-file",
        str(code),
        "--prompt",
        "What prints?",
        input="y\n",
    )
    assert result.exit_code == 0, result.output
    assert "CPython prints:\n[1, 2, 3]\n" in result.output
    assert "Added my-notes/what-prints." in result.output
    shown = _show(invoke, "my-notes/what-prints")
    assert shown["answer"] == "[1, 2, 3]\n" and shown["code"] == SNIPPET
    again = invoke(
        "add",
        "--deck",
        "my-notes",
        "--type",
        "predict_output",
        "--code",
        "print(1)",
        "--prompt",
        "What prints?",
        "-y",
    )
    assert "Added my-notes/what-prints-2." in again.output


def test_add_refuses_a_wrong_answer_unless_forced(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    assert (
        invoke(
            "add", "--deck", "my-notes", "--type", "recall", "--prompt", "P", "--answer", "A"
        ).exit_code
        == 0
    )
    before = dump_db(db_path)
    args = [
        "add",
        "--deck",
        "my-notes",
        "--type",
        "predict_output",
        "--code",
        SNIPPET,
        "--prompt",
        "Aliasing",
        "--answer",
        "[1, 2]\n",
    ]
    refused = invoke(*args)
    assert refused.exit_code == 1
    assert "-[1, 2]\n+[1, 2, 3]" in refused.output
    assert "my-notes/aliasing: field 'answer': not what CPython prints" in refused.output
    assert dump_db(db_path) == before
    forced = invoke(*args, "--force")
    assert forced.exit_code == 0
    assert _show(invoke, "my-notes/aliasing")["answer"] == "[1, 2]\n"


def test_add_refuses_code_stopped_by_the_sandbox(invoke: Invoke, db_path: Path) -> None:
    result = invoke(
        "add",
        "--deck",
        "my-notes",
        "--type",
        "predict_output",
        "--prompt",
        "Bomb",
        "--code",
        "x = bytearray(10**12)\nprint(len(x))\n",
        "-y",
    )
    assert result.exit_code == 1
    assert "my-notes/bomb: the code was stopped by the sandbox:" in result.output
    assert "memory" in result.output
    assert not db_path.exists() or "bomb" not in "".join(dump_db(db_path))


def test_add_refuses_an_output_no_answer_may_hold(invoke: Invoke, db_path: Path) -> None:
    # A NUL character: PostgreSQL cannot store it, so the collection could never move.
    args = ["add", "--deck", "my-notes", "--type", "predict_output", "--prompt", "Nul"]
    result = invoke(*args, "--code", 'print("a\\0b")', "-y")
    assert result.exit_code == 1, result.output
    assert "my-notes/nul: field 'answer': contains a NUL character" in result.output
    assert not db_path.exists() or "nul" not in "".join(dump_db(db_path))


def test_add_refuses_to_compute_an_answer_its_python_range_excludes(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    recall = ["add", "--deck", "my-notes", "--type", "recall", "--prompt", "P", "--answer", "A"]
    assert invoke(*recall).exit_code == 0
    before = dump_db(db_path)
    # Code valid on no Python this test runs on, with a range no Python satisfies: the
    # output of the running interpreter (a SyntaxError here) is not the answer it claims.
    code = write(tmp_path / "future.py", "print(f'{1!z}')\n")
    base = ["add", "--deck", "my-notes", "--type", "predict_output", "--prompt", "Future", "-y"]
    args = [*base, "--python", ">=99", "--code-file", str(code)]
    refused = invoke(*args)
    assert refused.exit_code == 1
    version = ".".join(map(str, sys.version_info[:3]))
    assert refused.output == (
        f"Error: my-notes/future: the answer is for python>=99 but this Python is {version}; "
        "give it with --answer, or run the code with --interpreter PATH of a matching Python\n"
    )
    assert dump_db(db_path) == before
    chosen = invoke(*args, "--interpreter", sys.executable)
    assert chosen.exit_code == 1 and f"but {sys.executable} is {version};" in chosen.output
    assert dump_db(db_path) == before
    # The way out it names: the answer given, it is stored (not run: the range excludes us).
    assert invoke(*args, "--answer", "1\n").exit_code == 0
    assert _show(invoke, "my-notes/future")["answer"] == "1\n"
    # A range that includes this Python still computes the answer.
    current = invoke(*base, "--python", f">={version}", "--code", "print(7)", "--id", "now")
    assert current.exit_code == 0, current.output
    assert _show(invoke, "my-notes/now")["answer"] == "7\n"


def test_add_refuses_text_that_is_not_utf8(invoke: Invoke, tmp_path: Path, db_path: Path) -> None:
    recall = ["add", "--deck", "my-notes", "--type", "recall", "--prompt", "P", "--answer", "A"]
    assert invoke(*recall).exit_code == 0
    before = dump_db(db_path)
    base = ["add", "--deck", "my-notes", "--type", "predict_output", "--prompt", "Bytes", "-y"]
    # A byte that is not UTF-8 on the command line reaches Python as a lone surrogate.
    from_argv = invoke(*base, "--code", "print(1)\n#\udcff")
    assert from_argv.exit_code == 2
    assert "Error: Invalid value for '--code': not UTF-8 text" in from_argv.output
    bad = tmp_path / "bad.py"
    bad.write_bytes(b"print(1)\n#\xff\n")
    from_file = invoke(*base, "--code-file", str(bad))
    assert from_file.exit_code == 2
    assert (
        f"Error: Invalid value for '--code-file': {bad} is not UTF-8 text (it holds the byte 0xff)"
        in from_file.output
    )
    for flag in ("--answer", "--explanation", "--title"):
        other = invoke(*base, "--code", "print(1)", flag, "x\udcff")
        assert other.exit_code == 2 and f"Invalid value for '{flag}'" in other.output
    assert dump_db(db_path) == before


def test_add_other_types_and_validation(invoke: Invoke) -> None:
    ok = invoke(
        "add",
        "--deck",
        "my-notes",
        "--type",
        "multiple_choice",
        "--prompt",
        "Pick one",
        "--choice",
        "A",
        "--choice",
        "B",
        "--answer",
        "B",
        "--tag",
        "gil",
    )
    assert ok.exit_code == 0, ok.output
    shown = _show(invoke, "my-notes/pick-one")
    assert shown["choices"] == ["A", "B"] and shown["tags"] == ["gil"]
    bad = invoke(
        "add",
        "--deck",
        "my-notes",
        "--type",
        "multiple_choice",
        "--prompt",
        "Pick",
        "--choice",
        "A",
        "--choice",
        "B",
        "--answer",
        "C",
    )
    assert bad.exit_code == 1
    assert bad.output.strip() == (
        "Error: my-notes/pick: field 'answer': must be the exact text of one of the choices"
    )
    bad_slug = invoke(
        "add", "--deck", "My Notes", "--type", "recall", "--prompt", "p", "--answer", "a"
    )
    assert bad_slug.exit_code == 1 and "not a slug" in bad_slug.output
    missing = invoke("add", "--deck", "my-notes", "--prompt", "p")
    assert missing.exit_code == 2 and "--type is needed" in missing.output


def test_add_to_a_deck_from_a_file_is_refused(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    result = invoke(
        "add", "--deck", "test-closures", "--type", "recall", "--prompt", "p", "--answer", "a"
    )
    assert result.exit_code == 1 and f"loaded from {deck_file}" in result.output


def test_add_from_a_file(invoke: Invoke, tmp_path: Path) -> None:
    listed = write(
        tmp_path / "mine.yaml",
        """\
        - id: alias
          type: predict_output
          prompt: What prints?
          code: |
            a = b = []
            a.append(1)
            print(b)
          answer: |
            [1]
        - id: define
          type: recall
          prompt: What is an alias?
          answer: Two names, one object.
        """,
    )
    result = invoke("add", "--from", str(listed), "--deck", "my-notes", "-y")
    assert result.exit_code == 0, result.output
    assert "Added 2 questions to my-notes." in result.output
    wrong = write(tmp_path / "wrong.yaml", listed.read_text().replace("[1]", "[]"))
    refused = invoke("add", "--from", str(wrong), "--deck", "other", "-y")
    assert refused.exit_code == 1 and "other/alias: field 'answer'" in refused.output
    needs_deck = invoke("add", "--from", str(listed))
    assert needs_deck.exit_code == 2


# --- edit -----------------------------------------------------------------------------


@pytest.fixture
def custom(invoke: Invoke) -> Invoke:
    assert (
        invoke(
            "add",
            "--deck",
            "my-notes",
            "--type",
            "predict_output",
            "--code",
            SNIPPET,
            "--prompt",
            "What prints?",
            "--id",
            "alias",
            "-y",
        ).exit_code
        == 0
    )
    assert invoke("grade", "my-notes/alias", "4").exit_code == 0
    return invoke


def test_edit_keeps_schedule_and_history(
    custom: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", editor(tmp_path, "text = text.replace('What prints?', 'Output?')"))
    result = custom("edit", "my-notes/alias")
    assert result.exit_code == 0, result.output
    assert "my-notes/alias: updated; schedule and history kept." in result.output
    shown = _show(custom, "my-notes/alias")
    assert shown["prompt"] == "Output?"
    assert [h["quality"] for h in shown["history"]] == [4]


def test_edit_reverifies_a_changed_answer(
    custom: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    before = dump_db(db_path)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "text = text.replace('[1, 2, 3]', '[1, 2]')"))
    result = custom("edit", "my-notes/alias")
    assert result.exit_code == 1
    assert "not what CPython prints" in result.output
    assert dump_db(db_path) == before
    monkeypatch.setenv("EDITOR", editor(tmp_path, "text = text.replace('id: alias', 'id: other')"))
    renamed = custom("edit", "my-notes/alias")
    assert renamed.exit_code == 1 and "field 'id': the id cannot change" in renamed.output
    monkeypatch.setenv("EDITOR", editor(tmp_path, "pass"))
    assert "No change." in custom("edit", "my-notes/alias").output


def test_edit_to_invalid_yaml_is_one_line_with_line_and_column(
    custom: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    before = dump_db(db_path)
    monkeypatch.setenv(
        "EDITOR", editor(tmp_path, "text = '# header\\nid: alias\\nprompt: a: b\\n'")
    )
    result = custom("edit", "my-notes/alias")
    assert result.exit_code == 1
    kept, error = result.output.splitlines()
    assert error == (
        "Error: my-notes/alias: the edited text is not valid YAML: "
        "mapping values are not allowed here (line 3, column 10)"
    )
    assert kept.startswith("Your text is kept in ")
    assert dump_db(db_path) == before


# --- delete -----------------------------------------------------------------------------


def test_delete_retires_and_purge_removes(custom: Invoke, db_path: Path) -> None:
    assert "retired (its history is kept)" in custom("delete", "my-notes/alias").output
    assert _show(custom, "my-notes/alias")["retired"] is True
    kept = custom("delete", "my-notes/alias", "--purge", input="n\n")
    assert kept.exit_code == 1 and "nothing deleted" in kept.output
    assert "deleted with 1 reviews" in custom("delete", "my-notes/alias", "--purge", "--yes").output
    assert custom("show", "my-notes/alias").exit_code == 1
    with sqlite3.connect(db_path) as connection:
        assert connection.execute("SELECT count(*) FROM reviews").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM card_states").fetchone() == (0,)


# --- undo -------------------------------------------------------------------------------


def test_undo_restores_state_and_log_across_sessions(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    fresh = _show(invoke, "test-closures/cell")
    assert invoke("grade", "test-closures/cell", "5").exit_code == 0
    after_first = _show(invoke, "test-closures/cell")
    assert invoke("grade", "test-closures/cell", "3", today="2026-01-06").exit_code == 0
    first_undo = invoke("undo")
    assert "Undone: test-closures/cell, quality 3 (graded) on 2026-01-06." in first_undo.output
    assert _show(invoke, "test-closures/cell") == after_first
    assert invoke("undo").exit_code == 0
    assert _show(invoke, "test-closures/cell") == fresh
    nothing = invoke("undo")
    assert nothing.exit_code == 1 and "nothing to undo" in nothing.output


# --- leeches ----------------------------------------------------------------------------


def test_leech_is_tagged_suspended_and_can_come_back(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("config", "leech-threshold", "2").exit_code == 0
    assert invoke("grade", "test-closures/nonlocal", "1", today="2026-01-05").exit_code == 0
    second = invoke("grade", "test-closures/nonlocal", "0", "--json", today="2026-01-06")
    assert json.loads(second.output)["leech"] is True
    leeches = json.loads(invoke("cards", "--leeches", "--json").output)
    assert [(c["name"], c["suspended"]) for c in leeches] == [("test-closures/nonlocal", True)]
    review = invoke("review", input="q\n", today="2026-01-07")
    assert "nonlocal" not in review.output
    assert invoke("undo").exit_code == 0
    assert json.loads(invoke("cards", "--leeches", "--json").output) == []
    assert invoke("grade", "test-closures/nonlocal", "0", today="2026-01-06").exit_code == 0
    unsuspended = invoke("unsuspend", "test-closures/nonlocal")
    assert unsuspended.exit_code == 0
    assert unsuspended.output == "test-closures/nonlocal: back in reviews.\n"
    state = _show(invoke, "test-closures/nonlocal")["state"]
    assert state["suspended"] is False and state["leech"] is False


def test_unsuspend_says_when_there_is_nothing_to_bring_back(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    before = dump_db(db_path)
    again = invoke("unsuspend", "test-closures/nonlocal")
    assert again.exit_code == 0
    assert again.output == "test-closures/nonlocal is not suspended; nothing changed.\n"
    assert dump_db(db_path) == before
    # A retired question is not asked, suspended or not: said so, and it stays as it is.
    assert invoke("config", "leech-threshold", "1").exit_code == 0
    assert invoke("grade", "test-closures/cell", "0").exit_code == 0
    for name in ("test-closures/cell", "test-closures/nonlocal"):
        assert invoke("delete", name).exit_code == 0
    before = dump_db(db_path)
    for name in ("test-closures/cell", "test-closures/nonlocal"):
        retired = invoke("unsuspend", name)
        assert retired.exit_code == 1
        assert retired.output == (
            f"Error: {name}: this question is retired (deleted, or removed from its deck "
            "file) and will not be asked; nothing changed\n"
        )
    assert dump_db(db_path) == before
    assert _show(invoke, "test-closures/cell")["state"]["suspended"] is True


def test_review_says_when_a_card_becomes_a_leech(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("config", "leech-threshold", "1").exit_code == 0
    result = invoke("review", "--deck", "test-closures", input="[0]\n.\nq\n")
    assert "This card is a leech: failed 1 times, so it is suspended." in result.output
    assert "quizzer edit test-closures/late-binding" in result.output


# --- YAML export and schema --------------------------------------------------------------


def _questions(db: Path) -> dict[str, tuple[object, ...]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT d.slug || '/' || q.qid, d.title, d.tags, q.position, q.type, q.prompt, q.code,"
            " q.answer, q.choices, q.explanation, q.tags, q.python, q.content_hash"
            " FROM questions q JOIN decks d ON d.id = q.deck_id WHERE NOT q.retired"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


def test_yaml_export_round_trips_bundled_and_custom_decks(
    custom: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_path: Path
) -> None:
    assert custom("import", str(resource_dir("decks"))).exit_code == 0
    out = tmp_path / "exported"
    result = custom("export", "--format", "yaml", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "my-notes.yaml").is_file() and (out / "python-closures.yaml").is_file()
    original = _questions(db_path)
    assert len(original) > 150
    fresh_db = tmp_path / "fresh.db"
    monkeypatch.delenv("QUIZZER_DB", raising=False)
    imported = CliRunner().invoke(main, ["--db", str(fresh_db), "import", str(out)])
    assert imported.exit_code == 0, imported.output
    assert _questions(fresh_db) == original


def test_schema_validates_every_bundled_deck_and_rejects_a_bad_one(invoke: Invoke) -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(resource_dir("decks").glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], f"{path.name}: {errors[:1]}"
    bad = {
        "deck": "x",
        "title": "X",
        "questions": [{"id": "a", "type": "essay", "prompt": "p", "answer": "a", "colour": 1}],
    }
    assert list(validator.iter_errors(bad))


# --- shell completion ---------------------------------------------------------------------


def test_completion_offers_deck_slugs_and_question_names(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    env = {
        **os.environ,
        "QUIZZER_DB": str(db_path),
        "_QUIZZER_COMPLETE": "bash_complete",
        "COMP_WORDS": "quizzer show test-closures/c",
        "COMP_CWORD": "2",
    }
    result = CliRunner().invoke(main, [], env=env, prog_name="quizzer")
    assert "plain,test-closures/cell" in result.output
    assert "late-binding" not in result.output
    env.update(COMP_WORDS="quizzer cards --deck te", COMP_CWORD="3")
    decks = CliRunner().invoke(main, [], env=env, prog_name="quizzer")
    assert "plain,test-closures" in decks.output
