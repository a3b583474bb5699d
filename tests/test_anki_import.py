"""`quizzer import FILE.apkg|FILE.colpkg`, checked against packages real Anki writes.

Collections are made and exported with the `anki` package (its own backend), in every form
it writes: the current zstd `collection.anki21b`, the legacy `collection.anki21` .apkg, and
whole-collection .colpkg files.
"""

from __future__ import annotations

import io
import json
import platform
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zstandard
from anki.collection import (
    Collection,
    ExportAnkiPackageOptions,
)
from anki.decks import DeckId
from anki.scheduler.v3 import CardAnswer, Scheduler
from helpers import SMALL_DECK, Invoke, anki_import, dump_db, write
from hypothesis import given, settings
from hypothesis import strategies as st

from quizzer import ankinotes, ankipkg
from quizzer.answers import normalize_output
from quizzer.questions import answer_for

FORMS = ("apkg", "legacy-apkg", "colpkg", "legacy-colpkg")


def _export(col: Collection, path: Path, form: str, *, scheduling: bool = True) -> Path:
    """Export ``col`` as Anki's File > Export does, in ``form``; reopens it for colpkg."""
    if form.endswith("apkg"):
        options = ExportAnkiPackageOptions(
            with_scheduling=scheduling,
            with_deck_configs=scheduling,
            with_media=True,
            legacy=form.startswith("legacy"),
        )
        col.export_anki_package(out_path=str(path), options=options, limit=None)
    else:
        col.export_collection_package(
            str(path), include_media=True, legacy=form.startswith("legacy")
        )
        col.reopen()
    return path


def _answer(col: Collection, deck_id: int, ratings: list[CardAnswer.Rating.V]) -> int:
    """Answer the next cards of ``deck_id`` in Anki's own scheduler; returns answers given."""
    col.decks.select(DeckId(deck_id))
    sched = col.sched
    assert isinstance(sched, Scheduler)
    given = 0
    for rating in ratings:
        queued = sched.get_queued_cards()
        if not queued.cards:
            break
        card = col.get_card(queued.cards[0].card.id)
        card.start_timer()
        answer = sched.build_answer(card=card, states=queued.cards[0].states, rating=rating)
        sched.answer_card(answer)
        given += 1
    return given


def _notetype(col: Collection, name: str) -> dict[str, Any]:
    notetype = col.models.by_name(name)
    assert notetype is not None
    return notetype


@pytest.fixture
def anki_col(tmp_path: Path) -> Iterator[Collection]:
    """An Anki collection with one note of each kind people have, in nested decks."""
    (tmp_path / "anki").mkdir()
    col = Collection(str(tmp_path / "anki" / "collection.anki2"))
    deck = col.decks.id("Spanish::Verbs")
    assert deck is not None
    verbs = col.decks.get(DeckId(deck))
    assert verbs is not None
    verbs["desc"] = "Verbs <b>to learn</b> &amp; use"
    col.decks.save(verbs)
    basic = col.new_note(_notetype(col, "Basic"))
    basic["Front"] = "to <b>be</b> (permanent)<br><div>one word</div>"
    basic["Back"] = 'ser &amp; <i>not</i>&nbsp;estar <img src="ser.png">'
    basic.tags = ["verbs", "irregular::very"]
    col.add_note(basic, DeckId(deck))
    cloze = col.new_note(_notetype(col, "Cloze"))
    cloze["Text"] = "The {{c1::GIL}} lets one {{c2::thread::what?}} run bytecode"
    cloze["Back Extra"] = "CPython only [sound:gil.mp3]"
    col.add_note(cloze, DeckId(deck))
    typed = col.new_note(_notetype(col, "Basic (type in the answer)"))
    typed["Front"] = "capital of Spain"
    typed["Back"] = "Madrid"
    col.add_note(typed, DeckId(deck))
    reverse = col.new_note(_notetype(col, "Basic (and reversed card)"))
    reverse["Front"] = "perro"
    reverse["Back"] = "dog"
    col.add_note(reverse, DeckId(col.decks.id("Default") or 1))
    yield col
    col.close()


