"""Reading an up-to-date SQLite collection with the standard library alone.

For a command whose whole run takes less than importing SQLAlchemy: an Anki export of the
bundled decks writes its 306 notes in less time than that import (see README,
"A long-time collection").

Nothing here is a second definition of the schema. What it runs is the SQLite text of
statements written once, in SQLAlchemy Core (``transfer.DIRECT_STATEMENTS``), compiled ahead
and shipped in ``direct_sql.json`` with the schema revision they were compiled for and how
SQLAlchemy would convert each column (``python bench/direct_sql.py`` writes the file;
tests/test_direct_export.py fails while it is stale, and compares what both paths read).

It only reads, and only where nothing is unusual: a database at another revision, a URL
rather than a file, a file this process cannot write, or that SQLite reads with an error, a
value that does not convert: :func:`open_current` returns None, or :class:`Unusable` is
raised, and the caller takes the usual path (``quizzer.db``), which upgrades the schema
and gives every error its message.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

#: The compiled statements shipped in the package (see the module's docstring).
STATEMENTS_FILE = "direct_sql.json"

#: How long a read waits for another process's transaction before giving up (ms): the
#: same as every connection of quizzer.db.
BUSY_TIMEOUT_MS = 30_000


class Unusable(Exception):
    """This database cannot be read directly: take the usual path."""


def default_db_path() -> Path:
    """``quizzer.db`` in the user's data directory."""
    from platformdirs import user_data_path

    return user_data_path("quizzer", appauthor=False) / "quizzer.db"


def database_file(target: str | None) -> Path | None:
    """The SQLite file that ``--db`` ``target`` (or ``QUIZZER_DB``, or the default) names,
    when it is a plain path to an existing file; None for anything else (a URL, an empty
    name, a missing file), which ``quizzer.db`` resolves or refuses."""
    if target is None:
        target = os.environ.get("QUIZZER_DB")
    if target is None:
        path = default_db_path()
    elif not target or "://" in target:
        return None
    else:
        path = Path(target).expanduser().resolve()
    return path if path.is_file() else None


def file_uri(path: Path, query: str) -> str:
    """An SQLite URI of the file ``path`` with ``query`` (``"mode=ro"``)."""
    return f"file:{quote(str(path.resolve()))}?{query}"


#: How SQLAlchemy would turn a column's stored value into Python's (by the name
#: ``bench/direct_sql.py`` records for its type; an unnamed column is taken as stored).
CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "json": json.loads,
    # SQLAlchemy's SQLite DateTime reads with fromisoformat; quizzer's UTCDateTime then
    # makes it aware.
    "utc_datetime": lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC),
    "date": date.fromisoformat,
    "bool": bool,
}


@cache
def _compiled() -> dict[str, Any]:
    try:
        text = (resources.files("quizzer") / STATEMENTS_FILE).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class Reader:
    """A connection held to reading (``query_only``) an up-to-date collection, in one
    read transaction (one snapshot for every statement, as ``Database.reading`` gives)."""

    def __init__(self, connection: sqlite3.Connection, statements: Mapping[str, Any]) -> None:
        self._connection = connection
        self._statements = statements

    def fetch(self, name: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of statement ``name`` with ``params`` (by name; an expanding one, a
        sequence), each value as SQLAlchemy would give it. Raises :class:`Unusable`."""
        try:
            statement = self._statements[name]
            sql: str = statement["sql"]
            values: list[Any] = []
            for param in statement["params"]:
                if param in statement["expanding"]:
                    given: Sequence[Any] = params[param]
                    sql = sql.replace(
                        f"(__[POSTCOMPILE_{param}])", f"({', '.join('?' * len(given))})", 1
                    )
                    values.extend(given)
                else:
                    values.append(params[param])
            rows = self._connection.execute(sql, values).fetchall()
            spots = [
                (index, kind, CONVERTERS[kind])
                for index, kind in enumerate(statement["columns"])
                if kind is not None
            ]
        except (sqlite3.Error, KeyError, TypeError) as exc:
            raise Unusable(str(exc)) from None
        if not spots:
            return rows
        # Each distinct stored text is converted once (most rows of an import share one
        # time); a JSON value is not shared between rows, as SQLAlchemy shares none.
        known: dict[tuple[int, Any], Any] = {}
        converted = []
        try:
            for row in rows:
                values = list(row)
                for index, kind, convert in spots:
                    value = values[index]
                    if value is None:
                        continue
                    if kind == "json":
                        values[index] = convert(value)
                        continue
                    key = (index, value)
                    if key not in known:
                        known[key] = convert(value)
                    values[index] = known[key]
                converted.append(tuple(values))
        except (ValueError, TypeError) as exc:
            raise Unusable(f"a value that does not convert: {exc}") from None
        return converted

    def close(self) -> None:
        self._connection.close()


def open_current(target: str | None) -> Reader | None:
    """A :class:`Reader` of the collection ``target`` names (see :func:`database_file`)
    when it is an SQLite file at the revision the shipped statements were compiled for;
    otherwise None."""
    path = database_file(target)
    shipped = _compiled()
    if path is None or not shipped.get("statements"):
        return None
    try:
        # Opened for writing (mode=rw creates nothing), then held to reading: as the last
        # connection to close, it removes the WAL's -wal and -shm files, as quizzer.db's
        # do; a read-only one would leave them behind. A file this process cannot write
        # is left to quizzer.db, which opens it read-only or immutable.
        connection = sqlite3.connect(
            file_uri(path, "mode=rw"),
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
        )
    except sqlite3.Error:
        return None
    try:
        connection.execute("PRAGMA query_only = ON")
        connection.execute("BEGIN")
        revisions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        connection.close()
        return None
    if revisions != [(shipped.get("revision"),)]:
        connection.close()
        return None
    return Reader(connection, shipped["statements"])
