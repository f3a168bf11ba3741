"""What a catalog model is: the contract's nine fields, its full pricing and its lifecycle.

`model_from_document` is the one validator of a catalog document. The seed script runs it on
every document before writing, and the service runs it on every document it reads, so the two
can never disagree about what a valid model is.

Prices in a document are in credits (1 credit = US$0.01), margin included. The contract's flat
`cost_per_1k_input` / `cost_per_1k_output` are the base tier; `pricing` carries every other way
the upstream bills (cached input, cache writes, long-prompt tiers, audio input, per image).
`pricing.valid_until` is the last day (UTC) a price is known to hold, for a temporary upstream
price such as an introductory offer; after it the upstream may charge more. The service keeps
serving the model (the drift check alerts the operator, see docs/catalog.md).
`price_changes` are prices already announced, each taking effect at its `effective_at` (UTC):
`Model.priced_at(instant)` is the model as sold at that instant (the contract's flat prices and
`pricing` ARE the price in effect), with only the changes still to come left in `price_changes`.
`routing` is how a request for the model must be sent through an aggregator (OpenRouter): its
model id there and the `provider` preferences to send verbatim, which pin the upstream endpoints
whose prices the catalog price covers. It is required for an aggregator's models.
`owned_by` is who made the model (OpenRouter's and OpenAI's naming: `google`, `x-ai`...), which
`provider` (the route) does not say; `input_modalities` / `output_modalities` are what it takes
and gives, from a closed vocabulary (OpenRouter's `architecture.input_modalities` words).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

PROVIDERS = ("openai", "anthropic", "vertex", "openrouter")
# What clients see. Retired and disabled models are not served at all.
LIFECYCLES = ("preview", "active", "deprecated")
# The stored switch the service's query reads: only "active" documents are served.
STORAGE_STATUSES = ("active", "disabled", "retired")
BILLING_UNITS = ("token", "image")
# What a price of `cost_per_1k_output` is per, for each billing unit (served as output_price_per).
OUTPUT_PRICE_PER = {"token": "1k_tokens", "image": "image"}
# What a model takes in and gives out, in this order.
MODALITIES = ("text", "image", "audio", "video", "file")
OWNED_BY = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
OWNED_BY_RULE = "[a-z0-9][a-z0-9-]{0,63}"
# Aggregators a model can be routed through, and the providers whose models must say how.
AGGREGATORS = ("openrouter",)
PROVIDERS_REQUIRING_ROUTING = ("openrouter",)
ROUTING_PREFERENCES = ("order", "only", "allow_fallbacks", "ignore", "max_price")
# OpenRouter's `provider.max_price`: USD per 1M prompt / completion tokens, per image, per request.
MAX_PRICE_FIELDS = ("prompt", "completion", "image", "request")
_AGGREGATOR_MODEL = re.compile(r"[a-z0-9][a-z0-9._:/-]{0,127}")
_ENDPOINT_SLUG = re.compile(r"[a-z0-9][a-z0-9._/-]{0,63}")
MODEL_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MODEL_ID_RULE = "[a-z0-9][a-z0-9._-]{0,63}"


class InvalidCatalogDocument(ValueError):
    """A catalog document that cannot be served as a Model."""


@dataclass(frozen=True)
class PriceTier:
    """Prices that apply to a whole request once its prompt has more than `above_input_tokens`."""

    above_input_tokens: int
    input_per_1k_tokens: float
    output_per_1k_tokens: float
    cached_input_per_1k_tokens: float | None
    cache_write_per_1k_tokens: float | None


@dataclass(frozen=True)
class Pricing:
    """Every way the upstream bills, in credits with the margin applied."""

    billed_per: str
    input_per_1k_tokens: float
    output_per_1k_tokens: float
    cached_input_per_1k_tokens: float | None
    cache_write_per_1k_tokens: float | None
    audio_input_per_1k_tokens: float | None
    output_per_image: float | None
    long_context_tiers: tuple[PriceTier, ...]
    valid_until: dt.date | None = None

    def is_valid_on(self, day: dt.date) -> bool:
        """False after `valid_until`: the upstream price this one was derived from has ended."""
        return self.valid_until is None or day <= self.valid_until

    def public_dict(self) -> dict[str, Any]:
        return {
            "unit": "credits",
            "billed_per": self.billed_per,
            "input_per_1k_tokens": self.input_per_1k_tokens,
            "output_per_1k_tokens": self.output_per_1k_tokens,
            "cached_input_per_1k_tokens": self.cached_input_per_1k_tokens,
            "cache_write_per_1k_tokens": self.cache_write_per_1k_tokens,
            "audio_input_per_1k_tokens": self.audio_input_per_1k_tokens,
            "output_per_image": self.output_per_image,
            "long_context_tiers": [
                {
                    "above_input_tokens": tier.above_input_tokens,
                    "input_per_1k_tokens": tier.input_per_1k_tokens,
                    "output_per_1k_tokens": tier.output_per_1k_tokens,
                    "cached_input_per_1k_tokens": tier.cached_input_per_1k_tokens,
                    "cache_write_per_1k_tokens": tier.cache_write_per_1k_tokens,
                }
                for tier in self.long_context_tiers
            ],
            "valid_until": _iso(self.valid_until),
        }


@dataclass(frozen=True)
class PriceChange:
    """A price that replaces the model's from `effective_at` (UTC) on."""

    effective_at: dt.datetime
    cost_per_1k_input: float
    cost_per_1k_output: float
    pricing: Pricing

    def public_dict(self) -> dict[str, Any]:
        return {
            "effective_at": iso_instant(self.effective_at),
            "cost_per_1k_input": self.cost_per_1k_input,
            "cost_per_1k_output": self.cost_per_1k_output,
            "pricing": self.pricing.public_dict(),
        }


