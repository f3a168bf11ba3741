"""Models deliberately not served, and why: `[[left_out]]` tables of the acknowledgements file.

A left-out model is an upstream model (genai-prices' "provider/model" id) that the audit would
report as `newer_model_available`. While its record lasts (`until`, inclusive, UTC) the finding
is still reported with the recorded reason, source and checked date, but neither fails the run
nor alerts; after it, the finding counts again and says the record expired. A malformed record
is refused (the message names the file, the entry and the field).
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LeftOutError(f"{path}: cannot be read: {error}") from None
    entries = data.get("left_out", [])
    if not isinstance(entries, list):
        raise LeftOutError(f"{path}: left_out must be an array of tables")
    found: dict[str, LeftOut] = {}
    for index, entry in enumerate(entries):
        record = _record(entry, f"{path}: left_out[{index}]")
        if record.upstream in found:
            raise LeftOutError(f"{path}: left_out[{index}].upstream: {record.upstream!r} twice")
        found[record.upstream] = record
    return found


def _record(entry: object, where: str) -> LeftOut:
    if not isinstance(entry, dict):
        raise LeftOutError(f"{where}: must be a table")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise LeftOutError(f"{where}.{unknown[0]}: unknown field")
    for name in ("upstream", "reason", "source"):
        if not isinstance(entry.get(name), str) or not entry[name].strip():
            raise LeftOutError(f"{where}.{name}: must be a non-empty string")
    provider, _, model = entry["upstream"].partition("/")
    if not provider or not model:
        raise LeftOutError(f"{where}.upstream: must be genai-prices' 'provider/model'")
    for name in ("checked", "until"):
        value = entry.get(name)
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise LeftOutError(f"{where}.{name}: must be a date (YYYY-MM-DD)")
    if entry["until"] < entry["checked"]:
        raise LeftOutError(f"{where}.until: is before checked")
    return LeftOut(entry["upstream"], entry["reason"], entry["source"], entry["checked"],
                   entry["until"])  # fmt: skip
