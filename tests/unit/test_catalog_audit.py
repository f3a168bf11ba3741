"""`python -m catalog_seed audit`: a small catalog against fixtures of every format it reads.

tests/fixtures/audit/catalog is a catalog made for these tests; the datasets beside it state
what it charges, so each test changes one thing and looks for the one finding it causes.
"""

from __future__ import annotations

import json
import re
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


# --- genai-prices, dated prices, malformed input, fixes, acknowledgements ---------------------

GENAI_PRICES = FIXTURES / "genai_prices.json"
SHIPPED = Path(__file__).resolve().parents[2] / "catalog_seed" / "models"


def test_genai_prices_confirms_models_and_its_version_is_in_the_header(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, output = run_audit(capsys, GENAI_PRICES)

    assert status == 0, output
    assert re.search(
        rf"genai_prices {re.escape(str(GENAI_PRICES))} @ sha256:[0-9a-f]{{12}} \(4 providers\)",
        output,
    )
    assert rows(output, "below_cost") == [] and rows(output, "price_differs") == []


def test_a_newer_model_of_a_served_family_is_named_with_the_entry_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nothing_reviewed = tmp_path / "none.toml"
    nothing_reviewed.write_text("")

    _, output = run_audit(capsys, GENAI_PRICES, extra=("--acknowledgements", str(nothing_reviewed)))

    newer = {row.split()[1]: row for row in rows(output, "newer_model_available")}
    assert "openai/gpt-5.5 is newer in its family" in newer["gpt-5.2"]
    assert "openai/gpt-5.4-mini is newer in its family" in newer["gpt-5-mini"]
    assert "claude-haiku-4-5" in newer and "anthropic/claude-haiku-5-5" in newer["claude-haiku-4-5"]
    assert "fix: catalog_seed/models/openai.toml: add a [[models]] entry for gpt-5.5" in output


def dated_catalog(tmp_path: Path, keep_change: bool) -> Path:
    catalog = tmp_path / "catalog"
    shutil.copytree(SHIPPED, catalog)
    if not keep_change:
        vertex = catalog / "vertex.toml"
        text = vertex.read_text(encoding="utf-8")
        start = text.index("\n[[models.price.changes]]\n")
        vertex.write_text(text[:start] + text[text.index("\n\n", start) + 1 :], encoding="utf-8")
    return catalog


@pytest.mark.parametrize("keep_change", [True, False])
def test_a_dated_upstream_price_must_be_seeded_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_change: bool
) -> None:
    catalog = dated_catalog(tmp_path, keep_change)

    status = main(["audit", "--data-dir", str(catalog), "--on", "2026-12-20",
                   "--against", str(GENAI_PRICES)])  # fmt: skip
    output = capsys.readouterr().out

    not_seeded = [row for row in rows(output, "price_change_not_seeded") if "gemini-3.8" in row]
    if keep_change:
        assert not_seeded == [] and status == 0, output
        (row,) = [r for r in rows(output, "price_change_scheduled") if "gemini-3.8" in r]
        assert "seeded from 2027-01-01T00:00:00Z" in row
        return
    assert status == 1
    assert [row.split()[4] for row in not_seeded] == ["cached_input_per_1m"]
    assert "fix: catalog_seed/models/vertex.toml, model gemini-3.8-flash: add " in output
    assert 'effective = 2027-01-01, cached_input_per_1m = "0.15"' in output
    (expiring,) = [r for r in rows(output, "price_expiring") if "gemini-3.8" in r]
    assert "no next price is seeded" in expiring


@pytest.mark.parametrize(
    ("value", "problem"),
    [("abc", "not a number: 'abc'"), (-0.000001, "a negative price: -1e-06")],
)
def test_a_malformed_litellm_price_is_refused_with_64_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: Any, problem: str
) -> None:
    def break_a_price(data: dict[str, Any]) -> None:
        data["gpt-5.2"]["output_cost_per_token"] = value

    status, output = run_audit(capsys, changed_json(tmp_path, LITELLM, break_a_price))

    assert status == 64
    assert f"litellm.json: gpt-5.2.output_cost_per_token: {problem}" in output