def iso_instant(instant: dt.datetime) -> str:
    """An instant as RFC 3339 in UTC with a Z: 2027-01-01T00:00:00Z."""
    return instant.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Routing:
    """How a request for this model goes through an aggregator, and which endpoints it may use.

    `order`, `only`, `allow_fallbacks`, `ignore` and `max_price` are OpenRouter's request
    `provider` preferences; `public_dict()["provider"]` is that object exactly, so /chat can send
    it as it is. `only` also admits an endpoint's variants (`deepinfra/fp8`), `ignore` excludes
    some, and `max_price` (USD per 1M prompt / completion tokens, per image, per request) makes
    OpenRouter refuse a request no allowed endpoint serves at or under it.
    """

    aggregator: str
    model: str
    order: tuple[str, ...]
    only: tuple[str, ...]
    allow_fallbacks: bool
    ignore: tuple[str, ...] = ()
    max_price: tuple[tuple[str, float], ...] = ()

    def public_dict(self) -> dict[str, Any]:
        provider: dict[str, Any] = {
            "order": list(self.order),
            "only": list(self.only),
            "allow_fallbacks": self.allow_fallbacks,
        }
        if self.ignore:
            provider["ignore"] = list(self.ignore)
        if self.max_price:
            provider["max_price"] = dict(self.max_price)
        return {"aggregator": self.aggregator, "model": self.model, "provider": provider}


@dataclass(frozen=True)
class Model:
    """One entry of `GET /models`: the contract's nine fields first, then additive ones."""

    id: str
    name: str
    provider: str
    context_window: int
    max_output_tokens: int
    cost_per_1k_input: float
    cost_per_1k_output: float
    supports_tools: bool
    supports_vision: bool
    owned_by: str
    input_modalities: tuple[str, ...]
    output_modalities: tuple[str, ...]
    lifecycle: str
    deprecation_date: dt.date | None
    retirement_date: dt.date | None
    replacement: str | None
    pricing: Pricing
    routing: Routing | None
    price_changes: tuple[PriceChange, ...] = ()

    def priced_at(self, instant: dt.datetime) -> Model:
        """The model as sold at `instant`: the last change in effect applied, later ones kept."""
        started = [change for change in self.price_changes if change.effective_at <= instant]
        if not started:
            return self
        current = started[-1]
        return replace(
            self,
            cost_per_1k_input=current.cost_per_1k_input,
            cost_per_1k_output=current.cost_per_1k_output,
            pricing=current.pricing,
            price_changes=self.price_changes[len(started) :],
        )

    def is_served_on(self, day: dt.date) -> bool:
        """False from the retirement date on: a retired model stops being served by itself."""
        return self.retirement_date is None or day < self.retirement_date

    def public_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "cost_per_1k_input": self.cost_per_1k_input,
            "cost_per_1k_output": self.cost_per_1k_output,
            "supports_tools": self.supports_tools,
            "supports_vision": self.supports_vision,
            "output_price_per": OUTPUT_PRICE_PER[self.pricing.billed_per],
            "owned_by": self.owned_by,
            "input_modalities": list(self.input_modalities),
            "output_modalities": list(self.output_modalities),
            "lifecycle": self.lifecycle,
            "deprecation_date": _iso(self.deprecation_date),
            "retirement_date": _iso(self.retirement_date),
            "replacement": self.replacement,
            "pricing": self.pricing.public_dict(),
            "routing": self.routing.public_dict() if self.routing is not None else None,
            "price_changes": [change.public_dict() for change in self.price_changes],
        }


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


