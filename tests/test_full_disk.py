"""A full disk: every command says so in one line, and a database that could not be
created leaves no empty file behind.

A real full file system is needed (RLIMIT_FSIZE gives EFBIG, not ENOSPC): a small tmpfs
mounted in a mount namespace of the test's own (``unshare -m``), which needs root or
the right to make namespaces; the test is skipped without it.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import Invoke

QUIZZER = Path(sys.executable).with_name("quizzer")


def _on_a_full_disk(tmp_path: Path, database: Path, commands: list[str]) -> list[str]:
    """Run shell ``commands`` in a mount namespace where the current folder is a 1 MiB
    tmpfs holding a copy of ``database`` (``q.db``), filled up; returns one line per
    command (its exit status and stderr), then the names of the folder's files."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1): cannot mount a small file system to fill")
    mount = tmp_path / "full"
    mount.mkdir()
    script = [
        f"mount -t tmpfs -o size=1m tmpfs {shlex.quote(str(mount))} || exit 77",
        f"cd {shlex.quote(str(mount))}",
        f"cp {shlex.quote(str(database))} q.db",
        "dd if=/dev/zero of=filler bs=4k >/dev/null 2>&1",
        *[
            f'{command} >/dev/null 2>/tmp/err.$$; echo "$? $(cat /tmp/err.$$)"'
            for command in commands
        ],
        "rm -f /tmp/err.$$",
        "ls",
    ]
    result = subprocess.run(
        [unshare, "-m", "sh", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode == 77:
        pytest.skip(f"cannot mount a tmpfs in a new mount namespace: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_every_command_says_the_disk_is_full(
    invoke: Invoke, deck_file: Path, db_path: Path, tmp_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    quizzer = shlex.quote(str(QUIZZER))
    lines = _on_a_full_disk(
        tmp_path,
        db_path,
        [
            f"{quizzer} --db q.db decks",
            f"{quizzer} --db q.db config new-per-day 5",
            f"{quizzer} --db q.db review < /dev/null",
            f"{quizzer} --db new.db import {shlex.quote(str(deck_file))}",
        ],
    )
    full = "the disk is full: nothing was changed; free some space and run the command again"
    for verdict, db in zip(lines[:4], ["q.db", "q.db", "q.db", "new.db"], strict=True):
        assert verdict.startswith("1 Error: ") and verdict.endswith(f"{db}: {full}"), verdict
    files = lines[4:]
    assert "q.db" in files
    assert "new.db" not in files  # no empty database left behind
