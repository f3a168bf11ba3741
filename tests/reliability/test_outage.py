"""Firestore goes away under steady load, then comes back (re-seeded: the emulator keeps
nothing across restarts). The service must keep answering and recover without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from local_harness.load import run_load
from local_harness.processes import FirestoreEmulator, FunctionServer
from models_api.keys.key_format import generate_api_key
from tests.conftest import DEV_PEPPER, Project

pytestmark = pytest.mark.slow


@pytest.fixture
def own_emulator() -> Iterator[FirestoreEmulator]:
    emulator = FirestoreEmulator().start()
    yield emulator
    emulator.stop()


def _project_on(emulator: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> Project:
    from google.cloud import firestore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    return Project("outage-test", emulator.host, firestore.Client(project="outage-test"))


def _key_documents(project: Project) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in project.client.collection("api_keys").stream()}


def test_outage_under_load_serves_cached_then_recovers(
    own_emulator: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import mint_key, seed_catalog

    project = _project_on(own_emulator, monkeypatch)
    assert seed_catalog(project) == 0
    known_key = mint_key(project)
    unseen_key = mint_key(project)  # never sent before the outage, but in the key index
    saved_keys = _key_documents(project)
    # Short TTLs, so the outage outlasts every cache entry and the stale paths are exercised.
    server = FunctionServer(
        project.service_env(
            BACKEND_TIMEOUT_SECONDS="1",
            CATALOG_CACHE_TTL_SECONDS="1",
            API_KEY_REFRESH_SECONDS="0.5",
            CATALOG_MAX_STALE_SECONDS="300",
            API_KEY_PEPPER=DEV_PEPPER,
        ),
        workers=1,
        threads=8,
    ).start()
    try:
        warm = run_load(server.url, lambda n: {"X-Api-Key": known_key}, seconds=1, connections=4)
        assert set(warm.statuses) == {200}

        own_emulator.stop()
        during = run_load(server.url, lambda n: {"X-Api-Key": known_key}, seconds=6, connections=8)
        unseen = run_load(server.url, lambda n: {"X-Api-Key": unseen_key}, seconds=2, connections=2)
        brand_new = run_load(
            server.url, lambda n: {"X-Api-Key": generate_api_key()}, seconds=1, connections=2
        )

        own_emulator.start()  # same port, empty: re-seed as an operator would
        assert seed_catalog(project) == 0
        for key_id, document in saved_keys.items():
            project.client.collection("api_keys").document(key_id).set(document)
        deadline = time.monotonic() + 15
        recovered = None
        while time.monotonic() < deadline:
            recovered = run_load(
                server.url, lambda n: {"X-Api-Key": unseen_key}, seconds=0.5, connections=1
            )
            if set(recovered.statuses) == {200}:
                break
    finally:
        server.stop()

    assert during.total > 100
    assert set(during.statuses) == {200}, during.statuses
    assert not during.errors
    assert during.max_latency < 3.5, "a request waited longer than the backend bound"
    assert set(unseen.statuses) == {200}, unseen.statuses  # answered from the key index
    assert set(brand_new.statuses) <= {503, 429}, brand_new.statuses
    assert 401 not in unseen.statuses and 401 not in brand_new.statuses
    assert unseen.bodies_with_traceback == 0
    assert recovered is not None and set(recovered.statuses) == {200}, "no recovery"
    log = "\n".join(server.log_lines())
    assert "serving a stale catalog" in log
    assert known_key not in log and unseen_key not in log
