"""What an App Check token must claim beyond what firebase-admin checks.

firebase-admin checks the signature, `typ`, `alg`, the audience and that `iss` *starts with*
`https://firebaseappcheck.googleapis.com/`; it accepts a token without `exp`, with an empty
`sub`, of any app of the project, or issued for another project number. Here: `exp` present,
a lifetime no longer than App Check issues (30 minutes to 7 days, Firebase Admin
`AppCheckTokenOptions.ttlMillis`), `sub` one of the allowed app ids, and the exact issuer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

ISSUER_PREFIX = "https://firebaseappcheck.googleapis.com/"
MAX_LIFETIME_SECONDS = 7 * 86400
CLOCK_SKEW_SECONDS = 60
# A Firebase app id: 1:<project number>:<platform>:<hex>.
APP_ID = re.compile(r"1:(\d{1,20}):(web|android|ios):[0-9a-zA-Z]{1,64}")


def project_number_of(app_id: str) -> str:
    """The project number inside a Firebase app id; ValueError if it is not one."""
    match = APP_ID.fullmatch(app_id)
    if match is None:
        raise ValueError(f"{app_id!r} is not a Firebase app id like 1:123456789:web:abc123")
    return match.group(1)


def app_check_claims_problem(
    claims: Mapping[str, Any], allowed_app_ids: frozenset[str], now: float
) -> str | None:
    """Why these (signature-checked) claims are refused, or None. Logged, never answered."""
    expires, issued = _number(claims.get("exp")), _number(claims.get("iat"))
    if expires is None:
        return "app check token without exp"
    if issued is None:
        return "app check token without iat"
    longest = MAX_LIFETIME_SECONDS
    if expires - issued > longest or expires - now > longest + CLOCK_SKEW_SECONDS:
        return "app check token lifetime longer than App Check issues"
    subject = claims.get("sub")
    if not isinstance(subject, str) or subject not in allowed_app_ids:
        return "app check token of an app that is not allowed"
    if claims.get("iss") != ISSUER_PREFIX + project_number_of(subject):
        return "app check token issuer is not the app's project"
    return None


def _number(value: Any) -> float | None:
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if is_number else None
