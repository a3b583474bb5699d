"""The cyclic garbage collector, paused where many objects are built at once: a command's
start-up, and importing a big deck."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a burst of allocations that make no cycles.

    Reading a 10k-question deck allocates some million objects that reference counting
    frees. The collector cannot free any of them, yet it walked all of them over and over
    as they piled up: a third of the time of an import. Cycles made meanwhile are
    collected once it runs again.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_paused_for_startup = False


def pause_for_startup() -> None:
    """Pause the collector while a command loads its modules; :func:`end_startup` resumes it.

    Loading sqlalchemy, the models and rich builds some 100k objects that live as long as
    the process. The collector walked them again and again as they piled up, some tenth
    of the time to the first card, and freed almost nothing.
    """
    global _paused_for_startup
    if gc.isenabled():
        gc.disable()
        _paused_for_startup = True


def end_startup() -> None:
    """Resume the collector paused by :func:`pause_for_startup` (else do nothing).

    What start-up built is moved to the permanent generation first, so the collections
    of a long review session never walk it again.
    """
    global _paused_for_startup
    if _paused_for_startup:
        _paused_for_startup = False
        gc.freeze()
        gc.enable()
