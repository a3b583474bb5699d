"""The sandbox: real subprocesses running real (and hostile) snippets, small limits."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quizzer import sandbox
from quizzer.answers import normalize_output, output_diff, outputs_match
from quizzer.errors import SandboxError
from quizzer.sandbox import (
    Limits,
    MiB,
    RunResult,
    final_exception_line,
    interpreter_version,
    reaper,
    run_many,
    run_snippet,
)
from quizzer.sandbox import run as sandbox_run
from quizzer.sandbox.boundary import Boundary, describe

ROOT = Path(__file__).resolve().parent.parent

SMALL = Limits(
    cpu_seconds=1,
    wall_seconds=5,
    memory_bytes=256 * MiB,
    file_size_bytes=1 * MiB,
    processes=64,
    output_bytes=64 * 1024,
)


def run(code: str, limits: Limits = SMALL) -> RunResult:
    return run_snippet(textwrap.dedent(code), limits=limits)


def assert_still_works() -> None:
    result = run("print(6 * 7)")
    assert (result.output, result.reason, result.limit) == ("42\n", "exited normally", None)


@pytest.fixture(params=["boundary", "no boundary"])
def launcher(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways boot.py runs: inside the kernel boundary, and with the limits alone (as
    where Landlock is missing)."""
    if request.param == "no boundary":
        missing = Boundary(None, False, False, False, "pretended missing")
        monkeypatch.setattr(sandbox_run, "describe", lambda: missing)
    elif not describe().enforced:
        pytest.skip(f"no kernel boundary here: {describe().reason}")
    return str(request.param)


# -- what a run reports -------------------------------------------------------------------


def test_plain_output() -> None:
    result = run("for i in range(3):\n    print(i, 'é')")
    assert result.stdout == "0 é\n1 é\n2 é\n"
    assert result.output == result.stdout
    assert (result.exit_status, result.exception, result.limit, result.stopped) == (
        0,
        None,
        None,
        False,
    )


def test_uncaught_exception_ends_the_output_with_its_last_line() -> None:
    result = run("print('a', end='')\nprint(1 / 0)")
    assert result.exit_status == 1
    assert result.exception == "ZeroDivisionError: division by zero"
    assert result.output == "a\nZeroDivisionError: division by zero\n"
    assert result.reason == "raised ZeroDivisionError: division by zero"
    assert "Traceback (most recent call last):" in result.stderr


def test_syntax_error_has_no_traceback_header_but_counts() -> None:
    result = run("print('never runs')\nprint(")
    assert result.stdout == ""
    assert result.exception is not None and result.exception.startswith("SyntaxError: ")
    assert "Traceback" not in result.stderr
    assert result.output == result.exception + "\n"


def test_indentation_error_counts_as_syntax_error() -> None:
    result = run("if True:\nprint(1)\n")
    assert result.exception is not None and result.exception.startswith("IndentationError: ")


def test_writing_to_stderr_and_exiting_is_not_an_exception() -> None:
    code = """
        import sys
        print("out")
        sys.stderr.write("Traceback (most recent call last):\\nValueError: fake\\n")
    """
    result = run(code)
    assert (result.exit_status, result.exception, result.output) == (0, None, "out\n")


def test_sys_exit_3_is_an_exit_status_not_an_exception() -> None:
    result = run("import sys\nprint('bye')\nsys.exit(3)")
    assert (result.exit_status, result.exception, result.limit) == (3, None, None)
    assert result.output == "bye\n"
    assert result.reason == "exited with status 3"


def test_system_exit_with_a_message_is_not_an_exception() -> None:
    result = run("raise SystemExit('goodbye')")
    assert result.exit_status == 1
    assert result.stderr.strip() == "goodbye"
    assert result.exception is None and result.output == ""


def test_exception_group_reports_the_group_line() -> None:
    result = run("raise ExceptionGroup('eg', [ValueError(1), TypeError(2)])")
    assert result.exception == "ExceptionGroup: eg (2 sub-exceptions)"


def test_exception_raised_while_handling_another_reports_the_last() -> None:
    result = run("try:\n    {}['k']\nexcept KeyError:\n    int('x')")
    assert result.exception == "ValueError: invalid literal for int() with base 10: 'x'"


