"""The key admin CLI keeps the key index consistent with the key documents (emulator), and
migrates keys minted before the index existed."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from typing import Any

import pytest

from key_admin.operations import check_index, set_key_expiry, set_key_status
from local_harness.processes import ROOT
from models_api.keys.documents import KeyRecord, decode_entries, index_collection_for
from models_api.keys.key_format import display_prefix, generate_api_key, key_id_for
from tests.conftest import DEV_PEPPER, Project, make_client, mint_key

INDEX = index_collection_for("api_keys")


def _cli(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **project.service_env()}
    return subprocess.run(
        [sys.executable, "-m", "key_admin", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _head(project: Project) -> dict[str, Any]:
    return project.client.collection(INDEX).document("head").get().to_dict() or {}


def _shard(project: Project, shard: str) -> dict[str, Any]:
    return project.client.collection(INDEX).document(f"shard-{shard}").get().to_dict() or {}


def test_every_change_writes_a_new_shard_version_behind_a_claim(project: Project) -> None:
    key = mint_key(project)
    key_id = key_id_for(key, DEV_PEPPER.encode())
    shard_name = key_id[:2]
    versions = [_shard(project, shard_name)["version"]]
    set_key_status(project.client, "api_keys", key_id, "disable")
    versions.append(_shard(project, shard_name)["version"])
    set_key_expiry(project.client, "api_keys", key_id, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    set_key_status(project.client, "api_keys", key_id, "revoke")

    head, shard = _head(project), _shard(project, shard_name)
    entry = decode_entries(shard["entries"])[bytes.fromhex(key_id)[:16]]
    claims = {s.id: s.to_dict() for s in project.client.collection("api_keys_changes").stream()}
    document = project.client.collection("api_keys").document(key_id).get().to_dict() or {}

    assert head["layout"] == 2 and head["versions"] == {f"s{shard_name}": shard["version"]}
    assert len({*versions, shard["version"]}) == 3 and shard["seq"] == 4
    assert [claims[f"{shard_name}.{n:012d}"]["action"] for n in range(1, 5)] == [
        "create", "disable", "expire", "revoke",
    ]  # fmt: skip
    assert claims[f"{shard_name}.000000000004"]["version"] == shard["version"]
    assert (entry.status, entry.expires_at) == ("revoked", 1893456000)
    assert document["pepper_version"] == 1
    assert check_index(project.client, "api_keys").consistent


def test_check_index_reports_a_head_behind_its_shard_and_rebuild_index_repairs_it(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17's lost update: the shard holds the revocation, the head an older version."""
    victim, other = mint_key(seeded), mint_key(seeded)
    victim_id = key_id_for(victim, DEV_PEPPER.encode())
    client = make_client(seeded, monkeypatch, API_KEY_REFRESH_SECONDS="0.05")
    assert client.get("/models", headers={"X-Api-Key": victim}).status_code == 200
    stale = _head(seeded)["versions"][f"s{victim_id[:2]}"]
    set_key_status(seeded.client, "api_keys", victim_id, "revoke")
    head = seeded.client.collection(INDEX).document("head")
    head.set({"versions": {f"s{victim_id[:2]}": stale}}, merge=True)  # the lost head update
    time.sleep(0.2)
    while_lost = client.get("/models", headers={"X-Api-Key": victim}).status_code

    found = _cli(seeded, "check-index")
    repaired = _cli(seeded, "rebuild-index")
    again = _cli(seeded, "rebuild-index")
    after = _cli(seeded, "check-index")
    time.sleep(0.2)
    statuses = [
        client.get("/models", headers={"X-Api-Key": k}).status_code for k in (victim, other)
    ]

    assert while_lost == 200  # what issue 17 saw: no instance re-reads the shard
    assert found.returncode == 1, found.stdout
    assert f"shard {victim_id[:2]} is at version" in found.stdout
    assert f"but the head lists {stale}" in found.stdout
    assert repaired.returncode == 0 and "1 shard(s) rewritten" in repaired.stdout, repaired.stdout
    assert again.returncode == 0 and "0 shard(s) rewritten" in again.stdout, again.stdout
    assert after.returncode == 0 and "consistent" in after.stdout
    assert statuses == [401, 200]


