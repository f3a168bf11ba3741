"""`Authorization: Bearer inf_...` is an API key, checked exactly as `X-Api-Key`; any other
Bearer value stays a Firebase ID token. Through the real app and a real server process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from key_admin.operations import set_key_status
from local_harness.keys import with_bad_checksum
from local_harness.processes import ROOT, FunctionServer
from models_api.errors import Unauthenticated
from models_api.keys.key_format import generate_api_key, key_id_for
from tests.conftest import DEV_PEPPER, Project, make_client, mint_key
from tests.integration.test_server_process import http_get


def _access_lines(captured: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if "httpRequest" in line]


def _as_key_header(key: str) -> dict[str, str]:
    return {"X-Api-Key": key}


def _as_bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_bearer_key_is_served_and_logged_like_x_api_key(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    key = mint_key(seeded)
    client = make_client(seeded, monkeypatch)
    capfd.readouterr()

    answers = [
        client.get("/models", headers=headers)
        for headers in (
            _as_key_header(key),
            _as_bearer(key),
            {"Authorization": f"bearer {key}"},  # the scheme is case-insensitive
            {**_as_bearer(key), "X-Api-Key": key},  # the same key twice
            {**_as_bearer(key), "X-Firebase-AppCheck": "ignored beside an API key"},
        )
    ]
    lines = _access_lines(capfd.readouterr().out)

    assert [answer.status_code for answer in answers] == [200] * 5
    assert answers[1].get_data() == answers[0].get_data()
    assert [line["auth"] for line in lines] == [{"kind": "api_key", "subject": key[:12]}] * 5


def _reasons_for(client: Any, key: str, capfd: pytest.CaptureFixture[str]) -> list[str]:
    capfd.readouterr()
    for as_header in (_as_key_header, _as_bearer):
        assert client.get("/models", headers=as_header(key)).status_code == 401
    return [line["auth_failure"] for line in _access_lines(capfd.readouterr().out)]


def test_each_bad_key_gets_the_same_reason_through_either_header(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    revoked = mint_key(seeded)
    mint_key(seeded)  # the index keeps an active key: the revocation is no empty read
    set_key_status(seeded.client, "api_keys", key_id_for(revoked, DEV_PEPPER.encode()), "revoke")
    client = make_client(seeded, monkeypatch)
    unknown = generate_api_key()

    cases = {
        "bad checksum": _reasons_for(client, with_bad_checksum(revoked), capfd),
        "unknown": _reasons_for(client, unknown, capfd),
        "revoked": _reasons_for(client, revoked, capfd),
    }

    assert cases == {
        "bad checksum": ["malformed api key or bad checksum"] * 2,
        "unknown": [f"unknown api key {unknown[:12]}"] * 2,
        "revoked": [f"key revoked: {revoked[:12]}"] * 2,
    }


def test_two_different_keys_are_refused_whichever_is_valid(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    first, second = mint_key(seeded), mint_key(seeded)
    client = make_client(seeded, monkeypatch)
    capfd.readouterr()

    response = client.get("/models", headers={"X-Api-Key": first, **_as_bearer(second)})

    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == Unauthenticated.message
    (line,) = _access_lines(capfd.readouterr().out)
    assert line["auth_failure"] == "X-Api-Key and Authorization: Bearer carry different keys"


def test_bearer_keys_count_against_the_same_failure_throttle(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    client = make_client(seeded, monkeypatch, AUTH_FAILURE_LIMIT="3")

    statuses = [
        client.get("/models", headers=as_header(generate_api_key())).status_code
        for as_header in (_as_bearer, _as_key_header, _as_bearer, _as_key_header, _as_bearer)
    ]

    assert statuses == [401, 401, 401, 429, 429]
    refused = [line for line in _access_lines(capfd.readouterr().out) if "refusal" in line]
    assert refused[-1]["httpRequest"]["status"] == 429
    assert refused[-1]["refusal"] == "auth failures from this address over the limit (3 in 60 s)"


def test_a_bearer_jwt_is_still_a_firebase_id_token_that_needs_app_check(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    client = make_client(seeded, monkeypatch)
    capfd.readouterr()

    response = client.get("/models", headers={"Authorization": "Bearer eyJhbGciOi.x.y"})

    assert response.status_code == 401
    (line,) = _access_lines(capfd.readouterr().out)
    assert line["auth_failure"] == "browser auth needs both Authorization and X-Firebase-AppCheck"


def test_openapi_documents_the_bearer_key_and_the_uniform_401_body() -> None:
    spec = yaml.safe_load(Path(ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    schemes = spec["components"]["securitySchemes"]
    unauthenticated = spec["components"]["responses"]["Unauthenticated"]
    example = unauthenticated["content"]["application/json"]["example"]["error"]

    assert schemes["apiKeyBearer"]["scheme"] == "bearer"
    assert {"apiKeyBearer": []} in spec["security"]
    assert example["message"] == Unauthenticated.message
    assert example["code"] == Unauthenticated.code


@pytest.fixture
def server(seeded: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(seeded.service_env(), workers=1, threads=2).start()
    yield running
    running.stop()


def test_a_real_server_takes_a_bearer_key_and_never_logs_it(
    seeded: Project, server: FunctionServer
) -> None:
    key = mint_key(seeded)

    ok, _, body = http_get(f"{server.url}/models", _as_bearer(key))
    refused, headers, refused_body = http_get(
        f"{server.url}/models", _as_bearer(with_bad_checksum(key))
    )
    server.stop()

    assert ok == 200 and json.loads(body)["models"]
    assert refused == 401
    error = json.loads(refused_body)["error"]
    assert error["message"] == Unauthenticated.message
    lines = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    (line,) = [e for e in lines if e.get("request_id") == headers["X-Request-Id"]]
    assert line["auth_failure"] == "malformed api key or bad checksum"
    assert key not in "\n".join(server.log_lines())
