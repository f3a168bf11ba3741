"""Loads the catalog data files and turns each model into the Firestore document the service reads.

Every problem is reported (file, model, field), none is fatal on its own, and nothing is written
unless there are none. What a valid served model is, is decided by the service's own validator
(`models_api.catalog.model_schema.model_from_document`), which runs on every document built
here; this module adds only what the data files must say besides (sources, sanity bounds,
references).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from catalog_seed.pricing import PricingPolicy
from catalog_seed.routing_prices import (
    UPSTREAM_PRICES,
    endpoint_price_problems,
    max_price_problems,
)
from models_api.catalog.model_schema import (
    BILLING_UNITS,
    LIFECYCLES,
    MODEL_ID,
    MODEL_ID_RULE,
    STORAGE_STATUSES,
    InvalidCatalogDocument,
    iso_instant,
    model_from_document,
    routing_from_document,
)

_MODEL_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "name": str,
    "provider": str,
    "owned_by": str,
    "input_modalities": list,
    "output_modalities": list,
    "modalities_source": str,
    "status": str,
    "lifecycle": str,
    "lifecycle_source": str,
    "deprecation_date": dt.date,
    "retirement_date": dt.date,
    "replacement": str,
    "context_window": int,
    "max_output_tokens": int,
    "supports_tools": bool,
    "supports_vision": bool,
    "limits_source": str,
    "upstream": dict,
    "price": dict,
    "price_note": str,
    "routing": dict,
}
_REQUIRED_MODEL_FIELDS = (
    "id",
    "name",
    "provider",
    "owned_by",
    "input_modalities",
    "output_modalities",
    "lifecycle",
    "context_window",
    "max_output_tokens",
    "supports_tools",
    "supports_vision",
)
# Upstream prices in USD, written as strings: per 1M tokens, or per image.
_PRICE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "source": str,
    "checked": dt.date,
    "valid_until": dt.date,  # last day of a temporary upstream price (the source must say it)
    "billed_per": str,
    "basis": str,
    "runs_on": str,
    **dict.fromkeys(UPSTREAM_PRICES, str),
    "allow_zero": list,
    "tiers": list,
    "changes": list,  # [[models.price.changes]]: announced prices, each from its `effective`
}
# One announced price: when it takes effect, where it was read, and its prices (as above).
_CHANGE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "effective": (dt.datetime, dt.date),
    "source": str,
    "checked": dt.date,
    "valid_until": dt.date,
    **dict.fromkeys(UPSTREAM_PRICES, str),
    "tiers": list,
}
_TIER_FIELDS: dict[str, type | tuple[type, ...]] = {
    "above_input_tokens": int,
    "input_per_1m": str,
    "output_per_1m": str,
    "cached_input_per_1m": str,
    "cache_write_per_1m": str,
}
# `[models.routing]`: the aggregator's model id and the provider preferences to request.
_ROUTING_FIELDS: dict[str, type | tuple[type, ...]] = {
    "aggregator": str,
    "model": str,
    "order": list,
    "only": list,
    "allow_fallbacks": bool,
    "ignore": list,  # endpoint variants `only` would allow that must not be used
    "max_price": dict,  # OpenRouter's per-request cap, USD strings per 1M tokens / image
    "source": str,
    "checked": dt.date,
    "endpoints": list,
}
_REQUIRED_ROUTING_FIELDS = (
    "aggregator",
    "model",
    "order",
    "allow_fallbacks",
    "max_price",
    "source",
    "checked",
    "endpoints",
)
UPSTREAM_DATASETS = ("litellm", "models_dev", "openrouter", "genai_prices")
PLATFORM_BASIS = "runs_on"


@dataclass(frozen=True)
class Origin:
    """Where a model was defined: file and position, for messages that name both places."""

    file: str
    index: int

    def __str__(self) -> str:
        return f"{self.file} (model #{self.index + 1})"


@dataclass
class ValidationReport:
    errors: list[str] = field(default_factory=list)

    def add(self, file: str, model: str, field_name: str, problem: str) -> None:
        self.errors.append(f"{file}: model '{model}': {field_name}: {problem}")


@dataclass(frozen=True)
class _Entry:
    origin: Origin
    data: dict[str, Any]

    @property
    def label(self) -> str:
        return str(self.data.get("id", f"#{self.origin.index + 1}"))

    def add(self, report: ValidationReport, field_name: str, problem: str) -> None:
        report.add(self.origin.file, self.label, field_name, problem)


def load_catalog(
    data_dir: Path, policy: PricingPolicy, today: dt.date | None = None
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """All models as Firestore documents keyed by id, and the list of problems (empty if valid)."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    report = ValidationReport()
    entries: dict[str, _Entry] = {}
    files = sorted(data_dir.glob("*.toml"))
    if not files:
        report.errors.append(f"{data_dir}: no *.toml catalog files")
    for path in files:
        try:
            models = tomllib.loads(path.read_text(encoding="utf-8")).get("models", [])
        except (OSError, tomllib.TOMLDecodeError) as error:
            report.errors.append(f"{path.name}: cannot be read: {error}")
            continue
        if not isinstance(models, list):
            report.errors.append(f"{path.name}: 'models' must be an array of tables")
            continue
        for index, data in enumerate(models):
            entry = _Entry(Origin(path.name, index), data if isinstance(data, dict) else {})
            if not isinstance(data, dict):
                entry.add(report, "(entry)", "must be a table")
                continue
            model_id = data.get("id")
            if isinstance(model_id, str) and model_id in entries:
                entry.add(
                    report, "id", f"duplicate id: already defined in {entries[model_id].origin}"
                )
                continue
            if isinstance(model_id, str):
                entries[model_id] = entry

    documents: dict[str, dict[str, Any]] = {}
    for model_id, entry in entries.items():
        document = _document_for(entry, entries, policy, today, report)
        if document is not None:
            documents[model_id] = document
    _check_references(entries, documents, report)
    return documents, report.errors


