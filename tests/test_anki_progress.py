"""`quizzer export --with-progress`: the schedule and review log, imported by real Anki with
"Import any learning progress" (its backend's ``with_scheduling``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from anki.collection import Collection
from helpers import Invoke, anki_import

from quizzer.db import resource_dir

if TYPE_CHECKING:
    from anki.cards import Card as AnkiCard

START = date(2026, 1, 5)
DAYS = 70
#: How many bundled cards are studied, and the quality given on each graded answer, in turn.
STUDIED = 14
QUALITIES = (5, 4, 3, 4, 2, 5, 4, 1, 3, 4, 5, 0, 4, 4, 3)


@pytest.fixture
def col(tmp_path: Path) -> Iterator[Collection]:
    (tmp_path / "anki").mkdir()
    collection = Collection(str(tmp_path / "anki" / "c.anki2"))
    yield collection
    collection.close()


def _import(col: Collection, package: Path, *, with_scheduling: bool = True) -> None:
    anki_import(col, package, with_scheduling=with_scheduling)


def _ok(result: object) -> str:
    assert getattr(result, "exit_code", None) == 0, getattr(result, "output", result)
    return str(getattr(result, "output", ""))


def _cards(invoke: Invoke, day: date, *extra: str) -> list[dict[str, object]]:
    listed = json.loads(_ok(invoke("cards", "--json", *extra, today=day.isoformat())))
    assert isinstance(listed, list)
    return listed


def _study(invoke: Invoke) -> dict[str, int]:
    """Answer the first STUDIED bundled cards for DAYS days; graded answers per card."""
    _ok(invoke("import", str(resource_dir("decks"))))
    names = [str(card["name"]) for card in _cards(invoke, START)[:STUDIED]]
    graded = dict.fromkeys(names, 0)
    turn = 0
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        due = {str(c["name"]) for c in _cards(invoke, day) if c["new"] or str(c["due"]) <= str(day)}
        for name in list(names):
            if name not in due:
                continue
            quality = QUALITIES[turn % len(QUALITIES)]
            turn += 1
            answer = json.loads(_ok(invoke("grade", name, str(quality), "--json", today=str(day))))
            assert answer["kind"] == "graded"
            graded[name] += 1
            if answer["leech"]:  # suspended: Anki gets it suspended too
                names.remove(name)
            elif quality < 4:  # the same-day drill: logged in quizzer, never sent to Anki
                drill = json.loads(_ok(invoke("grade", name, "4", "--json", today=str(day))))
                assert drill["kind"] == "drill"
    return graded


def _scalar(col: Collection, sql: str, *args: int) -> object:
    assert col.db is not None
    return col.db.scalar(sql, *args)


def _anki_due(col: Collection, card: AnkiCard) -> date:
    """The date Anki will ask ``card`` (a review card)."""
    rollover = int(col.get_config("rollover", 4))
    anki_today = (datetime.now() - timedelta(hours=rollover)).date()
    return anki_today + timedelta(days=card.due - col.sched.today)


def _anki_card(col: Collection, name: str) -> AnkiCard:
    (card_id,) = col.find_cards(f'"QuizzerId:{name}"')
    return col.get_card(card_id)


def test_anki_continues_where_quizzer_stopped(
    invoke: Invoke, col: Collection, tmp_path: Path
) -> None:
    graded = _study(invoke)
    last = START + timedelta(days=DAYS - 1)
    package = tmp_path / "progress.apkg"
    _ok(invoke("export", "-o", str(package), "--with-progress", today=str(last)))
    _import(col, package)

    listed = _cards(invoke, last)
    assert sum(graded.values()) > 3 * STUDIED
    assert _scalar(col, "SELECT count(*) FROM revlog") == sum(graded.values())
    learned = 0
    for card in listed:
        anki = _anki_card(col, str(card["name"]))
        if card["new"]:
            assert (anki.type, anki.queue, anki.reps) == (0, 0, 0)
            continue
        learned += 1
        assert (anki.type, anki.queue) == (2, -1 if card["suspended"] else 2)
        assert anki.ivl == card["interval"]
        assert _anki_due(col, anki).isoformat() == card["due"]
        assert anki.factor == round(float(str(card["ease"])) * 1000)
        assert anki.lapses == card["lapses"]
        assert anki.reps == graded[str(card["name"])]
        rows = _scalar(col, "SELECT count(*) FROM revlog WHERE cid = ?", anki.id)
        assert rows == graded[str(card["name"])]
    assert learned == STUDIED


def test_fsrs_memory_state_travels(invoke: Invoke, col: Collection, tmp_path: Path) -> None:
    _ok(invoke("config", "scheduler", "fsrs"))
    graded = _study(invoke)
    last = START + timedelta(days=DAYS - 1)
    package = tmp_path / "progress.apkg"
    _ok(invoke("export", "-o", str(package), "--with-progress", today=str(last)))
    _import(col, package)
    assert _scalar(col, "SELECT count(*) FROM revlog") == sum(graded.values())
    for name in graded:
        shown = json.loads(_ok(invoke("show", name, "--json", today=str(last))))
        state = shown["state"]
        anki = _anki_card(col, name)
        assert anki.memory_state is not None
        # Anki keeps the memory state as 32-bit floats, rounded to a few decimals.
        assert anki.memory_state.stability == pytest.approx(state["stability"], abs=1e-3)
        assert anki.memory_state.difficulty == pytest.approx(state["difficulty"], abs=1e-3)
        assert anki.desired_retention == pytest.approx(0.9)  # quizzer's default
        assert anki.decay == pytest.approx(0.1542, abs=1e-3)  # FSRS-6 default w20, rounded
        assert _anki_due(col, anki).isoformat() == state["due"]
        assert (
            anki.ivl
            == (date.fromisoformat(state["due"]) - date.fromisoformat(state["last_graded"])).days
        )


def test_without_the_flag_nothing_changes(invoke: Invoke, col: Collection, tmp_path: Path) -> None:
    _ok(invoke("import", str(resource_dir("decks"))))
    before = tmp_path / "before.apkg"
    _ok(invoke("export", "-o", str(before)))
    _study_some = _cards(invoke, START)[:3]
    for card in _study_some:
        _ok(invoke("grade", str(card["name"]), "4"))
    after = tmp_path / "after.apkg"
    _ok(invoke("export", "-o", str(after)))
    assert after.read_bytes() == before.read_bytes()
    _import(col, after)
    assert _scalar(col, "SELECT count(*) FROM revlog") == 0
    assert _scalar(col, "SELECT count(*) FROM cards WHERE type != 0 OR queue != 0") == 0


def test_with_progress_is_for_anki_packages(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("export", "-o", str(tmp_path / "out"), "--format", "yaml", "--with-progress")
    assert result.exit_code == 2
    assert "--with-progress is for Anki packages" in result.output


def test_anki_takes_progress_only_for_cards_it_does_not_have(
    invoke: Invoke, col: Collection, tmp_path: Path
) -> None:
    # What the README says: a card already in Anki keeps its own schedule and log.
    _ok(invoke("import", str(resource_dir("decks"))))
    plain = tmp_path / "plain.apkg"
    _ok(invoke("export", "-o", str(plain)))
    _import(col, plain, with_scheduling=False)
    name = str(_cards(invoke, START)[0]["name"])
    _ok(invoke("grade", name, "4"))
    progress = tmp_path / "progress.apkg"
    _ok(invoke("export", "-o", str(progress), "--with-progress"))
    _import(col, progress)
    assert _anki_card(col, name).type == 0
    assert _scalar(col, "SELECT count(*) FROM revlog") == 0
