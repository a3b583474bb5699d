"""Helpers shared by the test modules (the fixtures are in conftest.py)."""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, cast

import pytest
from click.testing import CliRunner, Result

from quizzer.cli import main

SMALL_DECK = """\
deck: test-closures
title: Test closures
tags: [closures]
questions:
  - id: late-binding
    type: predict_output
    prompt: What prints?
    code: |
      fs = [lambda: i for i in range(3)]
      print([f() for f in fs])
    answer: |
      [2, 2, 2]
    explanation: The lambdas look up i when called, after the loop ended.
    tags: [late-binding]
  - id: cell
    type: multiple_choice
    prompt: What does a closure capture?
    choices:
      - The value at definition time
      - The variable (a cell)
    answer: The variable (a cell)
  - id: nonlocal
    type: recall
    prompt: Which statement lets an inner function rebind an outer variable?
    answer: nonlocal
"""

Invoke = Callable[..., Result]


class CliProcess(NamedTuple):
    """What a run of the real console script left behind (see :func:`cli_process`)."""

    output: str
    loaded: list[str]  # which of the watched modules it loaded
    collector_enabled: bool  # gc.isenabled() at exit
    frozen: int  # gc.get_freeze_count() at exit


def cli_process(args: Sequence[str], watched: Sequence[str] = (), *, input: str = "") -> CliProcess:
    """Run the console script's entry point with ``args`` in a fresh interpreter; it must
    succeed. Start-up cost is checked this way: no test has to time anything."""
    code = (
        "import gc, json, sys\n"
        f"sys.argv = ['quizzer', *{list(args)!r}]\n"
        "from quizzer.cli import run\n"
        "try:\n    run()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        f"loaded = [m for m in {list(watched)!r} if m in sys.modules]\n"
        "print(json.dumps([loaded, gc.isenabled(), gc.get_freeze_count()]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=input, capture_output=True, text=True, check=True
    )
    output, _, state = result.stdout.rstrip("\n").rpartition("\n")
    return CliProcess(output, *json.loads(state))


def other_program_with_alembic(path: Path, revision: str | None) -> None:
    """An SQLite file of another program whose schema its own Alembic manages."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
        )
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO users (name) VALUES ('ada')")
        if revision is not None:
            connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    connection.close()


def stressed(values: Iterable[object], default: int) -> list[object]:
    """``values`` as parameters, all but the first ``default`` marked ``stress``: the
    default run keeps a smaller variant of a long test, ``pytest -m stress`` runs the rest."""
    return [
        value if n < default else pytest.param(value, marks=pytest.mark.stress)
        for n, value in enumerate(values)
    ]


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def dump_db(path: Path) -> list[str]:
    """The whole database as SQL, to compare before and after."""
    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


# --- PostgreSQL ---------------------------------------------------------------------

NO_POSTGRES = "no PostgreSQL server: set QUIZZER_TEST_POSTGRES or --postgres"


def cli_for(target: str) -> Invoke:
    """Run the real CLI against ``target`` (a path or URL); ``--today`` defaults to 2026-01-05."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, today: str | None = "2026-01-05") -> Result:
        argv = ["--db", target]
        if today is not None:
            argv += ["--today", today]
        return runner.invoke(main, [*argv, *args], input=input, catch_exceptions=False)

    return run


