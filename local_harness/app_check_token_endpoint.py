"""`make run`'s App Check token endpoint: what a web page's `CustomProvider` fetches locally.

App Check has no emulator, and the Firebase JS SDK cannot obtain a token without a real
attestation provider. `make run` therefore serves `GET /app-check-token` on its own port
(LOCAL_APP_CHECK_PORT), answering `{"token": ..., "expireTimeMillis": ...}`: exactly what a
`CustomProvider`'s `getToken` must return. Each answer is a fresh token signed by the local
run's key (local_app_check.py). Development only: it refuses to start where K_SERVICE is set
(a deployed Cloud Run or Cloud Functions instance), and it grants CORS only to the origins the
local service allows.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local_harness.local_app_check import DEFAULT_LIFETIME_SECONDS, LocalAppCheckSigner

TOKEN_PATH = "/app-check-token"  # noqa: S105 - a URL path, not a secret


class DeployedEnvironment(RuntimeError):
    """The endpoint was asked to start where K_SERVICE is set."""


def token_answer(signer: LocalAppCheckSigner, now: float | None = None) -> dict[str, Any]:
    """A fresh token in the shape a Firebase JS SDK `CustomProvider.getToken` returns."""
    issued = time.time() if now is None else now
    return {
        "token": signer.token(DEFAULT_LIFETIME_SECONDS),
        "expireTimeMillis": int((issued + DEFAULT_LIFETIME_SECONDS) * 1000),
    }


class AppCheckTokenEndpoint:
    """An HTTP server in this process handing out local App Check tokens; stop() ends it."""

    def __init__(
        self,
        signer: LocalAppCheckSigner,
        port: int,
        allowed_origins: Collection[str],
        environ: Mapping[str, str],
        host: str = "127.0.0.1",
    ):
        if environ.get("K_SERVICE"):
            raise DeployedEnvironment(
                "the local App Check token endpoint does not run where K_SERVICE is set "
                "(a deployed instance): it would hand out tokens the local key signs"
            )
        endpoint_signer, origins = signer, frozenset(allowed_origins)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.split("?", 1)[0] != TOKEN_PATH:
                    self._answer(404, {"error": f"not found: GET {TOKEN_PATH}"})
                    return
                self._answer(200, token_answer(endpoint_signer))

            def do_OPTIONS(self) -> None:  # noqa: N802
                self._answer(204, None)

            def _answer(self, status: int, body: dict[str, Any] | None) -> None:
                payload = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                origin = self.headers.get("Origin")
                if origin in origins:
                    self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Vary", "Origin")
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass  # the service's log is the one a developer reads

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{port}{TOKEN_PATH}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> AppCheckTokenEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
