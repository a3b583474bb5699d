"""Moving a collection out: an Anki package's notes, and deck files (``export``).

Functions take a Session and never commit; writing the package is ``quizzer.anki``'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, cast, insert, select
from sqlalchemy.orm import Session

from quizzer import fsrs6, store
from quizzer.errors import QuizzerError
from quizzer.orm import Card, Deck, HighlightCache, Question, Review
from quizzer.questions import Content, answer_for

if TYPE_CHECKING:
    # The deck-file side (pydantic, PyYAML) loads only where deck files are made: an Anki
    # export needs none of it.
    from quizzer import deckfile


def export_questions(
    session: Session,
    *,
    decks: Sequence[str] = (),
    today: date | None = None,
    python: str | None = None,
    with_progress: bool = False,
    fsrs: fsrs6.Config | None = None,
) -> list[Any]:
    """The active questions of ``decks`` (all when empty) as ``anki.ExportQuestion``s.

    A question with answers by version gets the answer for Python ``python`` (a version
    such as ``"3.12"``; None: its ``answer``).

    A note counts as changed when its question or its deck's tags changed (the title
    names the Anki deck, in no note).

    A question that varies is exported as one of its variants: the one ``today`` picks
    (its ordinal day, modulo the number of variants; the question's own without
    ``today``), dated no earlier than that day's start, so the package of another day is
    a newer revision of the note that Anki takes, keeping the card and its schedule.

    ``with_progress`` adds each card's schedule and graded answers (see
    :func:`schedules`); ``fsrs`` is FSRS's configuration when FSRS schedules (None under
    SM-2).
    """
    from quizzer.anki import ExportQuestion, deck_titles

    for slug in decks:
        store.get_deck(session, slug)
    # Core columns of the tables, not ORM entities or attributes: no ORM machinery per row,
    # and the rows unpacked as tuples. What is the deck's is read once per deck, not per
    # row. JSON columns come as their text (a cast: PostgreSQL's driver would decode JSON
    # itself) and each distinct text is decoded once (_JsonText): most are "null" or one
    # of a few tag lists.
    deck_columns, columns = Deck.__table__.c, Question.__table__.c
    deck_rows = session.execute(
        select(
            deck_columns.slug,
            deck_columns.title,
            deck_columns.changed_at,
            cast(deck_columns.tags, Text),
            deck_columns.description,
        )
    ).all()
    # Over every deck, so that exporting one deck names it as exporting all does.
    titles = deck_titles({slug: title for slug, title, *_ in deck_rows})
    of_deck = {
        slug: (changed, tags, description) for slug, _, changed, tags, description in deck_rows
    }
    stmt = (
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
    if decks:
        stmt = stmt.where(deck_columns.slug.in_(decks))
    rows = session.execute(stmt).all()
    progress = schedules(session, [row[1] for row in rows], fsrs=fsrs) if with_progress else {}
    decoded = _JsonText()
    tag_lists: dict[tuple[str | None, str | None], tuple[str, ...]] = {}
    exported = []
    for (
        slug,
        question_id,
        qid,
        kind,
        prompt,
        code,
        answer,
        choices_text,
        explanation,
        tags_text,
        question_changed,
        python_range,
        variants_text,
        by_python_text,
    ) in rows:
        deck_changed, deck_tags_text, description = of_deck[slug]
        changed_at = max(question_changed, deck_changed)
        if python is not None and by_python_text is not None:
            answer = answer_for(answer, decoded[by_python_text], python)
        variants = decoded[variants_text] if variants_text is not None else None
        if variants and today is not None:
            shown = today.toordinal() % (1 + len(variants))
            if shown:
                code, answer = variants[shown - 1]["code"], variants[shown - 1]["answer"]
            changed_at = max(changed_at, datetime.combine(today, time(), tzinfo=UTC))
        tags = tag_lists.get((deck_tags_text, tags_text))
        if tags is None:
            deck_tags = decoded[deck_tags_text] if deck_tags_text is not None else None
            own_tags = decoded[tags_text] if tags_text is not None else None
            tags = tag_lists[deck_tags_text, tags_text] = tuple(
                dict.fromkeys([*(deck_tags or []), *(own_tags or [])])
            )
        choices = decoded[choices_text] if choices_text is not None else None
        exported.append(
            ExportQuestion(
                deck_slug=slug,
                deck_title=titles[slug],
                qid=qid,
                type=kind,
                prompt=prompt,
                code=code,
                answer=answer,
                choices=tuple(choices) if choices is not None else None,
                explanation=explanation,
                tags=tags,
                changed_at=changed_at,
                python=python_range,
                schedule=progress.get(question_id),
                deck_description=description,
            )
        )
    if not exported:
        raise QuizzerError("nothing to export: no questions (import decks first)")
    return exported


class _JsonText(dict[str, Any]):
    """JSON text -> its value, each distinct text decoded once. The values are shared
    between rows: read them, never change them."""

    def __missing__(self, text: str) -> Any:
        value = self[text] = json.loads(text)
        return value


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
    """The highlighted HTML known for ``codes``, by ``highlight.cache_key``: what the
    database holds, and for the rest what quizzer ships for the bundled decks' snippets
    (``highlight.shipped_html``), so that their first export highlights nothing.

    Only the snippets asked for are read (in chunks), not the whole cache.
    """
    from quizzer.highlight import cache_key, shipped_html

    keys = sorted({cache_key(code.rstrip()) for code in codes if code and code.strip()})
    found: dict[str, str] = {}
    table = HighlightCache.__table__.c
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        stmt = select(table.digest, table.html).where(table.digest.in_(chunk))
        found.update({digest: html for digest, html in session.execute(stmt)})
    if len(found) < len(keys):
        shipped = shipped_html()
        found.update({key: shipped[key] for key in keys if key not in found and key in shipped})
    return found


def remember_highlights(session: Session, highlighted: Mapping[str, str]) -> int:
    """Keep newly highlighted HTML (``cache_key`` -> HTML) for the next export; how many."""
    if not highlighted:
        return 0
    # Another export may have stored some meanwhile: only the missing ones are added.
    keys = sorted(highlighted)
    present: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        present.update(
            session.scalars(select(HighlightCache.digest).where(HighlightCache.digest.in_(chunk)))
        )
    rows = [{"digest": k, "html": highlighted[k]} for k in keys if k not in present]
    if rows:
        session.execute(insert(HighlightCache), rows)
    return len(rows)


#: Keys per IN list (SQLite's limit on bound parameters is far above it).
_CHUNK = 500


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
