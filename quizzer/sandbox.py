"""Run untrusted predict-the-output snippets in a limited subprocess, and compare outputs.

A snippet runs as ``python -I snippet.py`` in a fresh temporary directory (its cwd and
HOME, removed afterwards), with stdin closed, a minimal environment, kernel resource
limits (CPU time, address space, file size, processes) and sandbox-enforced limits
(wall-clock time, captured output). The child leads its own session and process group,
and the whole group is killed when the run ends, even after a clean exit: a snippet may
leave background children behind.

On Linux, a descendant that left the group (``setsid()``, ``start_new_session=True``) is
killed too: quizzer adopts it as a child subreaper and kills what it adopted once no
snippet is running (see "What a snippet leaves behind" below).

What this is not: a security boundary against a determined attacker. The snippet runs
as the same user, can read and write whatever that user can, and can ask another program
to start processes for it (``systemd-run``, ``at``), which are not its descendants. It
stops the accidents a quiz snippet can cause (infinite loops, memory bombs, runaway
output, forgotten children).

This module imports only the standard library and runs nothing at import time: the
review screen imports :func:`outputs_match` from here and must start fast.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Literal

from quizzer.errors import SandboxError

__all__ = [
    "DEFAULT_LIMITS",
    "SAFE_PATH",
    "LimitName",
    "Limits",
    "MiB",
    "RunResult",
    "final_exception_line",
    "interpreter_version",
    "normalize_output",
    "output_diff",
    "outputs_match",
    "resolve_python",
    "run_many",
    "run_snippet",
]

MiB = 1024 * 1024

LimitName = Literal["cpu", "memory", "timeout", "output", "file_size", "processes"]

#: The only PATH a snippet sees: enough to find ``sleep`` or ``python3`` for snippets
#: about subprocesses, nothing from the user's own environment.
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_SCRIPT_NAME = "snippet.py"
#: How often a run started by run_many looks whether it was called off.
_STOP_POLL_SECONDS = 0.1
_READ_CHUNK = 64 * 1024


# --------------------------------------------------------------------------------------
# Comparing outputs: the one definition used by check, add and review.
# --------------------------------------------------------------------------------------


def normalize_output(text: str) -> str:
    r"""The form in which two outputs are compared.

    ``\r\n`` counts as ``\n``; trailing spaces on each line and trailing blank lines are
    dropped, as the deck format says. Nothing else changes: case, tabs, leading spaces
    and blank lines inside the text all count. The result has no final newline.
    """
    lines = [line.rstrip(" ") for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def outputs_match(expected: str, actual: str) -> bool:
    """Whether ``actual`` counts as the same output as ``expected`` (see normalize_output)."""
    return normalize_output(expected) == normalize_output(actual)


def output_diff(
    expected: str, actual: str, *, expected_label: str = "expected", actual_label: str = "actual"
) -> str:
    """A unified diff of the normalized outputs; empty when they match."""
    expected_lines = normalize_output(expected).split("\n")
    actual_lines = normalize_output(actual).split("\n")
    if expected_lines == actual_lines:
        return ""
    diff = difflib.unified_diff(
        expected_lines, actual_lines, fromfile=expected_label, tofile=actual_label, lineterm=""
    )
    return "\n".join(diff) + "\n"


# --------------------------------------------------------------------------------------
# Limits and results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """What one snippet may use. Defaults suit quiz snippets, which run in milliseconds.

    - ``cpu_seconds`` (5): CPU time, RLIMIT_CPU (SIGXCPU, then SIGKILL a second later).
    - ``wall_seconds`` (10): wall-clock time, enforced by the sandbox (catches ``sleep``).
    - ``memory_bytes`` (512 MiB): address space, RLIMIT_AS; allocations beyond it fail
      with MemoryError.
    - ``file_size_bytes`` (10 MiB): largest file the snippet may write, RLIMIT_FSIZE.
    - ``processes`` (64): how many more tasks (processes and threads) the snippet may
      start, RLIMIT_NPROC. The kernel counts that limit per user, so the sandbox adds the
      number of tasks already running on the machine; it does not bind root at all, which
      is why the process-group kill at the end is the real guarantee.
    - ``output_bytes`` (1 MiB): stdout plus stderr captured; the snippet is killed when it
      writes more.
    """

    cpu_seconds: int = 5
    wall_seconds: float = 10.0
    memory_bytes: int = 512 * MiB
    file_size_bytes: int = 10 * MiB
    processes: int = 64
    output_bytes: int = 1 * MiB

    def __post_init__(self) -> None:
        for name in (
            "cpu_seconds",
            "wall_seconds",
            "memory_bytes",
            "file_size_bytes",
            "processes",
            "output_bytes",
        ):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, not {getattr(self, name)!r}")


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class RunResult:
    """What happened when a snippet ran.

    ``exit_status`` is the process's return code as :mod:`subprocess` reports it: the
    exit code, or ``-N`` when signal N ended it. ``exception`` is the final line Python
    printed for an uncaught exception (``SyntaxError`` included), else None. ``limit``
    names the limit the snippet ran into, if any; ``stopped`` says the run was cut short
    (killed), so its output is incomplete. A snippet can hit a limit without being
    stopped: an allocation past the memory limit ends in an ordinary ``MemoryError``.
    """

    stdout: str
    stderr: str
    exception: str | None
    exit_status: int
    limit: LimitName | None
    stopped: bool
    reason: str
    wall_seconds: float
    cpu_seconds: float

    @property
    def output(self) -> str:
        """The answer as the deck format defines it: stdout, then the exception line."""
        if self.exception is None:
            return self.stdout
        separator = "" if not self.stdout or self.stdout.endswith("\n") else "\n"
        return f"{self.stdout}{separator}{self.exception}\n"


# --------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------


@functools.cache
def _prlimit_path() -> str | None:
    return shutil.which("prlimit", path=SAFE_PATH)


# Used only where util-linux's prlimit is missing. It costs a second interpreter start
# per snippet (about 1.7x the time of a bare ``python -I -c pass``, measured), which is
# why prlimit, a small C program, is preferred. ``-S`` skips site for a faster start.
_PY_LAUNCHER = """\
import os, resource as r, sys
try:
    a = [int(x) for x in sys.argv[1:11]]
    names = ("CPU", "AS", "FSIZE", "NPROC", "CORE")
    for i, name in enumerate(names):
        r.setrlimit(getattr(r, "RLIMIT_" + name), (a[2 * i], a[2 * i + 1]))
    os.execv(sys.argv[11], sys.argv[11:])
