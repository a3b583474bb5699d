"""A note's time in Anki, set by the clock the services are given: an edit made in the same
second as the previous change still reaches Anki (which takes only strictly newer notes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from anki.collection import Collection
from helpers import SMALL_DECK, anki_import, write

from quizzer import authoring, importing, store, transfer
from quizzer.anki import export_apkg
from quizzer.db import Database, open_database
from quizzer.transfer import question_file

# After quizzer.anki.RENDERING_CHANGED_AT, 0.2 s into a second.
T0 = datetime(2026, 12, 10, 12, 0, 0, 200_000, tzinfo=UTC)
TODAY = date(2026, 12, 10)
NAME = "test-closures/nonlocal"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(str(tmp_path / "q.db"))
    yield db
    db.dispose()


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    (tmp_path / "anki").mkdir()
    collection = Collection(str(tmp_path / "anki" / "c.anki2"))
    yield collection
    collection.close()


def _sync(database: Database, col: Collection, package: Path) -> list[str]:
    """Export everything and import it into Anki as the desktop does; the notes updated."""
    with database.reading() as session:
        export_apkg(transfer.export_questions(session), package)
    result = anki_import(col, package)
    return sorted(note.fields[0] for note in result.log.updated)


def _prompt(col: Collection) -> str:
    (note_id,) = col.find_notes(f'"QuizzerId:{NAME}"')
    return str(col.get_note(note_id)["Prompt"])


def test_a_same_second_edit_reaches_anki(
    database: Database, col: Collection, tmp_path: Path
) -> None:
    deck = write(tmp_path / "decks" / "closures.yaml", SMALL_DECK)
    with database.transaction() as session:
        importing.import_decks(session, [deck], now=T0, today=TODAY)
    assert _sync(database, col, tmp_path / "1.apkg") == []

    # `quizzer edit`, 0.3 s later: the same second.
    with database.transaction() as session:
        question = store.get_question(session, NAME)
        edited = question_file(question).model_copy(update={"prompt": "Edited once"})
        assert authoring.apply_edit(session, question, edited, now=T0 + timedelta(seconds=0.3))
    assert _sync(database, col, tmp_path / "2.apkg") == [NAME]
    assert _prompt(col) == "Edited once"

    # The deck file changed and imported again, 0.1 s after that: the same second again.
    write(deck, SMALL_DECK.replace("Which statement lets", "Which keyword lets"))
    with database.transaction() as session:
        importing.import_decks(session, [deck], now=T0 + timedelta(seconds=0.4), today=TODAY)
    assert _sync(database, col, tmp_path / "3.apkg") == [NAME]
    assert _prompt(col).startswith("Which keyword lets")

    # New deck tags, in that second too: every note of the deck shows them.
    write(deck, SMALL_DECK.replace("tags: [closures]", "tags: [closures, scope]", 1))
    with database.transaction() as session:
        importing.import_decks(session, [deck], now=T0 + timedelta(seconds=0.5), today=TODAY)
    assert len(_sync(database, col, tmp_path / "4.apkg")) == 3

    # Nothing changed: nothing is updated, whatever the clock says.
    with database.transaction() as session:
        importing.import_decks(session, [deck], now=T0 + timedelta(seconds=0.6), today=TODAY)
    assert _sync(database, col, tmp_path / "5.apkg") == []


def test_a_change_a_second_later_keeps_its_own_time(database: Database, tmp_path: Path) -> None:
    deck = write(tmp_path / "decks" / "closures.yaml", SMALL_DECK)
    with database.transaction() as session:
        importing.import_decks(session, [deck], now=T0, today=TODAY)
    later = T0 + timedelta(seconds=5)
    with database.transaction() as session:
        question = store.get_question(session, NAME)
        edited = question_file(question).model_copy(update={"prompt": "Later"})
        authoring.apply_edit(session, question, edited, now=later)
    with database.reading() as session:
        assert store.get_question(session, NAME).changed_at == later


def test_the_deck_description_goes_along(database: Database, tmp_path: Path) -> None:
    text = SMALL_DECK.replace(
        "title: Test closures\n", "title: Test closures\ndescription: Cells.\n"
    )
    deck = write(tmp_path / "decks" / "closures.yaml", text)
    with database.transaction() as session:
        importing.import_decks(session, [deck], now=T0, today=TODAY)
    with database.reading() as session:
        exported = transfer.export_questions(session)
    assert {q.deck_description for q in exported} == {"Cells."}