def _check_types(
    entry: _Entry,
    data: dict[str, Any],
    fields: dict[str, type | tuple[type, ...]],
    where: str,
    report: ValidationReport,
) -> bool:
    ok = True
    for name, value in data.items():
        expected = fields.get(name)
        if expected is None:
            entry.add(report, where + name, "unknown field")
            ok = False
            continue
        wrong = not isinstance(value, expected) or (
            (expected is int and isinstance(value, bool))
            or (expected is dt.date and isinstance(value, dt.datetime))
        )
        if wrong:
            expected_name = expected.__name__ if isinstance(expected, type) else str(expected)
            if expected is str and isinstance(value, (int, float)):
                expected_name = 'a quoted decimal string, e.g. "1.25"'
            entry.add(report, where + name, f"must be {expected_name}, got {value!r}")
            ok = False
    return ok


def _document_for(
    entry: _Entry,
    entries: dict[str, _Entry],
    policy: PricingPolicy,
    today: dt.date,
    report: ValidationReport,
) -> dict[str, Any] | None:
    data = entry.data
    errors_before = len(report.errors)
    if not _check_types(entry, data, _MODEL_FIELDS, "", report):
        return None
    for name in _REQUIRED_MODEL_FIELDS:
        if name not in data:
            entry.add(report, name, "missing")
    if len(report.errors) > errors_before:
        return None
    if not MODEL_ID.fullmatch(data["id"]):
        entry.add(report, "id", f"must match {MODEL_ID_RULE}")
    status = data.get("status", "active")
    if status not in STORAGE_STATUSES:
        entry.add(report, "status", f"must be one of {', '.join(STORAGE_STATUSES)}")
    if data["lifecycle"] not in LIFECYCLES:
        entry.add(report, "lifecycle", f"must be one of {', '.join(LIFECYCLES)}")
    if data["lifecycle"] != "active" and "lifecycle_source" not in data:
        entry.add(report, "lifecycle_source", "say where the preview/deprecation was announced")
    upstream = data.get("upstream", {})
    for name, value in upstream.items():
        if name not in UPSTREAM_DATASETS or not isinstance(value, str) or not value:
            entry.add(report, f"upstream.{name}", f"must be a string id in {UPSTREAM_DATASETS}")

    document: dict[str, Any] = {
        name: data[name]
        for name in (
            "id",
            "name",
            "provider",
            "owned_by",
            "input_modalities",
            "output_modalities",
            "context_window",
            "max_output_tokens",
            "supports_tools",
            "supports_vision",
            "lifecycle",
        )
    }
    document["status"] = status
    for name in ("deprecation_date", "retirement_date"):
        document[name] = data[name].isoformat() if name in data else None
    document["replacement"] = data.get("replacement")
    for name in ("lifecycle_source", "limits_source", "modalities_source", "price_note"):
        if name in data:
            document[name] = data[name]
    if upstream:
        document["upstream"] = dict(upstream)
    if "routing" in data:
        routing = _routing_fields(entry, data["routing"], today, report)
        if routing is None:
            return None
        document.update(routing)
    try:  # the service's rule: an aggregator's model is never served without its routing
        routing_from_document(data["id"], data["provider"], document.get("routing"))
    except InvalidCatalogDocument as error:
        entry.add(report, "(model)", str(error).removeprefix(f"{data['id']}: "))
        return None

    price = data.get("price")
    if price is None:
        if status == "active":
            entry.add(report, "price", "a served model needs a price")
        elif "price_note" not in data:
            entry.add(report, "price_note", "a model without a price must say why")
        return None if len(report.errors) > errors_before else document
    priced = _price_fields(entry, price, entries, policy, today, report)
    if priced is None or len(report.errors) > errors_before:
        return None
    document.update(priced)
    changes = _price_change_documents(entry, price, entries, policy, today, report)
    if changes is None:
        return None
    if changes:
        document["price_changes"] = changes
    if "routing" in data:
        allowed = document["routing"]["provider"]["only"]
        endpoints = data["routing"]["endpoints"]
        ignore = data["routing"].get("ignore", [])
        credits = {
            "input_per_1m": priced["pricing"]["input_per_1k_tokens"],
            "output_per_1m": priced["pricing"]["output_per_1k_tokens"],
            "per_image_output": priced["pricing"]["output_per_image"],
        }
        if priced["pricing"]["billed_per"] == "image":
            del credits["output_per_1m"]
        problems = endpoint_price_problems(endpoints, allowed, priced["upstream_usd"], ignore)
        problems += max_price_problems(data["routing"]["max_price"], endpoints, credits, policy)
        for field_name, problem in problems:
            entry.add(report, field_name, problem)
        if len(report.errors) > errors_before:
            return None
    try:  # every priced model passes the service's own validator before it is written
        model_from_document(data["id"], document)
    except InvalidCatalogDocument as error:
        entry.add(report, "(model)", str(error).removeprefix(f"{data['id']}: "))
        return None
    return document


