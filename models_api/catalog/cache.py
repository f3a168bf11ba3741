"""The model catalog: the Firestore store, the served snapshot and the in-instance cache.

The cache keeps the served models already serialized, so a warm request costs a dict lookup.
What a valid model is lives in `model_schema`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime
from functools import cached_property
from typing import Any, Protocol

from models_api.backend.background import run_in_background
from models_api.backend.bounded_lru import BoundedLru
from models_api.backend.firestore import FirestoreBackend
from models_api.catalog.guard import (
    DEFAULT_MAX_SHRINK_FRACTION,
    STATE_COLLECTION,
    minimum_kept,
    recorded_active_models,
    refusal_reason,
)
from models_api.catalog.model_schema import (
    RETIRED_STATUS,
    InvalidCatalogDocument,
    Model,
    Retirement,
    model_from_document,
    retirement_from_document,
)
from models_api.errors import BackendUnavailable, CatalogRefused, successor_link
from models_api.http.content_coding import IDENTITY, compressed_variants

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredCatalog:
    """What the store holds: the active models, and the retired ones (answered with 410)."""

    models: list[Model]
    retired: list[Retirement] = field(default_factory=list)


class CatalogStore(Protocol):
    def fetch_catalog(self) -> StoredCatalog:
        """Active and retired models; BackendUnavailable when the store cannot answer."""
        ...

    def fetch_expected_count(self) -> int | None:
        """How many active models the last seed left (catalog_guard), None if not recorded."""
        ...


# The statuses the service reads: active documents are served, retired ones answer 410.
# Disabled documents (the operator's switch) are not read at all: their ids answer 404.
_READ_STATUSES = ["active", "retired"]


class FirestoreCatalogStore:
    """Reads the active and retired documents of the catalog collection (one simple query)."""

    def __init__(self, backend: FirestoreBackend, collection: str):
        self._backend = backend
        self._collection = collection

    def fetch_documents(self) -> list[tuple[str, dict[str, Any]]]:
        """(id, data) of every active or retired document, as stored."""

        def query(client: Any, timeout: float) -> list[Any]:
            from google.cloud.firestore import FieldFilter

            return list(
                client.collection(self._collection)
                .where(filter=FieldFilter("status", "in", _READ_STATUSES))
                .stream(retry=None, timeout=timeout)
            )

        documents = self._backend.call(query, "catalog query")
        self._backend.reads.add(max(1, len(documents)))  # an empty result still bills one read
        return [(document.id, document.to_dict() or {}) for document in documents]

    def fetch_catalog(self) -> StoredCatalog:
        catalog = StoredCatalog(models=[], retired=[])
        for doc_id, data in self.fetch_documents():
            if data.get("status") == RETIRED_STATUS:
                catalog.retired.append(retirement_from_document(doc_id, data))
                continue
            try:
                catalog.models.append(model_from_document(doc_id, data))
            except InvalidCatalogDocument as error:
                # One bad document must not take the whole catalog down; it is left out, loudly.
                logger.error("catalog document skipped: %s", error)
        return catalog

    def fetch_expected_count(self) -> int | None:
        def read(client: Any, timeout: float) -> Any:
            reference = client.collection(STATE_COLLECTION).document(self._collection)
            return reference.get(retry=None, timeout=timeout)

        state = self._backend.call(read, "catalog state read")
        self._backend.reads.add(1)
        return recorded_active_models(state.to_dict() if state.exists else None)


@dataclass(frozen=True)
class ModelFilter:
    """The list's query filters; None is "any". All given filters must match."""

    provider: str | None = None
    supports_tools: bool | None = None
    supports_vision: bool | None = None
    owned_by: str | None = None
    input_modality: str | None = None
    output_modality: str | None = None

    def accepts(self, model: Model) -> bool:
        return (
            (self.provider is None or model.provider == self.provider)
            and (self.supports_tools is None or model.supports_tools == self.supports_tools)
            and (self.supports_vision is None or model.supports_vision == self.supports_vision)
            and (self.owned_by is None or model.owned_by == self.owned_by)
            and (self.input_modality is None or self.input_modality in model.input_modalities)
            and (self.output_modality is None or self.output_modality in model.output_modalities)
        )

    @cached_property
    def memo_key(self) -> str:
        """The filter as one string (computed once: the handler reuses its no-filter instance)."""
        return "|".join(
            str(value)
            for value in (
                self.provider,
                self.supports_tools,
                self.supports_vision,
                self.owned_by,
                self.input_modality,
                self.output_modality,
            )
        )


