"""Users on the Firebase Auth emulator, through its REST API (the one the web SDK calls).

The emulator accepts any API key and signs nothing: its ID tokens are accepted by
firebase-admin only where FIREBASE_AUTH_EMULATOR_HOST is set, which the service refuses
where K_SERVICE is set.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmulatorUser:
    uid: str
    email: str
    id_token: str


def _call(emulator_host: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    url = f"http://{emulator_host}/identitytoolkit.googleapis.com/v1/accounts:{method}?key=local"
    request = urllib.request.Request(  # noqa: S310 - a loopback URL built here
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            answer: dict[str, Any] = json.load(response)
            return answer
    except urllib.error.HTTPError as error:
        detail = json.load(error).get("error", {}).get("message", "")
        raise RuntimeError(f"Auth emulator {method}: {error.code} {detail}") from None


def signed_in_user(emulator_host: str, email: str, password: str) -> EmulatorUser:
    """Sign `email` in on the emulator, creating the user first if it does not exist."""
    credentials = {"email": email, "password": password, "returnSecureToken": True}
    try:
        answer = _call(emulator_host, "signUp", credentials)
    except RuntimeError as error:
        if "EMAIL_EXISTS" not in str(error):
            raise
        answer = _call(emulator_host, "signInWithPassword", credentials)
    return EmulatorUser(uid=answer["localId"], email=email, id_token=answer["idToken"])
