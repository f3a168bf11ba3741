from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from catalog_seed.pricing import PricingError, PricingPolicy
from models_api.auth.throttle import AuthFailureThrottle
from models_api.errors import TooManyRequests
from models_api.http.semantics import etag_matches

POLICY = PricingPolicy(Decimal("1.4"), Decimal("0.01"), 6)


@pytest.mark.parametrize(
    ("usd_per_1m", "credits_per_1k"),
    [("1.75", 0.245), ("14.00", 1.96), ("0.2288", 0.032032), ("0", 0.0), ("0.0000001", 0.000001)],
)
def test_prices_are_upstream_times_margin_in_credits_rounded_up(
    usd_per_1m: str, credits_per_1k: float
) -> None:
    assert POLICY.credits_per_1k_tokens(Decimal(usd_per_1m)) == credits_per_1k


def test_the_shipped_pricing_policy_loads() -> None:
    policy = PricingPolicy.load(Path(__file__).resolve().parents[2] / "catalog_seed/pricing.toml")

    assert policy == POLICY


def test_a_margin_below_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pricing.toml"
    path.write_text('margin = "0.9"\nusd_per_credit = "0.01"\ndecimal_places = 6\n')

    with pytest.raises(PricingError):
        PricingPolicy.load(path)


def test_throttle_blocks_after_the_limit_and_forgets_after_the_window() -> None:
    now = [0.0]
    throttle = AuthFailureThrottle(limit=3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("1.2.3.4")
        throttle.record_failure("1.2.3.4")

    with pytest.raises(TooManyRequests) as blocked:
        throttle.check("1.2.3.4")
    throttle.check("5.6.7.8")
    assert blocked.value.headers["Retry-After"] == "60"
    now[0] = 61
    throttle.check("1.2.3.4")


def test_throttle_memory_is_bounded() -> None:
    throttle = AuthFailureThrottle(limit=3, window_seconds=60, max_addresses=100)

    for number in range(10_000):
        throttle.record_failure(f"10.0.{number // 256}.{number % 256}")

    assert len(throttle) == 100


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"x"', False),
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_comparison(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches
