"""Launching a snippet under limits, supervising it, and explaining how it ended."""

from __future__ import annotations

import atexit
import contextlib
import functools
import glob
import itertools
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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from quizzer.errors import SandboxError
from quizzer.sandbox.boundary import describe
from quizzer.sandbox.limits import DEFAULT_LIMITS, LimitName, Limits, MiB, RunResult
from quizzer.sandbox.reaper import adopting_leftovers
from quizzer.sandbox.tracebacks import final_exception_line

#: The only PATH a snippet sees: enough to find ``sleep`` or ``python3`` for snippets
#: about subprocesses, nothing from the user's own environment.
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_SCRIPT_NAME = "snippet.py"
#: How often a run started by run_many looks whether it was called off.
_STOP_POLL_SECONDS = 0.1
_READ_CHUNK = 64 * 1024


#: Where boot.py (the child's first step: limits, then the boundary) lives.
_BOOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot.py")
#: Read-only folders besides the interpreter's own prefixes (boot.py adds those): the
#: system's programs and libraries (what ``python3 -c`` and ``sleep`` need), and the CPU
#: list behind ``os.cpu_count()``, and /proc (read-only; what in it belongs to a process
#: outside the sandbox, its environ, mem, fd..., Landlock refuses as it refuses ptrace).
_READ_DIRS = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/bin",
    "/sbin",
    "/sys/devices/system/cpu",
    "/proc",
)
#: Single files a snippet may read: the loader's cache, the time zone, the user database.
_READ_FILES = (
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/dev/urandom",
    "/dev/random",
    "/dev/zero",
)
#: Programs a snippet may execute besides its own interpreter: the dynamic loader (any
#: dynamically linked program needs it) and these, found on SAFE_PATH.
_EXEC_NAMES = ("python3", "sleep")
#: Snippets run as root get a uid (and gid) of their own from this range: unprivileged,
#: in no group, and RLIMIT_NPROC then counts the snippet's own tasks alone.
_UID_BASE = 1_500_000_000
_uid_counter = itertools.count()
#: Where POSIX shared memory and semaphores live (glibc's fixed place).
_SHM = "/dev/shm"
#: How often a running snippet's files are weighed against ``Limits.disk_bytes``.
_DISK_POLL_SECONDS = 0.25


@functools.cache
def _static_paths() -> tuple[list[str], list[str]]:
    """(read-only files, executables) that exist on this machine."""
    loaders = sorted(
        {
            os.path.realpath(p)
            for pattern in ("/lib*/ld-linux*.so*", "/lib/*/ld-linux*.so*", "/lib*/ld-musl*.so*")
            for p in glob.glob(pattern)
        }
    )
    programs = [
        os.path.realpath(found)
        for name in _EXEC_NAMES
        if (found := shutil.which(name, path=SAFE_PATH)) is not None
    ]
    return [p for p in _READ_FILES if os.path.exists(p)], loaders + programs


def _sandbox_uid() -> int:
    return _UID_BASE + (os.getpid() % 10_000) * 100 + next(_uid_counter) % 100


#: Compiles boot.py (argv[1]) into a .pyc (argv[2]) for the interpreter running this.
_COMPILE_BOOT = (
    "import importlib.util, marshal, sys\n"
    "source = open(sys.argv[1], 'rb').read()\n"
    "code = compile(source, 'quizzer_boot.py', 'exec', dont_inherit=True)\n"
    "data = importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)\n"
    "open(sys.argv[2], 'wb').write(data)\n"
)


