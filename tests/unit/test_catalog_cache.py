from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest

from models_api.catalog.cache import (
    MAX_MEMOIZED_LISTS,
    CatalogCache,
    CatalogSnapshot,
    ModelFilter,
    StoredCatalog,
)
from models_api.errors import BackendUnavailable, CatalogRefused
from tests.support.catalog_documents import model

TODAY = dt.date(2026, 11, 26)


MODEL = model()
RETIRING = model(
    "old",
    lifecycle="deprecated",
    deprecation_date="2026-06-11",
    retirement_date="2026-12-11",
    replacement="m1",
)


class FakeStore:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay
        self.down = False
        self.models = [MODEL]
        self.expected: int | None = None  # what the seed recorded
        self.state_reads = 0

    def fetch_catalog(self) -> StoredCatalog:
        self.calls += 1
        time.sleep(self.delay)
        if self.down:
            raise BackendUnavailable("down")
        return StoredCatalog(list(self.models))

    def fetch_expected_count(self) -> int | None:
        self.state_reads += 1
        return self.expected


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def at_once(job: Callable[[], None]) -> None:
    """Runs a background refresh in the caller, so a test sees its effect deterministically."""
    job()


def test_the_store_is_read_once_per_ttl() -> None:
    store, clock = FakeStore(), FakeClock()
    cache = CatalogCache(
        store, ttl_seconds=60, max_stale_seconds=600, clock=clock, run_in_background=at_once
    )

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
    cache = CatalogCache(
        store, ttl_seconds=60, max_stale_seconds=100, clock=clock, run_in_background=at_once
    )
    first = cache.current()
    store.down = True

    clock.now = 150
    assert cache.current() is first
    assert store.calls == 2
    clock.now = 152  # a failed refresh is retried after a pause, not on every request
    assert cache.current() is first
    assert store.calls == 2
    clock.now = 161
    with pytest.raises(BackendUnavailable):
        cache.current()


def test_an_expired_catalog_is_served_at_once_while_the_store_is_slow() -> None:
    store, clock = FakeStore(), FakeClock()
    cache = CatalogCache(store, ttl_seconds=60, max_stale_seconds=600, clock=clock)
    first = cache.current()
    release = threading.Event()
    store.models = [MODEL]
    slow_fetch = store.fetch_catalog

    def hanging_fetch() -> StoredCatalog:
        release.wait(5)
        return slow_fetch()

    store.fetch_catalog = hanging_fetch  # type: ignore[method-assign]
    clock.now = 61

    answers = [cache.current() for _ in range(50)]  # none of them waits for the read

    assert all(answer is first for answer in answers)
    release.set()
    deadline = time.monotonic() + 5
    while cache.current() is first and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.current() is not first  # the background read replaced it
    assert store.calls == 2


def test_nothing_cached_and_store_down_raises() -> None:
    store = FakeStore()
    store.down = True

    with pytest.raises(BackendUnavailable):
        CatalogCache(store, ttl_seconds=60, max_stale_seconds=600).current()


def test_snapshot_orders_by_provider_then_id_and_filters() -> None:
    models = [
        model("z", provider="anthropic", supports_vision=True),
        model("b", supports_tools=False),
        model("a"),
    ]
    snapshot = CatalogSnapshot(models, 0, TODAY)

    assert [m.id for m in snapshot.models] == ["z", "a", "b"]
    body = snapshot.list_representation(ModelFilter(supports_tools=False)).variants["identity"].body
    assert b'"id":"b"' in body and b'"id":"a"' not in body
    assert snapshot.list_representation(ModelFilter()) is snapshot.list_representation(
        ModelFilter()
    )


