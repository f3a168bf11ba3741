"""Credential-shaped strings never reach a log line: API keys and JWTs are cut out.

Every line the process writes passes through `redact_credentials` (structured_log.py). An API
key keeps its public display prefix (`inf_` + 8, the part `key_admin list` shows) so the owner
can still be found; a JWT (ID or App Check token) and whatever follows `Bearer` are replaced
whole.
"""

from __future__ import annotations

import re

_API_KEY = re.compile(r"inf_([0-9A-Za-z]{8})[0-9A-Za-z]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
_BEARER = re.compile(r"(?i)(bearer)(?:\s+|%20|\+)(?!\[REDACTED)[^\s,;'\"]+")


def redact_credentials(text: str) -> str:
    """`text` with API keys (beyond their display prefix) and JWTs replaced."""
    # Substring checks keep the common case (nothing credential-shaped) cheap; a key is longer
    # than its display prefix (`inf_` + 8), which is logged as it is.
    if "inf_" in text and len(text) > 12:
        text = _API_KEY.sub(r"inf_\1[REDACTED]", text)
    if "eyJ" in text:
        text = _JWT.sub("[REDACTED JWT]", text)
    if "earer" in text or "EARER" in text:
        text = _BEARER.sub(r"\1 [REDACTED]", text)
    return text
