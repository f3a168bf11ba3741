"""HTTP details in one place: response construction, CORS, ETags, request ids, client address."""

from __future__ import annotations

import json
import re
import uuid

from flask import Flask, Request, Response
from werkzeug.exceptions import HTTPException

from models_api.errors import ApiError

ALLOWED_METHODS = "GET, HEAD, OPTIONS"
CORS_ALLOWED_HEADERS = "X-Api-Key, Authorization, X-Firebase-AppCheck, Content-Type, If-None-Match"
CORS_EXPOSED_HEADERS = "ETag, X-Request-Id, Retry-After"
CORS_MAX_AGE_SECONDS = "3600"
SUCCESS_CACHE_CONTROL = "private, max-age=60"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_for(request: Request) -> str:
    """The caller's X-Request-Id when it is a sane token, else a new one."""
    supplied = request.headers.get("X-Request-Id", "")
    if _REQUEST_ID.fullmatch(supplied):
        return supplied
    return uuid.uuid4().hex


def client_address(request: Request, trusted_proxy_hops: int) -> str:
    """The caller's address: with N trusted proxies in front, the Nth entry from the right."""
    if trusted_proxy_hops > 0:
        forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [hop for hop in forwarded if hop]
        if len(forwarded) >= trusted_proxy_hops:
            return forwarded[-trusted_proxy_hops][:64]
    return request.remote_addr or "unknown"


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    if headers:
        response.headers.update(headers)
    return response


def error_response(error: ApiError, request_id: str) -> Response:
    payload = {"error": {"code": error.code, "message": error.message, "request_id": request_id}}
    headers = {"Cache-Control": "no-store", **error.headers}
    return json_response(error.status, json.dumps(payload).encode("utf-8"), headers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def add_common_headers(
    response: Response, request: Request, request_id: str, allowed_origins: frozenset[str]
) -> None:
    """Headers every response carries, including CORS for configured origins."""
    headers = response.headers
    headers["X-Request-Id"] = request_id
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Vary"] = "Origin"
    origin = request.headers.get("Origin")
    if origin and origin in allowed_origins:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS


def preflight_response(request: Request, allowed_origins: frozenset[str]) -> Response:
    """Answer OPTIONS without auth; CORS grants only for configured origins."""
    response = Response(status=204)
    response.headers["Allow"] = ALLOWED_METHODS
    origin = request.headers.get("Origin")
    requested_method = request.headers.get("Access-Control-Request-Method", "GET").upper()
    if origin and origin in allowed_origins and requested_method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_ALLOWED_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE_SECONDS
    return response


def adapt_framework_app(app: Flask) -> None:
    """Make what functions-framework answers by itself follow our contract.

    No 308 redirects for `//models` (the path reaches the handler, which answers 404), and
    the framework's own errors (its /robots.txt and /favicon.ico 404s) use our JSON envelope.
    """
    app.url_map.merge_slashes = False

    def framework_error(error: HTTPException) -> Response:
        status = error.code or 500
        api_error = ApiError(error.description if status < 500 else None)
        api_error.status = status
        api_error.code = {404: "not_found", 405: "method_not_allowed"}.get(status, "internal")
        return error_response(api_error, uuid.uuid4().hex)

    app.register_error_handler(HTTPException, framework_error)