def test_a_malformed_genai_prices_price_is_refused_with_64_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def break_a_price(data: list[dict[str, Any]]) -> None:
        (openai,) = [provider for provider in data if provider["id"] == "openai"]
        (mini,) = [model for model in openai["models"] if model["id"] == "gpt-5-mini"]
        mini["prices"]["input_mtok"] = "abc"

    status, output = run_audit(capsys, changed_json(tmp_path, GENAI_PRICES, break_a_price))

    assert status == 64
    assert "genai_prices.json: openai.models[gpt-5-mini].prices.input_mtok: not a number" in output


def test_every_tier_is_compared_whatever_its_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def a_272k_tier(data: dict[str, Any]) -> None:
        data["gpt-5.2"]["input_cost_per_token_above_272k_tokens"] = 0.0000035

    status, output = run_audit(capsys, changed_json(tmp_path, LITELLM, a_272k_tier))

    assert status == 1
    charged = {(row.split()[1], row.split()[4]) for row in rows(output, "not_charged")}
    assert charged == {
        ("gpt-5.2", "tier_272k.input_per_1m"),
        ("cmo-agent", "tier_272k.input_per_1m"),
    }


def cheaper_upstream_output(data: dict[str, Any]) -> None:
    data["gpt-5.2"]["output_cost_per_token"] = 0.000013  # ours is US$14: price_differs


def test_a_finding_with_a_fix_prints_the_exact_data_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, output = run_audit(capsys, changed_json(tmp_path, LITELLM, cheaper_upstream_output))

    assert (
        'fix: catalog_seed/models/openai.toml, model gpt-5.2: set price.output_per_1m = "13" '
        "(source: litellm "
    ) in output
    fixes = [line for line in output.splitlines() if "set price.output_per_1m" in line]
    assert len(fixes) == 2  # cmo-agent runs on gpt-5.2: its fix edits gpt-5.2's price too
    assert all("model gpt-5.2: set price.output_per_1m" in line for line in fixes)


def test_an_acknowledged_failure_does_not_fail_the_run_until_its_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    litellm = changed_json(tmp_path, LITELLM, cheaper_upstream_output)
    acknowledged = tmp_path / "ack.toml"
    acknowledged.write_text("".join(
        f'[[acknowledged]]\nfinding = "price_differs"\nmodel = "{model}"\n'
        'reason = "reviewed"\nuntil = 2026-12-01\n' for model in ("gpt-5.2", "cmo-agent")
    ))  # fmt: skip

    on_the_day = run_audit(capsys, litellm, extra=("--acknowledgements", str(acknowledged)))
    acknowledged.write_text(acknowledged.read_text().replace("2026-12-01", "2026-11-30"))
    after_it = run_audit(capsys, litellm, extra=("--acknowledgements", str(acknowledged)))

    assert on_the_day[0] == 0 and "acknowledged: reviewed (until 2026-12-01)" in on_the_day[1]
    assert after_it[0] == 1 and "acknowledgement expired on 2026-11-30" in after_it[1]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[acknowledged]]\nfinding = "nope"\nmodel = "m"\nreason = "r"\nuntil = 2027-01-01\n',
         "acknowledged[0].finding: 'nope' is no finding"),
        ('[[acknowledged]]\nfinding = "below_cost"\nmodel = "m"\nreason = "r"\n',
         "acknowledged[0].until: must be a date"),
    ],
)  # fmt: skip
def test_a_malformed_acknowledgement_is_refused_with_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    acknowledged = tmp_path / "ack.toml"
    acknowledged.write_text(text)

    status, output = run_audit(capsys, LITELLM, extra=("--acknowledgements", str(acknowledged)))

    assert status == 64 and problem in output


