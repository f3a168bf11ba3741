"""Who made a request, as far as logs are concerned (never a secret)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: an API key (by display prefix) or a Firebase user (by uid)."""

    kind: Literal["api_key", "firebase"]
    subject: str