except Exception as e:
    sys.stderr.write(f"quizzer-sandbox: {e}\\n")
    os._exit(126)
"""


def _rlimits(limits: Limits) -> list[tuple[str, int, int, int]]:
    """(prlimit option, resource, soft, hard) for each kernel-enforced limit."""
    nproc = limits.processes
    if os.geteuid() != 0:
        # RLIMIT_NPROC counts every task of the user, so a bare 64 would forbid any fork
        # to someone with a desktop session. The system-wide task count bounds the
        # user's own count from above and is one small read.
        with (
            contextlib.suppress(OSError, ValueError, IndexError),
            open("/proc/loadavg", encoding="ascii") as handle,
        ):
            nproc += int(handle.read().split()[3].split("/")[1])
    wanted = [
        ("--cpu", resource.RLIMIT_CPU, limits.cpu_seconds, limits.cpu_seconds + 1),
        ("--as", resource.RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        ("--fsize", resource.RLIMIT_FSIZE, limits.file_size_bytes, limits.file_size_bytes),
        ("--nproc", resource.RLIMIT_NPROC, nproc, nproc),
        # No core files: SIGXCPU and SIGABRT would otherwise dump one into the temp dir.
        ("--core", resource.RLIMIT_CORE, 0, 0),
    ]
    clamped = []
    for option, res, soft, hard in wanted:
        # An unprivileged process cannot raise a hard limit, so stay under the current one.
        current_hard = resource.getrlimit(res)[1]
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        clamped.append((option, res, soft, hard))
    return clamped


def _command(python: str, script: str, limits: Limits) -> list[str]:
    """The argv that sets the rlimits and then execs ``python -I script``.

    Why not ``preexec_fn``: it runs Python code in the forked child, which can deadlock
    when the parent has other threads (run_many drives snippets from threads, and the
    CLI's progress bar has its own), and it forces fork instead of vfork. A launcher that
    sets the limits and execs keeps the child free of our Python state.
    """
    target = [python, "-I", script]
    rlimits = _rlimits(limits)
    prlimit = _prlimit_path()
    if prlimit is not None:
        options = [f"{option}={soft}:{hard}" for option, _, soft, hard in rlimits]
        return [prlimit, *options, "--", *target]
    numbers = [str(value) for _, _, soft, hard in rlimits for value in (soft, hard)]
    return [python, "-I", "-S", "-c", _PY_LAUNCHER, *numbers, *target]


def _environment(home: str) -> dict[str, str]:
    # -I ignores every PYTHON* variable (PYTHONIOENCODING included), so the encoding of
    # stdout comes from the locale: C.UTF-8 makes it UTF-8 with strict errors, like a
    # normal UTF-8 terminal. Where C.UTF-8 is missing Python falls back to the C locale,
    # in which it turns on UTF-8 mode, so stdout is UTF-8 either way.
    return {
        "PATH": SAFE_PATH,
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "HOME": home,
        "TMPDIR": home,
        # glibc reserves 64 MiB of address space for each thread's malloc arena, so under
        # the memory limit (RLIMIT_AS) a snippet could start only 14 threads; with one
        # arena a thread costs its stack alone (some 60 threads in 512 MiB).
        "MALLOC_ARENA_MAX": "1",
    }


def resolve_python(python: str | None) -> str:
    """The absolute path of interpreter ``python`` (default: the running one)."""
    if python is None:
        return sys.executable
    found = shutil.which(python) if os.sep not in python else python
    if found is None or not os.access(found, os.X_OK) or os.path.isdir(found):
        raise SandboxError(f"no Python interpreter at {python!r}")
    return os.path.abspath(found)


def _remove_tree(path: str) -> None:
    """Remove a run's temp dir, whatever the snippet left in it; never raises.

    Permissions the snippet took away are given back, but only inside ``path``: its
    parent is the system's temp dir, whose mode must never change (a snippet may delete
    its own working directory, and the error then names ``path`` itself). A tree too deep
    for :func:`shutil.rmtree` (it recurses) goes to ``rm -rf``, which does not.
    """
    inside = path + os.sep

    def retry(func: Callable[[str], object], target: str) -> None:
        parent = os.path.dirname(target)
        with contextlib.suppress(OSError):
            if parent == path or parent.startswith(inside):
                os.chmod(parent, 0o700)
            if target.startswith(inside) and os.path.isdir(target) and not os.path.islink(target):
                os.chmod(target, 0o700)
        with contextlib.suppress(OSError):
            func(target)

    with contextlib.suppress(OSError, RecursionError):
        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=lambda func, target, _exc: retry(func, target))
        else:
            shutil.rmtree(path, onerror=lambda func, target, _info: retry(func, target))
    remover = shutil.which("rm", path=SAFE_PATH)
    if os.path.lexists(path) and remover is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                [remover, "-rf", "--one-file-system", "--", path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=60,
                check=False,
            )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class _Capture:
    """Reads the child's stdout and stderr incrementally, under a byte budget."""

    def __init__(self, budget: int) -> None:
        self.chunks: dict[int, list[bytes]] = {}
        self.budget = budget
        self.over = False

    def take(self, fd: int, data: bytes) -> None:
        if len(data) > self.budget:
            data = data[: self.budget]
            self.over = True
        self.budget -= len(data)
        self.chunks.setdefault(fd, []).append(data)

    def text(self, fd: int) -> str:
        # Snippets may write arbitrary bytes through sys.stdout.buffer; never fail on them.
        return b"".join(self.chunks.get(fd, [])).decode("utf-8", errors="replace")


