"""`quizzer import`: validated, idempotent, one transaction, history-preserving."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from helpers import SMALL_DECK, Invoke, dump_db, write

from quizzer.db import resource_dir


def _cards(invoke: Invoke, *extra: str) -> dict[str, dict[str, object]]:
    result = invoke("cards", "--json", *extra)
    assert result.exit_code == 0, result.output
    return {card["name"]: card for card in json.loads(result.output)}


def test_import_loads_questions_as_new_cards(invoke: Invoke, deck_file: Path) -> None:
    result = invoke("import", str(deck_file))
    assert result.exit_code == 0, result.output
    assert "test-closures: 3 added" in result.output
    cards = _cards(invoke)
    assert set(cards) == {
        "test-closures/late-binding",
        "test-closures/cell",
        "test-closures/nonlocal",
    }
    card = cards["test-closures/late-binding"]
    assert (card["ease"], card["repetitions"], card["interval"], card["due"], card["new"]) == (
        2.5,
        0,
        0,
        "2026-01-05",
        True,
    )


def test_import_twice_changes_nothing(invoke: Invoke, deck_file: Path, db_path: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    before = dump_db(db_path)
    result = invoke("import", str(deck_file), today="2026-02-01")
    assert result.exit_code == 0
    assert "0 added, 0 updated, 3 unchanged" in result.output
    assert dump_db(db_path) == before


def test_edited_question_keeps_schedule_and_history(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("grade", "test-closures/late-binding", "5").exit_code == 0
    deck_file.write_text(SMALL_DECK.replace("What prints?", "What does this print?"))
    result = invoke("import", str(deck_file), today="2026-01-06")
    assert "1 updated" in result.output
    shown = json.loads(invoke("show", "test-closures/late-binding", "--json").output)
    assert shown["prompt"] == "What does this print?"
    assert shown["state"]["repetitions"] == 1 and shown["state"]["ease"] == 2.6
    assert [h["quality"] for h in shown["history"]] == [5]


def test_removed_question_is_retired_then_restored(invoke: Invoke, deck_file: Path) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("grade", "test-closures/nonlocal", "4").exit_code == 0
    trimmed = SMALL_DECK[: SMALL_DECK.index("  - id: nonlocal")]
    deck_file.write_text(trimmed)
    assert "1 retired" in invoke("import", str(deck_file)).output
    assert "test-closures/nonlocal" not in _cards(invoke)
    retired = _cards(invoke, "--retired")["test-closures/nonlocal"]
    assert retired["retired"] is True and retired["repetitions"] == 1
    decks = json.loads(invoke("decks", "--json").output)
    assert decks[0]["retired"] == 1 and decks[0]["total"] == 3
    deck_file.write_text(SMALL_DECK)
    assert "1 restored" in invoke("import", str(deck_file)).output
    shown = json.loads(invoke("show", "test-closures/nonlocal", "--json").output)
    assert shown["retired"] is False and len(shown["history"]) == 1


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        (
            "    answer: nonlocal\n",
            "    answer: nonlocal\n    hint: x\n",
            "question 'nonlocal' (#3): field 'hint': unknown key",
        ),
        (
            "    answer: The variable (a cell)\n",
            "    answer: A cell\n",
            "question 'cell' (#2): field 'answer': must be the exact text of one of the choices",
        ),
        ("  - id: nonlocal\n", "  - id: cell\n", "question 'cell' (#3): field 'id': duplicate id"),
        ("    type: recall\n", "    type: essay\n", "question 'nonlocal' (#3): field 'type'"),
        (
            "    prompt: What prints?\n",
            "",
            "question 'late-binding' (#1): field 'prompt': required",
        ),
        ("deck: test-closures\n", "deck: Test Closures\n", "deck: field 'deck'"),
        (
            "    answer: |\n      [2, 2, 2]\n",
            "    answer: 42\n",
            "question 'late-binding' (#1): field 'answer': Input should be a valid string",
        ),
        (
            "    answer: nonlocal\n",
            '    answer: "non\\0local"\n',
            "question 'nonlocal' (#3): field 'answer': contains a NUL character",
        ),
        (
            "    answer: nonlocal\n",
            "    answer: nonlocal\n    python: '" + ",".join(["!=3.2"] * 20) + "'\n",
            "question 'nonlocal' (#3): field 'python': String should have at most 100 characters",
        ),
    ],
)
def test_bad_file_names_file_question_field_and_changes_nothing(
    invoke: Invoke,
    deck_file: Path,
    db_path: Path,
    tmp_path: Path,
    replace: str,
    by: str,
    message: str,
) -> None:
    good = write(
        tmp_path / "decks" / "other.yaml", SMALL_DECK.replace("test-closures", "other-deck")
    )
    assert invoke("import", str(good)).exit_code == 0
    before = dump_db(db_path)
    assert replace in SMALL_DECK
    deck_file.write_text(SMALL_DECK.replace(replace, by))
    result = invoke("import", str(good.parent))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: {deck_file}: ")
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert dump_db(db_path) == before


def test_invalid_yaml_is_reported_with_its_line(invoke: Invoke, tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", "deck: x\ntitle: [unclosed\n")
    result = invoke("import", str(path))
    assert result.exit_code == 1
    assert f"{path}: invalid YAML (line" in result.output


def test_two_files_with_one_deck_slug_are_refused(invoke: Invoke, tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.yaml", SMALL_DECK)
    write(tmp_path / "d" / "b.yaml", SMALL_DECK)
    result = invoke("import", str(tmp_path / "d"))
    assert result.exit_code == 1
    assert "slug 'test-closures' is already used by" in result.output


def test_dry_run_validates_and_writes_nothing(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    result = invoke("import", "--dry-run", str(deck_file))
    assert result.exit_code == 0
    assert "1 deck files valid, 3 questions" in result.output
    assert not db_path.exists()
    deck_file.write_text(SMALL_DECK.replace("type: recall", "type: nope"))
    assert invoke("import", "--dry-run", str(deck_file)).exit_code == 1


def test_missing_path_is_an_error(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("import", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_bundled_decks_import(invoke: Invoke) -> None:
    result = invoke("import", str(resource_dir("decks")))
    assert result.exit_code == 0, result.output
    decks = json.loads(invoke("decks", "--json").output)
    assert sum(d["new"] for d in decks) == sum(d["total"] for d in decks) > 0


def test_unchanged_file_after_a_delete_or_edit_is_read_again(
    invoke: Invoke, deck_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert "3 unchanged" in invoke("import", str(deck_file)).output
    assert invoke("delete", "test-closures/cell").exit_code == 0
    # The file did not change, but the deck did: importing it brings the question back.
    assert "1 restored" in invoke("import", str(deck_file)).output
    editor = write(
        tmp_path / "editor.py",
        "import sys\nfrom pathlib import Path\np = Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('Which statement', 'What statement'))\n",
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {editor}")
    assert invoke("edit", "test-closures/nonlocal").exit_code == 0
    assert "1 updated" in invoke("import", str(deck_file)).output
    shown = json.loads(invoke("show", "test-closures/nonlocal", "--json").output)
    assert shown["prompt"].startswith("Which statement")


def test_a_bad_file_does_not_create_a_new_database(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    deck_file.write_text(SMALL_DECK.replace("type: recall", "type: essay"))
    assert invoke("import", str(deck_file)).exit_code == 1
    assert not db_path.exists()
    deck_file.write_text(SMALL_DECK)
    assert invoke("import", str(deck_file)).exit_code == 0
    assert db_path.exists()


def _export_stamps(db_path: Path) -> dict[str, tuple[str, object]]:
    from quizzer import transfer
    from quizzer.db import open_database

    database = open_database(str(db_path))
    try:
        with database.reading() as session:
            return {q.qid: (q.deck_title, q.changed_at) for q in transfer.export_questions(session)}
    finally:
        database.dispose()


def test_only_deck_tags_mark_its_notes_changed_for_anki(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    # A changed note overwrites what the learner edited in Anki: the deck's title and
    # description are in no note, so changing them must leave the notes as they were.
    assert invoke("import", str(deck_file), today="2026-01-05").exit_code == 0
    before = _export_stamps(db_path)
    text = deck_file.read_text(encoding="utf-8")
    retitled = text.replace("title: Test closures", "title: Closures\ndescription: New words.")
    deck_file.write_text(retitled, encoding="utf-8")
    assert invoke("import", str(deck_file)).exit_code == 0
    after = _export_stamps(db_path)
    assert {qid: stamp for qid, (_, stamp) in after.items()} == {
        qid: stamp for qid, (_, stamp) in before.items()
    }
    assert {title for title, _ in after.values()} == {"Closures"}
    deck_file.write_text(retitled.replace("tags: [closures]", "tags: [scopes]"), encoding="utf-8")
    assert invoke("import", str(deck_file)).exit_code == 0
    tagged = _export_stamps(db_path)
    assert all(tagged[qid][1] != after[qid][1] for qid in after)


def test_a_deck_keeps_its_anki_name_whichever_decks_are_exported(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    from quizzer import transfer
    from quizzer.db import open_database

    for slug, title in (("alpha", "Python"), ("beta", "python")):
        deck = write(
            tmp_path / f"{slug}.yaml",
            f"deck: {slug}\ntitle: {title}\nquestions:\n"
            "  - id: q\n    type: recall\n    prompt: Q?\n    answer: A\n",
        )
        assert invoke("import", str(deck)).exit_code == 0
    database = open_database(str(db_path))
    try:
        with database.reading() as session:
            alone = transfer.export_questions(session, decks=["alpha"])
            together = transfer.export_questions(session)
    finally:
        database.dispose()
    assert [q.deck_title for q in alone] == ["Python (alpha)"]
    assert [q.deck_title for q in together] == ["Python (alpha)", "python (beta)"]


@pytest.mark.parametrize("mark", ["\x85", "\u2028", "\u2029", "\r", "\t"])
def test_written_decks_read_back_the_same(mark: str) -> None:
    # YAML reads NEL written raw as a line break, which a plain scalar folds to a space.
    from quizzer import deckfile

    text = f"a{mark}b"
    deck = deckfile.Deck(
        deck="x",
        title=f"T{mark}",
        questions=[deckfile.Question(id="a", type="recall", prompt=text, answer=text)],
    )
    assert deckfile.parse_deck(deckfile.dump_deck(deck), source="x.yaml") == deck


def test_a_repeated_deck_key_after_the_questions_is_the_decks(
    invoke: Invoke, tmp_path: Path
) -> None:
    deck = write(tmp_path / "dk.yaml", SMALL_DECK + "tags: [python, closures]\n")
    result = invoke("import", str(deck))
    assert result.exit_code == 1
    assert f"{deck}: deck: field 'tags': duplicate key" in result.output, result.output


def test_renaming_a_decks_slug_retires_the_old_deck_instead_of_asking_twice(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("grade", "test-closures/nonlocal", "4").exit_code == 0
    text = deck_file.read_text(encoding="utf-8")
    deck_file.write_text(text.replace("deck: test-closures", "deck: closures"), encoding="utf-8")
    renamed = invoke("import", str(deck_file))
    assert renamed.exit_code == 0, renamed.output
    assert "test-closures: 0 added, 0 updated, 0 unchanged, 3 retired" in renamed.output
    cards = json.loads(invoke("cards", "--json").output)
    assert sorted(card["name"] for card in cards) == [
        "closures/cell",
        "closures/late-binding",
        "closures/nonlocal",
    ]
    # Renamed back: the old deck's questions return with their history.
    deck_file.write_text(text, encoding="utf-8")
    assert invoke("import", str(deck_file)).exit_code == 0
    back = {c["name"]: c for c in json.loads(invoke("cards", "--json").output)}
    assert sorted(back) == [
        "test-closures/cell",
        "test-closures/late-binding",
        "test-closures/nonlocal",
    ]
    assert back["test-closures/nonlocal"]["repetitions"] == 1
