"""Pause Python's cyclic garbage collector while a batch allocates many acyclic objects.

Analysing a batch builds thousands of small containers per hundred messages (contexts, their
score dicts, cue lists, copied interactions) and none of them form reference cycles, so they are
freed by reference counting alone. The cyclic collector still counts them: every 700 net
allocations it walks the young generation, and the contexts a caller keeps get promoted and
rescanned by full collections that also walk everything else the process holds. Measured on
``Bridge.analyze_many`` over 5,426 texts in a process holding ~5,000 other models, that was
about 15% of its CPU time. Pausing the collector for the duration of one batch turns those walks
into one young collection after the batch; cycles created meanwhile are collected then.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block; re-enable it after if it was on.

    Process-wide, like :func:`gc.disable`: keep the block to one bounded batch. A caller (or
    another thread) that had already disabled the collector keeps it disabled.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
