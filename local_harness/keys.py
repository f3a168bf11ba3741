"""Key helpers shared by tests and the bench."""

from __future__ import annotations


def with_bad_checksum(api_key: str) -> str:
    """The key with its last checksum character changed: well-shaped, never valid."""
    return api_key[:-1] + ("A" if api_key[-1] != "A" else "B")
