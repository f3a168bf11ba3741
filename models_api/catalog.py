"""The model catalog: the contract's Model type, the Firestore store and the in-instance cache.

The cache keeps the active models already serialized, so a warm request costs a dict lookup.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from models_api.content_coding import IDENTITY, compressed_variants
from models_api.errors import BackendUnavailable
from models_api.firestore_backend import FirestoreBackend

PROVIDERS = ("openai", "anthropic", "vertex", "openrouter")
CATALOG_STATUSES = ("active", "disabled", "retired")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Model:
    """One entry of `GET /models`: exactly the contract's fields, with the contract's types."""

    id: str
    name: str
    provider: str
    context_window: int
    max_output_tokens: int
    cost_per_1k_input: float
    cost_per_1k_output: float
    supports_tools: bool
    supports_vision: bool


class InvalidCatalogDocument(ValueError):
    """A catalog document that cannot be served as a Model."""


def model_from_document(doc_id: str, data: dict[str, Any]) -> Model:
    """Validate a stored catalog document against the contract."""

    def integer(field: str) -> int:
        value = data.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidCatalogDocument(f"{doc_id}: {field} must be a positive integer")
        return value

    def price(field: str) -> float:
        value = data.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise InvalidCatalogDocument(f"{doc_id}: {field} must be a non-negative number")
        return float(value)

    def flag(field: str) -> bool:
        value = data.get(field)
        if not isinstance(value, bool):
            raise InvalidCatalogDocument(f"{doc_id}: {field} must be a boolean")
        return value

    model_id, name, provider = data.get("id", doc_id), data.get("name"), data.get("provider")
    if not isinstance(model_id, str) or not model_id:
        raise InvalidCatalogDocument(f"{doc_id}: id must be a non-empty string")
    if not isinstance(name, str) or not name:
        raise InvalidCatalogDocument(f"{doc_id}: name must be a non-empty string")
    if provider not in PROVIDERS:
        raise InvalidCatalogDocument(f"{doc_id}: provider must be one of {', '.join(PROVIDERS)}")
    model = Model(
        id=model_id,
        name=name,
        provider=provider,
        context_window=integer("context_window"),
        max_output_tokens=integer("max_output_tokens"),
        cost_per_1k_input=price("cost_per_1k_input"),
        cost_per_1k_output=price("cost_per_1k_output"),
        supports_tools=flag("supports_tools"),
        supports_vision=flag("supports_vision"),
    )
    if model.max_output_tokens > model.context_window:
        raise InvalidCatalogDocument(f"{doc_id}: max_output_tokens exceeds context_window")
    return model


class CatalogStore(Protocol):
    def fetch_active_models(self) -> list[Model]:
        """All active models; BackendUnavailable when the store cannot answer."""
        ...


class FirestoreCatalogStore:
    """Reads `status == "active"` documents of the catalog collection (one simple query)."""

    def __init__(self, backend: FirestoreBackend, collection: str):
        self._backend = backend
        self._collection = collection

    def fetch_active_models(self) -> list[Model]:
        def query(client: Any, timeout: float) -> list[Any]:
            from google.cloud.firestore import FieldFilter

            return list(
                client.collection(self._collection)
                .where(filter=FieldFilter("status", "==", "active"))
                .stream(retry=None, timeout=timeout)
            )

        documents = self._backend.call(query, "catalog query")
        self._backend.reads.add(max(1, len(documents)))  # an empty result still bills one read
        models = []
        for document in documents:
            try:
                models.append(model_from_document(document.id, document.to_dict() or {}))
            except InvalidCatalogDocument as error:
                # One bad document must not take the whole catalog down; it is left out, loudly.
                logger.error("catalog document skipped: %s", error)
        return models


@dataclass(frozen=True)
class ModelFilter:
    provider: str | None = None
    supports_tools: bool | None = None
    supports_vision: bool | None = None

    def accepts(self, model: Model) -> bool:
        return (
            (self.provider is None or model.provider == self.provider)
            and (self.supports_tools is None or model.supports_tools == self.supports_tools)
            and (self.supports_vision is None or model.supports_vision == self.supports_vision)
        )


@dataclass(frozen=True)
class Variant:
    """The body in one content coding, with its own strong ETag."""

    body: bytes
    etag: str


@dataclass(frozen=True)
class Representation:
    """A serialized response body, its strong ETag, and the same body precompressed.

    `variants` maps each content coding worth sending (smaller than the plain body) and
    "identity" to its bytes, in the server's order of preference. Each coding has its own ETag
    (`"<hash>-br"`): the bytes differ, so a cache must not take one for the other.
    """

    body: bytes
    etag: str
    variants: dict[str, Variant]
    codings: tuple[str, ...]  # the keys of `variants`, for negotiation


def _representation(payload: Any) -> Representation:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()[:32]
    variants = {
        coding: Variant(data, f'"{digest}"' if coding == IDENTITY else f'"{digest}-{coding}"')
        for coding, data in compressed_variants(body).items()
    }
    return Representation(body, f'"{digest}"', variants, tuple(variants))


class CatalogSnapshot:
    """An immutable set of active models, ordered by (provider, id), with memoized bodies."""

    def __init__(self, models: Iterable[Model], fetched_at: float):
        self.models = tuple(sorted(models, key=lambda model: (model.provider, model.id)))
        self.fetched_at = fetched_at
        self._by_id = {model.id: model for model in self.models}
        self._lists: dict[ModelFilter, Representation] = {}
        self._singles: dict[str, Representation] = {}
        self._lock = threading.Lock()

    def list_representation(self, model_filter: ModelFilter) -> Representation:
        found = self._lists.get(model_filter)
        if found is None:
            models = [asdict(m) for m in self.models if model_filter.accepts(m)]
            found = _representation({"models": models})
            with self._lock:  # at most 5 x 3 x 3 filter combinations
                self._lists[model_filter] = found
        return found

    def model_representation(self, model_id: str) -> Representation | None:
        found = self._singles.get(model_id)
        if found is None:
            model = self._by_id.get(model_id)
            if model is None:
                return None
            found = _representation(asdict(model))
            with self._lock:
                self._singles[model_id] = found
        return found


class CatalogCache:
    """Reads the catalog at most once per TTL per instance and survives Firestore outages.

    One request refreshes an expired snapshot; the others keep serving the old one meanwhile
    (they only wait when there is nothing to serve yet). If the refresh fails, the old
    snapshot is served for up to `max_stale_seconds` past its TTL, logged as a warning.
    """

    def __init__(
        self,
        store: CatalogStore,
        *,
        ttl_seconds: float,
        max_stale_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._store = store
        self._ttl_seconds = ttl_seconds
        self._max_stale_seconds = max_stale_seconds
        self._clock = clock
        self._snapshot: CatalogSnapshot | None = None
        self._refresh_lock = threading.Lock()

    def current(self) -> CatalogSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - snapshot.fetched_at < self._ttl_seconds:
            return snapshot
        if snapshot is not None:
            if not self._refresh_lock.acquire(blocking=False):
                return snapshot  # another thread is refreshing: serve what we have
        else:
            self._refresh_lock.acquire()
        try:
            return self._refresh()
        finally:
            self._refresh_lock.release()

    def _refresh(self) -> CatalogSnapshot:
        snapshot = self._snapshot
        if snapshot is not None and self._clock() - snapshot.fetched_at < self._ttl_seconds:
            return snapshot
        try:
            models = self._store.fetch_active_models()
        except BackendUnavailable as error:
            if snapshot is None:
                raise
            age = self._clock() - snapshot.fetched_at
            if age > self._ttl_seconds + self._max_stale_seconds:
                raise
            logger.warning("serving a stale catalog (%.0f s old): %s", age, error)
            return snapshot
        self._snapshot = CatalogSnapshot(models, self._clock())
        return self._snapshot