def _drain(fds: Sequence[int], capture: _Capture) -> None:
    """Read whatever the pipes hold right now without waiting for writers to close them."""
    for fd in fds:
        os.set_blocking(fd, False)
        while not capture.over:
            try:
                data = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                break
            if not data:
                break
            capture.take(fd, data)


def run_snippet(
    code: str, *, python: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> RunResult:
    """Run ``code`` as a script with ``python -I`` in the sandbox and report what happened.

    ``python`` is the interpreter to use (a path or a command name; default: the one
    running quizzer). Raises :class:`SandboxError` only when the sandbox itself cannot
    run (no such interpreter); everything the snippet does is reported in the result.
    """
    return _run(code, resolve_python(python), limits)


class _Stopped(Exception):
    """A run that :func:`run_many` called off (the user pressed Ctrl-C)."""


def _run(code: str, python: str, limits: Limits, stop: threading.Event | None = None) -> RunResult:
    workdir = tempfile.mkdtemp(prefix="quizzer-sandbox-")
    try:
        script = os.path.join(workdir, _SCRIPT_NAME)
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(code)
        with _adopting_leftovers():
            return _supervise(_command(python, script, limits), workdir, limits, stop)
    finally:
        _remove_tree(workdir)


# --------------------------------------------------------------------------------------
# What a snippet leaves behind in a session of its own
# --------------------------------------------------------------------------------------
#
# Killing a run's process group misses a descendant that moved to another group or session
# (setsid(), setpgid(), subprocess's start_new_session=True) and lives on. On Linux, while
# snippets run, quizzer is a "child subreaper": such a process, once its parent has gone,
# becomes quizzer's child instead of init's. Whenever no snippet is running, every child of
# quizzer outside quizzer's own session is one of them, and is killed and reaped; again
# until none is left, since a killed one's children come to quizzer in turn.

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_leftovers_lock = threading.Lock()
_snippets_running = 0
#: While snippets run: quizzer's children from before (never killed), and whether quizzer
#: was a subreaper already (a program using this module may be one).
_children_before: set[int] = set()
_was_subreaper = False


@contextlib.contextmanager
def _adopting_leftovers() -> Iterator[None]:
    global _snippets_running, _children_before, _was_subreaper
    with _leftovers_lock:
        if _snippets_running == 0:
            _was_subreaper = _is_subreaper()
            _children_before = _children() if _prctl() is not None else set()
            _set_subreaper(True)
        _snippets_running += 1
    try:
        yield
    finally:
        with _leftovers_lock:
            _snippets_running -= 1
            if _snippets_running == 0:
                _kill_leftovers()
                _set_subreaper(_was_subreaper)


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _set_subreaper(on: bool) -> None:
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)


