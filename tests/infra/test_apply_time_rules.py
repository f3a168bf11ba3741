"""Google's apply-time rules are variable validations, evaluated here by real Terraform.

Each case runs `terraform apply` on a scratch module made of infra/variables.tf and
infra/settings.tf (no provider, no resource): a bad value must fail with the validation's
message, a good one must pass, and every name derived from valid inputs must satisfy the rule
Google enforces on it (checked at the longest and shortest inputs the variables allow).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.infra.terraform_eval import Scratch


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    return Scratch(
        tmp_path_factory.mktemp("variables"),
        ("variables.tf", "settings.tf"),
        {"names": "local.names", "name_prefix": "local.name_prefix"},
    )


BAD = [
    ({"project_id": "abc"}, "project_id: 6-30"),
    ({"project_id": "my-project-with-a-very-long-id-x"}, "project_id: 6-30"),
    ({"project_id": "1-project"}, "project_id: 6-30"),
    ({"region": "US"}, "region must be"),
    ({"firestore_location": "us"}, "firestore_location must be"),
    ({"firestore_database_id": "db"}, "firestore_database_id must be"),
    ({"firestore_database_id": "My-db"}, "firestore_database_id must be"),
    ({"function_name": "Models"}, "function_name: 1-49"),
    ({"function_name": "models-"}, "function_name: 1-49"),
    ({"function_name": "a" * 50, "name_prefix": "svc"}, "function_name: 1-49"),
    # 25 characters: "<name>-build" would be 31 > 30 (the bug of the old module, above 22).
    ({"function_name": "a" * 25}, "must be 2-24 lowercase"),
    ({"function_name": "catalog", "name_prefix": "a"}, "must be 2-24 lowercase"),
    ({"name_prefix": "a" * 25}, "must be 2-24 lowercase"),
    ({"cpu": "3"}, "cpu must be"),
    ({"cpu": "4"}, "memory does not fit cpu"),  # with the default 512Mi
    ({"cpu": "4", "memory": "1Gi"}, "memory does not fit cpu"),
    ({"cpu": "1", "memory": "8Gi"}, "memory does not fit cpu"),
    ({"cpu": "2", "memory": "9Gi"}, "memory does not fit cpu"),
    ({"cpu": "8", "memory": "2Gi"}, "memory does not fit cpu"),
    ({"memory": "512MB"}, "memory must be a whole number"),
    ({"memory": "0Mi"}, "memory must be a whole number"),
    ({"min_instances": 30}, "min_instances must be"),
    ({"max_instances": 0, "min_instances": 0}, "max_instances must be"),
    ({"concurrency": 1001}, "concurrency must be"),
    ({"timeout_seconds": 3601}, "timeout_seconds must be"),
    ({"backend_timeout_seconds": 10}, "backend_timeout_seconds must be"),
    ({"api_key_refresh_seconds": 31}, "api_key_refresh_seconds must be"),
    ({"catalog_cache_ttl_seconds": 0}, "catalog_cache_ttl_seconds must be"),
    ({"cors_allowed_origins": ["https://app.example.com/"]}, "cors_allowed_origins"),
    ({"pepper_version": 0}, "pepper_version must be"),
    ({"labels": {"Service": "x"}}, "labels: keys"),
    ({"deployer_members": ["alice@example.com"]}, "deployer_members"),
    ({"key_admins": ["bob"]}, "key_admins"),
    ({"notification_channels": ["123"]}, "notification_channels"),
    ({"app_check_web_app_id": "1:123:web:abc"}, "app_check_domains must list"),
    ({"app_check_web_app_id": "web-app"}, "app_check_web_app_id must be"),
    ({"app_check_token_ttl": "60s"}, "app_check_token_ttl must be"),
    ({"app_check_token_ttl": "1h"}, "app_check_token_ttl must be"),
    ({"iam_propagation_wait": "soon"}, "iam_propagation_wait must be"),
    ({"image_keep_count": 0}, "image_keep_count must be"),
    ({"public_access": "public"}, "public_access must be"),
    ({"trusted_proxy_hops": 11}, "trusted_proxy_hops must be"),
    ({"trusted_proxy_hops": 1.5}, "trusted_proxy_hops must be"),
    ({"pepper_version": 2, "previous_pepper_version": 2}, "previous_pepper_version must be"),
    # A rotation that keeps no previous version: every existing key would get 401.
    ({"pepper_version": 2}, "Every pepper version below pepper_version"),
    ({"drift_check_timeout_seconds": 1780}, "drift_check_timeout_seconds must be"),
    ({"pepper_version": 3, "previous_pepper_version": 2}, "Every pepper version below"),
    (
        {
            "pepper_version": 2,
            "previous_pepper_version": 1,
            "pepper_retirement_accepts_live_keys": [1],
        },
        "pepper_retirement_accepts_live_keys",
    ),
    ({"pepper_version": 2, "previous_pepper_version": 3}, "previous_pepper_version must be"),
    ({"pepper_version": 3, "retired_pepper_versions": [3]}, "retired_pepper_versions"),
    (
        {"pepper_version": 3, "previous_pepper_version": 2, "retired_pepper_versions": [2]},
        "retired_pepper_versions",
    ),
    ({"api_keys_database_id": "(default)"}, "api_keys_database_id must be"),
    (
        {"firestore_database_id": "catalog-db", "api_keys_database_id": "catalog-db"},
        "api_keys_database_id must be",
    ),
    ({"alert_policy_wait": "later"}, "alert_policy_wait must be"),
    ({"notification_channels": ["projects/p/alertPolicies/1"]}, "notification_channels"),
]

GOOD: list[dict[str, Any]] = [
    {},
    {"cpu": "4", "memory": "2Gi"},
    {"cpu": "2", "memory": "8Gi"},
    {"cpu": "8", "memory": "32Gi"},
    {"cpu": "1", "memory": "128Mi"},
    {"function_name": "a" * 49, "name_prefix": "ab"},
    {"function_name": "a" * 24},
    {"firestore_database_id": "catalog-db", "firestore_location": "europe-west1"},
    {"cors_allowed_origins": ["https://app.example.com", "http://localhost:5173"]},
    {"app_check_web_app_id": "1:123456:web:abc123", "app_check_domains": ["app.example.com"]},
    {"deployer_members": ["serviceAccount:ci@p.iam.gserviceaccount.com"]},
    {"min_instances": 0, "max_instances": 1, "timeout_seconds": 3600},
    {"pepper_version": 3, "previous_pepper_version": 2, "retired_pepper_versions": [1]},
    {"pepper_version": 2, "retired_pepper_versions": [1]},  # the retirement apply
    {"public_access": "invoker_check_disabled", "trusted_proxy_hops": 0},
    {"public_access": "none", "alert_email": "oncall@example.com"},
]


@pytest.mark.parametrize(("variables", "message"), BAD, ids=[str(v) for v, _ in BAD])
def test_values_google_rejects_fail_at_plan(
    scratch: Scratch, variables: dict[str, Any], message: str
) -> None:
    result = scratch.apply(variables)

    assert result.returncode != 0, f"{variables} was accepted"
    assert message in re.sub(r"\s+", " ", result.stderr), result.stderr


@pytest.mark.parametrize("variables", GOOD, ids=[str(v) for v in GOOD])
def test_values_google_accepts_pass(scratch: Scratch, variables: dict[str, Any]) -> None:
    result = scratch.apply(variables)

    assert result.returncode == 0, result.stderr


SERVICE_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")  # 6-30
BUCKET = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")  # 3-63 without dots
SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
LOG_METRIC = re.compile(r"^[A-Za-z0-9_.,+!*'()%-][A-Za-z0-9_.,+!*'()%/-]{0,99}$")
LOG_METRIC_KEYS = ["auth_failures", "stale_catalog_served", "backend_unavailable"]

EXTREMES = [
    {},
    {"project_id": "a" * 30, "function_name": "b" * 24},
    {"project_id": "a" * 30, "function_name": "b" * 49, "name_prefix": "c" * 24},
    {"project_id": "abcdef", "function_name": "b", "name_prefix": "cd"},
    {"project_id": "abcdef", "function_name": "bc"},
]


@pytest.mark.parametrize("variables", EXTREMES, ids=[str(v) for v in EXTREMES])
def test_every_derived_name_obeys_googles_rule(scratch: Scratch, variables: dict[str, Any]) -> None:
    names = scratch.outputs(variables)["names"]
    function_name = variables.get("function_name", "models")

    assert SERVICE_ACCOUNT_ID.match(names["runtime_account_id"]), names
    assert SERVICE_ACCOUNT_ID.match(names["build_account_id"]), names
    assert BUCKET.match(names["source_bucket"]), names
    assert "google" not in names["source_bucket"] and not names["source_bucket"].startswith("goog")
    assert SECRET_ID.match(names["pepper_secret_id"]), names
    assert REPOSITORY_ID.match(names["repository_id"]), names
    for key in LOG_METRIC_KEYS + ["requests_by_auth", "pepper_reads"]:
        assert LOG_METRIC.match(f"{function_name}/{key}")


def test_the_log_metric_keys_checked_are_the_modules(scratch: Scratch) -> None:
    monitoring = (Path(__file__).resolve().parents[2] / "infra" / "monitoring.tf").read_text()

    for key in LOG_METRIC_KEYS + ["requests_by_auth", "pepper_reads"]:
        assert f"    {key} = {{" in monitoring
