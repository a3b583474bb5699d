"""Where the database lives, opening it safely, and bringing its schema up to date.

An up-to-date database is recognised by reading ``alembic_version`` directly, so Alembic
is imported only when a migration is actually due. A database that is not quizzer's, or
that a newer quizzer wrote, is refused and never written to.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from quizzer.errors import DatabaseError, UsageError
from quizzer.sqlite_direct import BUSY_TIMEOUT_MS as BUSY_TIMEOUT_MS  # tests lower it here
from quizzer.sqlite_direct import default_db_path, file_uri

#: Every Alembic revision this code knows, oldest first; the last one is the head.
#: A test checks this against the revisions in ``migrations/versions``.
SCHEMA_REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0010",
    "0011",
)
SCHEMA_HEAD = SCHEMA_REVISIONS[-1]

#: The form of quizzer's revision ids (numbered, not Alembic's random hex): an unknown
#: revision of this form was written by a newer quizzer; any other is another program's.
REVISION_FORM = re.compile(r"[0-9]{4}")

#: The ``user:password@`` of a URL that does not parse, so a message can hide the password.
_CREDENTIALS = re.compile(r"(://[^:/@]*):.*@")

#: The SQLite page cache of a review (KiB; SQLite's default is 2,000). A review reads the
#: pages of its queries once each, so the default cache saved it no read and was only
#: memory, a tenth of its peak at 100k learned cards: the file reads and writes of a first
#: card, 20 skips and 10 answers there are the same at 256 KiB (at 128 a few pages are
#: read twice).
SMALL_PAGE_CACHE_KIB = 256

#: PostgreSQL advisory lock key held while migrating ("quizzer" as a 64-bit number).
_MIGRATION_LOCK = int.from_bytes(b"quizzer\0", "big") >> 1

_PACKAGE = Path(__file__).resolve().parent

T = TypeVar("T")


def resource_dir(name: str) -> Path:
    """A folder shipped with quizzer (``decks`` or ``migrations``).

    In a wheel they live inside the package (``quizzer/_data``); in a source checkout
    they are beside it.
    """
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def resolve_url(target: str | None) -> str:
    """Turn ``--db`` / ``QUIZZER_DB`` (a path or an SQLAlchemy URL) into a URL.

    Only None means the default database: an empty string is refused (UsageError), so a
    script passing an unset variable never reaches the user's own collection.
    """
    if target is None:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if not target:
        raise UsageError(
            "the database is an empty string: name a file or URL, or leave it out for the default"
        )
    if "://" in target:
        try:
            parsed = make_url(target)
        except (sa_exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
            shown = _CREDENTIALS.sub(r"\1:***@", target)
            raise DatabaseError(f"{shown}: not a database URL or path") from None
        named = sqlite_path(target)
        if named is not None:  # what the plain-path form checks, for sqlite:/// URLs too
            _check_location(named, parsed.render_as_string(hide_password=True))
        return target
    path = Path(target).expanduser()
    _check_location(path, target)
    return f"sqlite:///{path.resolve()}"


def _check_location(path: Path, shown: str) -> None:
    if path.is_dir():
        raise DatabaseError(f"{shown}: is a folder, not a database file")
    if not path.parent.is_dir():
        raise DatabaseError(f"{shown}: the folder {path.parent} does not exist")


def url_for(target: str | None) -> str:
    """:func:`resolve_url` of ``target``, or else of ``QUIZZER_DB`` (an empty one is refused)."""
    if target is None:
        target = os.environ.get("QUIZZER_DB")
        if target == "":
            raise UsageError(
                "QUIZZER_DB is set but empty: name a database file or URL, or unset it "
                "for the default"
            )
    return resolve_url(target)


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _read_only_uri(url: str) -> str | None:
    """An SQLite URI opening the database read-only when this process cannot write it, so
    the commands that only read still work; None when it can (or it is not SQLite).

    In a folder that cannot be written, WAL's ``-shm`` file cannot be made either, so the
    file is opened ``immutable`` (nobody can be writing it: a writer needs the folder for
    its ``-wal`` file); a read-only file in a writable folder is opened ``mode=ro``.
    """
    path = sqlite_path(url)
    if path is None or not path.is_file():
        return None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return file_uri(path, "mode=ro&immutable=1")
    if not os.access(path, os.W_OK):
        return file_uri(path, "mode=ro")
    return None


def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own implicit BEGIN
    # is deferred, and a deferred reader that later writes can deadlock: SQLITE_BUSY
    # is then returned at once, whatever the busy timeout).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # Every acknowledged answer survives a power cut: set, not left to how SQLite was built
    # (some builds default WAL databases to NORMAL, which can lose the last commits).
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


def _on_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front, so concurrent writers queue on the busy
    # timeout instead of failing with "database is locked". Read-only work (WAL lets it
    # run beside a writer) begins deferred and never takes the lock.
    if connection.get_execution_options().get("quizzer_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, page_cache_kib: int | None = None) -> Engine:
    """An engine with quizzer's connection settings (SQLite: foreign keys, busy timeout;
    ``page_cache_kib``: each connection's page cache, else SQLite's default).

    A ``postgresql://`` URL without a driver uses psycopg 3, the driver ``quizzer[postgres]``
    installs (SQLAlchemy's own default would be psycopg2).
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        # A connection is tried before each use and made again if the server went away
        # (restarted mid-review): the answer's transaction then runs on the new one.
        options["pool_pre_ping"] = True
    read_only = _read_only_uri(url)
    if read_only is not None:
        import sqlite3

        options["creator"] = lambda: sqlite3.connect(read_only, uri=True, check_same_thread=False)
    try:
        engine = create_engine(parsed, **options)
    except ImportError as exc:
        hint = (
            " (install it with: pip install 'quizzer[postgres]')" if "psycopg" in str(exc) else ""
        )
        raise DatabaseError(f"{describe(url)}: cannot use this database: {exc}{hint}") from None
    except sa_exc.ArgumentError as exc:
        raise DatabaseError(f"{describe(url)}: cannot use this database: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _on_connect)
        event.listen(engine, "begin", _on_begin)
        if page_cache_kib is not None:
            pragma = f"PRAGMA cache_size = {-int(page_cache_kib)}"  # negative: KiB, not pages
            event.listen(engine, "connect", lambda raw, record: raw.execute(pragma))
    elif engine.dialect.name == "postgresql":
        from quizzer.orm import use_postgresql

        use_postgresql()
    return engine


def _current_revision(connection: Any) -> str | None:
    """The revision stamped in the database; None for an empty database.

    Raises DatabaseError for a database that has tables but is not quizzer's.
    """
    tables = set(inspect(connection).get_table_names())
    if not tables:
        return None
    if "alembic_version" not in tables:
        raise DatabaseError("not a quizzer database (it has other tables and no quizzer schema)")
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if not rows:
        # Stamped at "base" (no revision applied yet) is new only if nothing else is
        # there: another program's Alembic can leave an empty table beside its own.
        if tables - {"alembic_version"}:
            raise DatabaseError(
                "not a quizzer database (it has other tables and no quizzer schema)"
            )
        return None
    if len(rows) != 1:
        raise DatabaseError("not a quizzer database (its schema version is unreadable)")
    return str(rows[0])


#: What SQLite says when a write finds no room (SQLITE_FULL).
DISK_FULL = "database or disk is full"
#: Less room than this beside the database counts as a full disk: SQLite reports a
#: failed write of its ``-shm`` file as a bare "disk I/O error".
NEARLY_FULL_BYTES = 256 * 1024


def disk_full(url: str, reason: str) -> bool:
    """Whether the database error ``reason`` comes of a full disk under ``url``."""
    if DISK_FULL in reason:
        return True
    path = sqlite_path(url)
    if path is None or "disk I/O error" not in reason:
        return False
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < NEARLY_FULL_BYTES


def full_disk_message(url: str) -> str:
    return (
        f"{describe(url)}: the disk is full: nothing was changed; free some space and run "
        "the command again"
    )


def describe(url: str) -> str:
    path = sqlite_path(url)
    return str(path) if path else make_url(url).render_as_string(hide_password=True)


def _upgrade(connection: Any) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _refuse_newer(current: str | None, where: str) -> None:
    if current is None or current in SCHEMA_REVISIONS:
        return
    if REVISION_FORM.fullmatch(current) is None:
        raise DatabaseError(
            f"{where}: not a quizzer database (its schema version {current!r} is another program's)"
        )
    raise DatabaseError(
        f"{where}: written by a newer quizzer (schema {current}); upgrade quizzer to use it"
    )


def database_exists(target: str | None) -> bool:
    """Whether the database ``target`` names is there already (a server's always counts)."""
    path = sqlite_path(url_for(target))
    return path is None or path.exists()


def _check_readable(path: Path, where: str) -> None:
    """Refuse a folder or an unreadable file, without opening it.

    The file's header is left to SQLite to read (its "file is not a database" is turned
    into the refusal below): Python opening and closing a descriptor of the file would
    drop every POSIX lock this process holds on it, including the shared lock an open
    connection of another engine keeps in WAL mode; another process closing its last
    connection would then think itself the last user and delete the WAL under it.
    SQLite's own descriptors are shared by every connection of the process and closed
    only when none holds a lock.
    """
    try:
        if path.is_dir():
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
        if path.exists() and not os.access(path, os.R_OK):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as exc:
        raise DatabaseError(f"{where}: cannot read this file: {exc.strerror or exc}") from None


def _sqlite_header(path: Path) -> bool:
    """Whether ``path`` starts as an SQLite file does, once SQLite has found it is not one.

    Only then is it read by Python (see :func:`_check_readable`): no connection of this
    process can be using a file SQLite refuses, so no lock is lost by closing it.
    """
    try:
        with path.open("rb") as handle:
            return handle.read(16) == b"SQLite format 3\0"
    except OSError:
        return False


#: What SQLite says of a file damaged inside (a valid header, malformed pages).
DAMAGED = ("database disk image is malformed", "database corruption")


def ensure_schema(engine: Engine, *, url: str) -> None:
    """Check the database is quizzer's and bring it to the current schema.

    Nothing is written to a database that is refused.
    """
    where = describe(url)
    path = sqlite_path(url)
    if path is not None:
        _check_readable(path, where)
    try:
        # A deferred (read-only) transaction: an up-to-date database is used without
        # waiting for, or blocking, another process's writer (WAL lets them run side by
        # side). Only a migration takes the write lock, below.
        with engine.connect().execution_options(quizzer_read_only=True) as connection:
            current = _current_revision(connection)
            connection.rollback()
        if current == SCHEMA_HEAD:
            return
        _refuse_newer(current, where)
        # The write lock is taken before looking again, so two processes starting on
        # the same new database do not both migrate it.
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # PostgreSQL has no database-wide write lock: a transaction-scoped advisory
                # lock queues the others until this migration has committed (DDL is
                # transactional there, so they then see the new schema).
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            current = _current_revision(connection)
            # Another process may have moved it on while this one waited.
            _refuse_newer(current, where)
            if current != SCHEMA_HEAD:
                _upgrade(connection)
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA journal_mode = WAL")
    except DatabaseError as exc:
        if str(exc).startswith(where):
            raise
        raise DatabaseError(f"{where}: {exc}") from None
    except sa_exc.DatabaseError as exc:
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        if path is not None and reason == "file is not a database" and not _sqlite_header(path):
            raise DatabaseError(f"{where}: not a quizzer database (not an SQLite file)") from None
        reason = " ".join(reason.split())  # a server's message may span lines: keep one
        if disk_full(url, reason):
            raise DatabaseError(full_disk_message(url)) from None
        if path is not None and any(sign in reason for sign in DAMAGED):
            raise DatabaseError(
                f"{where}: the database file is damaged ({reason}) where quizzer reads its "
                f"schema; `sqlite3 {path} .recover | sqlite3 NEW.db` saves what can be "
                "saved, then `quizzer --db NEW.db db check`"
            ) from None
        raise DatabaseError(f"{where}: cannot use this database: {reason}") from None


def _remove_if_empty(path: Path) -> None:
    """Remove a database file that a failed creation left empty (a full disk), and the
    files beside it: a 0-byte file would only be mistaken for a database later."""
    try:
        if path.stat().st_size != 0:
            return
        path.unlink()
        for suffix in ("-journal", "-wal", "-shm"):
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.unlink()
    except OSError:
        pass


class Database:
    """An opened, up-to-date quizzer database."""

    def __init__(self, url: str, *, page_cache_kib: int | None = None) -> None:
        self.url = url
        #: Opened read-only: this process cannot write the file or its folder.
        self.read_only = _read_only_uri(url) is not None
        self.engine = make_engine(url, page_cache_kib=page_cache_kib)
        path = sqlite_path(url)
        new = path is not None and not path.exists()
        try:
            ensure_schema(self.engine, url=url)
        except BaseException:
            # A refused database keeps no connection open (and so no -wal/-shm files).
            self.engine.dispose()
            if new and path is not None:
                _remove_if_empty(path)
            raise
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(quizzer_read_only=True), expire_on_commit=False
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on any error."""
        with self._sessions.begin() as session:
            yield session

    def write(self, work: Callable[[Session], T]) -> T:
        """``work`` in one write transaction (see :meth:`transaction`); if the connection
        to the server is lost on the way (a PostgreSQL server restarted), the transaction
        is run once more on a new connection. Only ``work`` that may safely run twice
        belongs here: an answer recorded twice is a second, drill answer, never a grade.
        """
        try:
            with self.transaction() as session:
                return work(session)
        except sa_exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        with self.transaction() as session:
            return work(session)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reading only: it never waits for, or blocks, a writer."""
        with self._readers.begin() as session:
            yield session

    def session(self) -> Session:
        """A session the caller commits (for commands that commit step by step)."""
        return self._sessions()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def open_database(target: str | None = None, *, page_cache_kib: int | None = None) -> Database:
    """Open the database named by ``target`` (or ``QUIZZER_DB``, or the default);
    ``page_cache_kib``: SQLite's page cache per connection (default: SQLite's own)."""
    return Database(url_for(target), page_cache_kib=page_cache_kib)