def _is_subreaper() -> bool:
    prctl = _prctl()
    if prctl is None:
        return False
    import ctypes

    flag = ctypes.c_int(0)
    return prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0) == 0 and flag.value != 0


def _children() -> set[int]:
    """This process's children (of every thread)."""
    found: set[int] = set()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return found
    read_any = False
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as handle:
                found.update(int(pid) for pid in handle.read().split())
            read_any = True
        except OSError:
            continue  # a thread that has ended
    return found if read_any else _children_by_scanning()


def _children_by_scanning() -> set[int]:
    # Kernels built without CONFIG_PROC_CHILDREN have no children files: every process's
    # stat names its parent.
    me = os.getpid()
    return {
        int(entry)
        for entry in os.listdir("/proc")
        if entry.isdigit() and (fields := _stat_fields(int(entry))) and int(fields[1]) == me
    }


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name: state, ppid, pgrp, session, ..."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
    return stat[stat.rfind(")") + 2 :].split()


def _state_and_session(pid: int) -> tuple[str, int] | None:
    fields = _stat_fields(pid)
    return None if fields is None else (fields[0], int(fields[3]))


def _kill_leftovers() -> None:
    """Kill and reap the children adopted from snippets' own sessions (see above)."""
    if _prctl() is None:
        return
    own_session = os.getsid(0)
    while True:
        adopted = []
        for pid in _children() - _children_before:
            found = _state_and_session(pid)
            if found is not None and found[1] != own_session:
                adopted.append((pid, found[0]))
        if not adopted:
            return
        for pid, state in adopted:
            if state != "Z":
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _supervise(
    argv: list[str], workdir: str, limits: Limits, stop: threading.Event | None = None
) -> RunResult:
    started = time.monotonic()
    deadline = started + limits.wall_seconds
    try:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=_environment(workdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            bufsize=0,
        )
    except OSError as exc:
        raise SandboxError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    capture = _Capture(limits.output_bytes)
    killed_for: LimitName | None = None
    status = 0
    rusage: resource.struct_rusage | None = None
    pidfd = -1
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(out_fd, selectors.EVENT_READ)
            selector.register(err_fd, selectors.EVENT_READ)
            # A pidfd becomes readable when the child exits, without reaping it: the
            # process group stays valid for the kill below, and we need not wait for the
            # pipes to close (a background grandchild may hold them open for ever).
            try:
                pidfd = os.pidfd_open(proc.pid)
                selector.register(pidfd, selectors.EVENT_READ)
            except (AttributeError, OSError):
                pidfd = -1
            exited = False
            while not exited:
                if stop is not None and stop.is_set():
                    raise _Stopped
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    killed_for = "timeout"
                    break
                timeout = remaining if pidfd >= 0 else min(remaining, 0.01)
                if stop is not None:
                    timeout = min(timeout, _STOP_POLL_SECONDS)
                for key, _ in selector.select(timeout):
                    if key.fd == pidfd:
                        exited = True
                        continue
                    data = os.read(key.fd, _READ_CHUNK)
                    if data:
                        capture.take(key.fd, data)
                    else:
                        selector.unregister(key.fd)
                if capture.over:
                    killed_for = "output"
                    break
                if pidfd < 0 and not exited:
                    exited = _has_exited(proc.pid)
            if exited:
                _drain([fd for fd in (out_fd, err_fd) if fd in selector.get_map()], capture)
                if capture.over:
                    killed_for = "output"
    finally:
        # Always, even after a clean exit: kill the group before reaping the leader, so
        # its id (the group's id) cannot be reused by an unrelated process meanwhile.
        _kill_group(proc.pid)
        _, wait_status, rusage = os.wait4(proc.pid, 0)
        status = os.waitstatus_to_exitcode(wait_status)
        proc.returncode = status
        proc.stdout.close()
        proc.stderr.close()
        if pidfd >= 0:
            os.close(pidfd)
    wall = time.monotonic() - started
    cpu = rusage.ru_utime + rusage.ru_stime if rusage is not None else 0.0
    stdout, stderr = capture.text(out_fd), capture.text(err_fd)
    if _launcher_failed(stdout, stderr, status):
        raise SandboxError(f"cannot set the sandbox limits: {stderr.strip()}")
    exception = None if killed_for else final_exception_line(stderr, status)
    limit, stopped, reason = _explain(status, exception, stderr, killed_for, cpu, limits)
    return RunResult(
        stdout=stdout,
        stderr=stderr,
        exception=exception,
        exit_status=status,
        limit=limit,
        stopped=stopped,
        reason=reason,
        wall_seconds=wall,
        cpu_seconds=cpu,
    )


