"""Credential-shaped strings never reach a log line: API keys and JWTs are cut out.

A client that puts its key in the path (`GET /models/inf_...`), a user agent or a request id
must not leave it in the logs. An API key keeps its public display prefix (`inf_` + 8, the
part `key_admin list` shows) so the owner can still be found; a JWT (ID or App Check token)
is replaced whole.
"""

from __future__ import annotations

import re

_API_KEY = re.compile(r"inf_([0-9A-Za-z]{8})[0-9A-Za-z]+")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")


def redact_credentials(text: str) -> str:
    """`text` with API keys (beyond their display prefix) and JWTs replaced."""
    # Two substring checks keep the common case (nothing credential-shaped) cheap.
    if "inf_" in text:
        text = _API_KEY.sub(r"inf_\1[REDACTED]", text)
    if "eyJ" in text:
        text = _JWT.sub("[REDACTED JWT]", text)
    return text
