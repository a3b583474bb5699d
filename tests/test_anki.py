"""The Anki export, checked by importing the packages into real Anki (its own backend).

Imports use the desktop import dialog's defaults: update notes and note types only if the
incoming copy is newer, don't merge note types, no scheduling.
"""

from __future__ import annotations

import html
import os
import re
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import genanki
import pygments
import pytest
from anki.collection import (
    Collection,
    ImportLogWithChanges,
)
from anki.models import NotetypeId
from helpers import anki_import
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.formatters.html import HtmlFormatter
from pygments.lexers.python import PythonLexer

from quizzer import anki as export
from quizzer import highlight
from quizzer.anki import ExportQuestion, export_apkg
from quizzer.errors import QuizzerError

if TYPE_CHECKING:
    from anki.import_export_pb2 import ImportResponse
    from anki.notes import Note

# After quizzer.anki.RENDERING_CHANGED_AT, so notes carry these times.
T0 = datetime(2026, 12, 10, 12, 0, 0, tzinfo=UTC)

SINGLE = ExportQuestion(
    deck_slug="python-decorators",
    deck_title="Python decorators",
    qid="stacking-order",
    type="predict_output",
    prompt="What does calling greet() print?",
    code=(
        "def loud(f):\n"
        "    def wrapper():\n"
        '        return f() + "!"\n'
        "    return wrapper\n"
        "\n"
        "\n"
        "@loud\n"
        "def greet():\n"
        "\treturn 'hi'\n"
        "\n"
        "print(greet())\n"
    ),
    answer="hi!\n",
    choices=None,
    explanation="The wrapper adds the bang.",
    tags=("stacking", "order"),
    changed_at=T0,
    python=">=3.11",
)
MULTI = ExportQuestion(
    deck_slug="python-decorators",
    deck_title="Python decorators",
    qid="two-lines",
    type="predict_output",
    prompt="And this?",
    code="print(1)\nprint(2)\n",
    answer="1\n2\n",
    choices=None,
    explanation=None,
    tags=(),
    changed_at=T0,
)
CHOICE = ExportQuestion(
    deck_slug="gil",
    deck_title="The GIL",
    qid="threads-for-io",
    type="multiple_choice",
    prompt="Which workload gets faster with threads on a CPython that has a GIL?",
    code=None,
    answer="Downloading 200 web pages",
    choices=(
        "Downloading 200 web pages",
        "Computing SHA-256 of 10^7 strings in pure Python",
        "Sorting a list of 10^7 ints",
    ),
    explanation="Blocking I/O releases the GIL; pure-Python bytecode does not.",
    tags=("threads",),
    changed_at=T0,
)
RECALL = ExportQuestion(
    deck_slug="gil",
    deck_title="The GIL",
    qid="what-is-a-closure",
    type="recall",
    prompt="What does a closure capture, the value or the variable?",
    code=None,
    answer="The variable (a cell);\nit sees later rebinding.",
    choices=None,
    explanation="Closures close over cells.",
    tags=(),
    changed_at=T0,
)
HOSTILE = ExportQuestion(
    deck_slug="gil",
    deck_title="The GIL",
    qid="hostile",
    type="multiple_choice",
    prompt="Is <script>alert(1)</script> & [sound:x.mp3] shown as text?",
    code="s = '<script>alert(2)</script>'\nprint(s < 'z' and s & 1)\n",
    answer="<script>alert(3)</script>",
    choices=("<script>alert(3)</script>", "a & b", "[latex]x[/latex]"),
    explanation="</div><script>alert(4)</script>",
    tags=(),
    changed_at=T0,
)
STACKING_ELSEWHERE = replace(
    RECALL,
    deck_slug="python-classes",
    deck_title="Python classes",
    deck_description="Classes, <b>descriptors</b> & the MRO.\nTwo lines.",
    qid="class-decorators",
    prompt="In which order do stacked class decorators run?",
    tags=("stacking",),
)
ALL = (SINGLE, MULTI, CHOICE, RECALL, HOSTILE, STACKING_ELSEWHERE)


def _import(col: Collection, package: Path) -> ImportLogWithChanges:
    result: ImportLogWithChanges = anki_import(col, package)
    return result


