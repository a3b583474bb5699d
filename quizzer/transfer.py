"""Moving a collection out (``export``): the statements an Anki package's notes are read
with (what is made of their rows is ``quizzer.exportread``'s), the cards' schedules and
review logs, the highlighting kept for the next export, and deck files.

Functions take a Session and never commit; writing the package is ``quizzer.anki``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, Text, bindparam, cast, insert, select
from sqlalchemy.orm import Session

from quizzer import exportread, fsrs6, store
from quizzer.errors import QuizzerError
from quizzer.orm import Card, Deck, HighlightCache, Question, Review, Setting
from quizzer.questions import Content

if TYPE_CHECKING:
    # The deck-file side (pydantic, PyYAML) loads only where deck files are made: an Anki
    # export needs none of it.
    from quizzer import deckfile


def _question_columns() -> Select[Any]:
    """The columns of the questions an export reads, one row per active question, in
    deck (slug) and position order; ``exportread.export_questions`` unpacks them."""
    deck_columns, columns = Deck.__table__.c, Question.__table__.c
    return (
        select(
            deck_columns.slug,
            columns.id,
            columns.qid,
            columns.type,
            columns.prompt,
            columns.code,
            columns.answer,
            cast(columns.choices, Text),
            columns.explanation,
            cast(columns.tags, Text),
            columns.changed_at,
            columns.python,
            cast(columns.variants, Text),
            cast(columns.answers_by_python, Text),
        )
        .select_from(Question.__table__.join(Deck.__table__, deck_columns.id == columns.deck_id))
        .where(columns.retired.is_(False))
        .order_by(deck_columns.slug, columns.position, columns.id)
    )


def _deck_columns() -> Select[Any]:
    deck_columns = Deck.__table__.c
    return select(
        deck_columns.slug,
        deck_columns.title,
        deck_columns.changed_at,
        cast(deck_columns.tags, Text),
        deck_columns.description,
    )


def _highlights() -> Select[Any]:
    table = HighlightCache.__table__.c
    return select(table.digest, table.html).where(
        table.digest.in_(bindparam("keys", expanding=True))
    )


#: What an Anki export reads (``exportread``), by name: Core columns, not ORM entities
#: (no ORM machinery per row, the rows unpacked as tuples), JSON columns as their text (a
#: cast: PostgreSQL's driver would decode JSON itself). They run through a Session
#: (:func:`session_fetch`) or, compiled for SQLite ahead (``direct_sql.json``, written by
#: ``bench/direct_sql.py``), with the standard library (``sqlite_direct``).
DIRECT_STATEMENTS: dict[str, Callable[[], Select[Any]]] = {
    "setting": lambda: select(Setting.__table__.c.value).where(
        Setting.__table__.c.key == bindparam("key")
    ),
    "decks": _deck_columns,
    "questions": _question_columns,
    "deck_questions": lambda: _question_columns().where(Deck.__table__.c.slug == bindparam("slug")),
    "highlights": _highlights,
}


def session_fetch(session: Session) -> exportread.Fetch:
    """``exportread``'s fetch through ``session``: each statement built once."""
    built: dict[str, Select[Any]] = {}

    def fetch(name: str, params: Mapping[str, Any]) -> Sequence[Any]:
        statement = built.get(name)
        if statement is None:
            statement = built[name] = DIRECT_STATEMENTS[name]()
        return session.execute(statement, dict(params)).all()

    return fetch


