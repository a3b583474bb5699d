"""quizzer's use-cases. Each takes a Session and never commits: the command owns the transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, case, func, insert, select, update
from sqlalchemy.orm import Session, joinedload

from quizzer import scheduler
from quizzer.bulk import gc_paused
from quizzer.errors import DeckFileError, NotFoundError, QuizzerError, UsageError
from quizzer.orm import CardState, Deck, Question, Review

if TYPE_CHECKING:
    # Imported where needed: pydantic and PyYAML cost `review`'s start-up 0.2 s otherwise.
    from quizzer import deckfile

CONTENT_FIELDS = ("type", "prompt", "code", "answer", "choices", "explanation", "tags", "python")


# --- names --------------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str]:
    """Split ``DECK/ID`` into its parts; a usage error when it is not of that form."""
    deck_slug, sep, qid = name.partition("/")
    if not sep or not deck_slug or not qid or "/" in qid:
        raise UsageError(f"{name!r}: name a question as DECK/ID, e.g. python-closures/late-binding")
    return deck_slug, qid


def get_deck(session: Session, slug: str) -> Deck:
    """The deck with ``slug``, or NotFoundError."""
    deck = session.scalars(select(Deck).where(Deck.slug == slug)).one_or_none()
    if deck is None:
        raise NotFoundError(f"{slug}: no such deck (see `quizzer decks`)")
    return deck


def get_question(session: Session, name: str) -> Question:
    """The question named ``DECK/ID``, with its deck and state loaded, or NotFoundError."""
    deck_slug, qid = split_name(name)
    question = session.scalars(
        select(Question)
        .join(Question.deck)
        .options(joinedload(Question.deck), joinedload(Question.state))
        .where(Deck.slug == deck_slug, Question.qid == qid)
    ).one_or_none()
    if question is None:
        get_deck(session, deck_slug)
        raise NotFoundError(f"{name}: no such question in deck {deck_slug}")
    return question


# --- import -------------------------------------------------------------------------


def content_hash(question: deckfile.Question) -> str:
    """A hash of everything a learner sees of a question (not its id or position)."""
    data = question.model_dump(include=set(CONTENT_FIELDS))
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class DeckImport:
    """What importing one deck file did."""

    deck: str
    path: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    restored: int = 0
    new_deck: bool = False


@dataclass
class ImportReport:
    """What an import did, deck by deck."""

    decks: list[DeckImport] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return any(
            d.added or d.updated or d.retired or d.restored or d.new_deck for d in self.decks
        )

    def to_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "decks": [asdict(d) for d in self.decks]}


def apply_fields(row: Question, question: deckfile.Question) -> None:
    """Copy what a learner sees of ``question`` onto the stored ``row``."""
    row.type = question.type
    row.prompt = question.prompt
    row.code = question.code
    row.answer = question.answer
    row.choices = list(question.choices) if question.choices is not None else None
    row.explanation = question.explanation
    row.tags = list(question.tags)
    row.python = question.python


def new_question_row(
    deck: Deck, question: deckfile.Question, *, position: int, now: datetime, today: date
) -> Question:
    """A stored question for ``question`` with a new card's state (due ``today``)."""
    row = Question(
        deck=deck,
        qid=question.id,
        position=position,
        content_hash=content_hash(question),
        created_at=now,
        changed_at=now,
        retired=False,
    )
    apply_fields(row, question)
    row.state = CardState(leech=False, suspended=False)
    store_state(row.state, scheduler.new_card(today))
    return row


def _content_values(question: deckfile.Question) -> dict[str, Any]:
    """The stored columns of what a learner sees of ``question`` (as apply_fields sets them)."""
    return {
        "type": question.type,
        "prompt": question.prompt,
        "code": question.code,
        "answer": question.answer,
        "choices": list(question.choices) if question.choices is not None else None,
        "explanation": question.explanation,
        "tags": list(question.tags),
        "python": question.python,
    }