def test_an_upstream_id_now_naming_another_model_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def renamed(data: dict[str, Any]) -> None:
        (entry,) = [m for m in data["data"] if m["id"] == "qwen/qwen3-235b-a22b-2507"]
        entry["name"] = "Qwen: Qwen3.5 235B"

    status, output = run_audit(capsys, changed_json(tmp_path, OPENROUTER, renamed))

    (row,) = rows(output, "upstream_renamed")
    assert row.split()[1] == "qwen3-235b-a22b" and "'Qwen: Qwen3.5 235B'" in row


def test_the_shipped_acknowledgements_file_is_valid() -> None:
    from catalog_audit.audit import load_acknowledgements
    from catalog_audit.left_out import load_left_out

    shipped = load_acknowledgements(SHIPPED.parent / "acknowledgements.toml")
    assert {(a.finding, a.model, a.field) for a in shipped} == {
        ("not_charged", "gemini-3.1-pro", "per_image_output"),
        ("limit", "gemini-3-flash", "max_output_tokens"),
        ("price_differs", "gemini-4-argon", ""),
    }
    left_out = load_left_out(SHIPPED.parent / "acknowledgements.toml")
    assert set(left_out) == {"openai/gpt-5.5", "openai/gpt-5.4-mini"}
    assert all(record.reason and record.source for record in left_out.values())


LEFT_OUT_GPT_5_5 = """
[[left_out]]
upstream = "openai/gpt-5.5"
reason = "reviewed: GPT-6.2 Sol is served instead"
source = "genai-prices 0.2.5 provider openai"
checked = 2026-11-01
until = {until}
"""


@pytest.mark.parametrize("until", ["2026-12-31", "2026-11-30"])
def test_a_left_out_model_is_reported_with_its_reason_and_counts_after_its_record_ends(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], until: str
) -> None:
    reviewed = tmp_path / "reviewed.toml"
    reviewed.write_text(LEFT_OUT_GPT_5_5.format(until=until))

    _, output = run_audit(capsys, GENAI_PRICES, extra=("--acknowledgements", str(reviewed)))

    counted = {row.split()[1]: row for row in rows(output, "newer_model_available")}
    assert "openai/gpt-5.4-mini" in counted["gpt-5-mini"]  # not left out: still a warning
    if until == "2026-12-31":
        assert "gpt-5.2" not in counted
        (acked,) = [line for line in output.splitlines()
                    if line.startswith("ack") and "openai/gpt-5.5 is newer" in line]  # fmt: skip
        assert (
            "left out: reviewed: GPT-6.2 Sol is served instead (source: genai-prices 0.2.5 "
            "provider openai; checked 2026-11-01; until 2026-12-31)" in output
        )
        assert acked.split()[1] == "gpt-5.2"
    else:
        assert "[left out until 2026-11-30: review it again]" in counted["gpt-5.2"]