@functools.cache
def _boot_folder() -> str:
    folder = tempfile.mkdtemp(prefix="quizzer-boot-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


@functools.cache
def _compiled_boot(python: str) -> str | None:
    """boot.py compiled once per interpreter and process: a script run as ``__main__`` is
    never cached, and compiling boot.py costs more than a snippet's whole run. Another
    interpreter compiles it itself (its own bytecode), once; if it cannot, boot.py runs
    as source."""
    try:
        path = os.path.join(_boot_folder(), f"boot-{len(os.listdir(_boot_folder()))}.pyc")
        if python == sys.executable:
            with open(path, "wb") as handle:
                handle.write(_compiled(_BOOT))
        else:
            compiled = subprocess.run(
                [python, "-I", "-S", "-c", _COMPILE_BOOT, _BOOT, path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                timeout=60,
                check=False,
            )
            if compiled.returncode != 0:
                # boot.py needs Python 3.7 or later; anything else it cannot compile
                # must not be taken for the snippet's own error later.
                last = compiled.stderr.decode(errors="replace").strip().splitlines()[-1:]
                raise SandboxError(
                    f"{python} cannot run the sandbox's start-up (needs Python 3.7 or later): "
                    + (last[0] if last else f"exit status {compiled.returncode}")
                )
    except (OSError, subprocess.SubprocessError):
        return None
    return path


def _rlimits(limits: Limits, uid: int | None = None) -> list[tuple[str, int, int, int]]:
    """(name, resource, soft, hard) for each kernel-enforced limit."""
    nproc = limits.processes
    if uid is None:
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


def _command(
    python: str,
    script: str,
    limits: Limits,
    args: Sequence[str] = (),
    *,
    writable: str,
    writable_files: Sequence[str] = (),
    uid: int | None = None,
) -> list[str]:
    """The argv that runs boot.py in ``python``: limits, boundary, then ``script``.

    Why not ``preexec_fn``: it runs Python code in the forked child, which can deadlock
    when the parent has other threads (run_many drives snippets from threads, and the
    CLI's progress bar has its own), and it forces fork instead of vfork; and the snippet's
    interpreter may be another Python. boot.py runs in the child's own interpreter, with
    the standard library only, then runs the snippet in that same interpreter.
    """
    boundary = describe()
    read_files, executables = _static_paths()
    config: dict[str, list[str]] = {
        "rlimits": [f"{res},{soft},{hard}" for _, res, soft, hard in _rlimits(limits, uid)],
        "uid": [] if uid is None else [str(uid)],
        "gid": [] if uid is None else [str(uid)],
        "parent": [str(os.getpid())],
        "landlock": [str(boundary.landlock_abi if boundary.enforced else 0)],
        "seccomp": [str(int(boundary.enforced))],
        "read": [p for p in _READ_DIRS if os.path.isdir(p)],
        "read_files": read_files,
        "rw_files": ["/dev/null", *writable_files],
        "exec": executables,
        "rw": [writable],
        "shm": [_SHM] if os.path.isdir(_SHM) else [],
    }
    encoded = "\x1e".join("\x1f".join([key, *items]) for key, items in config.items())
    return [python, "-I", _compiled_boot(python) or _BOOT, encoded, script, *args]


def _prepare(paths: Sequence[str]) -> int | None:
    """The uid a snippet runs as when quizzer is root (None otherwise); hands it ``paths``."""
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return None
    uid = _sandbox_uid()
    for path in paths:
        os.chown(path, uid, uid)
    return uid


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
            # 3.11 reports a folder it could not open with os.open (flags missing here)
            if func is not os.open:  # type: ignore[comparison-overlap]
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


#: What a run called off through its ``stop`` event raises.
SandboxStopped = _Stopped


def _run(code: str, python: str, limits: Limits, stop: threading.Event | None = None) -> RunResult:
    workdir = tempfile.mkdtemp(prefix="quizzer-sandbox-")
    try:
        script = os.path.join(workdir, _SCRIPT_NAME)
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(code)
        uid = _prepare([workdir, script])
        argv = _command(python, script, limits, writable=workdir, uid=uid)
        with adopting_leftovers():
            return _supervise(argv, workdir, limits, stop, uid=uid)
    finally:
        _remove_tree(workdir)


#: Where a traced run's step log goes: beside the snippet's own folder, not in it (the
#: snippet may list or empty its working directory), under the same size limit.
_TRACE_LOG = "trace.jsonl"
#: The most of a step log read back (the file-size limit bounds it already).
_TRACE_LOG_BYTES = 16 * MiB


@functools.cache
def _compiled(path: str) -> bytes:
    """The script at ``path`` as a .pyc this interpreter can run (PEP 552 header)."""
    import importlib.util
    import marshal

    with open(path, "rb") as handle:
        code = compile(
            handle.read(), f"quizzer_{os.path.basename(path)}", "exec", dont_inherit=True
        )
    return importlib.util.MAGIC_NUMBER + bytes(12) + marshal.dumps(code)


def run_traced(
    code: str,
    tracer: str,
    args: Sequence[str] = (),
    *,
    python: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    stop: threading.Event | None = None,
) -> tuple[RunResult, str]:
    """Run ``code`` under the tracer script ``tracer`` (a path), in the sandbox.

    Every guarantee of :func:`run_snippet` holds (the limits, the process group killed,
    the temporary directory removed): the tracer runs as ``python -I TRACER SNIPPET LOG
    *ARGS`` where a snippet would run, in the same kind of fresh directory. It returns
    the run and the text the tracer wrote to LOG. Setting ``stop`` kills the run at once
    (the caller was interrupted); it then raises :class:`SandboxStopped`.
    """
    interpreter = resolve_python(python)
    base = tempfile.mkdtemp(prefix="quizzer-trace-")
    try:
        workdir = os.path.join(base, "run")
        os.mkdir(workdir, 0o700)
        script = os.path.join(workdir, _SCRIPT_NAME)
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(code)
        if interpreter == sys.executable:
            # Compiled once per process: a script run as __main__ is never cached, and
            # compiling the tracer would cost more than the snippet's whole run.
            copy = os.path.join(base, "quizzer_tracer.pyc")
            with open(copy, "wb") as handle:
                handle.write(_compiled(tracer))
        else:
            copy = os.path.join(base, "quizzer_tracer.py")
            shutil.copyfile(tracer, copy)
        log = os.path.join(base, _TRACE_LOG)
        with open(log, "wb"):
            pass
        uid = _prepare([workdir, script, log])
        argv = _command(
            interpreter,
            copy,
            limits,
            [script, log, *args],
            writable=workdir,
            writable_files=[log],
            uid=uid,
        )
        with adopting_leftovers():
            result = _supervise(argv, workdir, limits, stop, uid=uid)
        text = ""
        with contextlib.suppress(OSError), open(log, "rb") as handle:
            text = handle.read(_TRACE_LOG_BYTES).decode("utf-8", errors="replace")
        return result, text
    finally:
        _remove_tree(base)


class _Files:
    """The files a run leaves in its temporary directory and /dev/shm: weighing, removing.

    As root the snippet has a uid of its own, so its /dev/shm files are those it owns, and
    they are removed after the run; otherwise they are the ones that appeared during the
    run and belong to the user (other snippets' too, so they are weighed, never removed).
    """

    def __init__(self, workdir: str, uid: int | None) -> None:
        self.workdir = workdir
        self.uid = uid
        self.before = set() if uid is not None else set(_listdir(_SHM))

    def _shm(self) -> list[str]:
        owner = os.geteuid() if self.uid is None else self.uid
        found = []
        for name in _listdir(_SHM):
            if name in self.before:
                continue
            path = os.path.join(_SHM, name)
            with contextlib.suppress(OSError):
                if os.lstat(path).st_uid == owner:
                    found.append(path)
        return found

    def size(self, budget: int) -> int:
        """Bytes held (stops counting past ``budget``)."""
        total = 0
        for path in self._shm():
            with contextlib.suppress(OSError):
                total += os.lstat(path).st_blocks * 512
        stack = [self.workdir]
        while stack and total <= budget:
            with contextlib.suppress(OSError), os.scandir(stack.pop()) as entries:
                for entry in entries:
                    info = entry.stat(follow_symlinks=False)
                    total += info.st_blocks * 512 + 512  # an entry costs something too
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        return total

    def remove_shm(self) -> None:
        if self.uid is None:
            # Not root: the snippet's files cannot be told from those of another snippet
            # running meanwhile (another check, a parallel job), which must not lose its
            # semaphores; the disk budget still bounds what it leaves.
            return
        for path in self._shm():
            with contextlib.suppress(OSError):
                os.unlink(path)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _supervise(
    argv: list[str],
    workdir: str,
    limits: Limits,
    stop: threading.Event | None = None,
    *,
    uid: int | None = None,
) -> RunResult:
    started = time.monotonic()
    deadline = started + limits.wall_seconds
    files = _Files(workdir, uid)
    next_weighing = started + _DISK_POLL_SECONDS
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
                now = time.monotonic()
                if now >= next_weighing:
                    if files.size(limits.disk_bytes) > limits.disk_bytes:
                        killed_for = "disk"
                        break
                    next_weighing = now + _DISK_POLL_SECONDS
                timeout = remaining if pidfd >= 0 else min(remaining, 0.01)
                timeout = min(timeout, max(next_weighing - now, 0.0))
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
        files.remove_shm()
    wall = time.monotonic() - started
    cpu = rusage.ru_utime + rusage.ru_stime if rusage is not None else 0.0
    stdout, stderr = capture.text(out_fd), capture.text(err_fd)
    if _launcher_failed(stdout, stderr, status):
        raise SandboxError(f"cannot set up the sandbox: {stderr.strip()}")
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
    """Whether boot.py, not the snippet, failed: it wrote only its own complaint and
    exited with 126 before the snippet ran."""
    if stdout or not stderr:
        return False
    lines = stderr.rstrip("\n").split("\n")
    return status == 126 and all(line.startswith("quizzer-sandbox: ") for line in lines)


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
    if killed_for == "disk":
        return "disk", True, f"stopped: wrote more than {_size(limits.disk_bytes)} to files"
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
        if exception.startswith("PermissionError") and describe().enforced:
            return "boundary", False, f"refused by the sandbox's boundary: {exception}"
        if exception.startswith("RecursionError") and "MemoryError" in stderr:
            return "memory", False, f"ran out of memory (limit {_size(limits.memory_bytes)})"
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
    each: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Run each snippet like :func:`run_snippet`, ``jobs`` at a time; results in order.

    ``jobs`` defaults to the number of CPUs. ``progress`` is called in the calling thread
    with the number of snippets finished so far, once per snippet; ``each`` with the
    index and result of each snippet as it finishes (so a caller can show it at once).
    """
    interpreter = resolve_python(python)
    if not codes:
        return []
    workers = max(1, min(jobs or os.cpu_count() or 1, len(codes)))
    results: list[RunResult | None] = [None] * len(codes)
    stop = threading.Event()
    # Threads are enough: each one waits on its subprocess, the work happens in children.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quizzer-sandbox")
    previous = _end_on_sigterm()
    try:
        futures = {
            pool.submit(_run, code, interpreter, limits, stop): i for i, code in enumerate(codes)
        }
        for done, future in enumerate(as_completed(futures), start=1):
            index = futures[future]
            results[index] = result = future.result()
            if each is not None:
                each(index, result)
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
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return [result for result in results if result is not None]


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _end_on_sigterm() -> Callable[..., object] | int | None:
    """SIGTERM, like Ctrl-C, stops the runs (and what they left) before quizzer exits."""
    if threading.current_thread() is not threading.main_thread():
        return None
    previous = signal.getsignal(signal.SIGTERM)
    if previous != signal.SIG_DFL:
        return None  # the program has its own plan for SIGTERM
    signal.signal(signal.SIGTERM, _terminated)
    return previous


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
