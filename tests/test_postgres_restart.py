"""A PostgreSQL server restarted in the middle of a review: the next answer is saved on a
new connection, nothing is lost.

The test starts a throw-away server of its own (it restarts it), so it needs PostgreSQL's
``initdb`` and ``pg_ctl`` (on PATH or in /usr/lib/postgresql/*/bin) and, as root, a
``postgres`` user to run it as; it is skipped otherwise.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from helpers import cli_for

QUIZZER = str(Path(sys.executable).with_name("quizzer"))


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # often a link to the version's own folder
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A PostgreSQL server in a folder of its own, listening on a Unix socket only."""

    def __init__(self, folder: Path, pg_bin: Path, user: str | None) -> None:
        self.folder, self.pg_bin, self.user = folder, pg_bin, user
        self.port = _free_port()

    def run(self, program: str, *args: str) -> None:
        argv = [str(self.pg_bin / program), *args]
        if self.user is not None:
            argv = ["runuser", "-u", self.user, "--", *argv]
        subprocess.run(argv, cwd=self.folder, check=True, capture_output=True, timeout=120)

    def ctl(self, *args: str) -> None:
        options = f"-k {self.folder} -p {self.port} -c listen_addresses='' -c fsync=off"
        # A log file: the server must not keep this process's pipes open.
        log = str(self.folder / "log")
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-o", options, "-l", log, "-w", *args)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@/quizzer?host={self.folder}&port={self.port}"


@pytest.fixture
def server() -> Iterator[Server]:
    pg_bin = _pg_bin()
    if pg_bin is None:
        pytest.skip("PostgreSQL's initdb is not installed: no server to restart")
    user = None
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        user = "postgres"
    # Not tmp_path: the server's user must be allowed into the folder.
    folder = Path(tempfile.mkdtemp(prefix="quizzer-pg-"))
    if user is not None:
        shutil.chown(folder, user)
    server = Server(folder, pg_bin, user)
    try:
        server.run(
            "initdb",
            "-D",
            str(folder / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-sync",
        )
        server.ctl("start")
        server.run(
            "createdb", "-h", str(folder), "-p", str(server.port), "-U", "postgres", "quizzer"
        )
        yield server
    finally:
        subprocess.run(
            (["runuser", "-u", user, "--"] if user else [])
            + [str(pg_bin / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def test_an_answer_after_a_server_restart_is_saved(server: Server, deck_file: Path) -> None:
    from pexpect.popen_spawn import PopenSpawn

    invoke = cli_for(server.url)
    assert invoke("import", str(deck_file)).exit_code == 0
    child = PopenSpawn(
        [QUIZZER, "--db", server.url, "--today", "2026-01-05", "review"],
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Type the output")
    child.sendline("[2, 2, 2]")
    child.sendline(".")
    child.expect(r"How did it feel\?.*: ")
    child.sendline("e")
    child.expect("Next review in")
    child.expect("Your choice")
    server.ctl("restart", "-m", "fast")  # every connection of the review is cut
    child.sendline("")  # don't know: an answer saved in a new transaction
    child.expect("Don't know.")
    child.expect("press Enter to see it")
    child.sendline("")
    child.expect(r"or 0-5 \[g\]: ")
    child.sendline("g")
    child.expect("Your choice")  # the missed card's drill
    child.sendline("q")
    child.expect("Reviewed 3 cards")
    child.expect(pexpect.EOF)
    assert child.wait() == 0
    for pipe in (child.proc.stdin, child.proc.stdout):
        if pipe is not None:
            pipe.close()
    from sqlalchemy import create_engine, text

    engine = create_engine(server.url)
    try:
        with engine.connect() as connection:
            log = connection.execute(
                text(
                    "SELECT q.qid, r.quality FROM reviews r "
                    "JOIN questions q ON q.id = r.question_id ORDER BY r.id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in log] == [("late-binding", 5), ("cell", 0), ("nonlocal", 4)]


def test_a_transaction_cut_off_midway_runs_again_on_a_new_connection(server: Server) -> None:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from quizzer.db import Database

    database = Database(server.url)
    attempts: list[int] = []

    def work(session: Session) -> int:
        attempts.append(len(attempts) + 1)
        session.execute(text("CREATE TABLE IF NOT EXISTS marks (n integer)"))
        session.execute(text("INSERT INTO marks VALUES (:n)"), {"n": len(attempts)})
        if len(attempts) == 1:  # the server ends this connection before the commit
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return len(attempts)

    try:
        assert database.write(work) == 2
        with database.reading() as session:
            assert session.execute(text("SELECT n FROM marks")).scalars().all() == [2]
    finally:
        database.dispose()
