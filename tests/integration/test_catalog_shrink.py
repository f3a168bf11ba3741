"""The catalog never silently empties or shrinks: the service against the emulator and the seed.

A read that is empty, or loses more than CATALOG_MAX_SHRINK_FRACTION of the models at once, does
not replace the served catalog (ERROR `catalog refused`); a new instance answers 503 rather
than an empty list; an intended removal goes through the seed with --confirm and is taken.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from catalog_seed.__main__ import main as seed_main
from local_harness.processes import ROOT
from models_api.catalog.guard import STATE_COLLECTION
from tests.conftest import Project, make_client, mint_key, seed_catalog

TTL = "0.05"


def _served_ids(client: Any, key: str) -> list[str]:
    response = client.get("/models", headers={"X-Api-Key": key})
    assert response.status_code == 200, response.get_data(as_text=True)
    return [model["id"] for model in response.get_json()["models"]]


def _after_refresh(client: Any, key: str) -> list[str]:
    """What is served once a background refresh started after the TTL has finished."""
    time.sleep(float(TTL) * 2)
    _served_ids(client, key)  # starts the refresh
    time.sleep(0.5)
    return _served_ids(client, key)


def _error_lines(captured: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("severity") == "ERROR"]


def test_an_emptied_collection_keeps_the_served_catalog_and_logs_an_error(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    key = mint_key(seeded)
    client = make_client(seeded, monkeypatch, CATALOG_CACHE_TTL_SECONDS=TTL)
    before = _served_ids(client, key)
    for document in seeded.client.collection("models").stream():
        document.reference.delete()  # a deleted collection, a restarted emulator
    capfd.readouterr()

    after = _after_refresh(client, key)

    assert len(before) > 10 and after == before
    errors = _error_lines(capfd.readouterr().out)
    assert errors and errors[0]["message"].startswith(
        "catalog refused: the read returned no models; keeping the catalog read"
    )
    assert errors[0]["logger"] == "models_api.catalog.cache"


def test_a_new_instance_answers_503_not_an_empty_list(
    project: Project, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    client = make_client(project, monkeypatch)  # nothing seeded: an empty (or wrong) database

    response = client.get("/models", headers={"X-Api-Key": mint_key(project)})

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "unavailable"
    assert any(
        line["message"].startswith("catalog refused: the read returned no models")
        for line in _error_lines(capfd.readouterr().out)
    )


def _only_vertex(tmp_path: Path) -> Path:
    data = tmp_path / "models"
    shutil.copytree(ROOT / "catalog_seed" / "models", data)
    for name in ("anthropic.toml", "openai.toml", "openrouter.toml"):
        (data / name).unlink()
    return data


def test_a_large_removal_needs_confirm_and_is_then_served(
    seeded: Project,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = mint_key(seeded)
    client = make_client(seeded, monkeypatch, CATALOG_CACHE_TTL_SECONDS=TTL)
    before = _served_ids(client, key)
    data = _only_vertex(tmp_path)
    capsys.readouterr()

    dry_run = seed_catalog(seeded, "--data-dir", str(data), "--dry-run")
    dry_run_output = capsys.readouterr()
    refused = seed_catalog(seeded, "--data-dir", str(data))
    refused_output = capsys.readouterr()
    assert _after_refresh(client, key) == before  # nothing was written
    confirmed = seed_catalog(seeded, "--data-dir", str(data), "--confirm")
    confirmed_output = capsys.readouterr().out
    after = _after_refresh(client, key)

    assert dry_run == refused == 1  # the dry run says what the seed would do, status included
    assert "dry run: nothing was written" in dry_run_output.out
    assert dry_run_output.err.startswith("error: the seed would be refused: large removal: ")
    assert "instances refuse a loss of more than 25%" in refused_output.err
    assert f"({len(before)} served today) go at once" in refused_output.err  # as the service
    assert "run again with --confirm; nothing was written" in refused_output.err
    for output in (dry_run_output, refused_output):  # the reason once, on stderr only
        assert output.err.count("large removal") == 1 and "large removal" not in output.out
    assert confirmed == 0
    documents = seeded.client.collection("models").stream()
    active = [d.id for d in documents if d.to_dict()["status"] == "active"]
    assert f"with --confirm this seed records {len(active)}" in confirmed_output
    state = seeded.client.collection(STATE_COLLECTION).document("models").get().to_dict()
    assert state["active_models"] == len(active) < len(before) * 0.75
    assert sorted(after) == sorted(active)


def test_every_seed_records_the_active_count_and_says_how_many_are_served(
    project: Project, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert seed_catalog(project) == 0
    printed = capsys.readouterr().out
    state = project.client.collection(STATE_COLLECTION).document("models").get().to_dict()
    active = [
        d for d in project.client.collection("models").stream() if d.to_dict()["status"] == "active"
    ]
    served = _served_ids(make_client(project, monkeypatch), mint_key(project))

    assert state["active_models"] == len(active) > 0
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert (
        f"recorded: {len(active)} models stored as active, {len(served)} of them served on {today}"
        in printed
    )


@pytest.mark.parametrize("value", ["5", "-0.1", "a quarter"])
def test_the_seed_reads_the_shrink_fraction_as_the_service_does(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value the service refuses at start-up is a usage error, not a silent default."""
    monkeypatch.setenv("CATALOG_MAX_SHRINK_FRACTION", value)

    assert seed_main(["--validate-only"]) == 64
    assert "CATALOG_MAX_SHRINK_FRACTION must be" in capsys.readouterr().err

    monkeypatch.delenv("CATALOG_MAX_SHRINK_FRACTION")
    assert seed_main(["--validate-only", "--max-shrink-fraction", value]) == 64
