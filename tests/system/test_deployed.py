"""System tier: against a deployed service. Runs only with BASE_URL and API_KEY set, e.g.

BASE_URL=https://models-xyz.a.run.app API_KEY=inf_... .venv/bin/python -m pytest tests/system
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest

BASE_URL = os.environ.get("BASE_URL", "").rstrip("/")
API_KEY = os.environ.get("API_KEY", "")

pytestmark = [
    pytest.mark.deployed,
    pytest.mark.skipif(not (BASE_URL and API_KEY), reason="needs BASE_URL and API_KEY"),
]


def _get(path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(BASE_URL + path, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def test_deployed_catalog_answers_with_the_contract() -> None:
    status, body = _get("/models", {"X-Api-Key": API_KEY})

    assert status == 200
    models = json.loads(body)["models"]
    assert models and all(isinstance(m["supports_tools"], bool) for m in models)


def test_deployed_service_refuses_a_bad_key() -> None:
    status, body = _get("/models", {"X-Api-Key": "inf_invalid"})

    assert status == 401
    assert json.loads(body)["error"]["code"] == "unauthenticated"