#: Snippets whose stderr holds other tracebacks besides the main one; each ends in a
#: KeyError('main') in the main thread.
OTHER_TRACEBACKS = {
    "a thread raising after the main thread": """
        import threading, time
        def work():
            time.sleep(0.2)
            raise RuntimeError("in thread")
        threading.Thread(target=work).start()
        raise KeyError("main")
    """,
    "a thread raising before": """
        import threading
        def work():
            try:
                {}["x"]
            except KeyError:
                raise RuntimeError("in thread")
        t = threading.Thread(target=work)
        t.start()
        t.join()
        raise KeyError("main")
    """,
    "__del__ raising at exit": """
        class C:
            def __del__(self):
                raise OSError("in del")
        keep = C()
        raise KeyError("main")
    """,
}


@pytest.mark.parametrize("code", OTHER_TRACEBACKS.values(), ids=list(OTHER_TRACEBACKS))
def test_only_the_main_threads_uncaught_exception_counts(code: str) -> None:
    result = run(code)
    assert result.stderr.count("Traceback") >= 2, result.stderr
    assert result.exception == "KeyError: 'main'"


def test_a_thread_raising_is_no_exception_of_the_program() -> None:
    code = "import threading\nthreading.Thread(target=lambda: 1 / 0).start()\nprint('done')"
    result = run(code)
    assert "ZeroDivisionError" in result.stderr
    assert result.exit_status == 0 and result.exception is None
    assert result.output == "done\n"


def test_an_exception_with_a_note_ends_with_the_note() -> None:
    # The deck format: the answer ends with the last line Python prints for it.
    result = run("e = ValueError('v')\ne.add_note('see the docs')\nraise e")
    assert result.exception == "see the docs"


def test_final_exception_line_needs_a_failing_exit_status() -> None:
    stderr = "Traceback (most recent call last):\n  File 'x', line 1\nValueError: v\n"
    assert final_exception_line(stderr, 1) == "ValueError: v"
    assert final_exception_line(stderr, 0) is None
    assert final_exception_line(stderr, 2) is None
    assert final_exception_line("ValueError: v\n", 1) is None


def test_stdin_is_closed() -> None:
    result = run("print(input())")
    assert result.exception == "EOFError: EOF when reading a line"


def test_runs_isolated_with_utf8_stdout() -> None:
    result = run("import sys\nprint(sys.flags.isolated, sys.stdout.encoding)\nprint('✓ ß')")
    assert result.stdout == "1 utf-8\n✓ ß\n"


# -- containment ----------------------------------------------------------------------------


def test_cpu_limit(launcher: str) -> None:
    result = run("while True:\n    pass")
    # Stopped by the CPU limit and reported as it, before the wall clock ran out. How much
    # CPU time the kernel counted by then is not checked: on a busy machine its accounting
    # may show less than the limit (0.87 s for 1 s was seen).
    assert result.limit == "cpu" and result.stopped
    assert "CPU" in result.reason
    assert result.cpu_seconds > 0
    assert result.wall_seconds < SMALL.wall_seconds
    assert_still_works()


def test_memory_bomb(launcher: str) -> None:
    result = run("hoard = []\nwhile True:\n    hoard.append(bytearray(10**7))")
    assert result.limit == "memory"
    assert "memory" in result.reason
    assert result.wall_seconds < SMALL.wall_seconds
    assert_still_works()


def test_file_size_limit(launcher: str) -> None:
    result = run("with open('big', 'wb') as f:\n    f.write(b'x' * (2 * 1024 * 1024))")
    assert result.limit == "file_size"
    assert result.exception is not None and "File too large" in result.exception
    assert_still_works()


def test_printing_a_hundred_million_characters_is_cut_off_fast() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = run("print('x' * 10**8)")
    elapsed = time.monotonic() - started
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert result.limit == "output" and result.stopped
    assert 0 < len(result.stdout.encode()) <= SMALL.output_bytes
    assert elapsed < 5
    assert grown_kib < 50 * 1024, "the parent must not buffer the whole output"
    assert_still_works()


def test_a_pool_of_thirty_two_threads_fits_in_the_memory_limit() -> None:
    # ThreadPoolExecutor's default size is min(32, CPUs + 4): the answer must not depend
    # on the machine (each thread once reserved 72 MiB of the 512 MiB address space).
    code = """
        import threading
        barrier = threading.Barrier(33)
        threads = [threading.Thread(target=barrier.wait) for _ in range(32)]
        for t in threads:
            t.start()
        barrier.wait()
        for t in threads:
            t.join()
        print("32 threads ran at once")
    """
    result = run(code, sandbox.DEFAULT_LIMITS)
    assert result.output == "32 threads ran at once\n", result.stderr


