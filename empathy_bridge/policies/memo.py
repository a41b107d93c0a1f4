"""Values derived from one settings or library object, computed once per object.

Policies run once per conversation, but part of their work depends only on configuration: a
response library's lower-cased keywords, the SLA matrix row of a (tier, channel, segment) cell,
a schedule's working days. Those objects are frozen pydantic models, yet they hold lists and
dicts, so they cannot key an ``lru_cache`` (unhashable), and a ``WeakKeyDictionary`` would
compare whole matrices by value on every lookup. :class:`IdentityMemo` keys by identity instead
and holds a reference to each object it caches, so a cached id cannot be reused by another object.
The objects are configuration, validated once and never changed in place (the caches assume
so: a list inside a frozen model could still be mutated), built once per process: a few
entries suffice, the oldest goes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["IdentityMemo"]

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """``memo(obj)`` is ``build(obj)``, computed once per object (by identity)."""

    def __init__(self, build: Callable[[K], V], maxsize: int = 16) -> None:
        self._build = build
        self._maxsize = maxsize
        self._cache: dict[int, tuple[K, V]] = {}
        self._lock = threading.Lock()

    def __call__(self, obj: K) -> V:
        found = self._cache.get(id(obj))
        if found is not None and found[0] is obj:
            return found[1]
        value = self._build(obj)
        with self._lock:  # eviction iterates the dict: not while another thread inserts
            if len(self._cache) >= self._maxsize:
                del self._cache[next(iter(self._cache))]
            self._cache[id(obj)] = (obj, value)
        return value
