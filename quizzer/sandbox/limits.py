"""The sandbox's limits and what a run reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MiB = 1024 * 1024

LimitName = Literal[
    "cpu", "memory", "timeout", "output", "file_size", "disk", "processes", "boundary"
]


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
    - ``disk_bytes`` (64 MiB): all the files the snippet has in its temporary directory
      and in ``/dev/shm`` together, looked at four times a second once it has run for a
      quarter of a second; the snippet is killed when they hold more.
    """

    cpu_seconds: int = 5
    wall_seconds: float = 10.0
    memory_bytes: int = 512 * MiB
    file_size_bytes: int = 10 * MiB
    processes: int = 64
    output_bytes: int = 1 * MiB
    disk_bytes: int = 64 * MiB

    def __post_init__(self) -> None:
        for name in (
            "cpu_seconds",
            "wall_seconds",
            "memory_bytes",
            "file_size_bytes",
            "processes",
            "output_bytes",
            "disk_bytes",
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
    def limited(self) -> str | None:
        """Why this output is not what plain CPython would print, or None.

        Set whenever a limit or the kernel boundary shaped the run (memory, recursion
        that ran out of memory, time, processes, a refused file or socket...): such an
        output must be reported, never stored as a question's answer.
        """
        return None if self.limit is None else self.reason

    @property
    def output(self) -> str:
        """The answer as the deck format defines it: stdout, then the exception line."""
        if self.exception is None:
            return self.stdout
        separator = "" if not self.stdout or self.stdout.endswith("\n") else "\n"
        return f"{self.stdout}{separator}{self.exception}\n"