def _ids(notes: Iterable[ImportResponse.Note]) -> list[str]:
    return sorted(note.fields[0] for note in notes)


def _note(col: Collection, question: ExportQuestion) -> Note:
    (nid,) = col.find_notes(f'"QuizzerId:{question.deck_slug}/{question.qid}"')
    return col.get_note(nid)


def _body(rendered: str) -> str:
    """A rendered card side without the note type's CSS and script."""
    return re.sub(r"<style>.*?</style>", "", rendered, flags=re.DOTALL).replace(
        export.CARD_SCRIPT, ""
    )


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    collection = Collection(str(tmp_path / "c.anki2"))
    yield collection
    collection.close()


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collection]:
    """One collection with ALL imported once, for the read-only tests."""
    tmp = tmp_path_factory.mktemp("imported")
    export_apkg(ALL, tmp / "all.apkg")
    collection = Collection(str(tmp / "c.anki2"))
    result = _import(collection, tmp / "all.apkg")
    assert len(result.log.new) == len(ALL)
    yield collection
    collection.close()


# ---------------------------------------------------------------------------- structure


def test_notes_cards_decks_and_note_types(imported: Collection) -> None:
    assert imported.note_count() == len(ALL)
    assert imported.card_count() == len(ALL)
    names = {d.name for d in imported.decks.all_names_and_ids()}
    assert {"quizzer", "quizzer::Python decorators", "quizzer::The GIL"} <= names
    for question in ALL:
        note = _note(imported, question)
        assert note.guid == export.note_guid(question.deck_slug, question.qid)
        notetype = note.note_type()
        assert notetype is not None
        assert notetype["id"] == export.MODEL_IDS[question.type]
        assert notetype["name"] == export.MODEL_NAMES[question.type]
        assert notetype["mod"] == export.MODELS_CHANGED_AT
        assert [f["name"] for f in notetype["flds"]] == list(export.FIELDS)
        assert ".nightMode" in notetype["css"] and ".night_mode" in notetype["css"]
        (card,) = note.cards()
        title = question.deck_title
        assert imported.decks.name(card.did) == f"quizzer::{title}"
    # No "+" copies of the note types.
    assert not [m for m in imported.models.all_names_and_ids() if m.name.endswith("+")]


def test_the_browser_sorts_notes_by_their_name(imported: Collection) -> None:
    # 114 bundled notes share "What does this script print?": the prompt tells none apart.
    for kind in export.MODEL_IDS.values():
        notetype = imported.models.get(NotetypeId(kind))
        assert notetype is not None and notetype["flds"][notetype["sortf"]]["name"] == "QuizzerId"
    assert imported.db is not None
    sort_fields = imported.db.list("SELECT sfld FROM notes ORDER BY sfld")
    assert sort_fields == sorted(f"{q.deck_slug}/{q.qid}" for q in ALL)


def test_the_deck_description_is_the_anki_decks(imported: Collection) -> None:
    deck = imported.decks.by_name("quizzer::Python classes")
    assert deck is not None
    assert deck["desc"] == "Classes, &lt;b&gt;descriptors&lt;/b&gt; &amp; the MRO.<br>Two lines."
    other = imported.decks.by_name("quizzer::The GIL")
    assert other is not None and other["desc"] == ""


def test_tags_are_hierarchical(imported: Collection) -> None:
    # The deck is a tag of its own; a topic is one tag whichever deck the note is in.
    assert sorted(_note(imported, SINGLE).tags) == [
        "python::order",
        "python::stacking",
        "quizzer::python-decorators",
    ]
    assert _note(imported, RECALL).tags == ["quizzer::gil"]
    assert imported.find_notes("tag:python::threads") == [_note(imported, CHOICE).id]
    assert sorted(imported.find_notes("tag:python::stacking")) == sorted(
        [_note(imported, SINGLE).id, _note(imported, STACKING_ELSEWHERE).id]
    )


# ---------------------------------------------------------------------------- rendering


