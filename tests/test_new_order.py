"""New cards come from every deck in turn, so neighbours in a file do not give each other
away; `config new-order` chooses in-order or random instead."""

from __future__ import annotations

import itertools
import re
from datetime import date
from pathlib import Path

from helpers import Invoke

from quizzer import review
from quizzer.db import open_database, resource_dir
from quizzer.deckfile import load_decks

# The deck whose file name sorts first, and its first question.
_, FIRST_DECK = load_decks([resource_dir("decks")])[0]
FIRST_CARD = f"{FIRST_DECK.deck}/{FIRST_DECK.questions[0].id}"

HEADER = re.compile(r"^\d+/\d+  (\S+)  \(new\)$", re.MULTILINE)


def _first_new_cards(invoke: Invoke, today: str = "2026-12-04") -> list[str]:
    # Skip each card: every one of the day's ten new cards shows its name once.
    result = invoke("review", input="s\n" * 10 + "q\n", today=today)
    assert result.exit_code == 0, result.output
    return list(dict.fromkeys(HEADER.findall(result.output)))[:10]


def test_a_fresh_collection_starts_with_cards_from_every_deck(invoke: Invoke) -> None:
    names = _first_new_cards(invoke)
    assert len(names) == 10
    decks = [name.split("/")[0] for name in names]
    assert len(set(decks)) >= 4
    assert all(a != b for a, b in itertools.pairwise(decks))  # no deck twice running
    assert names[0] == FIRST_CARD  # each deck in file order


def test_in_order_is_deck_by_deck_and_random_is_new_each_day(invoke: Invoke, db_path: Path) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    assert invoke("config", "new-order", "in-order").exit_code == 0
    assert {n.split("/")[0] for n in _first_new_cards(invoke)} == {FIRST_DECK.deck}
    refused = invoke("config", "new-order", "shuffled")
    assert (
        refused.exit_code == 1 and "is not one of interleaved, in-order, random" in refused.output
    )
    database = open_database(str(db_path))
    try:
        with database.reading() as session:
            day = date(2026, 12, 4)
            first = review.new_ids(session, today=day, limit=10, order="random")
            again = review.new_ids(session, today=day, limit=10, order="random")
            tomorrow = review.new_ids(session, today=date(2026, 12, 5), limit=10, order="random")
            in_order = review.new_ids(session, today=day, limit=10_000, order="in-order")
    finally:
        database.dispose()
    assert first == again  # the same all day, so a resumed review looks the same
    assert first != tomorrow
    assert set(first) <= set(in_order) and first != in_order[:10]
