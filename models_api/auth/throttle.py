"""What bounds the cost of guessing: a per-address failure throttle (429) and a per-instance
budget of Firestore lookups for keys the index does not hold.

Neither stands in front of a key the instance already knows: a valid key is answered from
memory before either is consulted (models_api/keys/verifier.py), so a flood or a shared NAT locks
out nobody valid.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from models_api.backend.bounded_lru import BoundedLru
from models_api.errors import TooManyRequests

MAX_TRACKED_ADDRESSES = 50_000
EXHAUSTED_LOG_INTERVAL_SECONDS = 60.0

logger = logging.getLogger(__name__)


class LookupBudget:
    """A token bucket: at most `burst` lookups at once and `per_second` sustained, per process.

    Memory and cost are constant whatever the flood. When it runs dry a WARNING is logged (at
    most once a minute, with the count refused since the last one) so an alert can catch it.
    """

    def __init__(
        self,
        per_second: float,
        burst: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._per_second = per_second
        self._burst = burst
        self._clock = clock
        self._tokens = burst
        self._updated = clock()
        self._refused = 0
        self._logged_at = -float("inf")
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        """Take one lookup from the budget; False (nothing taken) when it is spent."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._per_second)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            self._refused += 1
            if now - self._logged_at < EXHAUSTED_LOG_INTERVAL_SECONDS:
                return False
            refused, self._refused, self._logged_at = self._refused, 0, now
        logger.warning(
            "api key lookup budget spent (%g/s, burst %g): %d unknown key(s) answered 503 "
            "without a read since the last warning",
            self._per_second, self._burst, refused,
        )  # fmt: skip
        return False


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
            raise TooManyRequests(
                headers={"Retry-After": str(retry_after)},
                reason=(
                    f"auth failures from this address over the limit ({failures} in "
                    f"{self._window_seconds:g} s)"
                ),
            )

    def record_failure(self, address: str) -> None:
        now = self._clock()

        def count(window: tuple[float, int] | None) -> tuple[float, int]:
            if window is None or now - window[0] >= self._window_seconds:
                return now, 1
            return window[0], window[1] + 1

        self._windows.update(address, count)

    def __len__(self) -> int:
        return len(self._windows)
