"""When a key index read may replace the instance's index: never emptied, never a sudden shrink.

A wrong database, a deleted collection or a restarted emulator reads as "no keys". Taking
that read would answer every valid key 401, so such a read is refused: the instance keeps the
index it holds (within API_KEY_MAX_STALE_SECONDS) and logs an ERROR.

What is counted is active keys. key_admin records, with every change, the active count of the
shard it writes in the index head (`active`), so a read that returns exactly the recorded
total is taken however much smaller it is: an operator's large revocation is not a bad read.
Rationale: docs/api-keys.md#when-the-index-refuses-a-read.
"""

from __future__ import annotations

from models_api.catalog.guard import minimum_kept

DEFAULT_MAX_SHRINK_FRACTION = 0.25


def refusal_reason(
    read: int, held: int | None, recorded: int | None, max_shrink_fraction: float
) -> str | None:
    """Why a read holding `read` active keys must not replace the index, or None to take it.

    `held` is the active count the instance holds (None: nothing loaded yet); `recorded` is
    the total key_admin recorded in the head (None: no complete record).
    """
    if recorded is not None and read == recorded:
        return None  # what the operators' last changes left
    baseline = held if held is not None else recorded
    if not baseline:
        return None  # nothing to lose
    if read == 0:
        return "the read holds no active keys"
    if read >= minimum_kept(baseline, max_shrink_fraction):
        return None
    source = "held" if held is not None else "recorded by key_admin"
    noted = f", key_admin recorded {recorded}" if held is not None and recorded is not None else ""
    return (
        f"the read holds {read} active keys, {baseline} are {source}{noted}: a loss of more "
        f"than {max_shrink_fraction:.0%} at once (API_KEY_MAX_SHRINK_FRACTION)"
    )
