"""Importing deck files: read and validate them with no lock held, then bring the database
in line in one short write transaction. Functions take a Session and never commit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from quizzer import store
from quizzer.bulk import gc_paused
from quizzer.errors import DeckFileError
from quizzer.orm import Card, Deck, Question
from quizzer.questions import Content

if TYPE_CHECKING:
    # Imported where needed: pydantic and PyYAML cost `review`'s start-up 0.2 s otherwise.
    from quizzer import deckfile


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


def _insert_questions(
    session: Session, deck_id: int, rows: list[dict[str, Any]], *, today: date
) -> None:
    """Insert new questions of one deck and their new cards' states, in bulk."""
    if not rows:
        return
    # Then the ids are read back by qid: INSERT ... RETURNING in parameter order costs
    # SQLAlchemy quadratic time splicing the batches (10 s for 10k rows).
    connection = session.connection()
    store.bulk_insert(connection, Question.metadata.tables[Question.__tablename__], rows)
    wanted = {row["qid"] for row in rows}
    ids = [
        row_id
        for row_id, qid in session.execute(
            select(Question.id, Question.qid).where(Question.deck_id == deck_id)
        )
        if qid in wanted
    ]
    state = store.new_card_columns(today)
    states = Card.metadata.tables[Card.__tablename__]
    store.bulk_insert(connection, states, [{"question_id": i, **state} for i in ids])


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
    deck_changed = None if report.new_deck else deck.changed_at
    if report.new_deck or tags != list(deck.tags or []):
        # Deck tags go into every note of the deck; title and description into none, so
        # changing them must not update (and overwrite edits to) every note in Anki.
        deck.tags = tags
        if not report.new_deck:
            latest = session.scalar(
                select(func.max(Question.changed_at)).where(Question.deck_id == deck.id)
            )
            deck.changed_at = store.changed_now(
                max(deck.changed_at, latest or deck.changed_at), now
            )
    deck.title, deck.description = deck_file.title, deck_file.description
    if source is not None:
        deck.source = source
    if report.new_deck:
        session.flush()  # the deck's id, for its questions' rows
    # Plain rows and bulk statements, not ORM objects: a unit of work for 10k questions
    # took 4 s of a 6 s import. Only the columns compared are read back.
    existing: dict[str, tuple[int, int, bool, str, datetime]] = {}
    if not report.new_deck:
        existing = {
            qid: (row_id, position, retired, digest, changed_at)
            for row_id, qid, position, retired, digest, changed_at in session.execute(
                select(
                    Question.id,
                    Question.qid,
                    Question.position,
                    Question.retired,
                    Question.content_hash,
                    Question.changed_at,
                ).where(Question.deck_id == deck.id)
            )
        }
    seen: set[str] = set()
    added: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for position, question in enumerate(deck_file.questions):
        seen.add(question.id)
        content = Content.of(question)
        digest = content.digest()
        known = existing.get(question.id)
        if known is None:
            added.append(
                {
                    **content.columns(),
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
        row_id, old_position, retired, old_digest, old_changed = known
        change: dict[str, Any] = {}
        if old_position != position:
            change["position"] = position
        if retired:
            change["retired"] = False
            report.restored += 1
        if old_digest != digest:
            previous = max(old_changed, deck_changed) if deck_changed else old_changed
            change.update(
                content.columns(),
                content_hash=digest,
                changed_at=store.changed_now(previous, now),
            )
            report.updated += 1
        else:
            report.unchanged += 1
        if change:
            changes.append({"id": row_id, **change})
    if retire_missing:
        for qid, (row_id, _, retired, _, _) in existing.items():
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
def apply_import(
    session: Session, plan: ImportPlan, *, now: datetime, today: date, replace: bool = False
) -> ImportReport:
    """Bring the database in line with a planned import (the caller's one transaction).

    A file declaring a deck another file owns (or one of the bundled decks) is refused
    unless ``replace``: see :func:`refuse_takeover`.
    """
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
        deck.source = str(path.resolve())  # whatever folder the next import runs in
        active = session.scalar(
            select(func.count())
            .select_from(Question)
            .where(Question.deck_id == deck.id, Question.retired.is_(False))
        )
        report.decks.append(DeckImport(deck=deck.slug, path=str(path), unchanged=int(active or 0)))
    if not replace:
        for path, deck_file in loaded:
            refuse_takeover(session, path, deck_file.deck)
    for path, deck_file in loaded:
        report.decks += _retire_renamed(session, path, deck_file.deck)
        imported = upsert_deck(session, deck_file, source=str(path.resolve()), now=now, today=today)
        imported.path = str(path)  # the report names the file as it was given
        report.decks.append(imported)
        session.scalars(
            select(Deck).where(Deck.slug == deck_file.deck)
        ).one().source_digest = plan.digests[path]
    session.flush()
    return report


_DECK_LINE = re.compile(r"^deck:\s*['\"]?([a-z0-9-]+)", re.MULTILINE)


def bundled_slugs() -> dict[str, Path]:
    """The slugs the decks bundled with quizzer declare, and their files (read by a pattern,
    not parsed: the bundled files are quizzer's own and well formed)."""
    slugs: dict[str, Path] = {}
    for path in sorted(bundled_decks_dir().glob("*.yaml")):
        found = _DECK_LINE.search(path.read_text(encoding="utf-8"))
        if found:
            slugs[found.group(1)] = path
    return slugs


def refuse_takeover(session: Session, path: Path, slug: str) -> None:
    """Raise DeckFileError if the deck file ``path`` declares a deck it does not own.

    A deck is owned by the file it was imported from while that file exists, and a bundled
    deck's slug by quizzer: a downloaded file saying ``deck: python-closures`` would
    otherwise retire or rewrite every bundled question of that deck. A file that moved (its
    old place is gone) keeps its deck; ``import --replace`` takes a deck over on purpose.
    """
    here = path.resolve()
    bundled = bundled_decks_dir().resolve()
    if here.is_relative_to(bundled):
        return
    source = session.scalar(select(Deck.source).where(Deck.slug == slug))
    if source is not None and Path(source).resolve() == here:
        return  # its own deck (taken over with --replace once, if bundled)
    owner: str | None = None
    if source is not None and slug in bundled_slugs():
        owner = "the decks bundled with quizzer"  # wherever quizzer was installed then
    elif source is not None and Path(source).is_file():
        owner = source
    if owner is not None:
        raise DeckFileError(
            f"{path}: field 'deck': the deck {slug!r} belongs to {owner}; importing this "
            "file would take it over (its questions retired or rewritten). Give the deck "
            "another slug, or pass --replace to take it over"
        )


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

    loaded = deckfile.load_decks(paths)
    for path, deck in loaded:
        deckfile.refuse_missing_answers(path, deck)
    return loaded


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


def bundled_decks_dir() -> Path:
    """The folder of decks shipped with quizzer."""
    from quizzer.db import resource_dir

    return resource_dir("decks")
