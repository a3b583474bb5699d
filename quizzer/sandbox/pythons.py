"""Every CPython on this machine, and what ``check --python`` names: ``all``, a version
(``3.12``), a command (``python3.13``) or a path.

Looked for in pyenv's versions folder (``$PYENV_ROOT``, else ``~/.pyenv``), uv's managed
Pythons (``$UV_PYTHON_INSTALL_DIR``, else ``~/.local/share/uv/python``), ``python3`` and
``python3.X`` on ``PATH``, and the interpreter running quizzer; the same interpreter
(by real path) or the same version is listed once. A pyenv *shim* is a shell script that
asks pyenv which Python to run: it is resolved to that Python here, outside the sandbox
(whose minimal environment has no pyenv), or refused with a message that says why.

These are the user's own interpreters: each is asked its version directly, with ``-I``
and a fixed one-line script, not in the sandbox.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from quizzer.errors import SandboxError

__all__ = ["Python", "find_all", "is_pyenv_shim", "resolve", "resolve_many"]

_PROBE = "import sys; print(sys.implementation.name, '.'.join(map(str, sys.version_info[:3])))"
_VERSION = re.compile(r"\d+\.\d+(\.\d+)?")
#: Minor versions of Python 3 looked for as ``python3.X`` on PATH.
_MINORS = range(0, 30)


@dataclass(frozen=True, slots=True, order=True)
class Python:
    """One interpreter: its version first, so a sorted list goes oldest to newest."""

    version_key: tuple[int, ...]
    version: str
    path: str


#: The oldest Python the sandbox's start-up (``boot.py``) runs on: ``all`` leaves older
#: ones out (naming one still says, in one line, why it cannot be used).
SANDBOX_OLDEST = (3, 7)


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def is_pyenv_shim(path: str) -> bool:
    """Whether ``path`` is a pyenv shim (a script that runs ``pyenv exec``)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError:
        return False
    return head.startswith(b"#!") and b"pyenv" in head and b" exec " in head


def _pyenv_root(env: Mapping[str, str]) -> Path:
    return Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _unshim(path: str, env: Mapping[str, str]) -> str:
    """The interpreter a pyenv shim runs here, or SandboxError saying why there is none."""
    program = os.path.basename(path)
    pyenv = shutil.which("pyenv", path=env.get("PATH")) or str(
        _pyenv_root(env) / "libexec" / "pyenv"
    )
    said = ""
    try:
        done = subprocess.run(
            [pyenv, "which", program],
            capture_output=True,
            text=True,
            timeout=20,
            env=dict(env),
            check=False,
        )
        found = done.stdout.strip()
        if done.returncode == 0 and found and os.access(found, os.X_OK):
            return found
        said = (done.stderr.strip().splitlines() or [""])[0]
    except (OSError, subprocess.SubprocessError) as exc:
        said = str(exc)
    # Not in the version pyenv selects here: any installed version that has the program.
    installed = sorted(
        (_version_of_dir(p.name), str(p / "bin" / program))
        for p in (_pyenv_root(env) / "versions").glob("*")
        if (p / "bin" / program).is_file()
    )
    if installed:
        return installed[-1][1]
    because = f" (pyenv says: {said})" if said else ""
    raise SandboxError(
        f"{path} is a pyenv shim, and pyenv has no Python for {program!r} here{because}; "
        f"`pyenv install` one, or name an interpreter itself (--python PATH)"
    )


def _version_of_dir(name: str) -> tuple[int, ...]:
    found = _VERSION.match(name)
    return _key(found.group()) if found else ()


