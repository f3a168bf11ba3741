"""A small thread-safe LRU map whose entries remember when they were stored (a deliberate cache)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(frozen=True)
class CacheEntry(Generic[V]):
    value: V
    stored_at: float


class BoundedTtlCache(Generic[V]):
    """At most `max_entries` entries; the least recently used one is evicted first.

    Freshness is decided by the caller (it knows whether a stale entry is still useful),
    so `get` returns the entry with its age rather than dropping it.
    """

    def __init__(self, max_entries: int, clock: Callable[[], float]):
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, CacheEntry[V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> CacheEntry[V] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._entries[key] = CacheEntry(value, self._clock())
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