def _bulk_insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) with one executemany on the driver.

    SQLAlchemy's compiler writes the statement and the column types convert the values, as
    in ``connection.execute(insert(table), rows)``; what is skipped is its generic per-row
    parameter handling, which was two thirds of inserting 10k questions.
    """
    if not rows:
        return
    # Python-side column defaults are SQLAlchemy's to fill in, and are not filled in here.
    unset = [c.name for c in table.columns if c.default is not None and c.name not in rows[0]]
    if unset:
        raise ValueError(f"{table.name}: rows must give {', '.join(unset)}")
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    names = list(compiled.positiontup or rows[0])
    types = [table.c[name].type.dialect_impl(dialect) for name in names]
    converters = [(name, t.bind_processor(dialect)) for name, t in zip(names, types, strict=True)]
    converted = [
        [row[name] if convert is None else convert(row[name]) for name, convert in converters]
        for row in rows
    ]
    params: Any
    if compiled.positional:
        params = [tuple(values) for values in converted]
    else:
        params = [dict(zip(names, values, strict=True)) for values in converted]
    connection.exec_driver_sql(str(compiled), params)


def _insert_questions(
    session: Session, deck_id: int, rows: list[dict[str, Any]], *, today: date
) -> None:
    """Insert new questions of one deck and their new cards' states, in bulk."""
    if not rows:
        return
    # Then the ids are read back by qid: INSERT ... RETURNING in parameter order costs
    # SQLAlchemy quadratic time splicing the batches (10 s for 10k rows).
    connection = session.connection()
    _bulk_insert(connection, Question.metadata.tables[Question.__tablename__], rows)
    wanted = {row["qid"] for row in rows}
    ids = [
        row_id
        for row_id, qid in session.execute(
            select(Question.id, Question.qid).where(Question.deck_id == deck_id)
        )
        if qid in wanted
    ]
    start = scheduler.new_card(today)
    state = {
        "ease": start.ease,
        "repetitions": start.repetitions,
        "interval": start.interval,
        "due": start.due,
        "lapses": start.lapses,
        "last_graded": None,
        "leech": False,
        "suspended": False,
    }
    states = CardState.metadata.tables[CardState.__tablename__]
    _bulk_insert(connection, states, [{"question_id": i, **state} for i in ids])


