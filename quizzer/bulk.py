"""Helpers for the few places that build many objects at once (importing a big deck)."""

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