def test_check_index_reports_a_shard_the_head_does_not_list(project: Project) -> None:
    key_id = key_id_for(mint_key(project), DEV_PEPPER.encode())
    head = project.client.collection(INDEX).document("head")
    head.set({"layout": 2, "versions": {}})

    result = _cli(project, "check-index")

    assert result.returncode == 1
    assert f"shard {key_id[:2]} is not listed in the head (readers skip it)" in result.stdout


def test_keys_from_before_the_index_are_migrated_by_rebuild_index(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    from models_api.keys.verifier import FirestoreKeyStore

    keys = [generate_api_key() for _ in range(5)]
    for number, key in enumerate(keys):  # as the previous CLI wrote them: documents only
        record = KeyRecord(
            key_id=key_id_for(key, DEV_PEPPER.encode()), owner="old", label="",
            prefix=display_prefix(key), status="revoked" if number == 0 else "active",
            created_at=dt.datetime.now(dt.UTC), expires_at=None,
        )  # fmt: skip
        seeded.client.collection("api_keys").document(record.key_id).set(record.to_document())

    before = _cli(seeded, "check-index")
    refused = _cli(seeded, "disable", key_id_for(keys[1], DEV_PEPPER.encode()))
    rebuilt = _cli(seeded, "rebuild-index")
    after = _cli(seeded, "check-index")
    lookups = mocker.spy(FirestoreKeyStore, "find_key")
    client = make_client(seeded, monkeypatch)
    statuses = [client.get("/models", headers={"X-Api-Key": key}).status_code for key in keys]

    assert before.returncode == 1 and "head is missing" in before.stdout
    assert refused.returncode == 1 and "rebuild-index" in refused.stderr
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "indexed 5 key(s) (4 active, 1 revoked)" in rebuilt.stdout
    assert after.returncode == 0 and "consistent" in after.stdout
    assert statuses == [401, 200, 200, 200, 200]
    assert lookups.call_count == 0  # every key came from the index


def test_check_index_names_a_document_edited_behind_the_index(project: Project) -> None:
    key = mint_key(project)
    key_id = key_id_for(key, DEV_PEPPER.encode())
    project.client.collection("api_keys").document(key_id).update({"status": "disabled"})

    result = _cli(project, "check-index")

    assert result.returncode == 1
    assert f"key id {key_id[:32]}...: index says" in result.stdout
    assert "1 problem(s)" in result.stdout


def test_the_cli_expires_a_key_now(seeded: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    key = mint_key(seeded)
    client = make_client(seeded, monkeypatch, API_KEY_REFRESH_SECONDS="0.05")
    assert client.get("/models", headers={"X-Api-Key": key}).status_code == 200

    expired = _cli(seeded, "expire", key_id_for(key, DEV_PEPPER.encode()))

    assert expired.returncode == 0 and "expires at" in expired.stdout
    assert client.get("/models", headers={"X-Api-Key": key}).status_code == 401


def test_an_index_in_the_older_layout_is_migrated_before_keys_change(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = mint_key(seeded)
    key_id = key_id_for(key, DEV_PEPPER.encode())
    index = seeded.client.collection(INDEX)
    versions = _head(seeded)["versions"]
    index.document("head").delete()  # as the previous CLI wrote it: integer versions
    index.document("head").set({"layout": 1, "version": 7, "shards": {key_id[:2]: 7}})
    client = make_client(seeded, monkeypatch, API_KEY_REFRESH_SECONDS="0.05")
    served_from_layout_1 = client.get("/models", headers={"X-Api-Key": key}).status_code

    refused = _cli(seeded, "revoke", key_id)
    checked = _cli(seeded, "check-index")
    migrated = _cli(seeded, "rebuild-index")
    revoked = _cli(seeded, "revoke", key_id)
    time.sleep(0.2)

    assert versions and served_from_layout_1 == 200  # the service reads either layout
    assert refused.returncode == 1 and "older layout" in refused.stderr
    assert checked.returncode == 1 and "layout 1" in checked.stdout
    assert migrated.returncode == 0 and _head(seeded)["layout"] == 2
    assert revoked.returncode == 0
    assert client.get("/models", headers={"X-Api-Key": key}).status_code == 401


def test_the_layout_1_cli_cannot_read_a_layout_2_head_as_its_own(project: Project) -> None:
    """The previous CLI parsed `version` as an integer: it fails before writing anything."""
    mint_key(project)

    with pytest.raises(ValueError):
        int(_head(project)["version"])
