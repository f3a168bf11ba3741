"""The catalog as clients budget with it: every named model, full pricing, lifecycle."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest

from local_harness.processes import ROOT
from tests.conftest import Project, make_client, mint_key, seed_catalog
from tests.support.catalog_documents import DATA_DIR, data_entries, served_model_ids

NAMED = {  # the models the product documentation names
    "gpt-5.2",
    "gpt-5-mini",
    "gpt-5.2-codex",
    "cmo-agent",
    "claude-sonnet-4-6",
    "claude-haiku-4-5",
    "claude-opus-4-6",
    "gemini-3-flash",
    "gemini-3.1-pro",
    "seedream-4.5",
    "llama-4-maverick",
    "deepseek-v3.2",
    "qwen3-235b-a22b",
    "kimi-k2.6",
    "grok-4.20",
}


# Each named family's current generation, served beside the named model (issue 16).
CURRENT_GENERATION = {
    "claude-sonnet-5-5",
    "claude-opus-5-5",
    "claude-haiku-5-5",
    "gpt-5.4",  # OpenAI's named substitute for gpt-5.2-codex
    "gpt-6.1-terra",  # OpenAI's recommended replacement for gpt-5-mini
    "gemini-3.8-flash",
    "grok-4.7",
    "deepseek-v4-flash",
    "kimi-k3",
    "qwen3.8-flash",
}


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _listing(client: Any, key: str) -> dict[str, dict[str, Any]]:
    response = client.get("/models", headers={"X-Api-Key": key})
    assert response.status_code == 200
    return {model["id"]: model for model in response.get_json()["models"]}


def test_every_named_model_is_in_the_data_and_served_unless_retired(
    client: Any, api_key: str
) -> None:
    entries = data_entries()
    assert NAMED <= set(entries)
    retired = set(entries) - served_model_ids()
    # OpenAI shut gpt-5.2-codex down on 2026-07-23 (its deprecations page): never served again.
    assert "gpt-5.2-codex" in retired

    served = _listing(client, api_key)

    assert set(served) == set(entries) - retired
    assert NAMED - retired <= set(served)
    gone = client.get("/models/gpt-5.2-codex", headers={"X-Api-Key": api_key})
    assert gone.status_code == 410  # retired, not unknown: its successor is named
    assert gone.get_json()["error"]["successor"] == entries["gpt-5.2-codex"]["replacement"]
    assert gone.headers["Link"] == (
        f'</models/{entries["gpt-5.2-codex"]["replacement"]}>; rel="successor-version"'
    )


def test_the_current_generation_is_served_beside_the_named_models(
    client: Any, api_key: str
) -> None:
    served = _listing(client, api_key)

    assert CURRENT_GENERATION <= set(served)
    for model_id in CURRENT_GENERATION:
        assert served[model_id]["lifecycle"] != "deprecated", model_id
        assert served[model_id]["cost_per_1k_output"] > 0, model_id


def test_every_deprecated_or_retired_model_names_a_served_successor(
    client: Any, api_key: str
) -> None:
    served = _listing(client, api_key)
    entries = data_entries()

    leaving = {
        model_id: entry
        for model_id, entry in entries.items()
        if entry["lifecycle"] == "deprecated" or model_id not in served
    }
    assert {"gpt-5.2-codex", "gpt-5-mini"} <= set(leaving)
    for model_id, entry in leaving.items():
        successor = entry.get("replacement")
        assert successor in served, model_id
        assert served[successor]["lifecycle"] != "deprecated", model_id
    assert entries["gpt-5.2-codex"]["replacement"] == "gpt-5.4"
    assert entries["gpt-5-mini"]["replacement"] == "gpt-6.1-terra"


def test_every_model_carries_pricing_whose_base_tier_is_the_flat_cost(
    client: Any, api_key: str
) -> None:
    for model in _listing(client, api_key).values():
        pricing = model["pricing"]
        assert pricing["unit"] == "credits"
        assert pricing["input_per_1k_tokens"] == model["cost_per_1k_input"]
        assert pricing["output_per_1k_tokens"] == model["cost_per_1k_output"]
        assert model["cost_per_1k_output"] > 0, model["id"]
        for tier in pricing["long_context_tiers"]:
            assert tier["above_input_tokens"] < model["context_window"]
            assert tier["input_per_1k_tokens"] >= pricing["input_per_1k_tokens"]


def test_long_prompts_cached_input_audio_and_images_are_priced(client: Any, api_key: str) -> None:
    served = _listing(client, api_key)

    gemini = served["gemini-3.1-pro"]["pricing"]  # $4 / $18 / $0.40 above 200K; x1.4; credits
    assert gemini["long_context_tiers"] == [
        {
            "above_input_tokens": 200000,
            "input_per_1k_tokens": 0.56,
            "output_per_1k_tokens": 2.52,
            "cached_input_per_1k_tokens": 0.056,
            "cache_write_per_1k_tokens": None,
        }
    ]
    grok = served["grok-4.20"]["pricing"]  # xAI: from 200,000 prompt tokens on
    assert grok["long_context_tiers"][0]["above_input_tokens"] == 199999
    assert grok["long_context_tiers"][0]["output_per_1k_tokens"] == pytest.approx(0.7)
    assert served["gemini-3-flash"]["pricing"]["audio_input_per_1k_tokens"] == pytest.approx(0.14)
    assert served["claude-sonnet-4-6"]["pricing"]["cache_write_per_1k_tokens"] == 0.525
    assert served["gpt-5.2"]["pricing"]["cached_input_per_1k_tokens"] == 0.0245
    seedream = served["seedream-4.5"]  # $0.045 per image x 1.4 = 6.3 credits, never "free"
    assert seedream["provider"] == "vertex" and seedream["supports_vision"] is True
    assert seedream["pricing"]["billed_per"] == "image"
    assert seedream["pricing"]["output_per_image"] == seedream["cost_per_1k_output"] == 6.3
    cmo = served["cmo-agent"]  # the platform's agent, priced as the model it runs on
    assert cmo["pricing"] == served["gpt-5.2"]["pricing"]


def test_every_openrouter_model_is_served_with_the_routing_its_price_covers(
    client: Any, api_key: str
) -> None:
    served = _listing(client, api_key)
    entries = data_entries()

    for model_id, model in served.items():
        routing = model["routing"]
        if model["provider"] != "openrouter":
            assert routing is None, model_id
            continue
        data = entries[model_id]["routing"]
        provider = {
            "order": data["order"],
            "only": data.get("only", data["order"]),
            "allow_fallbacks": data["allow_fallbacks"],
            **({"ignore": data["ignore"]} if data.get("ignore") else {}),
            "max_price": {name: float(usd) for name, usd in data["max_price"].items()},
        }
        assert routing == {"aggregator": "openrouter", "model": data["model"], "provider": provider}
        assert set(routing["provider"]["order"]) <= set(routing["provider"]["only"])
    assert any(model["provider"] == "openrouter" for model in served.values())


def test_claude_sonnet_limits_follow_anthropics_model_page(client: Any, api_key: str) -> None:
    assert _listing(client, api_key)["claude-sonnet-4-6"]["max_output_tokens"] == 128000


def _copy_of_the_data(tmp_path: Path) -> Path:
    """The shipped data files, copied where a test may edit them."""
    return Path(shutil.copytree(DATA_DIR, tmp_path / "models"))


def _data_with_a_deprecation(tmp_path: Path, retirement: dt.date) -> Path:
    """The shipped data with Claude Haiku 4.5 deprecated, retiring on `retirement`."""
    data = _copy_of_the_data(tmp_path)
    anthropic = data / "anthropic.toml"
    text = anthropic.read_text()
    start = text.index('id = "claude-haiku-4-5"\n')
    end = text.index('lifecycle = "active"\n', start) + len('lifecycle = "active"\n')
    old = text[start:end]
    assert old.count("\nid = ") == 0 and old.startswith('id = "claude-haiku-4-5"')
    anthropic.write_text(
        text.replace(
            old,
            old.replace('lifecycle = "active"', 'lifecycle = "deprecated"')
            + "deprecation_date = 2026-01-15\n"
            + f"retirement_date = {retirement.isoformat()}\n"
            + 'replacement = "claude-sonnet-4-6"\n'
            + 'lifecycle_source = "a test announcement"\n',
        )
    )
    return data


def test_a_deprecated_model_says_so_in_standard_headers(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    retirement = _today() + dt.timedelta(days=30)
    data = _data_with_a_deprecation(tmp_path, retirement)
    assert seed_catalog(project, "--data-dir", str(data)) == 0
    client = make_client(project, monkeypatch, CORS_ALLOWED_ORIGINS="https://app.example.com")
    key = mint_key(project)

    response = client.get(
        "/models/claude-haiku-4-5",
        headers={"X-Api-Key": key, "Origin": "https://app.example.com"},
    )

    assert response.status_code == 200
    deprecated_at = dt.datetime(2026, 1, 15, tzinfo=dt.timezone.utc).timestamp()
    assert response.headers["Deprecation"] == f"@{deprecated_at:.0f}"
    assert response.headers["Sunset"] == retirement.strftime("%a, %d %b %Y 00:00:00 GMT")
    assert response.headers["Link"] == '</models/claude-sonnet-4-6>; rel="successor-version"'
    exposed = {
        name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert {"Deprecation", "Sunset", "Link"} <= exposed  # a web app's script can read them
    body = response.get_json()
    assert body["lifecycle"] == "deprecated"
    assert body["retirement_date"] == retirement.isoformat()
    assert body["replacement"] == "claude-sonnet-4-6"
    active = client.get("/models/claude-sonnet-4-6", headers={"X-Api-Key": key})
    assert "Deprecation" not in active.headers and "Sunset" not in active.headers


def test_a_model_whose_retirement_date_has_come_is_not_served(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data_with_a_deprecation(tmp_path, _today())
    assert seed_catalog(project, "--data-dir", str(data)) == 0
    client = make_client(project, monkeypatch)

    served = _listing(client, mint_key(project))

    assert "claude-haiku-4-5" not in served and "claude-sonnet-4-6" in served


def test_the_dry_run_shows_the_platform_price_basis_and_retired_models(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert seed_catalog(project, "--dry-run") == 0

    output = capsys.readouterr().out
    basis = next(line for line in output.splitlines() if line.startswith("price basis cmo-agent"))
    assert "runs on gpt-5.2" in basis and "US$1.75" in basis and "margin 1.4" in basis
    assert basis.endswith("-> 0.245 / 1.96 credits per 1k input / output tokens")
    assert "note: gpt-5.2-codex is past its retirement date 2026-07-23: not served" in output


def test_a_price_moving_more_than_the_factor_needs_confirm(
    seeded: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _copy_of_the_data(tmp_path)
    openrouter = data / "openrouter.toml"
    text = openrouter.read_text()
    # Qwen's dearest endpoint (fireworks) raises its input price 10x; the price and cap follow.
    assert text.count('input_per_1m = "0.22"') == 2 and text.count('prompt = "0.22"') == 1
    text = text.replace('input_per_1m = "0.22"', 'input_per_1m = "2.20"')
    openrouter.write_text(text.replace('prompt = "0.22"', 'prompt = "2.20"'))
    capsys.readouterr()

    assert seed_catalog(seeded, "--data-dir", str(data)) == 1
    refused = capsys.readouterr()
    # the moves are listed with the plan (stdout), the refusal is the error (stderr)
    assert "qwen3-235b-a22b: cost_per_1k_input 0.0308 -> 0.308" in refused.out
    assert "nothing was written" in refused.err

    assert seed_catalog(seeded, "--data-dir", str(data), "--confirm") == 0
    stored = seeded.client.collection("models").document("qwen3-235b-a22b").get().to_dict()
    assert stored["cost_per_1k_input"] == 0.308


def test_a_duplicate_id_names_both_places(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _copy_of_the_data(tmp_path)
    vertex = data / "vertex.toml"
    vertex.write_text(vertex.read_text().replace('id = "gemini-3-flash"', 'id = "gpt-5.2"'))

    assert seed_catalog(project, "--data-dir", str(data)) == 1

    errors = capsys.readouterr().err
    assert (
        "vertex.toml: model 'gpt-5.2': id: duplicate id: already defined in openai.toml" in errors
    )


def test_numbers_that_must_stay_exact_are_refused_unquoted(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pricing = tmp_path / "pricing.toml"
    pricing.write_text(
        (ROOT / "catalog_seed" / "pricing.toml").read_text().replace('"1.4"', "1.4", 1)
    )

    assert seed_catalog(project, "--pricing", str(pricing)) == 1

    assert 'margin must be a quoted decimal string (e.g. margin = "1.4")' in capsys.readouterr().err
