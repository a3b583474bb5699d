"""A deck's file is stored by its absolute path: imports from any folder agree on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import SMALL_DECK, Invoke, write


def test_a_deck_imported_by_a_relative_path_is_stored_absolute(
    invoke: Invoke, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deck = write(tmp_path / "decks" / "closures.yaml", SMALL_DECK)
    monkeypatch.chdir(tmp_path)
    first = invoke("import", "decks/closures.yaml")
    assert first.exit_code == 0, first.output
    assert "(decks/closures.yaml)" in first.output  # the report names it as given
    with sqlite3.connect(db_path) as connection:
        (source,) = connection.execute("SELECT source FROM decks").fetchone()
    connection.close()
    assert source == str(deck.resolve())
    # From another folder the same file is the same deck: nothing added, nothing retired.
    monkeypatch.chdir(tmp_path / "decks")
    edited = SMALL_DECK.replace("What prints?", "What does this print?")
    write(deck, edited)
    again = invoke("import", "closures.yaml")
    assert again.exit_code == 0, again.output
    assert again.output == ("test-closures: 0 added, 1 updated, 2 unchanged  (closures.yaml)\n")
    refused = invoke("add", "--deck", "test-closures", "--type", "recall", "--prompt", "p",
                     "--answer", "a")  # fmt: skip
    assert f"this deck is loaded from {deck.resolve()}" in refused.output
