"""Moving a collection out: an Anki package's notes, and deck files (``export``).

Functions take a Session and never commit; writing the package is ``quizzer.anki``'s.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from quizzer import deckfile, store
from quizzer.deckfile.writer import SCHEMA_FILE
from quizzer.errors import QuizzerError
from quizzer.files import write_bytes_atomically
from quizzer.orm import Deck, HighlightCache, Question
from quizzer.questions import Content, answer_for


def export_questions(
    session: Session,
    *,
    decks: Sequence[str] = (),
    today: date | None = None,
    python: str | None = None,
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
    """
    from quizzer.anki import ExportQuestion, deck_titles

    for slug in decks:
        store.get_deck(session, slug)
    # Columns, not ORM objects: loading 10k Question objects was a fifth of an export.
    stmt = (
        select(
            Deck.slug,
            Deck.title,
            Deck.tags.label("deck_tags"),
            Deck.changed_at.label("deck_changed_at"),
            Question.qid,
            Question.type,
            Question.prompt,
            Question.code,
            Question.answer,
            Question.choices,
            Question.explanation,
            Question.tags,
            Question.changed_at,
            Question.python,
            Question.variants,
            Question.answers_by_python,
        )
        .join(Deck, Deck.id == Question.deck_id)
        .where(Question.retired.is_(False))
        .order_by(Deck.slug, Question.position, Question.id)
    )
    if decks:
        stmt = stmt.where(Deck.slug.in_(decks))
    # Over every deck, so that exporting one deck names it as exporting all does.
    every_deck = session.execute(select(Deck.slug, Deck.title))
    titles = deck_titles({slug: title for slug, title in every_deck})
    exported = []
    for row in session.execute(stmt):
        code, changed_at = row.code, max(row.changed_at, row.deck_changed_at)
        answer = row.answer
        if python is not None:
            answer = answer_for(row.answer, row.answers_by_python, python)
        if row.variants and today is not None:
            shown = today.toordinal() % (1 + len(row.variants))
            if shown:
                code, answer = row.variants[shown - 1]["code"], row.variants[shown - 1]["answer"]
            changed_at = max(changed_at, datetime.combine(today, time(), tzinfo=UTC))
        exported.append(
            ExportQuestion(
                deck_slug=row.slug,
                deck_title=titles[row.slug],
                qid=row.qid,
                type=row.type,
                prompt=row.prompt,
                code=code,
                answer=answer,
                choices=tuple(row.choices) if row.choices is not None else None,
                explanation=row.explanation,
                tags=tuple(dict.fromkeys([*(row.deck_tags or []), *(row.tags or [])])),
                changed_at=changed_at,
                python=row.python,
            )
        )
    if not exported:
        raise QuizzerError("nothing to export: no questions (import decks first)")
    return exported


def cached_highlights(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """The highlighted HTML the database holds for ``codes``, by ``highlight.cache_key``.

    Only the snippets asked for are read (in chunks), not the whole cache.
    """
    from quizzer.highlight import cache_key

    keys = sorted({cache_key(code.rstrip()) for code in codes if code and code.strip()})
    found: dict[str, str] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        stmt = select(HighlightCache.digest, HighlightCache.html).where(
            HighlightCache.digest.in_(chunk)
        )
        found.update({digest: html for digest, html in session.execute(stmt)})
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
    return deckfile.Question(id=question.qid, **Content.of(question).columns())


def deck_file_of(session: Session, deck: Deck) -> deckfile.Deck:
    """A deck and its active questions in deck-file form, in file order."""
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
