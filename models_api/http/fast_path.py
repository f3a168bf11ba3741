"""The WSGI entry of the service: our paths straight to the handler, the rest to the framework.

functions-framework's app is Flask: every request pays for its execution-id middleware (a
random id drawn character by character), a Flask request context and app context pushed and
popped, werkzeug routing to the one view, the view wrappers and a werkzeug Response; together
about nine tenths of what a request of ours costs in the WSGI app (docs/performance.md has the
instruction counts). The handler reads only the WSGI environ and returns a complete reply, so
for the requests it answers anyway the framework adds nothing but cost.

`ModelsFastPath` is installed as the Flask app's `wsgi_app` (main.py), so it is still the app
`functions_framework.create_app` returns, served by the same gunicorn and the same test client.
It hands the handler what the framework would have routed to it, nothing else:
- paths the handler serves (`handler.serves_path`); the framework's own routes (its
  /robots.txt and /favicon.ico 404s, paths its router refuses) stay with the framework;
- requests without a body: the framework reads a request body before answering, so those
  keep its behaviour.
What it sends is what werkzeug would send for the same reply: werkzeug's status line, the
reply's headers, and no body for HEAD, 204 and 304.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES

from models_api.handler import ModelsHandler, serves_path
from models_api.http.semantics import NO_BODY_STATUSES, Environ

WsgiApp = Callable[[Environ, Any], Iterable[bytes]]
# werkzeug's status lines ("404 NOT FOUND"), so either path sends the same bytes.
_STATUS_LINES = {code: f"{code} {reason.upper()}" for code, reason in HTTP_STATUS_CODES.items()}


class ModelsFastPath:
    """A WSGI app: the handler for its own body-less requests, `framework` for the rest."""

    def __init__(self, handler: ModelsHandler, framework: WsgiApp):
        self._handler = handler
        self._framework = framework

    def __call__(self, environ: Environ, start_response: Any) -> Iterable[bytes]:
        if not serves_path(environ.get("PATH_INFO") or "/") or _has_body(environ):
            return self._framework(environ, start_response)
        reply = self._handler.respond(environ)
        start_response(_STATUS_LINES[reply.status], reply.headers)
        if environ.get("REQUEST_METHOD") == "HEAD" or reply.status in NO_BODY_STATUSES:
            return ()
        return (reply.body,)


def _has_body(environ: Environ) -> bool:
    return environ.get("CONTENT_LENGTH", "0") not in ("", "0") or (
        "HTTP_TRANSFER_ENCODING" in environ
    )


def install_fast_path(app: Flask, handler: ModelsHandler) -> None:
    """Put the fast path in front of everything `app` does (its WSGI middlewares included)."""
    app.wsgi_app = ModelsFastPath(handler, app.wsgi_app)  # type: ignore[method-assign]
