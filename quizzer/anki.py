"""Export questions as an Anki package (.apkg), from plain data.

The package is built so that importing it again into Anki does the right thing:

* Note types and decks have fixed ids, so a re-import updates them instead of adding copies.
  A note type's fields and templates must never be renamed, added or removed under the same
  id: Anki would then make a "Name+" copy and stop updating the old notes. Every field the
  cards may need is therefore defined now, shared by the three note types.
* A note's GUID comes from (deck slug, question id), and its modification time is the time the
  question's content last changed: Anki updates a note only when the incoming copy is strictly
  newer, so exporting twice leaves Anki alone and an edit always wins.
* The output is hermetic: the same questions give the same bytes (no clock, fixed zip entry
  times), and the file is replaced atomically.
* With schedules (``export --with-progress``) the collection genanki wrote is completed with
  Anki's scheduling columns and review log, which genanki cannot write (genanki #147).
* Predict-output and multiple-choice sides end with one script (``anki_card.js``) that checks
  typed outputs and tapped choices; without it the cards work as plain Anki cards.

Only ``quizzer export`` imports this module (genanki and pygments load at import time).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import random
import re
import sqlite3
import zipfile
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

import genanki

from quizzer.answers import EXCEPTION_SUFFIXES, normalize_output
from quizzer.errors import QuizzerError
from quizzer.files import atomic_write
from quizzer.highlight import cache_key, highlight_html

QUESTION_TYPES: Final = ("predict_output", "multiple_choice", "recall")

# --------------------------------------------------------------------------------------------
# Note types. Everything from here to MODELS_FINGERPRINT is what Anki stores as note types.
# Changing any template, the CSS or a name: bump MODELS_CHANGED_AT (Anki updates a note type
# only when the incoming one is newer) and update MODELS_FINGERPRINT (tests/test_anki.py checks
# it). Never add, remove, rename or reorder FIELDS: that needs new model ids and a migration.
# --------------------------------------------------------------------------------------------

#: Fixed note type ids, one per question type (random numbers, as genanki recommends).
MODEL_IDS: Final = {
    "predict_output": 1_607_392_319,
    "multiple_choice": 1_873_530_157,
    "recall": 1_395_876_540,
}

MODEL_NAMES: Final = {
    "predict_output": "quizzer: predict the output",
    "multiple_choice": "quizzer: multiple choice",
    "recall": "quizzer: recall",
}

#: The fields of every quizzer note type, in order. All hold HTML.
#: QuizzerId (``DECK/ID``) is first because Anki refuses notes whose first field is empty and
#: checks duplicates on it; it is also how a package's notes are known again on the way back.
#: TypeAnswer is non-empty only for one-line outputs: Anki's own type-in box, which the
#: card's script replaces by a box for any output (and which stays where no script runs).
FIELDS: Final = (
    "QuizzerId",
    "Prompt",
    "Code",
    "Answer",
    "TypeAnswer",
    "Choices",
    "ChoicesMarked",
    "Explanation",
    "Python",
)
#: The browser's sort column is the question's name (DECK/ID): a prompt such as "What does
#: this script print?" is shared by many notes and tells none apart.
SORT_FIELD: Final = FIELDS.index("QuizzerId")

_OPEN = (
    '<div class="quizzer quizzer-{kind} mathjax_ignore tex2jax_ignore">\n'
    '<div class="quizzer-id" hidden>{{{{QuizzerId}}}}</div>\n'
)
_PYTHON = '{{#Python}}<div class="python">Python {{Python}}</div>{{/Python}}\n'
_EXPLANATION = '{{#Explanation}}<div class="explanation">{{Explanation}}</div>{{/Explanation}}\n'
#: Where a predict_output card's output is typed (shown by the script; a card without
#: JavaScript keeps Anki's one-line type-in box, or none).
_TYPED = (
    '<div class="typed" hidden><textarea class="quizzer-typed" rows="3" autocomplete="off"'
    ' autocapitalize="off" autocorrect="off" spellcheck="false"'
    ' placeholder="Type what it prints"></textarea></div>\n'
)


def _card_script() -> str:
    """The script that ends every card side (quizzer/anki_card.js), with the rules of
    quizzer.answers filled in."""
    source = (resources.files("quizzer") / "anki_card.js").read_text(encoding="utf-8")
    source = source.replace("__SUFFIXES__", json.dumps(list(EXCEPTION_SUFFIXES)))
    if "{{" in source or "}}" in source or "</script" in source.lower():
        raise AssertionError("anki_card.js must not hold '{{', '}}' or '</script'")
    return f"<script>\n{source}</script>"


CARD_SCRIPT = _card_script()

#: (template name, front, back) per question type.
TEMPLATES: Final = {
    "predict_output": (
        "Predict the output",
        _OPEN.format(kind="predict")
        + '<div class="prompt">{{Prompt}}</div>\n'
        + "{{Code}}\n"
        + _PYTHON
        + _TYPED
        + '{{#TypeAnswer}}<div class="type-answer">{{type:TypeAnswer}}</div>{{/TypeAnswer}}\n'
        + "</div>\n"
        + CARD_SCRIPT,
        "{{FrontSide}}\n"
        + '<hr id="answer">\n'
        + _OPEN.format(kind="predict")
        + '<div class="label">Output</div>\n'
        + "{{Answer}}\n"
        + _EXPLANATION
        + "</div>\n"
        + CARD_SCRIPT,
    ),
    "multiple_choice": (
        "Multiple choice",
        _OPEN.format(kind="choice")
        + '<div class="prompt">{{Prompt}}</div>\n'
        + "{{Code}}\n"
        + _PYTHON
        + "{{Choices}}\n"
        + "</div>\n"
        + CARD_SCRIPT,
        _OPEN.format(kind="choice")
        + '<div class="prompt">{{Prompt}}</div>\n'
        + "{{Code}}\n"
        + _PYTHON
        + "{{ChoicesMarked}}\n"
        + '<hr id="answer">\n'
        + _EXPLANATION
        + "</div>\n"
        + CARD_SCRIPT,
    ),
    "recall": (
        "Recall",
        _OPEN.format(kind="recall")
        + '<div class="prompt">{{Prompt}}</div>\n'
        + "{{Code}}\n"
        + _PYTHON
        + "</div>",
        "{{FrontSide}}\n"
        + '<hr id="answer">\n'
        + _OPEN.format(kind="recall")
        + '<div class="answer">{{Answer}}</div>\n'
        + _EXPLANATION
        + "</div>",
    ),
}

_KEYWORD = ".k, .kc, .kd, .kn, .kp, .kr, .ow"
_NAME_DEF = ".nf, .fm, .nc"
_BUILTIN = ".nb, .bp, .m, .mb, .mf, .mh, .mi, .mo, .il, .se, .si"
_STRING = ".s, .sa, .sb, .sc, .dl, .sd, .s1, .s2, .sh, .sx, .sr, .ss"
_DECORATOR = ".nd, .ne"
_COMMENT = ".c, .ch, .cm, .c1, .cs, .cp, .cpf"


def _palette(scope: str, colors: tuple[str, str, str, str, str, str]) -> str:
    groups = (_KEYWORD, _NAME_DEF, _BUILTIN, _STRING, _DECORATOR, _COMMENT)
    rules = []
    for classes, color in zip(groups, colors, strict=True):
        selector = ", ".join(
            f"{prefix}.quizzer-code {cls.strip()}"
            for prefix in scope.split("|")
            for cls in classes.split(",")
        )
        rules.append(f"{selector} {{ color: {color}; }}")
    return "\n".join(rules)


# Pygments marks what it cannot lex as .err; it is deliberately not styled, because a
# predict_output question about a SyntaxError must not have its answer painted red.
CSS: Final = (
    """\
