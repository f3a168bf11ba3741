"""Deploying into a live Firebase project harms nothing it already has.

Checked on the HCL (python-hcl2), against the provider 6.50.0 schema, and by real Terraform
evaluating the provider-free files offline: existing rules are left alone or merged into, an
adopted database is abandoned on destroy, public access works with or without domain-restricted
sharing, alerts wait for their log-based metrics, every resource that takes labels has them,
the client-address hops follow the ingress, and the state is remote with a committed lock.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.provider_schema import PROVIDER_VERSION, load_schema
from tests.infra.terraform_eval import ENV, INFRA, Scratch, terraform
from tests.infra.terraform_files import terraform_documents, terraform_resources
from tests.infra.test_firestore_rules import applying, parse


def _variables() -> dict[str, dict[str, Any]]:
    return {
        name: body
        for _, document in terraform_documents()
        for block in document.get("variable", [])
        for name, body in block.items()
    }


# --- labels -------------------------------------------------------------------------------


def test_every_resource_that_takes_labels_has_them() -> None:
    schema = load_schema()["resource"]
    checked = 0
    for (kind, name), body in terraform_resources().items():
        if not kind.startswith("google_"):
            continue
        attributes = schema[kind]["attributes"]
        label_argument = "user_labels" if "user_labels" in attributes else "labels"
        if label_argument not in attributes:
            continue
        checked += 1
        assert body.get(label_argument) == "${var.labels}", f"{kind}.{name}: {label_argument}"
    assert checked >= 10
    dashboard = terraform_resources()[("google_monitoring_dashboard", "service")]
    assert re.search(r"\n\s+labels\s+= var\.labels\n", (INFRA / "monitoring.tf").read_text())
    assert "dashboard_json" in dashboard


# --- adopting an existing project ----------------------------------------------------------


def test_an_adopted_database_is_never_deleted_or_changed() -> None:
    database = terraform_resources()[("google_firestore_database", "main")]

    assert database["deletion_policy"] == (
        '${var.adopt_existing_firestore_database || var.deletion_protection ? "ABANDON" : "DELETE"}'
    )
    ignored = {
        i.removeprefix("${").removesuffix("}") for i in database["lifecycle"][0]["ignore_changes"]
    }
    assert {
        "location_id",
        "point_in_time_recovery_enablement",
        "delete_protection_state",
    } <= ignored


def test_existing_rules_are_left_alone_unless_asked() -> None:
    variables = _variables()
    rules = (INFRA / "firestore.tf").read_text(encoding="utf-8")

    assert variables["manage_firestore_rules"]["default"] is False
    assert variables["firestore_rules_base_file"]["default"] == ""
    assert (
        "var.manage_firestore_rules ? { (local.catalog_release_name) = local.catalog_rules }"
        in (rules)
    )
    # The API keys database is ours alone: it always gets the deny-all file.
    assert "{ (local.api_keys_release_name) = local.standalone_rules }" in rules


def test_the_pepper_versions_and_secret_survive_a_destroy_by_default() -> None:
    resources = terraform_resources()

    assert resources[("google_secret_manager_secret_version", "pepper")]["deletion_policy"] == (
        "ABANDON"
    )
    assert resources[("google_secret_manager_secret", "pepper")]["deletion_protection"] == (
        "${var.deletion_protection}"
    )
    assert _variables()["deletion_protection"]["default"] is True


# --- rules merge, evaluated by real Terraform ------------------------------------------------

WEB_APP_RULES = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /users/{userId} {
      allow read, write: if request.auth != null && request.auth.uid == userId;
    }
    match /posts/{postId} {
      allow read: if true;
    }
  }
}
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    directory = tmp_path_factory.mktemp("rules")
    scratch = Scratch(
        directory,
        ("variables.tf", "firestore_rules.tf"),
        {"catalog_rules": "local.catalog_rules", "problems": "local.rules_merge_problems"},
    )
    (scratch.module / "firestore_rules").mkdir()
    for name in ("firestore.rules", "firestore_rules/service_collections.rules"):
        (scratch.module / name).write_text((INFRA / name).read_text(encoding="utf-8"))
    return scratch


def _merge(rules: Scratch, base: str, tmp_path: Path) -> dict[str, Any]:
    """Terraform's merge, checked against deploy.sh's (infra/gcloud/merge_firestore_rules.py)."""
    path = tmp_path / "web-app.rules"
    path.write_text(base, encoding="utf-8")
    merged = rules.outputs({"firestore_rules_base_file": str(path)})
    script = subprocess.run(
        [
            sys.executable,
            str(INFRA / "gcloud" / "merge_firestore_rules.py"),
            str(path),
            str(INFRA / "firestore_rules" / "service_collections.rules"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if merged["problems"]:
        assert script.returncode == 1
        assert script.stderr.strip().endswith("; ".join(merged["problems"]))
    else:
        assert script.returncode == 0, script.stderr
        assert script.stdout == merged["catalog_rules"]
    return merged


def test_the_projects_rules_are_merged_not_swapped(rules: Scratch, tmp_path: Path) -> None:
    merged = _merge(rules, WEB_APP_RULES, tmp_path)
    allows = parse(merged["catalog_rules"])

    assert merged["problems"] == []
    service_block = (INFRA / "firestore_rules" / "service_collections.rules").read_text()
    # Every line of the project's file is kept, in order, and the service's block is added.
    assert merged["catalog_rules"].replace(service_block, "") == WEB_APP_RULES
    for document in (
        "models/gpt-4o",
        "api_keys/k1",
        "api_keys_index/head",
        "api_keys_changes/00.1",
        "models/a/b/c",
    ):
        found = applying(allows, document)
        assert found and all(a.condition == "false" for a in found), document
    assert [a.condition for a in applying(allows, "posts/p1")] == ["true"]
    assert "request.auth.uid == userId" in applying(allows, "users/u1")[0].condition


@pytest.mark.parametrize(
    ("base", "problem"),
    [
        (WEB_APP_RULES.replace("/posts/{postId}", "/{document=**}"), "wildcard first segment"),
        (WEB_APP_RULES.replace("/posts/{postId}", "/{collection}/{id}"), "wildcard first segment"),
        (WEB_APP_RULES.replace("/posts/", "/api_keys/"), "rules for the service's collections"),
        (WEB_APP_RULES.replace("match /databases/{database}/documents {", ""), "exactly one"),
    ],
)
def test_a_base_file_that_could_open_the_services_collections_is_refused(
    rules: Scratch, tmp_path: Path, base: str, problem: str
) -> None:
    merged = _merge(rules, base, tmp_path)

    assert any(problem in p for p in merged["problems"]), merged["problems"]
    assert "length(local.rules_merge_problems) == 0" in (INFRA / "firestore.tf").read_text()


def test_without_a_base_file_the_standalone_deny_all_file_is_used(rules: Scratch) -> None:
    result = rules.outputs({})

    assert result["catalog_rules"] == (INFRA / "firestore.rules").read_text(encoding="utf-8")
    assert result["problems"] == []


def test_the_standalone_file_carries_the_service_block_verbatim() -> None:
    standalone = (INFRA / "firestore.rules").read_text(encoding="utf-8")
    block = (INFRA / "firestore_rules" / "service_collections.rules").read_text(encoding="utf-8")

    assert block in standalone


# --- public access -------------------------------------------------------------------------


def test_public_access_is_a_choice_with_no_silent_default() -> None:
    variable = _variables()["public_access"]
    resources = terraform_resources()
    binding = resources[("google_cloud_run_v2_service_iam_member", "public_invoker")]
    no_check = resources[("terraform_data", "invoker_check_disabled")]
    (create,) = no_check["provisioner"]

    assert "default" not in variable
    assert binding["count"] == '${var.public_access == "all_users" ? 1 : 0}'
    assert no_check["count"] == '${var.public_access == "invoker_check_disabled" ? 1 : 0}'
    assert create["local-exec"]["command"] == "${path.module}/gcloud/invoker_check.sh"
    assert create["local-exec"]["environment"]["CHECK"] == "off"
    assert "--no-invoker-iam-check" in (INFRA / "gcloud" / "invoker_check.sh").read_text()
    # No destroy-time undo: it would also run on every replacement and close the service.
    assert "when" not in create["local-exec"]
    schema = load_schema()["resource"]
    # Where the setting lives in provider 6.50.0: only on a Cloud Run service resource.
    assert (
        "invoker_iam_disabled"
        not in schema["google_cloudfunctions2_function"]["blocks"]["service_config"]["block"][
            "attributes"
        ]
    )
    assert "invoker_iam_disabled" in schema["google_cloud_run_v2_service"]["attributes"]
    assert load_schema()["provider_version"] == PROVIDER_VERSION


# --- monitoring ----------------------------------------------------------------------------


def test_alerts_on_log_based_metrics_wait_until_the_metrics_are_usable() -> None:
    resources = terraform_resources()
    sleep = resources[("time_sleep", "log_metrics_usable")]
    on_logs = [
        (name, body)
        for (kind, name), body in resources.items()
        if kind == "google_monitoring_alert_policy" and "logging.googleapis.com/user/" in repr(body)
    ]

    assert sleep["create_duration"] == "${var.alert_policy_wait}"
    # Re-armed when any log-based metric is added: the service's or the drift check's.
    assert "google_logging_metric.service" in sleep["triggers"]["metrics"]
    assert "google_logging_metric.drift" in sleep["triggers"]["metrics"]
    assert {"stale_catalog", "auth_failures", "drift"} <= {name for name, _ in on_logs}
    for name, body in on_logs:
        assert "${time_sleep.log_metrics_usable}" in body["depends_on"], name


def test_alert_notification_is_asked_for() -> None:
    variables = _variables()

    assert "default" not in variables["notification_channels"]
    assert "default" not in variables["alert_email"]


# --- state ---------------------------------------------------------------------------------


def test_state_is_remote_and_the_providers_are_locked() -> None:
    versions = (INFRA / "versions.tf").read_text(encoding="utf-8")
    lock = (INFRA / ".terraform.lock.hcl").read_text(encoding="utf-8")
    google = re.search(
        r'provider "registry.terraform.io/hashicorp/google" \{(.*?)\n\}', lock, re.DOTALL
    )

    assert re.search(r'backend "gcs" \{\s*prefix\s*=\s*"[\w-]+"\s*\}', versions)
    assert google, "the lock must pin the google provider"
    assert f'version     = "{PROVIDER_VERSION}"' in google.group(1)
    hashes = re.findall(r'"((?:zh|h1):[^"]+)"', lock)
    assert len(hashes) >= 4 * 12
    assert all(re.fullmatch(r"zh:[0-9a-f]{64}|h1:[A-Za-z0-9+/]{43}=", h) for h in hashes)


def test_terraform_accepts_the_lock_for_every_provider_versions_tf_requires(
    tmp_path: Path,
) -> None:
    """Real Terraform reads the lock against versions.tf's constraints. Providers are looked
    for in an empty local mirror only, so nothing is downloaded; what is checked is the lock."""
    for name in ("versions.tf", ".terraform.lock.hcl"):
        (tmp_path / name).write_text((INFRA / name).read_text(encoding="utf-8"))
    (tmp_path / "mirror").mkdir()
    (tmp_path / "cli.tfrc").write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{tmp_path / "mirror"}"\n'
        "  }\n}\n"
    )
    result = subprocess.run(
        [terraform(), f"-chdir={tmp_path}", "init", "-backend=false", "-input=false", "-no-color"],
        capture_output=True,
        text=True,
        env={**ENV, "TF_CLI_CONFIG_FILE": str(tmp_path / "cli.tfrc")},
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr

    required = set(re.findall(r'source\s*=\s*"hashicorp/(\w+)"', versions_text()))
    assert required == {"google", "random", "archive", "time"}
    for provider in required:
        assert f"Reusing previous version of hashicorp/{provider} from the dependency lock" in (
            output
        ), output
    assert "does not match configured version constraint" not in output
    assert "lock file" not in output.split("Initializing provider plugins...")[0]


def versions_text() -> str:
    return (INFRA / "versions.tf").read_text(encoding="utf-8")


# --- client addresses ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    return Scratch(
        tmp_path_factory.mktemp("hops"),
        ("variables.tf", "settings.tf"),
        {"environment": "local.environment"},
    )


@pytest.mark.parametrize(
    ("variables", "hops"),
    [
        ({}, "1"),
        ({"ingress": "ALLOW_INTERNAL_ONLY"}, "1"),
        ({"ingress": "ALLOW_INTERNAL_AND_GCLB"}, "2"),
        ({"ingress": "ALLOW_INTERNAL_AND_GCLB", "trusted_proxy_hops": 3}, "3"),
        ({"trusted_proxy_hops": 0}, "0"),
    ],
)
def test_trusted_proxy_hops_follow_the_ingress_unless_set(
    settings: Scratch, variables: dict[str, Any], hops: str
) -> None:
    environment = settings.outputs(variables)["environment"]

    assert environment["TRUSTED_PROXY_HOPS"] == hops
