"""Signs Firebase ID tokens and App Check tokens with a local RSA key, and serves that key to
firebase-admin's real verification code by replacing only its key/certificate download."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from local_harness.local_app_check import public_jwks

PROJECT_NUMBER = "123456789012"
APP_ID = "1:123456789012:web:0123456789abcdef"


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    data: bytes


class TokenIssuer:
    """A signing key plus the public material Google would serve for it."""

    def __init__(self, project_id: str, kid: str = "test-kid-1"):
        self.project_id = project_id
        self.kid = kid
        self.downloads: Counter[str] = Counter()  # key downloads firebase-admin asked for
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken test")])
        now = dt.datetime.now(dt.timezone.utc)
        self.certificate_pem = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(self.private_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
            .decode("ascii")
        )

    def jwks(self) -> dict[str, Any]:
        return public_jwks(self.private_key, self.kid)

    def id_token(self, uid: str = "user-123", **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": f"https://securetoken.google.com/{self.project_id}",
            "aud": self.project_id,
            "sub": uid,
            "iat": now - 10,
            "exp": now + 3600,
            "auth_time": now - 10,
        }
        headers = {"kid": overrides.pop("kid", self.kid)}
        algorithm = overrides.pop("algorithm", "RS256")
        key = overrides.pop("key", self.private_pem)
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)

    def app_check_token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": f"https://firebaseappcheck.googleapis.com/{PROJECT_NUMBER}",
            "aud": [f"projects/{PROJECT_NUMBER}", f"projects/{self.project_id}"],
            "sub": APP_ID,
            "iat": now - 10,
            "exp": now + 3600,
        }
        headers = {"kid": overrides.pop("kid", self.kid), "typ": overrides.pop("typ", "JWT")}
        algorithm = overrides.pop("algorithm", "RS256")
        key = overrides.pop("key", self.private_pem)
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, key, algorithm=algorithm, headers=headers)

    def install(self, app: Any, *, failing: frozenset[str] = frozenset()) -> None:
        """Point firebase-admin's two key downloads for `app` at this issuer.

        `failing` may name "app_check_keys" and/or "id_token_certificates" to make that
        download fail as it does when Google's endpoint cannot be reached.
        """
        from firebase_admin import app_check, auth

        def fetch_jwks() -> dict[str, Any]:
            self.downloads["app_check_keys"] += 1
            if "app_check_keys" in failing:
                raise jwt.PyJWKClientConnectionError("simulated: JWKS download failed")
            return self.jwks()

        def fetch_certificates(url: str, method: str = "GET", **_: Any) -> _Response:
            self.downloads["id_token_certificates"] += 1
            if "id_token_certificates" in failing:
                return _Response(status=503, headers={}, data=b"unavailable")
            body = json.dumps({self.kid: self.certificate_pem}).encode("utf-8")
            return _Response(status=200, headers={}, data=body)

        app_check._get_app_check_service(app)._jwks_client.fetch_data = fetch_jwks
        auth._get_client(app)._token_verifier.request = fetch_certificates
