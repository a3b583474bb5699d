"""What a snippet leaves behind in a session of its own: adopting and killing it (Linux)."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

#
# Killing a run's process group misses a descendant that moved to another group or session
# (setsid(), setpgid(), subprocess's start_new_session=True) and lives on. On Linux, while
# snippets run, quizzer is a "child subreaper": such a process, once its parent has gone,
# becomes quizzer's child instead of init's. Whenever no snippet is running, every child of
# quizzer outside quizzer's own session is one of them, and is killed and reaped; again
# until none is left, since a killed one's children come to quizzer in turn.

_PR_GET_DUMPABLE = 3
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37
_leftovers_lock = threading.Lock()
_snippets_running = 0
#: While snippets run: quizzer's children from before (never killed), and whether quizzer
#: was a subreaper already (a program using this module may be one).
_children_before: set[int] = set()
_was_subreaper = False
_was_dumpable = True
#: How long the final sweep may take before it gives up (a hang is worse than a survivor;
#: the limits bound how many there can be, and boot.py's PR_SET_PDEATHSIG ends them later).
SWEEP_SECONDS = 0.5


@contextlib.contextmanager
def adopting_leftovers() -> Iterator[None]:
    global _snippets_running, _children_before, _was_subreaper, _was_dumpable
    with _leftovers_lock:
        if _snippets_running == 0:
            # Not dumpable while snippets run: /proc/<quizzer>/mem, environ and fd are then
            # closed to every process without CAP_SYS_PTRACE, snippets included.
            _was_dumpable = _set_dumpable(False)
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
                _set_dumpable(_was_dumpable)


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


def _set_dumpable(on: bool) -> bool:
    """Set whether this process is dumpable; returns whether it was."""
    prctl = _prctl()
    if prctl is None:
        return True
    was = prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 1
    prctl(_PR_SET_DUMPABLE, int(on), 0, 0, 0)
    return was


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


def _descendants(roots: set[int]) -> set[int]:
    """``roots`` and every process below them."""
    found: set[int] = set()
    stack = list(roots)
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found.add(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            with (
                contextlib.suppress(OSError, ValueError),
                open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as handle,
            ):
                stack.extend(int(child) for child in handle.read().split())
    return found


def _kill_leftovers() -> None:
    """Kill and reap the children adopted from snippets' own sessions (see above).

    Each round kills every adopted process and everything below it at once (so a fork
    bomb's members cannot outrun the kills one by one), then reaps; it ends when none is
    left, or after SWEEP_SECONDS.
    """
    if _prctl() is None:
        return
    own_session = os.getsid(0)
    deadline = time.monotonic() + SWEEP_SECONDS
    while time.monotonic() < deadline:
        adopted = set()
        for pid in _children() - _children_before:
            found = _state_and_session(pid)
            if found is not None and found[1] != own_session:
                adopted.add(pid)
        if not adopted:
            return
        for pid in _descendants(adopted):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        for pid in adopted:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
