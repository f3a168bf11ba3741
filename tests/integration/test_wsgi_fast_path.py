"""The WSGI fast path answers exactly what the framework path answers, and is the one taken.

The same request goes through `models_api.http.fast_path` and, with the fast path set aside,
through functions-framework's Flask app to the `models` target. Their status, headers (in
order) and body must be the same bytes, for every kind of answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import request_started

from local_harness.keys import with_bad_checksum
from tests.conftest import Project, make_client

ORIGIN = "https://app.example.com"
REQUEST_ID = "fast-path-check-1"


@pytest.fixture
def cors_client(seeded: Project, monkeypatch: pytest.MonkeyPatch) -> Any:
    return make_client(seeded, monkeypatch, CORS_ALLOWED_ORIGINS=ORIGIN)


@contextmanager
def flask_requests(client: Any) -> Iterator[list[str]]:
    """The paths of the requests Flask itself handled meanwhile (its request_started signal)."""
    seen: list[str] = []

    def started(sender: Any, **_: Any) -> None:
        from flask import request

        seen.append(request.path)

    request_started.connect(started, client.application)
    try:
        yield seen
    finally:
        request_started.disconnect(started, client.application)


def _both_paths(client: Any, method: str, path: str, headers: dict[str, str]) -> tuple[Any, Any]:
    sent = {"X-Request-Id": REQUEST_ID, **headers}
    with flask_requests(client) as seen:
        fast = client.open(path, method=method, headers=sent)
    assert seen == [], (method, path)  # Flask never ran
    app = client.application
    fast_path = app.wsgi_app
    app.wsgi_app = fast_path.framework
    try:
        with flask_requests(client) as seen:
            framework = client.open(path, method=method, headers=sent)
    finally:
        app.wsgi_app = fast_path
    assert len(seen) == 1, (method, path)
    return fast, framework


def _wire(response: Any) -> tuple[str, list[tuple[str, str]], bytes]:
    return response.status, list(response.headers.items()), response.get_data()


def _requests(key: str, etag: str) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("GET", "/models", {"X-Api-Key": key}),
        ("GET", "/", {"X-Api-Key": key, "Origin": ORIGIN}),
        ("GET", "/models/", {"X-Api-Key": key, "Accept-Encoding": "gzip, br"}),
        ("GET", "/models?provider=openai&supports_tools=true", {"X-Api-Key": key}),
        ("GET", "/models/gpt-5.2", {"X-Api-Key": key, "Accept-Encoding": "gzip"}),
        ("GET", "/models", {"X-Api-Key": key, "If-None-Match": etag}),
        ("HEAD", "/models", {"X-Api-Key": key}),
        ("OPTIONS", "/models", {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}),
        ("GET", "/models", {"X-Api-Key": with_bad_checksum(key)}),
        ("GET", "/models", {}),
        ("GET", "/models?provider=nobody", {"X-Api-Key": key}),
        ("GET", "/models/no-such-model", {"X-Api-Key": key}),
        ("GET", "/models/Not A Valid Id", {"X-Api-Key": key}),
        ("POST", "/models", {"X-Api-Key": key}),
        ("DELETE", "/models/gpt-5.2", {"X-Api-Key": key, "Origin": ORIGIN}),
    ]


def test_every_kind_of_answer_is_the_same_on_both_paths(cors_client: Any, api_key: str) -> None:
    etag = cors_client.get("/models", headers={"X-Api-Key": api_key}).headers["ETag"]

    for method, path, headers in _requests(api_key, etag):
        fast, framework = _both_paths(cors_client, method, path, headers)

        assert _wire(fast) == _wire(framework), (method, path, headers)


def test_the_frameworks_own_paths_stay_with_the_framework(client: Any) -> None:
    for path in ("/robots.txt", "/favicon.ico"):
        with flask_requests(client) as seen:
            response = client.get(path)

        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "not_found"
        assert len(seen) == 1, path
