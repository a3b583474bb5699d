"""Copy a whole collection from one database to another (``quizzer db copy``).

Any backend to any backend (SQLite file to a PostgreSQL server and back): decks,
questions, card states, settings and the full review log, with their primary keys, so
the copy is the same collection row for row. The target is first brought to the current
schema by the same migrations as any database; the rows are then written in one
transaction on the target, which either holds the whole copy or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, false, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from quizzer.db import Database, describe, resolve_url, sqlite_path, url_for
from quizzer.errors import DatabaseError, QuizzerError
from quizzer.orm import Base

#: Rows read from the source and written to the target per round trip.
BATCH_SIZE = 1000

#: What each table holds, for messages ("6 decks, 183 questions, ...").
_NOUNS = {
    "decks": ("deck", "decks"),
    "questions": ("question", "questions"),
    "card_states": ("card state", "card states"),
    "reviews": ("review", "reviews"),
    "settings": ("setting", "settings"),
}


@dataclass(frozen=True)
class CopyReport:
    """What ``copy_database`` copied: rows per table, in the order they were written."""

    source: str
    target: str
    rows: dict[str, int]
    #: Whether the target held a collection that ``replace`` emptied first.
    replaced: bool

    def summary(self) -> str:
        """The row counts as words: ``6 decks, 183 questions, ...``."""
        return _count_words(self.rows)


#: Derived data, not copied: the highlight cache (the target's next export fills its own;
#: an entry is valid wherever its code is, being keyed by the code's digest) and the counts
#: the triggers keep: answers per deck and day, cards per deck and due date (the target's
#: triggers count the copied rows).
_NOT_COPIED = {"highlight_cache", "review_days", "deck_cards", "due_days"}


def tables() -> list[Table]:
    """quizzer's tables, parents before children (the order rows must be inserted in)."""
    return [table for table in Base.metadata.sorted_tables if table.name not in _NOT_COPIED]


def _count_words(rows: dict[str, int]) -> str:
    words = [(n, _NOUNS.get(name, (name, name))) for name, n in rows.items()]
    return ", ".join(f"{n} {one if n == 1 else many}" for n, (one, many) in words)


def _identity(url: str) -> tuple[str, ...]:
    """What names one database, whatever the spelling of its URL."""
    path = sqlite_path(url)
    if path is not None:
        return ("sqlite", str(path.resolve()))
    parsed = make_url(url)
    return (
        parsed.get_backend_name(),
        (parsed.host or "").lower(),
        str(parsed.port or ""),
        parsed.database or "",
    )


def _counts(connection: Connection, chosen: Sequence[Table]) -> dict[str, int]:
    return {
        table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
        for table in chosen
    }


def _lock_target(connection: Connection, chosen: Sequence[Table]) -> None:
    # SQLite's BEGIN IMMEDIATE (db.py) already holds the only write lock. PostgreSQL
    # locks per table: no other process writes to them (readers may go on) until this
    # transaction ends, so "the target is empty" stays true while it is filled.
    if connection.dialect.name == "postgresql":
        quote = connection.dialect.identifier_preparer.quote
        names = ", ".join(quote(table.name) for table in chosen)
        connection.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))


def _reset_sequences(connection: Connection, chosen: Sequence[Table]) -> None:
    # Rows were inserted with their ids, which does not move PostgreSQL's sequences:
    # without this, the next deck or review added would get id 1 and collide. (SQLite
    # takes the next rowid from the largest one in the table.)
    if connection.dialect.name != "postgresql":
        return
    for table in chosen:
        column = table.autoincrement_column
        if column is None:
            continue
        sequence = func.pg_get_serial_sequence(table.name, column.name)
        connection.execute(
            select(func.setval(sequence, func.coalesce(func.max(column), 0) + 1, false()))
        )


def _copy_table(source: Connection, target: Connection, table: Table, batch_size: int) -> None:
    order = list(table.primary_key.columns)
    result = source.execute(
        select(table).order_by(*order).execution_options(yield_per=batch_size)
    ).mappings()
    try:
        for batch in result.partitions(batch_size):
            target.execute(table.insert(), [dict(row) for row in batch])
    finally:
        result.close()


def copy_database(
    source: str | None,
    target: str,
    *,
    replace: bool = False,
    batch_size: int = BATCH_SIZE,
) -> CopyReport:
    """Copy every row of the collection at ``source`` into ``target``.

    ``source`` and ``target`` are what ``--db`` takes (a path or an SQLAlchemy URL;
    ``source`` None means ``QUIZZER_DB``, or else the default database; an empty string
    is refused). Both are brought to the current schema first. A target that already
    holds rows is refused unless ``replace``, which empties it in the same transaction as
    the copy. Row counts are compared afterwards and the whole copy is rolled back if they
    differ. Primary keys are kept; PostgreSQL's id sequences are moved past them. Raises
    QuizzerError (nothing written) on refusal.
    """
    source_url = url_for(source)
    target_url = resolve_url(target)
    where_from, where_to = describe(source_url), describe(target_url)
    if _identity(source_url) == _identity(target_url):
        raise QuizzerError(f"{where_to}: is the database being copied; choose another target")
    source_path = sqlite_path(source_url)
    if source_path is not None and not source_path.exists():
        # Opening it would create an empty database, and copying that would copy nothing.
        raise DatabaseError(f"{where_from}: no database here to copy")
    chosen = tables()
    source_db = Database(source_url)
    try:
        target_db = Database(target_url)
        try:
            rows, replaced = _copy(
                source_db, target_db, chosen, replace=replace, batch_size=batch_size
            )
        finally:
            target_db.dispose()
    finally:
        source_db.dispose()
    return CopyReport(source=where_from, target=where_to, rows=rows, replaced=replaced)


def _copy(
    source_db: Database,
    target_db: Database,
    chosen: Sequence[Table],
    *,
    replace: bool,
    batch_size: int,
) -> tuple[dict[str, int], bool]:
    where_from, where_to = describe(source_db.url), describe(target_db.url)
    # One snapshot for every table, so the copy is consistent while others write (on
    # SQLite a deferred read transaction, which in WAL mode does not block writers).
    options: dict[str, Any] = {"quizzer_read_only": True}
    if source_db.engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    try:
        with (
            source_db.engine.connect().execution_options(**options) as source,
            target_db.engine.begin() as target,
        ):
            wanted = _counts(source, chosen)
            if not any(wanted.values()):
                raise QuizzerError(f"{where_from}: nothing to copy (the collection is empty)")
            _lock_target(target, chosen)
            found = _counts(target, chosen)
            replaced = any(found.values())
            if replaced:
                if not replace:
                    raise QuizzerError(
                        f"{where_to}: not empty ({_count_words(found)}); "
                        "use --replace to overwrite it"
                    )
                for table in reversed(chosen):
                    target.execute(table.delete())
            for table in chosen:
                _copy_table(source, target, table, batch_size)
            _reset_sequences(target, chosen)
            copied = _counts(target, chosen)
            if copied != wanted:
                raise DatabaseError(
                    f"{where_to}: the copy has {_count_words(copied)} where {where_from} has "
                    f"{_count_words(wanted)}; nothing was copied"
                )
    except sa_exc.DBAPIError as exc:
        reason = " ".join((str(exc.orig) if exc.orig is not None else str(exc)).split())
        raise DatabaseError(f"{where_to}: copy failed, nothing was copied: {reason}") from None
    return wanted, replaced
