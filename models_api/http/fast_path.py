"""The WSGI entry of the service: our requests straight to the handler, the rest to Flask.

`ModelsFastPath` is installed as the Flask app's `wsgi_app` (Flask's documented way to wrap
an app), so it is still the app functions-framework serves and tests drive. It hands the
handler every request on the handler's paths and every request that carries a body, on any
path: the handler refuses a body from the headers, so no body ever reaches Flask or is read.
Everything else (the framework's /robots.txt and /favicon.ico, unknown paths) goes to Flask.
What it sends is what werkzeug would send for the same reply: werkzeug's status line, the
reply's headers, and no body for HEAD, 204 and 304. Why it exists: docs/performance.md.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask
from werkzeug.http import HTTP_STATUS_CODES

from models_api.handler import ModelsHandler, serves_path
from models_api.http.request_body import carries_body
from models_api.http.request_context import request_id_for
from models_api.http.semantics import NO_BODY_STATUSES, Environ
from models_api.logs.structured_log import request_scope

WsgiApp = Callable[[Environ, Any], Iterable[bytes]]
# The WSGI environ key under which gunicorn passes the connection's socket (a server extension
# key, PEP 3333 "Specification Details"); absent under other servers and the test client.
SERVER_SOCKET_KEY = "gunicorn.socket"
# werkzeug's status lines ("404 NOT FOUND"), so either path sends the same bytes.
_STATUS_LINES = {code: f"{code} {reason.upper()}" for code, reason in HTTP_STATUS_CODES.items()}


class ModelsFastPath:
    """A WSGI app: the handler for its paths and for any request with a body, else Flask."""

    def __init__(self, handler: ModelsHandler, framework: WsgiApp):
        self._handler = handler
        self.framework = framework  # the app as functions-framework built it

    def __call__(self, environ: Environ, start_response: Any) -> Iterable[bytes]:
        if not (serves_path(environ.get("PATH_INFO") or "/") or carries_body(environ)):
            with request_scope(request_id_for(environ)):  # Flask's own log lines carry it
                return self.framework(environ, start_response)
        reply = self._handler.respond(environ)
        if carries_body(environ):
            announce_close(start_response)
        start_response(_STATUS_LINES[reply.status], reply.headers)
        body = b""
        if environ.get("REQUEST_METHOD") != "HEAD" and reply.status not in NO_BODY_STATUSES:
            body = reply.body
        if carries_body(environ):  # refused (request_body.py): answer, then close
            return ClosedAfterAnswer(body, environ.get(SERVER_SOCKET_KEY))
        return (body,) if body else ()


class ClosedAfterAnswer:
    """A WSGI body that ends its connection once the server has sent it.

    The server calls `close()` after writing the answer (PEP 3333); shutting the socket down
    there sends the client a FIN after the answer and ends reading, so no thread waits for a
    body that is never read. Without the server's socket (another server), the server's own
    handling applies.
    """

    def __init__(self, body: bytes, server_socket: Any):
        self._chunks = (body,) if body else ()
        self._socket = server_socket

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        if isinstance(self._socket, socket.socket):
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)


def announce_close(start_response: Any) -> None:
    """Have gunicorn send `Connection: close` with this answer and keep no connection after it.

    WSGI has no word for it and gunicorn drops a Connection header the app sets; its
    `start_response` is a method of its response object, whose public `force_close()` does it.
    Under another server (the test client) nothing is done. `ClosedAfterAnswer` still shuts
    the socket: gunicorn's own close lingers up to 2 s reading what the client sends.
    """
    force_close = getattr(getattr(start_response, "__self__", None), "force_close", None)
    if callable(force_close):
        force_close()


def install_fast_path(app: Flask, handler: ModelsHandler) -> None:
    """Put the fast path in front of everything `app` does (its WSGI middlewares included)."""
    app.wsgi_app = ModelsFastPath(handler, app.wsgi_app)  # type: ignore[method-assign]