def test_filtered_lists_are_memoized_within_a_bound_and_unserved_makers_share_one() -> None:
    snapshot = CatalogSnapshot(
        [model("g", owned_by="google", supports_vision=True), model("o")], 0, TODAY
    )

    by_google = snapshot.list_representation(ModelFilter(owned_by="google"))
    nobody = snapshot.list_representation(ModelFilter(owned_by="maker-0"))

    assert b'"id":"g"' in by_google.variants["identity"].body
    assert b'"id":"o"' not in by_google.variants["identity"].body
    assert nobody.variants["identity"].body == b'{"models":[]}'
    for number in range(1, 2 * MAX_MEMOIZED_LISTS):  # unknown makers: one shared entry
        assert snapshot.list_representation(ModelFilter(owned_by=f"maker-{number}")) is nobody
    assert snapshot.list_representation(ModelFilter(owned_by="google")) is by_google
    image_input = snapshot.list_representation(ModelFilter(input_modality="image"))
    assert b'"id":"g"' in image_input.variants["identity"].body
    assert b'"id":"o"' not in image_input.variants["identity"].body
    for provider in ("openai", "anthropic", None):  # distinct filters: evicted past the bound
        for tools in (True, False, None):
            for modality in ("text", "image", "audio", "video", "file", None):
                for output in ("text", "image", "audio", "video", "file", None):
                    snapshot.list_representation(
                        ModelFilter(provider, tools, None, "google", modality, output)
                    )
    assert 0 < snapshot.memoized_lists <= MAX_MEMOIZED_LISTS


def _midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()


def test_a_model_stops_being_served_on_its_retirement_date_without_a_read() -> None:
    store, clock = FakeStore(), FakeClock()
    store.models = [MODEL, RETIRING]
    wall = FakeClock()
    wall.now = _midnight(dt.date(2026, 12, 10)) + 86399  # the last second it is served
    cache = CatalogCache(store, ttl_seconds=60, max_stale_seconds=600, clock=clock, wall_clock=wall)

    assert [m.id for m in cache.current().models] == ["m1", "old"]
    wall.now += 1  # midnight UTC of the retirement date
    assert [m.id for m in cache.current().models] == ["m1"]
    assert cache.current().model_representation("old") is None
    assert store.calls == 1


def test_a_model_already_retired_is_not_served_even_while_firestore_is_down() -> None:
    gone = model(
        "gone", lifecycle="deprecated", deprecation_date="2026-04-22", retirement_date="2026-07-23"
    )
    snapshot = CatalogSnapshot([MODEL, gone], 0, TODAY)

    assert [m.id for m in snapshot.models] == ["m1"]
    assert snapshot.valid_until == float("inf")


def test_deprecated_models_carry_deprecation_sunset_and_link_headers() -> None:
    snapshot = CatalogSnapshot([MODEL, RETIRING], 0, TODAY)

    assert snapshot.model_headers("old") == [
        ("Deprecation", f"@{_midnight(dt.date(2026, 6, 11)):.0f}"),
        ("Sunset", "Fri, 11 Dec 2026 00:00:00 GMT"),
        ("Link", '</models/m1>; rel="successor-version"'),
    ]
    assert snapshot.model_headers("m1") == []


FOURTEEN = [model(f"m{number}") for number in range(14)]


def _warm_cache(store: FakeStore, clock: FakeClock, max_stale: float = 600) -> CatalogCache:
    store.models = list(FOURTEEN)
    cache = CatalogCache(
        store, ttl_seconds=60, max_stale_seconds=max_stale, clock=clock, run_in_background=at_once
    )
    assert len(cache.current().models) == 14
    return cache


def test_an_empty_read_never_replaces_the_served_catalog_and_is_logged_as_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = FakeStore(), FakeClock()
    cache = _warm_cache(store, clock, max_stale=100)
    store.models = []

    clock.now = 61
    served = cache.current()
    clock.now = 161  # past the stale limit: 503 rather than an empty list
    with pytest.raises(CatalogRefused):
        cache.current()

    assert len(served.models) == 14
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors[0].startswith("catalog refused: the read returned no models; keeping the catalog")


