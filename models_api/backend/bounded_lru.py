"""The one bounded map of the service: thread-safe, least recently used entry evicted first.

Used where memory must stay flat whatever clients send (per-key verdicts, per-address
auth-failure windows). Freshness is the caller's business: it stores what it needs to judge it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedLru(Generic[V]):
    """At most `max_entries` entries keyed by string."""

    def __init__(self, max_entries: int):
        self._max_entries = max_entries
        self._entries: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        """The entry, marked most recently used. Takes no lock: it runs on every request (a
        known key's verdict), and each OrderedDict call is atomic under the GIL; an entry
        evicted between the two calls is simply not marked."""
        value = self._entries.get(key)
        if value is not None:
            try:
                self._entries.move_to_end(key)
            except KeyError:
                pass
        return value

    def peek(self, key: str) -> V | None:
        """The entry without marking it used (a read that must not cost a lock)."""
        return self._entries.get(key)

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._store(key, value)

    def update(self, key: str, change: Callable[[V | None], V]) -> V:
        """Replace the entry with `change(old)` atomically; returns the new value."""
        with self._lock:
            value = change(self._entries.get(key))
            self._store(key, value)
            return value

    def _store(self, key: str, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