def direct_statements() -> dict[str, Any]:
    """:data:`DIRECT_STATEMENTS` in SQLite's SQL, as ``sqlite_direct`` runs them: the text,
    its parameters in order (and which expand to a list), and the name of the converter
    of each column SQLAlchemy would convert (``sqlite_direct.CONVERTERS``)."""
    from sqlalchemy import JSON, Boolean, Date, Integer, String
    from sqlalchemy.dialects import sqlite

    from quizzer.db import SCHEMA_HEAD
    from quizzer.orm import UTCDateTime

    def converter(kind: Any) -> str | None:
        if isinstance(kind, UTCDateTime):
            return "utc_datetime"
        if isinstance(kind, JSON):
            return "json"
        if isinstance(kind, Boolean):
            return "bool"
        if isinstance(kind, Date):
            return "date"
        if isinstance(kind, Integer | String):  # Text is a String
            return None
        raise TypeError(f"no direct converter for a column of type {kind!r}")

    statements: dict[str, Any] = {}
    for name, build in DIRECT_STATEMENTS.items():
        statement = build()
        compiled = statement.compile(dialect=sqlite.dialect())
        params = list(compiled.positiontup or ())
        statements[name] = {
            "sql": compiled.string,
            "params": params,
            "expanding": [p for p in params if compiled.binds[p].expanding],
            "columns": [converter(column.type) for column in statement.selected_columns],
        }
    return {"revision": SCHEMA_HEAD, "statements": statements}


def export_questions(
    session: Session,
    *,
    decks: Sequence[str] = (),
    today: date | None = None,
    python: str | None = None,
    with_progress: bool = False,
    fsrs: fsrs6.Config | None = None,
) -> list[Any]:
    """``exportread.export_questions`` through ``session``; ``with_progress`` adds each
    card's schedule and graded answers (see :func:`schedules`), ``fsrs`` being FSRS's
    configuration when FSRS schedules (None under SM-2)."""
    return exportread.export_questions(
        session_fetch(session),
        decks=decks,
        today=today,
        python=python,
        schedules=(lambda ids: schedules(session, ids, fsrs=fsrs)) if with_progress else None,
    )


def schedules(
    session: Session, question_ids: Sequence[int], *, fsrs: fsrs6.Config | None = None
) -> dict[int, Any]:
    """Each card's schedule and graded answers as ``anki.AnkiSchedule``s (by question id).

    Drills (answers on the day of the card's last graded one) change no schedule and are
    left out: Anki's log then holds one row per graded answer. A quality becomes Anki's
    button as FSRS rates it (0-2 Again, 3 Hard, 4 Good, 5 Easy). While FSRS schedules
    (``fsrs`` given), the due date and memory state are FSRS's and the interval
    runs from the last answer to that date.
    """
    from quizzer.anki import AnkiAnswer, AnkiSchedule

    wanted = set(question_ids)
    answers: dict[int, list[AnkiAnswer]] = {}
    last_interval: dict[int, int] = {}
    # Columns, not ORM objects, and the questions picked in Python: a log of 100k answers
    # loads in one pass, and no statement carries 10k ids as parameters.
    reviews = (
        select(
            Review.question_id,
            Review.answered_at,
            Review.day,
            Review.quality,
            Review.seconds,
            Review.scheduler,
            Review.interval_after,
            Review.due_after,
            Review.ease_after,
            Review.last_graded_before,
        )
        .where(Review.kind == "graded")
        .order_by(Review.question_id, Review.id)
    )
    for review in session.execute(reviews):
        if review.question_id not in wanted:
            continue
        if review.scheduler == "fsrs":
            interval = (review.due_after - review.day).days
        else:
            interval = review.interval_after
        answers.setdefault(review.question_id, []).append(
            AnkiAnswer(
                answered_at=_moment(review.answered_at, review.day),
                button=fsrs6.rating(review.quality),
                interval=interval,
                last_interval=last_interval.get(review.question_id, 0),
                factor=review.ease_after * 10,
                milliseconds=round((review.seconds or 0) * 1000),
                first=review.last_graded_before is None,
            )
        )
        last_interval[review.question_id] = interval
    result: dict[int, Any] = {}
    for card in session.scalars(select(Card)):
        if card.question_id not in wanted:
            continue
        memory = fsrs is not None and card.stability is not None
        interval = card.interval
        if memory and card.last_graded is not None:
            interval = (card.due - card.last_graded).days
        result[card.question_id] = AnkiSchedule(
            interval=interval,
            due=card.due,
            factor=card.ease * 10,
            lapses=card.lapses,
            last_review=card.last_graded,
            suspended=card.suspended,
            stability=card.stability if memory else None,
            difficulty=card.difficulty if memory else None,
            desired_retention=fsrs.desired_retention if fsrs and memory else None,
            decay=fsrs6.decay(fsrs) if fsrs and memory else None,
            answers=tuple(answers.get(card.question_id, ())),
        )
    return result