def _update_questions(session: Session, changes: list[dict[str, Any]]) -> None:
    """Apply per-question changes (dicts with ``id``): one executemany per set of columns."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        by_columns.setdefault(tuple(sorted(change)), []).append(change)
    for group in by_columns.values():
        session.execute(update(Question), group)


def upsert_deck(
    session: Session,
    deck_file: deckfile.Deck,
    *,
    source: str | None,
    now: datetime,
    today: date,
    retire_missing: bool = True,
) -> DeckImport:
    """Bring one deck in the database in line with ``deck_file``.

    Edited questions keep their schedule and history; questions missing from the file
    are retired (not deleted) when ``retire_missing``; retired ones that come back are
    restored.
    """
    report = DeckImport(deck=deck_file.deck, path=source or "")
    deck = session.scalars(select(Deck).where(Deck.slug == deck_file.deck)).one_or_none()
    if deck is None:
        deck = Deck(slug=deck_file.deck, created_at=now, changed_at=now, title=deck_file.title)
        session.add(deck)
        report.new_deck = True
    tags = list(deck_file.tags)
    if report.new_deck or tags != list(deck.tags or []):
        # Deck tags go into every note of the deck; title and description into none, so
        # changing them must not update (and overwrite edits to) every note in Anki.
        deck.tags = tags
        deck.changed_at = now
    deck.title, deck.description = deck_file.title, deck_file.description
    if source is not None:
        deck.source = source
    if report.new_deck:
        session.flush()  # the deck's id, for its questions' rows
    # Plain rows and bulk statements, not ORM objects: a unit of work for 10k questions
    # took 4 s of a 6 s import. Only the columns compared are read back.
    existing: dict[str, tuple[int, int, bool, str]] = {}
    if not report.new_deck:
        existing = {
            qid: (row_id, position, retired, digest)
            for row_id, qid, position, retired, digest in session.execute(
                select(
                    Question.id,
                    Question.qid,
                    Question.position,
                    Question.retired,
                    Question.content_hash,
                ).where(Question.deck_id == deck.id)
            )
        }
    seen: set[str] = set()
    added: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for position, question in enumerate(deck_file.questions):
        seen.add(question.id)
        digest = content_hash(question)
        known = existing.get(question.id)
        if known is None:
            added.append(
                {
                    **_content_values(question),
                    "deck_id": deck.id,
                    "qid": question.id,
                    "position": position,
                    "content_hash": digest,
                    "created_at": now,
                    "changed_at": now,
                    "retired": False,
                }
            )
            report.added += 1
            continue
        row_id, old_position, retired, old_digest = known
        change: dict[str, Any] = {}
        if old_position != position:
            change["position"] = position
        if retired:
            change["retired"] = False
            report.restored += 1
        if old_digest != digest:
            change.update(_content_values(question), content_hash=digest, changed_at=now)
            report.updated += 1
        else:
            report.unchanged += 1
        if change:
            changes.append({"id": row_id, **change})
    if retire_missing:
        for qid, (row_id, _, retired, _) in existing.items():
            if qid not in seen and not retired:
                changes.append({"id": row_id, "retired": True})
                report.retired += 1
    _insert_questions(session, deck.id, added, today=today)
    _update_questions(session, changes)
    return report


@dataclass
class ImportPlan:
    """Deck files read and validated, ready to be applied in one short write transaction."""

    files: list[Path]
    digests: dict[Path, str | None]
    loaded: list[tuple[Path, Any]]
    #: Files whose bytes are those of a deck's last import: not parsed again.
    unchanged: list[Path]


def known_digests(session: Session) -> set[str]:
    """The digests of the deck files as they were last imported."""
    return set(session.scalars(select(Deck.source_digest).where(Deck.source_digest.is_not(None))))


def plan_import(paths: Sequence[Path], *, known: set[str]) -> ImportPlan:
    """Read and validate the deck files named by ``paths``; no database, no lock held.

    A file whose digest is in ``known`` has nothing new and is not parsed.
    """
    from quizzer.files import deck_paths

    files = list(deck_paths(paths))
    digests = {path: file_digest(path) for path in files}
    unchanged = [path for path in files if digests[path] in known]
    changed = [path for path in files if path not in unchanged]
    # Only files with something new load the parser (pydantic and all: 0.2 s of start-up).
    loaded = _load_decks(changed) if changed else []
    return ImportPlan(files, digests, loaded, unchanged)


@gc_paused()
def apply_import(session: Session, plan: ImportPlan, *, now: datetime, today: date) -> ImportReport:
    """Bring the database in line with a planned import (the caller's one transaction)."""
    report = ImportReport()
    by_digest = {
        deck.source_digest: deck
        for deck in session.scalars(
            select(Deck).where(Deck.source_digest.in_([plan.digests[p] for p in plan.unchanged]))
        )
    }
    loaded = list(plan.loaded)
    # Another process may have changed such a deck since the plan was made: read it then.
    reread = [path for path in plan.unchanged if plan.digests[path] not in by_digest]
    loaded += _load_decks(reread) if reread else []
    owners = {
        by_digest[plan.digests[path]].slug: path for path in plan.unchanged if path not in reread
    }
    for path, deck_file in loaded:
        if deck_file.deck in owners:
            raise DeckFileError(
                f"{path}: field 'deck': slug {deck_file.deck!r} is already used by "
                f"{owners[deck_file.deck]}"
            )
    for path in plan.unchanged:
        if path in reread:
            continue
        deck = by_digest[plan.digests[path]]
        deck.source = str(path)
        active = session.scalar(
            select(func.count())
            .select_from(Question)
            .where(Question.deck_id == deck.id, Question.retired.is_(False))
        )
        report.decks.append(DeckImport(deck=deck.slug, path=str(path), unchanged=int(active or 0)))
    for path, deck_file in loaded:
        report.decks += _retire_renamed(session, path, deck_file.deck)
        report.decks.append(upsert_deck(session, deck_file, source=str(path), now=now, today=today))
        session.scalars(
            select(Deck).where(Deck.slug == deck_file.deck)
        ).one().source_digest = plan.digests[path]
    session.flush()
    return report


def _retire_renamed(session: Session, path: Path, slug: str) -> list[DeckImport]:
    """Retire the questions of decks that ``path`` held under another slug before.

    A deck's slug is its identity, so a file whose ``deck:`` was renamed holds a new deck,
    and the old one's questions are gone from every file: retired, as any question removed
    from its file is (history kept). Left active, each question would be asked twice.
    """
    here = path.resolve()
    reports = []
    others = session.scalars(select(Deck).where(Deck.source.is_not(None), Deck.slug != slug))
    for old in others:
        if old.source is None or Path(old.source).resolve() != here:
            continue
        active = Question.deck_id == old.id, Question.retired.is_(False)
        retired = session.scalar(select(func.count()).select_from(Question).where(*active))
        session.execute(update(Question).where(*active).values(retired=True))
        old.source, old.source_digest = None, None
        reports.append(DeckImport(deck=old.slug, path=str(path), retired=int(retired or 0)))
    return reports


def import_decks(
    session: Session,
    paths: Sequence[Path],
    *,
    now: datetime,
    today: date,
) -> ImportReport:
    """Read deck files and load them, all in the caller's transaction (see plan_import)."""
    plan = plan_import(paths, known=known_digests(session))
    return apply_import(session, plan, now=now, today=today)


def _load_decks(paths: list[Path]) -> list[tuple[Path, deckfile.Deck]]:
    from quizzer import deckfile

    return deckfile.load_decks(paths)


def file_digest(path: Path) -> str | None:
    """SHA-256 of a deck file's bytes; None when it cannot be read or is over the size limit."""
    from quizzer.files import MAX_FILE_BYTES

    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None
    return hashlib.sha256(data).hexdigest()


def forget_source_digest(deck: Deck) -> None:
    """The deck's questions changed outside an import: its file must be read again next time."""
    deck.source_digest = None


def export_questions(session: Session, *, decks: Sequence[str] = ()) -> list[Any]:
    """The active questions of ``decks`` (all when empty) as ``anki.ExportQuestion``s.

    A note counts as changed when its question or its deck's tags changed (the title
    names the Anki deck, in no note).
    """
    from quizzer.anki import ExportQuestion, deck_titles

    for slug in decks:
        get_deck(session, slug)
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
    exported = [
        ExportQuestion(
            deck_slug=row.slug,
            deck_title=titles[row.slug],
            qid=row.qid,
            type=row.type,
            prompt=row.prompt,
            code=row.code,
            answer=row.answer,
            choices=tuple(row.choices) if row.choices is not None else None,
            explanation=row.explanation,
            tags=tuple(dict.fromkeys([*(row.deck_tags or []), *(row.tags or [])])),
            changed_at=max(row.changed_at, row.deck_changed_at),
            python=row.python,
        )
        for row in session.execute(stmt)
    ]
    if not exported:
        raise QuizzerError("nothing to export: no questions (import decks first)")
    return exported


def bundled_decks_dir() -> Path:
    """The folder of decks shipped with quizzer."""
    from quizzer.db import resource_dir

    return resource_dir("decks")


def has_decks(session: Session) -> bool:
    """Whether any deck has been imported yet."""
    return session.scalar(select(func.count()).select_from(Deck)) != 0


# --- listing ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeckSummary:
    """One deck with its counts (retired questions count only as retired)."""

    deck: str
    title: str
    total: int
    new: int
    due: int
    learned: int
    retired: int


def deck_summaries(session: Session, *, today: date) -> list[DeckSummary]:
    """Every deck with counts of new, due-today, learned and retired questions."""
    active = Question.retired.is_(False)
    learned = active & CardState.last_graded.is_not(None)
    stmt = (
        select(
            Deck.slug,
            Deck.title,
            func.count(Question.id),
            func.sum(case((active & CardState.last_graded.is_(None), 1), else_=0)),
            func.sum(
                case(
                    (learned & (CardState.due <= today) & CardState.suspended.is_(False), 1),
                    else_=0,
                )
            ),
            func.sum(case((learned, 1), else_=0)),
            func.sum(case((Question.retired.is_(True), 1), else_=0)),
        )
        .select_from(Deck)
        .outerjoin(Question, Question.deck_id == Deck.id)
        .outerjoin(CardState, CardState.question_id == Question.id)
        .group_by(Deck.id)
        .order_by(Deck.slug)
    )
    return [
        DeckSummary(slug, title, total, int(new or 0), int(due or 0), int(lrn or 0), int(ret or 0))
        for slug, title, total, new, due, lrn, ret in session.execute(stmt)
    ]


@dataclass
class CardRow:
    """A question with its schedule, as ``cards`` lists it."""

    name: str
    deck: str
    id: str
    type: str
    prompt: str
    ease: float
    repetitions: int
    interval: int
    due: date
    lapses: int
    last_graded: date | None
    new: bool
    retired: bool
    leech: bool
    suspended: bool

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["due"] = self.due.isoformat()
        data["last_graded"] = self.last_graded.isoformat() if self.last_graded else None
        return data


def _card_row(question: Question, state: CardState, deck_slug: str) -> CardRow:
    return CardRow(
        name=f"{deck_slug}/{question.qid}",
        deck=deck_slug,
        id=question.qid,
        type=question.type,
        prompt=question.prompt,
        ease=state.ease / 100,
        repetitions=state.repetitions,
        interval=state.interval,
        due=state.due,
        lapses=state.lapses,
        last_graded=state.last_graded,
        new=state.last_graded is None,
        retired=question.retired,
        leech=state.leech,
        suspended=state.suspended,
    )


def list_cards(
    session: Session,
    *,
    today: date,
    decks: Iterable[str] = (),
    due_only: bool = False,
    include_retired: bool = False,
    leeches_only: bool = False,
) -> list[CardRow]:
    """Questions with their schedule, deck by deck in file order."""
    slugs = list(decks)
    for slug in slugs:
        get_deck(session, slug)
    stmt = (
        select(Question, CardState, Deck.slug)
        .join(CardState, CardState.question_id == Question.id)
        .join(Deck, Deck.id == Question.deck_id)
        .order_by(Deck.slug, Question.position, Question.id)
    )
    if slugs:
        stmt = stmt.where(Deck.slug.in_(slugs))
    if not include_retired:
        stmt = stmt.where(Question.retired.is_(False))
    if due_only:
        stmt = stmt.where(
            CardState.last_graded.is_not(None),
            CardState.due <= today,
            CardState.suspended.is_(False),
        )
    if leeches_only:
        stmt = stmt.where(CardState.leech.is_(True))
    return [_card_row(q, s, slug) for q, s, slug in session.execute(stmt)]


def to_state(row: CardState) -> scheduler.CardState:
    """The scheduler's view of a stored card state."""
    return scheduler.CardState(
        ease=row.ease,
        repetitions=row.repetitions,
        interval=row.interval,
        due=row.due,
        lapses=row.lapses,
        last_graded=row.last_graded,
    )


def store_state(row: CardState, state: scheduler.CardState) -> None:
    """Write the scheduler's ``state`` onto the stored card state ``row``."""
    row.ease = state.ease
    row.repetitions = state.repetitions
    row.interval = state.interval
    row.due = state.due
    row.lapses = state.lapses
    row.last_graded = state.last_graded


def _state_json(state: scheduler.CardState) -> dict[str, Any]:
    return {
        "ease": state.ease / 100,
        "repetitions": state.repetitions,
        "interval": state.interval,
        "due": state.due.isoformat(),
        "lapses": state.lapses,
        "last_graded": state.last_graded.isoformat() if state.last_graded else None,
    }


def review_json(review: Review) -> dict[str, Any]:
    """One review-log entry as ``show --json`` gives it."""
    return {
        "answered_at": review.answered_at.isoformat(),
        "day": review.day.isoformat(),
        "quality": review.quality,
        "kind": review.kind,
        "typed": review.typed,
        "seconds": review.seconds,
        "before": _state_json(state_before(review)),
        "after": _state_json(_after(review)),
    }


def state_before(review: Review) -> scheduler.CardState:
    """The card's state just before ``review`` was answered."""
    return scheduler.CardState(
        ease=review.ease_before,
        repetitions=review.repetitions_before,
        interval=review.interval_before,
        due=review.due_before,
        lapses=review.lapses_before,
        last_graded=review.last_graded_before,
    )


def _after(review: Review) -> scheduler.CardState:
    last = review.day if review.kind == "graded" else review.last_graded_before
    return scheduler.CardState(
        ease=review.ease_after,
        repetitions=review.repetitions_after,
        interval=review.interval_after,
        due=review.due_after,
        lapses=review.lapses_after,
        last_graded=last,
    )


def history(session: Session, question: Question) -> list[Review]:
    """Every answer given to ``question``, oldest first."""
    return list(
        session.scalars(select(Review).where(Review.question_id == question.id).order_by(Review.id))
    )


def show_question(session: Session, name: str) -> dict[str, Any]:
    """One question, its state and its review history, as plain data."""
    question = get_question(session, name)
    return {
        "name": question.name,
        "deck": question.deck.slug,
        "id": question.qid,
        "type": question.type,
        "prompt": question.prompt,
        "code": question.code,
        "answer": question.answer,
        "choices": question.choices,
        "explanation": question.explanation,
        "tags": list(question.deck.tags or []) + list(question.tags or []),
        "python": question.python,
        "retired": question.retired,
        "created_at": question.created_at.isoformat(),
        "changed_at": question.changed_at.isoformat(),
        "state": {
            **_state_json(to_state(question.state)),
            "new": question.state.last_graded is None,
            "leech": question.state.leech,
            "suspended": question.state.suspended,
        },
        "history": [review_json(r) for r in history(session, question)],
    }


# --- answering ----------------------------------------------------------------------


#: Failures (lapses) after which a card is a leech: tagged and suspended.
DEFAULT_LEECH_THRESHOLD = 8


def is_leech_lapse(lapses: int, threshold: int) -> bool:
    """Whether reaching ``lapses`` makes a card a leech: at the threshold, then every half of it."""
    if threshold <= 0 or lapses < threshold:
        return False
    return (lapses - threshold) % max(1, threshold // 2) == 0


@dataclass(frozen=True)
class Recorded:
    """What recording one answer did."""

    outcome: scheduler.Outcome
    leeched: bool


def record_answer(
    session: Session,
    question: Question,
    *,
    quality: int,
    today: date,
    now: datetime,
    typed: str | None = None,
    seconds: float | None = None,
    leech_threshold: int = DEFAULT_LEECH_THRESHOLD,
) -> Recorded:
    """Apply one answer through SM-2 and log it. Refused answers change nothing.

    A graded failure that brings the card's lapses to the leech threshold (and every
    half-threshold after it) tags it as a leech and suspends it.

    The card's state row is locked and read again first: of two processes answering the
    same card at once (a shared PostgreSQL server), the second waits for the first to
    commit and then sees its state, so its answer is a drill and never a second grade.
    On SQLite the IMMEDIATE transaction already serializes writers (FOR UPDATE is not
    emitted there).
    """
    # Fetched, not just executed: the ORM refreshes question.state only as rows are read.
    session.scalars(
        select(CardState)
        .where(CardState.question_id == question.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    try:
        outcome = scheduler.answer(to_state(question.state), quality=quality, day=today)
    except QuizzerError as exc:
        raise type(exc)(f"{question.name}: {exc}") from None
    before, after = outcome.before, outcome.after
    row = question.state
    session.add(
        Review(
            question_id=question.id,
            answered_at=now,
            day=today,
            quality=quality,
            kind=outcome.kind,
            typed=typed,
            seconds=seconds,
            ease_before=before.ease,
            repetitions_before=before.repetitions,
            interval_before=before.interval,
            due_before=before.due,
            lapses_before=before.lapses,
            last_graded_before=before.last_graded,
            leech_before=row.leech,
            suspended_before=row.suspended,
            ease_after=after.ease,
            repetitions_after=after.repetitions,
            interval_after=after.interval,
            due_after=after.due,
            lapses_after=after.lapses,
        )
    )
    store_state(row, after)
    leeched = after.lapses > before.lapses and is_leech_lapse(after.lapses, leech_threshold)
    if leeched:
        row.leech = True
        row.suspended = True
    session.flush()
    return Recorded(outcome, leeched)


def grade(
    session: Session,
    name: str,
    quality: int,
    *,
    today: date,
    now: datetime,
    leech_threshold: int = DEFAULT_LEECH_THRESHOLD,
) -> Recorded:
    """Record one answer for the question named ``DECK/ID`` (``quizzer grade``)."""
    question = get_question(session, name)
    if question.retired:
        raise QuizzerError(f"{name}: this question is retired (removed from its deck file)")
    return record_answer(
        session, question, quality=quality, today=today, now=now, leech_threshold=leech_threshold
    )


def unsuspend(session: Session, name: str) -> bool:
    """Bring the suspended card ``DECK/ID`` back into reviews and clear its leech tag.

    Returns False, changing nothing, when the card is not suspended. A retired question is
    refused (QuizzerError): it is not asked, suspended or not.
    """
    question = get_question(session, name)
    if question.retired:
        raise QuizzerError(
            f"{name}: this question is retired (deleted, or removed from its deck file) and "
            "will not be asked; nothing changed"
        )
    state = question.state
    if not state.suspended:
        return False
    state.suspended = False
    state.leech = False
    session.flush()
    return True
