"""Rotating the pepper invalidates no key: the service accepts the current and the previous
pepper, key_admin mints under the current one and records it, and `pepper-usage` says which
keys still depend on a version before it is retired (emulator, real CLI)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from local_harness.processes import ROOT
from models_api.keys.key_format import key_id_for
from tests.conftest import DEV_PEPPER, Project, make_client

NEW_PEPPER = "rotated-pepper-0123456789abcdef0123456789abcdef"
AFTER_ROTATION = {
    "API_KEY_PEPPER": NEW_PEPPER,
    "API_KEY_PEPPER_VERSION": "2",
    "API_KEY_PREVIOUS_PEPPER": DEV_PEPPER,
    "API_KEY_PREVIOUS_PEPPER_VERSION": "1",
}


def _cli(project: Project, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **project.service_env(**env)}
    return subprocess.run(
        [sys.executable, "-m", "key_admin", *args],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def _mint(project: Project, **env: str) -> tuple[str, str]:
    """(api key, key id) from `key_admin create`."""
    created = _cli(project, "create", "--owner", "acct", **env)
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    key_id = next(line.split()[-1] for line in lines if line.startswith("key id:"))
    return lines[0], key_id


def test_a_rotation_keeps_old_keys_working_and_mints_new_ones_under_the_new_pepper(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_key, old_id = _mint(seeded)  # before: version 1 (the default)
    new_key, new_id = _mint(seeded, **AFTER_ROTATION)
    rotating = make_client(seeded, monkeypatch, **AFTER_ROTATION)
    keys = (old_key, new_key)
    answers_rotating = [rotating.get("/models", headers={"X-Api-Key": k}) for k in keys]
    retired = make_client(
        seeded, monkeypatch, API_KEY_PEPPER=NEW_PEPPER, API_KEY_PEPPER_VERSION="2",
        API_KEY_PREVIOUS_PEPPER="", API_KEY_PREVIOUS_PEPPER_VERSION="",
    )  # fmt: skip
    answers_retired = [retired.get("/models", headers={"X-Api-Key": k}) for k in keys]
    documents = {s.id: s.to_dict() for s in seeded.client.collection("api_keys").stream()}

    assert [answer.status_code for answer in answers_rotating] == [200, 200]
    assert [answer.status_code for answer in answers_retired] == [401, 200]
    assert old_id == key_id_for(old_key, DEV_PEPPER.encode())
    assert new_id == key_id_for(new_key, NEW_PEPPER.encode())
    assert documents[old_id]["pepper_version"] == 1
    assert documents[new_id]["pepper_version"] == 2


def test_pepper_usage_counts_live_keys_per_version_and_guards_retiring(seeded: Project) -> None:
    _mint(seeded)
    _, disabled_id = _mint(seeded)
    _, revoked_id = _mint(seeded)
    _mint(seeded, **AFTER_ROTATION)
    assert _cli(seeded, "disable", disabled_id).returncode == 0
    assert _cli(seeded, "revoke", revoked_id).returncode == 0

    usage = _cli(seeded, "pepper-usage", **AFTER_ROTATION)
    still_used = _cli(seeded, "pepper-usage", "--retiring", "1", **AFTER_ROTATION)
    unused = _cli(seeded, "pepper-usage", "--retiring", "3", **AFTER_ROTATION)

    assert usage.returncode == 0, usage.stderr
    rows = {line.split()[0]: line.split()[1:] for line in usage.stdout.splitlines()[1:3]}
    assert rows == {"1": ["1", "1"], "2": ["1", "0"]}
    assert "1 revoked or expired key(s)" in usage.stdout
    assert "mints under version 2" in usage.stdout
    assert still_used.returncode == 3 and "2 live key(s) depend on it" in still_used.stdout
    assert unused.returncode == 0 and "no live key depends on it" in unused.stdout


def test_keys_from_before_versions_were_recorded_are_counted_apart(seeded: Project) -> None:
    _, key_id = _mint(seeded)
    document = seeded.client.collection("api_keys").document(key_id)
    stored = document.get().to_dict() or {}
    as_minted_before = {name: value for name, value in stored.items() if name != "pepper_version"}
    document.delete()  # the emulator ignores DELETE_FIELD: write the older document anew
    document.set(as_minted_before)

    usage = _cli(seeded, "pepper-usage")
    retiring = _cli(seeded, "pepper-usage", "--retiring", "1")

    assert usage.returncode == 0
    assert "not recorded" in usage.stdout and "minted before keys recorded" in usage.stdout
    # It may be on version 1: retiring 1 is refused until that key is gone.
    assert retiring.returncode == 3 and "1 live key(s) may (not recorded)" in retiring.stdout


def test_pepper_usage_needs_no_pepper(seeded: Project) -> None:
    """infra/retire_pepper.sh runs it with the project and database only."""
    _mint(seeded)

    usage = _cli(seeded, "pepper-usage", "--retiring", "2", API_KEY_PEPPER="")

    assert usage.returncode == 0, usage.stderr
    assert "no live key depends on it" in usage.stdout
    assert "mints under" not in usage.stdout


def test_a_failed_check_never_exits_like_live_keys(seeded: Project) -> None:
    """Scripts read only the exit status: an error must not look like the live-keys verdict."""
    unreachable = _cli(
        seeded, "pepper-usage", "--retiring", "1", FIRESTORE_EMULATOR_HOST="127.0.0.1:9"
    )
    bad_usage = _cli(seeded, "pepper-usage", "--retiring", "one")

    assert unreachable.returncode == 2 and "Firestore failed" in unreachable.stderr
    assert bad_usage.returncode == 64
    assert "no live key" not in unreachable.stdout + bad_usage.stdout
