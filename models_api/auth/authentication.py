"""Chooses the auth path from the request headers and checks sizes and shapes first.

An API key is sent as `X-Api-Key: <key>` or `Authorization: Bearer <key>` (what OpenAI-style
clients send): a Bearer value starting with the key prefix `inf_` is an API key, checked
exactly as `X-Api-Key` is (no JWT starts that way). Both headers at once must carry the same
key, else the request is refused. Any other Bearer value is a Firebase ID token, and then
`X-Firebase-AppCheck` is required too; each is an RS256 JWT naming its key (`jwt_shape`),
checked before anything is downloaded to verify them. Every failure raises the same
Unauthenticated error; only its `reason` (for the logs) differs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from models_api.auth.jwt_shape import check_token_shape
from models_api.auth.principal import Principal
from models_api.errors import Unauthenticated
from models_api.keys.key_format import KEY_PREFIX
from models_api.keys.verifier import ApiKeyVerifier

MAX_API_KEY_HEADER_BYTES = 128
MAX_TOKEN_HEADER_BYTES = 4096


class BrowserTokenVerifier(Protocol):
    def verify(self, id_token: str, app_check_token: str) -> Principal: ...


class Authenticator:
    def __init__(
        self,
        api_keys: ApiKeyVerifier,
        browser_tokens: BrowserTokenVerifier,
        *,
        auth_emulator: bool = False,
    ):
        self._api_keys = api_keys
        self._browser_tokens = browser_tokens
        # With the Firebase Auth emulator (local only), ID tokens are unsigned by design.
        self._auth_emulator = auth_emulator

    def authenticate(
        self, environ: dict[str, Any], before_lookup: Callable[[], None] = lambda: None
    ) -> Principal:
        """Check the credentials in a WSGI environ. `before_lookup` runs only before an API
        key is read from Firestore (the one check that costs a read) and may raise."""
        api_key = _single_header(environ, "HTTP_X_API_KEY", MAX_API_KEY_HEADER_BYTES)
        if api_key is not None:
            # Authorization is otherwise ignored beside X-Api-Key, but never a different key.
            other = _bearer_value(str(environ.get("HTTP_AUTHORIZATION", "")).strip())
            if other is not None and other.startswith(KEY_PREFIX) and other != api_key:
                raise Unauthenticated("X-Api-Key and Authorization: Bearer carry different keys")
            return self._api_keys.verify(api_key, before_lookup)

        authorization = _single_header(environ, "HTTP_AUTHORIZATION", MAX_TOKEN_HEADER_BYTES)
        bearer = _bearer_value(authorization) if authorization is not None else None
        if bearer is not None and bearer.startswith(KEY_PREFIX):
            if len(bearer) > MAX_API_KEY_HEADER_BYTES:
                limit = MAX_API_KEY_HEADER_BYTES
                raise Unauthenticated(f"Bearer api key longer than {limit} bytes")
            return self._api_keys.verify(bearer, before_lookup)

        app_check = _single_header(environ, "HTTP_X_FIREBASE_APPCHECK", MAX_TOKEN_HEADER_BYTES)
        if authorization is None and app_check is None:
            raise Unauthenticated("no credentials")
        if authorization is None or app_check is None:
            raise Unauthenticated("browser auth needs both Authorization and X-Firebase-AppCheck")
        if bearer is None:
            raise Unauthenticated("Authorization is not 'Bearer <JWT>' or 'Bearer <api key>'")
        id_token = bearer
        # Both shapes before either verification: verifying downloads Google's keys.
        check_token_shape(id_token, "ID token", allow_unsigned=self._auth_emulator)
        check_token_shape(app_check, "App Check token")
        return self._browser_tokens.verify(id_token, app_check)


def _bearer_value(authorization: str) -> str | None:
    """The credential of `Bearer <credential>` (scheme case-insensitive), None otherwise."""
    scheme, _, credential = authorization.partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and credential else None


def _single_header(environ: dict[str, Any], name: str, max_bytes: int) -> str | None:
    """The header's value; None when absent; Unauthenticated when repeated, empty or too big.

    Servers join a repeated header with commas, and no key or token contains one.
    """
    raw = environ.get(name)
    if raw is None:
        return None
    value = str(raw).strip()
    if "," in value:
        raise Unauthenticated(f"{name} repeated")
    if not value:
        raise Unauthenticated(f"{name} empty")
    if len(value) > max_bytes:
        raise Unauthenticated(f"{name} longer than {max_bytes} bytes")
    if not value.isascii():
        raise Unauthenticated(f"{name} is not ASCII")
    return value
