"""The daily drift check end to end: a catalog seeded into the Firestore emulator, the public
datasets served by a loopback HTTP server from fixture files (URLs set through the
environment), one JSON log line per finding. Through the job itself and through the deployed
entry point (`functions-framework --target drift_check`) as a real server process.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drift_check.app import build_drift_check
from drift_check.settings import DriftSettings
from local_harness.processes import FunctionServer
from tests.conftest import Project, seed_catalog
from tests.support.dataset_server import DatasetServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "audit"
ON = dt.date(2026, 12, 1)
LITELLM_PATH = "/BerriAI/litellm/main/model_prices_and_context_window.json"
MODELS_PATH = "/api/v1/models"
QWEN_ENDPOINTS_PATH = "/api/v1/models/qwen/qwen3-235b-a22b-2507/endpoints"
GENAI_PRICES_PATH = "/pydantic/genai-prices/main/prices/data.json"


def fixture_routes() -> dict[str, bytes]:
    return {
        LITELLM_PATH: (FIXTURES / "litellm.json").read_bytes(),
        MODELS_PATH: (FIXTURES / "openrouter_models.json").read_bytes(),
        QWEN_ENDPOINTS_PATH: (FIXTURES / "openrouter_endpoints_qwen3.json").read_bytes(),
        GENAI_PRICES_PATH: (FIXTURES / "genai_prices.json").read_bytes(),
    }


def fixture_routes_changed(path: str, change: Any) -> dict[str, bytes]:
    """The fixture datasets, with `change` applied to the JSON served at `path`."""
    routes = fixture_routes()
    data = json.loads(routes[path])
    change(data)
    routes[path] = json.dumps(data).encode()
    return routes


def drift_env(project: Project, datasets: DatasetServer) -> dict[str, str]:
    return {
        **project.service_env(),
        "DRIFT_LITELLM_URL": datasets.url + LITELLM_PATH,
        "DRIFT_GENAI_PRICES_URL": datasets.url + GENAI_PRICES_PATH,
        "DRIFT_OPENROUTER_MODELS_URL": datasets.url + MODELS_PATH,
        "DRIFT_OPENROUTER_ENDPOINTS_URL": datasets.url + "/api/v1/models/{model}/endpoints",
        "DRIFT_DOWNLOAD_TIMEOUT_SECONDS": "5",
    }


@pytest.fixture
def catalog(project: Project) -> Project:
    """The audit fixtures' small catalog, seeded like production's."""
    assert seed_catalog(project, "--data-dir", str(FIXTURES / "catalog")) == 0
    return project


def stored(project: Project) -> dict[str, Any]:
    return {doc.id: doc.to_dict() for doc in project.client.collection("models").stream()}


def run_once(
    project: Project, datasets: DatasetServer, on: dt.date = ON
) -> tuple[Any, list[dict[str, Any]]]:
    lines: list[dict[str, Any]] = []
    settings = DriftSettings.from_env(drift_env(project, datasets))
    outcome = build_drift_check(settings, log=lines.append, today=lambda: on)()
    for line in lines:  # every line is what Cloud Logging gets: one JSON object
        json.loads(json.dumps(line))
    return outcome, lines


def findings(lines: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("drift_finding") == kind]


def test_the_served_catalog_agrees_with_the_downloaded_datasets(catalog: Project) -> None:
    before = stored(catalog)
    with DatasetServer(fixture_routes()) as datasets:
        outcome, lines = run_once(catalog, datasets)

    assert outcome.complete, outcome.errors
    assert sorted(datasets.requested) == sorted(fixture_routes())  # endpoints of the routed one
    summary = lines[-1]
    assert summary["drift_check"] == "completed" and summary["severity"] == "INFO"
    assert summary["served"] == 6 and summary["failures"] == 0 and summary["alerts"] == 0
    assert len(summary["datasets"]) == 3  # LiteLLM; OpenRouter listing + endpoints; genai-prices
    assert not [line for line in lines if line.get("severity") == "ERROR"]
    assert stored(catalog) == before  # it only reads


def test_a_price_below_the_dearest_allowed_endpoint_is_an_alerting_error_line(
    catalog: Project,
) -> None:
    def together_raises_its_price(data: dict[str, Any]) -> None:
        data["data"]["endpoints"][1]["pricing"]["completion"] = "0.0000009"

    routes = fixture_routes_changed(QWEN_ENDPOINTS_PATH, together_raises_its_price)
    with DatasetServer(routes) as datasets:
        outcome, lines = run_once(catalog, datasets)

    (line,) = findings(lines, "below_cost")
    assert line["severity"] == "ERROR" and line["alert"] is True
    assert line["model"] == "qwen3-235b-a22b" and line["dataset"] == "openrouter"
    assert line["field"] == "output_per_1m" and line["theirs"] == "0.9"
    assert "endpoints deepinfra/fp8, together" in line["detail"]
    assert line["fix"].startswith("catalog_seed/models/openrouter.toml, model qwen3-235b-a22b")
    assert "genai_prices" not in line["dataset_source"] and "/endpoints" in line["dataset_source"]
    (cap,) = findings(lines, "max_price_refuses")  # the cap keeps the dearer host from serving
    assert cap["field"] == "routing.max_price.completion" and cap["alert"] is True
    assert outcome.complete and outcome.alerts == 2
    assert lines[-1]["alerts"] == 2 and lines[-1]["failures"] == 2


def test_an_acknowledged_finding_is_logged_but_neither_fails_nor_alerts(
    catalog: Project, tmp_path: Path
) -> None:
    def together_raises_its_price(data: dict[str, Any]) -> None:
        data["data"]["endpoints"][1]["pricing"]["completion"] = "0.0000009"

    acknowledged = tmp_path / "acknowledgements.toml"
    acknowledged.write_text(
        "".join(
            f'[[acknowledged]]\nfinding = "{kind}"\nmodel = "qwen3-235b-a22b"\n'
            f'reason = "reviewed: together is dropped from the routing"\nuntil = {until}\n'
            for kind, until in (("below_cost", "2026-12-31"), ("max_price_refuses", "2026-11-30"))
        ),
        encoding="utf-8",
    )
    routes = fixture_routes_changed(QWEN_ENDPOINTS_PATH, together_raises_its_price)
    with DatasetServer(routes) as datasets:
        env = {**drift_env(catalog, datasets), "DRIFT_ACKNOWLEDGEMENTS_FILE": str(acknowledged)}
        lines: list[dict[str, Any]] = []
        outcome = build_drift_check(DriftSettings.from_env(env), lines.append, lambda: ON)()

    (line,) = findings(lines, "below_cost")
    assert line["alert"] is False and line["acknowledged"].startswith("reviewed: together")
    (expired,) = findings(lines, "max_price_refuses")  # its acknowledgement ended on 11-30
    assert expired["alert"] is True and "acknowledgement expired on 2026-11-30" in expired["detail"]
    assert outcome.alerts == 1 and lines[-1]["failures"] == 1 and lines[-1]["acknowledged"] == 1


def test_a_served_model_past_its_upstream_shutdown_is_an_alerting_error_line(
    catalog: Project,
) -> None:
    def shut_down(data: dict[str, Any]) -> None:
        data["gpt-5-mini"]["deprecation_date"] = "2026-11-30"

    routes = fixture_routes_changed(LITELLM_PATH, shut_down)
    with DatasetServer(routes) as datasets:
        _, lines = run_once(catalog, datasets)

    (line,) = findings(lines, "past_shutdown")
    assert line["model"] == "gpt-5-mini" and line["alert"] is True
    assert line["severity"] == "ERROR" and line["theirs"] == "2026-11-30"


def test_a_price_ending_within_two_weeks_is_an_alerting_warning_line(catalog: Project) -> None:
    # the fixture's gemini-3.1-pro price holds until 2026-12-31
    with DatasetServer(fixture_routes()) as datasets:
        outcome, lines = run_once(catalog, datasets, on=dt.date(2026, 12, 20))

    (line,) = findings(lines, "price_expiring")
    assert line["severity"] == "WARNING" and line["alert"] is True
    assert line["model"] == "gemini-3.1-pro" and line["dataset"] == "catalog"
    assert line["field"] == "pricing.valid_until" and line["ours"] == "2026-12-31"
    assert "11 day(s) left" in line["detail"]
    assert outcome.complete and outcome.alerts == 1 and lines[-1]["failures"] == 0


def test_a_price_past_its_end_is_an_alerting_error_even_without_any_dataset(
    catalog: Project,
) -> None:
    with DatasetServer({}) as datasets:  # every download answers 404
        outcome, lines = run_once(catalog, datasets, on=dt.date(2027, 1, 1))

    (line,) = findings(lines, "price_expired")
    assert line["severity"] == "ERROR" and line["alert"] is True
    assert line["model"] == "gemini-3.1-pro" and "ended on 2026-12-31" in line["detail"]
    assert not outcome.complete and outcome.alerts == 1  # the downloads failed, still reported
    assert lines[-1]["failures"] == 1 and lines[-1]["drift_check"] == "incomplete"


def test_a_dataset_that_cannot_be_downloaded_makes_the_run_incomplete_not_silent(
    catalog: Project,
) -> None:
    routes = fixture_routes()
    del routes[LITELLM_PATH]  # 404
    routes[MODELS_PATH] = b"<html>rate limited</html>"
    with DatasetServer(routes) as datasets:
        outcome, lines = run_once(catalog, datasets)

    assert not outcome.complete
    errors = [line for line in lines if "drift_error" in line]
    assert [line["drift_error"] for line in errors] == ["litellm", "openrouter models"]
    assert "HTTP 404" in errors[0]["message"] and "not JSON" in errors[1]["message"]
    # the endpoints answer still arrived: the routed model is still audited
    assert lines[-1]["drift_check"] == "incomplete" and lines[-1]["severity"] == "ERROR"
    assert lines[-1]["served"] == 6 and lines[-1]["datasets"]


def test_an_unreachable_firestore_makes_the_run_incomplete(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:9")  # the client reads os.environ
    with DatasetServer(fixture_routes()) as datasets:
        env = {**drift_env(project, datasets), "BACKEND_TIMEOUT_SECONDS": "1"}
        lines: list[dict[str, Any]] = []
        outcome = build_drift_check(DriftSettings.from_env(env), log=lines.append)()

    assert not outcome.complete
    assert lines[0]["drift_error"] == "firestore"
    assert lines[-1]["drift_check"] == "incomplete"
    assert datasets.requested == []  # nothing to audit: nothing downloaded


def test_an_empty_catalog_is_an_incomplete_run_not_a_clean_one(project: Project) -> None:
    with DatasetServer(fixture_routes()) as datasets:
        outcome, lines = run_once(project, datasets)  # nothing seeded

    assert not outcome.complete
    assert lines[0]["drift_error"] == "catalog"
    assert "serves no model" in lines[0]["message"]


@pytest.fixture
def drift_server(catalog: Project) -> Iterator[tuple[FunctionServer, DatasetServer]]:
    def together_raises_its_price(data: dict[str, Any]) -> None:
        data["data"]["endpoints"][1]["pricing"]["prompt"] = "0.0000003"

    routes = fixture_routes_changed(QWEN_ENDPOINTS_PATH, together_raises_its_price)
    with DatasetServer(routes) as datasets:
        server = FunctionServer(
            drift_env(catalog, datasets), workers=1, threads=2, target="drift_check"
        ).start()
        try:
            yield server, datasets
        finally:
            server.stop()


def post(url: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_the_deployed_entry_point_logs_one_json_line_per_finding(
    drift_server: tuple[FunctionServer, DatasetServer],
) -> None:
    server, datasets = drift_server

    status, summary = post(server.url)
    refused = urllib.request.Request(server.url, method="GET")  # noqa: S310 - loopback
    with pytest.raises(urllib.error.HTTPError) as wrong_method:
        urllib.request.urlopen(refused, timeout=10)  # noqa: S310
    wrong_method.value.close()
    server.stop()

    assert wrong_method.value.code == 405  # Cloud Scheduler POSTs; nothing else runs a check

    assert status == 200, summary
    assert summary["drift_check"] == "completed" and summary["alerts"] >= 1
    entries = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    below = [e for e in entries if e.get("drift_finding") == "below_cost"]
    assert below and below[0]["model"] == "qwen3-235b-a22b"
    assert below[0]["severity"] == "ERROR"
    assert entries[-1]["drift_check"] == "completed"
    assert QWEN_ENDPOINTS_PATH in datasets.requested


def test_an_unknown_function_target_refuses_to_start() -> None:
    import os
    import subprocess
    import sys

    from local_harness.processes import ROOT

    env = {**os.environ, "FUNCTION_TARGET": "no_such_target"}
    result = subprocess.run(
        [sys.executable, "-c", "import main"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode != 0
    assert "FUNCTION_TARGET 'no_such_target'" in result.stderr
