"""`python -m catalog_seed audit`: a small catalog against fixtures of every format it reads.

tests/fixtures/audit/catalog is a catalog made for these tests; the datasets beside it state
what it charges, so each test changes one thing and looks for the one finding it causes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from catalog_seed.__main__ import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"
CATALOG = FIXTURES / "catalog"
LITELLM = FIXTURES / "litellm.json"
OPENROUTER = FIXTURES / "openrouter_models.json"
ENDPOINTS = FIXTURES / "openrouter_endpoints_qwen3.json"
MODELS_DEV = FIXTURES / "models_dev"
ON = "2026-12-01"


def run_audit(
    capsys: pytest.CaptureFixture[str], *against: Path, extra: tuple[str, ...] = ()
) -> tuple[int, str]:
    arguments = ["audit", "--data-dir", str(CATALOG), "--on", ON, *extra]
    for path in against:
        arguments += ["--against", str(path)]
    status = main(arguments)
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def rows(output: str, finding: str) -> list[str]:
    """The table rows of one kind of finding."""
    return [
        line
        for line in output.splitlines()
        if line.split(" ", 1)[0] in ("failure", "warning", "note") and f" {finding} " in line
    ]


def changed_json(tmp_path: Path, source: Path, change: Any) -> Path:
    data = json.loads(source.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / source.name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_every_format_together_confirms_every_served_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, output = run_audit(capsys, LITELLM, OPENROUTER, ENDPOINTS, MODELS_DEV)

    assert status == 0, output
    assert "audit of 6 served model(s) on 2026-12-01" in output
    assert "litellm " in output and "(5 entries)" in output
    assert "(4 models, endpoints of 1 model(s))" in output
    assert "coverage: 6 of 6 served model(s) confirmed" in output
    assert "0 failure(s), 0 warning(s)" in output


@pytest.mark.parametrize(
    ("dataset", "confirmed"),
    [
        # LiteLLM cannot confirm the two models whose price was read from it.
        (LITELLM, 4),
        # OpenRouter: the listing for first-party models, the endpoints for the routed one;
        # cmo-agent is priced as gpt-5.2; gemini-3.1-pro is not mapped to OpenRouter.
        (OPENROUTER, 4),
        (MODELS_DEV, 2),
    ],
)
def test_each_format_alone_is_read_and_compared(
    capsys: pytest.CaptureFixture[str], dataset: Path, confirmed: int
) -> None:
    status, output = run_audit(capsys, dataset)

    assert status == 0, output
    assert f"coverage: {confirmed} of 6 served model(s) confirmed" in output
    assert "not confirmed:" in output


def test_the_endpoints_answer_alone_prices_the_routed_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, output = run_audit(capsys, ENDPOINTS)

    # Only qwen3 is in an endpoints answer; the others are not listed there: a warning each.
    assert status == 0, output
    assert "coverage: 0 of 6" in output  # its price was read from OpenRouter's endpoints
    assert "qwen3-235b-a22b: its price was read from openrouter, which cannot confirm it" in output


def test_a_served_price_below_the_dearest_allowed_endpoint_is_below_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def together_raises_its_input_price(data: dict[str, Any]) -> None:
        data["data"]["endpoints"][1]["pricing"]["prompt"] = "0.00000025"

    endpoints = changed_json(tmp_path, ENDPOINTS, together_raises_its_input_price)

    status, output = run_audit(capsys, OPENROUTER, endpoints)

    assert status == 1
    (row,) = rows(output, "below_cost")
    assert row.startswith("failure  qwen3-235b-a22b") and "input_per_1m" in row
    assert "sold at 0.028 credits, below US$0.25 x 1.4 = 0.035" in row
    assert "endpoints deepinfra/fp8, together" in row
    assert "2 failure(s) (below_cost 1, max_price_refuses 1)" in output  # the cap refuses it


def test_an_endpoint_the_routing_does_not_allow_never_sets_the_price(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def cerebras_costs_a_fortune(data: dict[str, Any]) -> None:
        data["data"]["endpoints"][2]["pricing"] = {"prompt": "0.001", "completion": "0.001"}

    endpoints = changed_json(tmp_path, ENDPOINTS, cerebras_costs_a_fortune)

    status, output = run_audit(capsys, OPENROUTER, endpoints)

    assert status == 0, output
    assert "cerebras" not in output


def test_routing_whose_endpoints_are_all_gone_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def only_cerebras_left(data: dict[str, Any]) -> None:
        data["data"]["endpoints"] = data["data"]["endpoints"][2:]

    endpoints = changed_json(tmp_path, ENDPOINTS, only_cerebras_left)

    status, output = run_audit(capsys, endpoints)

    assert status == 1
    (row,) = rows(output, "no_allowed_endpoint")
    assert "(deepinfra, together) is listed: routed requests fail" in row


def test_a_listing_price_below_ours_is_a_note_for_a_routed_model_but_above_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The listing's headline price is deepinfra's (0.09): our 0.20 covers the dearer host.
    status, output = run_audit(capsys, OPENROUTER)
    assert status == 0, output
    (note,) = rows(output, "above_listing")
    assert note.startswith("note     qwen3-235b-a22b")

    def listing_above_ours(data: dict[str, Any]) -> None:
        data["data"][3]["pricing"]["completion"] = "0.0000009"

    listing = changed_json(tmp_path, OPENROUTER, listing_above_ours)
    status, output = run_audit(capsys, listing)
    assert status == 1
    assert rows(output, "below_cost")[0].startswith("failure  qwen3-235b-a22b")


def test_a_first_party_price_that_differs_upstream_fails_both_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def cheaper_and_dearer(data: dict[str, Any]) -> None:
        data["gpt-5.2"]["output_cost_per_token"] = 1.3e-05  # we now charge more than list
        data["claude-haiku-4-5"]["output_cost_per_token"] = 6e-06  # ... and less than cost

    litellm = changed_json(tmp_path, LITELLM, cheaper_and_dearer)

    status, output = run_audit(capsys, litellm)

    assert status == 1
    differs = rows(output, "price_differs")
    assert [row.split()[1] for row in differs] == ["cmo-agent", "gpt-5.2"]
    assert "(prices of gpt-5.2)" in differs[0]
    (below,) = rows(output, "below_cost")
    assert below.split()[1] == "claude-haiku-4-5" and "output_per_1m" in below


def test_a_long_prompt_tier_we_do_not_charge_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(CATALOG, catalog)
    vertex = catalog / "vertex.toml"
    vertex.write_text(vertex.read_text().split("[[models.price.tiers]]")[0])

    status = main(["audit", "--data-dir", str(catalog), "--on", ON, "--against", str(MODELS_DEV)])

    output = capsys.readouterr().out
    assert status == 1
    charged = rows(output, "not_charged")
    assert {row.split()[4] for row in charged} == {
        "tier_200k.input_per_1m",
        "tier_200k.output_per_1m",
        "tier_200k.cached_input_per_1m",
    }


def test_a_price_only_we_state_is_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_cache_write(data: dict[str, Any]) -> None:
        del data["data"][2]["pricing"]["input_cache_write"]

    status, output = run_audit(capsys, changed_json(tmp_path, OPENROUTER, no_cache_write))

    assert status == 0, output
    (row,) = rows(output, "price_not_in_dataset")
    assert row.split()[1:5] == [
        "claude-haiku-4-5",
        "openrouter",
        "price_not_in_dataset",
        "cache_write_per_1m",
    ]


def test_a_served_model_past_its_upstream_shutdown_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def shut_down_early(data: dict[str, Any]) -> None:
        data["gpt-5-mini"]["deprecation_date"] = "2026-11-30"

    status, output = run_audit(capsys, changed_json(tmp_path, LITELLM, shut_down_early))

    assert status == 1
    (row,) = rows(output, "past_shutdown")
    assert row.split()[1] == "gpt-5-mini"
    assert "shut down upstream on 2026-11-30 and is still served; ours: 2026-12-11" in row


def test_an_upstream_shutdown_we_do_not_record_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def announced(data: dict[str, Any]) -> None:
        data["data"][0]["expiration_date"] = "2027-03-01"

    status, output = run_audit(capsys, changed_json(tmp_path, OPENROUTER, announced))

    assert status == 0
    found = rows(output, "shutdown_date")
    # cmo-agent runs on gpt-5.2: the shutdown concerns it as much.
    assert [row.split()[1] for row in found] == ["cmo-agent", "gpt-5.2"]
    assert all("shuts down upstream on 2027-03-01; ours: -: set retirement_date" in row
               for row in found)  # fmt: skip


def test_a_model_the_dataset_no_longer_lists_is_reported_and_uncovered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def haiku_gone(data: dict[str, Any]) -> None:
        del data["data"][2]

    openrouter = changed_json(tmp_path, OPENROUTER, haiku_gone)

    status, output = run_audit(capsys, LITELLM, openrouter)
    strict, _ = run_audit(capsys, LITELLM, openrouter, extra=("--require-coverage",))

    assert status == 0  # a warning ...
    (row,) = rows(output, "not_listed")
    assert "does not list anthropic/claude-haiku-4.5" in row
    assert "not confirmed: claude-haiku-4-5: its price was read from litellm" in output
    assert strict == 1  # ... that --require-coverage turns into a failure


def test_a_dataset_that_lists_none_of_the_served_models_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unrelated = tmp_path / "models.json"
    unrelated.write_text(json.dumps({"data": [{"id": "x/y", "pricing": {"prompt": "0"}}]}))

    status, output = run_audit(capsys, unrelated)

    assert status == 1
    assert "lists none of the 6 served models" in output
    assert "0 model" not in output.split("coverage")[0].splitlines()[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[not json", "not JSON"),
        ('{"data": []}', "an OpenRouter models answer that lists no models"),
        ('{"data": {"endpoints": []}}', "an OpenRouter endpoints answer without data.id"),
        ('{"object": "list", "models": []}', "not a dataset the audit reads"),
        ('{"a": {"b": 1}}', "not a dataset the audit reads"),
        ("[]", "not a dataset the audit reads"),
    ],
)
def test_a_file_it_cannot_read_is_refused_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "dataset.json"
    path.write_text(content)

    status, output = run_audit(capsys, path)

    assert status == 64
    assert f"error: {path}: {message}" in output
    assert "compared" not in output and "coverage" not in output


def test_a_missing_file_or_a_folder_that_is_not_models_dev_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, output = run_audit(capsys, tmp_path / "absent.json")
    assert status == 64 and "cannot be read" in output

    status, output = run_audit(capsys, tmp_path)
    assert status == 64 and "not a models.dev checkout" in output

    status, output = run_audit(capsys, LITELLM, LITELLM)
    assert status == 64 and "a second litellm dataset" in output


def test_help_lists_every_format_and_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--help"]) == 0

    text = capsys.readouterr().out
    for words in ("input_cost_per_token", "/api/v1/models", "endpoints", "models.dev",
                  "--require-coverage", "Exit status", "below cost"):  # fmt: skip
        assert words in text, words


@pytest.mark.parametrize(
    ("source", "cited"),
    [
        ("platform.claude.com/docs/about-claude/pricing; same in LiteLLM 1.110.2", None),
        (
            "models.dev providers/openai/models/gpt-5.2.toml @ f3fc692; identical in LiteLLM",
            "models_dev",
        ),
        ("highest among the allowed endpoints: novita $0.27 (LiteLLM 1.110.2)", "litellm"),
        ("OpenRouter /api/v1/models/x/y/endpoints, read 2026-12-01", "openrouter"),
    ],
)
def test_the_cited_dataset_is_the_one_the_price_was_read_from(
    source: str, cited: str | None
) -> None:
    from catalog_audit.audit import cited_dataset

    assert cited_dataset(source) == cited
