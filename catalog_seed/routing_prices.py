"""An aggregator model's price must cover every endpoint its routing allows, and its cap.

OpenRouter may serve a request from any endpoint in the routing's `only` list (or a variant of
one, `deepinfra/fp8`, unless `ignore` names it), each at its own price. The data records each
allowed endpoint's prices as OpenRouter bills them (`[[models.routing.endpoints]]`) and the
model's price must be, field by field, the HIGHEST of them (`highest_charges`, the one rule the
seed and the audit share): an endpoint that states no cached-input, cache-write or audio price
bills those tokens as plain input, so its input price stands in; a field the model does not
price is billed at the model's input price, so no endpoint may charge more for it than that.

`max_price` (USD per 1M prompt / completion tokens, per image, per request) must be at or above
every allowed endpoint's price (normal traffic is served) and at or below our price / margin
(a request OpenRouter accepts never costs more than we charge): `max_price_problems`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from catalog_seed.pricing import PricingPolicy

# The upstream prices (USD strings, per 1M tokens or per image) a model's `[models.price]` and
# each of its routing's endpoints state in the same fields.
UPSTREAM_PRICES = (
    "input_per_1m",
    "output_per_1m",
    "cached_input_per_1m",
    "cache_write_per_1m",
    "audio_input_per_1m",
    "per_image_output",
)
ENDPOINT_FIELDS: dict[str, type] = {
    "slug": str,
    "source": str,
    **dict.fromkeys(UPSTREAM_PRICES, str),
}
# Billed as plain input where an endpoint (or the model) states no price of its own.
BILLED_AS_INPUT_OTHERWISE = ("cached_input_per_1m", "cache_write_per_1m", "audio_input_per_1m")

Problem = tuple[str, str]  # (field path, what is wrong)


def allowed_by(slug: str, only: Iterable[str], ignore: Iterable[str] = ()) -> bool:
    """`only = ["deepinfra"]` allows deepinfra and its variants (deepinfra/fp8), less `ignore`."""

    def matches(names: Iterable[str]) -> bool:
        return any(slug == name or slug.startswith(name + "/") for name in names)

    return matches(only) and not matches(ignore)


def highest_charges(
    endpoints: Iterable[tuple[str, dict[str, Decimal]]],
) -> dict[str, tuple[Decimal, str]]:
    """Per billed field, the highest charge among `endpoints` and the slug that charges it.

    A field appears when at least one endpoint states it; an endpoint that does not state a
    field billed as input otherwise is charged its input price for it.
    """
    listed = list(endpoints)
    stated = {name for _, prices in listed for name in prices}
    highest: dict[str, tuple[Decimal, str]] = {}
    for name in stated:
        charged = [(amount, slug) for slug, prices in listed
                   if (amount := _charge(prices, name)) is not None]  # fmt: skip
        if charged:
            highest[name] = max(charged)
    return highest


def endpoint_price_problems(
    endpoints: Any, allowed: list[str], model_usd: dict[str, Any], ignore: list[str] | None = None
) -> list[Problem]:
    """Every way `model_usd` fails to be the highest price among the `allowed` endpoints."""
    parsed, problems = _parse(endpoints)
    if problems:
        return problems
    slugs = [slug for slug, _ in parsed]
    for slug in allowed:
        if not any(allowed_by(found, [slug]) for found in slugs):
            problems.append(("routing.endpoints", f"no prices for {slug!r}, which routing allows"))
    for slug in slugs:
        if not allowed_by(slug, allowed, ignore or []):
            problems.append(("routing.endpoints", f"{slug!r} is not an endpoint routing allows"))
    if problems:
        return problems

    ours = {
        name: Decimal(value)
        for name, value in model_usd.items()
        if name in ENDPOINT_FIELDS and isinstance(value, str)
    }
    highest = highest_charges(parsed)
    for name in UPSTREAM_PRICES:
        if name in ours:
            missing = [slug for slug, prices in parsed if _charge(prices, name) is None]
            if missing:
                problems.append(
                    (f"price.{name}", f"endpoint {missing[0]!r} states no {name}: record it")
                )
                continue
            top, top_slug = highest[name]
            if ours[name] != top:
                problems.append(
                    (
                        f"price.{name}",
                        f"US${ours[name]} is not the highest among the allowed endpoints: "
                        f"{top_slug!r} charges US${top}",
                    )
                )
        elif name in BILLED_AS_INPUT_OTHERWISE and "input_per_1m" in ours:
            # We bill these tokens as input: no endpoint may charge more for them.
            for slug, prices in parsed:
                amount = prices.get(name)
                if amount is not None and amount > ours["input_per_1m"]:
                    problems.append(
                        (
                            f"price.{name}",
                            f"missing: endpoint {slug!r} charges US${amount}, more than our "
                            f"input price US${ours['input_per_1m']}",
                        )
                    )
    return problems


# max_price field -> the endpoint/model price field it caps
MAX_PRICE_CAPS = {
    "prompt": "input_per_1m",
    "completion": "output_per_1m",
    "image": "per_image_output",
}


def max_price_problems(
    max_price: Any, endpoints: Any, credits: dict[str, float], policy: PricingPolicy
) -> list[Problem]:
    """Where `max_price` (USD strings) would refuse an allowed endpoint, or let a request cost
    more than we charge: `credits` are our prices (credits per 1k tokens, per image)."""
    if not isinstance(max_price, dict) or not max_price:
        return [("routing.max_price", "missing: the per-request cap OpenRouter enforces")]
    parsed, problems = _parse(endpoints)
    if problems:
        return []  # endpoint_price_problems reports them
    highest = highest_charges(parsed)
    for name in ("prompt", "completion"):
        if name not in max_price:
            problems.append((f"routing.max_price.{name}", "missing"))
    for name, value in max_price.items():
        where = f"routing.max_price.{name}"
        try:
            cap = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            cap = None
        if cap is None or not cap.is_finite() or cap < 0:
            problems.append((where, f"must be a quoted non-negative decimal, got {value!r}"))
            continue
        field = MAX_PRICE_CAPS.get(name)
        if field is None:
            problems.append((where, "is not capped by any price we charge: leave it out"))
            continue
        if field in highest and cap < highest[field][0]:
            slug = highest[field][1]
            problems.append(
                (
                    where,
                    f"US${cap} refuses endpoint {slug!r} (US${highest[field][0]}): normal "
                    "traffic would fail; raise it to the highest endpoint price",
                )  # fmt: skip
            )
        ours = credits.get(field)
        if ours is None:
            continue
        per_unit = Decimal(str(ours)) * policy.usd_per_credit / policy.margin
        ceiling = per_unit if field == "per_image_output" else per_unit * 1000
        if cap > ceiling:
            problems.append(
                (
                    where,
                    f"US${cap} is above our price / {policy.margin} = US${ceiling:f}: a "
                    "request could cost more than we charge",
                )  # fmt: skip
            )
    return problems


def _charge(prices: dict[str, Decimal], name: str) -> Decimal | None:
    """What the endpoint charges for `name` (its input price where it states none)."""
    if name in prices:
        return prices[name]
    if name in BILLED_AS_INPUT_OTHERWISE:
        return prices.get("input_per_1m")
    return None


def _parse(endpoints: Any) -> tuple[list[tuple[str, dict[str, Decimal]]], list[Problem]]:
    if not isinstance(endpoints, list) or not endpoints:
        return [], [("routing.endpoints", "missing: record each allowed endpoint's prices")]
    parsed: list[tuple[str, dict[str, Decimal]]] = []
    problems: list[Problem] = []
    for index, endpoint in enumerate(endpoints):
        where = f"routing.endpoints[{index}]"
        if not isinstance(endpoint, dict):
            problems.append((where, "must be a table"))
            continue
        for name, value in endpoint.items():
            if name not in ENDPOINT_FIELDS:
                problems.append((f"{where}.{name}", "unknown field"))
            elif not isinstance(value, str):
                problems.append((f"{where}.{name}", 'must be a quoted string, e.g. "0.25"'))
        for name in ("slug", "source"):
            if not endpoint.get(name):
                problems.append((f"{where}.{name}", "missing"))
        prices: dict[str, Decimal] = {}
        for name, value in endpoint.items():
            if name in ("slug", "source") or name not in ENDPOINT_FIELDS:
                continue
            try:
                number = Decimal(value) if isinstance(value, str) else None
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite() or number < 0:
                problems.append((f"{where}.{name}", f"not a non-negative decimal: {value!r}"))
            else:
                prices[name] = number
        if "input_per_1m" not in prices:
            problems.append((f"{where}.input_per_1m", "missing"))
        slug = endpoint.get("slug")
        if isinstance(slug, str) and any(slug == seen for seen, _ in parsed):
            problems.append((f"{where}.slug", f"{slug!r} is listed twice"))
        parsed.append((str(slug), prices))
    return parsed, problems