def test_a_left_out_model_does_not_hide_a_newer_one_of_its_family(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def gpt_5_6_arrives(data: list[dict[str, Any]]) -> None:
        (openai,) = [provider for provider in data if provider["id"] == "openai"]
        openai["models"].append({"id": "gpt-5.6", "name": "GPT-5.6",
                                 "prices": {"input_mtok": 5, "output_mtok": 30}})  # fmt: skip

    reviewed = tmp_path / "reviewed.toml"
    reviewed.write_text(LEFT_OUT_GPT_5_5.format(until="2026-12-31"))
    dataset = changed_json(tmp_path, GENAI_PRICES, gpt_5_6_arrives)

    _, output = run_audit(capsys, dataset, extra=("--acknowledgements", str(reviewed)))

    (row,) = [row for row in rows(output, "newer_model_available") if " gpt-5.2 " in row]
    assert "openai/gpt-5.6 is newer" in row
    assert "left out: reviewed" in output  # gpt-5.5 is still reported, with its reason


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[[left_out]]\nupstream = "gpt-5.5"\nreason = "r"\nsource = "s"\n'
         "checked = 2026-12-01\nuntil = 2026-12-31\n", "left_out[0].upstream: must be"),
        ('[[left_out]]\nupstream = "openai/gpt-5.5"\nreason = "r"\nsource = ""\n'
         "checked = 2026-12-01\nuntil = 2026-12-31\n", "left_out[0].source: must be"),
        ('[[left_out]]\nupstream = "openai/gpt-5.5"\nreason = "r"\nsource = "s"\n'
         'until = 2026-12-31\n', "left_out[0].checked: must be a date"),
        ('[[left_out]]\nupstream = "openai/gpt-5.5"\nreason = "r"\nsource = "s"\n'
         "checked = 2026-12-01\nuntil = 2026-11-01\n", "left_out[0].until: is before checked"),
        ('[[left_out]]\nupstream = "openai/gpt-5.5"\nreason = "r"\nsource = "s"\n'
         "checked = 2026-12-01\nuntil = 2026-12-31\nmodel = \"x\"\n",
         "left_out[0].model: unknown field"),
    ],
)  # fmt: skip
def test_a_malformed_left_out_record_is_refused_with_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    reviewed = tmp_path / "reviewed.toml"
    reviewed.write_text(text)

    status, output = run_audit(capsys, GENAI_PRICES, extra=("--acknowledgements", str(reviewed)))

    assert status == 64 and problem in output and str(reviewed) in output


@pytest.mark.parametrize(("value", "problem"), [("abc", "not a number"), ("-0.5", "negative")])
def test_a_malformed_openrouter_price_is_refused_with_64_but_minus_one_is_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, problem: str
) -> None:
    def break_a_price(data: dict[str, Any]) -> None:
        data["data"]["endpoints"][0]["pricing"]["completion"] = value

    status, output = run_audit(capsys, OPENROUTER, changed_json(tmp_path, ENDPOINTS, break_a_price))

    assert status == 64
    assert "openrouter_endpoints_qwen3.json: deepinfra/fp8.pricing.completion: " in output
    assert problem in output


BEFORE_THE_SWITCH = FIXTURES / "deepseek_v4_flash_before_the_switch.toml"


def _genai_prices_deepseek(tmp_path: Path, v4_flash_name: str) -> Path:
    """genai-prices 0.2.5's OpenRouter entries for DeepSeek V4 and V4.1 Flash (names and
    current prices as published), with OpenRouter's deepseek/deepseek-v4-flash named
    `v4_flash_name`."""

    def model(model_id: str, name: str, prices: dict[str, float]) -> dict[str, Any]:
        return {"id": model_id, "match": {"equals": model_id}, "name": name, "prices": prices}

    providers = [
        {
            "id": "openrouter",
            "name": "OpenRouter",
            "models": [
                model(
                    "deepseek/deepseek-v4-flash",
                    v4_flash_name,
                    {"input_mtok": 0.105, "cache_read_mtok": 0.021, "output_mtok": 0.21},
                ),
                model(
                    "deepseek/deepseek-v4.1-flash",
                    "DeepSeek V4.1 Flash",
                    {"input_mtok": 0.21, "cache_read_mtok": 0.0042, "output_mtok": 0.84},
                ),
            ],
        }
    ]
    path = tmp_path / f"genai-prices-{len(v4_flash_name)}.json"
    path.write_text(json.dumps(providers), encoding="utf-8")
    return path


def _shipped_data_with_the_entry_before_the_switch(tmp_path: Path) -> Path:
    data = Path(shutil.copytree(SHIPPED, tmp_path / "before"))
    openrouter = data / "openrouter.toml"
    blocks = openrouter.read_text(encoding="utf-8").split("[[models]]\n")
    kept = [b for b in blocks if 'id = "deepseek-v4-flash"\n' not in b]
    assert len(kept) == len(blocks) - 1
    openrouter.write_text("[[models]]\n".join(kept), encoding="utf-8")
    shutil.copy(BEFORE_THE_SWITCH, data / "deepseek_before.toml")
    return data


