"""The daily drift check's deployment: Terraform (drift_check.tf) and the gcloud block of
deploy.sh provision the same function, accounts, read-only grant and schedule; its alerts
count the lines drift_check/job.py writes; its names fit Google's rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from catalog_audit.audit import FINDING_KINDS
from tests.infra.terraform_eval import INFRA, ROOT, Scratch
from tests.infra.terraform_files import terraform_resources
from tests.infra.test_deploy_parity import INGRESS, ONLY_REQUIRED, DryRun, flags

SERVICE_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
CLOUD_RUN_SERVICE = re.compile(r"^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$")
SCENARIOS: list[tuple[dict[str, Any], dict[str, str]]] = [
    ONLY_REQUIRED,
    (
        {
            "project_id": "other-project",
            "adopt_existing_firestore_database": False,
            "public_access": "invoker_check_disabled",
            "region": "europe-west1",
            "function_name": "catalog-api",
            "name_prefix": "c" * 24,
            "firestore_database_id": "catalog-db",
            "python_runtime": "python312",
            "drift_check_schedule": "0 5 * * 1-5",
            "drift_check_timeout_seconds": 600,
            "drift_check_litellm_url": "https://mirror.example.com/litellm.json",
            "drift_check_openrouter_models_url": "https://or.example.com/models",
            "drift_check_openrouter_endpoints_url": "https://or.example.com/models/{model}/e",
            "drift_check_genai_prices_url": "https://mirror.example.com/genai-prices.json",
        },
        {
            "PROJECT": "other-project",
            "ADOPT_EXISTING_FIRESTORE_DATABASE": "false",
            "PUBLIC_ACCESS": "invoker_check_disabled",
            "REGION": "europe-west1",
            "FUNCTION_NAME": "catalog-api",
            "NAME_PREFIX": "c" * 24,
            "FIRESTORE_DATABASE": "catalog-db",
            "PYTHON_RUNTIME": "python312",
            "DRIFT_CHECK_SCHEDULE": "0 5 * * 1-5",
            "DRIFT_CHECK_TIMEOUT_SECONDS": "600",
            "DRIFT_CHECK_LITELLM_URL": "https://mirror.example.com/litellm.json",
            "DRIFT_CHECK_OPENROUTER_MODELS_URL": "https://or.example.com/models",
            "DRIFT_CHECK_OPENROUTER_ENDPOINTS_URL": "https://or.example.com/models/{model}/e",
            "DRIFT_CHECK_GENAI_PRICES_URL": "https://mirror.example.com/genai-prices.json",
        },
    ),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    return Scratch(
        tmp_path_factory.mktemp("drift"),
        ("variables.tf", "settings.tf", "drift_check_settings.tf"),
        {
            "names": "local.drift_names",
            "environment": "local.drift_environment",
            "settings": "local.drift_settings",
            "service": "local.service_settings",
            "apis": "local.apis",
        },
    )


@pytest.mark.parametrize(("variables", "env"), SCENARIOS, ids=["defaults", "everything-set"])
def test_both_paths_deploy_the_same_drift_check(
    scratch: Scratch, variables: dict[str, Any], env: dict[str, str]
) -> None:
    tf = scratch.outputs(variables)
    run = DryRun(env)
    names, settings = tf["names"], tf["settings"]
    project = variables["project_id"]
    domain = f"{project}.iam.gserviceaccount.com"

    (deploy,) = [
        c for c in run.find("gcloud", "functions", "deploy") if c[3] == names["function_name"]
    ]
    given = flags(deploy)
    assert given["entry-point"] == settings["entry_point"] == "drift_check"
    assert given["runtime"] == tf["service"]["runtime"]
    assert given["source"] == "."  # the same upload as the service
    assert given["service-account"] == f"{names['runtime_account_id']}@{domain}"
    assert "no-allow-unauthenticated" in given and "allow-unauthenticated" not in given
    for flag in ("cpu", "memory", "concurrency", "min-instances", "max-instances"):
        assert given[flag] == settings[flag.replace("-", "_")], flag
    assert given["timeout"] == f"{settings['timeout_seconds']}s"
    assert given["ingress-settings"] == INGRESS[settings["ingress"]] == "internal-only"
    script_env = dict(item.split("=", 1) for item in given["set-env-vars"][3:].split(";"))
    assert script_env == tf["environment"]

    created = {c[4] for c in run.find("gcloud", "iam", "service-accounts", "create")}
    assert {names["runtime_account_id"], names["scheduler_account_id"]} <= created
    drift_member = f"serviceAccount:{names['runtime_account_id']}@{domain}"
    drift_grants = [
        flags(c)
        for c in run.find("gcloud", "projects", "add-iam-policy-binding")
        if flags(c)["member"] == drift_member
    ]
    database = variables.get("firestore_database_id", "catalog")
    assert drift_grants == [
        {
            "member": drift_member,
            "role": "roles/datastore.viewer",
            "condition": f'expression=resource.name == "projects/{project}/databases/{database}"'
            ",title=only-the-catalog-database",
        }
    ]
    # The scheduler's account is its only invoker, whatever public access the service has.
    (invoker,) = run.find("gcloud", "functions", "add-invoker-policy-binding")
    assert invoker[3] == names["function_name"]
    assert flags(invoker)["member"] == f"serviceAccount:{names['scheduler_account_id']}@{domain}"
    assert names["function_name"] not in {c[4] for c in run.find("gcloud", "run", "services")}
    assert "update-labels" in given  # labelled like the service (and its deploy fingerprint)

    (job,) = run.find("gcloud", "scheduler", "jobs", "create", "http")
    job_flags = flags(job)
    assert job[5] == names["scheduler_job"]
    assert job_flags["schedule"] == settings["schedule"]
    assert job_flags["time-zone"] == settings["time_zone"] == "Etc/UTC"
    assert job_flags["http-method"] == "POST"
    assert job_flags["oidc-service-account-email"] == (f"{names['scheduler_account_id']}@{domain}")
    assert job_flags["oidc-token-audience"] == job_flags["uri"]
    assert "cloudscheduler.googleapis.com" in tf["apis"]


def test_the_script_can_leave_the_drift_check_out() -> None:
    run = DryRun(
        {
            "PROJECT": "p-1",
            "ADOPT_EXISTING_FIRESTORE_DATABASE": "true",
            "PUBLIC_ACCESS": "none",
            "DRIFT_CHECK": "false",
        }
    )

    assert [c[3] for c in run.find("gcloud", "functions", "deploy")] == ["models"]
    assert not run.find("gcloud", "scheduler")


EXTREMES = [
    {},
    {"project_id": "a" * 30, "function_name": "b" * 49, "name_prefix": "c" * 24},
    {"project_id": "abcdef", "function_name": "b", "name_prefix": "cd"},
]


@pytest.mark.parametrize("variables", EXTREMES, ids=[str(v) for v in EXTREMES])
def test_every_drift_name_obeys_googles_rule(scratch: Scratch, variables: dict[str, Any]) -> None:
    names = scratch.outputs(variables)["names"]

    assert SERVICE_ACCOUNT_ID.match(names["runtime_account_id"]), names
    assert SERVICE_ACCOUNT_ID.match(names["scheduler_account_id"]), names
    assert CLOUD_RUN_SERVICE.match(names["function_name"]), names
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,500}", names["scheduler_job"]), names


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"drift_check_schedule": "daily"}, "5-field cron"),
        ({"drift_check_timeout_seconds": 3600}, "between 60 and 1770"),
        ({"drift_check_litellm_url": "http://x/l.json"}, "https:// URL"),
        ({"drift_check_genai_prices_url": "http://x/g.json"}, "https:// URL"),
        ({"drift_check_openrouter_endpoints_url": "https://x/endpoints"}, "containing {model}"),
    ],
)
def test_bad_drift_settings_fail_at_plan(
    scratch: Scratch, variables: dict[str, Any], message: str
) -> None:
    result = scratch.apply(variables)

    assert result.returncode != 0
    assert message in re.sub(r"\s+", " ", result.stderr), result.stderr


def test_the_drift_check_reads_firestore_and_can_write_nothing() -> None:
    resources = terraform_resources()
    drift = "serviceAccount:${google_service_account.drift_check[0].email}"
    scheduler = "serviceAccount:${google_service_account.drift_scheduler[0].email}"
    grants = {
        (kind, name, body.get("role")): body
        for (kind, name), body in resources.items()
        if kind.endswith("_iam_member") and body.get("member") in (drift, scheduler)
    }

    assert set(grants) == {
        ("google_project_iam_member", "drift_check_reads_firestore", "roles/datastore.viewer"),
        (
            "google_cloud_run_v2_service_iam_member",
            "scheduler_invokes_drift_check",
            "roles/run.invoker",
        ),
    }
    read = grants[
        ("google_project_iam_member", "drift_check_reads_firestore", "roles/datastore.viewer")
    ]
    assert read["member"] == drift
    assert read["condition"][0]["expression"] == "${local.database_condition}"
    invoke = grants[
        (
            "google_cloud_run_v2_service_iam_member",
            "scheduler_invokes_drift_check",
            "roles/run.invoker",
        )
    ]
    assert invoke["member"] == scheduler
    assert "google_cloudfunctions2_function.drift_check[0]" in invoke["name"]
    function = resources[("google_cloudfunctions2_function", "drift_check")]
    assert function["service_config"][0]["ingress_settings"] == "${local.drift_settings.ingress}"
    assert function["service_config"][0]["service_account_email"] == (
        "${google_service_account.drift_check[0].email}"
    )
    source = function["build_config"][0]["source"][0]["storage_source"][0]
    main = resources[("google_cloudfunctions2_function", "main")]
    assert source == main["build_config"][0]["source"][0]["storage_source"][0]  # same upload
    assert "secret_environment_variables" not in function["service_config"][0]  # no pepper


def test_each_alert_counts_lines_the_drift_check_writes() -> None:
    text = (INFRA / "drift_check.tf").read_text(encoding="utf-8")
    job = (ROOT / "drift_check" / "job.py").read_text(encoding="utf-8")
    resources = terraform_resources()

    alerting = sorted(kind for kind, (_, alert) in FINDING_KINDS.items() if alert)
    assert alerting == ["below_cost", "endpoint_unrecorded", "max_price_above_charge",
                        "max_price_refuses", "past_shutdown", "price_change_not_seeded",
                        "price_expired", "price_expiring", "upstream_renamed"]  # fmt: skip
    for kind in alerting:  # an acknowledged finding is logged with alert false: not counted
        assert f'jsonPayload.drift_finding=\\"{kind}\\" AND jsonPayload.alert=true' in text, kind
    assert '"drift_finding": finding.kind' in job
    assert 'jsonPayload.drift_check=\\"incomplete\\"' in text
    assert '"drift_check": state' in job and '"incomplete"' in job
    metrics = resources[("google_logging_metric", "drift")]
    alerts = resources[("google_monitoring_alert_policy", "drift")]
    assert "var.enable_log_metrics" in metrics["for_each"]
    assert "local.alerts_on_logs" in alerts["for_each"]
    assert "var.enable_drift_check" in metrics["for_each"] + alerts["for_each"]
    assert alerts["notification_channels"] == "${local.notification_channels}"
    assert "resource.labels.service_name" in text and "local.drift_names.function_name" in text


def test_public_access_never_reaches_the_drift_check() -> None:
    """Only the scheduler's account may invoke the drift check: every IAM resource or invoker
    switch that names its service is the scheduler's grant, and what public_access controls
    names the service's function only."""
    resources = terraform_resources()
    drift_service = "google_cloudfunctions2_function.drift_check"
    naming_drift = {
        (kind, name)
        for (kind, name), body in resources.items()
        if (
            kind.endswith(("_iam_member", "_iam_binding", "_iam_policy"))
            or kind == "terraform_data"
        )
        and drift_service in repr(body)
    }

    assert naming_drift == {
        ("google_cloud_run_v2_service_iam_member", "scheduler_invokes_drift_check")
    }
    public = resources[("google_cloud_run_v2_service_iam_member", "public_invoker")]
    check_off = resources[("terraform_data", "invoker_check_disabled")]
    for body in (public, check_off):
        assert "google_cloudfunctions2_function.main" in repr(body)
        assert drift_service not in repr(body)
    assert "public_access" not in (INFRA / "drift_check.tf").read_text(encoding="utf-8")


def test_the_drift_check_cannot_read_the_api_keys_database() -> None:
    read = terraform_resources()[("google_project_iam_member", "drift_check_reads_firestore")]
    iam = (INFRA / "iam.tf").read_text(encoding="utf-8")

    assert read["condition"][0]["expression"] == "${local.database_condition}"
    assert re.search(r"database_condition\s+= .*databases/\$\{var\.firestore_database_id\}", iam), (
        "the condition must name the catalog database"
    )
    assert "api_keys" not in repr(read)
    function = terraform_resources()[("google_cloudfunctions2_function", "drift_check")]
    assert "API_KEYS_DATABASE" not in (INFRA / "drift_check_settings.tf").read_text()
    assert "pepper" not in repr(function["service_config"])


def test_the_scheduler_job_signs_its_calls_for_the_function_it_calls() -> None:
    job = terraform_resources()[("google_cloud_scheduler_job", "drift_check")]
    target = job["http_target"][0]

    assert target["http_method"] == "POST"
    assert target["oidc_token"][0]["audience"] == target["uri"]
    assert "google_cloudfunctions2_function.drift_check[0].service_config[0].uri" in target["uri"]
    assert "google_cloud_run_v2_service_iam_member.scheduler_invokes_drift_check" in str(
        job["depends_on"]
    )


def test_the_readme_operating_section_explains_each_drift_alert() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    docs = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    text = readme + docs
    for metric in (
        "drift_below_cost",
        "drift_past_shutdown",
        "drift_price_expiring",
        "drift_price_expired",
        "drift_check_incomplete",
    ):
        assert metric in text, metric
    assert Path(INFRA / "README.md").read_text(encoding="utf-8").count("drift") > 5
