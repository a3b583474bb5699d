"""What kernel boundary this machine gives a snippet: ``describe() -> Boundary``.

The stable API (the CLI's ``check --sandbox-info`` and ``--trust`` use it)::

    from quizzer.sandbox.boundary import describe
    b = describe()            # asked once per process; cheap, no subprocess
    b.landlock_abi            # int | None: the kernel's Landlock ABI, None when unavailable
    b.seccomp                 # bool: the sandbox's seccomp filter can be installed
    b.no_new_privs            # bool: PR_SET_NO_NEW_PRIVS is available
    b.uid_drop                # bool: quizzer runs as root, snippets as an unprivileged uid
    b.reason                  # str | None: why there is no boundary (None when enforced)
    b.enforced                # bool: Landlock, seccomp and no_new_privs all hold
    b.lines()                 # list[str]: one human line per fact, for --sandbox-info

``uid_drop`` is False when quizzer itself is not root: there is nothing to drop, the
snippet runs as the user, confined by Landlock. What each part enforces, and what is
not enforced anywhere, is in README.md ("The sandbox").
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass

#: Machines for which boot.py has the seccomp filter's syscall numbers.
SECCOMP_MACHINES = ("x86_64", "aarch64")
#: The first Landlock ABI that scopes signals and abstract unix sockets (Linux 6.12).
SCOPED_ABI = 6
_SYS_LANDLOCK_CREATE_RULESET = 444
_LANDLOCK_CREATE_RULESET_VERSION = 1
_PR_GET_NO_NEW_PRIVS = 39
_PR_GET_SECCOMP = 21
_ENOSYS = 38
_EOPNOTSUPP = 95


@dataclass(frozen=True, slots=True)
class Boundary:
    """What the sandbox enforces around a snippet on this machine."""

    landlock_abi: int | None
    seccomp: bool
    no_new_privs: bool
    uid_drop: bool
    reason: str | None

    @property
    def enforced(self) -> bool:
        """Whether snippets run inside the boundary (Landlock, seccomp, no_new_privs)."""
        return self.landlock_abi is not None and self.seccomp and self.no_new_privs

    def lines(self) -> list[str]:
        """What is enforced, one fact a line (``check --sandbox-info``)."""
        if self.landlock_abi is None:
            landlock = f"Landlock: not available ({self.reason})"
        else:
            scoped = (
                "signals and abstract sockets scoped"
                if self.landlock_abi >= SCOPED_ABI
                else f"signals NOT scoped (needs ABI {SCOPED_ABI}, Linux 6.12)"
            )
            tcp = "TCP refused" if self.landlock_abi >= 4 else "TCP left to seccomp (ABI < 4)"
            landlock = f"Landlock: ABI {self.landlock_abi} (files; {tcp}; {scoped})"
        return [
            landlock,
            "seccomp: "
            + (
                "IP, netlink and packet sockets refused, namespaces and io_uring refused"
                if self.seccomp
                else "not available"
            ),
            "no_new_privs: " + ("yes" if self.no_new_privs else "no"),
            "uid: "
            + (
                "quizzer runs as root; snippets run as an unprivileged uid of their own"
                if self.uid_drop
                else "snippets run as the user running quizzer (not root: nothing to drop)"
            ),
            "boundary: " + ("enforced" if self.enforced else f"NOT enforced: {self.reason}"),
        ]


@functools.cache
def describe() -> Boundary:
    """The boundary this machine can give a snippet (computed once per process)."""
    if not sys.platform.startswith("linux"):
        return Boundary(None, False, False, False, f"{sys.platform} has no Landlock (Linux only)")
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall, prctl = libc.syscall, libc.prctl
    except (OSError, AttributeError):
        return Boundary(None, False, False, False, "the C library cannot be called")
    syscall.restype = ctypes.c_long
    abi: int | None = syscall(
        _SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_CREATE_RULESET_VERSION
    )
    reason = None
    if abi is None or abi < 1:
        errno = ctypes.get_errno()
        abi = None
        if errno == _EOPNOTSUPP:
            reason = "Landlock is turned off in this kernel (boot option lsm=...)"
        elif errno == _ENOSYS:
            reason = f"this kernel ({os.uname().release}) has no Landlock (needs Linux 5.13)"
        else:
            reason = f"Landlock refused: {os.strerror(errno)}"
    no_new_privs = prctl(_PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) >= 0
    seccomp = os.uname().machine in SECCOMP_MACHINES and prctl(_PR_GET_SECCOMP, 0, 0, 0, 0) >= 0
    if reason is None and not seccomp:
        reason = f"no seccomp filter for this machine ({os.uname().machine})"
    if reason is None and not no_new_privs:
        reason = "PR_SET_NO_NEW_PRIVS is not available"
    return Boundary(
        landlock_abi=abi,
        seccomp=seccomp,
        no_new_privs=no_new_privs,
        uid_drop=os.geteuid() == 0,
        reason=reason,
    )