def test_too_many_threads_is_a_limit_not_an_answer() -> None:
    code = """
        import threading
        stop = threading.Event()
        for _ in range(1000):
            threading.Thread(target=stop.wait, daemon=True).start()
    """
    result = run(code, sandbox.DEFAULT_LIMITS)
    assert result.exception is not None and "can't start new thread" in result.exception
    assert result.limit == "processes"
    assert "could not start another thread" in result.reason


def test_output_limit_counts_stderr_too() -> None:
    result = run("import sys\nwhile True:\n    sys.stderr.write('e' * 4096)")
    assert result.limit == "output"


def test_wall_clock_timeout() -> None:
    limits = Limits(wall_seconds=1.0, cpu_seconds=1)
    result = run("import time\nprint('start', flush=True)\ntime.sleep(60)", limits)
    assert result.limit == "timeout" and result.stopped
    assert result.stdout == "start\n"
    assert 1.0 <= result.wall_seconds < 4
    assert_still_works()


def _alive_in_group(pid: int, pgid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    state, group = fields[0], int(fields[2])
    return state not in ("Z", "X") and group == pgid


def test_storm_of_200_sleeping_children_leaves_no_survivor() -> None:
    code = """
        import os, time
        pids = []
        for _ in range(200):  # bounded: exactly 200 forks at most
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(600)
                os._exit(0)
            pids.append(pid)
        print(os.getpgid(0))
        print(*pids)
    """
    result = run(code, Limits(wall_seconds=20))
    assert result.exit_status == 0, result.stderr
    first, second = result.stdout.splitlines()
    pgid, pids = int(first), [int(pid) for pid in second.split()]
    assert pids
    if os.geteuid() == 0 and describe().uid_drop:
        # A root's snippet runs as a uid of its own, so RLIMIT_NPROC binds it exactly.
        assert len(pids) < 200
    # The children keep the output pipes open; the run must not wait for them.
    assert result.wall_seconds < 10
    deadline = time.monotonic() + 5
    survivors = pids
    while survivors and time.monotonic() < deadline:
        survivors = [pid for pid in survivors if _alive_in_group(pid, pgid)]
        time.sleep(0.05)
    assert survivors == []
    assert_still_works()


def test_background_child_is_killed_after_a_clean_exit() -> None:
    code = """
        import os, subprocess
        child = subprocess.Popen(["sleep", "600"])
        print(os.getpgid(0), child.pid)
    """
    result = run(code)
    assert result.exit_status == 0, result.stderr
    assert result.wall_seconds < 3
    pgid, pid = map(int, result.stdout.split())
    deadline = time.monotonic() + 5
    while _alive_in_group(pid, pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive_in_group(pid, pgid)


def _running(pid: int, started: str) -> bool:
    """Whether ``pid`` is still the process that was started at ``started`` (clock ticks),
    and has not just exited: a pid can be reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat.rsplit(")", 1)[1].split()
    return fields[0] not in ("Z", "X") and fields[19] == started


#: Prints "PID START" of a process that left the snippet's session and sleeps for ever.
ESCAPES = {
    "start_new_session": """
        import subprocess
        child = subprocess.Popen(["sleep", "600"], start_new_session=True)
    """,
    "setsid after a double fork": """
        import os, time
        read, write = os.pipe()
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.write(write, str(os.getpid()).encode())
                time.sleep(600)
            os._exit(0)
        child = type("Child", (), {"pid": int(os.read(read, 20))})
    """,
    "setpgid": """
        import os, time
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            os.write(write, b"x")
            time.sleep(600)
        os.read(read, 1)
        child = type("Child", (), {"pid": pid})
    """,
}
_PRINT_CHILD = """
    from pathlib import Path
    start = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    print(child.pid, start, flush=True)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: child subreaper")
@pytest.mark.parametrize("code", ESCAPES.values(), ids=list(ESCAPES))
def test_a_process_that_leaves_the_group_is_killed_too(code: str) -> None:
    result = run(textwrap.dedent(code) + textwrap.dedent(_PRINT_CHILD))
    assert result.exit_status == 0, result.stderr
    pid, started = result.stdout.split()
    # Gone when the run returns: killed and reaped, not left as a zombie.
    assert not _running(int(pid), started)
    assert not Path(f"/proc/{pid}/stat").exists() or not _running(int(pid), started)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: child subreaper")
def test_leftovers_of_parallel_runs_are_all_killed_and_quizzer_stops_adopting() -> None:
    import ctypes

    codes = [textwrap.dedent(c) + textwrap.dedent(_PRINT_CHILD) for c in ESCAPES.values()] * 2
    results = run_many(codes, limits=SMALL, jobs=3)
    assert all(result.exit_status == 0 for result in results), [r.stderr for r in results]
    children = [result.stdout.split() for result in results]
    assert len(children) == 6 and all(len(c) == 2 for c in children)
    assert not [pid for pid, started in children if _running(int(pid), started)]
    # No zombies of them among quizzer's children, and quizzer is no subreaper any more.
    assert not reaper._children() & {int(pid) for pid, _ in children}
    flag = ctypes.c_int(-1)
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(37, ctypes.byref(flag), 0, 0, 0) == 0  # PR_GET_CHILD_SUBREAPER
    assert flag.value == 0


def _sandbox_processes_under(folder: Path) -> list[int]:
    """Processes whose command line names something in ``folder`` (a run's snippet)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(folder).encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_check_stops_its_snippets_at_once(tmp_path: Path, signum: int) -> None:
    questions = "".join(
        f"""
          - id: slow-{n}
            type: predict_output
            prompt: What prints?
            code: |
              import time
              time.sleep(5)
              print({n})
            answer: "{n}"
        """
        for n in range(8)
    )
    deck = tmp_path / "slow.yaml"
    deck.write_text(textwrap.dedent("deck: slow\ntitle: Slow\nquestions:" + questions))
    temp = tmp_path / "temp"
    temp.mkdir()
    quizzer = str(Path(sys.executable).with_name("quizzer"))
    process = subprocess.Popen(
        [quizzer, "check", "--trust", "--jobs", "2", str(deck)],
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while len(_sandbox_processes_under(temp)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sandbox_processes_under(temp), "the snippets never started"
    process.send_signal(signum)
    sent = time.monotonic()
    _, stderr = process.communicate(timeout=30)
    # Without the fix: every queued snippet ran first, 8 x 5 s over 2 jobs.
    assert time.monotonic() - sent < 10
    assert process.returncode != 0
    assert b"Traceback" not in stderr, stderr
    assert _sandbox_processes_under(temp) == []
    assert list(temp.iterdir()) == []


def test_quizzers_own_children_are_left_alone() -> None:
    mine = subprocess.Popen(["sleep", "30"])  # in quizzer's session, like an editor
    try:
        assert run("print('hi')").stdout == "hi\n"
        assert mine.poll() is None
    finally:
        mine.kill()
        mine.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: child subreaper")
def test_a_programs_own_children_in_other_sessions_and_its_subreaper_flag_are_kept() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    flag = ctypes.c_int(-1)
    mine = subprocess.Popen(["sleep", "30"], start_new_session=True)
    assert libc.prctl(36, 1, 0, 0, 0) == 0  # the program is a subreaper of its own
    try:
        assert run("print('hi')").stdout == "hi\n"
        assert mine.poll() is None
        assert libc.prctl(37, ctypes.byref(flag), 0, 0, 0) == 0 and flag.value == 1
    finally:
        libc.prctl(36, 0, 0, 0, 0)
        mine.kill()
        mine.wait()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_children_are_found_without_the_proc_children_files() -> None:
    started = [subprocess.Popen(["sleep", "30"]) for _ in range(2)]
    try:
        pids = {child.pid for child in started}
        assert pids <= reaper._children_by_scanning()
        assert reaper._children_by_scanning() == reaper._children()
    finally:
        for child in started:
            child.kill()
            child.wait()


def test_a_snippet_writing_like_the_launcher_is_still_a_snippet() -> None:
    result = run("import sys\nsys.stderr.write('prlimit: not really\\n')\nprint(42)")
    assert result.stdout == "42\n" and result.exit_status == 0
    failed = run("import sys\nsys.stderr.write('quizzer-sandbox: no\\n')\nsys.exit(1)")
    assert failed.exit_status == 1 and failed.exception is None


def test_a_launcher_that_cannot_set_the_limits_is_a_sandbox_error(
    launcher: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sandbox_run._rlimits

    def soft_above_hard(limits: Limits, uid: int | None = None) -> list[tuple[str, int, int, int]]:
        # Each limit's soft value above its hard one: setrlimit refuses that.
        return [(option, res, hard + 1, hard) for option, res, _, hard in real(limits, uid)]

    monkeypatch.setattr(sandbox_run, "_rlimits", soft_above_hard)
    with pytest.raises(SandboxError, match="cannot set up the sandbox"):
        run("print(1)")


def test_files_land_in_a_temporary_cwd_that_is_removed() -> None:
    code = """
        import os
        with open("note.txt", "w") as f:
            f.write("hello")
        os.mkdir("sub")
        os.chmod("sub", 0)
        print(os.getcwd())
        print(os.path.abspath("note.txt"))
        print(os.environ["HOME"])
    """
    result = run(code)
    assert result.exit_status == 0, result.stderr
    cwd, note, home = result.stdout.splitlines()
    assert Path(cwd).parent == Path(tempfile.gettempdir()).resolve()
    assert note == os.path.join(cwd, "note.txt")
    assert home == cwd
    assert not Path(cwd).exists()


def test_a_snippet_deleting_its_own_directory_leaves_the_temp_dir_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    result = run("import os, shutil\nshutil.rmtree(os.getcwd())\nprint('gone')")
    # Inside the boundary the folder itself cannot go (its parent is not the snippet's).
    assert result.stdout == "gone\n" or result.limit == "boundary", result.reason
    assert oct(shared.stat().st_mode & 0o7777) == oct(0o1777)
    assert list(shared.iterdir()) == []


def test_a_tree_too_deep_for_rmtree_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code = """
        import os
        for _ in range(1500):
            os.mkdir("d")
            os.chdir("d")
        print("deep")
    """
    result = run(code)
    assert result.stdout == "deep\n"
    assert list(tmp_path.iterdir()) == []


def test_parent_environment_is_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUIZZER_TEST_SECRET", "hunter2")
    monkeypatch.setenv("PYTHONPATH", "/nonexistent")
    code = """
        import os
        print(os.environ.get("QUIZZER_TEST_SECRET"))
        print(*sorted(os.environ))
    """
    result = run(code)
    secret, names = result.stdout.splitlines()
    assert secret == "None"
    assert "hunter2" not in result.stdout
    assert set(names.split()) <= {
        *("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR", "LC_CTYPE", "MALLOC_ARENA_MAX")
    }


def test_closing_stdout_with_os_close() -> None:
    result = run("import os\nprint('before', flush=True)\nos.close(1)\nprint('after')")
    assert result.stdout == "before\n"
    assert result.exception is None
    assert result.exit_status == 120  # Python could not flush stdout at exit
    assert not result.stopped
    assert_still_works()


def test_closing_sys_stdout() -> None:
    result = run("import sys\nprint('before', flush=True)\nsys.stdout.close()\nprint('after')")
    assert result.stdout == "before\n"
    assert result.exception == "ValueError: I/O operation on closed file."


def test_killed_by_a_signal_is_reported() -> None:
    result = run("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)")
    assert result.exit_status == -15 and result.stopped
    assert result.reason == "killed by SIGTERM" and result.limit is None


# -- interpreters, parallel runs ----------------------------------------------------------------


def test_unknown_interpreter_is_a_sandbox_error() -> None:
    with pytest.raises(SandboxError, match="no Python interpreter"):
        run_snippet("print(1)", python="no-such-python-quizzer")


def test_another_interpreter_path(tmp_path: Path) -> None:
    # A different path to the same interpreter: the version is asked of the child.
    link = tmp_path / "py"
    link.symlink_to(os.path.realpath(sys.executable))
    result = run_snippet("import sys\nprint(sys.version_info[:2])", python=str(link))
    assert result.stdout == f"{tuple(sys.version_info[:2])}\n"
    assert interpreter_version(str(link)) == ".".join(map(str, sys.version_info[:3]))


def test_run_many_keeps_order_and_reports_progress() -> None:
    codes = [f"import time\ntime.sleep({0.05 * (i % 3)})\nprint({i})" for i in range(8)]
    seen: list[int] = []
    results = run_many(codes, limits=SMALL, jobs=4, progress=seen.append)
    assert [r.stdout for r in results] == [f"{i}\n" for i in range(8)]
    assert seen == list(range(1, 9))


def test_run_many_contains_a_hostile_snippet_among_good_ones() -> None:
    codes = ["print('a')", "while True:\n    pass", "print('c')"]
    results = run_many(codes, limits=SMALL, jobs=2)
    assert [r.limit for r in results] == [None, "cpu", None]
    assert [r.stdout for r in results] == ["a\n", "", "c\n"]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="wall_seconds"):
        Limits(wall_seconds=0)


def test_importing_the_sandbox_loads_only_the_standard_library() -> None:
    OWN = {"errors", "sandbox"}
    code = (
        "import sys; before = set(sys.modules); import quizzer.sandbox; "
        "print(*sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] not in sys.stdlib_module_names))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    # quizzer's own modules and the standard library, nothing else.
    assert "quizzer.sandbox" in out
    assert {name.split(".")[0] for name in out} == {"quizzer"}
    assert not [m for m in out if m.startswith("quizzer.") and m.split(".")[1] not in OWN]


# -- comparing outputs ------------------------------------------------------------------------


def test_normalize_output_drops_only_trailing_spaces_and_blank_lines() -> None:
    assert normalize_output("a  \r\nb \n\n\n") == "a\nb"
    assert normalize_output("b\t\n") == "b\t"  # the deck format: spaces, nothing else
    assert not outputs_match("a\t\n", "a\n")
    assert normalize_output("\n  a") == "\n  a"
    assert outputs_match("1\n2\n", "1  \n2")
    assert not outputs_match("1\n2\n", "1\n\n2\n")
    assert not outputs_match("a", "A")
    assert not outputs_match(" a", "a")


def test_output_diff_is_a_unified_diff() -> None:
    diff = output_diff("1\n2\n", "1\n3\n", expected_label="stored", actual_label="ran")
    assert diff.splitlines()[:2] == ["--- stored", "+++ ran"]
    assert "-2" in diff.splitlines() and "+3" in diff.splitlines()
    assert output_diff("x \n", "x") == ""


lines = st.lists(st.text(alphabet=st.characters(exclude_characters="\r\n"), max_size=8), max_size=6)


@given(lines, st.lists(st.sampled_from(["  ", " ", ""]), min_size=6, max_size=6), st.integers(0, 3))
def test_trailing_spaces_never_matter(body: list[str], pads: list[str], blanks: int) -> None:
    text = "\n".join(body)
    padded = "\r\n".join(line + pad for line, pad in zip(body, pads, strict=False)) + "\n" * blanks
    assert outputs_match(text, padded)
    assert output_diff(text, padded) == ""


@given(lines, st.integers(0, 5), st.characters(exclude_characters="\r\n "))
def test_any_visible_change_matters(body: list[str], where: int, extra: str) -> None:
    text = "\n".join(body) or "x"
    position = where % (len(text) + 1)
    changed = text[:position] + extra + text[position:]
    assert not outputs_match(text, changed)
    assert output_diff(text, changed) != ""


def test_the_snippet_runs_as_a_plain_script_would(tmp_path: Path) -> None:
    # boot.py runs the snippet in its own interpreter after setting up the boundary; the
    # snippet must not see the difference: its module's names, its loader, its argv, the
    # modules loaded, and a traceback without boot.py's frames.
    code = textwrap.dedent(
        """
        import sys
        print(sorted(globals()), type(__loader__).__name__, __spec__, __package__)
        print(sys.argv[0].endswith("snippet.py"), len(sys.argv))
        print(sorted(m for m in sys.modules if m in ("json", "re", "typing", "ctypes", "_ctypes")))
        def f():
            1 / 0
        f()
        """
    )
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    plain = subprocess.run(
        [sys.executable, "-I", str(script)], capture_output=True, text=True, check=False
    )
    result = run_snippet(code)
    assert result.stdout == plain.stdout
    frames = [line for line in result.stderr.splitlines() if line.startswith("  File ")]
    assert len(frames) == 2 and all("snippet.py" in line for line in frames), result.stderr
    assert result.stderr.splitlines()[-1] == plain.stderr.splitlines()[-1]
