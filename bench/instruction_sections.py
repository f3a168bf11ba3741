"""The process `bench/count_instructions.py` runs under valgrind: sections of repeated work.

It builds the app as functions-framework does (`create_app(target, source)`), then runs each
section `count` times in a row and calls `os.getppid()` between sections: callgrind, started
with `--dump-before=getppid`, writes one profile per section, whose total is that section's
instructions. Section names are printed as one JSON list, in order.

Sections:
- `request`: one request as a gthread worker serves it (with `--service-worker`, as the
  service's worker does: its event loop reads the request head first): gunicorn parses it from
  a socket, builds the environ, calls the app, writes status line, headers and body back (the
  socket is a socketpair, drained after each request), and calls its access logger;
- `app`: the WSGI app alone, with a start_response that does nothing;
- with `--parts` (the service only): each part of our request path alone, called with the same
  environ on the objects main.py built (see `bench.request_parts`).

Usage: python bench/instruction_sections.py SOURCE COUNT [--service-worker] [--parts]
[--body-to PATH]
(the API key, when the app needs one, is in BENCH_API_KEY).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADERS = {"User-Agent": "bench", "Accept": "*/*"}


def request_bytes(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1:8080"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class GunicornConnection:
    """One kept-alive connection served the way gunicorn's gthread worker serves it."""

    def __init__(self, app: Callable[..., Iterable[bytes]], raw_request: bytes):
        from gunicorn.config import Config
        from gunicorn.glogging import Logger
        from gunicorn.http import RequestParser

        self._app = app
        self._raw_request = raw_request
        self._cfg = Config()
        self._cfg.set("limit_request_line", 0)  # as functions-framework sets it
        self._log = Logger(self._cfg)
        self._server_side, self._client_side = socket.socketpair()
        self._client = ("127.0.0.1", 40000)
        self._server = ("127.0.0.1", 8080)
        self._parser = RequestParser(self._cfg, self._server_side, self._client)

    def serve_one(self) -> bytes:
        """Send one request, let gunicorn answer it, and read the answer back."""
        from gunicorn.http import wsgi

        self._client_side.sendall(self._raw_request)
        request = next(self._parser)
        started = datetime.now()
        response, environ = wsgi.create(
            request, self._server_side, self._client, self._server, self._cfg
        )
        environ["wsgi.multithread"] = True
        body = self._app(environ, response.start_response)
        try:
            for item in body:
                response.write(item)
            response.close()
        finally:
            self._log.access(response, request, environ, datetime.now() - started)
            if hasattr(body, "close"):
                body.close()
        return self._read_answer()

    def _read_answer(self) -> bytes:
        received = b""
        while b"\r\n\r\n" not in received:
            received += self._client_side.recv(65536)
        head, _, rest = received.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._client_side.recv(65536)
        return received


def _ignore_start_response(status: str, headers: list[Any], exc_info: Any = None) -> None:
    return None


def main(argv: list[str]) -> int:
    source, count = argv[0], int(argv[1])
    parts = "--parts" in argv
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the service's log lines: written, not kept
    from functions_framework import create_app

    app = create_app(target="models", source=source)  # type: ignore[no-untyped-call]
    headers = dict(HEADERS)
    if os.environ.get("BENCH_API_KEY"):
        headers["X-Api-Key"] = os.environ["BENCH_API_KEY"]
    raw_request = request_bytes("/models", headers)
    connection = GunicornConnection(app, raw_request)
    # The first requests load the catalog and the key index (slowly, under valgrind).
    for _ in range(30):
        answer = connection.serve_one()
        if answer.startswith(b"HTTP/1.1 200"):
            break
        time.sleep(1)
    if "--body-to" in argv:
        Path(argv[argv.index("--body-to") + 1]).write_bytes(answer.partition(b"\r\n\r\n")[2])
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]

    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/models", headers=list(headers.items())).get_environ()

    def call_app() -> None:
        for _ in app(dict(environ), _ignore_start_response):
            pass

    sections: dict[str, Callable[[], object]] = {
        "request": connection.serve_one,
        "app": call_app,
    }
    if parts:
        from bench.request_parts import part_sections

        handler = sys.modules["main"]._handle
        sections.update(part_sections(handler, app.wsgi_app, environ))
    for section in sections.values():  # warm every code path before counting
        section()
    names = []
    for name, section in sections.items():
        os.getppid()  # marker: callgrind dumps the profile of what came before
        for _ in range(count):
            section()
        names.append(name)
    os.getppid()
    sys.stderr.write("SECTIONS " + json.dumps(names) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
