"""Slows down credential guessing: too many failed auths from one client address get 429."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from models_api.errors import TooManyRequests

MAX_TRACKED_ADDRESSES = 50_000


class AuthFailureThrottle:
    """Fixed-window count of auth failures per client address, in bounded memory."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = MAX_TRACKED_ADDRESSES,
    ):
        self._limit = limit
        self._window_seconds = window_seconds
        self._clock = clock
        self._max_addresses = max_addresses
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, address: str) -> None:
        """Raise TooManyRequests (with Retry-After) if `address` is over its failure limit."""
        window = self._windows.get(address)
        if window is None:
            return
        started_at, failures = window
        elapsed = self._clock() - started_at
        if failures >= self._limit and elapsed < self._window_seconds:
            retry_after = max(1, math.ceil(self._window_seconds - elapsed))
            raise TooManyRequests(headers={"Retry-After": str(retry_after)})

    def record_failure(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            started_at, failures = self._windows.get(address, (now, 0))
            if now - started_at >= self._window_seconds:
                started_at, failures = now, 0
            self._windows[address] = (started_at, failures + 1)
            self._windows.move_to_end(address)
            while len(self._windows) > self._max_addresses:
                self._windows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._windows)