# Filtered lists kept per snapshot: the unfiltered list plus the filters clients use most.
# Any owner no served model has shares one entry (the empty list), so unknown values cannot
# evict the others.
MAX_MEMOIZED_LISTS = 256
_MATCHES_NOTHING = "owned_by:none-served"


@dataclass(frozen=True)
class Variant:
    """The body in one content coding, with its own strong ETag."""

    body: bytes
    etag: str


@dataclass(frozen=True)
class Representation:
    """A serialized response body, precompressed, each coding with its own strong ETag.

    `variants` maps each content coding worth sending (smaller than the plain body) and
    "identity" to its bytes, in the server's order of preference. Each coding has its own ETag
    (`"<hash>-br"`): the bytes differ, so a cache must not take one for the other.
    """

    variants: dict[str, Variant]


def _representation(payload: Any) -> Representation:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()[:32]
    return Representation(
        {
            coding: Variant(data, f'"{digest}"' if coding == IDENTITY else f'"{digest}-{coding}"')
            for coding, data in compressed_variants(body).items()
        }
    )


def lifecycle_headers(model: Model) -> list[tuple[str, str]]:
    """What a response about a deprecated model says in its headers.

    `Deprecation` (RFC 9745, a structured-field date), `Sunset` (RFC 8594, an HTTP-date) and a
    `Link` to the replacement (rel successor-version, RFC 5829).
    """
    if model.lifecycle != "deprecated":
        return []
    headers = []
    if model.deprecation_date is not None:
        headers.append(("Deprecation", f"@{_midnight_utc(model.deprecation_date):.0f}"))
    if model.retirement_date is not None:
        sunset = dt.datetime.fromtimestamp(_midnight_utc(model.retirement_date), dt.timezone.utc)
        headers.append(("Sunset", format_datetime(sunset, usegmt=True)))
    if model.replacement is not None:
        headers.append(("Link", successor_link(model.replacement)))
    return headers


