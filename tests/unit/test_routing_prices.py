"""An OpenRouter model's price is, field by field, the highest among the endpoints it may use,
and its `max_price` cap lies between those prices and our price / margin."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from catalog_audit.datasets import endpoint_facts
from catalog_seed.dataset import load_catalog
from catalog_seed.pricing import PricingPolicy
from catalog_seed.routing_prices import allowed_by, endpoint_price_problems, max_price_problems

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


# --- variants, the shared highest-price rule, max_price ----------------------------------------

ROOT = Path(__file__).resolve().parents[2]
POLICY = PricingPolicy.load(ROOT / "catalog_seed" / "pricing.toml")


def test_a_slug_allows_its_variants_unless_ignored() -> None:
    assert allowed_by("deepinfra/fp8", ["deepinfra"])
    assert not allowed_by("deepinfra/turbo", ["deepinfra"], ["deepinfra/turbo"])
    assert not allowed_by("deepinfrax", ["deepinfra"])


def test_a_recorded_variant_counts_for_its_slug_and_an_ignored_one_is_refused() -> None:
    fp8 = {"slug": "deepinfra/fp8", "input_per_1m": "0.20", "output_per_1m": "0.60", "source": "s"}
    turbo = {**fp8, "slug": "deepinfra/turbo"}

    assert endpoint_price_problems([fp8], ["deepinfra"], {"input_per_1m": "0.20",
                                   "output_per_1m": "0.60"}) == []  # fmt: skip
    (problem,) = endpoint_price_problems([fp8, turbo], ["deepinfra"], {"input_per_1m": "0.20",
                                         "output_per_1m": "0.60"}, ["deepinfra/turbo"])  # fmt: skip
    assert "'deepinfra/turbo' is not an endpoint routing allows" in problem[1]


def test_the_audit_and_the_seed_bill_a_missing_cached_price_as_input_alike() -> None:
    """One rule: an endpoint without a cached price bills cached tokens as its input price."""
    answer = [
        {"tag": "a", "pricing": {"prompt": "0.0000002", "completion": "0.0000006",
                                 "input_cache_read": "0.00000005"}},
        {"tag": "b", "pricing": {"prompt": "0.0000003", "completion": "0.0000006"}},
    ]  # fmt: skip
    facts = endpoint_facts(answer, ("a", "b"), None)
    recorded = [
        {"slug": "a", "input_per_1m": "0.2", "output_per_1m": "0.6",
         "cached_input_per_1m": "0.05", "source": "s"},
        {"slug": "b", "input_per_1m": "0.3", "output_per_1m": "0.6", "source": "s"},
    ]  # fmt: skip

    assert facts.prices["cached_input_per_1m"] == Decimal("0.3")  # b's input, not skipped
    ours = {"input_per_1m": "0.3", "output_per_1m": "0.6", "cached_input_per_1m": "0.05"}
    (problem,) = endpoint_price_problems(recorded, ["a", "b"], ours)
    assert "'b' charges US$0.3" in problem[1]


ENDPOINTS = [{"slug": "a", "input_per_1m": "0.20", "output_per_1m": "0.80", "source": "s"}]
CREDITS = {"input_per_1m": POLICY.credits_per_1k_tokens(Decimal("0.20")),
           "output_per_1m": POLICY.credits_per_1k_tokens(Decimal("0.80"))}  # fmt: skip


@pytest.mark.parametrize(
    ("cap", "problem"),
    [
        ({"prompt": "0.20", "completion": "0.80"}, None),
        ({"prompt": "0.19", "completion": "0.80"}, "refuses endpoint 'a'"),
        ({"prompt": "0.20", "completion": "0.81"}, "above our price / 1.4"),
        ({"prompt": "0.20"}, "routing.max_price.completion"),
        ({"prompt": "abc", "completion": "0.80"}, "quoted non-negative decimal"),
        ({}, "routing.max_price"),
    ],
)
def test_max_price_must_serve_every_endpoint_and_never_exceed_our_price(
    cap: dict[str, str], problem: str | None
) -> None:
    found = max_price_problems(cap, ENDPOINTS, CREDITS, POLICY)

    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in " ".join(found[0]), found


def test_every_shipped_openrouter_model_has_a_cap_between_its_endpoints_and_our_price() -> None:
    documents, errors = load_catalog(ROOT / "catalog_seed" / "models", POLICY, dt.date(2026, 12, 7))
    routed = {k: d for k, d in documents.items() if d["provider"] == "openrouter"}

    assert errors == [] and len(routed) >= 9
    for model_id, document in routed.items():
        cap = document["routing"]["provider"]["max_price"]
        for cap_name, field in (("prompt", "input_per_1m"), ("completion", "output_per_1m")):
            highest = max(Decimal(e[field]) for e in document["routing_endpoints"])
            ours = document["cost_per_1k_input" if cap_name == "prompt" else "cost_per_1k_output"]
            ceiling = Decimal(str(ours)) * POLICY.usd_per_credit * 1000 / POLICY.margin
            assert highest <= Decimal(str(cap[cap_name])) <= ceiling, (model_id, cap_name)


def test_the_seed_refuses_routing_without_a_cap(tmp_path: Path) -> None:
    source = (ROOT / "catalog_seed" / "models" / "openrouter.toml").read_text(encoding="utf-8")
    start = source.index("\n[models.routing.max_price]") + 1
    (tmp_path / "openrouter.toml").write_text(
        source[:start] + source[source.index("[[models.routing.endpoints]]", start) :]
    )

    _, errors = load_catalog(tmp_path, POLICY, dt.date(2026, 12, 7))

    assert errors == ["openrouter.toml: model 'llama-4-maverick': routing.max_price: missing"]


def test_llama_4_maverick_is_priced_at_what_openrouter_bills() -> None:
    documents, _ = load_catalog(ROOT / "catalog_seed" / "models", POLICY, dt.date(2026, 12, 7))
    maverick = documents["llama-4-maverick"]

    assert maverick["upstream_usd"]["input_per_1m"] == "0.35"
    assert maverick["upstream_usd"]["output_per_1m"] == "1.00"
    assert maverick["routing"]["provider"]["max_price"] == {"prompt": 0.35, "completion": 1.0}
    assert maverick["routing"]["provider"]["ignore"] == ["deepinfra/turbo"]
