"""A database this process cannot write (a read-only folder or file): the commands that
only read it work, the others say so in one line and change nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import Invoke


def _unprivileged() -> list[str]:
    """The argv prefix that runs a command without root's power to write anything."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: root writes read-only folders")
    return [setpriv, "--inh-caps=-all", "--bounding-set=-all"]


def _quizzer(db: Path, *args: str, input: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_unprivileged(), sys.executable, "-m", "quizzer", "--db", str(db), *args],
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
    )


@pytest.fixture
def locked(invoke: Invoke, deck_file: Path, db_path: Path) -> Iterator[Path]:
    """The test's database (WAL, a review done) in a folder nobody may write."""
    assert invoke("import", str(deck_file)).exit_code == 0
    assert invoke("review", input="[2, 2, 2]\n.\n\nq\n").exit_code == 0
    folder = db_path.parent / "shelf"
    folder.mkdir()
    moved = folder / db_path.name
    db_path.rename(moved)
    assert sorted(p.name for p in folder.iterdir()) == [db_path.name]  # no -wal, no -shm
    folder.chmod(0o555)
    try:
        yield moved
    finally:
        folder.chmod(0o755)


def test_read_only_commands_work_in_a_read_only_folder(locked: Path) -> None:
    before = locked.read_bytes()
    for args in (["decks"], ["cards"], ["stats"], ["show", "test-closures/late-binding"]):
        result = _quizzer(locked, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stderr == ""
    assert "test-closures" in _quizzer(locked, "decks").stdout
    assert locked.read_bytes() == before
    assert sorted(p.name for p in locked.parent.iterdir()) == [locked.name]


def test_writing_commands_say_so_in_one_line(locked: Path) -> None:
    before = locked.read_bytes()
    config = _quizzer(locked, "config", "new-per-day", "5")
    assert config.returncode == 1
    assert config.stderr == (
        "Error: the database cannot be written here (the file or its folder is read-only): "
        "nothing was changed; commands that only read it work\n"
    )
    review = _quizzer(locked, "review", input="[2, 2, 2]\n.\n")
    assert review.returncode == 1
    assert "1/" not in review.stdout  # refused before the first card, not after its answer
    assert review.stderr.startswith(f"Error: {locked}: cannot be written here")
    assert locked.read_bytes() == before


def test_a_read_only_file_in_a_writable_folder_is_read(invoke: Invoke, db_path: Path) -> None:
    assert invoke("config", "new-per-day", "7").exit_code == 0
    db_path.chmod(0o444)
    try:
        result = _quizzer(db_path, "config", "new-per-day")
        assert (result.returncode, result.stdout) == (0, "7\n"), result.stderr
        assert _quizzer(db_path, "config", "new-per-day", "5").returncode == 1
    finally:
        db_path.chmod(0o644)