def _as_instant(served_at: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(served_at, dt.datetime):
        return served_at.astimezone(dt.timezone.utc)
    return dt.datetime(served_at.year, served_at.month, served_at.day, tzinfo=dt.timezone.utc)


def _midnight_utc(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


class CatalogSnapshot:
    """The models served at one instant, ordered by (provider, id), with memoized bodies.

    Models whose retirement date has come are left out, and each model carries the price in
    effect at that instant (`Model.priced_at`). `valid_until` is the next moment either would
    change (midnight UTC of the earliest retirement date still ahead, or the earliest announced
    price change), after which the cache builds a new snapshot from the same documents: no
    re-seed and no read needed. `served_at` may be a date (its midnight UTC).
    """

    def __init__(
        self,
        models: Iterable[Model],
        fetched_at: float,
        served_at: dt.date | dt.datetime,
        retired: Iterable[Retirement] = (),
    ):
        stored = tuple(models)
        instant = _as_instant(served_at)
        served_on = instant.date()
        self.models = tuple(
            sorted(
                (model.priced_at(instant) for model in stored if model.is_served_on(served_on)),
                key=lambda model: (model.provider, model.id),
            )
        )
        self.stored_models = stored
        self.stored_retired = tuple(retired)
        self.fetched_at = fetched_at
        moments = [
            _midnight_utc(model.retirement_date)
            for model in self.models
            if model.retirement_date is not None
        ] + [
            model.price_changes[0].effective_at.timestamp()
            for model in self.models
            if model.price_changes
        ]
        self.valid_until = min(moments, default=float("inf"))
        self._by_id = {model.id: model for model in self.models}
        self._retired = _retirements(stored, self.stored_retired, self._by_id, served_on)
        self._headers = {model.id: lifecycle_headers(model) for model in self.models}
        self._owners = frozenset(model.owned_by for model in self.models)
        self._lists: BoundedLru[Representation] = BoundedLru(MAX_MEMOIZED_LISTS)
        self._singles: dict[str, Representation] = {}
        self._lock = threading.Lock()

    def list_representation(self, model_filter: ModelFilter) -> Representation:
        unserved_owner = (
            model_filter.owned_by is not None and model_filter.owned_by not in self._owners
        )
        key = _MATCHES_NOTHING if unserved_owner else model_filter.memo_key
        found = self._lists.get(key)
        if found is None:
            models = [m.public_dict() for m in self.models if model_filter.accepts(m)]
            found = _representation({"models": models})
            self._lists.put(key, found)
        return found

    @property
    def memoized_lists(self) -> int:
        """How many filtered list bodies this snapshot holds (at most MAX_MEMOIZED_LISTS)."""
        return len(self._lists)

    def model_headers(self, model_id: str) -> list[tuple[str, str]]:
        """Lifecycle headers for a response about one model (empty unless deprecated)."""
        return self._headers.get(model_id, [])

    def retirement(self, model_id: str) -> Retirement | None:
        """How a model that is no longer served was retired (None: served, or never was)."""
        return self._retired.get(model_id)

    def model_representation(self, model_id: str) -> Representation | None:
        found = self._singles.get(model_id)
        if found is None:
            model = self._by_id.get(model_id)
            if model is None:
                return None
            found = _representation(model.public_dict())
            with self._lock:
                self._singles[model_id] = found
        return found


def _retirements(
    stored: tuple[Model, ...],
    retired: tuple[Retirement, ...],
    served: dict[str, Model],
    served_on: dt.date,
) -> dict[str, Retirement]:
    """Every id that is retired on `served_on`, each with the served model that succeeds it.

    A retired model is one stored as retired, or one past its retirement date. Its successor
    is its replacement, followed through replacements that are themselves retired until a
    served model is reached (None when the chain ends elsewhere).
    """
    found = {entry.model_id: entry for entry in retired}
    for model in stored:
        if not model.is_served_on(served_on) and model.id not in served:
            found[model.id] = Retirement(model.id, model.replacement, model.retirement_date)
    resolved = {}
    for model_id, entry in found.items():
        successor, seen = entry.replacement, {model_id}
        while successor is not None and successor not in served and successor not in seen:
            seen.add(successor)
            successor = found[successor].replacement if successor in found else None
        if successor is not None and successor not in served:
            successor = None
        resolved[model_id] = Retirement(model_id, successor, entry.retirement_date)
    return resolved


class CatalogCache:
    """Reads the catalog at most once per TTL per instance and survives Firestore outages.

    No request waits on Firestore while there is a catalog to serve: the first request that
    finds the snapshot past its TTL starts one refresh in the background and is answered from
    the snapshot it has, as are the others meanwhile; only an instance with nothing to serve
    yet (or a snapshot past `max_stale_seconds`) waits for the read. If the refresh fails, the
    old snapshot is served for up to `max_stale_seconds` past its TTL, logged as a warning.
    A catalog change therefore reaches a worker one TTL plus one request after the seed.

    A read that is empty or loses more than `max_shrink_fraction` of the served models is
    refused like a failed read, but logged as an ERROR (`catalog refused: ...`), unless it
    matches the count the last seed recorded (catalog_guard).
    """

    def __init__(
        self,
        store: CatalogStore,
        *,
        ttl_seconds: float,
        max_stale_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        run_in_background: Callable[[Callable[[], None]], None] = run_in_background,
        max_shrink_fraction: float = DEFAULT_MAX_SHRINK_FRACTION,
    ):
        self._store = store
        self._max_shrink_fraction = max_shrink_fraction
        self._wall_clock = wall_clock
        self._run_in_background = run_in_background
        self._ttl_seconds = ttl_seconds
        self._max_stale_seconds = max_stale_seconds
        self._clock = clock
        self._snapshot: CatalogSnapshot | None = None
        self._refresh_lock = threading.Lock()
        # After a failed refresh, the next try waits this long (not one try per request).
        self._retry_seconds = max(1.0, min(ttl_seconds, 5.0))
        self._next_attempt = float("-inf")

    def current(self) -> CatalogSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._wall_clock() >= snapshot.valid_until:
            snapshot = self._rebuild_for_now(snapshot)
        if snapshot is not None:
            age = self._clock() - snapshot.fetched_at
            if age < self._ttl_seconds:
                return snapshot
            if age <= self._ttl_seconds + self._max_stale_seconds:
                due = self._clock() >= self._next_attempt
                if due and self._refresh_lock.acquire(blocking=False):
                    self._run_in_background(self._refresh_and_release)
                return self._snapshot or snapshot  # what we have; the refresh replaces it
        with self._refresh_lock:  # nothing we may serve: this request waits for the read
            return self._refresh()

    def _refresh_and_release(self) -> None:
        try:
            self._refresh()
        except BackendUnavailable:
            pass  # already logged by _refresh when a stale snapshot is kept; retried next TTL
        except Exception:  # noqa: BLE001 - a background thread has no caller to raise to
            logger.exception("catalog refresh failed")
        finally:
            self._refresh_lock.release()

    def _refresh(self) -> CatalogSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - snapshot.fetched_at < self._ttl_seconds:
            return snapshot
        try:
            stored = self._store.fetch_catalog()
            self._check_read(len(stored.models), snapshot)
        except BackendUnavailable as error:
            refused = isinstance(error, CatalogRefused)
            if snapshot is None:
                if refused:
                    logger.error("catalog refused: %s; nothing cached: answering 503", error)
                raise
            self._next_attempt = self._clock() + self._retry_seconds
            age = self._clock() - snapshot.fetched_at
            if refused:
                logger.error(
                    "catalog refused: %s; keeping the catalog read %.0f s ago (%d active models)",
                    error,
                    age,
                    len(snapshot.stored_models),
                )
            if age > self._ttl_seconds + self._max_stale_seconds:
                raise
            if not refused:
                logger.warning("serving a stale catalog (%.0f s old): %s", age, error)
            return snapshot
        self._snapshot = CatalogSnapshot(stored.models, self._clock(), self._now(), stored.retired)
        return self._snapshot

    def _check_read(self, read: int, snapshot: CatalogSnapshot | None) -> None:
        """Raise CatalogRefused for a read that must not replace the catalog (catalog_guard).

        The seed's record costs one more read, made only when the read alone is not enough: on
        an instance with nothing cached, or when the read would be refused without it.
        """
        served = None if snapshot is None else len(snapshot.stored_models)
        if served is not None and read >= minimum_kept(served, self._max_shrink_fraction):
            return
        expected = self._store.fetch_expected_count() if read else None
        reason = refusal_reason(read, served, expected, self._max_shrink_fraction)
        if reason is not None:
            raise CatalogRefused(reason)

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self._wall_clock(), dt.timezone.utc)

    def _rebuild_for_now(self, snapshot: CatalogSnapshot) -> CatalogSnapshot:
        """A retirement date or a price change has come: the same documents, served as of now."""
        rebuilt = CatalogSnapshot(
            snapshot.stored_models, snapshot.fetched_at, self._now(), snapshot.stored_retired
        )
        self._snapshot = rebuilt
        return rebuilt
