"""Browser auth: a Firebase ID token plus an App Check token, both verified by firebase-admin.

firebase-admin is imported on first use so API-key traffic never pays for it. The app is
given a credential that carries no authority: verifying tokens needs only Google's public
keys, never the service account's own credentials.

Local App Check mode (`make run` only; refused where K_SERVICE is set, see config.py): App
Check has no emulator, so the local run signs App Check-shaped tokens with a key only it holds
and hands the service the public JWKS. firebase-admin's own verifier then checks them exactly
as in production (typ, RS256, kid, signature, audience, issuer, expiry, subject); only the
place its keys come from changes. Without that JWKS nothing here differs from production.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from models_api.auth.app_check_claims import app_check_claims_problem
from models_api.auth.principal import Principal
from models_api.errors import TokenKeysUnavailable, Unauthenticated


class FirebaseTokenVerifier:
    """Verifies `(id_token, app_check_token)`; raises Unauthenticated or TokenKeysUnavailable."""

    def __init__(
        self,
        project_id: str,
        timeout_seconds: float,
        app_name: str | None = None,
        *,
        app_check_app_ids: frozenset[str] = frozenset(),
        local_app_check_jwks: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self._project_id = project_id
        self._app_check_app_ids = app_check_app_ids
        self._clock = clock
        self._timeout_seconds = timeout_seconds
        self._app_name = app_name or f"models-api-{project_id}"
        self._local_app_check_jwks = local_app_check_jwks
        self._app: Any = None
        self._lock = threading.Lock()

    def app(self) -> Any:
        """The firebase-admin app used for verification, created on first use."""
        if self._app is None:
            with self._lock:
                if self._app is None:
                    app = _initialize_app(self._app_name, self._project_id, self._timeout_seconds)
                    if self._local_app_check_jwks is not None:
                        _verify_app_check_with_local_keys(app, self._local_app_check_jwks)
                    self._app = app
        return self._app

    def verify(self, id_token: str, app_check_token: str) -> Principal:
        import jwt
        from firebase_admin import app_check, auth

        if not self._app_check_app_ids:
            raise Unauthenticated("app check: no app ids configured (APP_CHECK_APP_IDS)")
        app = self.app()
        try:
            app_check_claims = app_check.verify_token(app_check_token, app)
        except jwt.PyJWKClientConnectionError as error:
            raise TokenKeysUnavailable("app check keys could not be fetched") from error
        except (jwt.PyJWKClientError, jwt.InvalidTokenError, ValueError) as error:
            raise Unauthenticated(f"invalid app check token: {type(error).__name__}") from error
        problem = app_check_claims_problem(app_check_claims, self._app_check_app_ids, self._clock())
        if problem is not None:
            raise Unauthenticated(problem)

        try:
            claims = auth.verify_id_token(id_token, app=app)
        except auth.CertificateFetchError as error:
            raise TokenKeysUnavailable("ID token certificates could not be fetched") from error
        except (auth.InvalidIdTokenError, ValueError) as error:
            raise Unauthenticated(f"invalid ID token: {type(error).__name__}") from error
        return Principal(kind="firebase", subject=str(claims.get("uid", "")))


def _initialize_app(name: str, project_id: str, timeout_seconds: float) -> Any:
    import firebase_admin
    from firebase_admin import credentials
    from google.auth.credentials import AnonymousCredentials

    class VerificationOnlyCredential(credentials.Base):  # type: ignore[misc]
        def get_credential(self) -> AnonymousCredentials:
            return AnonymousCredentials()  # type: ignore[no-untyped-call]

    try:
        return firebase_admin.get_app(name)
    except ValueError:
        return firebase_admin.initialize_app(
            VerificationOnlyCredential(),
            options={"projectId": project_id, "httpTimeout": timeout_seconds},
            name=name,
        )


def _verify_app_check_with_local_keys(app: Any, jwks: Mapping[str, Any]) -> None:
    """Give firebase-admin's App Check verifier the local run's public keys instead of Google's.

    The replacement is a real PyJWKClient (kid lookup, unknown kid -> PyJWKClientError) whose
    download returns the local JWKS; the verifier itself is firebase-admin's, untouched.
    """
    import jwt
    from firebase_admin import app_check

    class LocalJwksClient(jwt.PyJWKClient):
        def fetch_data(self) -> Any:
            return dict(jwks)

    # The URL is never fetched (fetch_data is replaced); PyJWKClient only insists on https.
    local_client = LocalJwksClient("https://local.invalid/app-check-jwks", cache_jwk_set=False)
    app_check._get_app_check_service(app)._jwks_client = local_client
