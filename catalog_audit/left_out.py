"""Models deliberately not served, and why: `[[left_out]]` tables of the acknowledgements file.

A left-out model is an upstream model (genai-prices' "provider/model" id) that the audit would
report as `newer_model_available`. While its record lasts (`until`, inclusive, UTC) the finding
is still reported with the recorded reason, source and checked date, but neither fails the run
nor alerts; after it, the finding counts again and says the record expired. A malformed record
is refused (the message names the file, the entry and the field).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog_audit.review_file import array_of_tables, date_field

_FIELDS = ("upstream", "reason", "source", "checked", "until")


@dataclass(frozen=True)
class LeftOut:
    """One upstream model the catalog does not serve, with the reviewed reason."""

    upstream: str  # genai-prices' "provider/model", e.g. "openai/gpt-5.5"
    reason: str
    source: str  # where the facts behind the reason were read
    checked: dt.date  # when they were read
    until: dt.date  # review again after this day

    def applies_on(self, today: dt.date) -> bool:
        return today <= self.until

    def described(self) -> str:
        return (f"left out: {self.reason} (source: {self.source}; checked "
                f"{self.checked.isoformat()}; until {self.until.isoformat()})")  # fmt: skip


class LeftOutError(ValueError):
    """The left-out records cannot be read; the message names the file, entry and field."""


def load_left_out(path: Path) -> dict[str, LeftOut]:
    """The `[[left_out]]` records of `path` by upstream id (none when the file has none)."""
    found: dict[str, LeftOut] = {}
    for where, entry in array_of_tables(path, "left_out", LeftOutError):
        record = _record(entry, where)
        if record.upstream in found:
            raise LeftOutError(f"{where}.upstream: {record.upstream!r} twice")
        found[record.upstream] = record
    return found


def _record(entry: dict[str, Any], where: str) -> LeftOut:
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise LeftOutError(f"{where}.{unknown[0]}: unknown field")
    for name in ("upstream", "reason", "source"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise LeftOutError(f"{where}.{name}: must be a non-empty string")
    provider, _, model = entry["upstream"].partition("/")
    if not provider or not model:
        raise LeftOutError(f"{where}.upstream: must be genai-prices' 'provider/model'")
    checked = date_field(entry, "checked", where, LeftOutError)
    until = date_field(entry, "until", where, LeftOutError)
    if until < checked:
        raise LeftOutError(f"{where}.until: is before checked")
    return LeftOut(entry["upstream"], entry["reason"], entry["source"], checked, until)