def _routing_fields(
    entry: _Entry, routing: dict[str, Any], today: dt.date, report: ValidationReport
) -> dict[str, Any] | None:
    """`[models.routing]` as the document stores it: the served object, then its citation."""
    errors_before = len(report.errors)
    if not _check_types(entry, routing, _ROUTING_FIELDS, "routing.", report):
        return None
    for name in _REQUIRED_ROUTING_FIELDS:
        if name not in routing:
            entry.add(report, f"routing.{name}", "missing")
    if "checked" in routing and routing["checked"] > today:
        entry.add(report, "routing.checked", "is in the future: use the date of the source")
    if len(report.errors) > errors_before:
        return None
    provider: dict[str, Any] = {
        "order": list(routing["order"]),
        "only": list(routing.get("only", routing["order"])),
        "allow_fallbacks": routing["allow_fallbacks"],
    }
    if routing.get("ignore"):
        provider["ignore"] = list(routing["ignore"])
    provider["max_price"] = {}
    for name, value in routing["max_price"].items():
        try:  # OpenRouter takes numbers; max_price_problems names a bad one after pricing
            provider["max_price"][name] = float(Decimal(value)) if isinstance(value, str) else value
        except InvalidOperation:
            provider["max_price"][name] = value
    return {
        "routing": {
            "aggregator": routing["aggregator"],
            "model": routing["model"],
            "provider": provider,
        },
        "routing_source": routing["source"],
        "routing_checked": routing["checked"].isoformat(),
        "routing_endpoints": _plain(routing["endpoints"]),
    }


