"""What an Anki export reads: the active questions as notes, and their highlighted code.

One definition for two ways of reading. Each function takes a ``fetch``: the rows of a
statement by its name, the statements being ``transfer.DIRECT_STATEMENTS`` (SQLAlchemy
Core). ``transfer`` runs them through a Session, on any database; :func:`read_direct`
runs their SQLite text with the standard library (``sqlite_direct``), so that an export
of an up-to-date SQLite collection does not import SQLAlchemy, which alone takes longer
than writing the bundled decks' notes. Functions never write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from quizzer.errors import NotFoundError, QuizzerError
from quizzer.questions import RUNNING_PYTHON, answer_for, python_version

#: The rows of the statement named first, with the parameters given by name.
Fetch = Callable[[str, Mapping[str, Any]], Sequence[Sequence[Any]]]

#: Keys per IN list (SQLite's limit on bound parameters is far above it).
CHUNK = 500


def target_python(fetch: Fetch) -> str:
    """The version whose answers an export uses: ``collection.target_python`` for a
    fetch (the ``python`` setting is a string, stored as JSON)."""
    rows = fetch("setting", {"key": "python"})
    return python_version(str(rows[0][0]) if rows else RUNNING_PYTHON)


def export_questions(
    fetch: Fetch,
    *,
    decks: Sequence[str] = (),
    today: date | None = None,
    python: str | None = None,
    schedules: Callable[[list[int]], Mapping[int, Any]] | None = None,
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

    ``schedules`` gives the cards' schedules (``anki.AnkiSchedule``) by question id, for
    the ids of the questions exported (``export --with-progress``).
    """
    from quizzer.anki import ExportQuestion, deck_titles

    # What is the deck's is read once per deck, not per row. JSON columns come as their
    # text, and each distinct text is decoded once (_JsonText): most are "null" or one of
    # a few tag lists.
    deck_rows = fetch("decks", {})
    # Over every deck, so that exporting one deck names it as exporting all does.
    titles = deck_titles({slug: title for slug, title, *_ in deck_rows})
    of_deck = {
        slug: (changed, tags, description) for slug, _, changed, tags, description in deck_rows
    }
    for slug in decks:
        if slug not in of_deck:
            raise NotFoundError.deck(slug)
    if decks:
        rows: list[Sequence[Any]] = []
        # Deck by deck in the order of their slugs: the order one query over all of them
        # gives (by slug, then position).
        for slug in sorted(set(decks)):
            rows.extend(fetch("deck_questions", {"slug": slug}))
    else:
        rows = list(fetch("questions", {}))
    progress = schedules([row[1] for row in rows]) if schedules is not None else {}
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


def cached_highlights(fetch: Fetch, codes: Iterable[str | None]) -> dict[str, str]:
    """The highlighted HTML known for ``codes``, by ``highlight.cache_key``: what the
    database holds, and for the rest what quizzer ships for the bundled decks' snippets
    (``highlight.shipped_html``), so that their first export highlights nothing.

    Only the snippets asked for are read (in chunks), not the whole cache.
    """
    from quizzer.highlight import cache_key, shipped_html

    keys = sorted({cache_key(code.rstrip()) for code in codes if code and code.strip()})
    found: dict[str, str] = {}
    for start in range(0, len(keys), CHUNK):
        rows = fetch("highlights", {"keys": keys[start : start + CHUNK]})
        found.update({digest: html for digest, html in rows})
    if len(found) < len(keys):
        shipped = shipped_html()
        found.update({key: shipped[key] for key in keys if key not in found and key in shipped})
    return found


def read_direct(
    target: str | None, *, decks: Sequence[str] = (), today: date | None = None
) -> tuple[list[Any], dict[str, str]] | None:
    """:func:`export_questions` (for the ``python`` setting) and :func:`cached_highlights`
    of the collection ``target`` names, read without SQLAlchemy; None where that cannot be
    done (``sqlite_direct``): the caller reads through ``quizzer.db`` instead.

    Raises what :func:`export_questions` raises (no such deck, nothing to export).
    """
    from quizzer.sqlite_direct import Unusable, open_current

    reader = open_current(target)
    if reader is None:
        return None
    try:
        questions = export_questions(
            reader.fetch, decks=decks, today=today, python=target_python(reader.fetch)
        )
        return questions, cached_highlights(reader.fetch, (q.code for q in questions))
    except Unusable:
        return None
    finally:
        reader.close()
