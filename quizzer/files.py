"""Files: finding deck files, and writing so a reader sees the old file or the new one.

Light on purpose (the standard library only): an import of unchanged deck files needs no
more than this to see that they are unchanged.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from quizzer.errors import DeckFileError, QuizzerError

#: Largest deck file quizzer reads; a bigger one is refused before it is parsed.
MAX_FILE_BYTES = 20 * 1024 * 1024
#: What a deck file's name ends with.
DECK_SUFFIXES = (".yaml", ".yml")
#: What an Anki package's name ends with (quizzer.ankiimport reads them).
PACKAGE_SUFFIXES = (".apkg", ".colpkg")


def package_paths(paths: Iterable[Path]) -> list[Path]:
    """The Anki packages among ``paths``: named so, or in a folder named."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.iterdir() if p.suffix.lower() in PACKAGE_SUFFIXES and p.is_file()
            )
        elif path.suffix.lower() in PACKAGE_SUFFIXES:
            found.append(path)
    return found


def deck_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders into the deck files they name, folders sorted by name.

    Anki packages are not deck files: see package_paths."""
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in DECK_SUFFIXES and p.is_file())
            if not found and not package_paths([path]):
                raise DeckFileError(
                    f"{path}: no deck files (*.yaml) or Anki packages in this folder"
                )
            yield from found
        elif path.suffix.lower() in PACKAGE_SUFFIXES:
            continue
        elif path.exists():
            refuse_irregular(path)
            yield path
        else:
            raise DeckFileError(f"{path}: no such file or folder")


def refuse_irregular(path: Path) -> None:
    """Raise DeckFileError unless ``path`` is a regular file (or a link to one): reading a
    FIFO waits for a writer forever, and a device or socket is no deck."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise DeckFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise DeckFileError(f"{path}: not a regular file ({_kind(mode)}); name a file or folder")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file, else DeckFileError (one line).

    Opened without blocking and checked on the open file, so a FIFO put in its place after
    a check cannot make the read wait forever either."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise DeckFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise DeckFileError(f"{path}: not a regular file ({_kind(mode)}); name a file or folder")
    return os.fdopen(fd, "rb")


#: A temporary file older than this was left by a writer that was killed.
STALE_SECONDS = 3600


def _temporary_files(path: Path) -> Iterator[Path]:
    return path.parent.glob(f".{path.name}.*.tmp")


def _remove_stale(path: Path, *, now: float) -> None:
    for leftover in _temporary_files(path):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_SECONDS:
                leftover.unlink()


@contextlib.contextmanager
def atomic_write(path: Path) -> Iterator[BinaryIO]:
    """A new file beside ``path`` that replaces it, flushed to disk, only if the block ends well.

    The new file keeps the permissions of the one it replaces. Temporary files an earlier,
    killed writer left beside ``path`` are removed once they are an hour old.
    """
    _remove_stale(path, now=time.time())
    tmp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
    try:
        # O_EXCL: never clobber someone else's file; 0o666 lets the umask decide, as open() does.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise QuizzerError(f"cannot write {path}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (see atomic_write)."""
    with atomic_write(path) as handle:
        handle.write(data)
