"""The served catalog as a Markdown table for docs/catalog.md (`python -m catalog_seed table`).

The table names the day it describes in its first line; a test regenerates it from the data for
that day, so the copy cannot drift from the data and does not go stale by the calendar alone.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from catalog_seed.seed import is_retired_on

TABLE_START_PREFIX = "<!-- catalog-table:start (python -m catalog_seed table --on "
TABLE_START = TABLE_START_PREFIX + "{served_on}) -->"
TABLE_END = "<!-- catalog-table:end -->"


def markdown_table(documents: dict[str, dict[str, Any]], served_on: dt.date) -> list[str]:
    """One row per model served on `served_on`, ordered like the API; prices in credits.

    Served means what the service lists that day: stored as active, priced, and not past its
    retirement date (a model stops being served at 00:00 UTC on that date).
    """
    lines = [
        TABLE_START.format(served_on=served_on.isoformat()),
        f"Models served on {served_on.isoformat()} (UTC):",
        "",
        "| id | provider | lifecycle | context / max output | input / output per 1k"
        " | cached input per 1k | long prompts | other |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    ordered = sorted(documents.values(), key=lambda doc: (doc["provider"], doc["id"]))
    for doc in ordered:
        started = [c for c in doc.get("price_changes", [])
                   if c["effective_at"][:10] <= served_on.isoformat()]  # fmt: skip
        if started:  # the price in effect that day (changes start at midnight UTC here)
            current = started[-1]
            doc = {**doc, **{key: current[key] for key in _PRICE_KEYS}}
        pricing = doc.get("pricing")
        if doc.get("status") != "active" or pricing is None:
            continue
        if is_retired_on(doc, served_on):
            continue
        lifecycle = doc["lifecycle"]
        if doc.get("retirement_date"):
            lifecycle += f", not served from {doc['retirement_date']}"
        if doc.get("replacement"):
            lifecycle += f" (use {doc['replacement']})"
        if pricing["billed_per"] == "image":
            image = _n(pricing["output_per_image"])
            prices = f"{_n(pricing['input_per_1k_tokens'])} / {image} per image"
        else:
            prices = f"{_n(doc['cost_per_1k_input'])} / {_n(doc['cost_per_1k_output'])}"
        tiers = "; ".join(
            f"> {tier['above_input_tokens']:,} prompt tokens: "
            f"{_n(tier['input_per_1k_tokens'])} / {_n(tier['output_per_1k_tokens'])}"
            for tier in pricing["long_context_tiers"]
        )
        other = []
        if pricing["cache_write_per_1k_tokens"] is not None:
            other.append(f"cache write {_n(pricing['cache_write_per_1k_tokens'])}")
        if pricing["audio_input_per_1k_tokens"] is not None:
            other.append(f"audio input {_n(pricing['audio_input_per_1k_tokens'])}")
        if doc.get("routing"):
            endpoints = ", ".join(doc["routing"]["provider"]["only"])
            other.append(f"{doc['routing']['aggregator']} endpoints: {endpoints}")
        if pricing.get("valid_until"):
            other.append(f"price valid until {pricing['valid_until']}")
        for change in doc.get("price_changes", []):
            if change["effective_at"][:10] > served_on.isoformat():
                other.append(
                    f"from {change['effective_at']}: {_n(change['cost_per_1k_input'])} / "
                    f"{_n(change['cost_per_1k_output'])}"
                )
        if doc.get("price_basis"):
            other.append("platform price: " + doc["price_basis"].split(",")[0].split(": ")[-1])
        lines.append(
            f"| `{doc['id']}` | {doc['provider']} | {lifecycle} | "
            f"{doc['context_window']:,} / {doc['max_output_tokens']:,} | {prices} | "
            f"{_n(pricing['cached_input_per_1k_tokens'])} | {tiers or '-'} | "
            f"{', '.join(other) or '-'} |"
        )
    lines.append(TABLE_END)
    return lines


_PRICE_KEYS = ("cost_per_1k_input", "cost_per_1k_output", "pricing")


def _n(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def table_date(page: str) -> dt.date:
    """The day a page's table describes, read from its first line."""
    start = page.index(TABLE_START_PREFIX) + len(TABLE_START_PREFIX)
    return dt.date.fromisoformat(page[start : page.index(")", start)])