def _has_exited(pid: int) -> bool:
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    return info is not None


def _launcher_failed(stdout: str, stderr: str, status: int) -> bool:
    """Whether the launcher, not the snippet, failed: it wrote only its own complaint and
    exited as it does (prlimit: 1 when a limit cannot be set, 126 or 127 when the exec
    fails; quizzer's own launcher: 126)."""
    if stdout or not stderr:
        return False
    lines = stderr.rstrip("\n").split("\n")
    if all(line.startswith("prlimit: ") for line in lines):
        return status in (1, 126, 127)
    return status == 126 and all(line.startswith("quizzer-sandbox: ") for line in lines)


_TRACEBACK_HEADER = "Traceback (most recent call last):"
_GROUP_HEADER = "Exception Group Traceback (most recent call last):"
_SYNTAX_LINE = re.compile(r"^(SyntaxError|IndentationError|TabError)(: .*)?$")
_SCRIPT_FRAME = re.compile(r'^  File ".*", line \d+$', re.MULTILINE)
#: Lines that introduce a traceback Python prints besides the main one: a thread's uncaught
#: exception, or one raised where it cannot propagate (``__del__``, a callback at exit).
_SIDE_INTRO = ("Exception in thread ", "Exception ignored ")
#: Lines that chain the next traceback to the one before it (same block).
_CHAIN_LINES = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


def final_exception_line(stderr: str, exit_status: int) -> str | None:
    """The last line Python printed for an uncaught exception, or None if there was none.

    An uncaught exception exits with status 1 (or dies of SIGINT for KeyboardInterrupt)
    after printing a traceback; a SyntaxError in the script itself prints a
    ``File ..., line N`` block without the header. Writing to stderr and exiting,
    or ``sys.exit(3)``, is not an exception. For an exception group the group's own
    line (``ExceptionGroup: msg (2 sub-exceptions)``) is used rather than the box border.

    Tracebacks of threads (``Exception in thread ...:``) and of exceptions Python could
    only report (``Exception ignored in: ...``, from ``__del__`` at exit, say) are not the
    main one, whether they come before it or after. What stderr cannot tell apart: a
    program that prints a traceback itself and then exits with status 1, or writes to
    stderr at exit after its uncaught exception's traceback.
    """
    if exit_status not in (1, -signal.SIGINT):
        return None
    lines = [line for line in stderr.split("\n") if line.strip()]
    if not lines:
        return None
    # Split stderr into blocks, each a traceback (with its chained ones) or other text.
    blocks: list[tuple[int, bool]] = []  # (first line, is it a main traceback?)
    for i, line in enumerate(lines):
        if line.startswith(_SIDE_INTRO):
            blocks.append((i, False))
        elif _is_header(line) and not (
            i and lines[i - 1].startswith((*_CHAIN_LINES, *_SIDE_INTRO))
        ):
            blocks.append((i, True))
    mains = [n for n, (_, is_main) in enumerate(blocks) if is_main]
    if not mains:
        last = lines[-1]
        if _SYNTAX_LINE.match(last) and _SCRIPT_FRAME.search(stderr):
            return last
        return None
    start = blocks[mains[-1]][0]
    end = blocks[mains[-1] + 1][0] if mains[-1] + 1 < len(blocks) else len(lines)
    block = lines[start:end]
    header_at = max(i for i, line in enumerate(block) if _is_header(line))
    if _GROUP_HEADER not in block[header_at]:
        return block[-1]
    found = None
    for line in block[header_at + 1 :]:
        if line.startswith("  +-"):
            break
        if line.startswith("  | ") and not line.startswith("  |  "):
            found = line[4:]
    return found


