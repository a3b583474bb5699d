"""Alembic environment for quizzer.

quizzer runs migrations itself (``quizzer.db.upgrade``) and hands over its own connection,
already inside a write transaction. For developers, ``alembic -c alembic.ini ...`` works too,
using ``sqlalchemy.url`` from the ini file or the ``QUIZZER_DB`` URL.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url

from quizzer.orm import Base, UTCDateTime, use_postgresql

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Revisions must not import quizzer's models, which change; UTCDateTime is a DateTime.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _describe_backend(backend: str) -> None:
    # The models give PostgreSQL's partial-index conditions only on request (quizzer.orm).
    if backend == "postgresql":
        use_postgresql()


def _configure(connection: Connection) -> None:
    _describe_backend(connection.dialect.name)
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url")
    _describe_backend(make_url(url).get_backend_name() if url else "")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = os.environ.get("QUIZZER_DB") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: set QUIZZER_DB or sqlalchemy.url to the database's URL")
    engine = create_engine(url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
