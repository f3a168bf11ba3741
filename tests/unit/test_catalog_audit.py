"""`python -m catalog_seed audit`: our data next to LiteLLM's and models.dev's formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from catalog_seed.__main__ import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"
DATA_DIR = Path(__file__).resolve().parents[2] / "catalog_seed" / "models"


def test_the_litellm_sample_agrees_on_every_price(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["audit", "--against", str(FIXTURES / "litellm_sample.json")])

    output = capsys.readouterr().out
    assert status == 0, output
    assert "3 model(s) compared" in output
    assert "0 price mismatch(es)" in output
    # LiteLLM states OpenAI's input limit (272,000); we state the whole window: shown, not fatal.
    assert "gpt-5.2" in output and "context_window" in output and "272000" in output


def test_a_price_that_differs_upstream_fails_the_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((FIXTURES / "litellm_sample.json").read_text())
    data["claude-haiku-4-5"]["output_cost_per_token"] = 6e-06
    del data["vertex_ai/gemini-3.1-pro-preview"]["output_cost_per_token_above_200k_tokens"]
    changed = tmp_path / "litellm.json"
    changed.write_text(json.dumps(data))

    status = main(["audit", "--against", str(changed)])

    output = capsys.readouterr().out
    assert status == 1
    assert "1 price mismatch(es)" in output
    haiku = next(line for line in output.splitlines() if line.startswith("claude-haiku-4-5"))
    assert "output_per_1m" in haiku and "5" in haiku and "6" in haiku and "PRICE" in haiku
    tier = next(line for line in output.splitlines() if "tier_200k.output_per_1m" in line)
    assert tier.endswith("not in dataset")


def test_the_models_dev_sample_resolves_base_models_and_agrees(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["audit", "--against", str(FIXTURES / "models_dev")])

    output = capsys.readouterr().out
    assert status == 0, output
    assert "2 model(s) compared" in output
    assert "0 price mismatch(es), 0 other difference(s)" in output


def test_a_long_prompt_tier_we_do_not_charge_fails_the_audit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "models"
    shutil.copytree(DATA_DIR, data)
    vertex = data / "vertex.toml"
    vertex.write_text(vertex.read_text().split("[[models.price.tiers]]")[0])  # tier dropped

    status = main(["audit", "--against", str(FIXTURES / "models_dev"), "--data-dir", str(data)])

    output = capsys.readouterr().out
    assert status == 1
    row = next(line for line in output.splitlines() if "tier_200k.input_per_1m" in line)
    assert row.startswith("gemini-3.1-pro") and row.endswith("PRICE") and " 4" in row


def test_an_unreadable_dataset_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[not json")

    assert main(["audit", "--against", str(broken)]) == 64
    assert "not a LiteLLM JSON file" in capsys.readouterr().err


def test_a_price_only_we_state_is_reported_but_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads((FIXTURES / "litellm_sample.json").read_text())
    del data["claude-haiku-4-5"]["cache_creation_input_token_cost"]
    changed = tmp_path / "litellm.json"
    changed.write_text(json.dumps(data))

    status = main(["audit", "--against", str(changed)])

    output = capsys.readouterr().out
    assert status == 0
    row = next(line for line in output.splitlines() if "cache_write_per_1m" in line)
    assert row.startswith("claude-haiku-4-5") and row.endswith("not in dataset")