def _price_fields(
    entry: _Entry,
    price: dict[str, Any],
    entries: dict[str, _Entry],
    policy: PricingPolicy,
    today: dt.date,
    report: ValidationReport,
    where_price: str = "price.",
) -> dict[str, Any] | None:
    """The document's price fields: flat costs, `pricing`, and where the numbers came from."""
    errors_before = len(report.errors)
    known = _PRICE_FIELDS if where_price == "price." else _PRICE_FIELDS | _CHANGE_FIELDS
    if not _check_types(entry, price, known, where_price, report):
        return None
    for name in ("source", "checked"):
        if name not in price:
            entry.add(
                report, f"{where_price}{name}", "missing: say where and when the price was read"
            )
    if "checked" in price and price["checked"] > today:
        entry.add(report, where_price + "checked", "is in the future: use the date of the source")
    if "checked" in price and "valid_until" in price and price["valid_until"] < price["checked"]:
        entry.add(
            report, where_price + "valid_until", "is before checked: the price had ended when read"
        )
    basis_text = None
    billing = price  # the table whose prices, billing unit and allowed zeros apply
    if "basis" in price and where_price == "price.":
        resolved = _platform_price(entry, price, entries, policy, report)
        if resolved is None:
            return None
        billing, basis_text = resolved
    upstream_usd = _upstream_prices(billing)
    if len(report.errors) > errors_before:
        return None
    billed_per = billing.get("billed_per", "token")
    if billed_per not in BILLING_UNITS:
        entry.add(report, where_price + "billed_per", f"must be one of {', '.join(BILLING_UNITS)}")
        return None
    allow_zero = billing.get("allow_zero", [])
    required = ["input_per_1m", "per_image_output" if billed_per == "image" else "output_per_1m"]
    for name in required:
        if name not in upstream_usd:
            entry.add(report, f"{where_price}{name}", "missing: every billed unit needs a price")
    if billed_per == "token" and "per_image_output" in upstream_usd:
        entry.add(report, where_price + "per_image_output", 'needs billed_per = "image"')
    if billed_per == "image" and "output_per_1m" in upstream_usd:
        entry.add(report, where_price + "output_per_1m", "an image model is billed per image")
    if len(report.errors) > errors_before:
        return None

    def usd(name: str, value: str, where: str) -> Decimal | None:
        try:
            number = Decimal(value)
        except InvalidOperation:
            entry.add(report, where + name, f"not a decimal number: {value!r}")
            return None
        if not number.is_finite() or number < 0:
            entry.add(report, where + name, "must be a non-negative number")
            return None
        if number == 0 and name not in allow_zero:
            entry.add(report, where + name, f'is zero: list it in price.allow_zero = ["{name}"]')
            return None
        return number

    def credits(name: str, value: Decimal, where: str) -> float:
        if name == "per_image_output":
            amount, bound = policy.credits(value), policy.max_credits_per_image
        else:
            amount, bound = policy.credits_per_1k_tokens(value), policy.max_credits_per_1k_tokens
        if Decimal(str(amount)) > bound:
            entry.add(report, where + name, f"{amount} credits is above the bound {bound}")
        return amount

    converted: dict[str, float] = {}
    for name, value in upstream_usd.items():
        if name == "tiers" or not isinstance(value, str):
            continue
        number = usd(name, value, where_price)
        if number is not None:
            converted[name] = credits(name, number, where_price)
    tiers: list[dict[str, Any]] = []
    for index, tier in enumerate(upstream_usd.get("tiers", [])):
        where = f"{where_price}tiers[{index}]."
        if not isinstance(tier, dict) or not _check_types(entry, tier, _TIER_FIELDS, where, report):
            continue
        for name in ("above_input_tokens", "input_per_1m", "output_per_1m"):
            if name not in tier:
                entry.add(report, where + name, "missing: a tier prices input and output")
        for name in ("cached_input_per_1m", "cache_write_per_1m"):
            if name in upstream_usd and name not in tier:
                entry.add(report, where + name, "missing: the base prices it")
        tier_credits = {
            name: credits(name, number, where)
            for name, value in tier.items()
            if name != "above_input_tokens" and (number := usd(name, value, where)) is not None
        }
        tiers.append(
            {
                "above_input_tokens": tier.get("above_input_tokens"),
                "input_per_1k_tokens": tier_credits.get("input_per_1m"),
                "output_per_1k_tokens": tier_credits.get("output_per_1m"),
                "cached_input_per_1k_tokens": tier_credits.get("cached_input_per_1m"),
                "cache_write_per_1k_tokens": tier_credits.get("cache_write_per_1m"),
            }
        )
    for name in allow_zero:
        if name not in upstream_usd:
            entry.add(report, where_price + "allow_zero", f"names {name!r}, which has no price")
    if len(report.errors) > errors_before:
        return None

    output = converted["per_image_output" if billed_per == "image" else "output_per_1m"]
    pricing = {
        "unit": "credits",
        "billed_per": billed_per,
        "input_per_1k_tokens": converted["input_per_1m"],
        "output_per_1k_tokens": output,
        "cached_input_per_1k_tokens": converted.get("cached_input_per_1m"),
        "cache_write_per_1k_tokens": converted.get("cache_write_per_1m"),
        "audio_input_per_1k_tokens": converted.get("audio_input_per_1m"),
        "output_per_image": converted.get("per_image_output"),
        "long_context_tiers": tiers,
    }
    if "valid_until" in billing:  # only when set: other documents stay as they are stored
        pricing["valid_until"] = billing["valid_until"].isoformat()
    fields: dict[str, Any] = {
        "cost_per_1k_input": converted["input_per_1m"],
        "cost_per_1k_output": output,
        "pricing": pricing,
        "upstream_usd": _plain(upstream_usd),
        "price_source": price["source"],
        "price_checked": price["checked"].isoformat(),
    }
    if basis_text is not None:
        fields["price_basis"] = basis_text
    return fields


