"""Bad databases and bad command-line values: one clear line, the right exit code.

Exit codes (see the CLI spec): 2 when a value's *form* is wrong, so the command line
itself is the mistake (not a date, a quality that is not 0-5, a name that is not
DECK/ID); 1 when a well-formed value names something that is missing or unusable (a
deck or question that does not exist, a missing path, a database quizzer must not use).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from helpers import SMALL_DECK, Invoke, dump_db, other_program_with_alembic, write

from quizzer.cli import main

# --- databases quizzer must refuse, untouched ---------------------------------------


@pytest.fixture(scope="module")
def real_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A quizzer database with SMALL_DECK imported, closed and checkpointed."""
    folder = tmp_path_factory.mktemp("real")
    path = folder / "quizzer.db"
    deck = write(folder / "closures.yaml", SMALL_DECK)
    result = CliRunner().invoke(main, ["--db", str(path), "import", str(deck)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert not Path(f"{path}-wal").exists()
    yield path


def _not_sqlite(path: Path, real: Path) -> None:
    path.write_text("These are my notes, not a database.\n" * 200, encoding="utf-8")


def _another_program(path: Path, real: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO photos (name) VALUES ('cat.jpg')")
    connection.close()


def _truncated(path: Path, real: Path) -> None:
    data = real.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _newer(path: Path, real: Path) -> None:
    shutil.copyfile(real, path)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    connection.close()


def _another_program_with_alembic(revision: str | None) -> Callable[[Path, Path], None]:
    return lambda path, real: other_program_with_alembic(path, revision)


def _garbage_after_header(path: Path, real: Path) -> None:
    path.write_bytes(b"SQLite format 3\0" + bytes(range(256)) * 16)


BAD_DATABASES: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "not-sqlite": (_not_sqlite, "not a quizzer database (not an SQLite file)"),
    "another-program": (_another_program, "not a quizzer database (it has other tables"),
    "truncated": (_truncated, "the database file is damaged (database disk image is malformed)"),
    "newer-quizzer": (_newer, "written by a newer quizzer (schema 9999); upgrade quizzer"),
    "another-program-at-base": (
        _another_program_with_alembic(None),
        "not a quizzer database (it has other tables",
    ),
    "another-program-revision": (
        _another_program_with_alembic("ae1027a6acf"),
        "not a quizzer database (its schema version 'ae1027a6acf' is another program's)",
    ),
    "garbage-after-header": (_garbage_after_header, "cannot use this database"),
}


def _snapshot(path: Path) -> tuple[bytes, int, list[str]]:
    siblings = sorted(p.name for p in path.parent.iterdir() if p.name != path.name)
    return path.read_bytes(), path.stat().st_mtime_ns, siblings


@pytest.mark.parametrize("command", [["decks"], ["import", "DECK"], ["grade", "x/y", "4"]])
@pytest.mark.parametrize("kind", list(BAD_DATABASES))
def test_bad_database_is_refused_in_one_line_and_left_untouched(
    kind: str, command: list[str], real_db: Path, tmp_path: Path
) -> None:
    make, message = BAD_DATABASES[kind]
    path = tmp_path / "db" / "quizzer.db"
    path.parent.mkdir()
    make(path, real_db)
    deck = write(tmp_path / "closures.yaml", SMALL_DECK)
    before = _snapshot(path)
    argv = [str(deck) if part == "DECK" else part for part in command]
    result = CliRunner().invoke(main, ["--db", str(path), *argv], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith(f"Error: {path}: {message}"), result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == before[0]
    assert path.stat().st_mtime_ns == before[1]


def test_bad_databases_leave_no_files_behind_in_a_real_process(
    real_db: Path, tmp_path: Path
) -> None:
    # One real `quizzer` process per kind, run side by side to keep the suite quick.
    runs = []
    for kind, (make, message) in BAD_DATABASES.items():
        path = tmp_path / kind / "quizzer.db"
        path.parent.mkdir()
        make(path, real_db)
        process = subprocess.Popen(
            [sys.executable, "-m", "quizzer", "--db", str(path), "decks"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        runs.append((path, message, _snapshot(path), process))
    # Every process is waited for before any assertion, so none is left running.
    finished = [
        (path, message, before, process, process.communicate(timeout=60)[1])
        for path, message, before, process in runs
    ]
    for path, message, before, process, stderr in finished:
        assert process.returncode == 1, stderr
        assert stderr.strip().startswith(f"Error: {path}: {message}"), stderr
        assert "Traceback" not in stderr
        assert _snapshot(path) == before  # bytes, mtime, and no -wal/-shm/-journal beside it


@pytest.mark.parametrize("kind", ["newer-quizzer", "truncated"])
def test_refused_database_leaves_no_files_behind_in_process(
    kind: str, real_db: Path, tmp_path: Path
) -> None:
    # These two are WAL-mode files: opening one makes -wal/-shm, which only closing the
    # connection removes, so a refusal must close it even while the process lives on.
    make, _ = BAD_DATABASES[kind]
    path = tmp_path / "db" / "quizzer.db"
    path.parent.mkdir()
    make(path, real_db)
    result = CliRunner().invoke(main, ["--db", str(path), "decks"])
    assert result.exit_code == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["quizzer.db"]


def test_an_empty_file_is_a_new_database(invoke: Invoke, db_path: Path, deck_file: Path) -> None:
    # SQLite treats a 0-byte file as an empty database; so does quizzer (`touch` works).
    db_path.touch()
    result = invoke("import", str(deck_file))
    assert result.exit_code == 0, result.output
    assert "test-closures: 3 added" in result.output


# --- command-line values ------------------------------------------------------------


@pytest.fixture
def loaded(real_db: Path, db_path: Path, deck_file: Path) -> Iterator[list[str]]:
    """The test database with SMALL_DECK imported; yields its dump to compare against."""
    shutil.copyfile(real_db, db_path)
    before = dump_db(db_path)
    yield before
    assert dump_db(db_path) == before, "a refused command changed the database"


def _check(result: Result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    assert fragment in result.output, result.output
    assert "Traceback" not in result.output
    if code:
        errors = [line for line in result.output.splitlines() if line.startswith("Error")]
        assert len(errors) == 1, result.output


@pytest.mark.parametrize(
    "today", ["2026-02-30", "tomorrow", "", "2026-13-01", "05/01/2026", "2026-01-05T10:00"]
)
def test_bad_today_is_a_usage_error(invoke: Invoke, loaded: list[str], today: str) -> None:
    _check(invoke("decks", today=today), 2, f"'{today}' is not a date; use YYYY-MM-DD")
    _check(invoke("cards", "--today", today, today=None), 2, "is not a date")


@pytest.mark.parametrize("today", ["9999-12-30", "0001-01-01"])
@pytest.mark.parametrize("args", [["review", "--new", "0"], ["stats"], ["decks"]])
def test_a_day_out_of_range_is_a_usage_error(
    invoke: Invoke, loaded: list[str], today: str, args: list[str]
) -> None:
    # Near the ends of Python's calendar, a forecast or a heatmap would run off it.
    _check(invoke(*args, today=today), 2, f"'{today}' is out of range")


def test_bad_today_from_the_environment_is_a_usage_error(
    invoke: Invoke, loaded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUIZZER_TODAY", "tomorrow")
    _check(invoke("decks", today=None), 2, "QUIZZER_TODAY: 'tomorrow' is not a date")


@pytest.mark.parametrize(
    ("quality", "fragment"),
    [
        ("9", "9 is not in the range 0<=x<=5"),
        ("6", "6 is not in the range 0<=x<=5"),
        ("four", "'four' is not a valid integer"),
        ("3.5", "'3.5' is not a valid integer"),
        ("", "'' is not a valid integer"),
        ("-1", "-1 is not in the range 0<=x<=5"),  # not "No such option '-1'"
    ],
)
def test_bad_quality_is_a_usage_error(
    invoke: Invoke, loaded: list[str], quality: str, fragment: str
) -> None:
    _check(invoke("grade", "test-closures/cell", quality), 2, fragment)


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (
            ["config", "new-per-day", "99999999999999999999"],
            1,
            "new-per-day: must be at most 100000",
        ),
        (["config", "new-per-day", "100001"], 1, "new-per-day: must be at most 100000"),
        (["config", "leech-threshold", "100001"], 1, "leech-threshold: must be at most 100000"),
        (
            ["review", "--new", "99999999999999999999"],
            2,
            "'--new': 99999999999999999999 is not in the range 0<=x<=100000",
        ),
        (["review", "--limit", "100001"], 2, "'--limit': 100001 is not in the range 1<=x<=100000"),
    ],
)
def test_numbers_past_the_bounds_are_refused(
    invoke: Invoke, loaded: list[str], args: list[str], code: int, fragment: str
) -> None:
    # Unbounded, such a number was stored as a float and `review` then overflowed SQLite.
    _check(invoke(*args, input=""), code, fragment)


NAME_FORM = "name a question as DECK/ID, e.g. python-closures/late-binding"


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        # Well-formed names of things that do not exist: exit 1.
        (["show", "nope/x"], 1, "nope: no such deck (see `quizzer decks`)"),
        (["show", "test-closures/nope"], 1, "no such question in deck test-closures"),
        (["grade", "nope/x", "4"], 1, "nope: no such deck"),
        (["grade", "test-closures/nope", "4"], 1, "no such question in deck test-closures"),
        (["cards", "--deck", "NOPE"], 1, "NOPE: no such deck"),
        (["cards", "--deck", "nope"], 1, "nope: no such deck"),
        # Names that are not DECK/ID at all: a usage error, whatever the database holds.
        (["show", "nodeck"], 2, f"'nodeck': {NAME_FORM}"),
        (["show", "a/b/c"], 2, f"'a/b/c': {NAME_FORM}"),
        (["show", ""], 2, f"'': {NAME_FORM}"),
        (["show", "/late-binding"], 2, NAME_FORM),
        (["grade", "test-closures/", "4"], 2, NAME_FORM),
    ],
)
def test_bad_names(
    invoke: Invoke, loaded: list[str], args: list[str], code: int, fragment: str
) -> None:
    _check(invoke(*args), code, fragment)


def test_missing_import_paths_are_not_found(
    invoke: Invoke, loaded: list[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent"
    _check(invoke("import", str(missing)), 1, f"{missing}: no such file or folder")
    _check(invoke("import", str(missing / "deck.yaml")), 1, "no such file or folder")
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    _check(
        invoke("import", str(empty)),
        1,
        f"{empty}: no deck files (*.yaml) or Anki packages in this folder",
    )


def test_import_without_paths_is_a_usage_error(invoke: Invoke) -> None:
    _check(invoke("import"), 2, "Missing argument 'PATHS...'")


def _run(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def test_db_in_a_missing_folder_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "deeper" / "quizzer.db"
    _check(_run(str(target), "decks"), 1, f"the folder {target.parent} does not exist")
    assert not (tmp_path / "missing").exists()


def test_db_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    before = sorted(tmp_path.iterdir())
    _check(_run(str(tmp_path), "decks"), 1, f"{tmp_path}: is a folder, not a database file")
    assert sorted(tmp_path.iterdir()) == before


def test_db_url_of_an_unknown_kind_is_refused_in_one_line(tmp_path: Path) -> None:
    _check(_run("nosuchdialect://somewhere/x", "decks"), 1, "nosuchdialect://somewhere/x")


def test_db_url_naming_a_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    before = sorted(tmp_path.iterdir())
    _check(_run(f"sqlite:///{tmp_path}", "decks"), 1, f"{tmp_path}: is a folder")
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://me:s3cret@h:abc/db", "postgresql://me:***@h:abc/db"),  # port not a number
        ("post gres://me:s3cret@h/db", "post gres://me:***@h/db"),
    ],
)
def test_db_url_that_does_not_parse_is_one_line_without_its_password(url: str, shown: str) -> None:
    result = _run(url, "decks")
    _check(result, 1, f"{shown}: not a database URL or path")
    assert "s3cret" not in result.output


def test_a_database_that_cannot_be_read_is_one_line(real_db: Path, tmp_path: Path) -> None:
    # Root reads any file: the process gives up its capabilities (as an ordinary user it
    # needs none of that, and chmod 000 is enough).
    path = tmp_path / "locked.db"
    shutil.copyfile(real_db, path)
    path.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: every file is readable")
        prefix = [setpriv, "--inh-caps=-all", "--bounding-set=-all"]
    try:
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "quizzer", "--db", str(path), "decks"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        path.chmod(0o600)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"Error: {path}: cannot read this file: Permission denied\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked.db"]


@pytest.mark.parametrize(
    ("argv", "env", "fragment"),
    [
        (["--db", "", "decks"], {}, "Invalid value for '--db': empty"),
        (["decks", "--db", ""], {}, "Invalid value for '--db': empty"),
        (["decks"], {"QUIZZER_DB": ""}, "QUIZZER_DB is set but empty"),
        (["import", "DECK"], {"QUIZZER_DB": ""}, "QUIZZER_DB is set but empty"),
        (["--db", "", "db", "copy", "--to", "COPY"], {}, "Invalid value for '--db': empty"),
        (["db", "copy", "--to", "COPY"], {"QUIZZER_DB": ""}, "QUIZZER_DB is set but empty"),
        (["--db", "DB", "db", "copy", "--to", ""], {}, "Invalid value for '--to': empty"),
        (
            ["--db", "DB", "db", "copy", "--to", "", "--replace"],
            {},
            "Invalid value for '--to': empty",
        ),
    ],
)
def test_an_empty_database_is_a_usage_error_not_the_default_one(
    argv: list[str],
    env: dict[str, str],
    fragment: str,
    real_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A script passing an unset variable must not reach (or, with --replace, wipe) the
    # user's own collection in the data folder.
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.delenv("QUIZZER_DB", raising=False)
    source = tmp_path / "source.db"
    shutil.copyfile(real_db, source)
    deck = write(tmp_path / "closures.yaml", SMALL_DECK)
    names = {"DB": str(source), "COPY": str(tmp_path / "copy.db"), "DECK": str(deck)}
    result = CliRunner().invoke(
        main, [names.get(part, part) for part in argv], env=env, catch_exceptions=False
    )
    _check(result, 2, fragment)
    assert not data.exists()
    assert not (tmp_path / "copy.db").exists()


def test_a_database_failing_mid_command_is_one_line(tmp_path: Path) -> None:
    import sqlite3 as sqlite

    from click.testing import CliRunner

    from quizzer.cli import main

    db = tmp_path / "q.db"
    runner = CliRunner()
    assert runner.invoke(main, ["--db", str(db), "config"]).exit_code == 0
    # Another program breaks the schema under quizzer: the next write fails in the database.
    with sqlite.connect(db) as connection:
        connection.execute("DROP TABLE settings")
    result = runner.invoke(main, ["--db", str(db), "config", "new-per-day", "5"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: database error, nothing was changed:")
    assert "no such table: settings" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [["show", "deck/\udcff"], ["grade", "\udcff/x", "4"], ["cards", "--deck", "\udcff"]],
    ids=["show", "grade", "cards --deck"],
)
def test_names_that_are_not_utf8_are_usage_errors(
    invoke: Invoke, loaded: list[str], args: list[str]
) -> None:
    # A byte that is not UTF-8 on the command line reaches Python as a lone surrogate.
    _check(invoke(*args), 2, "not UTF-8 text")
