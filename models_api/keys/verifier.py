"""API key verification: the key index answers known keys; a key it does not hold is read once.

Request path, cheapest first:
1. a memo of recent verdicts, keyed by the key itself and valid for one index generation
   (a hot key costs neither the checksum nor the HMAC);
2. shape and checksum (a malformed key never reaches Firestore);
3. the instance's copy of the key index (models_api/keys/index.py), which a request keeps
   current without waiting on it;
   The key id is looked up under each pepper the instance is given, current first (a key
   minted under the previous pepper costs one more HMAC until its verdict is memoised);
4. a key the index does not hold (minted since the last refresh, or an index that lags its
   documents) is read from `api_keys/{key_id}` (its current-pepper id: new keys are minted
   under the current pepper): one read per key at a time, bounded by the backend deadline,
   remembered (found or not) until the index moves on or `max_age` passes. When that read
   fails the answer is 503, never 401. Only this step costs a Firestore read, so only it is
   guarded: first by the caller's `before_lookup` (the per-address failure throttle, 429),
   then by the instance's lookup budget (a token bucket): beyond it the answer is 503 with
   Retry-After = the refresh period, after which a key minted before the request is in the
   index and needs no read.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from models_api.auth.principal import Principal
from models_api.auth.throttle import LookupBudget
from models_api.backend.bounded_lru import BoundedLru
from models_api.backend.firestore import FirestoreBackend
from models_api.errors import BackendUnavailable, ServiceUnavailable, Unauthenticated
from models_api.keys.documents import (
    HEAD_DOCUMENT,
    IndexEntry,
    IndexHead,
    KeyRecord,
    StoredShard,
    index_collection_for,
    shard_document,
)
from models_api.keys.index import KeyIndex, KeyIndexSource
from models_api.keys.key_format import (
    PepperedHasher,
    display_prefix,
    is_well_formed_api_key,
)


class FirestoreKeyStore:
    """Reads the key index and single key documents; counts every document read."""

    def __init__(self, backend: FirestoreBackend, collection: str):
        self._backend = backend
        self._collection = collection
        self._index_collection = index_collection_for(collection)

    def read_head(self) -> IndexHead:
        def read(client: Any, timeout: float) -> Any:
            reference = client.collection(self._index_collection).document(HEAD_DOCUMENT)
            return reference.get(retry=None, timeout=timeout)

        snapshot = self._backend.call(read, "api key index head")
        self._backend.reads.add(1)
        return IndexHead.from_document(snapshot.to_dict() if snapshot.exists else None)

    def read_shards(self, shards: list[str]) -> dict[str, StoredShard]:
        if not shards:
            return {}
        wanted = {shard_document(shard): shard for shard in shards}

        def read(client: Any, timeout: float) -> list[Any]:
            collection = client.collection(self._index_collection)
            references = [collection.document(name) for name in wanted]
            return list(client.get_all(references, retry=None, timeout=timeout))

        snapshots = self._backend.call(read, "api key index shards")
        self._backend.reads.add(len(wanted))
        found = {shard: StoredShard.from_document(None) for shard in shards}
        for snapshot in snapshots:
            if snapshot.exists and snapshot.id in wanted:
                found[wanted[snapshot.id]] = StoredShard.from_document(snapshot.to_dict())
        return found

    def find_key(self, key_id: str) -> KeyRecord | None:
        def lookup(client: Any, timeout: float) -> Any:
            reference = client.collection(self._collection).document(key_id)
            return reference.get(retry=None, timeout=timeout)

        snapshot = self._backend.call(lookup, "api key lookup")
        self._backend.reads.add(1)
        if not snapshot.exists:
            return None
        return KeyRecord.from_document(key_id, snapshot.to_dict() or {})


@dataclass(frozen=True)
class _Verdict:
    """What an index entry means for a request: built once per generation, not per request."""

    principal: Principal | None
    refusal: str | None
    expires_at: int  # Unix seconds, 0 = never; checked on every request

    @classmethod
    def of(cls, entry: IndexEntry | None, api_key: str) -> _Verdict:
        prefix = display_prefix(api_key)
        if entry is None:
            return cls(None, f"unknown api key {prefix}", 0)
        if entry.status != "active":
            return cls(None, f"key {entry.status}: {prefix}", 0)
        return cls(Principal(kind="api_key", subject=prefix), None, entry.expires_at)


@dataclass(frozen=True)
class _Lookup:
    """A key read directly (the index did not hold it): valid for one generation and max_age."""

    entry: IndexEntry | None
    generation: int
    at: float


class _KeyRead:
    """One direct read of one key, shared by the requests that ask for it meanwhile."""

    __slots__ = ("done", "lookup", "failure")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.lookup: _Lookup | None = None
        self.failure: BackendUnavailable | None = None


class ApiKeyVerifier:
    """Turns an `X-Api-Key` value into a Principal, or raises Unauthenticated
    (BackendUnavailable when it cannot tell).

    Keys sit in this instance's memory while memoised (at most `max_entries`); they are never
    logged or stored.
    """

    def __init__(
        self,
        peppers: Sequence[Callable[[], bytes]],
        index: KeyIndex,
        store: KeyIndexSource,
        *,
        max_entries: int,
        wait_seconds: float,
        lookup_budget: LookupBudget,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        """`peppers`: the current pepper first, then any previous one still accepted."""
        if not peppers:
            raise ValueError("at least the current pepper is needed")
        self._peppers = tuple(peppers)
        self._hashers: tuple[PepperedHasher, ...] = ()
        self._index = index
        self._budget = lookup_budget
        self._over_budget_retry_after = str(max(1, math.ceil(index.refresh_seconds)))
        self._store = store
        self._wait_seconds = wait_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._memo: BoundedLru[tuple[int, _Verdict]] = BoundedLru(max_entries)
        self._lookups: BoundedLru[_Lookup] = BoundedLru(max_entries)  # key id -> direct read
        self._reads: dict[str, _KeyRead] = {}
        self._reads_lock = threading.Lock()

    def verify(self, api_key: str, before_lookup: Callable[[], None] = lambda: None) -> Principal:
        """`before_lookup` runs only when the key must be read from Firestore, and may raise
        (the per-address throttle)."""
        memo = self._memo.get(api_key)  # holds well-formed keys only
        if memo is None and not is_well_formed_api_key(api_key):
            raise Unauthenticated("malformed api key or bad checksum")  # before any read
        self._index.keep_current()
        generation = self._index.generation
        if memo is not None and memo[0] == generation:
            verdict = memo[1]
        else:
            entry, from_index = self._entry_for(api_key, generation, before_lookup)
            verdict = _Verdict.of(entry, api_key)
            if from_index:  # direct reads have their own lifetime (see _still_valid)
                self._memo.put(api_key, (generation, verdict))
        if verdict.principal is None:
            raise Unauthenticated(verdict.refusal or "unknown api key")
        if verdict.expires_at and self._wall_clock() >= verdict.expires_at:
            raise Unauthenticated(f"key expired: {verdict.principal.subject}")
        return verdict.principal

    def _entry_for(
        self, api_key: str, generation: int, before_lookup: Callable[[], None]
    ) -> tuple[IndexEntry | None, bool]:
        """The key's entry, and whether the index held it (else it was read directly)."""
        hashers = self._hashers or self._load_hashers()
        current = hashers[0].digest(api_key)
        entry = self._index.lookup(current)
        if entry is not None:
            return entry, True
        for hasher in hashers[1:]:
            entry = self._index.lookup(hasher.digest(api_key))
            if entry is not None:
                return entry, True
        key_id = current.hex()
        lookup = self._lookups.get(key_id)
        if lookup is None or not self._still_valid(lookup, generation):
            with self._reads_lock:
                joining = key_id in self._reads
            if not joining:  # only a request that would start a read pays for it
                before_lookup()
                if not self._budget.try_take():
                    raise ServiceUnavailable(
                        "This API key cannot be checked right now. Retry later.",
                        headers={"Retry-After": self._over_budget_retry_after},
                        reason="unknown-key lookup budget exhausted",
                    )
            lookup = self._read_once(key_id, generation)
        return lookup.entry, False

    def _load_hashers(self) -> tuple[PepperedHasher, ...]:
        """Built on first use: a pepper may come from Secret Manager (and fail: not cached)."""
        self._hashers = tuple(PepperedHasher(pepper()) for pepper in self._peppers)
        return self._hashers

    def _still_valid(self, lookup: _Lookup, generation: int) -> bool:
        return (
            lookup.generation == generation
            and self._clock() - lookup.at <= self._index.max_age_seconds
        )

    def _read_once(self, key_id: str, generation: int) -> _Lookup:
        """Read `api_keys/{key_id}`, or wait for the read another request is already making."""
        with self._reads_lock:
            read = self._reads.get(key_id)
            leader = read is None
            if read is None:
                read = self._reads[key_id] = _KeyRead()
        if leader:
            try:
                record = self._store.find_key(key_id)
                entry = record.index_entry() if record is not None else None
                read.lookup = _Lookup(entry, generation, self._clock())
                self._lookups.put(key_id, read.lookup)
            except BackendUnavailable as failure:
                read.failure = failure
            finally:
                with self._reads_lock:
                    del self._reads[key_id]
                read.done.set()
        elif not read.done.wait(self._wait_seconds):
            raise BackendUnavailable("api key lookup still waiting on firestore")
        if read.failure is not None:
            raise BackendUnavailable(str(read.failure))
        assert read.lookup is not None
        return read.lookup
