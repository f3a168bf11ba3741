"""The seed script and key CLI against the emulator, as an operator runs them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from local_harness.processes import ROOT
from tests.conftest import DEV_PEPPER, Project, make_client, seed_catalog

DATA_DIR = ROOT / "catalog_seed" / "models"


def _documents(project: Project) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in project.client.collection("models").stream()}


def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    shutil.copytree(DATA_DIR, target)
    return target


def test_seeding_twice_changes_nothing_the_second_time(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert seed_catalog(project) == 0
    first = _documents(project)
    capsys.readouterr()

    assert seed_catalog(project) == 0
    output = capsys.readouterr().out

    assert "0 added, 0 changed, 34 unchanged, 0 removed" in output
    assert "nothing to do" in output
    assert _documents(project) == first


@pytest.mark.parametrize(
    ("file", "old", "new", "expected_error"),
    [
        ("anthropic.toml", 'provider = "anthropic"', 'provider = "azure"', "provider"),
        ("anthropic.toml", "context_window = 200000", "context_window = -1", "context_window"),
        ("anthropic.toml", "max_output_tokens = 64000", "max_output_tokens = 900000", "max_output"),
        ("anthropic.toml", 'input_per_1m = "1.00"', 'input_per_1m = "-1"', "input_per_1m"),
        ("anthropic.toml", 'id = "claude-haiku-4-5"', 'id = "claude-sonnet-4-6"', "duplicate"),
        ("anthropic.toml", "supports_tools = true", 'supports_tools = "yes"', "supports_tools"),
        ("anthropic.toml", 'lifecycle = "active"', 'lifecycle = "legacy"', "lifecycle"),
        ("anthropic.toml", 'input_per_1m = "1.00"', "input_per_1m = 1.00", "quoted decimal"),
        ("anthropic.toml", 'input_per_1m = "1.00"', 'input_per_1m = "0"', "allow_zero"),
        ("anthropic.toml", 'input_per_1m = "1.00"', 'input_per_1m = "1e9"', "above the bound"),
        ("anthropic.toml", "checked = 2026-07-02", "checked = 2099-01-01", "future"),
        (
            "anthropic.toml",
            'cache_write_per_1m = "1.25"',
            'cache_write_per_1m = "1.25"\nx = 1',
            "x",
        ),
        # A model whose context reaches past a priced tier needs that tier's every price.
        ("vertex.toml", 'output_per_1m = "18.00"\n', "", "tiers[0].output_per_1m"),
        ("vertex.toml", 'cached_input_per_1m = "0.40"\n', "", "cached_input_per_1m"),
        # Every billed unit has a price: an image model needs its per-image price.
        ("vertex.toml", 'per_image_output = "0.045"\n', "", "per_image_output"),
        # An OpenRouter model's routing is OpenRouter's provider object, checked like the service.
        ("openrouter.toml", 'order = ["xai"]', 'order = ["xai"]\nonly = ["novita"]', "only"),
        ("openrouter.toml", 'order = ["xai"]', 'order = "xai"', "routing.order"),
        # ...and its price is the highest among the endpoints that routing allows.
        (
            "openrouter.toml",
            'slug = "fireworks"\ninput_per_1m = "0.22"',
            'slug = "fireworks"\ninput_per_1m = "0.25"',
            "'fireworks' charges US$0.25",
        ),
        ("openrouter.toml", 'order = ["xai"]', 'order = ["xai"]\nonly = ["xai", "azure"]', "azure"),
        ("openrouter.toml", 'order = ["xai"]', 'order = ["xai"]\nsort = "price"', "routing.sort"),
        ("openai.toml", 'replacement = "gpt-5.4"  ', 'replacement = "nope"  ', "replacement"),
        ("openai.toml", 'runs_on = "gpt-5.2"', 'runs_on = "cmo-agent"', "runs_on"),
    ],
)
def test_any_invalid_field_means_zero_writes(
    project: Project,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    file: str,
    old: str,
    new: str,
    expected_error: str,
) -> None:
    data = _copy_data(tmp_path)
    path = data / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))

    status = seed_catalog(project, "--data-dir", str(data))

    errors = capsys.readouterr().err
    assert status == 1
    assert file in errors and expected_error in errors
    assert "nothing was written" in errors
    assert _documents(project) == {}


def test_an_openrouter_model_without_routing_is_refused(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its price covers only the endpoints its routing allows: without routing it is unsafe."""
    data = _copy_data(tmp_path)
    path = data / "openrouter.toml"
    text, removed = re.subn(
        r"\[models\.routing\]\n.*?(?=\[models\.price\])", "", path.read_text(), count=1, flags=re.S
    )
    assert removed == 1
    path.write_text(text)

    status = seed_catalog(project, "--data-dir", str(data))

    errors = capsys.readouterr().err
    assert status == 1
    assert "routing is required for a model served through openrouter" in errors
    assert "nothing was written" in errors
    assert _documents(project) == {}


