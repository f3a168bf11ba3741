"""Every error the service raises, and the HTTP status each one becomes.

    Exception
     +-- ConfigError                  bad or missing configuration: the instance refuses to start
     +-- BackendUnavailable           Firestore / Secret Manager failed: 503, `public_message`
     |    +-- TokenKeysUnavailable      Google's token key endpoints failed (browser path)
     |    +-- CatalogRefused            a catalog read that is empty or shrank too much at once
     +-- ApiError                     an error answered to the client (status + code + message)
          +-- BadRequest                400  invalid_argument   (bad query parameter or framing)
          +-- Unauthenticated           401  unauthenticated    (one body for every auth failure)
          +-- NotFound                  404  not_found          (unknown path or model id)
          +-- Gone                      410  gone               (retired model; names successor)
          +-- MethodNotAllowed          405  method_not_allowed (carries the Allow header)
          +-- ContentTooLarge           413  content_too_large  (a request body: none is taken)
          +-- TooManyRequests           429  rate_limited       (carries Retry-After)
          +-- InternalError             500  internal           (never carries internals)
          +-- ServiceUnavailable        503  unavailable        (carries Retry-After)

Only `handler.py` turns exceptions into responses; everything else raises.
"""

from __future__ import annotations


class ConfigError(Exception):
    """The environment does not describe a runnable service."""


class DependencyMisconfigured(Exception):
    """A dependency answered, but refuses this deployment until an operator fixes it."""


class BackendUnavailable(Exception):
    """A dependency (Firestore, Secret Manager, Google's key endpoints) could not be reached.

    The handler answers 503 with `public_message`, which says what is unavailable (never why:
    the reason given to the constructor goes to the log only).
    """

    public_message = "The model catalog is temporarily unavailable. Retry later."


class TokenKeysUnavailable(BackendUnavailable):
    """Google's public keys for ID tokens or App Check tokens could not be downloaded."""

    public_message = "Token verification keys are temporarily unavailable. Retry later."


class CatalogRefused(BackendUnavailable):
    """A catalog read was refused (catalog_guard): nothing to serve is better than a wrong list."""


class ApiError(Exception):
    """An error with a public HTTP status, machine-readable code and human message."""

    status: int = 500
    code: str = "internal"
    message: str = "Internal error."

    def __init__(
        self,
        message: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        reason: str | None = None,
    ):
        super().__init__(message or self.message)
        if message is not None:
            self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        # Why the request was refused, for its log line only (never sent to the client).
        self.reason = reason
        # Additive members of the error object besides code, message and request_id.
        self.details: dict[str, str | None] = {}


class BadRequest(ApiError):
    status = 400
    code = "invalid_argument"
    message = "Invalid request."


# RFC 9110 11.6.1: a 401 names the scheme it takes. Not Basic, so no browser shows a prompt.
WWW_AUTHENTICATE = 'Bearer realm="models"'


class Unauthenticated(ApiError):
    """Every authentication failure. `reason` goes to logs only, never to the client."""

    status = 401
    code = "unauthenticated"
    message = (
        "Missing or invalid credentials. Send an API key as X-Api-Key: <key> or "
        "Authorization: Bearer <key>, or a Firebase ID token as Authorization: Bearer "
        "<ID token> together with X-Firebase-AppCheck: <App Check token>."
    )

    def __init__(self, reason: str):
        super().__init__(reason=reason, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
        self.reason: str = reason


class NotFound(ApiError):
    status = 404
    code = "not_found"
    message = "Not found."


def successor_link(model_id: str) -> str:
    """The `Link` to a model's successor (RFC 5829), on a deprecated model's answers and a 410."""
    return f'</models/{model_id}>; rel="successor-version"'


class Gone(ApiError):
    """A model that was served and is retired: the body and a Link name its successor."""

    status = 410
    code = "gone"
    message = "This model is retired."

    def __init__(self, model_id: str, successor: str | None, retired_on: str | None):
        since = f" on {retired_on}" if retired_on else ""
        advice = (
            f" Use its successor '{successor}' (GET /models/{successor})."
            if successor
            else " It has no successor in the catalog; pick another model from GET /models."
        )
        headers = {"Link": successor_link(successor)} if successor else {}
        super().__init__(f"Model '{model_id}' was retired{since}.{advice}", headers=headers)
        self.details = {"successor": successor, "retirement_date": retired_on}


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"
    message = "Method not allowed. This endpoint supports GET, HEAD and OPTIONS."


class ContentTooLarge(ApiError):
    status = 413
    code = "content_too_large"
    message = "This API takes no request body."


class TooManyRequests(ApiError):
    status = 429
    code = "rate_limited"
    message = "Too many failed authentication attempts from this address. Retry later."


class InternalError(ApiError):
    status = 500
    code = "internal"
    message = "Internal error."


class ServiceUnavailable(ApiError):
    status = 503
    code = "unavailable"
    message = "The model catalog is temporarily unavailable. Retry later."