def _cards(invoke: Invoke) -> list[dict[str, object]]:
    result = invoke("cards", "--json")
    assert result.exit_code == 0, result.output
    cards: list[dict[str, object]] = json.loads(result.output)
    return cards


def _show(invoke: Invoke, name: str) -> dict[str, object]:
    result = invoke("show", name, "--json")
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.output)
    return shown


# --- notes as questions -------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_every_kind_of_note_becomes_a_question(
    anki_col: Collection, tmp_path: Path, invoke: Invoke, db_path: Path, form: str
) -> None:
    package = _export(anki_col, tmp_path / f"spanish.{form.split('-')[-1]}", form)
    result = invoke("import", str(package))
    assert result.exit_code == 0, result.output
    assert "4 added" in result.output
    assert "2 media files skipped" in result.output  # ser.png and gil.mp3
    by_prompt = {card["prompt"]: card for card in _cards(invoke)}
    assert set(by_prompt) == {
        "to be (permanent)\none word",
        "The [...] lets one [what?] run bytecode",
        "capital of Spain",
        "perro",
    }
    assert {card["deck"] for card in by_prompt.values()} == {"spanish-verbs", "default"}
    with sqlite3.connect(db_path) as connection:
        decks = dict(connection.execute("SELECT slug, title || ' | ' || description FROM decks"))
    connection.close()
    assert decks["spanish-verbs"] == "Spanish::Verbs | Verbs to learn & use"
    assert all(card["type"] == "recall" for card in by_prompt.values())
    basic = _show(invoke, str(by_prompt["to be (permanent)\none word"]["name"]))
    assert basic["answer"] == "ser & not estar"
    assert isinstance(basic["tags"], list)
    assert sorted(basic["tags"]) == ["irregular::very", "verbs"]
    cloze = _show(invoke, str(by_prompt["The [...] lets one [what?] run bytecode"]["name"]))
    assert cloze["answer"] == "The GIL lets one thread run bytecode"
    assert cloze["explanation"] == "CPython only"
    assert _show(invoke, str(by_prompt["capital of Spain"]["name"]))["answer"] == "Madrid"
    assert _show(invoke, str(by_prompt["perro"]["name"]))["answer"] == "dog"


def test_a_second_import_updates_instead_of_duplicating(
    anki_col: Collection, tmp_path: Path, invoke: Invoke
) -> None:
    first = _export(anki_col, tmp_path / "one.apkg", "apkg")
    assert invoke("import", str(first)).exit_code == 0
    names = sorted(str(card["name"]) for card in _cards(invoke))
    note = anki_col.get_note(anki_col.find_notes('"Front:capital of Spain"')[0])
    note["Back"] = "Madrid (since 1561)"
    anki_col.update_note(note)
    again = invoke("import", str(_export(anki_col, tmp_path / "two.apkg", "apkg")))
    assert again.exit_code == 0, again.output
    assert "0 added, 1 updated, 3 unchanged" in again.output
    assert sorted(str(card["name"]) for card in _cards(invoke)) == names


def test_a_folder_imports_its_packages_too(
    anki_col: Collection, tmp_path: Path, invoke: Invoke
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write(folder / "closures.yaml", SMALL_DECK)
    _export(anki_col, folder / "spanish.apkg", "apkg")
    result = invoke("import", str(folder))
    assert result.exit_code == 0, result.output
    assert "test-closures: 3 added" in result.output
    assert f"{folder / 'spanish.apkg'}: 4 notes" in result.output
    assert len(_cards(invoke)) == 7


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Parent::Child", "parent-child"),
        ("Spanish Verbs::Irregular (ser/estar)", "spanish-verbs-irregular-ser-estar"),
        ("Default", "default"),
    ],
)
def test_deck_names_become_slugs(name: str, slug: str) -> None:
    assert ankinotes.deck_slug(name) == slug


def test_a_name_with_no_ascii_letters_gets_a_stable_slug() -> None:
    assert ankinotes.deck_slug("日本語") == ankinotes.deck_slug("日本語")
    assert ankinotes.deck_slug("日本語").startswith("anki-")


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("a<br>b", "a\nb"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("x &lt;y&gt; &amp;&nbsp;z", "x <y> & z"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("keep <style>.x{}</style><script>alert(1)</script>text", "keep text"),
        ("<pre>  indented\n    code</pre>", "indented\n    code"),
        ("many    spaces\nand newline", "many spaces and newline"),
    ],
)
def test_html_becomes_text(markup: str, text: str) -> None:
    assert ankinotes.html_to_text(markup) == text


