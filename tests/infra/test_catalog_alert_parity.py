"""Both deployment paths create the refusal log metrics (catalog_refused, key_index_refused)
with the same filter, and an alert on each (infra/monitoring.tf, infra/gcloud/deploy.sh)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess

import pytest

from tests.infra.terraform_eval import INFRA
from tests.infra.terraform_files import terraform_document

# metric -> the start of the ERROR line the service writes when it refuses a read
REFUSAL_METRICS = {
    "catalog_refused": "catalog refused",
    "key_index_refused": "api key index refused",
}


def _monitoring() -> dict[str, object]:
    return terraform_document("monitoring.tf")


def _terraform_filter(metric: str, project: str, function: str) -> str:
    locals_ = {k: v for block in _monitoring()["locals"] for k, v in block.items()}  # type: ignore[attr-defined]
    template = locals_["log_metrics"][metric]["filter"]
    values = {
        "var.project_id": project,
        "var.function_name": function,
        "local.run_resource": locals_["run_resource"],
        "local.service_logs": locals_["service_logs"],
    }
    for _ in range(3):  # locals name locals
        template = re.sub(r"\$\{([a-z_.]+)\}", lambda m: values[m.group(1)], template)
    return str(template).replace('\\"', '"')


@pytest.fixture(scope="module")
def deploy_commands() -> list[list[str]]:
    result = subprocess.run(
        ["bash", str(INFRA / "gcloud" / "deploy.sh")],
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ["PATH"],
            "DRY_RUN": "1",
            "PROJECT": "my-project-1",
            "PROJECT_NUMBER": "123456789012",
            "ADOPT_EXISTING_FIRESTORE_DATABASE": "true",
            "PUBLIC_ACCESS": "all_users",
        },
        timeout=60,
        check=True,
    )
    return [shlex.split(line[2:]) for line in result.stdout.splitlines() if line.startswith("+ ")]


def test_each_refusal_has_one_metric_and_one_alert_on_the_gcloud_path(
    deploy_commands: list[list[str]],
) -> None:
    metric_create = ["gcloud", "logging", "metrics", "create"]
    policy_create = ["gcloud", "alpha", "monitoring", "policies", "create"]
    metrics = [c[4] for c in deploy_commands if c[:4] == metric_create]
    alerts = [c for c in deploy_commands if c[:5] == policy_create]

    assert sorted(metrics) == sorted(f"models/{name}" for name in REFUSAL_METRICS)
    assert len(alerts) == len(REFUSAL_METRICS)


@pytest.mark.parametrize(("metric", "message"), REFUSAL_METRICS.items())
def test_the_refusal_metric_and_alert_exist_on_both_paths(
    deploy_commands: list[list[str]], metric: str, message: str
) -> None:
    (created,) = [
        c
        for c in deploy_commands
        if c[:4] == ["gcloud", "logging", "metrics", "create"] and c[4] == f"models/{metric}"
    ]
    log_filter = next(arg.split("=", 1)[1] for arg in created if arg.startswith("--log-filter="))
    policies = {
        name
        for block in _monitoring()["resource"]  # type: ignore[attr-defined]
        for name in block.get("google_monitoring_alert_policy", {})
    }

    assert log_filter == _terraform_filter(metric, "my-project-1", "models")
    assert f'severity=ERROR AND jsonPayload.message=~"^{message}"' in log_filter
    assert metric in policies
