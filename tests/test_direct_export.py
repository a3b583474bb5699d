"""An Anki export reads an up-to-date SQLite collection without SQLAlchemy
(``quizzer.sqlite_direct``, ``quizzer.exportread``): the same notes and highlighting as
through SQLAlchemy, the same package and the same refusals; and anything else (a URL, an
older schema) is read through SQLAlchemy as before. (That it is faster is bench/'s
business: no timing here.)"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from helpers import Invoke, cli_for, cli_process, write

from quizzer import collection, db, exportread, sqlite_direct, transfer

OWN = """\
deck: own
title: Own things
description: Mine.
tags: [mine, shared]
questions:
  - id: scale
    type: predict_output
    prompt: What does it print?
    code: |
      times = lambda x: x * $k
      print(list(map(times, range(3))))
    vary: {k: [2, 3]}
    answer: |
      [0, 2, 4]
    variants:
      - values: {k: 3}
        answer: |
          [0, 3, 6]
    tags: [shared, closures]
  - id: close
    type: predict_output
    prompt: What does close() give?
    python: ">=3.11"
    code: |
      def worker():
          try:
              yield 1
          finally:
              return "done"
      g = worker()
      next(g)
      print(g.close())
    answer: |
      done
    answers_by_python:
      "<3.13": "None\\n"
      ">=3.13": "done\\n"
  - id: pick
    type: multiple_choice
    prompt: Which one?
    choices: [a cell, a value]
    answer: a cell
  - id: gone
    type: recall
    prompt: Retired soon
    answer: "yes"
"""
SECOND = """\
deck: abc
title: Own things
questions:
  - id: one
    type: recall
    prompt: Same title as another deck
    answer: "1"
