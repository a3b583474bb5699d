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
