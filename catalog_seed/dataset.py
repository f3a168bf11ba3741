"""Loads and validates every catalog data file; reports all problems, naming file, model, field."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from catalog_seed.pricing import PricingPolicy
from models_api.catalog import CATALOG_STATUSES, PROVIDERS

MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_REQUIRED = {
    "id": str,
    "name": str,
    "provider": str,
    "context_window": int,
    "max_output_tokens": int,
    "supports_tools": bool,
    "supports_vision": bool,
    "price_checked": dt.date,
}
_OPTIONAL = {
    "status": str,
    "upstream_usd_per_1m_input": str,
    "upstream_usd_per_1m_output": str,
    "price_source": str,
    "price_note": str,
}


@dataclass
class ValidationReport:
    errors: list[str] = field(default_factory=list)

    def add(self, file: Path, model: str, field_name: str, problem: str) -> None:
        self.errors.append(f"{file.name}: model '{model}': {field_name}: {problem}")


def load_catalog(
    data_dir: Path, policy: PricingPolicy
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """All models as Firestore documents keyed by id, and the list of problems (empty if valid)."""
    report = ValidationReport()
    documents: dict[str, dict[str, Any]] = {}
    files = sorted(data_dir.glob("*.toml"))
    if not files:
        report.errors.append(f"{data_dir}: no *.toml catalog files")
    for path in files:
        try:
            entries = tomllib.loads(path.read_text(encoding="utf-8")).get("models", [])
        except (OSError, tomllib.TOMLDecodeError) as error:
            report.errors.append(f"{path.name}: cannot be read: {error}")
            continue
        if not isinstance(entries, list):
            report.errors.append(f"{path.name}: 'models' must be an array of tables")
            continue
        for index, entry in enumerate(entries):
            document = _validate_entry(path, index, entry, policy, report)
            if document is None:
                continue
            if document["id"] in documents:
                report.add(path, document["id"], "id", "duplicate id (already defined)")
                continue
            documents[document["id"]] = document
    return documents, report.errors


def _validate_entry(
    path: Path, index: int, entry: Any, policy: PricingPolicy, report: ValidationReport
) -> dict[str, Any] | None:
    label = str(entry.get("id", f"#{index + 1}")) if isinstance(entry, dict) else f"#{index + 1}"
    if not isinstance(entry, dict):
        report.add(path, label, "(entry)", "must be a table")
        return None
    errors_before = len(report.errors)
    for name in entry:
        if name not in _REQUIRED and name not in _OPTIONAL:
            report.add(path, label, name, "unknown field")
    for name, expected in {**_REQUIRED, **_OPTIONAL}.items():
        if name not in entry:
            if name in _REQUIRED:
                report.add(path, label, name, "missing")
            continue
        value = entry[name]
        is_wrong_type = not isinstance(value, expected) or (
            expected is int and isinstance(value, bool)
        )
        if expected is dt.date and isinstance(value, dt.datetime):
            is_wrong_type = True
        if is_wrong_type:
            report.add(path, label, name, f"must be {expected.__name__}, got {value!r}")
    if len(report.errors) > errors_before:
        return None

    if not MODEL_ID.fullmatch(entry["id"]):
        report.add(path, label, "id", "must match [a-z0-9][a-z0-9._-]{0,63}")
    if not entry["name"].strip():
        report.add(path, label, "name", "must not be empty")
    if entry["provider"] not in PROVIDERS:
        report.add(path, label, "provider", f"must be one of {', '.join(PROVIDERS)}")
    status = entry.get("status", "active")
    if status not in CATALOG_STATUSES:
        report.add(path, label, "status", f"must be one of {', '.join(CATALOG_STATUSES)}")
    for name in ("context_window", "max_output_tokens"):
        if entry[name] <= 0:
            report.add(path, label, name, "must be a positive integer")
    if entry["max_output_tokens"] > entry["context_window"]:
        report.add(path, label, "max_output_tokens", "must not exceed context_window")

    prices: dict[str, Decimal] = {}
    for side in ("input", "output"):
        name = f"upstream_usd_per_1m_{side}"
        if name not in entry:
            continue
        try:
            prices[side] = Decimal(entry[name])
        except InvalidOperation:
            report.add(path, label, name, f"not a decimal number: {entry[name]!r}")
            continue
        if not prices[side].is_finite() or prices[side] < 0:
            report.add(path, label, name, "must be a non-negative number")
    has_price = "upstream_usd_per_1m_input" in entry or "upstream_usd_per_1m_output" in entry
    if has_price and len(prices) != 2 and len(report.errors) == errors_before:
        report.add(path, label, "upstream_usd_per_1m_*", "give both input and output prices")
    if status == "active" and not has_price:
        report.add(path, label, "upstream_usd_per_1m_*", "an active model needs a price")
    if has_price and "price_source" not in entry:
        report.add(path, label, "price_source", "say where the price was read")
    if not has_price and "price_note" not in entry:
        report.add(path, label, "price_note", "a model without a price must say why")
    if len(report.errors) > errors_before:
        return None

    document: dict[str, Any] = {
        name: entry[name]
        for name in (
            "id",
            "name",
            "provider",
            "context_window",
            "max_output_tokens",
            "supports_tools",
            "supports_vision",
        )
    }
    document["status"] = status
    document["price_checked"] = entry["price_checked"].isoformat()
    for name in ("price_source", "price_note"):
        if name in entry:
            document[name] = entry[name]
    if prices:
        document["upstream_usd_per_1m_input"] = str(prices["input"])
        document["upstream_usd_per_1m_output"] = str(prices["output"])
        document["cost_per_1k_input"] = policy.credits_per_1k_tokens(prices["input"])
        document["cost_per_1k_output"] = policy.credits_per_1k_tokens(prices["output"])
    return document
