"""A stranger's deck attacks the machine through `quizzer check`; the boundary holds.

Each test writes a deck file whose one snippet tries an attack, runs the real `check` on
it, and looks at the host: the attack failed, `check` reported the question as failed
with a reason, and the files, the listener and quizzer itself are untouched. Where the
kernel gives no boundary (no Landlock, no seccomp) the suite skips, saying why.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from helpers import Invoke

from quizzer.sandbox import run_snippet
from quizzer.sandbox.boundary import describe

BOUNDARY = describe()
pytestmark = pytest.mark.skipif(
    not BOUNDARY.enforced or sys.platform != "linux",
    reason=f"no kernel boundary on this machine: {BOUNDARY.reason}",
)

EXPECTED = "attack worked\n"


def deck(tmp_path: Path, code: str, answer: str = EXPECTED) -> Path:
    """A deck file whose one question's snippet is ``code``; its stored answer is what the
    snippet prints when the attack works, so a PASS would mean the attack worked."""
    path = tmp_path / "stranger.yaml"
    body = {
        "deck": "stranger",
        "title": "A stranger's deck",
        "questions": [
            {
                "id": "attack",
                "type": "predict_output",
                "prompt": "What prints?",
                "code": textwrap.dedent(code),
                "answer": answer,
            }
        ],
    }
    path.write_text(json.dumps(body), encoding="utf-8")  # JSON is YAML
    return path


def check_fails(invoke: Invoke, path: Path) -> str:
    result = invoke("check", str(path))
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "0 passed, 1 failed" in result.output
    return result.output


def test_reading_the_users_ssh_key_and_the_database(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_rsa"
    key.write_text("-----BEGIN FAKE KEY-----\n", encoding="utf-8")
    key.chmod(0o600)
    invoke("decks")  # creates the database
    assert db_path.exists()
    code = f"""
        for path in ({str(key)!r}, {str(db_path)!r}):
            try:
                open(path, "rb").read()
                print("read", path)
            except OSError as exc:
                print(type(exc).__name__)
        print("attack worked")
    """
    output = check_fails(invoke, deck(tmp_path, code))
    assert "PermissionError\n" in output and "+read" not in output


def test_writing_a_pth_into_the_venv_and_deleting_the_database(
    invoke: Invoke, tmp_path: Path, db_path: Path
) -> None:
    import sysconfig

    site = Path(sysconfig.get_paths()["purelib"])
    pth = site / f"zz-attack-{uuid.uuid4().hex}.pth"
    invoke("decks")
    before = db_path.read_bytes()
    code = f"""
        import os
        open({str(pth)!r}, "w").write("import os; os.system('touch /tmp/pwned')\\n")
        os.remove({str(db_path)!r})
        print("attack worked")
    """
    output = check_fails(invoke, deck(tmp_path, code))
    assert "refused by the sandbox's boundary: PermissionError" in output
    assert not pth.exists()
    assert db_path.read_bytes() == before


def test_tcp_connect_and_udp_send_reach_nothing(invoke: Invoke, tmp_path: Path) -> None:
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp.setblocking(False)
    udp.setblocking(False)
    with tcp, udp:
        code = f"""
            import socket
            for kind in ("tcp", "udp"):
                try:
                    if kind == "tcp":
                        socket.create_connection(("127.0.0.1", {tcp.getsockname()[1]})).send(b"x")
                    else:
                        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                        s.sendto(b"x", ("127.0.0.1", {udp.getsockname()[1]}))
                except OSError as exc:
                    print(kind, type(exc).__name__)
            print("attack worked")
        """
        output = check_fails(invoke, deck(tmp_path, code))
        assert "+tcp PermissionError" in output and "+udp PermissionError" in output
        with pytest.raises(BlockingIOError):
            tcp.accept()
        with pytest.raises(BlockingIOError):
            udp.recv(10)


def test_a_unix_socket_outside_is_out_of_reach(invoke: Invoke, tmp_path: Path) -> None:
    # Behind a unix socket may wait the session bus, an ssh agent, docker...
    path = tmp_path / "bus"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen()
        server.setblocking(False)
        path.chmod(0o777)
        code = f"""
            import socket
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect({str(path)!r})
                s.send(b"x")
            except OSError as exc:
                print(type(exc).__name__)
            a, b = socket.socketpair()  # still works: asyncio and multiprocessing need it
            a.send(b"ok")
            print(b.recv(2).decode())
            print("attack worked")
        """
        output = check_fails(invoke, deck(tmp_path, code))
        assert "+PermissionError\n+ok" in output
        with pytest.raises(BlockingIOError):
            server.accept()


def test_the_parents_memory_environment_and_terminal_are_closed(
    invoke: Invoke, tmp_path: Path
) -> None:
    code = """
        import os
        parent = os.getppid()
        for name, mode in (("mem", "rb"), ("mem", "r+b"), ("environ", "rb"), ("fd/1", "wb")):
            try:
                with open(f"/proc/{parent}/{name}", mode) as f:
                    f.write(b"forged PASS\\n") if "w" in mode or "+" in mode else f.read(10)
                print("opened", name, mode)
            except OSError as exc:
                print(name, mode, type(exc).__name__)
        print("attack worked")
    """
    output = check_fails(invoke, deck(tmp_path, code))
    assert "+opened" not in output and "forged PASS" not in output.split("+++")[0]
    assert output.count("PermissionError") >= 4


def test_tiocsti_pushes_no_keystrokes(invoke: Invoke, tmp_path: Path) -> None:
    code = """
        import fcntl, os, termios
        for path in ("/dev/tty", "/dev/console", "/dev/pts/0"):
            try:
                fd = os.open(path, os.O_RDWR)
                fcntl.ioctl(fd, termios.TIOCSTI, b"x")
                print("pushed into", path)
            except OSError as exc:
                print(path, type(exc).__name__)
        for fd in (0, 1, 2):
            try:
                fcntl.ioctl(fd, termios.TIOCSTI, b"x")
                print("pushed into", fd)
            except OSError as exc:
                print(fd, type(exc).__name__)
        print("attack worked")
    """
    output = check_fails(invoke, deck(tmp_path, code))
    assert "+pushed" not in output


def test_killing_or_stopping_quizzer_is_refused(invoke: Invoke, tmp_path: Path) -> None:
    for number in (signal.SIGKILL, signal.SIGSTOP):
        code = f"""
            import os
            try:
                os.kill(os.getppid(), {int(number)})
            except OSError as exc:
                print(type(exc).__name__)
            print("attack worked")
        """
        output = check_fails(invoke, deck(tmp_path, code))
        assert "+PermissionError" in output
    # Still here, and not stopped:
    state = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert state in "RS"


def _setsid_bomb(marker: str) -> str:
    """A snippet forking without end, each child in a session of its own; ``marker`` in
    every process's argv, to count the survivors by."""
    return f"""
        import os, sys, time
        if len(sys.argv) < 2:
            os.execv(sys.executable, [sys.executable, "-I", __file__, {marker!r}])
        while True:
            try:
                if os.fork() == 0:
                    os.setsid()
            except OSError:
                time.sleep(0.01)
    """