def _renamed_rows(capsys: pytest.CaptureFixture[str], data: Path, dataset: Path) -> list[str]:
    main(["audit", "--data-dir", str(data), "--against", str(dataset)])
    return rows(capsys.readouterr().out, "upstream_renamed")


def test_deepseeks_v4_1_switch_is_reflected_and_the_old_entry_is_reported_renamed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dataset that follows DeepSeek's switch (its V4 Flash id now names V4.1 Flash) reports
    the old entry and not the shipped one; neither fires on genai-prices 0.2.5's own names."""
    switched = _genai_prices_deepseek(tmp_path, "DeepSeek V4.1 Flash")
    published = _genai_prices_deepseek(tmp_path, "DeepSeek V4 Flash")
    before = _shipped_data_with_the_entry_before_the_switch(tmp_path)

    old_rows = _renamed_rows(capsys, before, switched)
    shipped_rows = _renamed_rows(capsys, SHIPPED, switched)
    shipped_on_published = _renamed_rows(capsys, SHIPPED, published)

    (row,) = old_rows
    assert row.split()[1] == "deepseek-v4-flash" and "'DeepSeek V4.1 Flash'" in row
    assert shipped_rows == [] and shipped_on_published == []


# --- genai-prices' PyPI package (its data is Python: genai_prices/data.py) -------------------


