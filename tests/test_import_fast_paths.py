"""The shortcuts that make a big import fast give exactly what the general paths give.

A deck file is read straight from libyaml's events when it is plain (reader._plain_data),
and new questions are inserted with one executemany on the driver (store.bulk_insert).
Each is checked here against the path it short-cuts.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from helpers import SMALL_DECK, Invoke, cli_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from quizzer import deckfile
from quizzer.db import open_database, resource_dir
from quizzer.deckfile import reader
from quizzer.errors import DeckFileError
from quizzer.orm import Card, Deck, Question

pytestmark = pytest.mark.skipif(
    not getattr(yaml, "__with_libyaml__", False), reason="the fast path needs libyaml"
)


def _full(text: str) -> tuple[str, str]:
    """What the full loader makes of ``text``: ("ok", repr of the data) or ("refused", why)."""
    try:
        return "ok", repr(reader._load_fully(text, source="t.yaml")[1])
    except DeckFileError as exc:
        return "refused", str(exc)


def _assert_agree(text: str) -> None:
    """If the fast path reads ``text``, the full loader reads the same values, of the same types."""
    if reader._NOT_PRINTABLE.search(text) or "\ufeff" in text:
        return  # parse_deck refuses these before either loader sees them
    fast = reader._plain_data(text)
    if fast is None:
        return
    # repr tells 1 from True and 1.0, keeps key order, and makes nan equal to nan.
    assert _full(text) == ("ok", repr(fast))


@pytest.mark.parametrize("path", sorted(resource_dir("decks").glob("*.yaml")), ids=lambda p: p.stem)
def test_bundled_decks_take_the_fast_path_and_load_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = reader._plain_data(text)
    assert isinstance(fast, dict), "a bundled deck fell back to the slow loader"
    assert _full(text) == ("ok", repr(fast))


def test_a_typical_big_deck_takes_the_fast_path() -> None:
    questions = yaml.safe_load(SMALL_DECK)["questions"]
    deck = {
        "deck": "big",
        "title": "Big",
        "questions": [{**copy.deepcopy(questions[i % 3]), "id": f"q-{i}"} for i in range(300)],
    }
    text = yaml.safe_dump(deck, sort_keys=False)
    assert "&" not in text  # no anchors: every question is its own
    assert reader._plain_data(text) == deck
    assert deckfile.parse_deck(text, source="big.yaml").questions[299].id == "q-299"


#: Files the fast path must leave to the full loader, which accepts or refuses them itself.
NOT_PLAIN = {
    "anchor": "a: &x 1\nb: 2\n",
    "alias": "a: &x 1\nb: *x\n",
    "tag": "a: !!str 1\n",
    "local tag": "a: !thing 1\n",
    "non-specific tag": "a: ! 1\n",
    "duplicate key": "a: 1\na: 2\n",
    "merge key": "base: {x: 1}\nc:\n  <<: {x: 1}\n",
    "number as key": "1: one\n",
    "list as key": "? [a]\n: b\n",
    "timestamp": "a: 2024-01-02\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "too deep": "a: " + "[" * reader.MAX_DEPTH + "]" * reader.MAX_DEPTH + "\n",
    "bad YAML": "a: [1, 2\n",
}


@pytest.mark.parametrize("text", NOT_PLAIN.values(), ids=list(NOT_PLAIN))
def test_what_is_not_plain_goes_to_the_full_loader(text: str) -> None:
    assert reader._plain_data(text) is None


def test_just_deep_enough_is_plain_and_one_more_level_is_not() -> None:
    depth = reader.MAX_DEPTH - 1  # the root mapping is one level
    text = "a: " + "[" * depth + "]" * depth + "\n"
    assert reader._plain_data(text) is not None
    assert _full(text)[0] == "ok"
    deeper = "a: " + "[" * (depth + 1) + "]" * (depth + 1) + "\n"
    assert _full(deeper)[0] == "refused"


def test_plain_scalars_get_yaml_types_and_quoted_ones_stay_text() -> None:
    text = "a: 7\nb: '7'\nc: true\nd: ~\ne: 1.5\nf: .nan\ng: 0x1f\nh: yes\ni: |\n  7\n"
    data = reader._plain_data(text)
    assert data is not None
    assert repr(data) == repr(
        {"a": 7, "b": "7", "c": True, "d": None, "e": 1.5, "f": float("nan"), "g": 31}
        | {"h": True, "i": "7\n"}
    )
    _assert_agree(text)


FUZZ = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["yes", "off", "~", "0o17", "0x1F", "1_000", "1e3", ".inf", "<<", "=", ""])
    | st.dates()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=25,
)


@FUZZ
@given(VALUES, st.sampled_from([None, True, False]))
def test_fuzz_dumped_structures_load_the_same_both_ways(value: object, flow: bool | None) -> None:
    _assert_agree(yaml.safe_dump(value, allow_unicode=True, default_flow_style=flow))


YAMLISH = st.text(alphabet=list("-:?[]{},&*!|>'\"#%@` \t\n\\aZ09.~<="), max_size=120)


@FUZZ
@given(YAMLISH)
def test_fuzz_yaml_punctuation_loads_the_same_both_ways(text: str) -> None:
    _assert_agree(text)


# --- bulk inserts ----------------------------------------------------------------------


def _rows(deck_id: int) -> list[dict[str, object]]:
    now = datetime(2026, 3, 4, 5, 6, 7, 891_011, tzinfo=UTC)
    return [
        {
            "deck_id": deck_id,
            "qid": f"q-{i}",
            "position": i,
            "type": "multiple_choice" if i % 2 else "recall",
            "prompt": f"Prompt {i} ünïcode",
            "code": None if i % 3 else "print('%s' % 1)",
            "answer": "a",
            "choices": ["a", "b"] if i % 2 else None,
            "explanation": None,
            "tags": [f"t{i}"],
            "python": ">=3.12" if i == 1 else None,
            "content_hash": f"{i:064x}",
            "created_at": now.replace(microsecond=0),  # drivers write whole seconds their way
            "changed_at": now,
            "retired": i == 2,
        }
        for i in range(5)
    ]


def assert_bulk_insert_stores_what_sqlalchemy_stores(url: str) -> None:
    """Questions and card states inserted by Core into one deck and by _bulk_insert into
    another are the same rows, once read back (also run on PostgreSQL: test_postgres.py)."""
    from quizzer.store import bulk_insert

    questions = Question.metadata.tables["questions"]
    states = Card.metadata.tables["card_states"]
    database = open_database(url)
    try:
        with database.transaction() as session:
            connection = session.connection()
            for slug, insert_rows in (
                ("core", lambda table, rows: connection.execute(insert(table), rows)),
                ("bulk", lambda table, rows: bulk_insert(connection, table, rows)),
            ):
                now = datetime.now(UTC)
                deck = Deck(slug=slug, title=slug, tags=[], created_at=now, changed_at=now)
                session.add(deck)
                session.flush()
                insert_rows(questions, _rows(deck.id))
                ids = session.scalars(select(Question.id).where(Question.deck_id == deck.id))
                insert_rows(states, [_state(i) for i in ids])
        with database.reading() as session:
            connection = session.connection()
            stored = {
                slug: (
                    connection.execute(
                        select(*[c for c in questions.c if c.name not in ("id", "deck_id")])
                        .join_from(questions, Deck.__table__)
                        .where(Deck.slug == slug)
                        .order_by(questions.c.qid)
                    ).all(),
                    connection.execute(
                        select(*[c for c in states.c if c.name != "question_id"])
                        .join_from(states, questions)
                        .join_from(questions, Deck.__table__)
                        .where(Deck.slug == slug)
                        .order_by(questions.c.qid)
                    ).all(),
                )
                for slug in ("core", "bulk")
            }
            raw = connection.exec_driver_sql(
                "SELECT q.choices, q.created_at, q.changed_at FROM questions q"
                " JOIN decks d ON d.id = q.deck_id"
                " WHERE q.qid = 'q-1' ORDER BY d.slug"
            ).all()
    finally:
        database.dispose()
    assert stored["core"] == stored["bulk"]
    assert len(stored["bulk"][0]) == 5 and len(stored["bulk"][1]) == 5
    # As the driver stores them, too: JSON and timestamps written the same way.
    assert raw[0] == raw[1]
    (q1,) = [row for row in stored["bulk"][0] if row.qid == "q-1"]
    assert q1.choices == ["a", "b"] and q1.changed_at.microsecond == 891_011


def _state(question_id: int) -> dict[str, object]:
    return {
        "question_id": question_id,
        "ease": 250,
        "repetitions": 0,
        "interval": 0,
        "due": date(2026, 3, 4),
        "lapses": 0,
        "last_graded": None,
        "leech": False,
        "suspended": False,
    }


def test_bulk_insert_stores_what_sqlalchemy_stores(tmp_path: Path) -> None:
    assert_bulk_insert_stores_what_sqlalchemy_stores(str(tmp_path / "q.db"))


def test_bulk_insert_refuses_rows_that_leave_a_default_to_sqlalchemy(tmp_path: Path) -> None:
    from quizzer.store import bulk_insert

    database = open_database(str(tmp_path / "q.db"))
    with database.transaction() as session:
        rows = [{k: v for k, v in row.items() if k != "tags"} for row in _rows(1)]
        with pytest.raises(ValueError, match="tags"):
            bulk_insert(session.connection(), Question.metadata.tables["questions"], rows)
    database.dispose()


# --- re-importing unchanged files ------------------------------------------------------


def test_reimporting_unchanged_files_does_not_load_the_parser(
    invoke: Invoke, deck_file: Path, db_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    args = ["--db", str(db_path), "import", str(deck_file)]
    heavy = ("pydantic", "yaml", "quizzer.deckfile")
    run = cli_process(args, heavy)
    assert "0 added, 0 updated, 3 unchanged" in run.output
    assert run.loaded == []
    # An edited file is parsed again, of course.
    deck_file.write_text(deck_file.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    run = cli_process(args, heavy)
    assert "0 added, 0 updated, 3 unchanged" in run.output
    assert run.loaded == list(heavy)


def test_the_garbage_collector_runs_again_after_a_load_good_or_bad(tmp_path: Path) -> None:
    import gc

    good = tmp_path / "good.yaml"
    good.write_text(SMALL_DECK, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("deck: [\n", encoding="utf-8")
    assert gc.isenabled()
    assert deckfile.load_deck(good).questions
    assert gc.isenabled()
    with pytest.raises(DeckFileError):
        deckfile.load_deck(bad)
    assert gc.isenabled()
    gc.disable()  # a caller's own pause is left as it was
    try:
        deckfile.load_deck(good)
        assert not gc.isenabled()
    finally:
        gc.enable()
