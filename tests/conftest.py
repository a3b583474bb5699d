"""Fixtures shared by the test-suite: real SQLite files in tmp_path, the real CLI."""

from __future__ import annotations

import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import NO_POSTGRES, SMALL_DECK, Invoke, cli_for

from quizzer.cli import main


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where this test's database lives (created on first use)."""
    return tmp_path / "quizzer.db"


@pytest.fixture
def invoke(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Run the real CLI against this test's database; ``--today`` defaults to 2026-01-05."""
    monkeypatch.delenv("QUIZZER_DB", raising=False)
    monkeypatch.delenv("QUIZZER_TODAY", raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None, today: str | None = "2026-01-05") -> Result:
        argv = ["--db", str(db_path)]
        if today is not None:
            argv += ["--today", today]
        return runner.invoke(main, [*argv, *args], input=input, catch_exceptions=False)

    return run


@pytest.fixture(autouse=True)
def _a_machine_with_the_boundary(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process commands run as on a machine whose sandbox is a kernel boundary, so deck
    files in tmp_path are checked without --trust wherever the suite runs; tests of the
    --trust rule itself are marked ``real_boundary`` (or set their own)."""
    if request.node.get_closest_marker("real_boundary"):
        return
    from quizzer.cli import content
    from quizzer.sandbox import boundary

    enforced = boundary.Boundary(
        landlock_abi=7, seccomp=True, no_new_privs=True, uid_drop=False, reason=None
    )
    # The CLI's view only: the sandbox itself always sees what the machine enforces.
    monkeypatch.setattr(content, "describe_boundary", lambda: enforced)


@pytest.fixture
def deck_file(tmp_path: Path) -> Path:
    """A small deck file with one question of each type."""
    path = tmp_path / "decks" / "closures.yaml"
    path.parent.mkdir()
    path.write_text(SMALL_DECK, encoding="utf-8")
    return path


# --- PostgreSQL -------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--postgres",
        metavar="URL",
        default=os.environ.get("QUIZZER_TEST_POSTGRES") or None,
        help=(
            "PostgreSQL server for the tests marked postgres, as an SQLAlchemy URL of a "
            "database to connect to for CREATE DATABASE (e.g. "
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres) "
            "[env QUIZZER_TEST_POSTGRES; default: those tests are skipped]"
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    # A runner started in the background by a script (`pytest &`) ignores SIGINT, and so
    # would every program the tests start: the Ctrl-C tests would hang. Tests run as if
    # from a terminal.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    config.addinivalue_line(
        "markers", "postgres: needs a PostgreSQL server (--postgres URL or QUIZZER_TEST_POSTGRES)"
    )
    config.addinivalue_line(
        "markers", "real_boundary: the --trust rule sees what this machine really enforces"
    )
    config.addinivalue_line(
        "markers",
        "stress: the long variant of a test that also runs, smaller, by default (-m stress)",
    )


#: The modules whose tests take seconds each, longest first. Their tests are collected
#: first so that, run in parallel (-n), they start at once and do not end the run alone.
SLOW_MODULES = (
    "test_bench_smoke.py",
    "test_anki_card_script.py",
    "test_anki_progress.py",
    "test_quality.py",
    "test_crash.py",
    "test_concurrency.py",
    "test_commands_check_export.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: _slowness(item.path.name))
    if config.getoption("--postgres"):
        return
    skip = pytest.mark.skip(reason=NO_POSTGRES)
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def _slowness(module: str) -> int:
    return SLOW_MODULES.index(module) if module in SLOW_MODULES else len(SLOW_MODULES)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database on the --postgres server for this test only, dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    server = request.config.getoption("--postgres")
    if not server:
        pytest.skip(NO_POSTGRES)
    base = make_url(server)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    maintenance = base.set(database=base.database or "postgres")
    name = f"quizzer_test_{secrets.token_hex(6)}"
    admin = create_engine(maintenance, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE: a server process a failed test left behind must not keep it alive.
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_invoke(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Like ``invoke``, against this test's PostgreSQL database."""
    monkeypatch.delenv("QUIZZER_DB", raising=False)
    monkeypatch.delenv("QUIZZER_TODAY", raising=False)
    return cli_for(pg_url)


@pytest.fixture(autouse=True)
def _own_cache_folder(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept edits go to a cache folder of the test's own, never the developer's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