def test_clozes_hidden_on_the_front_and_filled_in_on_the_back() -> None:
    text = "{{c1::outer {{c2::inner}} part}} and {{c3::x::hint}}"
    assert ankinotes.cloze_front(text) == "[...] and [hint]"
    assert ankinotes.cloze_back(text) == "outer inner part and x"


# --- with progress ------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["apkg", "legacy-colpkg"])
def test_with_progress_the_history_and_schedule_come_along(
    anki_col: Collection, tmp_path: Path, invoke: Invoke, form: str
) -> None:
    deck = anki_col.decks.id("Spanish::Verbs")
    assert deck is not None
    good, again, easy = CardAnswer.GOOD, CardAnswer.AGAIN, CardAnswer.EASY
    assert _answer(anki_col, deck, [easy, again, good, good, easy, good]) == 6
    cards = {
        cid: anki_col.get_card(cid)
        for cid in anki_col.find_cards('"deck:Spanish::Verbs"')
        if anki_col.get_card(cid).ord == 0
    }
    answered = {cid: card for cid, card in cards.items() if card.reps}
    assert anki_col.db is not None
    log = anki_col.db.all("SELECT cid, ease FROM revlog")
    package = _export(anki_col, tmp_path / f"p.{form.split('-')[-1]}", form)
    # Answered today in Anki: quizzer's day must be the same one.
    today = date.today().isoformat()
    result = invoke("import", "--with-progress", str(package), today=today)
    assert result.exit_code == 0, result.output
    rows = [row for row in log if row[0] in cards]
    assert f"{len(rows)} answers of history" in result.output
    day_zero = datetime.fromtimestamp(anki_col.crt, UTC).astimezone().date()
    by_prompt = {str(card["prompt"]): card for card in _cards(invoke)}
    for card in answered.values():
        prompt = ankinotes.html_to_text(anki_col.get_note(card.nid).fields[0])
        if card.note_type()["type"] == 1:
            prompt = ankinotes.cloze_front(prompt)
        mine = by_prompt[prompt]
        assert mine["new"] is False
        assert mine["lapses"] == card.lapses
        if card.type == 2:  # in review: Anki's interval, due day and ease
            assert mine["interval"] == card.ivl
            assert mine["due"] == (day_zero + timedelta(days=card.due)).isoformat()
            assert mine["ease"] == card.factor / 1000
        shown = _show(invoke, str(mine["name"]))
        history = shown["history"]
        assert isinstance(history, list)
        assert len(history) == sum(1 for cid, _ in rows if cid == card.id)
    assert invoke("db", "check").exit_code == 0
    # Once more: the history is there already, and is not added twice.
    again_result = invoke("import", "--with-progress", str(package), today=today)
    assert "0 answers of history" in again_result.output
    assert f"{len(answered)} cards kept their quizzer history" in again_result.output


# --- quizzer -> Anki -> quizzer -----------------------------------------------------------


def _import_into_anki(col: Collection, package: Path) -> None:
    anki_import(col, package, with_scheduling=True)


