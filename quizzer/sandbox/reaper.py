"""What a snippet leaves behind in a session of its own: adopting and killing it (Linux)."""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

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
def adopting_leftovers() -> Iterator[None]:
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
