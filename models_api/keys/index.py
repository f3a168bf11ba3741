"""The instance's copy of the key index, kept current by polling the change feed.

Every instance loads the index (the head and the shards that exist) once, then answers known
keys from memory. Requests keep it current without waiting: when the copy is older than
`refresh_seconds`, a request starts one background refresh (one read of the head; the shards
whose version in the head differs from the version this copy holds are re-read) and is
answered at once. Versions are unique per write and compared for equality, never ordered, so
no writer's clock or counter can hide a change.

Cloud Run gives an instance CPU only while it serves requests (unless CPU is always
allocated), so there is no timer: an instance that was idle has not refreshed. A request that
finds no refresh finished within `max_age_seconds` (2 x refresh) therefore waits for one, up to
`wait_seconds`; that keeps the revocation bound for idle instances. A refresh that failed counts
as finished, so while Firestore is failing requests do not wait: known keys are answered from
the last copy for up to `max_stale_seconds`, then every request gets 503.

A read that would empty the index or shrink its active keys past `max_shrink_fraction` is
refused like a failed read and logged as an ERROR (`api key index refused: ...`), unless it
matches the count key_admin recorded (models_api/keys/guard.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from models_api.backend.background import run_in_background
from models_api.errors import BackendUnavailable
from models_api.keys.documents import (
    ID_BYTES,
    IndexEntry,
    IndexHead,
    KeyRecord,
    StoredShard,
    count_active,
    find_entry,
    shard_name,
)
from models_api.keys.guard import DEFAULT_MAX_SHRINK_FRACTION, refusal_reason

logger = logging.getLogger(__name__)


class KeyIndexSource(Protocol):
    """Where the index and the key documents are read from (Firestore, or a counting fake)."""

    def read_head(self) -> IndexHead:
        """The head document; an empty head if there is none."""
        ...

    def read_shards(self, shards: list[str]) -> dict[str, StoredShard]:
        """Each named shard (empty, version "", for a shard with no document), in one batch."""
        ...

    def find_key(self, key_id: str) -> KeyRecord | None:
        """One key document, None if there is none."""
        ...


@dataclass(frozen=True)
class _Copy:
    """An immutable copy of the index: replaced whole, so readers never need a lock."""

    versions: dict[str, str]  # shard -> the version its entries were read at
    shards: dict[str, bytes]
    active: dict[str, int]  # shard -> active keys in it
    started: float  # monotonic time the refresh that produced it started


class _Flight:
    __slots__ = ("started", "done")

    def __init__(self, started: float):
        self.started = started
        self.done = threading.Event()


class KeyIndex:
    """Known keys by digest, a generation that changes with every new version, and refreshes."""

    def __init__(
        self,
        source: KeyIndexSource,
        *,
        refresh_seconds: float,
        max_stale_seconds: float,
        wait_seconds: float,
        max_shrink_fraction: float = DEFAULT_MAX_SHRINK_FRACTION,
        clock: Callable[[], float] = time.monotonic,
        run_in_background: Callable[[Callable[[], None]], None] = run_in_background,
    ):
        self._source = source
        self.refresh_seconds = refresh_seconds
        self.max_age_seconds = 2 * refresh_seconds
        self._max_stale_seconds = max_stale_seconds
        self._wait_seconds = wait_seconds
        self._max_shrink_fraction = max_shrink_fraction
        # A refresh runs at most a head read and a shard read, each bounded by the backend's
        # deadline; one older than this was frozen with its instance's CPU and is given up.
        self._flight_deadline = 3 * wait_seconds
        self._clock = clock
        self._run_in_background = run_in_background
        self._copy: _Copy | None = None
        self._confirmed_at = -float("inf")  # start of the last refresh that succeeded
        self._finished_at = -float("inf")  # end of the last refresh, whatever its outcome
        self._flight: _Flight | None = None
        self._lock = threading.Lock()
        self.generation = 0

    @property
    def shard_versions(self) -> dict[str, str]:
        """The version of every shard this instance holds (empty before the first load)."""
        return dict(self._copy.versions) if self._copy is not None else {}

    def lookup(self, digest: bytes) -> IndexEntry | None:
        """The entry for a key's HMAC digest, None if the index does not hold it."""
        copy = self._copy
        if copy is None:
            return None
        entries = copy.shards.get(shard_name(digest))
        return find_entry(entries, digest[:ID_BYTES]) if entries else None

    def keep_current(self) -> None:
        """Called by every request before it is answered from the index. Raises
        BackendUnavailable when the index cannot be used (never loaded, or too stale)."""
        now = self._clock()
        if now - self._confirmed_at <= self.refresh_seconds:
            return
        flight, must_wait = self._start_refresh(now)
        if flight is not None and must_wait:
            loading = self._copy is None
            flight.done.wait(self._flight_deadline if loading else self._wait_seconds)
        if self._copy is None:
            raise BackendUnavailable("api key index not loaded yet")
        if self._clock() - self._confirmed_at > self._max_stale_seconds:
            raise BackendUnavailable("api key index older than its stale limit")

    def _start_refresh(self, now: float) -> tuple[_Flight | None, bool]:
        """The refresh in flight (started if due), and whether this request must wait for it."""
        with self._lock:
            flight = self._flight
            if flight is not None and now - flight.started > self._flight_deadline:
                flight = None  # lost (its thread had no CPU); start another
            since_finished = now - self._finished_at
            # Never loaded, or nobody refreshed for max_age: the copy may be arbitrarily old.
            must_wait = self._copy is None or (
                flight is None and since_finished > self.max_age_seconds
            )
            # After a failure, retry at the polling pace, not on every request.
            start = flight is None and (must_wait or since_finished >= self.refresh_seconds)
            if start:
                flight = self._flight = _Flight(now)
        if start:
            started = flight
            assert started is not None
            self._run_in_background(lambda: self._refresh(started))
        return flight, must_wait

    def _refresh(self, flight: _Flight) -> None:
        try:
            head = self._source.read_head()
            copy = self._copy
            held = copy.versions if copy is not None else {}
            held_shards = copy.shards if copy is not None else {}
            changed = self._source.read_shards(head.changed_from(held))
            # A shard the head no longer lists is dropped; a shard is kept at the version it
            # was read at (newer than the head's if written meanwhile: re-read next time).
            versions = {name: held[name] for name in head.shard_versions if name in held}
            versions.update({name: shard.version for name, shard in changed.items()})
            shards = {name: held_shards[name] for name in versions if name not in changed}
            shards.update({name: shard.entries for name, shard in changed.items()})
            held_active = copy.active if copy is not None else {}
            active = {name: held_active[name] for name in shards if name not in changed}
            active.update({name: count_active(shard.entries) for name, shard in changed.items()})
            fresh = _Copy(versions, shards, active, flight.started)
            if self._refused(fresh, copy, head.recorded_active):
                return
            with self._lock:
                current = self._copy
                if current is None or current.started <= flight.started:
                    if current is None or current.versions != fresh.versions:
                        self._copy = fresh
                        self.generation += 1
                    self._confirmed_at = max(self._confirmed_at, flight.started)
        except BackendUnavailable:
            pass  # the next request past refresh_seconds tries again; known keys keep working
        finally:
            with self._lock:
                self._finished_at = self._clock()
                if self._flight is flight:
                    self._flight = None
            flight.done.set()

    def _refused(self, fresh: _Copy, held: _Copy | None, recorded: int | None) -> bool:
        """Whether `fresh` must not replace `held` (keys/guard.py); logs an ERROR if so."""
        read = sum(fresh.active.values())
        held_active = sum(held.active.values()) if held is not None else None
        reason = refusal_reason(read, held_active, recorded, self._max_shrink_fraction)
        if reason is None:
            return False
        if held is None:
            logger.error("api key index refused: %s; nothing loaded: api keys answer 503", reason)
        else:
            logger.error(
                "api key index refused: %s; keeping the index read %.0f s ago (%d active keys)",
                reason, self._clock() - held.started, held_active,
            )  # fmt: skip
        return True
