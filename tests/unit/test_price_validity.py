"""A price that ends (`price.valid_until`): the validator, the seed, the table and the audit.

Every date here is injected: nothing depends on the day the tests run.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from catalog_audit.audit import FINDING_KINDS, PRICE_EXPIRY_WARNING_DAYS
from catalog_seed.__main__ import main
from catalog_seed.dataset import expired_prices, load_catalog
from catalog_seed.pricing import PricingPolicy
from catalog_seed.table import markdown_table
from models_api.catalog.model_schema import InvalidCatalogDocument, model_from_document
from tests.support.catalog_documents import document

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "catalog_seed" / "models"
POLICY = PricingPolicy.load(ROOT / "catalog_seed" / "pricing.toml")
FIXTURES = ROOT / "tests" / "fixtures" / "audit"
LATER = dt.date(2100, 1, 1)  # after every `checked` date, so loading never refuses one

MODEL = """
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
source = "the provider's pricing page: 'introductory price through June 30, 2026'"
checked = {checked}
input_per_1m = "1.00"
output_per_1m = "4.00"
{valid_until}
"""


def data_dir(tmp_path: Path, checked: str = "2026-06-01", valid_until: str = "") -> Path:
    line = f"valid_until = {valid_until}" if valid_until else ""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "models.toml").write_text(
        MODEL.format(checked=checked, valid_until=line), encoding="utf-8"
    )
    return tmp_path


def with_valid_until(value: Any) -> dict[str, Any]:
    data = document()
    return {**data, "pricing": {**data["pricing"], "valid_until": value}}


# --- the one validator ------------------------------------------------------------------------


def test_valid_until_is_served_in_pricing_and_null_when_no_end_is_announced() -> None:
    temporary = model_from_document("m1", with_valid_until("2026-12-31")).public_dict()
    permanent = model_from_document("m1", document()).public_dict()

    assert temporary["pricing"]["valid_until"] == "2026-12-31"
    assert permanent["pricing"]["valid_until"] is None
    # additive: the contract's nine fields say the same with or without it
    assert [temporary[name] for name in list(temporary)[:9]] == [
        permanent[name] for name in list(permanent)[:9]
    ]


@pytest.mark.parametrize("value", ["31/12/2026", "2026-13-01", 20261231, True])
def test_a_malformed_valid_until_is_refused_naming_the_field(value: Any) -> None:
    with pytest.raises(InvalidCatalogDocument, match=r"pricing\.valid_until must be a date"):
        model_from_document("m1", with_valid_until(value))


def test_a_price_holds_through_its_last_day_and_ends_the_day_after() -> None:
    pricing = model_from_document("m1", with_valid_until("2026-12-31")).pricing

    assert pricing.is_valid_on(dt.date(2026, 12, 31))
    assert not pricing.is_valid_on(dt.date(2027, 1, 1))
    assert model_from_document("m1", document()).pricing.is_valid_on(LATER)


# --- the seed ---------------------------------------------------------------------------------


def test_the_seed_stores_valid_until_only_on_prices_that_have_one(tmp_path: Path) -> None:
    temporary, errors = load_catalog(
        data_dir(tmp_path / "a", valid_until="2026-06-30"), POLICY, LATER
    )
    permanent, more_errors = load_catalog(data_dir(tmp_path / "b"), POLICY, LATER)

    assert errors == more_errors == []
    assert temporary["intro-model"]["pricing"]["valid_until"] == "2026-06-30"
    assert "valid_until" not in permanent["intro-model"]["pricing"]  # stored documents unchanged


@pytest.mark.parametrize("value", ["2026-05-31", '"2026-06-30"'])
def test_a_valid_until_before_checked_or_not_a_date_is_refused(tmp_path: Path, value: str) -> None:
    _, errors = load_catalog(data_dir(tmp_path, valid_until=value), POLICY, LATER)

    assert len(errors) == 1 and "price.valid_until" in errors[0], errors


def test_a_price_is_seedable_through_its_last_day_and_refused_the_day_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(data_dir(tmp_path, valid_until="2026-06-30"))
    arguments = ["--validate-only", "--data-dir", folder]

    assert main(arguments, today=dt.date(2026, 6, 30)) == 0
    assert "catalog data valid: 1 models" in capsys.readouterr().out
    assert main(arguments, today=dt.date(2026, 7, 1)) == 1
    err = capsys.readouterr().err
    assert "invalid: intro-model: price.valid_until: the price ended on 2026-06-30" in err
    assert "past their valid_until on 2026-07-01 (UTC); nothing was written" in err


def test_an_operator_can_accept_an_ended_price_for_an_urgent_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(data_dir(tmp_path, valid_until="2026-06-30"))

    status = main(
        ["--validate-only", "--data-dir", folder, "--accept-expired-prices"],
        today=dt.date(2026, 7, 1),
    )

    out = capsys.readouterr().out
    assert status == 0
    assert "note: accepted (--accept-expired-prices): intro-model: price.valid_until" in out


def test_a_model_no_longer_served_is_not_refused_for_its_ended_price(tmp_path: Path) -> None:
    documents, _ = load_catalog(data_dir(tmp_path, valid_until="2026-06-30"), POLICY, LATER)
    retired = {"intro-model": {**documents["intro-model"], "retirement_date": "2026-07-01"}}
    disabled = {"intro-model": {**documents["intro-model"], "status": "disabled"}}
    day_after = dt.date(2026, 7, 1)

    assert len(expired_prices(documents, day_after)) == 1
    assert expired_prices(documents, dt.date(2026, 6, 30)) == []
    assert expired_prices(retired, day_after) == expired_prices(disabled, day_after) == []


def test_every_shipped_temporary_price_is_followed_by_a_seeded_price_or_refused_after_it() -> None:
    documents, errors = load_catalog(SHIPPED, POLICY, LATER)
    assert errors == []
    temporary = {
        model_id: dt.date.fromisoformat(doc["pricing"]["valid_until"])
        for model_id, doc in documents.items()
        if "valid_until" in doc["pricing"]
    }

    assert temporary["gemini-3.8-flash"] == dt.date(2026, 12, 31)
    assert "through December 31, 2026" in documents["gemini-3.8-flash"]["price_source"]
    assert (
        documents["gemini-3.8-flash"]["price_changes"][0]["effective_at"] == "2027-01-01T00:00:00Z"
    )
    for model_id, last_day in temporary.items():
        served = {model_id: documents[model_id]}
        day_after = last_day + dt.timedelta(days=1)
        assert expired_prices(served, last_day) == []
        next_prices = [c["effective_at"][:10] for c in served[model_id].get("price_changes", [])]
        if next_prices and next_prices[0] <= day_after.isoformat():
            assert expired_prices(served, day_after) == []
            continue
        (refusal,) = expired_prices(served, day_after)
        assert refusal.startswith(f"{model_id}: price.valid_until")


def test_the_docs_table_marks_a_temporary_price(tmp_path: Path) -> None:
    documents, _ = load_catalog(data_dir(tmp_path, valid_until="2026-06-30"), POLICY, LATER)

    (row,) = [line for line in markdown_table(documents, dt.date(2026, 6, 1)) if "intro" in line]
    assert row.endswith("| price valid until 2026-06-30 |")


# --- the audit (tests/fixtures/audit: gemini-3.1-pro's price holds until 2026-12-31) -------------


def audit_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, day: dt.date
) -> tuple[int, list[str]]:
    catalog = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "catalog", catalog, dirs_exist_ok=True)
    status = main(
        ["audit", "--data-dir", str(catalog), "--on", day.isoformat(),
         "--against", str(FIXTURES / "litellm.json")]
    )  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    return status, [line for line in out if " price_expir" in line]


def test_the_fixture_price_really_ends_on_the_last_day_of_2026() -> None:
    data = tomllib.loads((FIXTURES / "catalog" / "vertex.toml").read_text(encoding="utf-8"))
    assert data["models"][0]["price"]["valid_until"] == dt.date(2026, 12, 31)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 12, 16), []),
        (dt.date(2026, 12, 17), ["warning", "price_expiring", "14 day(s) left"]),
        (dt.date(2026, 12, 31), ["warning", "price_expiring", "0 day(s) left"]),
        (dt.date(2027, 1, 1), ["failure", "price_expired", "ended on 2026-12-31"]),
    ],
)
def test_the_audit_warns_from_14_days_before_a_price_ends_and_fails_after_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, day: dt.date, expected: list[str]
) -> None:
    status, rows = audit_on(capsys, tmp_path, day)

    if not expected:
        assert rows == []
        return
    (row,) = rows
    level, kind, detail = expected
    assert row.split()[:4] == [level, "gemini-3.1-pro", "catalog", kind]
    assert "pricing.valid_until" in row and detail in row
    if kind == "price_expired":
        assert status == 1  # a failure


def test_both_price_end_findings_alert_and_the_window_is_two_weeks() -> None:
    assert FINDING_KINDS["price_expiring"] == ("warning", True)
    assert FINDING_KINDS["price_expired"] == ("failure", True)
    assert PRICE_EXPIRY_WARNING_DAYS == 14
