"""The key index never silently empties or shrinks (the service against a real emulator).

A refresh that would leave an instance without its active keys, or with far fewer at once, is
refused: the instance keeps its index and logs an ERROR `api key index refused`. key_admin
records the active count with every change, so its own large revocations are taken.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.cloud import firestore

from key_admin.operations import set_key_status
from local_harness.processes import FirestoreEmulator
from models_api.keys.key_format import key_id_for
from tests.conftest import DEV_PEPPER, Project, make_client, mint_key, seed_catalog

REFRESH = "0.1"


@pytest.fixture
def own_emulator() -> Iterator[FirestoreEmulator]:
    """An emulator of this test's own, to restart empty (the session's one serves others)."""
    emulator = FirestoreEmulator().start()
    yield emulator
    emulator.stop()


def _error_lines(captured: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("severity") == "ERROR"]


def _status_after_refreshes(client: Any, key: str) -> int:
    """The status a key gets once several refreshes started after now have had time to end."""
    for _ in range(5):
        client.get("/models", headers={"X-Api-Key": key})
        time.sleep(float(REFRESH) * 3)
    status: int = client.get("/models", headers={"X-Api-Key": key}).status_code
    return status


def test_an_emulator_restarted_empty_keeps_the_keys_and_logs_an_error(
    own_emulator: FirestoreEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", own_emulator.host)
    project = Project("test-restart", own_emulator.host, firestore.Client(project="test-restart"))
    assert seed_catalog(project) == 0
    key = mint_key(project)
    client = make_client(project, monkeypatch, API_KEY_REFRESH_SECONDS=REFRESH)
    before = client.get("/models", headers={"X-Api-Key": key}).status_code

    own_emulator.stop()
    own_emulator.start()  # the same port, nothing in it
    capfd.readouterr()
    after = _status_after_refreshes(client, key)

    assert (before, after) == (200, 200)
    errors = [e for e in _error_lines(capfd.readouterr().out) if "api key index" in e["message"]]
    assert errors, "no ERROR line for the refused read"
    assert errors[0]["message"].startswith(
        "api key index refused: the read holds no active keys; keeping the index read"
    )
    assert errors[0]["logger"] == "models_api.keys.index"


def test_a_large_shrink_is_refused_but_key_admins_recorded_revocations_are_taken(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    keys = [mint_key(seeded) for _ in range(8)]
    client = make_client(
        seeded, monkeypatch, API_KEY_REFRESH_SECONDS=REFRESH, API_KEY_MAX_SHRINK_FRACTION="0.25"
    )
    assert all(client.get("/models", headers={"X-Api-Key": k}).status_code == 200 for k in keys)

    for key in keys[:6]:  # an operator revokes 6 of 8 keys: recorded, so taken
        set_key_status(seeded.client, "api_keys", key_id_for(key, DEV_PEPPER.encode()), "revoke")
    capfd.readouterr()
    revoked = _status_after_refreshes(client, keys[0])
    kept = client.get("/models", headers={"X-Api-Key": keys[7]}).status_code

    # A read that finds one of the two remaining keys' shards empty while the head moved on
    # (a partial restore, a wrong copy): half the active keys gone, not what key_admin recorded.
    shard = key_id_for(keys[6], DEV_PEPPER.encode())[:2]
    index = seeded.client.collection("api_keys_index")
    index.document(f"shard-{shard}").delete()
    index.document("head").set({"versions": {f"s{shard}": "a-bad-copy"}}, merge=True)
    shrunk = _status_after_refreshes(client, keys[6])

    assert (revoked, kept) == (401, 200)
    assert shrunk == 200
    errors = [e for e in _error_lines(capfd.readouterr().out) if "api key index" in e["message"]]
    assert errors and "API_KEY_MAX_SHRINK_FRACTION" in errors[0]["message"]
