"""Slows down credential guessing: too many failed auths from one client address get 429."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from models_api.bounded_lru import BoundedLru
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
        # address -> (window start, failures in it)
        self._windows: BoundedLru[tuple[float, int]] = BoundedLru(max_addresses)

    def check(self, address: str) -> None:
        """Raise TooManyRequests (with Retry-After) if `address` is over its failure limit."""
        window = self._windows.peek(address)
        if window is None:
            return
        started_at, failures = window
        elapsed = self._clock() - started_at
        if failures >= self._limit and elapsed < self._window_seconds:
            retry_after = max(1, math.ceil(self._window_seconds - elapsed))
            raise TooManyRequests(headers={"Retry-After": str(retry_after)})

    def record_failure(self, address: str) -> None:
        now = self._clock()

        def count(window: tuple[float, int] | None) -> tuple[float, int]:
            if window is None or now - window[0] >= self._window_seconds:
                return now, 1
            return window[0], window[1] + 1

        self._windows.update(address, count)

    def __len__(self) -> int:
        return len(self._windows)
