"""API keys in a database of their own (API_KEYS_DATABASE), as the deployment keeps them.

The catalog and the keys are in two Firestore databases so that a grant conditioned on the
catalog database's name (catalog editors) cannot write keys (infra/README.md, Least privilege).
Here the key CLI and the service both use the keys database on the emulator, and the catalog
database holds no key.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from local_harness.processes import ROOT
from tests.conftest import DEV_PEPPER, Project, make_client

KEYS_DATABASE = "api-keys"


def _create_key(project: Project, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "key_admin", "create", "--owner", "acct-db", "--label", "db"],
        cwd=ROOT,
        env={**os.environ, **project.service_env(), "API_KEY_PEPPER": DEV_PEPPER, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[0]


def test_keys_minted_into_their_own_database_are_served_from_it(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.cloud import firestore

    api_key = _create_key(seeded, API_KEYS_DATABASE=KEYS_DATABASE)
    keys_db = firestore.Client(project=seeded.project_id, database=KEYS_DATABASE)

    client = make_client(
        seeded, monkeypatch, API_KEYS_DATABASE=KEYS_DATABASE, API_KEY_REFRESH_SECONDS="0.05"
    )
    response = client.get("/models", headers={"X-Api-Key": api_key})

    assert response.status_code == 200
    assert response.get_json()["models"]
    assert len(list(keys_db.collection("api_keys").stream())) == 1
    assert list(seeded.client.collection("api_keys").stream()) == []


def test_a_service_looking_in_the_catalog_database_does_not_find_them(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_key = _create_key(seeded, API_KEYS_DATABASE=KEYS_DATABASE)

    client = make_client(seeded, monkeypatch, API_KEY_REFRESH_SECONDS="0.05")

    assert client.get("/models", headers={"X-Api-Key": api_key}).status_code == 401
