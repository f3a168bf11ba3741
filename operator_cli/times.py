"""Times an operator types: relative (`90s`, `15m`, `12h`, `30d`) or ISO 8601."""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta, timezone

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
RELATIVE = re.compile(r"^(\d{1,9})([smhd])$")
ACCEPTED = "a relative time (90s, 15m, 12h, 30d) or an ISO 8601 time (UTC if no offset)"


def parse_time(value: str, now: datetime | None = None) -> datetime:
    """`value` as an aware UTC-or-offset datetime; argparse.ArgumentTypeError if it is neither
    a relative time from now nor an ISO 8601 time."""
    relative = RELATIVE.match(value.strip())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        start = now or datetime.now(timezone.utc)
        return start + timedelta(**{UNITS[unit]: amount})
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not {ACCEPTED}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