def table_rows(target: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every quizzer table (not alembic_version) at ``target``, by primary key."""
    from sqlalchemy import select

    from quizzer.db import make_engine, resolve_url
    from quizzer.dbcopy import tables

    engine = make_engine(resolve_url(target))
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in tables()
            }
    finally:
        engine.dispose()


#: Deck files quizzer must refuse, each saying what it expects in its first line.
MALFORMED = Path(__file__).parent / "data" / "malformed"
EXPECT = b"# expect: "

#: Cases whose text cannot start with an ASCII comment line.
MALFORMED_NOT_IN_FILE = {
    "utf16-with-bom.yaml": "the file is UTF-16 text; save it as UTF-8",
    "utf16-without-bom.yaml": "not a text file: it contains NUL bytes",
}


def malformed_cases() -> list[Path]:
    return sorted(MALFORMED.glob("*.yaml"))


def expected_error(path: Path) -> str:
    """The part of the error message a malformed case expects."""
    first_line = path.read_bytes().split(b"\n", 1)[0]
    if first_line.startswith(EXPECT):
        assert path.name not in MALFORMED_NOT_IN_FILE, f"{path.name}: expectation given twice"
        return first_line[len(EXPECT) :].decode("utf-8").strip()
    return MALFORMED_NOT_IN_FILE[path.name]


def editor(tmp_path: Path, script: str) -> str:
    """An $EDITOR that runs ``script`` (Python, with the file's text in ``text``) on the file."""
    import shlex

    program = write(
        tmp_path / "editor.py",
        "import sys\nfrom pathlib import Path\npath = Path(sys.argv[1])\ntext = path.read_text()\n"
        + script
        + "\npath.write_text(text)\n",
    )
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(program))}"


# --- review scripts that read the screen ---------------------------------------------


class Choice:
    """In a :func:`review_script`: the number the screen shows ``text`` under, read off the
    screen when the review asks (the order of the choices is shuffled on each showing)."""

    def __init__(self, text: str) -> None:
        self.text = text


#: A choice line of a multiple-choice card: "  2. The variable (a cell)".
CHOICE_LINE = re.compile(r"^  (\d+)\. (.*)$", re.M)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CARD_HEADER = re.compile(r"^\d+/\d+  \S+  \((?:new|review|drill)\)$", re.M)


def shown_choices(screen: str) -> list[str]:
    """The choices of the last card on ``screen``, in the order they are shown."""
    screen = ANSI.sub("", screen.replace("\r\n", "\n"))  # a pty's line ends and colours
    headers = list(CARD_HEADER.finditer(screen))
    last_card = screen[headers[-1].end() :] if headers else screen
    return [text for _, text in CHOICE_LINE.findall(last_card)]


def choice_number(screen: str, text: str) -> str:
    """The number under which the last card on ``screen`` shows the choice ``text``."""
    return str(shown_choices(screen).index(text) + 1)


def _screen_so_far() -> str:
    """What the command under CliRunner printed so far (its stdout is an in-memory file)."""
    sys.stdout.flush()
    return cast(io.BytesIO, sys.stdout.buffer).getvalue().decode()


class _Script(io.RawIOBase):
    """stdin giving one line per read, so a Choice is resolved only when it is read."""

    def __init__(self, lines: Sequence[str | Choice]) -> None:
        self._lines = list(lines)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            if not self._lines:
                return 0
            line = self._lines.pop(0)
            if isinstance(line, Choice):
                line = choice_number(_screen_so_far(), line.text)
            self._pending = f"{line}\n".encode()
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def review_script(*lines: str | Choice) -> io.BufferedReader:
    """Input for ``invoke("review", input=...)``: lines typed in turn; a :class:`Choice`
    becomes the number its text is shown under when the review reads it."""
    return io.BufferedReader(_Script(lines))


def code_fields(package: Path) -> dict[str, str]:
    """GUID -> Code field of every note in an Anki package quizzer wrote (read by quizzer's
    own package reader, as ``import`` reads one)."""
    from quizzer import anki, ankipkg

    position = anki.FIELDS.index("Code")
    return {note.guid: note.fields[position] for note in ankipkg.read_package(package).notes}


def anki_import(col: Any, package: Path, *, with_scheduling: bool = False) -> Any:
    """Import ``package`` into the real Anki collection ``col`` as Anki's desktop does:
    notes and note types updated when the package's are newer, no deck options; the
    import's log (``ImportLogWithChanges``)."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
    from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition

    newer = ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER
    options = ImportAnkiPackageOptions(
        merge_notetypes=False,
        update_notes=newer,
        update_notetypes=newer,
        with_scheduling=with_scheduling,
        with_deck_configs=False,
    )
    result = col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(package), options=options)
    )
    # The backend changed note types behind the Python side's cache.
    col.models._clear_cache()
    return result
