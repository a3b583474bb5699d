"""Importing Anki packages (.apkg, .colpkg): read and convert with no lock held, then bring
the database in line in the caller's one transaction. Functions take a Session and never
commit.

Every note becomes a question of a deck of the user's own (as ``add`` makes them), found
again by the same id on the next import: a quizzer note by its ``QuizzerId``, any other by
a hash of its Anki GUID. ``with_progress`` brings each note's first card's review log and
schedule along (see _history for the mapping).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from quizzer import ankinotes, ankipkg, review, scheduler, store
from quizzer.bulk import gc_paused
from quizzer.errors import QuizzerError
from quizzer.importing import upsert_deck
from quizzer.orm import Card, Deck, Question, Review

if TYPE_CHECKING:
    from quizzer import deckfile

#: Anki's answer buttons as SM-2 qualities: Again 1 (a lapse), Hard 3, Good 4, Easy 5.
QUALITY_OF_EASE: Final = {1: 1, 2: 3, 3: 4, 4: 5}
#: The suffix given to an Anki deck whose slug is a deck file's: that deck is the file's.
CLASH_SUFFIX: Final = "-anki"

# Anki's card types and queues.
_NEW, _SUSPENDED = 0, -1
_LEARNING_QUEUE, _DAY_LEARNING_QUEUE, _REVIEW_QUEUE = 1, 3, 2
# revlog types that are not answers: manual rescheduling (4), "set due date" (5).
_NOT_ANSWERS = (4, 5)


@dataclass
class Planned:
    """One note converted: the question, the deck it goes to, its first card and answers."""

    question: deckfile.Question
    deck_slug: str
    deck_title: str
    #: The Anki deck's description as text (given to a deck made by this import).
    deck_description: str | None
    quizzer_note: bool
    card: ankipkg.Card | None
    answers: list[ankipkg.RevlogEntry]


@dataclass
class PackagePlan:
    """A package read and converted, ready to be applied."""

    path: Path
    form: str
    created: int
    planned: list[Planned]
    notes: int
    media: int
    #: Why notes were left out, with how many each.
    skipped: Counter[str] = field(default_factory=Counter)


@dataclass
class PackageImport:
    """What importing one package did."""

    path: str
    form: str
    notes: int
    decks: list[str] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    media: int = 0
    #: Notes moved to another deck in Anki since the last import: moved here too.
    moved: int = 0
    #: With progress: answers brought in, and cards whose quizzer history was kept instead.
    reviews: int = 0
    progress_kept: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.path,
            "form": self.form,
            "notes": self.notes,
            "decks": self.decks,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "moved": self.moved,
            "skipped": self.skipped,
            "media_skipped": self.media,
            "reviews": self.reviews,
            "progress_kept": self.progress_kept,
        }


def plan_package(path: Path, *, with_progress: bool) -> PackagePlan:
    """Read and convert the package at ``path``; no database, no lock held."""
    from quizzer import deckfile

    collection = ankipkg.read_package(path, with_progress=with_progress)
    first_card: dict[int, ankipkg.Card] = {}
    for card in collection.cards:  # ordered by note, then ord
        first_card.setdefault(card.note_id, card)
    answers: dict[int, list[ankipkg.RevlogEntry]] = {}
    for entry in collection.revlog:
        answers.setdefault(entry.card_id, []).append(entry)
    plan = PackagePlan(path, collection.form, collection.created, [], len(collection.notes), 0)
    media: set[str] = set(collection.media_files)
    descriptions = {
        deck_id: ankinotes.html_to_text(text) or None
        for deck_id, text in collection.descriptions.items()
    }
    seen: set[tuple[str, str]] = set()
    for note in collection.notes:
        notetype = collection.notetypes.get(note.notetype_id)
        if notetype is None:
            plan.skipped["its note type is missing"] += 1
            continue
        found = first_card.get(note.id)
        try:
            converted = ankinotes.convert(note, notetype, card_ord=found.ord if found else 0)
        except ankinotes.NotText as exc:
            plan.skipped[str(exc)] += 1
            continue
        media |= converted.media
        deck_name = collection.decks.get(found.deck_id, "Default") if found else "Default"
        if converted.deck_slug is not None:
            slug = converted.deck_slug
            title = deck_name.removeprefix(f"{ankinotes.QUIZZER_TAG_ROOT}::") or slug
        else:
            slug, title = ankinotes.deck_slug(deck_name), deck_name
        try:
            deckfile.validate_slug(slug, what="deck")
        except QuizzerError:
            plan.skipped["its deck name is not a slug"] += 1
            continue
        if (slug, converted.qid) in seen:
            plan.skipped["the same question twice"] += 1
            continue
        try:
            question = deckfile.Question.model_validate(_question_fields(converted))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "question"
            plan.skipped[f"{where}: {str(first['msg']).removeprefix('Value error, ')}"] += 1
            continue
        seen.add((slug, converted.qid))
        plan.planned.append(
            Planned(
                question=question,
                deck_slug=slug,
                deck_title=title,
                deck_description=descriptions.get(found.deck_id) if found else None,
                quizzer_note=converted.deck_slug is not None,
                card=found,
                answers=answers.get(found.id, []) if found else [],
            )
        )
    plan.media = len(media)
    return plan


def _question_fields(converted: ankinotes.Converted) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": converted.qid,
        "type": converted.type,
        "prompt": converted.prompt,
        "answer": converted.answer,
        "tags": converted.tags,
    }
    for name in ("code", "choices", "explanation", "python"):
        value = getattr(converted, name)
        if value is not None:
            fields[name] = value
    return fields


@gc_paused()
def apply_package(
    session: Session, plan: PackagePlan, *, now: datetime, today: date, with_progress: bool
) -> PackageImport:
    """Bring the database in line with a planned package import (the caller's transaction).

    Questions are added or updated in decks of the user's own, never retired. A deck file's
    deck is not written to: a quizzer note of such a deck is left to its file (skipped), and
    another Anki deck of that slug goes to ``<slug>-anki``.
    """
    from quizzer import deckfile

    report = PackageImport(str(plan.path), plan.form, plan.notes, media=plan.media)
    skipped = Counter(plan.skipped)
    file_decks = {
        slug for (slug,) in session.execute(select(Deck.slug).where(Deck.source.is_not(None)))
    }
    by_deck: dict[str, list[Planned]] = {}
    for item in plan.planned:
        slug = item.deck_slug
        if slug in file_decks:
            if item.quizzer_note:
                skipped["its deck is loaded from a deck file"] += 1
                continue
            slug = f"{slug[: 100 - len(CLASH_SUFFIX)]}{CLASH_SUFFIX}"
            if slug in file_decks:
                skipped["its deck is loaded from a deck file"] += 1
                continue
            item.deck_slug = slug
        by_deck.setdefault(slug, []).append(item)
    for slug, items in by_deck.items():
        deck = session.scalars(select(Deck).where(Deck.slug == slug)).one_or_none()
        if deck is None:
            title, description = items[0].deck_title, items[0].deck_description
            deck = Deck(slug=slug, title=title, tags=[], created_at=now, changed_at=now)
            deck.description = description
            session.add(deck)
            session.flush()
        report.moved += _move_here(session, deck, items)
        deck_file = deckfile.Deck.model_construct(
            deck=slug,
            title=items[0].deck_title,
            description=deck.description,
            tags=list(deck.tags or []),
            questions=[item.question for item in items],
        )
        done = upsert_deck(
            session, deck_file, source=None, now=now, today=today, retire_missing=False
        )
        report.decks.append(slug)
        report.added += done.added + done.restored
        report.updated += done.updated
        report.unchanged += done.unchanged
        if with_progress:
            _bring_progress(session, slug, items, plan.created, report)
    report.skipped = dict(sorted(skipped.items()))
    session.flush()
    return report


def _move_here(session: Session, deck: Deck, items: list[Planned]) -> int:
    """Move into ``deck`` the questions of notes that an earlier import put in another deck of
    one's own (the note was moved in Anki): with their history, not as copies."""
    wanted = {item.question.id for item in items if not item.quizzer_note}
    if not wanted:
        return 0
    elsewhere = [
        (row_id, qid)
        for row_id, qid in session.execute(
            select(Question.id, Question.qid)
            .join(Deck, Deck.id == Question.deck_id)
            .where(Deck.id != deck.id, Deck.source.is_(None), Question.qid.like("anki-%"))
        )
        if qid in wanted
    ]
    if not elsewhere:
        return 0
    here = set(session.scalars(select(Question.qid).where(Question.deck_id == deck.id)))
    moving = []
    for row_id, qid in elsewhere:
        if qid not in here:  # one question per id and deck: the first found moves
            here.add(qid)
            moving.append(row_id)
    if moving:
        session.execute(update(Question).where(Question.id.in_(moving)).values(deck_id=deck.id))
    return len(moving)


def _bring_progress(
    session: Session, slug: str, items: list[Planned], created: int, report: PackageImport
) -> None:
    """Add each card's answers and Anki's schedule, for questions with no history yet."""
    deck_id = session.scalars(select(Deck.id).where(Deck.slug == slug)).one()
    ids = {
        qid: row_id
        for qid, row_id in session.execute(
            select(Question.qid, Question.id).where(Question.deck_id == deck_id)
        )
    }
    answered = set(
        session.scalars(
            select(Review.question_id).where(Review.question_id.in_(list(ids.values()))).distinct()
        )
    )
    rows: list[dict[str, Any]] = []
    brought: list[int] = []
    for item in items:
        question_id = ids[item.question.id]
        if item.card is None or not item.answers:
            continue
        if question_id in answered:
            report.progress_kept += 1
            continue
        history = _history(item.answers, item.card, created=created)
        if not history:
            continue
        final = history[-1]
        card = session.get(Card, question_id)
        assert card is not None
        card.ease = final["ease_after"]
        card.repetitions = final["repetitions_after"]
        card.interval = final["interval_after"]
        card.due = final["due_after"]
        card.lapses = final["lapses_after"]
        card.last_graded = max(row["day"] for row in history if row["kind"] == "graded")
        card.suspended = item.card.queue == _SUSPENDED
        card.stability = card.difficulty = None
        rows += [{"question_id": question_id, **row} for row in history]
        brought.append(question_id)
    store.bulk_insert(session.connection(), Review.metadata.tables[Review.__tablename__], rows)
    report.reviews += len(rows)
    session.flush()
    fsrs = review.load_fsrs(session)
    if fsrs is not None and brought:
        # Under FSRS the memory state and due date come from the history, as on switching.
        review.refresh_fsrs(session, fsrs, brought)


def _local_day(moment: datetime) -> date:
    return moment.astimezone().date()


def _history(
    entries: list[ankipkg.RevlogEntry], card: ankipkg.Card, *, created: int
) -> list[dict[str, Any]]:
    """Review rows for one card's Anki answers.

    The first answer of a day is the day's graded answer (SM-2 quality from the button);
    later ones that day (learning and relearning steps) are drill answers, which change
    nothing, as in quizzer's own drill. Manual reschedulings are left out. Each graded
    answer moves the card through SM-2, and the last one ends where Anki's card is: its
    interval, due day and ease (factor / 10) when it is in review or learning.
    """
    rows: list[dict[str, Any]] = []
    first = min((e.id for e in entries), default=0)
    state = scheduler.new_card(_local_day(datetime.fromtimestamp(first / 1000, UTC)))
    for entry in entries:
        quality = QUALITY_OF_EASE.get(entry.ease)
        if quality is None or entry.type in _NOT_ANSWERS:
            continue
        moment = datetime.fromtimestamp(entry.id / 1000, UTC)
        day = _local_day(moment)
        if state.last_graded is not None and day < state.last_graded:
            continue  # clocks disagree; an answer before the last graded one changes nothing
        if state.last_graded == day:
            kind, after = "drill", state
        else:
            # Anki lets a card be answered early (filtered decks, "study ahead").
            before = state if day >= state.due else replace(state, due=day)
            kind, after = "graded", scheduler.answer(before, quality=quality, day=day).after
        rows.append(
            {
                "answered_at": moment,
                "day": day,
                "quality": quality,
                "kind": kind,
                "typed": None,
                "seconds": entry.time_ms / 1000 if entry.time_ms > 0 else None,
                **_columns(state, "before"),
                "leech_before": False,
                "suspended_before": False,
                **_columns(after, "after"),
                "scheduler": "sm2",
                "stability_before": None,
                "difficulty_before": None,
                "stability_after": None,
                "difficulty_after": None,
            }
        )
        state = after
    anki = _anki_state(card, state, created=created)
    if rows and anki is not None:
        last = max(i for i, row in enumerate(rows) if row["kind"] == "graded")
        rows[last].update(_columns(anki, "after"))
        for row in rows[last + 1 :]:  # that day's drills start and end there too
            row.update(_columns(anki, "before"), **_columns(anki, "after"))
    return rows


def _columns(state: scheduler.CardState, which: str) -> dict[str, Any]:
    columns = {
        f"ease_{which}": state.ease,
        f"repetitions_{which}": state.repetitions,
        f"interval_{which}": state.interval,
        f"due_{which}": state.due,
        f"lapses_{which}": state.lapses,
    }
    if which == "before":
        columns["last_graded_before"] = state.last_graded
    return columns


def _anki_state(
    card: ankipkg.Card, replayed: scheduler.CardState, *, created: int
) -> scheduler.CardState | None:
    """Anki's schedule of ``card`` as an SM-2 state (repetitions from the replay)."""
    if card.type == _NEW or replayed.last_graded is None:
        return None
    day_zero = _local_day(datetime.fromtimestamp(created, UTC))
    queue = card.queue
    if queue == _SUSPENDED or queue < -1:
        # Suspended and buried cards keep their due in the same units as their type's queue.
        queue = _REVIEW_QUEUE if card.type == 2 else _LEARNING_QUEUE
    try:
        if queue == _LEARNING_QUEUE and card.due > 10**8:
            due = _local_day(datetime.fromtimestamp(card.due, UTC))
        elif queue in (_REVIEW_QUEUE, _DAY_LEARNING_QUEUE):
            due = day_zero + timedelta(days=card.due)
        else:
            due = replayed.due
    except (OverflowError, ValueError, OSError):
        due = replayed.due
    return replace(
        replayed,
        ease=max(scheduler.MIN_EASE, card.factor // 10) if card.factor > 0 else replayed.ease,
        interval=card.ivl if card.ivl > 0 else replayed.interval,
        due=max(due, replayed.last_graded),
        lapses=card.lapses,
    )