def test_a_loss_beyond_the_fraction_is_refused_and_a_smaller_one_is_taken() -> None:
    store, clock = FakeStore(), FakeClock()
    cache = _warm_cache(store, clock)  # default fraction 0.25: 14 -> at least 11

    store.models = FOURTEEN[:10]
    clock.now = 61
    assert len(cache.current().models) == 14
    store.models = FOURTEEN[:11]
    clock.now = 130  # the retry after the refusal
    assert len(cache.current().models) == 11


def test_a_removal_the_seed_recorded_is_taken_however_large() -> None:
    store, clock = FakeStore(), FakeClock()
    cache = _warm_cache(store, clock)  # a new instance reads the record once
    clock.now = 61
    cache.current()
    assert store.state_reads == 1  # an unremarkable read needs no record

    store.models, store.expected = FOURTEEN[:3], 3
    clock.now = 122

    assert [m.id for m in cache.current().models] == sorted(m.id for m in FOURTEEN[:3])


def test_a_new_instance_with_an_empty_read_answers_503_not_an_empty_list(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = FakeStore()
    store.models = []

    with pytest.raises(CatalogRefused):
        CatalogCache(store, ttl_seconds=60, max_stale_seconds=600).current()
    assert "nothing cached: answering 503" in caplog.text


def test_a_new_instance_compares_its_first_read_with_the_seeds_record() -> None:
    store = FakeStore()
    store.models, store.expected = FOURTEEN[:5], 14  # half a migration

    with pytest.raises(CatalogRefused, match="14 are recorded by the last seed"):
        CatalogCache(store, ttl_seconds=60, max_stale_seconds=600).current()
    store.models = FOURTEEN[:12]
    assert len(CatalogCache(store, ttl_seconds=60, max_stale_seconds=600).current().models) == 12


def test_the_fraction_is_configurable() -> None:
    store, clock = FakeStore(), FakeClock()
    store.models = list(FOURTEEN)
    cache = CatalogCache(
        store,
        ttl_seconds=60,
        max_stale_seconds=600,
        clock=clock,
        run_in_background=at_once,
        max_shrink_fraction=0.5,
    )
    cache.current()

    store.models = FOURTEEN[:7]
    clock.now = 61
    assert len(cache.current().models) == 7


def test_retirement_dates_passing_never_trip_the_shrink_guard() -> None:
    """The guard counts the documents stored as active, as the seed records them: ten of
    fourteen models reaching their retirement date on one day is not a lost catalog."""
    retiring = [
        model(
            f"r{number}",
            lifecycle="deprecated",
            deprecation_date="2026-06-11",
            retirement_date="2026-12-11",
            replacement="m0",
        )
        for number in range(10)
    ]
    stored = FOURTEEN[:4] + retiring
    store, clock, wall = FakeStore(), FakeClock(), FakeClock()
    store.models, store.expected = list(stored), len(stored)
    wall.now = _midnight(dt.date(2026, 12, 10))
    warm = CatalogCache(
        store,
        ttl_seconds=60,
        max_stale_seconds=600,
        clock=clock,
        wall_clock=wall,
        run_in_background=at_once,
    )
    assert len(warm.current().models) == 14

    wall.now = _midnight(dt.date(2026, 12, 11))  # the retirement date has come
    clock.now = 61  # and the cache refreshes
    after_refresh = warm.current()
    clock.now = 122
    cold = CatalogCache(store, ttl_seconds=60, max_stale_seconds=600, wall_clock=wall).current()

    assert [m.id for m in after_refresh.models] == sorted(m.id for m in FOURTEEN[:4])
    assert [m.id for m in warm.current().models] == sorted(m.id for m in FOURTEEN[:4])
    assert [m.id for m in cold.models] == sorted(m.id for m in FOURTEEN[:4])
    assert store.calls >= 3  # the warm instance read again after the date: nothing refused