class _Reader:
    """Typed access to one document's fields; every problem names the document and field."""

    def __init__(self, doc_id: str, data: dict[str, Any], where: str = ""):
        self._doc_id = doc_id
        self._data = data
        self._where = where

    def fail(self, field: str, problem: str) -> InvalidCatalogDocument:
        return InvalidCatalogDocument(f"{self._doc_id}: {self._where}{field} {problem}")

    def text(self, field: str) -> str:
        value = self._data.get(field)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "must be a non-empty string")
        return value

    def integer(self, field: str) -> int:
        value = self._data.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(field, "must be a positive integer")
        return value

    def price(self, field: str) -> float:
        value = self._data.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise self.fail(field, "must be a non-negative number")
        return float(value)

    def optional_price(self, field: str) -> float | None:
        return None if self._data.get(field) is None else self.price(field)

    def flag(self, field: str) -> bool:
        value = self._data.get(field)
        if not isinstance(value, bool):
            raise self.fail(field, "must be a boolean")
        return value

    def optional_date(self, field: str) -> dt.date | None:
        value = self._data.get(field)
        if value is None:
            return None
        try:
            return dt.date.fromisoformat(value) if isinstance(value, str) else _not_a_date()
        except ValueError:
            raise self.fail(field, "must be a date YYYY-MM-DD") from None

    def instant(self, field: str) -> dt.datetime:
        """An RFC 3339 timestamp with its offset (2027-01-01T00:00:00Z), as an aware datetime."""
        value = self._data.get(field)
        try:
            parsed = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise self.fail(field, "must be a timestamp with its offset, e.g. 2027-01-01T00:00:00Z")
        return parsed.astimezone(dt.timezone.utc)

    def choice(self, field: str, allowed: tuple[str, ...]) -> str:
        value = self._data.get(field)
        if value not in allowed:
            raise self.fail(field, f"must be one of {', '.join(allowed)}")
        return str(value)

    def modalities(self, field: str) -> tuple[str, ...]:
        """A non-empty list of distinct MODALITIES, returned in the vocabulary's order."""
        value = self._data.get(field)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(item, str) and item in MODALITIES for item in value)
            or len(set(value)) != len(value)
        ):
            raise self.fail(field, f"must be a non-empty list of distinct {', '.join(MODALITIES)}")
        return tuple(item for item in MODALITIES if item in value)

    def table(self, field: str) -> dict[str, Any]:
        value = self._data.get(field)
        if not isinstance(value, dict):
            raise self.fail(field, "must be an object")
        return value


def _not_a_date() -> dt.date:
    raise ValueError("not a string")


