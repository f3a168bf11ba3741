"""Every refusal's access line says why (`refusal`): 429 and each kind of 503, like 401s."""

from __future__ import annotations

import json

import pytest

from models_api.keys.key_format import generate_api_key
from tests.conftest import Project, make_client, mint_key
from tests.support.firebase_tokens import TokenIssuer


def _refusals(captured: str) -> list[tuple[int, str]]:
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [(e["httpRequest"]["status"], e["refusal"]) for e in lines if "refusal" in e]


def test_a_spent_lookup_budget_is_logged_as_such(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    client = make_client(
        seeded, monkeypatch, API_KEY_LOOKUPS_PER_SECOND="0.1", API_KEY_LOOKUP_BURST="1"
    )
    capfd.readouterr()

    for _ in range(2):
        client.get("/models", headers={"X-Api-Key": generate_api_key()})

    assert _refusals(capfd.readouterr().out)[-1] == (503, "unknown-key lookup budget exhausted")


def test_an_empty_catalog_is_logged_as_catalog_unavailable(
    project: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    key = mint_key(project)  # nothing seeded: the catalog read is refused
    client = make_client(project, monkeypatch)
    capfd.readouterr()

    client.get("/models", headers={"X-Api-Key": key})

    ((status, reason),) = _refusals(capfd.readouterr().out)
    assert status == 503
    assert reason.startswith("catalog unavailable: the read returned no models")


def test_an_unreachable_key_store_is_logged_as_key_store_unavailable(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    client = make_client(
        seeded, monkeypatch, FIRESTORE_EMULATOR_HOST="127.0.0.1:9", BACKEND_TIMEOUT_SECONDS="0.3"
    )
    capfd.readouterr()

    client.get("/models", headers={"X-Api-Key": generate_api_key()})

    ((status, reason),) = _refusals(capfd.readouterr().out)
    assert status == 503
    assert reason.startswith("key store unavailable: ")


def test_unreachable_token_keys_are_logged_as_token_keys_unavailable(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from models_api.auth.firebase_tokens import FirebaseTokenVerifier

    issuer = TokenIssuer(seeded.project_id)
    app = FirebaseTokenVerifier(seeded.project_id, 2).app()
    issuer.install(app, failing=frozenset({"app_check_keys"}))
    client = make_client(seeded, monkeypatch)
    capfd.readouterr()

    client.get(
        "/models",
        headers={
            "Authorization": f"Bearer {issuer.id_token()}",
            "X-Firebase-AppCheck": issuer.app_check_token(),
        },
    )

    ((status, reason),) = _refusals(capfd.readouterr().out)
    assert (status, reason) == (503, "token keys unavailable: app check keys could not be fetched")