def _questions(db: Path) -> dict[str, tuple[object, ...]]:
    """Every question's content by name, outputs compared as review compares them."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT d.slug || '/' || q.qid, q.type, q.prompt, q.code, q.answer, q.choices, "
            "q.explanation, q.python FROM questions q JOIN decks d ON d.id = q.deck_id"
        ).fetchall()
    connection.close()
    return {
        name: (kind, prompt, code, normalize_output(answer) if kind == "predict_output" else answer,
               json.loads(choices) if choices else None, explanation, python)
        for name, kind, prompt, code, answer, choices, explanation, python in rows
    }  # fmt: skip


@pytest.mark.parametrize("form", FORMS)
def test_quizzer_export_through_anki_comes_back_as_the_same_questions(
    tmp_path: Path, invoke: Invoke, db_path: Path, form: str
) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    before = _questions(db_path)
    exported = tmp_path / "quizzer.apkg"
    assert invoke("export", "-o", str(exported)).exit_code == 0
    (tmp_path / "anki").mkdir()
    col = Collection(str(tmp_path / "anki" / "collection.anki2"))
    try:
        _import_into_anki(col, exported)
        package = _export(col, tmp_path / f"back.{form.split('-')[-1]}", form)
    finally:
        col.close()
    other = tmp_path / "other.db"
    result = invoke("--db", str(other), "import", str(package))
    assert result.exit_code == 0, result.output
    after = _questions(other)
    assert after.keys() == before.keys() and len(before) > 150
    # A note holds one snippet of a question that varies (the export day's variant) and
    # the answer for the Python quizzer runs on: those come back as they were shown.
    version = platform.python_version()
    for name, (variants, by_python) in _extras(db_path).items():
        code, answer = before[name][2:4]
        snippets = {(code, answer)} | {
            (v["code"], normalize_output(v["answer"])) for v in variants or []
        }
        if by_python:
            snippets = {(code, normalize_output(answer_for(str(answer), by_python, version)))}
        assert after[name][2:4] in snippets, name
        assert after[name][:2] + after[name][4:] == before[name][:2] + before[name][4:], name
    unchanged = {name for name in before if name not in _extras(db_path)}
    assert {name: after[name] for name in unchanged} == {name: before[name] for name in unchanged}


def _extras(db: Path) -> dict[str, tuple[Any, Any]]:
    """The variants and answers by version of the questions that have either, by name."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT d.slug || '/' || q.qid, q.variants, q.answers_by_python FROM questions q "
            "JOIN decks d ON d.id = q.deck_id "
            "WHERE q.variants IS NOT NULL OR q.answers_by_python IS NOT NULL"
        ).fetchall()
    connection.close()
    return {
        name: (json.loads(variants) if variants else None, json.loads(by) if by else None)
        for name, variants, by in rows
    }


def test_quizzer_export_answered_in_anki_comes_back_with_its_history(
    tmp_path: Path, invoke: Invoke
) -> None:
    assert invoke("import", str(write(tmp_path / "d.yaml", SMALL_DECK))).exit_code == 0
    exported = tmp_path / "quizzer.apkg"
    assert invoke("export", "-o", str(exported)).exit_code == 0
    (tmp_path / "anki").mkdir()
    col = Collection(str(tmp_path / "anki" / "collection.anki2"))
    try:
        _import_into_anki(col, exported)
        deck = col.decks.id_for_name("quizzer::Test closures")
        assert deck is not None
        assert _answer(col, deck, [CardAnswer.EASY] * 3) == 3
        assert col.db is not None
        rows = col.db.scalar("SELECT count(*) FROM revlog")
        ivls = {
            col.get_note(col.get_card(cid).nid)["QuizzerId"]: col.get_card(cid).ivl
            for cid in col.find_cards("")
        }
        package = _export(col, tmp_path / "back.colpkg", "colpkg")
    finally:
        col.close()
    other = tmp_path / "other.db"
    result = invoke(
        "--db",
        str(other),
        "import",
        "--with-progress",
        str(package),
        today=date.today().isoformat(),
    )
    assert result.exit_code == 0, result.output
    assert f"{rows} answers of history" in result.output
    cards = json.loads(invoke("--db", str(other), "cards", "--json").output)
    assert {card["name"]: card["interval"] for card in cards} == ivls
    assert all(card["new"] is False for card in cards)


def test_a_package_can_be_checked_with_dry_run(
    anki_col: Collection, tmp_path: Path, invoke: Invoke, db_path: Path
) -> None:
    package = _export(anki_col, tmp_path / "p.apkg", "apkg")
    result = invoke("import", "--dry-run", str(package))
    assert result.exit_code == 0, result.output
    assert f"{package}: 4 of 4 notes can be imported (dry run: nothing changed)" in result.output
    assert not db_path.exists()


def test_quizzer_notes_of_a_deck_file_are_left_to_the_file(tmp_path: Path, invoke: Invoke) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    exported = tmp_path / "quizzer.apkg"
    assert invoke("export", "-o", str(exported)).exit_code == 0
    count = len(_cards(invoke))
    result = invoke("import", str(exported))
    assert result.exit_code == 0, result.output
    assert f"{count} its deck is loaded from a deck file" in result.output
    assert len(_cards(invoke)) == count


