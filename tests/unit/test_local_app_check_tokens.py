"""make run's local App Check: a signing key kept across runs, and the token endpoint a web
page's CustomProvider fetches (CORS for the allowed origins only, refused where deployed)."""

from __future__ import annotations

import json
import stat
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from local_harness.app_check_token_endpoint import (
    TOKEN_PATH,
    AppCheckTokenEndpoint,
    DeployedEnvironment,
)
from local_harness.local_app_check import LocalAppCheckSigner
from local_harness.processes import free_port
from local_harness.run_local import allowed_origins

ALLOWED = "http://127.0.0.1:3000"


def _verified_claims(token: str, signer: LocalAppCheckSigner) -> dict[str, Any]:
    key = jwt.PyJWKSet.from_dict(signer.jwks()).keys[0]
    assert jwt.get_unverified_header(token)["kid"] == key.key_id
    claims: dict[str, Any] = jwt.decode(
        token, key.key, algorithms=["RS256"], audience=f"projects/{signer.project_id}"
    )
    return claims


def test_the_kept_key_signs_the_same_way_in_the_next_run(tmp_path: Path) -> None:
    key_file = tmp_path / "state" / "local-app-check-key.pem"

    first = LocalAppCheckSigner.kept_in(key_file, "demo-x")
    second = LocalAppCheckSigner.kept_in(key_file, "demo-x")

    assert second.jwks() == first.jwks()  # same key, same kid
    assert _verified_claims(first.token(), second)["sub"] == first.app_id
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_an_unreadable_key_file_is_replaced_by_a_new_key(tmp_path: Path) -> None:
    key_file = tmp_path / "local-app-check-key.pem"
    key_file.write_text("not a key")

    signer = LocalAppCheckSigner.kept_in(key_file, "demo-x")

    assert LocalAppCheckSigner.kept_in(key_file, "demo-x").jwks() == signer.jwks()


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[AppCheckTokenEndpoint]:
    signer = LocalAppCheckSigner.kept_in(tmp_path / "key.pem", "demo-x")
    running = AppCheckTokenEndpoint(signer, free_port(), [ALLOWED], environ={}).start()
    yield running
    running.stop()


def _get(url: str, origin: str | None = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Origin": origin} if origin else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.load(error)


def test_the_endpoint_answers_what_a_custom_provider_returns(
    endpoint: AppCheckTokenEndpoint, tmp_path: Path
) -> None:
    status, headers, body = _get(endpoint.url, origin=ALLOWED)

    assert status == 200
    assert set(body) == {"token", "expireTimeMillis"}
    claims = _verified_claims(
        body["token"], LocalAppCheckSigner.kept_in(tmp_path / "key.pem", "demo-x")
    )
    assert body["expireTimeMillis"] // 1000 in range(claims["exp"] - 2, claims["exp"] + 2)
    assert headers["Access-Control-Allow-Origin"] == ALLOWED
    assert headers["Cache-Control"] == "no-store"


def test_the_endpoint_grants_no_other_origin(endpoint: AppCheckTokenEndpoint) -> None:
    status, headers, _ = _get(endpoint.url, origin="http://evil.example")

    assert status == 200  # a browser keeps the answer from the page: no CORS grant
    assert "Access-Control-Allow-Origin" not in headers


def test_the_endpoint_has_one_path(endpoint: AppCheckTokenEndpoint) -> None:
    status, _, body = _get(endpoint.url.replace(TOKEN_PATH, "/other"))

    assert status == 404
    assert TOKEN_PATH in body["error"]


def test_the_endpoint_refuses_to_start_where_deployed(tmp_path: Path) -> None:
    signer = LocalAppCheckSigner.kept_in(tmp_path / "key.pem", "demo-x")
    port = free_port()

    with pytest.raises(DeployedEnvironment, match="K_SERVICE"):
        AppCheckTokenEndpoint(signer, port, [ALLOWED], environ={"K_SERVICE": "models"})


def test_make_run_allows_both_loopback_names_unless_told_otherwise() -> None:
    assert allowed_origins({}) == ("http://localhost:3000", "http://127.0.0.1:3000")
    assert allowed_origins({"CORS_ALLOWED_ORIGINS": " http://a.test:1 ,http://b.test:2"}) == (
        "http://a.test:1",
        "http://b.test:2",
    )
