"""Headless Chromium (the OS package) opening one page until the page reports back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:  # not a skip: `make test` and .ci/run install it
        pytest.fail("headless Chromium is missing: apt-get install -y chromium (make test does)")
    return found


def open_until_reported(
    page_url: str, profile: Path, reported: threading.Event, timeout: float
) -> bool:
    """Open `page_url` in headless Chromium with the browser profile `profile` until
    `reported` is set or `timeout` passes; then stop the browser. Whether it was reported."""
    browser = subprocess.Popen(
        [
            chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update",
            f"--user-data-dir={profile}", page_url,
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        return reported.wait(timeout)
    finally:
        os.killpg(browser.pid, signal.SIGTERM)
        try:
            browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(browser.pid, signal.SIGKILL)
            browser.wait()


class PageOrigin:
    """An origin of its own (a local port) serving a few files to Chromium and collecting the
    first JSON report a page POSTs back to it."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (body, content type)
        self.results: dict[str, Any] | None = None
        self.reported = threading.Event()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body, kind = origin.files.get(self.path, (b"", "text/plain"))
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                report = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not origin.reported.is_set():
                    origin.results = report
                    origin.reported.set()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def visit(self, path: str, profile: Path, timeout: float = 60) -> dict[str, Any]:
        """Open `path` of this origin in headless Chromium with `profile`; the page's report."""
        self.results = None
        self.reported.clear()
        reported = open_until_reported(f"{self.url}{path}", profile, self.reported, timeout)
        assert reported, "the page reported nothing"
        assert self.results is not None
        return self.results

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
