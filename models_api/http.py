"""HTTP details in one place: reading the WSGI environ, CORS, ETags, request ids, responses.

The hot path reads request fields straight from the WSGI environ and builds each response once
from a list of headers: on a warm instance that is most of the cost of a request.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response
from werkzeug.datastructures import Headers as WerkzeugHeaders
from werkzeug.exceptions import HTTPException

from models_api.errors import ApiError

Environ = dict[str, Any]
Headers = list[tuple[str, str]]

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
CORS_ALLOWED_HEADERS = "X-Api-Key, Authorization, X-Firebase-AppCheck, Content-Type, If-None-Match"
CORS_EXPOSED_HEADERS = "ETag, X-Request-Id, Retry-After"
CORS_MAX_AGE_SECONDS = "3600"
SUCCESS_CACHE_CONTROL = "private, max-age=60"
JSON_CONTENT_TYPE = "application/json"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass
class Reply:
    """What the handler answers, before it becomes a Response (once, with all its headers)."""

    status: int
    body: bytes = b""
    headers: Headers = field(default_factory=list)


def request_id_for(environ: Environ) -> str:
    """The caller's X-Request-Id when it is a sane token, else a new one."""
    supplied = environ.get("HTTP_X_REQUEST_ID")
    if supplied and _REQUEST_ID.fullmatch(supplied):
        return str(supplied)
    return new_request_id()


_request_ids = random.Random()  # noqa: S311 - ids, not secrets; private, so nothing reseeds it
os.register_at_fork(after_in_child=_request_ids.seed)  # each worker its own sequence


def new_request_id() -> str:
    """128 random bits in hex.

    A correlation id, not a secret: a PRNG seeded from the OS is enough and spares every
    request a system call.
    """
    return f"{_request_ids.getrandbits(128):032x}"


def client_address(environ: Environ, trusted_proxy_hops: int) -> str:
    """The caller's address: with N trusted proxies in front, the Nth entry from the right."""
    if trusted_proxy_hops > 0:
        raw = str(environ.get("HTTP_X_FORWARDED_FOR", ""))
        forwarded = [hop.strip() for hop in raw.split(",")]
        forwarded = [hop for hop in forwarded if hop]
        if len(forwarded) >= trusted_proxy_hops:
            return forwarded[-trusted_proxy_hops][:64]
    return str(environ.get("REMOTE_ADDR") or "unknown")


def error_reply(error: ApiError, request_id: str) -> Reply:
    payload = {"error": {"code": error.code, "message": error.message, "request_id": request_id}}
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


def to_response(
    reply: Reply, environ: Environ, request_id: str, allowed_origins: frozenset[str]
) -> Response:
    """The one place a Response is built: the reply's headers plus what every response carries."""
    headers = reply.headers
    headers.append(("X-Request-Id", request_id))
    headers.append(("X-Content-Type-Options", "nosniff"))
    if allowed_origins:  # only then can the answer depend on Origin
        headers.append(("Vary", "Origin"))
        origin = environ.get("HTTP_ORIGIN")
        if origin and origin in allowed_origins:
            headers.append(("Access-Control-Allow-Origin", origin))
            headers.append(("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS))
    return PreparedResponse(reply)


class PreparedResponse(Response):
    """A Response whose header list is complete and trusted when it is built.

    Every value in it is ours or validated (request id pattern, allow-listed origin), so
    werkzeug's per-header checks and copies, which cost as much as the rest of a request, are
    skipped: `get_wsgi_headers` hands the list on as it is. Headers added later through
    `response.headers` (Flask hooks) still go through werkzeug's checks and are sent too.
    """

    def __init__(self, reply: Reply):
        # werkzeug's own header handling is replaced below; naming a content type here only
        # spares it looking one up in the empty list (a miss raises an exception).
        super().__init__(status=reply.status, content_type=JSON_CONTENT_TYPE)
        if reply.body or reply.status not in _NO_CONTENT_LENGTH:
            reply.headers.append(("Content-Length", str(len(reply.body))))
        self.headers._list = reply.headers  # noqa: SLF001
        self.response = [reply.body]

    def get_wsgi_headers(self, environ: Environ) -> WerkzeugHeaders:
        return self.headers


_NO_CONTENT_LENGTH = frozenset({204, 304})


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


def adapt_framework_app(app: Flask) -> None:
    """Make what functions-framework answers by itself follow our contract.

    No 308 redirects for `//models`-like paths (they reach the handler, which answers 404),
    and the framework's own errors (its /robots.txt and /favicon.ico 404s) use our envelope.
    """
    app.url_map.merge_slashes = False

    def framework_error(error: HTTPException) -> Response:
        status = error.code or 500
        api_error = ApiError(error.description if status < 500 else None)
        api_error.status = status
        api_error.code = {404: "not_found", 405: "method_not_allowed"}.get(status, "internal")
        reply = error_reply(api_error, new_request_id())
        return PreparedResponse(reply)

    app.register_error_handler(HTTPException, framework_error)