def test_dry_run_prints_the_diff_and_writes_nothing(
    seeded: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _documents(seeded)
    data = _copy_data(tmp_path)
    openai = data / "openai.toml"
    openai.write_text(openai.read_text().replace('"1.75"', '"2.00"', 1))
    (data / "vertex.toml").unlink()
    capsys.readouterr()

    assert seed_catalog(seeded, "--data-dir", str(data), "--dry-run") == 0

    output = capsys.readouterr().out
    assert "~ changed   gpt-5.2" in output
    assert "cost_per_1k_input: 0.245 -> 0.28" in output
    assert "- removed   gemini-3-flash" in output
    assert "dry run: nothing was written" in output
    assert _documents(seeded) == before


def test_a_removed_model_is_retired_and_no_longer_served(
    seeded: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import mint_key

    data = _copy_data(tmp_path)
    (data / "vertex.toml").unlink()

    assert seed_catalog(seeded, "--data-dir", str(data)) == 0

    documents = _documents(seeded)
    assert documents["gemini-3-flash"]["status"] == "retired"
    client = make_client(seeded, monkeypatch)
    served = client.get("/models", headers={"X-Api-Key": mint_key(seeded)}).get_json()["models"]
    assert "gemini-3-flash" not in {m["id"] for m in served}


def test_delete_removed_deletes(seeded: Project, tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    (data / "vertex.toml").unlink()

    assert seed_catalog(seeded, "--data-dir", str(data), "--delete-removed") == 0

    assert "gemini-3-flash" not in _documents(seeded)


def test_the_seed_marks_what_it_writes_and_the_service_does_not_serve_the_mark(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import mint_key

    documents = _documents(seeded)
    client = make_client(seeded, monkeypatch)
    served = client.get("/models", headers={"X-Api-Key": mint_key(seeded)}).get_json()["models"]

    assert {d.get("managed_by") for d in documents.values()} == {"catalog_seed"}
    assert served and not [m for m in served if "managed_by" in m]


def test_the_seed_never_changes_a_document_it_did_not_write(
    seeded: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    collection = seeded.client.collection("models")
    # Another app's document under a catalog id, and one under an id the data does not have.
    collection.document("gpt-5.2").delete()  # the emulator's set() keeps unnamed fields
    collection.document("gpt-5.2").set({"status": "active", "owner": "web app"})
    collection.document("web-app-widget").set({"status": "active", "owner": "web app"})
    before = _documents(seeded)
    capsys.readouterr()

    dry_run = seed_catalog(seeded, "--dry-run")
    dry = capsys.readouterr()
    confirmed = seed_catalog(seeded, "--confirm")
    refused = capsys.readouterr()
    after_refusals = _documents(seeded)

    assert (dry_run, confirmed) == (1, 1)
    for output in (dry, refused):
        assert "managed_by missing): gpt-5.2 would be changed" in output.out
        assert "web-app-widget would be retired or deleted" in output.out
        assert "2 document(s) in models were not written by the seed" in output.err
        assert "--adopt-unmarked" in output.err
    assert "nothing was written" in refused.err
    assert after_refusals == before


def test_adopting_marks_the_documents_an_older_seed_wrote_once(
    seeded: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    collection = seeded.client.collection("models")
    for snapshot in collection.stream():  # as an older seed left them: no mark
        stored = {k: v for k, v in (snapshot.to_dict() or {}).items() if k != "managed_by"}
        snapshot.reference.delete()  # the emulator ignores DELETE_FIELD: write it anew
        snapshot.reference.set(stored)
    assert {d.get("managed_by") for d in _documents(seeded).values()} == {None}
    capsys.readouterr()

    refused = seed_catalog(seeded)
    predicted = seed_catalog(seeded, "--adopt-unmarked", "--dry-run")
    adopted = seed_catalog(seeded, "--adopt-unmarked")
    output = capsys.readouterr().out
    again = seed_catalog(seeded)

    assert (refused, predicted, adopted, again) == (1, 0, 0, 0)
    assert "adopted with --adopt-unmarked: 34 document(s) get the mark" in output
    assert {d.get("managed_by") for d in _documents(seeded).values()} == {"catalog_seed"}


def test_changing_the_margin_changes_every_price_and_nothing_else(
    seeded: Project, tmp_path: Path
) -> None:
    before = _documents(seeded)
    pricing = tmp_path / "pricing.toml"
    pricing.write_text(
        (ROOT / "catalog_seed" / "pricing.toml").read_text().replace('"1.4"', '"2.8"')
    )

    # Doubling is below max_price_change_factor (3x): no --confirm needed.
    assert seed_catalog(seeded, "--pricing", str(pricing)) == 0

    after = _documents(seeded)
    for model_id, old in before.items():
        new = after[model_id]
        changed = {name for name in old if old[name] != new.get(name)}
        assert changed <= {"cost_per_1k_input", "cost_per_1k_output", "pricing", "price_basis",
                           "price_changes"}  # fmt: skip
        assert new["cost_per_1k_output"] == pytest.approx(old["cost_per_1k_output"] * 2, abs=1e-6)
        for name in ("input_per_1k_tokens", "cached_input_per_1k_tokens", "output_per_image"):
            if old["pricing"][name] is not None:
                assert new["pricing"][name] == pytest.approx(old["pricing"][name] * 2, abs=1e-6)
        for old_tier, new_tier in zip(
            old["pricing"]["long_context_tiers"], new["pricing"]["long_context_tiers"], strict=True
        ):
            assert new_tier["input_per_1k_tokens"] == pytest.approx(
                old_tier["input_per_1k_tokens"] * 2, abs=1e-6
            )


def _run_keys_cli(
    project: Project, *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **project.service_env(), "API_KEY_PEPPER": DEV_PEPPER, **settings}
    return subprocess.run(
        [sys.executable, "-m", "key_admin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_key_cli_creates_lists_and_revokes(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = _run_keys_cli(
        seeded, "create", "--owner", "acct-9", "--label", "ci", "--expires", "30d"
    )
    assert created.returncode == 0, created.stderr
    api_key = created.stdout.splitlines()[0]
    key_id = created.stdout.split("key id:")[1].split()[0]
    client = make_client(seeded, monkeypatch, API_KEY_REFRESH_SECONDS="0.05")
    assert client.get("/models", headers={"X-Api-Key": api_key}).status_code == 200

    listed = _run_keys_cli(seeded, "list", "--owner", "acct-9")
    revoked = _run_keys_cli(seeded, "revoke", key_id)
    enable_revoked = _run_keys_cli(seeded, "enable", key_id)
    unknown = _run_keys_cli(seeded, "disable", "0" * 64)
    malformed = _run_keys_cli(seeded, "disable", "not-an-id")

    assert listed.returncode == 0 and key_id in listed.stdout and "active" in listed.stdout
    assert api_key not in listed.stdout
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    assert enable_revoked.returncode == 1 and "final" in enable_revoked.stderr
    assert unknown.returncode == 1 and "no API key" in unknown.stderr
    assert malformed.returncode == 1
    assert client.get("/models", headers={"X-Api-Key": api_key}).status_code == 401
    stored = next(iter(seeded.client.collection("api_keys").stream())).to_dict()
    assert api_key not in str(stored)
    assert stored["prefix"] == api_key[:12]


def test_list_shows_expired_for_a_key_past_its_expiry_and_expire_notes_the_bound(
    seeded: Project,
) -> None:
    created = _run_keys_cli(seeded, "create", "--owner", "acct-5", "--label", "soon")
    key_id = created.stdout.split("key id:")[1].split()[0]
    later = _run_keys_cli(seeded, "create", "--owner", "acct-5", "--expires", "30d")
    later_id = later.stdout.split("key id:")[1].split()[0]

    expired = _run_keys_cli(seeded, "expire", key_id, "--at", "1s")
    time.sleep(1.5)
    listed = _run_keys_cli(seeded, "list", "--owner", "acct-5")

    assert expired.returncode == 0, expired.stderr
    assert "note: running instances see a new expiry within 8 s" in expired.stdout
    rows = {line.split()[0]: line.split()[2] for line in listed.stdout.splitlines()[1:-1]}
    assert rows == {key_id: "expired", later_id: "active"}
    far = _run_keys_cli(seeded, "expire", later_id, "--at", "1h")
    assert far.returncode == 0 and "note:" not in far.stdout


def _key_id(created: subprocess.CompletedProcess[str]) -> str:
    assert created.returncode == 0, created.stderr
    return created.stdout.split("key id:")[1].split()[0]


def _pepper_column(listed: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """{key id: pepper} from `list`'s rows (header first; count, then any note, after)."""
    assert listed.returncode == 0, listed.stderr
    header, *lines = listed.stdout.splitlines()
    assert header.split()[:6] == ["key", "id", "prefix", "status", "pepper", "created"]
    rows = lines[: next(i for i, line in enumerate(lines) if line.endswith(" key(s)"))]
    return {row.split()[0]: row.split()[3] for row in rows}


def test_list_shows_each_keys_pepper_version_and_filters_by_it(seeded: Project) -> None:
    """Before retiring version N: the keys on N, and those minted before versions were
    recorded (they may be on N; pepper-usage --retiring N counts them too)."""
    on_1 = _key_id(_run_keys_cli(seeded, "create", "--owner", "acct-p"))
    on_2 = _key_id(_run_keys_cli(seeded, "create", "--owner", "acct-p", API_KEY_PEPPER_VERSION="2"))
    unrecorded = _key_id(_run_keys_cli(seeded, "create", "--owner", "acct-p"))
    document = seeded.client.collection("api_keys").document(unrecorded)
    as_minted_before = document.get().to_dict() or {}
    del as_minted_before["pepper_version"]
    document.delete()  # the emulator ignores DELETE_FIELD: write the older document anew
    document.set(as_minted_before)

    listed = _run_keys_cli(seeded, "list", "--owner", "acct-p")
    retiring_1 = _run_keys_cli(seeded, "list", "--owner", "acct-p", "--pepper-version", "1")
    retiring_2 = _run_keys_cli(seeded, "list", "--owner", "acct-p", "--pepper-version", "2")
    retiring_3 = _run_keys_cli(seeded, "list", "--owner", "acct-p", "--pepper-version", "3")

    assert _pepper_column(listed) == {on_1: "1", on_2: "2", unrecorded: "unrecorded"}
    assert "'unrecorded': minted before keys recorded their pepper version" in listed.stdout
    assert _pepper_column(retiring_1) == {on_1: "1", unrecorded: "unrecorded"}
    assert _pepper_column(retiring_2) == {on_2: "2", unrecorded: "unrecorded"}
    assert "3 key(s)" in listed.stdout and "2 key(s)" in retiring_2.stdout
    assert _pepper_column(retiring_3) == {unrecorded: "unrecorded"}


def test_disable_and_enable_round_trip(seeded: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    created = _run_keys_cli(seeded, "create", "--owner", "acct-7")
    api_key = created.stdout.splitlines()[0]
    key_id = created.stdout.split("key id:")[1].split()[0]
    client = make_client(seeded, monkeypatch, API_KEY_REFRESH_SECONDS="0.05")

    assert _run_keys_cli(seeded, "disable", key_id).returncode == 0
    disabled = client.get("/models", headers={"X-Api-Key": api_key}).status_code
    assert _run_keys_cli(seeded, "enable", key_id).returncode == 0
    enabled = client.get("/models", headers={"X-Api-Key": api_key}).status_code

    assert (disabled, enabled) == (401, 200)


@pytest.mark.parametrize(
    "command",
    [
        ["catalog_seed", "--no-such-flag"],
        ["catalog_seed", "audit"],
        ["key_admin", "create"],
        ["key_admin", "create", "--owner", "o", "--expires", "3w"],
        ["key_admin", "list", "--owner", "o", "--pepper-version", "latest"],
    ],
)
def test_a_usage_error_exits_64_as_the_help_says(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 64, result.stderr
    assert "usage:" in result.stderr


@pytest.mark.parametrize(
    "command", [["catalog_seed", "--dry-run"], ["key_admin", "list", "--owner", "o"]]
)
def test_an_emulator_that_is_not_running_is_an_error_at_once_not_a_hang(
    project: Project, command: list[str]
) -> None:
    env = {**os.environ, **project.service_env(FIRESTORE_EMULATOR_HOST="127.0.0.1:9")}

    # Without the probe the client's default retry kept going for about 300 s.
    result = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip

    assert result.returncode == 2, result.stderr
    assert "Firestore failed" in result.stderr


def test_key_admin_names_the_emulator_it_cannot_reach_the_cause_and_what_to_do(
    project: Project,
) -> None:
    env = {**os.environ, **project.service_env(FIRESTORE_EMULATOR_HOST="127.0.0.1:9")}

    result = subprocess.run(
        [sys.executable, "-m", "key_admin", "list", "--owner", "o"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 2
    assert "the Firestore emulator at 127.0.0.1:9 (FIRESTORE_EMULATOR_HOST)" in result.stderr
    assert "Connection refused" in result.stderr
    assert "is `make run` running?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["create", "--owner", "o"], ["list", "--owner", "o"]])
def test_key_admin_refuses_a_real_project_without_a_keys_database(command: list[str]) -> None:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"FIRESTORE_EMULATOR_HOST", "API_KEYS_DATABASE"}
    }
    env.update(GOOGLE_CLOUD_PROJECT="my-project", API_KEY_PEPPER=DEV_PEPPER)

    result = subprocess.run(
        [sys.executable, "-m", "key_admin", *command], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 64
    assert result.stdout == ""
    assert "API_KEYS_DATABASE is not set" in result.stderr
    assert "export API_KEYS_DATABASE=api-keys" in result.stderr