def test_predict_output_single_line_types_the_answer(imported: Collection) -> None:
    note = _note(imported, SINGLE)
    assert note["TypeAnswer"] == "hi!"
    (card,) = note.cards()
    front, back = _body(card.question()), _body(card.answer())
    assert "[[type:TypeAnswer]]" in front
    assert "What does calling greet() print?" in front
    assert "hi!" not in front.replace("[[type:TypeAnswer]]", "")
    assert "Python &gt;=3.11" in front
    # The code keeps its indentation, tab and blank lines, and is highlighted.
    code = re.search(r'<pre class="quizzer-code"><code>(.*?)</code></pre>', front, re.DOTALL)
    assert code is not None
    assert SINGLE.code is not None and _text(code.group(1)) == SINGLE.code.rstrip("\n")
    assert '<span class="k">def</span>' in code.group(1)
    assert '<span class="nd">@loud</span>' in code.group(1)
    output = re.search(r'<pre class="quizzer-output">(.*?)</pre>', back, re.DOTALL)
    assert output is not None and output.group(1) == "hi!"
    assert "The wrapper adds the bang." in back
    assert back.index("hi!") > back.index('<hr id="answer">')


def test_predict_output_multi_line_shows_output_without_type_box(imported: Collection) -> None:
    note = _note(imported, MULTI)
    assert note["TypeAnswer"] == ""
    (card,) = note.cards()
    front, back = _body(card.question()), _body(card.answer())
    assert "[[type:" not in front and '<div class="type-answer">' not in front
    assert '<textarea class="quizzer-typed"' in front  # shown by the card's script
    assert '<pre class="quizzer-output">1\n2</pre>' in back
    assert "explanation" not in back


def test_multiple_choice_marks_the_answer_on_the_back_only(imported: Collection) -> None:
    (card,) = _note(imported, CHOICE).cards()
    front, back = _body(card.question()), _body(card.answer())
    assert CHOICE.choices is not None
    for choice in CHOICE.choices:
        assert re.search(f'<li data-choice="\\d">{re.escape(choice)}</li>', front)
        assert choice in back
    assert "correct" not in front and "✓" not in front
    assert "Blocking I/O" not in front
    marked = re.findall(
        r'<li class="correct" data-choice="\d">(.*?) <span class="mark">✓</span></li>', back
    )
    assert marked == [CHOICE.answer]
    assert len(re.findall(r'<li class="wrong" data-choice', back)) == len(CHOICE.choices) - 1
    assert "Blocking I/O releases the GIL" in back


def test_recall_answer_and_explanation_on_the_back(imported: Collection) -> None:
    (card,) = _note(imported, RECALL).cards()
    front, back = _body(card.question()), _body(card.answer())
    assert RECALL.prompt in front
    assert "The variable" not in front and "cells" not in front
    assert "The variable (a cell);<br>it sees later rebinding." in back
    assert "Closures close over cells." in back


def test_everything_is_escaped(imported: Collection) -> None:
    (card,) = _note(imported, HOSTILE).cards()
    for side in (card.question(), card.answer()):
        # The only script is the note type's own.
        assert "<script" not in side.replace(export.CARD_SCRIPT, "").lower()
        assert "&lt;script&gt;" in side
    back = _body(card.answer())
    assert "Is &lt;script&gt;alert(1)&lt;/script&gt; &amp; " in back
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in back  # in the code
    assert "&lt;/div&gt;&lt;script&gt;alert(4)" in back  # in the explanation
    assert '<span class="o">&lt;</span>' in back and '<span class="o">&amp;</span>' in back


def test_anki_media_and_latex_markup_stays_text(imported: Collection) -> None:
    # Unescaped, Anki would turn [sound:...] into a play button and [latex] into an image.
    (card,) = _note(imported, HOSTILE).cards()
    for side in (card.question(), card.answer()):
        assert "[anki:play" not in side and "latex-" not in side
    assert "&#91;sound:x.mp3]" in card.question()
    assert "&#91;latex]x&#91;/latex]" in card.question()


# ---------------------------------------------------------------------------- re-import