def model_from_document(doc_id: str, data: dict[str, Any]) -> Model:
    """Validate a catalog document (as stored in Firestore) and build its Model."""
    read = _Reader(doc_id, data)
    model_id = data.get("id", doc_id)
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        raise read.fail("id", f"must match {MODEL_ID_RULE}")
    provider = read.choice("provider", PROVIDERS)
    context_window = read.integer("context_window")
    max_output_tokens = read.integer("max_output_tokens")
    if max_output_tokens > context_window:
        raise read.fail("max_output_tokens", "must not exceed context_window")
    cost_input, cost_output = read.price("cost_per_1k_input"), read.price("cost_per_1k_output")
    pricing = _pricing(doc_id, read.table("pricing"), context_window)
    if pricing.input_per_1k_tokens != cost_input:
        raise read.fail("pricing.input_per_1k_tokens", "must equal cost_per_1k_input (base tier)")
    if pricing.output_per_1k_tokens != cost_output:
        raise read.fail("pricing.output_per_1k_tokens", "must equal cost_per_1k_output")

    lifecycle = read.choice("lifecycle", LIFECYCLES)
    deprecation_date = read.optional_date("deprecation_date")
    retirement_date = read.optional_date("retirement_date")
    replacement = data.get("replacement")
    if replacement is not None and (
        not isinstance(replacement, str) or not MODEL_ID.fullmatch(replacement)
    ):
        raise read.fail("replacement", f"must be a model id ({MODEL_ID_RULE})")
    if replacement == model_id:
        raise read.fail("replacement", "must be another model")
    if lifecycle == "deprecated" and deprecation_date is None:
        raise read.fail("deprecation_date", "is required for a deprecated model")
    if lifecycle != "deprecated" and deprecation_date is not None:
        raise read.fail("lifecycle", "must be deprecated when a deprecation_date is set")
    if deprecation_date and retirement_date and retirement_date < deprecation_date:
        raise read.fail("retirement_date", "must not be before deprecation_date")
    routing = routing_from_document(doc_id, provider, data.get("routing"))
    price_changes = _price_changes(doc_id, data.get("price_changes"), pricing, context_window)
    owned_by = data.get("owned_by")
    if not isinstance(owned_by, str) or not OWNED_BY.fullmatch(owned_by):
        raise read.fail("owned_by", f"must be the maker's slug ({OWNED_BY_RULE}), e.g. google")
    input_modalities = read.modalities("input_modalities")
    output_modalities = read.modalities("output_modalities")
    supports_vision = read.flag("supports_vision")
    if supports_vision != ("image" in input_modalities):
        raise read.fail("supports_vision", "must be true exactly when input_modalities has image")
    if pricing.billed_per == "image" and "image" not in output_modalities:
        raise read.fail("output_modalities", "must have image for a model billed per image")
    if pricing.audio_input_per_1k_tokens is not None and "audio" not in input_modalities:
        raise read.fail("input_modalities", "must have audio when audio input has a price")

    return Model(
        id=model_id,
        name=read.text("name"),
        provider=provider,
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        cost_per_1k_input=cost_input,
        cost_per_1k_output=cost_output,
        supports_tools=read.flag("supports_tools"),
        supports_vision=supports_vision,
        owned_by=owned_by,
        input_modalities=input_modalities,
        output_modalities=output_modalities,
        lifecycle=lifecycle,
        deprecation_date=deprecation_date,
        retirement_date=retirement_date,
        replacement=replacement,
        pricing=pricing,
        routing=routing,
        price_changes=price_changes,
    )


def _price_changes(
    doc_id: str, value: Any, base: Pricing, context_window: int
) -> tuple[PriceChange, ...]:
    """`price_changes`: announced prices, in the order they take effect (absent: none)."""
    if value is None:
        return ()
    read = _Reader(doc_id, {"price_changes": value})
    if not isinstance(value, list):
        raise read.fail("price_changes", "must be a list")
    changes: list[PriceChange] = []
    for index, data in enumerate(value):
        where = f"price_changes[{index}]."
        if not isinstance(data, dict):
            raise read.fail(f"price_changes[{index}]", "must be an object")
        item = _Reader(doc_id, data, where)
        effective_at = item.instant("effective_at")
        if changes and effective_at <= changes[-1].effective_at:
            raise item.fail("effective_at", "must be later than the change before it")
        pricing = _pricing(doc_id, item.table("pricing"), context_window, where + "pricing.")
        if pricing.billed_per != base.billed_per:
            raise item.fail("pricing.billed_per", "must be the model's billing unit")
        change = PriceChange(
            effective_at=effective_at,
            cost_per_1k_input=item.price("cost_per_1k_input"),
            cost_per_1k_output=item.price("cost_per_1k_output"),
            pricing=pricing,
        )
        if pricing.input_per_1k_tokens != change.cost_per_1k_input:
            raise item.fail("pricing.input_per_1k_tokens", "must equal cost_per_1k_input")
        if pricing.output_per_1k_tokens != change.cost_per_1k_output:
            raise item.fail("pricing.output_per_1k_tokens", "must equal cost_per_1k_output")
        changes.append(change)
    return tuple(changes)