def _moment(answered_at: datetime, day: date) -> datetime:
    """When Anki's log says an answer was given: its time, unless that is not on its day
    (with ``--today``, or a log brought from elsewhere): then noon UTC of the day, as Anki
    reads the day of an answer off its time."""
    if abs((answered_at.date() - day).days) <= 1:
        return answered_at
    return datetime.combine(day, time(12), tzinfo=UTC)


def cached_highlights(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """``exportread.cached_highlights`` through ``session``."""
    return exportread.cached_highlights(session_fetch(session), codes)


def remember_highlights(session: Session, highlighted: Mapping[str, str]) -> int:
    """Keep newly highlighted HTML (``cache_key`` -> HTML) for the next export; how many."""
    if not highlighted:
        return 0
    # Another export may have stored some meanwhile: only the missing ones are added.
    keys = sorted(highlighted)
    present: set[str] = set()
    for start in range(0, len(keys), exportread.CHUNK):
        chunk = keys[start : start + exportread.CHUNK]
        present.update(
            session.scalars(select(HighlightCache.digest).where(HighlightCache.digest.in_(chunk)))
        )
    rows = [{"digest": k, "html": highlighted[k]} for k in keys if k not in present]
    if rows:
        session.execute(insert(HighlightCache), rows)
    return len(rows)


def question_file(question: Question) -> deckfile.Question:
    """A stored question in deck-file form."""
    from quizzer import deckfile

    return deckfile.Question(id=question.qid, **Content.of(question).columns())


def deck_file_of(session: Session, deck: Deck) -> deckfile.Deck:
    """A deck and its active questions in deck-file form, in file order."""
    from quizzer import deckfile

    rows = session.scalars(
        select(Question)
        .where(Question.deck_id == deck.id, Question.retired.is_(False))
        .order_by(Question.position, Question.id)
    )
    return deckfile.Deck(
        deck=deck.slug,
        title=deck.title,
        description=deck.description,
        tags=list(deck.tags or []),
        questions=[question_file(q) for q in rows],
    )


def export_yaml(session: Session, out_dir: Path, *, decks: Sequence[str] = ()) -> list[Path]:
    """Write each deck (custom ones too) as ``OUT_DIR/<slug>.yaml``; returns the files."""
    from quizzer import deckfile
    from quizzer.deckfile.writer import SCHEMA_FILE
    from quizzer.files import write_bytes_atomically

    chosen = [store.get_deck(session, slug) for slug in decks] or list(
        session.scalars(select(Deck).order_by(Deck.slug))
    )
    if not chosen:
        raise QuizzerError("no decks to export")
    written = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        # Beside the decks, so the modeline in each lets an editor check it with no setup.
        schema = json.dumps(deckfile.json_schema(), indent=2, ensure_ascii=False) + "\n"
        write_bytes_atomically(out_dir / SCHEMA_FILE, schema.encode())
        for deck in chosen:
            path = out_dir / f"{deck.slug}.yaml"
            write_bytes_atomically(
                path,
                deckfile.dump_deck(deck_file_of(session, deck), schema=f"./{SCHEMA_FILE}").encode(),
            )
            written.append(path)
    except OSError as exc:
        raise QuizzerError(
            f"{out_dir}: cannot write deck files there: {exc.strerror or exc}"
        ) from None
    return written
