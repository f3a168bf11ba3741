"""An aggregator model's price must cover every endpoint its routing allows.

OpenRouter may serve a request from any endpoint in the routing's `only` list, each at its own
price. The data records each allowed endpoint's upstream prices (`[[models.routing.endpoints]]`)
and the model's price must be, field by field, the HIGHEST of them. An endpoint that states no
cached-input, cache-write or audio price bills those tokens as plain input, so its input price
stands in; a field the model does not price is billed at the model's input price, so no endpoint
may charge more for it than that.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

ENDPOINT_FIELDS: dict[str, type] = {
    "slug": str,
    "source": str,
    "input_per_1m": str,
    "output_per_1m": str,
    "cached_input_per_1m": str,
    "cache_write_per_1m": str,
    "audio_input_per_1m": str,
    "per_image_output": str,
}
# Billed as plain input where an endpoint (or the model) states no price of its own.
BILLED_AS_INPUT_OTHERWISE = ("cached_input_per_1m", "cache_write_per_1m", "audio_input_per_1m")
ALWAYS_STATED = ("input_per_1m", "output_per_1m", "per_image_output")

Problem = tuple[str, str]  # (field path, what is wrong)


def endpoint_price_problems(
    endpoints: Any, allowed: list[str], model_usd: dict[str, Any]
) -> list[Problem]:
    """Every way `model_usd` fails to be the highest price among the `allowed` endpoints."""
    parsed, problems = _parse(endpoints)
    if problems:
        return problems
    slugs = [slug for slug, _ in parsed]
    for slug in allowed:
        if slug not in slugs:
            problems.append(("routing.endpoints", f"no prices for {slug!r}, which routing allows"))
    for slug in slugs:
        if slug not in allowed:
            problems.append(("routing.endpoints", f"{slug!r} is not an endpoint routing allows"))
    if problems:
        return problems

    ours = {
        name: Decimal(value)
        for name, value in model_usd.items()
        if name in ENDPOINT_FIELDS and isinstance(value, str)
    }
    for name in ENDPOINT_FIELDS:
        if name in ("slug", "source"):
            continue
        charged = [(slug, _charge(prices, name)) for slug, prices in parsed]
        if name in ours:
            missing = [slug for slug, amount in charged if amount is None]
            if missing:
                problems.append(
                    (f"price.{name}", f"endpoint {missing[0]!r} states no {name}: record it")
                )
                continue
            highest, highest_slug = max(
                (amount, slug) for slug, amount in charged if amount is not None
            )
            if ours[name] != highest:
                problems.append(
                    (
                        f"price.{name}",
                        f"US${ours[name]} is not the highest among the allowed endpoints: "
                        f"{highest_slug!r} charges US${highest}",
                    )
                )
        elif name in BILLED_AS_INPUT_OTHERWISE and "input_per_1m" in ours:
            # We bill these tokens as input: no endpoint may charge more for them.
            for slug, amount in charged:
                if amount is not None and amount > ours["input_per_1m"]:
                    problems.append(
                        (
                            f"price.{name}",
                            f"missing: endpoint {slug!r} charges US${amount}, more than our "
                            f"input price US${ours['input_per_1m']}",
                        )
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