def _is_header(line: str) -> bool:
    return line.endswith(_TRACEBACK_HEADER) or _GROUP_HEADER in line


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n} bytes"


def _explain(
    status: int,
    exception: str | None,
    stderr: str,
    killed_for: LimitName | None,
    cpu: float,
    limits: Limits,
) -> tuple[LimitName | None, bool, str]:
    """(limit hit, stopped?, human reason) for a finished run."""
    if killed_for == "timeout":
        return "timeout", True, f"stopped after {limits.wall_seconds:g} s of wall-clock time"
    if killed_for == "output":
        return "output", True, f"stopped: wrote more than {_size(limits.output_bytes)} of output"
    if exception is not None:
        if exception.startswith("MemoryError"):
            return "memory", False, f"ran out of memory (limit {_size(limits.memory_bytes)})"
        if exception.startswith("OSError: [Errno 27]"):
            return (
                "file_size",
                False,
                (f"tried to write a file over {_size(limits.file_size_bytes)} (the limit)"),
            )
        if exception.startswith("RuntimeError: can't start new thread"):
            return (
                "processes",
                False,
                (
                    f"could not start another thread (limits: {_size(limits.memory_bytes)} "
                    f"of memory, {limits.processes} more tasks)"
                ),
            )
        if exception.startswith("BlockingIOError: [Errno 11]") and "fork" in stderr:
            return (
                "processes",
                False,
                (f"could not start more processes (limit {limits.processes})"),
            )
        return None, False, f"raised {exception}"
    if status >= 0:
        return None, False, "exited normally" if status == 0 else f"exited with status {status}"
    number = -status
    if number == signal.SIGXCPU or (number == signal.SIGKILL and cpu >= limits.cpu_seconds):
        return "cpu", True, f"stopped: used more than {limits.cpu_seconds} s of CPU time"
    if number == signal.SIGXFSZ:
        return (
            "file_size",
            True,
            (f"stopped: wrote a file over {_size(limits.file_size_bytes)} (the limit)"),
        )
    if "MemoryError" in stderr or "Cannot allocate memory" in stderr:
        return "memory", True, f"ran out of memory (limit {_size(limits.memory_bytes)})"
    return None, True, f"killed by {_signal_name(number)}"


def run_many(
    codes: Sequence[str],
    *,
    python: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[RunResult]:
    """Run each snippet like :func:`run_snippet`, ``jobs`` at a time; results in order.

    ``jobs`` defaults to the number of CPUs. ``progress`` is called in the calling thread
    with the number of snippets finished so far, once per snippet.
    """
    interpreter = resolve_python(python)
    if not codes:
        return []
    workers = max(1, min(jobs or os.cpu_count() or 1, len(codes)))
    results: list[RunResult | None] = [None] * len(codes)
    stop = threading.Event()
    # Threads are enough: each one waits on its subprocess, the work happens in children.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quizzer-sandbox")
    try:
        futures = {
            pool.submit(_run, code, interpreter, limits, stop): i for i, code in enumerate(codes)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if progress is not None:
                progress(done)
    except BaseException:
        # Ctrl-C (or an error): the queued snippets never start, the running ones are
        # killed and their temp dirs removed before this returns, within a fraction of a
        # second; without this the pool would first run every queued snippet.
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [result for result in results if result is not None]


_VERSION_CODE = "import sys; print('.'.join(map(str, sys.version_info[:3])))"


@functools.cache
def interpreter_version(python: str | None = None) -> str:
    """The version of ``python`` (default: the running one) as ``"3.12.1"``; asked once."""
    interpreter = resolve_python(python)
    if interpreter == sys.executable:
        return ".".join(map(str, sys.version_info[:3]))
    result = _run(_VERSION_CODE, interpreter, DEFAULT_LIMITS)
    version = result.stdout.strip()
    if result.exit_status != 0 or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SandboxError(f"{interpreter} did not report a Python version ({result.reason})")
    return version