def test_a_setsid_fork_bomb_ends_and_leaves_no_process(invoke: Invoke, tmp_path: Path) -> None:
    marker = f"quizzer-bomb-{uuid.uuid4().hex}"
    code = _setsid_bomb(marker)
    started = time.monotonic()
    result = invoke("check", "--timeout", "3", str(deck(tmp_path, code)))
    assert result.exit_code == 1, result.output
    # Ended, not hung: the bomb runs to its 3 s wall limit, every process then goes.
    assert time.monotonic() - started < 60
    assert survivors(marker) == []


def survivors(marker: str) -> list[int]:
    deadline = time.monotonic() + 5
    while True:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                except OSError:
                    continue
                if marker.encode() in cmdline:
                    found.append(int(entry))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_ctrl_c_and_sigterm_end_check_with_every_descendant_gone(tmp_path: Path) -> None:
    marker = f"quizzer-bomb-{uuid.uuid4().hex}"
    path = deck(tmp_path, _setsid_bomb(marker))
    for number in (signal.SIGINT, signal.SIGTERM):
        process = subprocess.Popen(
            [sys.executable, "-m", "quizzer", "--db", str(tmp_path / "q.db"), "check", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not survivors_now(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the bomb is going
        process.send_signal(number)
        process.wait(timeout=30)
        assert survivors(marker) == []


def survivors_now(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    found.append(int(entry))
            except OSError:
                continue
    return found


def test_filling_dev_shm_is_stopped_and_cleaned_up(invoke: Invoke, tmp_path: Path) -> None:
    before = set(os.listdir("/dev/shm"))
    code = """
        import os
        for i in range(100_000):
            with open(f"/dev/shm/fill-{i}", "wb") as f:
                f.write(b"x" * (4 << 20))
        print("attack worked")
    """
    output = check_fails(invoke, deck(tmp_path, code))
    assert "wrote more than 64 MiB to files" in output or "PermissionError" in output
    if BOUNDARY.uid_drop:  # as root the snippet's own files can be told apart, and go
        assert set(os.listdir("/dev/shm")) <= before
    else:
        for name in set(os.listdir("/dev/shm")) - before:
            if name.startswith("fill-"):
                (Path("/dev/shm") / name).unlink()


def test_filling_the_disk_from_the_temp_dir_is_stopped(invoke: Invoke, tmp_path: Path) -> None:
    code = """
        for i in range(100_000):
            with open(f"fill-{i}", "wb") as f:
                f.write(b"x" * (4 << 20))
        print("attack worked")
    """
    output = check_fails(invoke, deck(tmp_path, code))
    assert "wrote more than 64 MiB to files" in output


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can write to /root")
def test_as_root_the_snippet_is_not_root(invoke: Invoke, tmp_path: Path) -> None:
    target = Path("/root") / f"attack-{uuid.uuid4().hex}"
    code = f"""
        import os
        print(os.getuid() == 0, os.getgid() == 0, os.getgroups())
        try:
            open({str(target)!r}, "w").write("x")
        except OSError as exc:
            print(type(exc).__name__)
        print("attack worked")
    """
    output = check_fails(invoke, deck(tmp_path, code))
    assert "+False False []" in output and "PermissionError" in output
    assert not target.exists()


def test_a_limit_that_shaped_the_answer_is_reported_as_such() -> None:
    result = run_snippet("x = bytearray(1 << 40)")
    assert result.limited is not None and "memory" in result.limited
    assert run_snippet("print(1)").limited is None


def test_add_running_code_that_deletes_the_database_stores_nothing(
    invoke: Invoke, db_path: Path
) -> None:
    # The issue: during `add` a snippet deleted the database and `add` still said "Added".
    invoke("decks")
    before = db_path.read_bytes()
    code = f"import os\nos.remove({str(db_path)!r})\nprint('deleted')\n"
    args = ["add", "--deck", "my-notes", "--type", "predict_output", "--prompt", "Boom"]
    result = invoke(*args, "--code", code, "-y")
    assert result.exit_code == 1, result.output
    assert "refused by the sandbox's boundary: PermissionError" in result.output
    assert "Added" not in result.output
    assert db_path.read_bytes() == before