def _price_change_documents(
    entry: _Entry,
    price: dict[str, Any],
    entries: dict[str, _Entry],
    policy: PricingPolicy,
    today: dt.date,
    report: ValidationReport,
) -> list[dict[str, Any]] | None:
    """`[[models.price.changes]]` (a runs_on model: its base's) as stored `price_changes`."""
    billing = price
    if "basis" in price:
        billing = entries[price["runs_on"]].data["price"]  # _price_fields checked it
    changes = billing.get("changes", [])
    if changes and "routing" in entry.data:
        entry.add(report, "price.changes", "a routed model is priced from its endpoints' "
                  "prices: record a change there when it takes effect")  # fmt: skip
        return None
    documents: list[dict[str, Any]] = []
    for index, change in enumerate(changes):
        where = f"price.changes[{index}]."
        if not isinstance(change, dict) or not _check_types(
            entry, change, _CHANGE_FIELDS, where, report
        ):
            return None
        if "effective" not in change:
            entry.add(report, where + "effective", "missing: when the price takes effect (UTC)")
            return None
        effective = _instant(change["effective"])
        if effective is None:
            entry.add(report, where + "effective", "must be a date or a time with its offset")
            return None
        if documents and iso_instant(effective) <= documents[-1]["effective_at"]:
            entry.add(report, where + "effective", "must be later than the change before it")
            return None
        inherited: dict[str, Any] = {
            name: billing[name] for name in ("billed_per", "allow_zero") if name in billing
        }
        table: dict[str, Any] = {**inherited, **change}
        priced = _price_fields(entry, table, entries, policy, today, report, where)
        if priced is None:
            return None
        documents.append(
            {
                "effective_at": iso_instant(effective),
                "cost_per_1k_input": priced["cost_per_1k_input"],
                "cost_per_1k_output": priced["cost_per_1k_output"],
                "pricing": priced["pricing"],
                "upstream_usd": priced["upstream_usd"],
                "price_source": priced["price_source"],
                "price_checked": priced["price_checked"],
            }
        )
    return documents