def _as_python(value: Any, key: str = "") -> str:
    """genai-prices' data.py spelling of a data.json value (as `make package-data` writes it)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return repr(value)
    if isinstance(value, (int, float)):
        return repr(value) if key in ("start", "context_window") else f"Decimal({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(_as_python(item, key) for item in value) + "]"
    if key == "start_date":
        return "datetime.date({}, {}, {})".format(*(int(part) for part in value.split("-")))
    constructor = {"constraint": "StartDateConstraint", "tiers": "Tier"}.get(key, "Model")
    fields = ", ".join(f"{name}={_as_python(item, name)}" for name, item in value.items())
    return f"{constructor}({fields})"


def genai_prices_wheel(tmp_path: Path, data_py: str) -> Path:
    import zipfile

    wheel = tmp_path / "genai_prices-0.2.5-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("genai_prices/__init__.py", "")
        archive.writestr("genai_prices/data.py", data_py)
    return wheel


def fixture_as_data_py() -> str:
    providers = json.loads(GENAI_PRICES.read_text(encoding="utf-8"))
    body = ",\n    ".join(_as_python(provider).replace("Model(", "Provider(", 1)
                          for provider in providers)  # fmt: skip
    header = '"""DO NOT EDIT"""\n\nimport datetime\nfrom decimal import Decimal\n\n'
    return f"{header}from .types import *\n\nproviders: list[Provider] = [\n    {body},\n]\n"


def _unversioned(output: str) -> str:
    """An audit's output without the datasets' content versions (`@ ... sha256:...`)."""
    return re.sub(r" @ [^()]*?sha256:[0-9a-f]{12}", "", output)


def test_genai_prices_wheel_and_installed_folder_read_as_its_data_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_py = fixture_as_data_py()
    wheel = genai_prices_wheel(tmp_path, data_py)
    installed = tmp_path / "site-packages" / "genai_prices"
    installed.mkdir(parents=True)
    (installed / "data.py").write_text(data_py, encoding="utf-8")
    (installed / "types.py").write_text("", encoding="utf-8")

    _, from_json = run_audit(capsys, GENAI_PRICES)
    for package in (wheel, installed, installed / "data.py"):
        status, output = run_audit(capsys, package)
        assert status == 0, output
        assert re.search(rf"genai_prices {re.escape(str(package))} @ \S*sha256:\w{{12}} ", output)
        assert _unversioned(output.replace(str(package), "X")) == _unversioned(
            from_json.replace(str(GENAI_PRICES), "X")
        )


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("providers = [__import__('os').system('touch RAN')]", "line 1: not data"),
        ("providers = [Provider(id=NAME, models=[])]", "line 1: not data: 'NAME'"),
        ("providers = [Provider(**{'id': 'x'})]", "is not data"),
        ("x = 1", "no `providers = [...]` assignment"),
        ("providers = [", "not Python"),
    ],
)
def test_a_genai_prices_package_is_parsed_never_run_and_anything_but_data_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    statement: str,
    problem: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    wheel = genai_prices_wheel(tmp_path, statement + "\n")

    status, output = run_audit(capsys, wheel)

    assert status == 64
    assert f"error: {wheel}: genai_prices/data.py: " in output and problem in output
    assert not (tmp_path / "RAN").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("genai_prices-0.2.5-py3-none-any.whl", b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not UTF-8 text"),
        ("litellm.json", '{"a": 1}'.encode("utf-16"), "not UTF-8 text"),
        ("data.json", b"PK\x03\x04" + bytes(range(256)), "not UTF-8 text"),
    ],
)
def test_a_binary_dataset_file_exits_64_naming_it_never_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    status, output = run_audit(capsys, path)

    assert status == 64
    assert f"error: {path}: {message}" in output and "Traceback" not in output


def test_a_zip_without_genai_prices_data_or_a_binary_models_dev_file_exits_64(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("something/else.py", "")
    status, output = run_audit(capsys, other)
    assert status == 64 and f"error: {other}: a zip archive without genai_prices/data.py" in output

    checkout = tmp_path / "models.dev"
    shutil.copytree(MODELS_DEV, checkout)
    broken = checkout / "providers" / "openai" / "models" / "gpt-5.2.toml"
    broken.write_bytes(b"\xff\xfe\x00binary")
    status, output = run_audit(capsys, checkout)
    assert status == 64 and str(broken) in output and "Traceback" not in output


def test_help_infra_readme_and_catalog_doc_name_the_alerts_drift_check_tf_creates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import re

    from catalog_audit.audit import FINDING_KINDS

    root = Path(__file__).resolve().parents[2]
    terraform = (root / "infra" / "drift_check.tf").read_text(encoding="utf-8")
    metrics = re.findall(r"^    (drift_[a-z_]+) = \{", terraform, flags=re.MULTILINE)
    alerting = [kind for kind, (_, alert) in FINDING_KINDS.items() if alert]
    assert sorted(metrics) == sorted(["drift_check_incomplete", *(f"drift_{k}" for k in alerting)])

    assert main(["audit", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "nine findings" in help_text and "genai_prices" in help_text
    for kind in alerting:
        assert kind in help_text, kind

    catalog_doc = (root / "docs" / "catalog.md").read_text(encoding="utf-8")
    for metric in metrics:
        assert f"`{metric}`" in catalog_doc, metric
    infra = (root / "infra" / "README.md").read_text(encoding="utf-8")
    drift_section = " ".join(infra.split("## Daily drift check", 1)[1].split("\n## ")[0].split())
    assert "Ten log-based metrics" in drift_section and "nine findings" in drift_section
    assert "genai-prices" in drift_section


def test_every_dataset_is_described_with_the_version_of_its_content(tmp_path: Path) -> None:
    from catalog_audit.datasets import load_datasets

    data = json.loads(LITELLM.read_text(encoding="utf-8"))
    same = tmp_path / "same.json"
    same.write_text(json.dumps(data, indent=4), encoding="utf-8")  # other bytes, same data
    data[next(iter(data))]["max_tokens"] = 1
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data), encoding="utf-8")

    original, reformatted, edited = (load_datasets([p])[0] for p in (LITELLM, same, changed))

    assert original.version.startswith("sha256:") and len(original.version) == 19
    assert original.version == reformatted.version != edited.version
    assert f"@ {original.version}" in original.describe()
