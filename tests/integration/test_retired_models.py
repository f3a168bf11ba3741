"""A retired model answers 410 Gone naming its successor; an unknown id stays 404.

Through the functions-framework test client and a real server process, on the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from local_harness.processes import FunctionServer
from tests.conftest import Project, make_client, mint_key
from tests.integration.test_server_process import http_get

RETIRED_BY_DATE = "retired-by-date"
RETIRED_BY_STATUS = "retired-by-status"
RETIRED_TWICE = "retired-twice"
DISABLED = "disabled-model"


def _successor(project: Project) -> str:
    """A model the seeded catalog serves."""
    docs = project.client.collection("models").stream()
    served: list[str] = sorted(
        doc.id
        for doc in docs
        if (doc.to_dict() or {}).get("status") == "active"
        and not (doc.to_dict() or {}).get("retirement_date")
    )
    return served[0]


@pytest.fixture
def retired(seeded: Project) -> Project:
    """The seeded catalog plus models retired each way the service knows, and a disabled one."""
    collection = seeded.client.collection("models")
    successor = _successor(seeded)
    served = collection.document(successor).get().to_dict()
    past = dict(
        served,
        id=RETIRED_BY_DATE,
        lifecycle="deprecated",
        deprecation_date="2026-04-22",
        retirement_date="2026-07-23",
        replacement=successor,
    )
    collection.document(RETIRED_BY_DATE).set(past)
    collection.document(RETIRED_BY_STATUS).set(
        {"id": RETIRED_BY_STATUS, "status": "retired", "replacement": successor}
    )
    collection.document(RETIRED_TWICE).set(
        {"id": RETIRED_TWICE, "status": "retired", "replacement": RETIRED_BY_STATUS}
    )
    collection.document(DISABLED).set(dict(served, id=DISABLED, status="disabled"))
    return seeded


def test_a_retired_id_is_410_with_the_successor_in_body_and_link(
    retired: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    successor = _successor(retired)
    client = make_client(retired, monkeypatch)
    headers = {"X-Api-Key": mint_key(retired)}

    for model_id, retired_on in (
        (RETIRED_BY_DATE, "2026-07-23"),
        (RETIRED_BY_STATUS, None),
        (RETIRED_TWICE, None),  # its replacement is retired too: the served successor is named
    ):
        response = client.get(f"/models/{model_id}", headers=headers)

        assert response.status_code == 410, model_id
        assert response.headers["Link"] == f'</models/{successor}>; rel="successor-version"'
        assert response.headers["Cache-Control"] == "no-store"
        error = response.get_json()["error"]
        assert error["code"] == "gone"
        assert error["successor"] == successor
        assert error["retirement_date"] == retired_on
        assert successor in error["message"] and model_id in error["message"]
        assert error["request_id"] == response.headers["X-Request-Id"]
        assert client.get(f"/models/{successor}", headers=headers).status_code == 200


def test_the_list_never_contains_a_retired_or_disabled_model_and_unknown_ids_stay_404(
    retired: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(retired, monkeypatch)
    headers = {"X-Api-Key": mint_key(retired)}

    ids = {m["id"] for m in client.get("/models", headers=headers).get_json()["models"]}
    unknown = client.get("/models/never-existed", headers=headers)
    disabled = client.get(f"/models/{DISABLED}", headers=headers)

    assert not ids & {RETIRED_BY_DATE, RETIRED_BY_STATUS, RETIRED_TWICE, DISABLED}
    assert _successor(retired) in ids
    assert unknown.status_code == 404 and "Link" not in unknown.headers
    assert unknown.get_json()["error"]["code"] == "not_found"
    assert disabled.status_code == 404  # the operator's switch hides the model entirely


def test_a_retired_id_needs_credentials_like_any_other(
    retired: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(retired, monkeypatch)

    response = client.get(f"/models/{RETIRED_BY_STATUS}")

    assert response.status_code == 401
    assert "Link" not in response.headers


def test_head_of_a_retired_id_is_410_with_the_link(
    retired: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(retired, monkeypatch)

    response = client.head(f"/models/{RETIRED_BY_DATE}", headers={"X-Api-Key": mint_key(retired)})

    assert response.status_code == 410
    assert "successor-version" in response.headers["Link"]


@pytest.fixture
def server(retired: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(retired.service_env(), workers=1, threads=2).start()
    yield running
    running.stop()


def test_a_real_server_answers_410_over_http(retired: Project, server: FunctionServer) -> None:
    key = mint_key(retired)

    status, headers, body = http_get(f"{server.url}/models/{RETIRED_BY_DATE}", {"X-Api-Key": key})
    unknown_status, _, _ = http_get(f"{server.url}/models/never-existed", {"X-Api-Key": key})

    assert status == 410
    successor = _successor(retired)
    assert headers["Link"] == f'</models/{successor}>; rel="successor-version"'
    assert headers["Content-Type"] == "application/json"
    payload: dict[str, Any] = json.loads(body)
    assert payload["error"]["successor"] == successor
    assert unknown_status == 404


def test_the_410_answers_conform_to_the_spec(
    retired: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_openapi_contract import ORIGIN, SPEC_PATH, assert_conforms

    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    client = make_client(retired, monkeypatch, CORS_ALLOWED_ORIGINS=ORIGIN)
    key = {"X-Api-Key": mint_key(retired), "Origin": ORIGIN}

    for method in ("GET", "HEAD"):
        for model_id in (RETIRED_BY_DATE, RETIRED_BY_STATUS):
            response = client.open(f"/models/{model_id}", method=method, headers=key)
            assert_conforms(document, "/models/{id}", method, response, 410)
            assert "Link" in response.headers["Access-Control-Expose-Headers"]