.card {
  font-family: -apple-system, "Segoe UI", system-ui, Roboto, sans-serif;
  font-size: 20px;
  line-height: 1.45;
  text-align: left;
}
.quizzer { max-width: 46em; margin: 0 auto; }
.quizzer .prompt { margin: 0 0 0.6em; }
.quizzer .label { font-size: 0.75em; font-weight: bold; opacity: 0.7; }
.quizzer .python { font-size: 0.75em; opacity: 0.7; margin: 0.3em 0; }
.quizzer .explanation { margin-top: 0.8em; }
.quizzer .no-output { font-style: italic; opacity: 0.7; }
.quizzer ol.choices { padding-left: 2em; }
.quizzer ol.choices li { margin: 0.3em 0; }
.quizzer ol.choices li.correct { font-weight: bold; color: #1a7f37; }
.quizzer ol.choices li.wrong { opacity: 0.6; }
.quizzer pre {
  font-family: "JetBrains Mono", "Fira Code", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 0.8em;
  line-height: 1.4;
  text-align: left;
  white-space: pre;
  overflow-x: auto;
  tab-size: 4;
  padding: 0.7em 0.9em;
  margin: 0.6em 0;
  border-radius: 6px;
  border: 1px solid #d0d7de;
  background: #f6f8fa;
  color: #1f2328;
}
.quizzer pre code { font: inherit; background: none; padding: 0; color: inherit; }
.quizzer .type-answer input, .quizzer code#typeans { font-family: monospace; }
.quizzer .quizzer-id { display: none; }
.quizzer .typed textarea {
  width: 100%;
  box-sizing: border-box;
  min-height: 4.5em;
  font-family: "JetBrains Mono", "Fira Code", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  font-size: 0.8em;
  white-space: pre;
  overflow-x: auto;
}
.quizzer .verdict { font-weight: bold; margin: 0.5em 0; }
.quizzer .verdict.right { color: #1a7f37; }
.quizzer .verdict.wrong { color: #cf222e; }
.quizzer ol.choices.tap { list-style-position: inside; padding-left: 0; }
.quizzer ol.choices.tap li {
  cursor: pointer;
  padding: 0.5em 0.7em;
  margin: 0.4em 0;
  border: 1px solid #d0d7de;
  border-radius: 6px;
}
.quizzer ol.choices li.chosen { outline: 2px solid #0969da; }
/* Phones: code and outputs wrap instead of being cut at the screen's edge. */
@media (max-width: 600px) {
  .card { font-size: 17px; }
  .quizzer pre {
    white-space: pre-wrap;
    overflow-wrap: anywhere;
    font-size: 0.72em;
    padding: 0.5em 0.6em;
  }
}
.nightMode .quizzer pre, .night_mode .quizzer pre {
  border-color: #30363d;
  background: #161b22;
  color: #e6edf3;
}
.nightMode .quizzer ol.choices li.correct, .night_mode .quizzer ol.choices li.correct {
  color: #3fb950;
}
.nightMode .quizzer .verdict.right, .night_mode .quizzer .verdict.right { color: #3fb950; }
.nightMode .quizzer .verdict.wrong, .night_mode .quizzer .verdict.wrong { color: #ff7b72; }
.quizzer-code .c, .quizzer-code .ch, .quizzer-code .cm, .quizzer-code .c1,
.quizzer-code .cs { font-style: italic; }
"""
    + _palette("", ("#cf222e", "#8250df", "#0550ae", "#0a3069", "#953800", "#6e7781"))
    + "\n"
    + _palette(
        ".nightMode |.night_mode ",
        ("#ff7b72", "#d2a8ff", "#79c0ff", "#a5d6ff", "#ffa657", "#8b949e"),
    )
    + "\n"
)

#: When the note types above last changed (Unix seconds). Anki keeps its copy of a note type
#: unless the incoming one is newer, so this must grow whenever TEMPLATES or CSS change.
MODELS_CHANGED_AT: Final = 1_796_396_400  # 2026-12-04T15:00:00Z: card script, sort field
#: sha256 of the note types as of MODELS_CHANGED_AT; see models_fingerprint().
MODELS_FINGERPRINT: Final = "6f079c7c345e696acaadf70462b1ce5bc22ce6b2dc652a5fb229d9e61de74b39"

#: When the way fields are rendered from a question last changed (Unix seconds). Notes are
#: stamped with max(changed_at, this), so a rendering change reaches notes already in Anki.
#: 2026-12-04T15:00:00Z: choices named for the card script, topic tags.
RENDERING_CHANGED_AT: Final = 1_796_396_400


#: When a trace on the back of predict-output cards (``export --with-trace``) was first
#: rendered. Only notes exported with a trace are stamped after it (see note_mod), so asking
#: for traces updates those notes in Anki, and every other note is left alone.
TRACE_RENDERING_AT: Final = 1_796_392_800  # 2026-12-04T14:00:00Z


def models_fingerprint() -> str:
    """A hash of everything Anki stores for the note types, except their modification time."""
    data = {
        "ids": MODEL_IDS,
        "names": MODEL_NAMES,
        "fields": FIELDS,
        "sort_field": SORT_FIELD,
        "templates": TEMPLATES,
        "css": CSS,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# Public data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportQuestion:
    """One question to export, as plain data (the caller reads it from wherever it lives).

    ``changed_at`` (aware, UTC) is when the question's exported content last changed: prompt,
    code, answer, choices, explanation, tags or python. It becomes the note's modification time.
    """

    deck_slug: str
    deck_title: str
    qid: str
    type: str
    prompt: str
    code: str | None
    answer: str
    choices: tuple[str, ...] | None
    explanation: str | None
    tags: tuple[str, ...]
    changed_at: datetime
    python: str | None = None
    #: A folded trace of the code (predict_output, ``export --with-trace``), shown on the
    #: back after the explanation, in the Explanation field: the note types keep their fields.
    trace: str | None = None
    #: The card's schedule and review log (``export --with-progress``); None: a new card.
    schedule: AnkiSchedule | None = None
    #: The deck's description, which becomes the Anki deck's description.
    deck_description: str | None = None


@dataclass(frozen=True)
class AnkiAnswer:
    """One graded answer, as the data of an Anki review-log row."""

    answered_at: datetime
    #: Anki's answer button: 1 Again, 2 Hard, 3 Good, 4 Easy.
    button: int
    #: Days until due after the answer, and before it (0 for a card never graded).
    interval: int
    last_interval: int
    #: The ease after the answer, in Anki's permille (2500 for 2.50).
    factor: int
    milliseconds: int
    #: The card's first graded answer: Anki logs it as learning, the others as reviews.
    first: bool


@dataclass(frozen=True)
class AnkiSchedule:
    """A card's schedule and graded answers, as Anki's card columns need them."""

    #: Days from the last graded answer to ``due``; 0 with ``last_review`` None (a new card).
    interval: int
    due: date
    #: Anki's permille ease (2500 for 2.50).
    factor: int
    lapses: int
    last_review: date | None
    suspended: bool = False
    #: FSRS's memory state (while FSRS schedules), its desired retention and decay (w20).
    stability: float | None = None
    difficulty: float | None = None
    desired_retention: float | None = None
    decay: float | None = None
    answers: tuple[AnkiAnswer, ...] = ()


@dataclass(frozen=True)
class ExportSummary:
    """What export_apkg wrote."""

    path: Path
    notes: int
    cards: int
    decks: tuple[str, ...]


# --------------------------------------------------------------------------------------------
# Identity
# --------------------------------------------------------------------------------------------

#: The common parent deck of every exported deck.
PARENT_DECK: Final = "quizzer"


def deck_id(deck_slug: str) -> int:
    """The fixed Anki deck id of a quizzer deck.

    Derived from a stable hash of the slug, in [2**50, 2**51): far above Anki's own ids
    (milliseconds since 1970) and below 2**53, so JavaScript numbers in Anki hold it exactly.
    """
    digest = hashlib.sha256(f"quizzer-deck:{deck_slug}".encode()).digest()
    return (1 << 50) + int.from_bytes(digest[:8], "big") % (1 << 50)


def note_guid(deck_slug: str, qid: str) -> str:
    """The Anki note GUID of a question; identical in every export.

    ``genanki.guid_for(deck_slug, qid)``: the first 8 bytes of a SHA-256 in Anki's base 91,
    computed here two digits per big-integer step (it was a tenth of a large export);
    tests/test_anki.py compares the two.
    """
    number = int.from_bytes(hashlib.sha256(f"{deck_slug}__{qid}".encode()).digest()[:8], "big")
    pairs = []
    while number >= _PAIR:
        number, pair = divmod(number, _PAIR)
        pairs.append(_BASE91_PAIRS[pair])
    # What is left has one or two digits, or none (then the GUID is empty, as genanki's).
    head = _BASE91_PAIRS[number] if number >= 91 else _BASE91[number] if number else ""
    return head + "".join(reversed(pairs))


#: Anki's base-91 digits, as genanki.util spells them, and every two-digit string of them.
_BASE91: Final = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)
_PAIR: Final = 91 * 91
_BASE91_PAIRS: Final = tuple(high + low for high in _BASE91 for low in _BASE91)


def note_mod(changed_at: datetime, *, traced: bool = False) -> int:
    """The note modification time (Unix seconds) Anki compares on re-import."""
    if changed_at.tzinfo is None or changed_at.utcoffset() is None:
        raise ValueError(f"changed_at must be timezone-aware, got {changed_at!r}")
    mod = max(int(changed_at.timestamp()), RENDERING_CHANGED_AT)
    # A traced note is a second newer than the same note without its trace: asking for
    # traces updates exactly the notes that get one.
    return max(mod, TRACE_RENDERING_AT) + 1 if traced else mod


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

# Anki replaces "[sound:...]", "[anki:...]" and LaTeX markers in fields with media or images
# while rendering; a question about such a string must show it as text.
_ANKI_MARKUP = re.compile(r"\[(?=sound:|anki:|latex\]|/latex\]|\$\]|/\$\]|\$\$\]|/\$\$\])")


def _defuse(markup: str) -> str:
    # Every marker starts with "[": most fields have none, and `in` is far cheaper than sub.
    return _ANKI_MARKUP.sub("&#91;", markup) if "[" in markup else markup


def _text_html(text: str) -> str:
    """Plain text as HTML: escaped, line breaks kept, surrounding blank lines dropped."""
    escaped = html.escape(text.strip("\n"), quote=False)
    return _defuse(escaped.replace("\n", "<br>"))


class _RenderedCode(dict[str, str]):
    """Code -> its Code field, rendered once per export; the highlighting comes from
    ``highlighted`` (by ``highlight.cache_key``) when it holds it, and is added to it when
    not, so the caller can keep it for the next export."""

    def __init__(self, highlighted: MutableMapping[str, str]) -> None:
        super().__init__()
        self.highlighted = highlighted

    def __missing__(self, code: str) -> str:
        key = cache_key(code)
        body = self.highlighted.get(key)
        if body is None:
            body = self.highlighted[key] = highlight_html(code)
        rendered = _defuse(f'<pre class="quizzer-code"><code>{body}</code></pre>')
        # Control characters made safe once per snippet (see _fields).
        rendered = self[code] = _CONTROL_CHARACTER.sub(_reference, rendered)
        return rendered


def _code_html(code: str, cache: dict[str, str]) -> str:
    code = code.rstrip()
    if not code.strip():
        return ""
    return cache[code]  # a _RenderedCode: rendered on first use


def _fields(question: ExportQuestion, guid: str, cache: dict[str, str]) -> list[str]:
    values = dict.fromkeys(FIELDS, "")
    values["QuizzerId"] = html.escape(f"{question.deck_slug}/{question.qid}", quote=False)
    values["Prompt"] = _text_html(question.prompt)
    values["Code"] = _code_html(question.code or "", cache)
    if question.explanation and question.explanation.strip():
        values["Explanation"] = _text_html(question.explanation)
    if question.python:
        values["Python"] = html.escape(question.python, quote=False)
    if question.trace and question.type == "predict_output":
        trace = html.escape(question.trace, quote=False)
        values["Explanation"] += _defuse(
            f'<details class="trace"><summary>Trace</summary><pre class="quizzer-trace">{trace}'
            "</pre></details>"
        )
    if question.type == "predict_output":
        normalized = normalize_output(question.answer)
        lines = normalized.split("\n") if normalized else []
        if lines:
            output = html.escape("\n".join(lines), quote=False)
            values["Answer"] = _defuse(f'<pre class="quizzer-output">{output}</pre>')
        else:
            values["Answer"] = '<div class="no-output">(no output)</div>'
        if len(lines) == 1:
            values["TypeAnswer"] = _defuse(html.escape(lines[0], quote=False))
    elif question.type == "multiple_choice":
        choices = list(question.choices or ())
        if len(choices) < 2 or question.answer not in choices:
            raise ValueError(
                f"{question.deck_slug}/{question.qid}: a multiple_choice question needs "
                "two or more choices, one of them the answer"
            )
        # Shown shuffled (deck format), but the same way in every export: seeded by the GUID.
        random.Random(guid).shuffle(choices)
        front, back = [], []
        # data-choice names a choice on both sides: the card's script shuffles the front's
        # list at every showing and puts the back's in the same order.
        for index, choice in enumerate(choices):
            text = _text_html(choice)
            front.append(f'<li data-choice="{index}">{text}</li>')
            if choice == question.answer:
                back.append(
                    f'<li class="correct" data-choice="{index}">{text} '
                    '<span class="mark">✓</span></li>'
                )
            else:
                back.append(f'<li class="wrong" data-choice="{index}">{text}</li>')
        values["Choices"] = '<ol class="choices" type="A">' + "".join(front) + "</ol>"
        values["ChoicesMarked"] = '<ol class="choices" type="A">' + "".join(back) + "</ol>"
        values["Answer"] = _text_html(question.answer)
    elif question.type == "recall":
        values["Answer"] = _text_html(question.answer)
    else:
        raise ValueError(f"{question.deck_slug}/{question.qid}: unknown type {question.type!r}")
    fields = [values[name] for name in FIELDS]
    # One search over the fields but the code's, which _RenderedCode made safe once per
    # snippet: control characters are rare (a program's output), and the code is the
    # longest field.
    if _CONTROL_CHARACTER.search("".join(fields[:_CODE] + fields[_CODE + 1 :])):
        fields = [_CONTROL_CHARACTER.sub(_reference, field) for field in fields]
    return fields


_CODE: Final = FIELDS.index("Code")


#: C0 controls other than tab and line breaks, and DEL. Anki separates a note's fields with
#: U+001F: one inside a field splits it, and Anki refuses the whole package. A program's
#: output may hold any of them; as character references they are kept, and harmless.
_CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _reference(match: re.Match[str]) -> str:
    return f"&#{ord(match.group())};"


def _anki_tag(text: str) -> str:
    # Anki separates tags with spaces.
    return "_".join(text.split())


#: The root of the topic tags: ``python::decorators`` whichever deck the note is in.
TOPIC_ROOT: Final = "python"


def _tags(question: ExportQuestion) -> list[str]:
    """The deck as its own tag (``quizzer::<slug>``) and each topic under TOPIC_ROOT, so that
    one topic is one tag across every deck."""
    topics = [f"{TOPIC_ROOT}::{_anki_tag(tag)}" for tag in question.tags if tag.strip()]
    return list(dict.fromkeys([f"{PARENT_DECK}::{_anki_tag(question.deck_slug)}", *topics]))


# --------------------------------------------------------------------------------------------
# genanki glue
# --------------------------------------------------------------------------------------------


class _Model(genanki.Model):  # type: ignore[misc]
    """A note type whose modification time is MODELS_CHANGED_AT, not the export time."""

    def to_json(self, timestamp: float, deck_id: int) -> dict[str, Any]:
        return dict(super().to_json(MODELS_CHANGED_AT, deck_id))


#: Rows of Anki's notes and cards tables, with the columns genanki's Note and Card write.
_INSERT_NOTE: Final = "INSERT INTO notes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_CARD: Final = (
    "INSERT INTO cards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Notes rendered and inserted at a time (in one executemany per table).
_BATCH: Final = 1000


def _write_notes(
    cursor: sqlite3.Cursor,
    decks: Mapping[str, genanki.Deck],
    notes: Mapping[str, Sequence[tuple[ExportQuestion, int]]],
    id_gen: Iterator[int],
    cache: dict[str, str],
    done: Callable[[], None],
) -> None:
    """Render each deck's notes (question, modification time) and insert them and their cards.

    genanki writes the rest of the collection (schema, decks, note types), but not the notes:
    its Note and Card objects, one execute per row and its check for malformed HTML tags
    were a third of a 10k-note export. That check is for fields made of raw text; ours are
    HTML made here from escaped text and Pygments' spans (tests/test_anki.py runs genanki's
    check over every field of the bundled decks, and real Anki imports the packages). The
    rows are genanki's, ids drawn in its order (note, then its card; deck by deck), and the
    note's modification time is its question's, where genanki would use the export's.
    Every note has one card: each note type has one template, which Anki generates when any
    of its fields is non-empty, QuizzerId among them (tests/test_anki.py checks genanki's
    rule says so).
    """
    note_rows: list[tuple[Any, ...]] = []
    card_rows: list[tuple[Any, ...]] = []
    tag_texts: dict[tuple[str, tuple[str, ...]], str] = {}

    def flush() -> None:
        cursor.executemany(_INSERT_NOTE, note_rows)
        cursor.executemany(_INSERT_CARD, card_rows)
        note_rows.clear()
        card_rows.clear()

    for slug, deck in decks.items():
        for question, mod in notes[slug]:
            guid = note_guid(question.deck_slug, question.qid)
            fields = _fields(question, guid, cache)
            note_id = next(id_gen)
            tags = tag_texts.get((question.deck_slug, question.tags))
            if tags is None:  # most notes share their deck's and a few topics' tags
                tags = " " + " ".join(_tags(question)) + " "
                tag_texts[question.deck_slug, question.tags] = tags
            flds = "\x1f".join(fields)
            model = MODEL_IDS[question.type]
            note_rows.append(
                (note_id, guid, model, mod, -1, tags, flds, fields[SORT_FIELD], 0, 0, "")
            )
            card_rows.append(
                (
                    next(id_gen),
                    note_id,
                    deck.deck_id,
                    0,
                    mod,
                    -1,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    0,
                    "",
                )
            )
            if len(note_rows) == _BATCH:
                flush()
            done()
    flush()


def _models() -> dict[str, _Model]:
    # Fresh objects per export: genanki mutates the field and template dicts it is given.
    return {
        kind: _Model(
            MODEL_IDS[kind],
            MODEL_NAMES[kind],
            fields=[{"name": name} for name in FIELDS],
            templates=[{"name": name, "qfmt": front, "afmt": back}],
            css=CSS,
            sort_field_index=SORT_FIELD,
        )
        for kind, (name, front, back) in TEMPLATES.items()
    }


def deck_titles(titles: Mapping[str, str]) -> dict[str, str]:
    """The title each deck (slug -> title) shows in Anki: cleaned, and "title (slug)" when
    two titles are the same to Anki (which ignores case). Give it every deck of the
    collection, not just those exported, so a deck keeps its name from export to export:
    Anki finds a package's decks by name."""
    # "::" would nest decks; Anki trims spaces around names.
    clean = {slug: " ".join(title.replace("::", ":").split()) for slug, title in titles.items()}
    counts: dict[str, int] = {}
    for title in clean.values():
        counts[title.casefold()] = counts.get(title.casefold(), 0) + 1
    return {
        slug: f"{title} ({slug})" if counts[title.casefold()] > 1 else (title or slug)
        for slug, title in clean.items()
    }


def _description(text: str | None) -> str:
    """A deck's description as Anki shows it (HTML) above the deck's study button."""
    return _text_html(text) if text and text.strip() else ""


def _deck_names(questions: Sequence[ExportQuestion]) -> dict[str, str]:
    """Anki deck name per deck slug: "quizzer::<title>", disambiguated if titles collide."""
    titles: dict[str, str] = {}
    for question in questions:
        title = titles.setdefault(question.deck_slug, question.deck_title)
        if title != question.deck_title:
            raise ValueError(
                f"deck {question.deck_slug!r} has two titles: {title!r}, {question.deck_title!r}"
            )
    return {slug: f"{PARENT_DECK}::{shown}" for slug, shown in deck_titles(titles).items()}


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

#: Progress is reported at least this often (in notes), and once at the end.
PROGRESS_EVERY: Final = 100

# Zip entries carry a date; a fixed one keeps the package byte-identical across exports.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever the platform, for identical bytes
    info.external_attr = 0o644 << 16
    return info


def _collection_bytes(
    questions: Sequence[ExportQuestion],
    progress: Callable[[int], None] | None,
    highlighted: MutableMapping[str, str],
) -> tuple[bytes, int, tuple[str, ...]]:
    """Build the collection.anki2 SQLite database in memory; return it, the card count, decks."""
    seen: set[tuple[str, str]] = set()
    models = _models()
    deck_names = _deck_names(questions)
    descriptions = {q.deck_slug: q.deck_description for q in questions if q.deck_description}
    decks = {
        slug: genanki.Deck(deck_id(slug), name, description=_description(descriptions.get(slug)))
        for slug, name in sorted(deck_names.items())
    }
    written = 0

    def done() -> None:
        nonlocal written
        written += 1
        if progress is not None and (written % PROGRESS_EVERY == 0 or written == len(questions)):
            progress(written)

    cache = _RenderedCode(highlighted)
    newest = MODELS_CHANGED_AT
    notes: dict[str, list[tuple[ExportQuestion, int]]] = {slug: [] for slug in decks}
    for question in questions:
        key = (question.deck_slug, question.qid)
        if key in seen:
            raise ValueError(f"question {question.deck_slug}/{question.qid} given twice")
        seen.add(key)
        if question.type not in models:
            raise ValueError(f"{question.deck_slug}/{question.qid}: unknown type {question.type!r}")
        mod = note_mod(question.changed_at, traced=bool(question.trace))
        newest = max(newest, mod)
        notes[question.deck_slug].append((question, mod))
        # genanki writes a deck's note types (those of its notes, in their order).
        decks[question.deck_slug].add_model(models[question.type])

    conn = sqlite3.connect(":memory:")
    try:
        cursor = conn.cursor()
        # Note and card ids start at the newest modification time, in ms: deterministic, and
        # Anki matches notes by GUID anyway (it renumbers an id already taken).
        id_gen = itertools.count(newest * 1000)
        genanki.Package(list(decks.values())).write_to_db(cursor, float(newest), id_gen)
        _write_notes(cursor, decks, notes, id_gen, cache, done)
        if any(question.schedule is not None for question in questions):
            _write_progress(cursor, questions)
        conn.commit()
        (cards,) = cursor.execute("SELECT count(*) FROM cards").fetchone()
        data = conn.serialize()
    finally:
        conn.close()
    return data, int(cards), tuple(deck.name for deck in decks.values())


# --------------------------------------------------------------------------------------------
# Progress (export --with-progress): written into the collection genanki made (genanki #147)
# --------------------------------------------------------------------------------------------

#: Anki's own limit on the time an answer is logged with (its "maximum answer seconds").
MAX_ANSWER_MILLISECONDS: Final = 60_000
#: Anki's card and review-log types and queues used here.
_CARD_REVIEW, _QUEUE_REVIEW, _QUEUE_SUSPENDED = 2, 2, -1
_REVLOG_LEARN, _REVLOG_REVIEW = 0, 1


def _first_day(schedules: Sequence[AnkiSchedule]) -> date | None:
    days = [d for s in schedules if s.last_review is not None for d in (s.due, s.last_review)]
    return min(days, default=None)


def _write_progress(cursor: sqlite3.Cursor, questions: Sequence[ExportQuestion]) -> None:
    """Write the cards' schedules and the review log of ``questions`` into the collection.

    A review card's ``due`` is a day number counted from the collection's creation day
    (``crt``); Anki's importer moves it by the difference between the two collections'
    creation days, so it lands on the same date. The creation day is the earliest day any
    schedule names (no negative day numbers), at midnight UTC, and Anki is told to count
    days as it does for its own collections (the v2 day boundaries, a 4 am rollover), so
    that the shift does not depend on the hour of the import.
    """
    schedules = [q.schedule for q in questions if q.schedule is not None]
    start = _first_day(schedules)
    if start is not None:
        (conf,) = cursor.execute("SELECT conf FROM col").fetchone()
        settings = json.loads(conf)
        settings.update(schedVer=2, rollover=4, creationOffset=0)
        crt = int(datetime.combine(start, datetime.min.time(), tzinfo=UTC).timestamp())
        cursor.execute("UPDATE col SET crt = ?, conf = ?", (crt, json.dumps(settings)))
    card_ids = dict(
        cursor.execute("SELECT notes.guid, cards.id FROM cards JOIN notes ON notes.id = cards.nid")
    )
    taken: set[int] = set()
    revlog = []
    for question in questions:
        schedule = question.schedule
        if schedule is None:
            continue
        card_id = card_ids[note_guid(question.deck_slug, question.qid)]
        if schedule.last_review is None or start is None:
            if schedule.suspended:
                cursor.execute(
                    "UPDATE cards SET queue = ? WHERE id = ?", (_QUEUE_SUSPENDED, card_id)
                )
            continue
        data: dict[str, Any] = {}
        if schedule.stability is not None and schedule.difficulty is not None:
            data = {"s": schedule.stability, "d": schedule.difficulty}
            if schedule.desired_retention is not None:
                data["dr"] = schedule.desired_retention
            if schedule.decay is not None:
                data["decay"] = schedule.decay
            midnight = datetime.combine(schedule.last_review, datetime.min.time(), tzinfo=UTC)
            data["lrt"] = int(midnight.timestamp())
        cursor.execute(
            "UPDATE cards SET type = ?, queue = ?, due = ?, ivl = ?, factor = ?, reps = ?,"
            " lapses = ?, left = 0, data = ? WHERE id = ?",
            (
                _CARD_REVIEW,
                _QUEUE_SUSPENDED if schedule.suspended else _QUEUE_REVIEW,
                (schedule.due - start).days,
                schedule.interval,
                schedule.factor,
                len(schedule.answers),
                schedule.lapses,
                json.dumps(data, sort_keys=True) if data else "",
                card_id,
            ),
        )
        for answer in schedule.answers:
            # A review-log row's id is the moment of the answer in ms, unique in a collection.
            row_id = int(answer.answered_at.timestamp() * 1000)
            while row_id in taken:
                row_id += 1
            taken.add(row_id)
            revlog.append(
                (
                    row_id,
                    card_id,
                    -1,
                    answer.button,
                    answer.interval,
                    answer.last_interval,
                    answer.factor,
                    max(0, min(answer.milliseconds, MAX_ANSWER_MILLISECONDS)),
                    _REVLOG_LEARN if answer.first else _REVLOG_REVIEW,
                )
            )
    cursor.executemany("INSERT INTO revlog VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", revlog)


def export_apkg(
    questions: Sequence[ExportQuestion],
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    highlighted: MutableMapping[str, str] | None = None,
) -> ExportSummary:
    """Write ``questions`` to the Anki package ``path``, replacing it atomically.

    One note per question, in subdecks "quizzer::<deck title>". The same questions give a
    byte-identical file. ``progress``, if given, is called with the number of notes done so
    far, every PROGRESS_EVERY notes and once with the total. ``highlighted`` maps
    ``highlight.cache_key(code)`` to highlighted HTML: what it holds is not highlighted
    again, and what had to be is added to it (the database's cache). Raises QuizzerError if there is
    nothing to export or the file cannot be written, ValueError for malformed questions.
    """
    if not questions:
        raise QuizzerError("nothing to export: no questions")
    path = Path(path)
    try:
        # Built before the temporary file exists: a kill during the long build then leaves
        # nothing behind, only one during the short write can (tests/test_crash.py).
        data, cards, decks = _collection_bytes(
            questions, progress, {} if highlighted is None else highlighted
        )
        with atomic_write(path) as file, zipfile.ZipFile(file, "w") as package:
            # Level 1: a tenth of the size (highlighted HTML repeats a lot) at a third of
            # level 6's time.
            package.writestr(_zip_entry("collection.anki2"), data, compresslevel=1)
            package.writestr(_zip_entry("media"), "{}", compresslevel=1)
    except OSError as exc:
        raise QuizzerError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return ExportSummary(path=path, notes=len(questions), cards=cards, decks=decks)
