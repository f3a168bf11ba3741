"""When a catalog read may replace the served catalog: never empty, never a sudden large shrink.

A wrong FIRESTORE_DATABASE, a deleted collection, a restarted emulator or a half-finished
migration all read as "fewer models" (often none). Serving that would tell every customer
that models do not exist, so such a read is refused: the instance keeps the catalog it has
(within CATALOG_MAX_STALE_SECONDS) and logs an ERROR; an instance with nothing yet answers 503.

An intended large removal goes through `python -m catalog_seed --confirm`, which records the
number of active models it left in the catalog state document. A read that returns exactly
that number is taken, however much smaller it is than what an instance serves.

The service and the seed script both use this module: one rule, one place.
"""

from __future__ import annotations

import math
from typing import Any

DEFAULT_MAX_SHRINK_FRACTION = 0.25
# The catalog state document: STATE_COLLECTION/<catalog collection>, written by the seed.
STATE_COLLECTION = "catalog_state"
EXPECTED_ACTIVE_MODELS = "active_models"


def recorded_active_models(state: dict[str, Any] | None) -> int | None:
    """The active-model count the last seed recorded in its state document, None if absent."""
    value = (state or {}).get(EXPECTED_ACTIVE_MODELS)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def minimum_kept(baseline: int, max_shrink_fraction: float) -> int:
    """The fewest models a read may return against `baseline` without being refused."""
    return max(1, math.ceil(baseline * (1 - max_shrink_fraction) - 1e-9))


def refusal_reason(
    read: int, served: int | None, expected: int | None, max_shrink_fraction: float
) -> str | None:
    """Why a read of `read` active models must not replace the catalog, or None to take it.

    `served` is what the instance serves now (None: nothing yet); `expected` is the count the
    seed recorded (None: no record). The baseline is what is served, else the record.
    """
    if read == 0:
        return "the read returned no models"
    if expected is not None and read == expected:
        return None  # what the last seed left: an intended removal
    baseline = served if served is not None else expected
    if baseline is None or read >= minimum_kept(baseline, max_shrink_fraction):
        return None
    source = "served" if served is not None else "recorded by the last seed"
    recorded = f", the last seed recorded {expected}" if served is not None and expected else ""
    return (
        f"the read returned {read} models, {baseline} are {source}{recorded}: a loss of more "
        f"than {max_shrink_fraction:.0%} at once (CATALOG_MAX_SHRINK_FRACTION)"
    )
