"""What the bundled decks must be as teaching material, as far as it can be measured.

Every card stands alone (no prompt leans on "the notes" nobody has read), a multiple-choice
answer is not given away by being the longest choice, a recall answer is short enough to grade
oneself against, ids are unique across decks, and neighbouring cards in a deck file share no
tag, so reading (or meeting new cards) in file order never shows the answer to the next card.
Whether each predict-output answer is what CPython prints is `quizzer check decks/`
(tests/test_commands_check_export.py on this interpreter; `.ci/run` on every CPython 3.11 to
3.13 the machine has)."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

import pytest
from packaging.specifiers import SpecifierSet

from quizzer.db import resource_dir
from quizzer.deckfile import load_decks
from quizzer.deckfile.models import Deck

#: The CPython versions the bundled decks are written and checked for.
SUPPORTED = ("3.11", "3.12", "3.13")
NOTES = re.compile(r"\b(notes?|noted)\b", re.IGNORECASE)
MAX_RECALL_WORDS = 35


@pytest.fixture(scope="module")
def decks() -> list[Deck]:
    return [deck for _, deck in load_decks([resource_dir("decks")])]


def test_no_prompt_leans_on_notes(decks: list[Deck]) -> None:
    leaning = [f"{d.deck}/{q.id}" for d in decks for q in d.questions if NOTES.search(q.prompt)]
    assert leaning == []


def test_the_answer_is_rarely_the_longest_choice(decks: list[Deck]) -> None:
    cards = [q for d in decks for q in d.questions if q.type == "multiple_choice"]
    longest = [
        q.id
        for q in cards
        if len(q.answer) >= max(len(c) for c in q.choices or [] if c != q.answer)
    ]
    assert cards and len(longest) * 3 <= len(cards), longest


def test_recall_answers_are_short_enough_to_self_grade(decks: list[Deck]) -> None:
    long = {
        f"{d.deck}/{q.id}": len(q.answer.split())
        for d in decks
        for q in d.questions
        if q.type == "recall" and len(q.answer.split()) > MAX_RECALL_WORDS
    }
    assert long == {}


def test_ids_are_unique_across_decks(decks: list[Deck]) -> None:
    counts = Counter(q.id for d in decks for q in d.questions)
    assert [qid for qid, n in counts.items() if n > 1] == []
    assert len({d.deck for d in decks}) == len(decks)


def test_every_python_range_holds_for_a_supported_version(decks: list[Deck]) -> None:
    # A range no supported CPython satisfies would never be checked, so never be true.
    dead = [
        f"{d.deck}/{q.id}"
        for d in decks
        for q in d.questions
        if q.python is not None
        and not any(SpecifierSet(q.python).contains(v + ".0") for v in SUPPORTED)
    ]
    assert dead == []


def test_the_decks_are_big_enough_to_be_a_course(decks: list[Deck]) -> None:
    questions = [q for d in decks for q in d.questions]
    assert len(decks) >= 7 and all(d.description for d in decks)
    assert "python-asyncio" in {d.deck for d in decks}
    assert len(questions) >= 300
    assert sum(q.type == "predict_output" for q in questions) >= 200


def test_neighbouring_cards_share_no_tag(decks: list[Deck]) -> None:
    # A tag names a concept; two late-binding cards in a row give each other away. Each file
    # reads as a course (simple to subtle) with related cards spread apart, not run together.
    touching = [
        f"{d.deck}: {a.id} / {b.id} share {sorted(set(a.tags) & set(b.tags))}"
        for d in decks
        for a, b in pairwise(d.questions)
        if set(a.tags) & set(b.tags)
    ]
    assert touching == []
