"""Announced prices (`price_changes`): the validator, the seed, the cache's switch at the instant.

Every instant here is injected: nothing depends on the day the tests run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from catalog_seed.dataset import expired_prices, load_catalog
from catalog_seed.pricing import PricingPolicy
from models_api.catalog.cache import CatalogCache, CatalogSnapshot, StoredCatalog
from models_api.catalog.model_schema import InvalidCatalogDocument, model_from_document
from tests.support.catalog_documents import document

ROOT = Path(__file__).resolve().parents[2]
POLICY = PricingPolicy.load(ROOT / "catalog_seed" / "pricing.toml")
SWITCH = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)


def change(at: str = "2027-01-01T00:00:00Z", cost_in: float = 0.3, cost_out: float = 0.6) -> Any:
    return {
        "effective_at": at,
        "cost_per_1k_input": cost_in,
        "cost_per_1k_output": cost_out,
        "pricing": {
            "unit": "credits",
            "billed_per": "token",
            "input_per_1k_tokens": cost_in,
            "output_per_1k_tokens": cost_out,
            "long_context_tiers": [],
        },
    }


def dated(*changes: Any) -> dict[str, Any]:
    return document(price_changes=list(changes))


def test_before_the_switch_the_coming_price_and_its_start_are_served_beside_the_current() -> None:
    model = model_from_document("m1", dated(change()))
    served = model.priced_at(SWITCH - dt.timedelta(seconds=1)).public_dict()

    assert (served["cost_per_1k_input"], served["cost_per_1k_output"]) == (0.1, 0.2)
    assert served["price_changes"][0]["effective_at"] == "2027-01-01T00:00:00Z"
    assert served["price_changes"][0]["cost_per_1k_input"] == 0.3
    assert served["price_changes"][0]["pricing"]["output_per_1k_tokens"] == 0.6


def test_from_the_switch_the_contract_fields_are_the_new_price_and_no_change_is_pending() -> None:
    served = model_from_document("m1", dated(change())).priced_at(SWITCH).public_dict()

    assert (served["cost_per_1k_input"], served["cost_per_1k_output"]) == (0.3, 0.6)
    assert served["pricing"]["input_per_1k_tokens"] == 0.3
    assert served["price_changes"] == []


def test_two_changes_apply_in_turn() -> None:
    model = model_from_document(
        "m1", dated(change(), change("2027-02-01T12:00:00+00:00", 0.4, 0.8))
    )

    middle = model.priced_at(dt.datetime(2027, 1, 15, tzinfo=dt.timezone.utc))
    assert middle.cost_per_1k_input == 0.3 and len(middle.price_changes) == 1
    assert (
        model.priced_at(dt.datetime(2027, 2, 1, 12, tzinfo=dt.timezone.utc)).cost_per_1k_input
        == 0.4
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ([change("2027-01-01")], "effective_at must be a timestamp with its offset"),
        ([change("2027-01-01T00:00:00")], "effective_at must be a timestamp with its offset"),
        ([change(), change()], "effective_at must be later than the change before it"),
        ([{**change(), "cost_per_1k_input": 9.9}], "pricing.input_per_1k_tokens must equal"),
        ([{**change(), "cost_per_1k_output": "abc"}], "cost_per_1k_output must be a non-negative"),
        ("soon", "price_changes must be a list"),
    ],
)
def test_a_malformed_change_is_refused_naming_the_field(changes: Any, field: str) -> None:
    with pytest.raises(InvalidCatalogDocument, match=field.replace(".", r"\.")):
        model_from_document("m1", document(price_changes=changes))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class OneRead:
    def __init__(self) -> None:
        self.calls = 0

    def fetch_catalog(self) -> StoredCatalog:
        self.calls += 1
        return StoredCatalog([model_from_document("m1", dated(change()))])

    def fetch_expected_count(self) -> int | None:
        return None


def test_the_cache_switches_at_the_instant_without_a_read_or_a_restart() -> None:
    store, wall = OneRead(), Clock(SWITCH.timestamp() - 1)
    cache = CatalogCache(store, ttl_seconds=3600, max_stale_seconds=600, clock=Clock(0.0),
                         wall_clock=wall)  # fmt: skip

    before = cache.current()
    assert before.models[0].cost_per_1k_input == 0.1
    assert before.valid_until == SWITCH.timestamp()
    wall.now = SWITCH.timestamp()
    after = cache.current()

    assert after.models[0].cost_per_1k_input == 0.3
    body = after.model_representation("m1")
    assert body is not None and b'"cost_per_1k_input":0.3' in body.variants["identity"].body
    assert store.calls == 1


def test_a_snapshot_for_a_day_serves_that_days_midnight_price() -> None:
    models = [model_from_document("m1", dated(change()))]

    assert CatalogSnapshot(models, 0, dt.date(2026, 12, 31)).models[0].cost_per_1k_input == 0.1
    assert CatalogSnapshot(models, 0, dt.date(2027, 1, 1)).models[0].cost_per_1k_input == 0.3


SEEDED = """
[[models]]
id = "intro-model"
name = "Intro Model"
provider = "vertex"
owned_by = "google"
input_modalities = ["text"]
output_modalities = ["text"]
lifecycle = "active"
context_window = 100000
max_output_tokens = 8000
supports_tools = true
supports_vision = false
[models.price]
source = "the provider's pricing page"
checked = 2026-12-01
valid_until = 2026-12-31
input_per_1m = "0.75"
output_per_1m = "3.75"
[[models.price.changes]]
effective = {effective}
source = "the provider's pricing page: from January 1, 2027"
checked = 2026-12-01
input_per_1m = "1.50"
output_per_1m = {output}
"""


def seed(tmp_path: Path, effective: str = "2027-01-01T00:00:00Z", output: str = '"7.50"') -> Any:
    (tmp_path / "m.toml").write_text(SEEDED.format(effective=effective, output=output), "utf-8")
    return load_catalog(tmp_path, POLICY, dt.date(2026, 12, 7))


def test_the_seed_stores_the_change_in_credits_with_its_instant(tmp_path: Path) -> None:
    documents, errors = seed(tmp_path)

    assert errors == []
    stored = documents["intro-model"]["price_changes"][0]
    assert stored["effective_at"] == "2027-01-01T00:00:00Z"
    assert (stored["cost_per_1k_input"], stored["cost_per_1k_output"]) == (0.21, 1.05)
    assert model_from_document("intro-model", documents["intro-model"]).price_changes


@pytest.mark.parametrize(
    ("effective", "output", "problem"),
    [
        ("2027-01-01T00:00:00", '"7.50"', "price.changes[0].effective: must be a date or a time"),
        ("2027-01-01", '"abc"', "price.changes[0].output_per_1m: not a decimal number"),
        ("2027-01-01", '"-1"', "price.changes[0].output_per_1m: must be a non-negative"),
    ],
)
def test_the_seed_refuses_a_malformed_change_naming_it(
    tmp_path: Path, effective: str, output: str, problem: str
) -> None:
    _, errors = seed(tmp_path, effective, output)

    assert len(errors) == 1 and problem in errors[0], errors


def test_a_seeded_next_price_means_the_intro_price_never_counts_as_expired(tmp_path: Path) -> None:
    documents, _ = seed(tmp_path)

    assert expired_prices(documents, dt.date(2027, 1, 1)) == []
    assert expired_prices(documents, dt.date(2027, 6, 1)) == []


def test_the_shipped_gemini_38_flash_doubles_from_2027_01_01() -> None:
    documents, errors = load_catalog(ROOT / "catalog_seed" / "models", POLICY, dt.date(2026, 12, 7))
    model = model_from_document("gemini-3.8-flash", documents["gemini-3.8-flash"])

    assert errors == []
    before = model.priced_at(SWITCH - dt.timedelta(seconds=1))
    after = model.priced_at(SWITCH)
    assert after.cost_per_1k_input == 2 * before.cost_per_1k_input
    assert after.cost_per_1k_output == 2 * before.cost_per_1k_output
    assert after.pricing.cached_input_per_1k_tokens == 0.021
