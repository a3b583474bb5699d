"""What kernel boundary this machine gives a snippet: ``describe() -> Boundary``.

A stand-in until the boundary itself (Landlock, seccomp, no_new_privs, dropping root)
is built into the sandbox: it reports the kernel's Landlock ABI, and nothing as
enforced, so the CLI's ``--trust`` rule and ``check --sandbox-info`` have their answer.
Standard library only; asked once per process, no subprocess.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from dataclasses import dataclass

__all__ = ["Boundary", "describe"]

#: landlock_create_ruleset's number: the same on every architecture (new syscalls share it).
_SYS_LANDLOCK_CREATE_RULESET = 444
_LANDLOCK_CREATE_RULESET_VERSION = 1


@dataclass(frozen=True, slots=True)
class Boundary:
    """What the sandbox enforces around a snippet on this machine."""

    landlock_abi: int | None
    seccomp: bool
    no_new_privs: bool
    uid_drop: bool
    #: Why there is no boundary (None when it is enforced).
    reason: str | None

    @property
    def enforced(self) -> bool:
        """Whether snippets run inside the boundary (Landlock, seccomp, no_new_privs)."""
        return self.landlock_abi is not None and self.seccomp and self.no_new_privs


def landlock_abi() -> int | None:
    """The kernel's Landlock ABI version, or None (not Linux, too old, or disabled)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
    except (OSError, AttributeError):
        return None
    syscall.restype = ctypes.c_long
    version = syscall(
        ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET),
        ctypes.c_void_p(None),
        ctypes.c_size_t(0),
        ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION),
    )
    return int(version) if version > 0 else None


@functools.cache
def describe() -> Boundary:
    """What this machine enforces around a snippet (asked once per process)."""
    abi = landlock_abi()
    if abi is None:
        reason = (
            "no Landlock: not Linux"
            if not sys.platform.startswith("linux")
            else "no Landlock: the kernel is older than 5.13 or has it disabled"
        )
    else:
        reason = "this quizzer does not install the kernel boundary yet"
    return Boundary(
        landlock_abi=abi, seccomp=False, no_new_privs=False, uid_drop=False, reason=reason
    )
