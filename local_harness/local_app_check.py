"""The local run's App Check: a signing key that only this run holds, and tokens shaped as
Google's App Check service issues them.

App Check has no emulator. `make run` signs App Check tokens with an RSA key of its own and
gives the service only the public JWKS (LOCAL_APP_CHECK_JWKS_FILE). The service verifies them
with firebase-admin's own App Check verifier, so a local token passes exactly the checks a
production one does. The key is kept in the local run directory (`.run/`, git-ignored, mode
0600) and reused by the next `make run`, so a web page's App Check token, which the Firebase
JS SDK caches in the browser, stays valid across restarts. It signs nothing but tokens for a
service running with LOCAL_APP_CHECK_JWKS_FILE, which the service refuses where K_SERVICE is
set.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# Made-up but well-formed: App Check tokens name the project by number in `iss` and the app by
# its Firebase app id in `sub`.
LOCAL_PROJECT_NUMBER = "000000000000"
LOCAL_APP_ID = f"1:{LOCAL_PROJECT_NUMBER}:web:local0dev0app"
ISSUER_PREFIX = "https://firebaseappcheck.googleapis.com/"
DEFAULT_LIFETIME_SECONDS = 12 * 3600  # App Check allows 30 min to 7 days; long enough for a day


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwks(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    """The public half of an RS256 signing key as a JWKS, as Google serves its keys."""
    numbers = private_key.public_key().public_numbers()
    key = {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": _b64url_uint(numbers.n),
        "e": _b64url_uint(numbers.e),
    }
    return {"keys": [key]}


class LocalAppCheckSigner:
    """An RSA key pair generated in memory; signs App Check tokens, publishes the public JWKS."""

    def __init__(
        self,
        project_id: str,
        *,
        kid: str | None = None,
        project_number: str = LOCAL_PROJECT_NUMBER,
        app_id: str = LOCAL_APP_ID,
        private_key: rsa.RSAPrivateKey | None = None,
    ):
        self.project_id = project_id
        self.project_number = project_number
        self.app_id = app_id
        self._private_key = private_key or rsa.generate_private_key(
            public_exponent=65537, key_size=2048
        )
        self.kid = kid or (
            _kid_of(self._private_key) if private_key else f"local-{secrets.token_hex(8)}"
        )
        self._private_pem = self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def kept_in(cls, key_file: Path, project_id: str) -> LocalAppCheckSigner:
        """The signer whose private key is in `key_file`, created there (mode 0600) if absent."""
        key_file.parent.mkdir(parents=True, exist_ok=True)
        try:
            loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        except (FileNotFoundError, ValueError):
            loaded = None
        if isinstance(loaded, rsa.RSAPrivateKey):
            return cls(project_id, private_key=loaded)
        signer = cls(project_id, private_key=rsa.generate_private_key(65537, 2048))
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(signer._private_pem)
        return signer

    def jwks(self) -> dict[str, Any]:
        """The public half only, as Google serves its App Check keys."""
        return public_jwks(self._private_key, self.kid)

    def write_jwks(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.jwks()), encoding="utf-8")
        return path

    def token(
        self, lifetime_seconds: int = DEFAULT_LIFETIME_SECONDS, *, project_id: str | None = None
    ) -> str:
        """An App Check token for the local app; a negative lifetime gives an expired one, and
        `project_id` one meant for another project (tests of the service's checks)."""
        now = int(time.time())
        audience = project_id or self.project_id
        claims = {
            "iss": f"{ISSUER_PREFIX}{self.project_number}",
            "aud": [f"projects/{self.project_number}", f"projects/{audience}"],
            "sub": self.app_id,
            "iat": min(now, now + lifetime_seconds) - 60,
            "exp": now + lifetime_seconds,
        }
        headers = {"kid": self.kid, "typ": "JWT"}
        return jwt.encode(claims, self._private_pem, algorithm="RS256", headers=headers)


def _kid_of(private_key: rsa.RSAPrivateKey) -> str:
    """A key id that names the key itself, so the same key keeps the same kid across runs."""
    modulus = private_key.public_key().public_numbers().n
    return (
        "local-"
        + hashlib.sha256(modulus.to_bytes((modulus.bit_length() + 7) // 8, "big")).hexdigest()[:16]
    )