def routing_from_document(doc_id: str, provider: str, value: Any) -> Routing | None:
    """A document's `routing` (None when it has none); required for an aggregator's models."""
    read = _Reader(doc_id, {"routing": value})
    if value is None:
        if provider in PROVIDERS_REQUIRING_ROUTING:
            raise read.fail(
                "routing",
                f"is required for a model served through {provider}: "
                "record the endpoints it may use",
            )
        return None
    data = read.table("routing")
    read = _Reader(doc_id, data, "routing.")
    unknown = sorted(set(data) - {"aggregator", "model", "provider"})
    if unknown:
        raise read.fail(unknown[0], "is not a routing field (aggregator, model, provider)")
    aggregator = read.choice("aggregator", AGGREGATORS)
    if provider in PROVIDERS_REQUIRING_ROUTING and aggregator != provider:
        raise read.fail("aggregator", f"must be {provider}, the model's provider")
    model = read.text("model")
    if not _AGGREGATOR_MODEL.fullmatch(model):
        raise read.fail("model", "must be the aggregator's model id, e.g. qwen/qwen3-32b")
    preferences = read.table("provider")
    read = _Reader(doc_id, preferences, "routing.provider.")
    unknown = sorted(set(preferences) - set(ROUTING_PREFERENCES))
    if unknown:
        raise read.fail(unknown[0], f"is not one of {', '.join(ROUTING_PREFERENCES)}")
    order = _endpoint_slugs(read, preferences, "order")
    only = _endpoint_slugs(read, preferences, "only")
    outside = [slug for slug in order if slug not in only]
    if outside:
        raise read.fail("order", f"names {outside[0]!r}, which only does not allow")
    ignore = _endpoint_slugs(read, preferences, "ignore") if "ignore" in preferences else ()
    max_price = _max_price(read, preferences.get("max_price"))
    if provider in PROVIDERS_REQUIRING_ROUTING and not max_price:
        raise read.fail(
            "max_price",
            "is required: the per-request cap (USD per 1M prompt and completion tokens) that "
            "keeps a request from costing more than we charge",
        )
    return Routing(
        aggregator=aggregator,
        model=model,
        order=order,
        only=only,
        allow_fallbacks=read.flag("allow_fallbacks"),
        ignore=ignore,
        max_price=max_price,
    )


