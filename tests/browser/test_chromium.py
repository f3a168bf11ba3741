"""A real headless Chromium talks to a real server process, as the web app's pages do.

The page is served from another port (another origin) by a tiny HTTP server in this test; it
calls the service with fetch() and posts what it saw back to its own origin. Chromium's HTTP
cache is the one that used to answer a wrong key with a stored 200: here every fetch after
the first must reach the service (each answer has its own request id, found in the log).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_harness.keys import with_bad_checksum
from local_harness.processes import FunctionServer
from models_api.keys.key_format import generate_api_key
from tests.conftest import Project, mint_key
from tests.support.catalog_documents import served_model_ids
from tests.support.chromium import PageOrigin

PAGE_SCRIPT = """
const service = %(service)s;
const seen = {};
async function call(name, headers) {
  try {
    const response = await fetch(service + "/models", {headers});
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) {}
    seen[name] = {
      status: response.status, length: text.length,
      etag: response.headers.get("ETag"), request_id: response.headers.get("X-Request-Id"),
      models: json && json.models ? json.models.length : null,
      error_code: json && json.error ? json.error.code : null,
    };
  } catch (error) {
    seen[name] = {blocked: String(error)};
  }
  return seen[name];
}
async function scenario() {
  for (const [name, headers] of %(steps)s) {
    const step = Object.assign({}, headers);
    if (step["If-None-Match"] === "<etag of valid>") step["If-None-Match"] = seen.valid.etag;
    await call(name, step);
  }
  document.body.textContent = JSON.stringify(seen);
  await fetch("/results", {method: "POST", body: JSON.stringify(seen)});
}
scenario();
"""


def serve(origin: PageOrigin, service_url: str, steps: list[Any]) -> str:
    """Serve a page running `steps` (name, request headers) against the service; its path."""
    script = PAGE_SCRIPT % {"service": json.dumps(service_url), "steps": json.dumps(steps)}
    page = f"<!doctype html><html><body><script>{script}</script></body></html>".encode()
    origin.files["/page.html"] = (page, "text/html")
    return "/page.html"


def visit(path: str, origin: PageOrigin, timeout: float = 60) -> dict[str, Any]:
    """Open the page in a fresh headless Chromium; what the page reported."""
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return origin.visit(path, Path(profile), timeout)


@pytest.fixture
def origins() -> Iterator[tuple[PageOrigin, PageOrigin]]:
    allowed, other = PageOrigin(), PageOrigin()
    yield allowed, other
    allowed.close()
    other.close()


def test_chromium_on_an_allowed_origin_and_on_another(
    seeded: Project, origins: tuple[PageOrigin, PageOrigin]
) -> None:
    allowed, other = origins
    key = mint_key(seeded)
    server = FunctionServer(
        seeded.service_env(CORS_ALLOWED_ORIGINS=allowed.url), workers=1, threads=4
    ).start()
    try:
        seen = visit(
            serve(
                allowed,
                server.url,
                [
                    ["valid", {"X-Api-Key": key}],
                    ["wrong", {"X-Api-Key": with_bad_checksum(key)}],
                    ["unknown", {"X-Api-Key": generate_api_key()}],
                    ["valid_again", {"X-Api-Key": key}],
                    ["conditional", {"X-Api-Key": key, "If-None-Match": "<etag of valid>"}],
                ],
            ),
            allowed,
        )
        seen_elsewhere = visit(serve(other, server.url, [["blocked", {"X-Api-Key": key}]]), other)
    finally:
        server.stop()

    valid, wrong, unknown = seen["valid"], seen["wrong"], seen["unknown"]
    assert valid["status"] == 200 and valid["models"] == len(served_model_ids())
    # A wrong key and an unknown key reach the service and get a 401 the page can read.
    assert (wrong["status"], wrong["error_code"]) == (401, "unauthenticated")
    assert (unknown["status"], unknown["error_code"]) == (401, "unauthenticated")
    # The valid key again: Chromium revalidates (the service answers 304) and hands the page
    # its stored 200.
    assert seen["valid_again"]["status"] == 200 and seen["valid_again"]["models"] == len(
        served_model_ids()
    )
    assert seen["valid_again"]["etag"] == valid["etag"]
    # A page that sends If-None-Match itself gets the 304, without a body.
    assert (seen["conditional"]["status"], seen["conditional"]["length"]) == (304, 0)
    # The other origin's page may not read anything.
    assert "blocked" in seen_elsewhere["blocked"]
    assert "TypeError" in seen_elsewhere["blocked"]["blocked"]

    lines = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    served = {e["request_id"]: e for e in lines if "httpRequest" in e}
    statuses = {name: served[seen[name]["request_id"]]["httpRequest"]["status"] for name in seen}
    assert statuses == {
        "valid": 200,
        "wrong": 401,
        "unknown": 401,
        "valid_again": 304,  # reached the service: nothing was answered from the cache alone
        "conditional": 304,
    }
    # Chromium accepts brotli: the catalog crossed the wire compressed.
    valid_line = served[valid["request_id"]]
    assert int(valid_line["httpRequest"]["responseSize"]) < valid["length"] / 3
