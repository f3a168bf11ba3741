"""HTTP semantics, free of any web framework: error bodies, ETags, caching and CORS headers.

A reply is a status, a body and a header list; `finish_headers` adds what every response
carries. `flask_glue` turns the result into a Response once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from models_api.errors import ApiError

Environ = dict[str, Any]
Headers = list[tuple[str, str]]

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
CORS_ALLOWED_HEADERS = "X-Api-Key, Authorization, X-Firebase-AppCheck, Content-Type, If-None-Match"
# What a browser script may read besides the safelisted headers: a web app sees a deprecated
# model's Deprecation, Sunset and Link the same way an API client does.
CORS_EXPOSED_HEADERS = (
    "ETag, X-Request-Id, Retry-After, Deprecation, Sunset, Link, WWW-Authenticate"
)
CORS_MAX_AGE_SECONDS = "3600"
# A catalog answer depends on the credentials sent with it, so every cache must check with the
# service before reusing one: `no-cache` makes each reuse a conditional request, on which the
# credentials are checked again (a revoked or wrong key gets 401, not the stored 200), and an
# unchanged catalog costs a 304 without a body. `private` keeps shared caches from storing it.
# Browsers honour `max-age` between fetches of one page (the earlier design answered a wrong
# key from Chromium's cache for 60 s).
SUCCESS_CACHE_CONTROL = "private, no-cache"
# ... and `Vary` names every request header the answer depends on, so no cache (browser, proxy,
# CDN) can hand a stored answer to a request with other credentials or another coding, even
# one that does not implement no-cache. `Origin` is added when CORS is configured.
SUCCESS_VARY = "X-Api-Key, Authorization, X-Firebase-AppCheck, Accept-Encoding"
JSON_CONTENT_TYPE = "application/json"
# Statuses whose responses carry no body (RFC 9110 15.3.5, 15.4.5): none is sent, nor a
# Content-Length for an empty one.
NO_BODY_STATUSES = frozenset({204, 304})


@dataclass
class Reply:
    """What the handler answers, before it becomes a Response (once, with all its headers)."""

    status: int
    body: bytes = b""
    headers: Headers = field(default_factory=list)
    vary: str = ""  # request headers the answer depends on, besides Origin


def error_reply(error: ApiError, request_id: str) -> Reply:
    body: dict[str, str | None] = {
        "code": error.code,
        "message": error.message,
        "request_id": request_id,
    }
    body.update(error.details)
    payload = {"error": body}
    headers = [("Content-Type", JSON_CONTENT_TYPE), ("Cache-Control", "no-store")]
    headers.extend(error.headers.items())
    return Reply(error.status, json.dumps(payload).encode("utf-8"), headers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def preflight_reply(environ: Environ, allowed_origins: frozenset[str]) -> Reply:
    """Answer OPTIONS without auth; CORS grants only for configured origins."""
    headers: Headers = [("Allow", ALLOWED_METHODS)]
    origin = environ.get("HTTP_ORIGIN")
    requested_method = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "GET")).upper()
    if origin and origin in allowed_origins and requested_method in ("GET", "HEAD"):
        headers.append(("Access-Control-Allow-Methods", ALLOWED_METHODS))
        headers.append(("Access-Control-Allow-Headers", CORS_ALLOWED_HEADERS))
        headers.append(("Access-Control-Max-Age", CORS_MAX_AGE_SECONDS))
    return Reply(204, b"", headers)


def finish_headers(
    reply: Reply, environ: Environ, request_id: str, allowed_origins: frozenset[str]
) -> Headers:
    """The reply's headers plus what every response carries (request id, nosniff, Vary, CORS,
    Content-Length)."""
    headers = reply.headers
    headers.append(("X-Request-Id", request_id))
    headers.append(("X-Content-Type-Options", "nosniff"))
    if allowed_origins:  # only then can the answer depend on Origin
        headers.append(("Vary", f"Origin, {reply.vary}" if reply.vary else "Origin"))
        origin = environ.get("HTTP_ORIGIN")
        if origin and origin in allowed_origins:
            headers.append(("Access-Control-Allow-Origin", origin))
            headers.append(("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS))
    elif reply.vary:
        headers.append(("Vary", reply.vary))
    if reply.body or reply.status not in NO_BODY_STATUSES:
        headers.append(("Content-Length", str(len(reply.body))))
    return headers
