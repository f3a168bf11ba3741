"""Both deployment paths create the catalog_refused log metric with the same filter, and an
alert on it (infra/monitoring.tf, infra/gcloud/deploy.sh)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess

from tests.infra.terraform_eval import INFRA
from tests.infra.terraform_files import terraform_document


def _monitoring() -> dict[str, object]:
    return terraform_document("monitoring.tf")


def _terraform_filter(project: str, function: str) -> str:
    locals_ = {k: v for block in _monitoring()["locals"] for k, v in block.items()}  # type: ignore[attr-defined]
    template = locals_["log_metrics"]["catalog_refused"]["filter"]
    values = {
        "var.project_id": project,
        "var.function_name": function,
        "local.run_resource": locals_["run_resource"],
        "local.service_logs": locals_["service_logs"],
    }
    for _ in range(3):  # locals name locals
        template = re.sub(r"\$\{([a-z_.]+)\}", lambda m: values[m.group(1)], template)
    return str(template).replace('\\"', '"')


def test_the_catalog_refused_metric_and_alert_exist_on_both_paths() -> None:
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
    commands = [
        shlex.split(line[2:]) for line in result.stdout.splitlines() if line.startswith("+ ")
    ]
    (metric,) = [c for c in commands if c[:4] == ["gcloud", "logging", "metrics", "create"]]
    log_filter = next(arg.split("=", 1)[1] for arg in metric if arg.startswith("--log-filter="))
    alerts = [
        c for c in commands if c[:5] == ["gcloud", "alpha", "monitoring", "policies", "create"]
    ]

    assert metric[4] == "models/catalog_refused"
    assert log_filter == _terraform_filter("my-project-1", "models")
    assert 'severity=ERROR AND jsonPayload.message=~"^catalog refused"' in log_filter
    assert len(alerts) == 1
    policies = {
        name
        for block in _monitoring()["resource"]  # type: ignore[attr-defined]
        for name in block.get("google_monitoring_alert_policy", {})
    }
    assert "catalog_refused" in policies
