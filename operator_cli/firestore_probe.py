"""A first read that tells an operator at once whether Firestore is there."""

from __future__ import annotations

from typing import Any


def ensure_reachable(client: Any, collection: str, timeout: float) -> None:
    """One read without the client's retries: an unreachable Firestore fails in seconds.

    The later calls keep the client's default retry (a transient error should not abort the
    command), which would otherwise spend minutes on an emulator that is simply not running.
    """
    client.collection(collection).document("_reachability_probe").get(retry=None, timeout=timeout)
