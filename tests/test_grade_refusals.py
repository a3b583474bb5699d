"""`quizzer grade` gives the true reason when it refuses, and changes nothing."""

from __future__ import annotations

from pathlib import Path

from helpers import Invoke, dump_db


def test_grade_refuses_a_deleted_question_saying_it_was_deleted(
    invoke: Invoke, db_path: Path
) -> None:
    added = invoke(
        "add", "--deck", "my-notes", "--type", "recall", "--id", "cell",
        "--prompt", "What is a cell?", "--answer", "A box",
    )  # fmt: skip
    assert added.exit_code == 0
    assert invoke("delete", "my-notes/cell").exit_code == 0
    before = dump_db(db_path)
    refused = invoke("grade", "my-notes/cell", "4")
    assert refused.exit_code == 1
    assert refused.output == (
        "Error: my-notes/cell: this question is retired (deleted); nothing changed\n"
    )
    assert dump_db(db_path) == before


def test_grade_refuses_a_suspended_card(invoke: Invoke, deck_file: Path, db_path: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("config", "leech-threshold", "1").exit_code == 0
    assert invoke("grade", "test-closures/nonlocal", "0").exit_code == 0  # a leech: suspended
    before = dump_db(db_path)
    refused = invoke("grade", "test-closures/nonlocal", "4", today="2026-01-06")
    assert refused.exit_code == 1
    assert "this card is suspended (a leech)" in refused.output
    assert "`quizzer unsuspend test-closures/nonlocal` brings it back" in refused.output
    assert dump_db(db_path) == before
    assert invoke("unsuspend", "test-closures/nonlocal").exit_code == 0
    assert invoke("grade", "test-closures/nonlocal", "4", today="2026-01-06").exit_code == 0
