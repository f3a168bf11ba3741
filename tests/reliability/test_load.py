"""Bounded load on a real server: no errors, memory flat after warm-up, bounded under a flood
of unknown keys, and 429 for the unknown keys of an address that keeps failing (its valid keys
still work)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from local_harness.load import rss_mib, run_load, worker_pids
from local_harness.processes import FunctionServer
from models_api.keys.key_format import generate_api_key
from tests.conftest import Project, mint_key

pytestmark = pytest.mark.slow


@pytest.fixture
def server(seeded: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(
        seeded.service_env(
            TRUSTED_PROXY_HOPS="1",
            AUTH_FAILURE_LIMIT="20",
            API_KEY_CACHE_MAX_ENTRIES="200",
            # Every unknown key is read here: the memory of remembered reads is what is measured,
            # and the throttle (not the budget) is what stops an address.
            API_KEY_LOOKUPS_PER_SECOND="100000",
            API_KEY_LOOKUP_BURST="100000",
        ),
        workers=1,
        threads=8,
    ).start()
    yield running
    running.stop()


def test_steady_load_has_no_errors_and_flat_memory(seeded: Project, server: FunctionServer) -> None:
    key = mint_key(seeded)
    headers = {"X-Api-Key": key}
    (worker,) = worker_pids(server.pid)

    warm = run_load(server.url, lambda n: headers, seconds=3)
    after_warm_up = rss_mib(worker)
    load = run_load(server.url, lambda n: headers, seconds=20, connections=32)
    after_load = rss_mib(worker)

    assert set(warm.statuses) == {200}
    assert load.total > 2000
    assert set(load.statuses) == {200} and not load.errors, (load.statuses, load.errors)
    assert after_load <= after_warm_up * 1.10, (after_warm_up, after_load)


def test_a_flood_of_unknown_keys_keeps_memory_bounded(
    seeded: Project, server: FunctionServer
) -> None:
    addresses = (f"198.51.{n // 250}.{n % 250}" for n in itertools.count())

    def unknown_key_from_a_new_address(_: int) -> dict[str, str]:
        return {"X-Api-Key": generate_api_key(), "X-Forwarded-For": next(addresses)}

    (worker,) = worker_pids(server.pid)
    first = run_load(server.url, unknown_key_from_a_new_address, seconds=3, connections=16)
    after_cache_full = rss_mib(worker)
    flood = run_load(server.url, unknown_key_from_a_new_address, seconds=10, connections=16)
    after_flood = rss_mib(worker)

    assert first.total > 400, "the first flood must fill the 200-entry cache"
    assert flood.total > 1000  # five times what the cache holds
    assert set(first.statuses) | set(flood.statuses) == {401}
    assert after_flood <= after_cache_full * 1.10, (after_cache_full, after_flood)


def test_repeated_failures_from_one_address_get_429_with_retry_after(
    seeded: Project, server: FunctionServer
) -> None:
    import urllib.error
    import urllib.request

    def unknown_key_from(address: str) -> dict[str, str]:
        return {"X-Api-Key": generate_api_key(), "X-Forwarded-For": address}

    known = mint_key(seeded)
    result = run_load(
        server.url, lambda n: unknown_key_from("203.0.113.7"), seconds=1, connections=2,
        max_requests=60,
    )  # fmt: skip
    request = urllib.request.Request(  # noqa: S310
        server.url + "/models", headers=unknown_key_from("203.0.113.7")
    )
    with pytest.raises(urllib.error.HTTPError) as blocked:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    other = run_load(
        server.url, lambda n: unknown_key_from("203.0.113.8"), seconds=1, connections=1,
        max_requests=1,
    )  # fmt: skip
    valid = run_load(
        server.url, lambda n: {"X-Api-Key": known, "X-Forwarded-For": "203.0.113.7"},
        seconds=1, connections=1, max_requests=5,
    )  # fmt: skip

    # Each of the 2 connections may have a read in flight when the 20th failure lands.
    assert 20 <= result.statuses[401] <= 21 and result.statuses[401] + result.statuses[429] == 60
    blocked.value.close()
    assert blocked.value.code == 429
    assert int(blocked.value.headers["Retry-After"]) >= 1
    assert set(other.statuses) == {401}
    assert set(valid.statuses) == {200}  # a known key from the throttled address
