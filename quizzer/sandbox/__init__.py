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

On Linux the snippet also runs inside a kernel boundary, set up by ``boot.py`` in the
snippet's own interpreter before its first line: Landlock (what it may read, write and
execute; no TCP; signals and abstract sockets scoped), a seccomp filter (no IP, netlink,
packet or unix sockets from socket(), no namespaces, io_uring or TIOCSTI), no_new_privs,
and, when quizzer runs as root, an unprivileged uid of its own. ``boundary.describe()``
says what this machine enforces; README.md ("The sandbox") says what is not enforced.

This module imports only the standard library and runs nothing at import time: the
review screen imports :func:`outputs_match` from here and must start fast.
"""

from quizzer.sandbox.limits import DEFAULT_LIMITS, LimitName, Limits, MiB, RunResult
from quizzer.sandbox.run import (
    SAFE_PATH,
    interpreter_version,
    resolve_python,
    run_many,
    run_snippet,
)
from quizzer.sandbox.tracebacks import final_exception_line

__all__ = [
    "DEFAULT_LIMITS",
    "SAFE_PATH",
    "LimitName",
    "Limits",
    "MiB",
    "RunResult",
    "final_exception_line",
    "interpreter_version",
    "resolve_python",
    "run_many",
    "run_snippet",
]
