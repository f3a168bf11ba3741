"""System tier: a valid key's latency while slow heads and slow bodies are held open against
the deployed URL. Runs only with BASE_URL and API_KEY set (see test_deployed.py).

What it checks is the platform's part (docs/reliability.md#slow-clients-and-request-bodies):
Cloud Run's front end, not the instance, holds a client that sends slowly.
"""

from __future__ import annotations

import os
import statistics

import pytest

from local_harness.slow_bodies import BODY_CASES, SLOW_HEAD, HeldBodies, p99, valid_key_latencies

BASE_URL = os.environ.get("BASE_URL", "").rstrip("/")
API_KEY = os.environ.get("API_KEY", "")
HELD_PER_CASE = 20
PROBES = 100

pytestmark = [
    pytest.mark.deployed,
    pytest.mark.skipif(not (BASE_URL and API_KEY), reason="needs BASE_URL and API_KEY"),
]


def test_held_slow_heads_and_bodies_keep_a_valid_keys_p99_within_twice_idle() -> None:
    valid_key_latencies(BASE_URL, API_KEY, 10)  # warm: an instance is up
    idle = valid_key_latencies(BASE_URL, API_KEY, PROBES)
    with HeldBodies(BASE_URL, HELD_PER_CASE, [SLOW_HEAD, *BODY_CASES]):
        held = valid_key_latencies(BASE_URL, API_KEY, PROBES)
    idle += valid_key_latencies(BASE_URL, API_KEY, PROBES)

    ratio = p99(held) / p99(idle)
    print(
        f"\n{BASE_URL}: valid key p50 {statistics.median(idle):.1f} -> "
        f"{statistics.median(held):.1f} ms, p99 {p99(idle):.1f} -> {p99(held):.1f} ms "
        f"({ratio:.2f}x) with {HELD_PER_CASE} x {1 + len(BODY_CASES)} slow clients held"
    )
    assert ratio <= 2.0