@functools.cache
def _probe(path: str) -> tuple[str, str] | None:
    """(implementation, version) of interpreter ``path``; None if it does not run."""
    try:
        done = subprocess.run(
            [path, "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    parts = done.stdout.split()
    if done.returncode != 0 or len(parts) != 2 or not _VERSION.fullmatch(parts[1]):
        return None
    return parts[0], parts[1]


def resolve(name: str, *, env: Mapping[str, str] | None = None) -> Python:
    """The interpreter a ``--python`` value names: a version like ``3.12`` (the newest
    found of it), a command on PATH or a path; a pyenv shim is resolved to its Python."""
    env = os.environ if env is None else env
    return _resolve(name, env, _Scan(env))


def resolve_many(names: Sequence[str], *, env: Mapping[str, str] | None = None) -> list[Python]:
    """Each interpreter ``names`` says (``all``: every one found), oldest first, once each."""
    env = os.environ if env is None else env
    # One look around the machine for all the names: each costs a run of every Python
    # and of pyenv for each shim on PATH.
    scan = _Scan(env)
    chosen: list[Python] = []
    for name in names:
        found = scan() if name == "all" else [_resolve(name, env, scan)]
        chosen += [p for p in found if p.version not in {c.version for c in chosen}]
    return sorted(chosen)


class _Scan:
    """:func:`find_all`, run once, when first needed."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._found: list[Python] | None = None

    def __call__(self) -> list[Python]:
        if self._found is None:
            self._found = find_all(env=self._env)
        return self._found


def _resolve(name: str, env: Mapping[str, str], scan: _Scan) -> Python:
    if _VERSION.fullmatch(name):
        matches = [p for p in scan() if _key(p.version)[: len(_key(name))] == _key(name)]
        if not matches:
            found = ", ".join(p.version for p in scan()) or "none"
            raise SandboxError(f"no Python {name} found on this machine (found: {found})")
        return matches[-1]
    path = shutil.which(name, path=env.get("PATH")) if os.sep not in name else name
    if path is None or not os.access(path, os.X_OK) or os.path.isdir(path):
        raise SandboxError(f"no Python interpreter at {name!r}")
    path = os.path.abspath(path)
    if is_pyenv_shim(path):
        path = _unshim(path, env)
    probed = _probe(path)
    if probed is None:
        raise SandboxError(f"{path} did not run as a Python interpreter")
    return Python(_key(probed[1]), probed[1], path)


def _candidates(env: Mapping[str, str]) -> list[str]:
    found = [sys.executable]
    for bin_dir in sorted((_pyenv_root(env) / "versions").glob("*/bin")):
        found.append(str(bin_dir / "python3"))
    uv_root = Path(env.get("UV_PYTHON_INSTALL_DIR") or Path.home() / ".local/share/uv/python")
    for bin_dir in sorted(uv_root.glob("cpython-*/bin")):
        found.append(str(bin_dir / "python3"))
    search = env.get("PATH", "")
    for minor in _MINORS:
        command = shutil.which(f"python3.{minor}", path=search)
        if command:
            found.append(command)
    command = shutil.which("python3", path=search)
    if command:
        found.append(command)
    return found


def find_all(*, env: Mapping[str, str] | None = None) -> list[Python]:
    """Every CPython 3 on this machine the sandbox runs on (3.7 and later), oldest first:
    one per version (the first found of it, the running interpreter before any other) and
    per real path. Shims on PATH are resolved; an interpreter that does not run is left
    out."""
    env = os.environ if env is None else env
    by_version: dict[str, Python] = {}
    seen: set[str] = set()
    for candidate in _candidates(env):
        if not os.access(candidate, os.X_OK) or os.path.isdir(candidate):
            continue
        path = candidate
        if is_pyenv_shim(path):
            try:
                path = _unshim(path, env)
            except SandboxError:
                continue
        real = os.path.realpath(path)
        if real in seen:
            continue
        seen.add(real)
        probed = _probe(path)
        if probed is None or probed[0] != "cpython" or not probed[1].startswith("3."):
            continue
        if _key(probed[1]) < SANDBOX_OLDEST:
            continue  # the sandbox's start-up cannot run there
        by_version.setdefault(probed[1], Python(_key(probed[1]), probed[1], path))
    return sorted(by_version.values())
