"""Reading catalog_seed/acknowledgements.toml: its arrays of tables, and their dates.

Both kinds of reviewed record it holds (`[[acknowledged]]` findings, `[[left_out]]` models)
are read through here, so a malformed file is refused the same way, naming the file, the entry
and the field.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any


def array_of_tables(
    path: Path, key: str, error: type[ValueError]
) -> list[tuple[str, dict[str, Any]]]:
    """The `[[key]]` tables of `path` (none when absent), each with where it stands
    (`path: key[i]`); `error` names the file or entry that is not so."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as problem:
        raise error(f"{path}: cannot be read: {problem}") from None
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise error(f"{path}: {key} must be an array of tables")
    tables = []
    for index, entry in enumerate(entries):
        where = f"{path}: {key}[{index}]"
        if not isinstance(entry, dict):
            raise error(f"{where}: must be a table")
        tables.append((where, entry))
    return tables


def date_field(entry: dict[str, Any], name: str, where: str, error: type[ValueError]) -> dt.date:
    """`entry[name]` as a TOML date (not a date-time); `error` naming the field otherwise."""
    value = entry.get(name)
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise error(f"{where}.{name}: must be a date (YYYY-MM-DD)")
    return value