"""

#: Modules an export of an up-to-date file must not load.
SQLALCHEMY = ["sqlalchemy", "quizzer.orm", "quizzer.db"]


def _ok(result: Any) -> None:
    assert result.exit_code == 0, result.output


@pytest.fixture
def collection_path(invoke: Invoke, db_path: Path, tmp_path: Path) -> Path:
    """The bundled decks, two of one's own (variants, answers by version, a retired
    question, two decks of one title), and ``config python 3.12``."""
    _ok(invoke("import", "--bundled"))
    _ok(invoke("import", str(write(tmp_path / "own.yaml", OWN))))
    _ok(invoke("import", str(write(tmp_path / "abc.yaml", SECOND))))
    _ok(invoke("delete", "own/gone"))
    _ok(invoke("config", "python", "3.12"))
    return db_path


def test_the_shipped_statements_are_what_sqlalchemy_compiles_for_this_schema() -> None:
    text = (resources.files("quizzer") / sqlite_direct.STATEMENTS_FILE).read_text("utf-8")
    shipped = json.loads(text)
    assert shipped == transfer.direct_statements(), "run `python bench/direct_sql.py`"
    assert shipped["revision"] == db.SCHEMA_HEAD
    assert set(shipped["statements"]) == set(transfer.DIRECT_STATEMENTS)


def _through_sqlalchemy(
    path: Path, decks: tuple[str, ...], today: date | None
) -> tuple[list[Any], dict[str, str]]:
    database = db.open_database(str(path))
    try:
        with database.reading() as session:
            questions = transfer.export_questions(
                session, decks=decks, today=today, python=collection.target_python(session)
            )
            return questions, transfer.cached_highlights(session, (q.code for q in questions))
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("decks", "today"),
    [
        ((), None),
        ((), date(2026, 1, 5)),  # the day of own/scale's variant
        (("own",), date(2026, 1, 6)),
        (("own", "python-closures", "own"), date(2026, 1, 5)),
    ],
)
def test_reading_directly_gives_what_sqlalchemy_reads(
    collection_path: Path, decks: tuple[str, ...], today: date | None
) -> None:
    direct = exportread.read_direct(str(collection_path), decks=decks, today=today)
    assert direct is not None
    questions, highlighted = direct
    assert (questions, highlighted) == _through_sqlalchemy(collection_path, decks, today)
    # What the comparison covers: the answer for the configured 3.12, a variant's code
    # on the day that picks it, tags, a retired question left out, the titles told apart.
    own = {q.qid: q for q in questions if q.deck_slug == "own"}
    assert own["close"].answer == "None\n"
    if today == date(2026, 1, 5):
        assert "x * 3" in (own["scale"].code or "")
    assert own["scale"].tags == ("mine", "shared", "closures")
    assert "gone" not in own
    assert {q.deck_title for q in questions if q.deck_slug in ("own", "abc")} <= {
        "Own things (own)",
        "Own things (abc)",
    }
    # The bundled decks' snippets come highlighted with quizzer; one's own are not yet.
    assert bool(highlighted) == (not decks or "python-closures" in decks)


def test_an_export_of_a_file_loads_no_sqlalchemy_and_writes_what_the_url_form_writes(
    collection_path: Path, tmp_path: Path
) -> None:
    direct, through_url = tmp_path / "direct.apkg", tmp_path / "url.apkg"
    args = ["--today", "2026-01-05", "export", "-o"]
    # A URL is always read through SQLAlchemy (this first export also keeps the
    # highlighting of one's own snippets, which takes SQLAlchemy to write).
    url = f"sqlite:///{collection_path}"
    run = cli_process(["--db", url, *args, str(through_url)], SQLALCHEMY)
    assert run.loaded == SQLALCHEMY
    run = cli_process(["--db", str(collection_path), *args, str(direct)], SQLALCHEMY)
    assert run.loaded == []
    # Its connection, the last to close, took the WAL's files away, as quizzer.db's do.
    assert sorted(p.name for p in collection_path.parent.glob("quizzer.db*")) == ["quizzer.db"]
    assert run.output == f"wrote {direct}: 310 notes, 310 cards, 10 decks"
    assert direct.read_bytes() == through_url.read_bytes()


def test_an_unknown_deck_is_refused_as_through_sqlalchemy(
    collection_path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "x.apkg"
    for target in (str(collection_path), f"sqlite:///{collection_path}"):
        result = cli_for(target)("export", "-o", str(out), "--deck", "own", "--deck", "nope")
        assert result.exit_code == 1
        assert result.output == "Error: nope: no such deck (see `quizzer decks`)\n"
        assert not out.exists()


def test_an_older_schema_is_upgraded_then_exported(collection_path: Path, tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    config = Config()
    config.set_main_option("script_location", str(db.resource_dir("migrations")))
    engine = create_engine(f"sqlite:///{collection_path}")
    with engine.begin() as sa_connection:
        config.attributes["connection"] = sa_connection
        command.downgrade(config, db.SCHEMA_REVISIONS[-2])
    engine.dispose()
    assert sqlite_direct.open_current(str(collection_path)) is None
    out = tmp_path / "old.apkg"
    run = cli_process(["--db", str(collection_path), "export", "-o", str(out)])
    assert run.output.startswith(f"wrote {out}: ")
    with sqlite3.connect(collection_path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (db.SCHEMA_HEAD,)
        ]
    connection.close()
    reader = sqlite_direct.open_current(str(collection_path))
    assert reader is not None
    reader.close()


def test_what_an_export_highlights_is_kept_and_the_next_export_loads_neither_lexer_nor_sqlalchemy(
    invoke: Invoke, db_path: Path, tmp_path: Path
) -> None:
    _ok(invoke("import", str(write(tmp_path / "own.yaml", OWN))))
    first = cli_process(["--db", str(db_path), "export", "-o", str(tmp_path / "1.apkg")])
    assert first.output.startswith("wrote ")
    with sqlite3.connect(db_path) as connection:
        (kept,) = connection.execute("SELECT count(*) FROM highlight_cache").fetchone()
    connection.close()
    assert kept == 2  # own/scale's code (the day's variant) and own/close's
    again = tmp_path / "2.apkg"
    run = cli_process(
        ["--db", str(db_path), "export", "-o", str(again)],
        [*SQLALCHEMY, "quizzer.pylexer", "pygments.lexers.python"],
    )
    assert run.loaded == []
    assert again.read_bytes() == (tmp_path / "1.apkg").read_bytes()


@pytest.mark.parametrize(
    "target",
    ["", "postgresql://nobody@localhost/none", "missing.db", "a-folder"],
)
def test_what_is_not_an_up_to_date_file_is_left_to_sqlalchemy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-folder").mkdir()
    assert sqlite_direct.open_current(target) is None
    assert exportread.read_direct(target) is None


def test_the_direct_reader_cannot_write(collection_path: Path) -> None:
    reader = sqlite_direct.open_current(str(collection_path))
    assert reader is not None
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader._connection.execute("DELETE FROM decks")
    reader.close()


def test_a_file_that_is_not_quizzers_is_left_to_sqlalchemy(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    connection.close()
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, long enough to have a header\n" * 20)
    assert sqlite_direct.open_current(str(other)) is None
    assert sqlite_direct.open_current(str(text)) is None
