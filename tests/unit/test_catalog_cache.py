from __future__ import annotations

import threading
import time

import pytest

from models_api.catalog import (
    CatalogCache,
    CatalogSnapshot,
    InvalidCatalogDocument,
    Model,
    ModelFilter,
    model_from_document,
)
from models_api.errors import BackendUnavailable

MODEL = Model("m1", "M1", "openai", 1000, 100, 0.1, 0.2, True, False)


class FakeStore:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.down = False
        self.models = [MODEL]

    def fetch_active_models(self) -> list[Model]:
        self.calls += 1
        time.sleep(self.delay)
        if self.down:
            raise BackendUnavailable("down")
        return list(self.models)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_store_is_read_once_per_ttl() -> None:
    store, clock = FakeStore(), FakeClock()
    cache = CatalogCache(store, ttl_seconds=60, max_stale_seconds=600, clock=clock)

    for _ in range(100):
        cache.current()
    clock.now = 61
    cache.current()

    assert store.calls == 2


def test_concurrent_requests_share_one_refresh() -> None:
    store = FakeStore(delay=0.2)
    cache = CatalogCache(store, ttl_seconds=60, max_stale_seconds=600)
    results: list[CatalogSnapshot] = []

    threads = [threading.Thread(target=lambda: results.append(cache.current())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert store.calls == 1
    assert len({id(snapshot) for snapshot in results}) == 1


def test_a_failed_refresh_serves_the_last_good_catalog_until_max_stale() -> None:
    store, clock = FakeStore(), FakeClock()
    cache = CatalogCache(store, ttl_seconds=60, max_stale_seconds=100, clock=clock)
    first = cache.current()
    store.down = True

    clock.now = 150
    assert cache.current() is first
    clock.now = 161
    with pytest.raises(BackendUnavailable):
        cache.current()


def test_nothing_cached_and_store_down_raises() -> None:
    store = FakeStore()
    store.down = True

    with pytest.raises(BackendUnavailable):
        CatalogCache(store, ttl_seconds=60, max_stale_seconds=600).current()


def test_snapshot_orders_by_provider_then_id_and_filters() -> None:
    models = [
        Model("z", "Z", "anthropic", 10, 1, 0, 0, True, True),
        Model("b", "B", "openai", 10, 1, 0, 0, False, False),
        Model("a", "A", "openai", 10, 1, 0, 0, True, False),
    ]
    snapshot = CatalogSnapshot(models, 0)

    assert [m.id for m in snapshot.models] == ["z", "a", "b"]
    body = snapshot.list_representation(ModelFilter(supports_tools=False)).body
    assert b'"id":"b"' in body and b'"id":"a"' not in body
    assert snapshot.list_representation(ModelFilter()) is snapshot.list_representation(
        ModelFilter()
    )


@pytest.mark.parametrize(
    "change",
    [
        {"provider": "azure"},
        {"context_window": 0},
        {"context_window": True},
        {"max_output_tokens": 5000},
        {"cost_per_1k_input": -1},
        {"supports_tools": "yes"},
        {"name": ""},
    ],
)
def test_invalid_documents_are_rejected(change: dict[str, object]) -> None:
    document = {
        "id": "m",
        "name": "M",
        "provider": "openai",
        "context_window": 1000,
        "max_output_tokens": 100,
        "cost_per_1k_input": 0.1,
        "cost_per_1k_output": 0.2,
        "supports_tools": True,
        "supports_vision": False,
    }
    model_from_document("m", document)

    with pytest.raises(InvalidCatalogDocument):
        model_from_document("m", {**document, **change})