def _instant(value: dt.date) -> dt.datetime | None:
    """A TOML date (its midnight UTC) or offset date-time; a local time has no instant."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc) if value.tzinfo is not None else None
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)


def _platform_price(
    entry: _Entry,
    price: dict[str, Any],
    entries: dict[str, _Entry],
    policy: PricingPolicy,
    report: ValidationReport,
) -> tuple[dict[str, Any], str] | None:
    """A model the platform prices itself: the price table of the model it runs on."""
    if price["basis"] != PLATFORM_BASIS:
        entry.add(report, "price.basis", f'must be "{PLATFORM_BASIS}"')
        return None
    extra = set(price) - {"source", "checked", "basis", "runs_on"}  # valid_until: the base's
    if extra:
        entry.add(report, "price", f"a runs_on price takes no prices of its own: {sorted(extra)}")
        return None
    runs_on = price.get("runs_on")
    base = entries.get(runs_on) if isinstance(runs_on, str) else None
    base_price = base.data.get("price") if base is not None else None
    if not isinstance(base_price, dict) or "basis" in base_price:
        entry.add(report, "price.runs_on", "must name a model of the catalog with a list price")
        return None
    text = (
        f"priced by the platform: runs on {runs_on}, at {runs_on}'s upstream price "
        f"({_describe_usd(_upstream_prices(base_price))}) times the margin {policy.margin}"
    )
    return base_price, text


def _upstream_prices(price: dict[str, Any]) -> dict[str, Any]:
    """The prices of a `[models.price]` table (and its tiers), without where they came from."""
    return {
        name: value
        for name, value in price.items()
        if name
        not in (
            "source",
            "checked",
            "valid_until",
            "billed_per",
            "allow_zero",
            "changes",
            "effective",
        )
    }


def _describe_usd(prices: dict[str, Any]) -> str:
    parts = [f"{name} US${value}" for name, value in prices.items() if isinstance(value, str)]
    if prices.get("tiers"):
        parts.append(f"{len(prices['tiers'])} long-prompt tier(s)")
    return ", ".join(parts)


def _plain(value: Any) -> Any:
    """TOML tables and arrays as plain dicts and lists (what Firestore stores)."""
    if isinstance(value, dict):
        return {name: _plain(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _check_references(
    entries: dict[str, _Entry], documents: dict[str, dict[str, Any]], report: ValidationReport
) -> None:
    """A replacement must be a model that is served and not itself on its way out."""
    for model_id, document in documents.items():
        replacement = document.get("replacement")
        if replacement is None:
            continue
        target = documents.get(replacement)
        entry = entries[model_id]
        if target is None or target.get("status") != "active":
            entry.add(report, "replacement", f"{replacement!r} is not a served model")
        elif target.get("lifecycle") == "deprecated":
            entry.add(report, "replacement", f"{replacement!r} is itself deprecated")


def expired_prices(documents: dict[str, dict[str, Any]], today: dt.date) -> list[str]:
    """The served models whose price ended before `today` (`price.valid_until`): the seed
    refuses them, as the upstream may charge more from the day after.

    A model that is not served (retired, disabled, past its retirement date) is left alone.
    """
    problems = []
    for model_id, document in sorted(documents.items()):
        if document.get("status") != "active" or "pricing" not in document:
            continue
        midnight = dt.datetime(today.year, today.month, today.day, tzinfo=dt.timezone.utc)
        model = model_from_document(model_id, document).priced_at(midnight)
        if model.is_served_on(today) and not model.pricing.is_valid_on(today):
            problems.append(
                f"{model_id}: price.valid_until: the price ended on "
                f"{model.pricing.valid_until}: read the provider's current price, set it with "
                "a new source and checked date, and drop or move valid_until"
            )
    return problems