# --- bad and hostile packages -------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _sqlite(build: Callable[[sqlite3.Connection], None]) -> bytes:
    connection = sqlite3.connect(":memory:")
    build(connection)
    data = connection.serialize()
    connection.close()
    return data


def _no_notes_table(connection: sqlite3.Connection) -> None:
    connection.execute("CREATE TABLE col (id, crt, models, decks)")


def _bad_models(connection: sqlite3.Connection) -> None:
    connection.execute("CREATE TABLE col (id, crt, models, decks)")
    connection.execute("INSERT INTO col VALUES (1, 0, '{not json', '{}')")
    for table in ("notes", "cards", "revlog"):
        connection.execute(f"CREATE TABLE {table} (id)")


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=False).compress(data)


def _encrypted(path: Path) -> Path:
    _zip(path, {"collection.anki2": b"x" * 100}, zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    data[6] |= 1  # the local header's "encrypted" flag bit
    central = data.rindex(b"PK\x01\x02")
    data[central + 8] |= 1
    path.write_bytes(bytes(data))
    return path


MALFORMED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "not-a-zip": (
        lambda p: (p.write_text("deck: x\n"), p)[1],
        "not an Anki package (not a zip file)",
    ),
    "truncated-zip": (
        lambda p: (p.write_bytes(_zip(p, {"collection.anki2": b"x" * 5000}).read_bytes()[:60]), p)[
            1
        ],
        "not an Anki package (a damaged zip file",
    ),
    "no-collection": (
        lambda p: _zip(p, {"media": b"{}", "notes.txt": b"hello"}),
        "not an Anki package (no collection.anki21b",
    ),
    "path-traversal": (
        lambda p: _zip(p, {"../../evil.anki2": b"x", "collection.anki2": b"x"}),
        "unsafe member name '../../evil.anki2'",
    ),
    "zip-bomb": (
        lambda p: _zip(p, {"collection.anki2": bytes(60 * 1024 * 1024)}),
        "(refused as a zip bomb)",
    ),
    "zstd-bomb": (
        lambda p: _zip(p, {"collection.anki21b": _zstd(bytes(200 * 1024 * 1024))}),
        "(refused as a zip bomb)",
    ),
    "not-sqlite": (
        lambda p: _zip(p, {"collection.anki2": b"this is not a database" * 50}),
        "collection.anki2: not an SQLite database",
    ),
    "missing-tables": (
        lambda p: _zip(p, {"collection.anki21": _sqlite(_no_notes_table)}),
        "not an Anki collection (no table 'notes')",
    ),
    "truncated-zstd": (
        lambda p: _zip(p, {"collection.anki21b": _zstd(_sqlite(_no_notes_table))[:-40]}),
        "collection.anki21b: the zstd data is cut short",
    ),
    "bad-note-types": (
        lambda p: _zip(p, {"collection.anki2": _sqlite(_bad_models)}),
        "the collection's note types or decks cannot be read",
    ),
    "encrypted": (_encrypted, "is encrypted"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_bad_package_is_refused_in_one_line_and_changes_nothing(
    tmp_path: Path, invoke: Invoke, db_path: Path, deck_file: Path, case: str
) -> None:
    make, message = MALFORMED[case]
    package = make(tmp_path / f"{case}.apkg")
    assert invoke("import", str(deck_file)).exit_code == 0
    before = dump_db(db_path)
    result = invoke("import", "--with-progress", str(package))
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: {package}: "), lines
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert dump_db(db_path) == before


def test_members_are_read_in_memory_never_extracted(tmp_path: Path, invoke: Invoke) -> None:
    """A package whose collection name is fine but which also names a far path writes nothing
    anywhere: the refusal comes before any member is read."""
    package = _zip(tmp_path / "p.apkg", {"/tmp/absolute": b"x", "collection.anki2": b"x"})
    result = invoke("import", str(package))
    assert result.exit_code == 1
    assert "unsafe member name '/tmp/absolute'" in result.output
    assert not (tmp_path / "tmp").exists()


def test_a_truncated_real_package_is_refused(
    anki_col: Collection, tmp_path: Path, invoke: Invoke
) -> None:
    package = _export(anki_col, tmp_path / "whole.apkg", "apkg")
    with zipfile.ZipFile(package) as archive:
        data = archive.read("collection.anki21b")
    cut = io.BytesIO()
    with zipfile.ZipFile(cut, "w") as archive:
        archive.writestr("collection.anki21b", data[: len(data) // 2])
    (tmp_path / "cut.apkg").write_bytes(cut.getvalue())
    result = invoke("import", str(tmp_path / "cut.apkg"))
    assert result.exit_code == 1
    assert "cut short" in result.output or "damaged zstd data" in result.output


def test_a_note_moved_to_another_deck_in_anki_moves_with_its_history(
    anki_col: Collection, tmp_path: Path, invoke: Invoke
) -> None:
    deck = anki_col.decks.id("Spanish::Verbs")
    assert deck is not None
    assert _answer(anki_col, deck, [CardAnswer.GOOD]) == 1
    today = date.today().isoformat()
    first = _export(anki_col, tmp_path / "one.apkg", "apkg")
    assert invoke("import", "--with-progress", str(first), today=today).exit_code == 0
    before = {str(card["id"]): card for card in _cards(invoke)}
    nids = list(anki_col.find_notes('"deck:Spanish::Verbs"'))
    anki_col.set_deck(
        [cid for nid in nids for cid in anki_col.get_note(nid).card_ids()],
        DeckId(anki_col.decks.id("Spanish::Old") or 1),
    )
    second = _export(anki_col, tmp_path / "two.apkg", "apkg")
    result = invoke("import", "--with-progress", str(second), today=today)
    assert result.exit_code == 0, result.output
    assert f"{len(nids)} moved from another deck" in result.output
    after = {str(card["id"]): card for card in _cards(invoke)}
    assert after.keys() == before.keys()
    assert {card["deck"] for card in after.values()} == {"spanish-old", "default"}
    for qid, card in before.items():
        assert (after[qid]["last_graded"], after[qid]["interval"]) == (
            card["last_graded"],
            card["interval"],
        )
    assert invoke("db", "check").exit_code == 0


def test_under_fsrs_imported_history_gives_the_memory_state(
    anki_col: Collection, tmp_path: Path, invoke: Invoke, db_path: Path
) -> None:
    deck = anki_col.decks.id("Spanish::Verbs")
    assert deck is not None
    assert _answer(anki_col, deck, [CardAnswer.EASY, CardAnswer.EASY]) == 2
    assert invoke("config", "scheduler", "fsrs").exit_code == 0
    package = _export(anki_col, tmp_path / "p.apkg", "apkg")
    today = date.today().isoformat()
    assert invoke("import", "--with-progress", str(package), today=today).exit_code == 0
    with sqlite3.connect(db_path) as connection:
        states = connection.execute(
            "SELECT stability, difficulty FROM card_states WHERE last_graded IS NOT NULL"
        ).fetchall()
    connection.close()
    assert len(states) == 2
    assert all(s is not None and d is not None for s, d in states)
    assert invoke("db", "check").exit_code == 0


def test_image_occlusion_notes_are_skipped_as_having_no_text() -> None:
    notetype = ankipkg.NoteType(
        id=1,
        name="Image Occlusion",
        cloze=True,
        fields=("Occlusion", "Image", "Header", "Back Extra", "Comments"),
        templates=(("{{cloze:Occlusion}}{{Image}}", "{{cloze:Occlusion}}"),),
    )
    note = ankipkg.Note(1, "g", 1, 0, (), ("{{c1::image-occlusion:rect:left=.1}}", "", "", "", ""))
    with pytest.raises(ankinotes.NotText):
        ankinotes.convert(note, notetype)


def test_quizzer_notes_come_back_exactly_even_when_tricky(tmp_path: Path) -> None:
    from quizzer.anki import ExportQuestion, export_apkg

    when = datetime(2026, 12, 10, tzinfo=UTC)
    common = {"deck_slug": "tricky", "deck_title": "Tricky", "changed_at": when, "tags": ()}
    questions = [
        ExportQuestion(
            qid="markup",
            type="predict_output",
            prompt="What  does <this> print? [sound:x.mp3] &amp;",
            code='print("<b>&amp;</b>  [sound:x.mp3]\\x01")\n',
            answer="<b>&amp;</b>  [sound:x.mp3]\x01\n",
            choices=None,
            explanation="Two  spaces\nand a line.",
            **common,  # type: ignore[arg-type]
        ),
        ExportQuestion(
            qid="choice",
            type="multiple_choice",
            prompt="Pick",
            code=None,
            answer="x  <y>",
            choices=("a & b", "x  <y>", "c", "d"),
            explanation=None,
            python=">=3.12",
            **common,  # type: ignore[arg-type]
        ),
        ExportQuestion(
            qid="recall",
            type="recall",
            prompt="Say it",
            code=None,
            answer="line one\nline  two",
            choices=None,
            explanation=None,
            **common,  # type: ignore[arg-type]
        ),
    ]
    export_apkg(questions, tmp_path / "t.apkg")
    collection = ankipkg.read_package(tmp_path / "t.apkg")
    back = {}
    for note in collection.notes:
        converted = ankinotes.convert(note, collection.notetypes[note.notetype_id])
        back[converted.qid] = converted
    for question in questions:
        got = back[question.qid]
        assert got.deck_slug == "tricky"
        assert (got.type, got.prompt, got.answer, got.explanation) == (
            question.type,
            question.prompt,
            question.answer,
            question.explanation,
        )
        assert got.code == question.code
        assert got.choices == (list(question.choices) if question.choices else None)
        assert got.python == question.python


def test_json_reports_each_package(anki_col: Collection, tmp_path: Path, invoke: Invoke) -> None:
    package = _export(anki_col, tmp_path / "p.apkg", "apkg")
    result = invoke("import", "--json", str(package))
    assert result.exit_code == 0, result.output
    (done,) = json.loads(result.output)["packages"]
    assert done["package"] == str(package)
    assert done["form"] == "anki21b"
    assert (done["notes"], done["added"], done["media_skipped"]) == (4, 4, 2)
    assert sorted(done["decks"]) == ["default", "spanish-verbs"]


_ATOMS = ["a", " ", "  ", "\n", "\t", "<br>", "<br/>", "<div>", "</div>", "<p class='x'>", "</p>",
          "<li>", "</li>", "<ul>", "</ul>", "<b>", "</b>", "&amp;", "&nbsp;", "&#65;", "&#10;",
          "&lt;", "x y", '<img src="i.png">', "<hr>", "<DIV>", "[sound:s.mp3]"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ATOMS), max_size=16))
def test_the_fast_html_path_gives_the_tokenizers_text(atoms: list[str]) -> None:
    markup = "".join(atoms)
    fast: set[str] = set()
    slow: set[str] = set()
    assert ankinotes.html_to_text(markup, fast) == ankinotes._tokens_to_text(
        ankinotes._SOUND.sub("", markup), slow
    )


def test_an_anki_deck_named_like_a_deck_file_gets_its_own_slug(
    tmp_path: Path, invoke: Invoke, deck_file: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0  # deck test-closures, from a file
    (tmp_path / "anki").mkdir()
    col = Collection(str(tmp_path / "anki" / "collection.anki2"))
    try:
        note = col.new_note(_notetype(col, "Basic"))
        note["Front"], note["Back"] = "What is a cell?", "A box for a variable"
        col.add_note(note, DeckId(col.decks.id("Test Closures") or 1))
        package = _export(col, tmp_path / "p.apkg", "apkg")
    finally:
        col.close()
    result = invoke("import", str(package))
    assert result.exit_code == 0, result.output
    assert "into test-closures-anki:" in result.output
    decks = {str(card["name"]).split("/")[0] for card in _cards(invoke)}
    assert decks == {"test-closures", "test-closures-anki"}


def test_a_bad_package_makes_no_database(tmp_path: Path, invoke: Invoke, db_path: Path) -> None:
    package = tmp_path / "bad.apkg"
    package.write_bytes(b"PK\x03\x04 not really")
    result = invoke("import", str(package))
    assert result.exit_code == 1
    assert not db_path.exists()
