"""An OpenRouter model's price is, field by field, the highest among the endpoints it may use."""

from __future__ import annotations

from typing import Any

import pytest

from catalog_seed.routing_prices import endpoint_price_problems

CHEAP = {"slug": "deepinfra", "source": "s", "input_per_1m": "0.09", "output_per_1m": "0.55"}
DEAR = {"slug": "fireworks", "source": "s", "input_per_1m": "0.22", "output_per_1m": "0.88"}
ALLOWED = ["deepinfra", "fireworks"]


def problems(endpoints: Any, price: dict[str, str], allowed: list[str] = ALLOWED) -> list[str]:
    return [
        f"{field}: {text}" for field, text in endpoint_price_problems(endpoints, allowed, price)
    ]


def test_the_highest_price_of_each_field_passes() -> None:
    assert problems([CHEAP, DEAR], {"input_per_1m": "0.22", "output_per_1m": "0.88"}) == []


def test_a_price_below_any_allowed_endpoint_is_refused_naming_it() -> None:
    found = problems([CHEAP, DEAR], {"input_per_1m": "0.22", "output_per_1m": "0.55"})

    assert found == [
        "price.output_per_1m: US$0.55 is not the highest among the allowed endpoints: "
        "'fireworks' charges US$0.88"
    ]


def test_a_price_above_the_highest_endpoint_is_refused_too() -> None:
    found = problems([CHEAP, DEAR], {"input_per_1m": "0.30", "output_per_1m": "0.88"})

    assert len(found) == 1 and "price.input_per_1m" in found[0]


@pytest.mark.parametrize(
    ("endpoints", "allowed", "complaint"),
    [
        ([CHEAP], ALLOWED, "no prices for 'fireworks'"),
        ([CHEAP, DEAR], ["deepinfra"], "'fireworks' is not an endpoint routing allows"),
        ([], ALLOWED, "routing.endpoints: missing"),
        (None, ALLOWED, "routing.endpoints: missing"),
        ([CHEAP, CHEAP], ["deepinfra"], "listed twice"),
        ([{**DEAR, "input_per_1m": 0.22}, CHEAP], ALLOWED, "quoted string"),
        ([{**DEAR, "input_per_1m": "-1"}, CHEAP], ALLOWED, "non-negative"),
        ([{**DEAR, "sort": "price"}, CHEAP], ALLOWED, "unknown field"),
        ([{k: v for k, v in DEAR.items() if k != "source"}, CHEAP], ALLOWED, "source: missing"),
    ],
)
def test_endpoint_records_must_match_the_routing_exactly(
    endpoints: Any, allowed: list[str], complaint: str
) -> None:
    found = problems(endpoints, {"input_per_1m": "0.22", "output_per_1m": "0.88"}, allowed)

    assert any(complaint in line for line in found), found


def test_a_cached_price_holds_only_if_every_endpoint_discounts_cached_input() -> None:
    """An endpoint without prompt caching bills a cached token as full input."""
    cached = {"input_per_1m": "0.22", "output_per_1m": "0.88", "cached_input_per_1m": "0.05"}

    found = problems([{**CHEAP, "cached_input_per_1m": "0.01"}, DEAR], cached)

    assert found == [
        "price.cached_input_per_1m: US$0.05 is not the highest among the allowed endpoints: "
        "'fireworks' charges US$0.22"
    ]


def test_a_cache_write_an_endpoint_charges_above_our_input_price_must_be_priced() -> None:
    writes = {**DEAR, "cache_write_per_1m": "0.275"}

    found = problems([CHEAP, writes], {"input_per_1m": "0.22", "output_per_1m": "0.88"})

    assert len(found) == 1 and found[0].startswith("price.cache_write_per_1m: missing")


def test_an_image_model_compares_its_per_image_price() -> None:
    fal = {"slug": "fal", "source": "s", "input_per_1m": "0", "per_image_output": "0.04"}
    byteplus = {**fal, "slug": "byteplus", "per_image_output": "0.045"}

    ok = problems(
        [fal, byteplus], {"input_per_1m": "0", "per_image_output": "0.045"}, ["fal", "byteplus"]
    )
    low = problems(
        [fal, byteplus], {"input_per_1m": "0", "per_image_output": "0.04"}, ["fal", "byteplus"]
    )

    assert ok == [] and "per_image_output" in low[0]