def test_export_again_without_changes_updates_nothing(col: Collection, tmp_path: Path) -> None:
    export_apkg(ALL, tmp_path / "one.apkg")
    first = _import(col, tmp_path / "one.apkg")
    assert _ids(first.log.new) == sorted(f"{q.deck_slug}/{q.qid}" for q in ALL)
    mods = {nid: col.get_note(nid).mod for nid in col.find_notes("")}

    export_apkg(ALL, tmp_path / "two.apkg")
    second = _import(col, tmp_path / "two.apkg")
    assert list(second.log.new) == [] and list(second.log.updated) == []
    assert len(second.log.duplicate) == len(ALL)  # Anki's word for "left untouched"
    assert {nid: col.get_note(nid).mod for nid in col.find_notes("")} == mods
    assert col.note_count() == len(ALL) and col.card_count() == len(ALL)


def test_edit_and_add_updates_one_adds_one(col: Collection, tmp_path: Path) -> None:
    export_apkg(ALL, tmp_path / "one.apkg")
    _import(col, tmp_path / "one.apkg")
    learned = _note(col, RECALL).cards()[0].id

    edited = replace(RECALL, prompt="Value or variable?", changed_at=T0 + timedelta(days=3))
    added = replace(CHOICE, qid="threads-for-cpu", tags=(), changed_at=T0 + timedelta(days=3))
    questions = [edited if q is RECALL else q for q in ALL] + [added]
    export_apkg(questions, tmp_path / "two.apkg")
    result = _import(col, tmp_path / "two.apkg")

    assert _ids(result.log.updated) == ["gil/what-is-a-closure"]
    assert _ids(result.log.new) == ["gil/threads-for-cpu"]
    assert len(result.log.duplicate) == len(ALL) - 1
    assert col.note_count() == len(ALL) + 1 and col.card_count() == len(ALL) + 1
    note = _note(col, RECALL)
    assert note["Prompt"] == "Value or variable?"
    assert note.mod == int(edited.changed_at.timestamp())
    assert note.cards()[0].id == learned  # same card: its schedule survives
    ids = [col.get_note(nid)["QuizzerId"] for nid in col.find_notes("")]
    assert len(ids) == len(set(ids))


def test_a_change_without_a_newer_changed_at_is_not_imported(
    col: Collection, tmp_path: Path
) -> None:
    # The note's mod is the question's changed_at, never the export time.
    export_apkg([RECALL], tmp_path / "one.apkg")
    _import(col, tmp_path / "one.apkg")
    export_apkg([replace(RECALL, prompt="Changed, same time")], tmp_path / "two.apkg")
    result = _import(col, tmp_path / "two.apkg")
    assert list(result.log.updated) == []
    assert _note(col, RECALL)["Prompt"] == html.escape(RECALL.prompt)


def test_css_change_reaches_anki_only_with_a_newer_models_timestamp(
    col: Collection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_apkg([RECALL], tmp_path / "one.apkg")
    _import(col, tmp_path / "one.apkg")

    monkeypatch.setattr(export, "CSS", export.CSS + ".quizzer { color: red; }\n")
    export_apkg([RECALL], tmp_path / "same-time.apkg")
    _import(col, tmp_path / "same-time.apkg")
    unchanged = col.models.get(NotetypeId(export.MODEL_IDS["recall"]))
    assert unchanged is not None and "color: red" not in unchanged["css"]

    monkeypatch.setattr(export, "MODELS_CHANGED_AT", export.MODELS_CHANGED_AT + 60)
    export_apkg([RECALL], tmp_path / "newer.apkg")
    _import(col, tmp_path / "newer.apkg")
    notetype = col.models.get(NotetypeId(export.MODEL_IDS["recall"]))
    assert notetype is not None and "color: red" in notetype["css"]
    assert not [m for m in col.models.all_names_and_ids() if m.name.endswith("+")]


def test_models_timestamp_guard() -> None:
    assert export.models_fingerprint() == export.MODELS_FINGERPRINT, (
        "The note types changed: bump MODELS_CHANGED_AT to now (Anki ignores a note type that "
        "is not newer) and set MODELS_FINGERPRINT to quizzer.anki.models_fingerprint()."
    )


# ---------------------------------------------------------------------------- the file


def _collection(package: Path, tmp_path: Path) -> sqlite3.Connection:
    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == ["collection.anki2", "media"]
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        database = tmp_path / "collection.anki2"
        database.write_bytes(archive.read("collection.anki2"))
    return sqlite3.connect(database)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_note_guids_are_genankis(deck_slug: str, qid: str) -> None:
    assert export.note_guid(deck_slug, qid) == genanki.guid_for(deck_slug, qid)


def test_every_note_gets_the_one_card_of_its_note_type() -> None:
    # The export writes one card per note itself (anki._write_notes): a note type with one
    # template whose card Anki (and genanki) generate when any of the fields it shows is
    # non-empty, QuizzerId among them, which never is.
    for model in export._models().values():
        assert len(model.templates) == 1
        ((ordinal, rule, shown),) = model._req
        assert (ordinal, rule) == (0, "any") and export.FIELDS.index("QuizzerId") in shown


def test_no_field_trips_genankis_check_for_malformed_tags(tmp_path: Path) -> None:
    # The export skips genanki's check (anki._write_notes): the fields must pass it.
    export_apkg(ALL, tmp_path / "all.apkg")
    connection = _collection(tmp_path / "all.apkg", tmp_path)
    try:
        fields = [
            f
            for (flds,) in connection.execute("SELECT flds FROM notes")
            for f in flds.split("\x1f")
        ]
    finally:
        connection.close()
    assert len(fields) == len(ALL) * len(export.FIELDS)
    assert [f for f in fields if genanki.Note._find_invalid_html_tags_in_field(f)] == []


def test_same_input_gives_identical_bytes(tmp_path: Path) -> None:
    export_apkg(ALL, tmp_path / "a.apkg")
    export_apkg(list(ALL), tmp_path / "b.apkg")
    assert (tmp_path / "a.apkg").read_bytes() == (tmp_path / "b.apkg").read_bytes()
    export_apkg([replace(SINGLE, changed_at=T0 + timedelta(seconds=1)), *ALL[1:]], tmp_path / "c")
    assert (tmp_path / "a.apkg").read_bytes() != (tmp_path / "c").read_bytes()


def test_package_times_come_from_the_data_not_the_clock(tmp_path: Path) -> None:
    old = replace(SINGLE, changed_at=datetime(2024, 5, 1, tzinfo=UTC))  # before the renderer
    later = T0 + timedelta(days=400)
    questions = [old, replace(RECALL, changed_at=later.astimezone(timezone(timedelta(hours=5))))]
    export_apkg(questions, tmp_path / "p.apkg")
    db = _collection(tmp_path / "p.apkg", tmp_path)
    mods = dict(db.execute("SELECT sfld, mod FROM notes").fetchall())
    assert mods == {
        "python-decorators/stacking-order": export.RENDERING_CHANGED_AT,  # older: rendering's
        "gil/what-is-a-closure": int(later.timestamp()),
    }
    card_mods = {mod for (mod,) in db.execute("SELECT mod FROM cards")}
    assert card_mods == {export.RENDERING_CHANGED_AT, int(later.timestamp())}
    (models,) = db.execute("SELECT models FROM col").fetchone()
    assert {m["mod"] for m in __import__("json").loads(models).values()} == {
        export.MODELS_CHANGED_AT
    }
    (decks,) = db.execute("SELECT decks FROM col").fetchone()
    deck_ids = set(__import__("json").loads(decks))
    assert deck_ids == {"1", str(export.deck_id("python-decorators")), str(export.deck_id("gil"))}
    db.close()


def test_deck_ids_do_not_depend_on_the_process() -> None:
    script = "from quizzer.anki import deck_id; print(deck_id('python-decorators'))"
    values = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert values == {str(export.deck_id("python-decorators"))}
    assert 2**50 <= export.deck_id("python-decorators") < 2**51
    assert export.deck_id("gil") != export.deck_id("python-decorators")


def test_failure_mid_export_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "deck.apkg"
    target.write_bytes(b"the old package")
    many = [replace(RECALL, qid=f"q{i}") for i in range(250)]

    def interrupt(done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_apkg(many, target, progress=interrupt)
    assert target.read_bytes() == b"the old package"
    assert [p.name for p in tmp_path.iterdir()] == ["deck.apkg"]


def test_unwritable_target_is_a_quizzer_error(tmp_path: Path) -> None:
    with pytest.raises(QuizzerError, match="cannot write"):
        export_apkg([RECALL], tmp_path / "missing-dir" / "x.apkg")
    (tmp_path / "a-dir").mkdir()
    with pytest.raises(QuizzerError, match="cannot write"):
        export_apkg([RECALL], tmp_path / "a-dir")
    assert [p.name for p in tmp_path.iterdir()] == ["a-dir"]
    assert list((tmp_path / "a-dir").iterdir()) == []


def test_progress_counts_notes(tmp_path: Path) -> None:
    seen: list[int] = []
    many = [replace(RECALL, qid=f"q{i}") for i in range(250)]
    summary = export_apkg(many, tmp_path / "p.apkg", progress=seen.append)
    assert seen == [100, 200, 250]
    assert (summary.notes, summary.cards) == (250, 250)
    assert summary.decks == ("quizzer::The GIL",)


# ---------------------------------------------------------------------------- input checks


def test_bad_input_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "x.apkg"
    with pytest.raises(QuizzerError, match="nothing to export"):
        export_apkg([], out)
    with pytest.raises(ValueError, match="timezone-aware"):
        export_apkg([replace(RECALL, changed_at=datetime(2025, 1, 1))], out)
    with pytest.raises(ValueError, match="given twice"):
        export_apkg([RECALL, RECALL], out)
    with pytest.raises(ValueError, match="unknown type"):
        export_apkg([replace(RECALL, type="essay")], out)
    with pytest.raises(ValueError, match="one of them the answer"):
        export_apkg([replace(CHOICE, answer="nope")], out)
    with pytest.raises(ValueError, match="two titles"):
        export_apkg([RECALL, replace(CHOICE, deck_title="Other")], out)
    assert list(tmp_path.iterdir()) == []


def test_colliding_titles_get_their_slug(tmp_path: Path) -> None:
    twin = replace(RECALL, deck_slug="gil-2", deck_title="The  GIL")
    nested = replace(RECALL, deck_slug="nested", deck_title="A::B")
    summary = export_apkg([RECALL, twin, nested], tmp_path / "x.apkg")
    assert summary.decks == ("quizzer::The GIL (gil)", "quizzer::The GIL (gil-2)", "quizzer::A:B")


def test_no_output_and_blank_code(tmp_path: Path, col: Collection) -> None:
    silent = replace(MULTI, qid="silent", code="x = 1\n", answer="")
    spaced = replace(MULTI, qid="spaced", answer="  a  \n\n\n")
    export_apkg([silent, spaced, replace(RECALL, code="  \n")], tmp_path / "x.apkg")
    _import(col, tmp_path / "x.apkg")
    assert _note(col, silent)["TypeAnswer"] == ""
    assert "(no output)" in _note(col, silent).cards()[0].answer()
    assert _note(col, spaced)["TypeAnswer"] == "  a"
    assert _note(col, RECALL)["Code"] == ""


# ---------------------------------------------------------------------------- highlighting

# quizzer.anki lexes with a faster PythonLexer (each state's rules joined into one regex);
# it must give exactly Pygments' tokens.
REFERENCE = PythonLexer(stripnl=False, ensurenl=False)
TRICKY = (
    SINGLE.code,
    HOSTILE.code,
    'f"{x!r:>{w}} {y:{z}}" rf\'\\d{a}\' b"\\x00" \'unterminated\n'
    "match x:\n case [1, *r] if r: pass\n",
    "def f(\n  $ ` ? \r\n\tx = 1 if y else\\\n 2",
    "@dec\nclass A(B, metaclass=M): ...\nasync def g(): await h()\n0xFF_FF 1_000.5e-3j 0o17 0b1",
    'print(f"""{\n  x\n}""", r\'\'\'raw\'\'\', u"\\N{BULLET}")  # comment\n',
    "from . import (a as b,\n    c)\nimport os.path as p\ntype X = list[int]\n",
    "λ = ñ + 名前 if not 𝔘 else ...\ntry:\n    pass\nexcept* ValueError:\n    raise\n",
)
PYTHONISH = st.text(
    alphabet=st.sampled_from(list("ab_1 \n\t\\'\"{}()[]:#@!=<>rfbu.,*%$?`\r")) | st.characters(),
    max_size=80,
)


def _reference_tokens(code: str) -> list[tuple[object, str]]:
    return list(REFERENCE.get_tokens(code))


@pytest.mark.parametrize("code", TRICKY)
def test_fast_lexer_gives_pygments_tokens(code: str) -> None:
    assert list(highlight._lexer().get_tokens(code)) == _reference_tokens(code)


@settings(max_examples=300, deadline=None)
@given(PYTHONISH)
def test_fast_lexer_gives_pygments_tokens_for_any_text(code: str) -> None:
    assert list(highlight._lexer().get_tokens(code)) == _reference_tokens(code)


STOCK_HTML = HtmlFormatter(nowrap=True)


def _stock_html(code: str) -> str:
    """Stock Pygments' HTML, less the line break it adds after the last line."""
    rendered: str = pygments.highlight(code, REFERENCE, STOCK_HTML)
    return rendered if code.endswith(("\n", "\r")) else rendered.removesuffix("\n")


@pytest.mark.parametrize("code", TRICKY)
def test_highlighted_code_is_what_stock_pygments_writes(code: str) -> None:
    assert highlight.highlight_html(code) == _stock_html(code)


@settings(max_examples=200, deadline=None)
@given(PYTHONISH)
def test_highlighted_code_is_what_stock_pygments_writes_for_any_text(code: str) -> None:
    assert highlight.highlight_html(code) == _stock_html(code)


@settings(max_examples=200, deadline=None)
@given(PYTHONISH)
def test_highlighted_code_reads_as_the_code(code: str) -> None:
    rendered = highlight.highlight_html(code)
    assert "<" not in re.sub(r'</?span( class="[a-zA-Z0-9-]+")?>', "", rendered)
    assert _text(rendered) == code.replace("\r\n", "\n").replace("\r", "\n")


def test_temporary_files_of_a_killed_export_are_cleared_later(tmp_path: Path) -> None:
    target = tmp_path / "deck.apkg"
    stale = tmp_path / ".deck.apkg.0badc0de.tmp"
    fresh = tmp_path / ".deck.apkg.1badc0de.tmp"
    stale.write_bytes(b"half a package")
    fresh.write_bytes(b"another export, still running")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    export_apkg([RECALL], target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, target.name]


def test_control_characters_in_an_output_do_not_break_the_package(
    col: Collection, tmp_path: Path
) -> None:
    # Anki separates fields with U+001F: one raw in a field and Anki refuses the package.
    odd = replace(
        SINGLE, qid="unit-separator", code="print('a\x1fb\x0b')\n", answer="a\x1fb\x00c\n"
    )
    export_apkg([odd], tmp_path / "odd.apkg")
    result = _import(col, tmp_path / "odd.apkg")
    assert len(result.log.new) == 1
    note = _note(col, odd)
    assert "a&#31;b&#0;c" in note["Answer"]
    assert "a&#31;b" in note["Code"] and "&#11;" in note["Code"]
    assert len(note.fields) == len(export.FIELDS)


def test_a_trace_updates_only_the_notes_that_get_one(col: Collection, tmp_path: Path) -> None:
    # export --with-trace: the fields and note types stay; a traced note is newer.
    export_apkg(ALL, tmp_path / "one.apkg")
    _import(col, tmp_path / "one.apkg")
    traced = replace(SINGLE, trace="   1 <module>:1  | print(1)  | printed '1\\n'\nended")
    export_apkg([traced if q is SINGLE else q for q in ALL], tmp_path / "two.apkg")
    result = _import(col, tmp_path / "two.apkg")
    assert _ids(result.log.updated) == [f"{SINGLE.deck_slug}/{SINGLE.qid}"]
    assert len(result.log.duplicate) == len(ALL) - 1
    back = _body(_note(col, SINGLE).cards()[0].answer())
    assert "printed '1\\n'" in _text(back)
    # Exported again with the same trace: nothing to update.
    export_apkg([traced if q is SINGLE else q for q in ALL], tmp_path / "three.apkg")
    assert list(_import(col, tmp_path / "three.apkg").log.updated) == []
