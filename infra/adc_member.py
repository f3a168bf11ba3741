"""The IAM member Application Default Credentials act as (up.sh grants it the seed's roles).

Two sources, asked in this order by up.sh:

    python3 infra/adc_member.py key-file ADC_FILE
        A credentials file that names its account: a service-account key (its `client_email`)
        or one that impersonates a service account (the account in its
        `service_account_impersonation_url`, as gcloud's --impersonate-service-account and
        workload identity federation write). Prints nothing for any other file, or none.
    python3 infra/adc_member.py tokeninfo < ANSWER
        Google's tokeninfo answer for the ADC access token: its `email` (present when the token
        carries the email scope, as gcloud's application-default login asks for).

Prints `serviceAccount:EMAIL` or `user:EMAIL`, or nothing when the source does not say.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

IMPERSONATED = re.compile(r"/serviceAccounts/([^/:]+):generateAccessToken$")
SERVICE_ACCOUNT_DOMAIN = ".gserviceaccount.com"


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def member_from_credentials_file(path: Path) -> str:
    """The service account a credentials file names, or "" when it names none."""
    try:
        credentials = _json_object(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return ""
    impersonated = IMPERSONATED.search(str(credentials.get("service_account_impersonation_url")))
    if impersonated:
        return f"serviceAccount:{impersonated.group(1)}"
    email = credentials.get("client_email")
    if credentials.get("type") == "service_account" and isinstance(email, str) and "@" in email:
        return f"serviceAccount:{email}"
    return ""


def member_from_tokeninfo(answer: str) -> str:
    """The account of a tokeninfo answer's `email`, or "" when it has none."""
    email = _json_object(answer).get("email")
    if not isinstance(email, str) or "@" not in email:
        return ""
    kind = "serviceAccount" if email.endswith(SERVICE_ACCOUNT_DOMAIN) else "user"
    return f"{kind}:{email}"


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "key-file":
        member = member_from_credentials_file(Path(argv[1]))
    elif argv == ["tokeninfo"]:
        member = member_from_tokeninfo(sys.stdin.read())
    else:
        print(__doc__, file=sys.stderr)
        return 64
    if member:
        print(member)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
