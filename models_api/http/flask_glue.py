"""Adapting replies to Flask/werkzeug, and functions-framework's own answers to our contract."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from models_api.errors import ApiError
from models_api.http.request_context import request_id_for
from models_api.http.semantics import Environ, Reply, error_reply, finish_headers


def reply_response(reply: Reply) -> Response:
    """A werkzeug Response that sends exactly the reply's status, headers and body."""
    response = Response([reply.body], status=reply.status, headers=reply.headers)
    if not any(name.lower() == "content-type" for name, _ in reply.headers):
        del response.headers["Content-Type"]  # werkzeug's default: not ours to send
    return response


def to_response(
    reply: Reply, environ: Environ, request_id: str, allowed_origins: frozenset[str]
) -> Response:
    """A Response for a reply of the framework's own, with what every response carries."""
    finish_headers(reply, environ, request_id, allowed_origins)
    return reply_response(reply)


_NO_CORS_ORIGINS: frozenset[str] = frozenset()


def adapt_framework_app(app: Flask) -> None:
    """Make what functions-framework answers by itself follow our contract.

    No 308 redirects for `//models`-like paths (they reach the handler, which answers 404),
    and the framework's own errors (its /robots.txt and /favicon.ico 404s, paths its router
    refuses) use our envelope and the headers every answer carries (X-Request-Id, nosniff).
    """
    app.url_map.merge_slashes = False

    def framework_error(error: HTTPException) -> Response:
        status = error.code or 500
        api_error = ApiError(error.description if status < 500 else None)
        api_error.status = status
        api_error.code = {404: "not_found", 405: "method_not_allowed"}.get(status, "internal")
        request_id = request_id_for(request.environ)
        # No CORS grant: these paths are not the API, so no origin needs to read them.
        reply = error_reply(api_error, request_id)
        return to_response(reply, request.environ, request_id, _NO_CORS_ORIGINS)

    app.register_error_handler(HTTPException, framework_error)