def _max_price(read: _Reader, value: Any) -> tuple[tuple[str, float], ...]:
    """`max_price` as (field, USD) pairs; prompt and completion required when it is given."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise read.fail("max_price", "must be an object")
    unknown = sorted(set(value) - set(MAX_PRICE_FIELDS))
    if unknown:
        raise read.fail(f"max_price.{unknown[0]}", f"is not one of {', '.join(MAX_PRICE_FIELDS)}")
    inner = _Reader(read._doc_id, value, read._where + "max_price.")
    for name in ("prompt", "completion"):
        if name not in value:
            raise inner.fail(name, "is required")
    return tuple((name, inner.price(name)) for name in MAX_PRICE_FIELDS if name in value)


def _endpoint_slugs(read: _Reader, data: dict[str, Any], field: str) -> tuple[str, ...]:
    value = data.get(field)
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(slug, str) and _ENDPOINT_SLUG.fullmatch(slug) for slug in value)
    ):
        raise read.fail(field, "must be a non-empty list of endpoint slugs, e.g. deepinfra")
    if len(set(value)) != len(value):
        raise read.fail(field, "must not name an endpoint twice")
    return tuple(value)


def _pricing(
    doc_id: str, data: dict[str, Any], context_window: int, where: str = "pricing."
) -> Pricing:
    read = _Reader(doc_id, data, where)
    if data.get("unit", "credits") != "credits":
        raise read.fail("unit", "must be credits")
    billed_per = read.choice("billed_per", BILLING_UNITS)
    output_per_image = read.optional_price("output_per_image")
    output = read.price("output_per_1k_tokens")
    if billed_per == "image":
        # A client that reads only the contract's fields must see what an image costs:
        # each generated image is metered as 1,000 output tokens.
        if output_per_image is None:
            raise read.fail("output_per_image", "is required when billed_per is image")
        if output != output_per_image:
            raise read.fail("output_per_1k_tokens", "must equal output_per_image (1 image = 1k)")
    elif output_per_image is not None:
        raise read.fail("output_per_image", "is only for models billed per image")
    base_input = read.price("input_per_1k_tokens")
    cached = read.optional_price("cached_input_per_1k_tokens")
    cache_write = read.optional_price("cache_write_per_1k_tokens")
    tiers_data = data.get("long_context_tiers") or []
    if not isinstance(tiers_data, list):
        raise read.fail("long_context_tiers", "must be a list")
    tiers: list[PriceTier] = []
    for index, tier_data in enumerate(tiers_data):
        if not isinstance(tier_data, dict):
            raise read.fail(f"long_context_tiers[{index}]", "must be an object")
        tier_read = _Reader(doc_id, tier_data, f"{where}long_context_tiers[{index}].")
        tier = PriceTier(
            above_input_tokens=tier_read.integer("above_input_tokens"),
            input_per_1k_tokens=tier_read.price("input_per_1k_tokens"),
            output_per_1k_tokens=tier_read.price("output_per_1k_tokens"),
            cached_input_per_1k_tokens=tier_read.optional_price("cached_input_per_1k_tokens"),
            cache_write_per_1k_tokens=tier_read.optional_price("cache_write_per_1k_tokens"),
        )
        if tier.above_input_tokens >= context_window:
            raise tier_read.fail("above_input_tokens", "must be below context_window")
        if tiers and tier.above_input_tokens <= tiers[-1].above_input_tokens:
            raise tier_read.fail("above_input_tokens", "must increase from tier to tier")
        if cached is not None and tier.cached_input_per_1k_tokens is None:
            raise tier_read.fail(
                "cached_input_per_1k_tokens", "is required: the base tier prices cached input"
            )
        if cache_write is not None and tier.cache_write_per_1k_tokens is None:
            raise tier_read.fail(
                "cache_write_per_1k_tokens", "is required: the base tier prices cache writes"
            )
        previous = tiers[-1] if tiers else None
        floor_input = previous.input_per_1k_tokens if previous else base_input
        floor_output = previous.output_per_1k_tokens if previous else output
        if tier.input_per_1k_tokens < floor_input or tier.output_per_1k_tokens < floor_output:
            raise tier_read.fail("input_per_1k_tokens", "a longer prompt must not cost less")
        tiers.append(tier)
    return Pricing(
        billed_per=billed_per,
        input_per_1k_tokens=base_input,
        output_per_1k_tokens=output,
        cached_input_per_1k_tokens=cached,
        cache_write_per_1k_tokens=cache_write,
        audio_input_per_1k_tokens=read.optional_price("audio_input_per_1k_tokens"),
        output_per_image=output_per_image,
        long_context_tiers=tuple(tiers),
        valid_until=read.optional_date("valid_until"),
    )


RETIRED_STATUS = "retired"


@dataclass(frozen=True)
class Retirement:
    """A model that is no longer served: `GET /models/{id}` answers 410 naming the successor."""

    model_id: str
    replacement: str | None
    retirement_date: dt.date | None


def retirement_from_document(doc_id: str, data: dict[str, Any]) -> Retirement:
    """What a retired document still says: its successor and since when (both optional).

    A retired document may lack a price and other fields a served model needs; only the two
    fields read here matter, and a malformed one is dropped rather than failing the catalog.
    """
    replacement = data.get("replacement")
    if not isinstance(replacement, str) or not MODEL_ID.fullmatch(replacement):
        replacement = None
    try:
        retired_on = _Reader(doc_id, data).optional_date("retirement_date")
    except InvalidCatalogDocument:
        retired_on = None
    return Retirement(doc_id, replacement if replacement != doc_id else None, retired_on)
