"""infra/ checked offline: fmt, checkov, trivy, and what the scanners do not look at (python-hcl2).

`terraform init/validate` need the Google provider, which cannot be downloaded here.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.terraform_files import terraform_document, terraform_resources

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TOOLS = ROOT / ".venv-tools" / "bin"
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
TOOL_ENV = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"}


@functools.cache
def _all() -> dict[str, Any]:
    merged: dict[str, list[Any]] = {}
    for path in sorted(INFRA.glob("*.tf")):
        for key, value in terraform_document(path.name).items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
    return merged


@functools.cache
def _resources() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for block in _all().get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                found.append((kind, name, body))
    return found


def _locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in _all().get("locals", []):
        merged.update({k: v for k, v in block.items() if k != "__comments__"})
    return merged


def _roles_of(body: dict[str, Any]) -> list[str]:
    """The role(s) a binding grants, resolving `for_each = toset(local.x)` + `each.value`."""
    role = body.get("role", "")
    if role == "${each.value}":
        match = re.fullmatch(r"\$\{toset\(local\.(\w+)\)\}", body.get("for_each", ""))
        assert match, f"cannot resolve for_each of a role binding: {body}"
        return list(_locals()[match.group(1)])
    return [role]


IAM_KINDS = re.compile(r"^google_.*_iam_(member|binding|policy)$")


def _iam_bindings() -> list[tuple[str, str, str, str]]:
    """(kind, name, role, member) for every IAM resource in the module."""
    bindings = []
    for kind, name, body in _resources():
        if not IAM_KINDS.match(kind):
            continue
        members = body.get("members") or [body.get("member", "")]
        for role in _roles_of(body):
            for member in members:
                bindings.append((kind, name, role, member))
    return bindings


def _terraform() -> list[str]:
    binary = shutil.which("terraform")
    if binary:
        return [binary]
    fallback = TOOLS / "terraform"
    assert fallback.exists(), "terraform is not on PATH and .venv-tools has no fallback"
    return [str(fallback)]


def test_terraform_fmt_check() -> None:
    result = subprocess.run(
        [*_terraform(), "fmt", "-check", "-recursive", "-diff", str(INFRA)],
        capture_output=True,
        text=True,
        env=TOOL_ENV,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing_unjustified() -> None:
    result = subprocess.run(
        [
            str(TOOLS / "checkov"),
            "-d",
            str(INFRA),
            "--framework",
            "terraform",
            "--skip-download",
            "--compact",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=TOOL_ENV,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout


def test_trivy_finds_nothing_unjustified() -> None:
    result = subprocess.run(
        [
            str(TOOLS / "trivy"),
            "config",
            "--skip-check-update",
            "--skip-version-check",
            "--exit-code",
            "1",
            str(INFRA),
        ],
        capture_output=True,
        text=True,
        env=TOOL_ENV,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_scanner_skip_is_justified() -> None:
    for path in INFRA.glob("*.tf"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if "checkov:skip=" in line:
                assert re.search(r"checkov:skip=CKV\w*_\d+:\s*\S.{20,}", line), (path, line)
            if "trivy:ignore:" in line:
                previous = lines[number - 1].strip()
                assert previous.startswith("#") and len(previous) > 30, (path, line)


def test_no_primitive_roles_anywhere() -> None:
    granted = {role for _, _, role, _ in _iam_bindings()}
    text = "\n".join(p.read_text(encoding="utf-8") for p in INFRA.glob("*.tf"))

    assert not granted & PRIMITIVE_ROLES
    assert not re.search(r'roles/(owner|editor|viewer)"', text)


def test_only_the_documented_invoker_binding_is_public() -> None:
    public = [(k, n, r) for k, n, r, m in _iam_bindings() if m in PUBLIC_MEMBERS]

    assert public == [
        ("google_cloud_run_v2_service_iam_member", "public_invoker", "roles/run.invoker")
    ]


def test_the_runtime_account_reads_firestore_and_one_secret_and_nothing_else() -> None:
    runtime = "serviceAccount:${google_service_account.runtime.email}"
    grants = {
        (kind, name, role) for kind, name, role, member in _iam_bindings() if member == runtime
    }

    assert grants == {
        ("google_project_iam_member", "runtime_reads_firestore", "roles/datastore.viewer"),
        ("google_project_iam_member", "runtime_reads_api_keys", "roles/datastore.viewer"),
        (
            "google_secret_manager_secret_iam_member",
            "runtime_reads_pepper",
            "roles/secretmanager.secretAccessor",
        ),
    }
    bodies = {(kind, name): body for kind, name, body in _resources()}
    firestore = bodies[("google_project_iam_member", "runtime_reads_firestore")]
    assert firestore["condition"][0]["expression"] == "${local.database_condition}"
    condition = _iam_locals()["database_condition"]
    assert "databases/${var.firestore_database_id}" in condition
    keys = bodies[("google_project_iam_member", "runtime_reads_api_keys")]
    assert keys["condition"][0]["expression"] == "${local.api_keys_database_condition}"
    assert "databases/${var.api_keys_database_id}" in _iam_locals()["api_keys_database_condition"]
    pepper = bodies[("google_secret_manager_secret_iam_member", "runtime_reads_pepper")]
    assert pepper["secret_id"] == "${google_secret_manager_secret.pepper.secret_id}"


def _iam_locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in terraform_document("iam.tf")["locals"]:
        merged.update(block)
    return merged


# Roles that have no narrower scope than the project for what the service needs.
PROJECT_ONLY_ROLES = {"roles/logging.logWriter"}
PROJECT_KINDS = {
    "google_project_iam_member",
    "google_project_iam_binding",
    "google_project_iam_policy",
}


def test_no_project_wide_grant_where_a_resource_scoped_one_exists() -> None:
    resource_scoped = {role for kind, _, role, _ in _iam_bindings() if kind not in PROJECT_KINDS}
    bodies = {(kind, name): body for kind, name, body in _resources()}

    for kind, name, role, _ in _iam_bindings():
        if kind not in PROJECT_KINDS:
            continue
        assert role not in resource_scoped, (name, role)
        conditioned = bool(bodies[(kind, name)].get("condition"))
        assert conditioned or role in PROJECT_ONLY_ROLES, f"{name}: project-wide {role}"


def test_the_build_account_gets_logs_source_read_and_image_push_only() -> None:
    build = "serviceAccount:${google_service_account.build.email}"
    grants = {(kind, name, role) for kind, name, role, member in _iam_bindings() if member == build}
    bodies = {(kind, name): body for kind, name, body in _resources()}

    assert grants == {
        ("google_project_iam_member", "build", "roles/logging.logWriter"),
        ("google_project_iam_member", "build_reads_function_sources", "roles/storage.objectAdmin"),
        (
            "google_artifact_registry_repository_iam_member",
            "build_pushes_images",
            "roles/artifactregistry.writer",
        ),
    }
    expression = bodies[("google_project_iam_member", "build_reads_function_sources")]["condition"][
        0
    ]["expression"]
    assert "${local.sources_bucket_resource}" in expression
    bucket = _iam_locals()["sources_bucket_resource"]
    assert bucket.startswith("projects/_/buckets/${local.names.gcf_sources_bucket_prefix}")
    assert bucket.endswith("${data.google_project.this.number}-${var.region}")
    assert _locals()["names"]["gcf_sources_bucket_prefix"] == "gcf-v2-sources-"
    repo = bodies[("google_artifact_registry_repository_iam_member", "build_pushes_images")]
    assert repo["repository"] == "${google_artifact_registry_repository.images.name}"
    function = bodies[("google_cloudfunctions2_function", "main")]["build_config"][0]
    assert function["docker_repository"] == "${google_artifact_registry_repository.images.id}"
    assert function["service_account"] == "${google_service_account.build.id}"


def test_the_image_repository_cleans_up_after_itself() -> None:
    repo = {(k, n): b for k, n, b in _resources()}[
        ("google_artifact_registry_repository", "images")
    ]

    assert repo["cleanup_policy_dry_run"] is False
    actions = {policy["action"] for policy in repo["cleanup_policies"]}
    assert actions == {"KEEP", "DELETE"}


def test_deployers_and_operators_are_optional_named_bindings() -> None:
    bodies = {(kind, name): body for kind, name, body in _resources()}
    acts_as = bodies[("google_service_account_iam_member", "deployer_acts_as")]
    editors = bodies[("google_project_iam_member", "catalog_editors_write_catalog")]
    key_admins = bodies[("google_project_iam_member", "key_admins_write_api_keys")]
    minters = bodies[("google_secret_manager_secret_iam_member", "key_admins_read_pepper")]

    assert acts_as["role"] == "roles/iam.serviceAccountUser"
    assert "var.deployer_members" in acts_as["for_each"]
    assert "runtime" in acts_as["for_each"] and "build" in acts_as["for_each"]
    assert editors["for_each"] == "${toset(var.catalog_editors)}"
    assert key_admins["for_each"] == "${toset(var.key_admins)}"
    assert minters["for_each"] == "${toset(var.key_admins)}"
    variables = {
        n: b for block in terraform_document("variables.tf")["variable"] for n, b in block.items()
    }
    for name in ("deployer_members", "catalog_editors", "key_admins"):
        assert variables[name]["default"] == [], name


def test_catalog_editors_cannot_write_the_api_keys() -> None:
    """Editors write only the catalog database, key admins only the keys database (IAM
    conditions on the database name; the keys are in a database of their own)."""
    bodies = {(kind, name): body for kind, name, body in _resources()}
    writes = {
        name: body["condition"][0]["expression"]
        for (kind, name), body in bodies.items()
        if kind == "google_project_iam_member" and body.get("role") == "roles/datastore.user"
    }
    conditions = _iam_locals()

    assert writes == {
        "catalog_editors_write_catalog": "${local.database_condition}",
        "key_admins_write_api_keys": "${local.api_keys_database_condition}",
    }
    assert conditions["database_condition"] != conditions["api_keys_database_condition"]
    assert "var.api_keys_database_id != var.firestore_database_id" in repr(
        {
            n: b
            for block in terraform_document("variables.tf")["variable"]
            for n, b in block.items()
        }["api_keys_database_id"]["validation"]
    )
    key_store = (ROOT / "models_api" / "app.py").read_text(encoding="utf-8")
    assert "settings.api_keys_database" in key_store
    assert _locals()["environment"]["API_KEYS_DATABASE"] == "${var.api_keys_database_id}"


# The API each resource type needs enabled first (reached through depends_on, directly or via a
# resource it references).
API_OF = {
    "google_service_account": "iam.googleapis.com",
    "google_secret_manager_secret": "secretmanager.googleapis.com",
    "google_secret_manager_secret_version": "secretmanager.googleapis.com",
    "google_secret_manager_secret_iam_member": "secretmanager.googleapis.com",
    "google_firestore_database": "firestore.googleapis.com",
    "google_firebaserules_ruleset": "firebaserules.googleapis.com",
    "google_firebaserules_release": "firebaserules.googleapis.com",
    "google_storage_bucket": "storage.googleapis.com",
    "google_storage_bucket_object": "storage.googleapis.com",
    "google_artifact_registry_repository": "artifactregistry.googleapis.com",
    "google_artifact_registry_repository_iam_member": "artifactregistry.googleapis.com",
    "google_project_iam_member": "cloudresourcemanager.googleapis.com",
    "google_project_iam_audit_config": "cloudresourcemanager.googleapis.com",
    "google_service_account_iam_member": "iam.googleapis.com",
    "google_cloud_run_v2_service_iam_member": "run.googleapis.com",
    "google_cloud_scheduler_job": "cloudscheduler.googleapis.com",
    "google_logging_metric": "logging.googleapis.com",
    "google_monitoring_uptime_check_config": "monitoring.googleapis.com",
    "google_monitoring_alert_policy": "monitoring.googleapis.com",
    "google_monitoring_notification_channel": "monitoring.googleapis.com",
    "google_monitoring_dashboard": "monitoring.googleapis.com",
    "google_recaptcha_enterprise_key": "recaptchaenterprise.googleapis.com",
    "google_firebase_app_check_recaptcha_enterprise_config": "firebaseappcheck.googleapis.com",
}
FUNCTION_APIS = {
    "cloudfunctions.googleapis.com",
    "cloudbuild.googleapis.com",
    "run.googleapis.com",
    "artifactregistry.googleapis.com",
}


def _reaches(kind: str, name: str, api: str, seen: set[tuple[str, str]]) -> bool:
    bodies = {(k, n): b for k, n, b in _resources()}
    if (kind, name) in seen:
        return False
    seen.add((kind, name))
    body = bodies[(kind, name)]
    text = repr(body)
    if f'google_project_service.apis["{api}"]' in text or (
        f"google_project_service.apis[\\'{api}\\']" in text
    ):
        return True
    for other_kind, other_name in bodies:
        if f"{other_kind}.{other_name}" in text and (other_kind, other_name) != (kind, name):
            if _reaches(other_kind, other_name, api, seen):
                return True
    return False


def test_every_resource_waits_for_the_api_it_needs() -> None:
    for kind, name, _ in _resources():
        if not kind.startswith("google_") or kind == "google_project_service":
            continue
        assert kind in API_OF or kind == "google_cloudfunctions2_function", kind
        needed = FUNCTION_APIS if kind == "google_cloudfunctions2_function" else {API_OF[kind]}
        for api in needed:
            assert _reaches(kind, name, api, set()), f"{kind}.{name} does not wait for {api}"
        assert api in _locals()["apis"] + _locals()["app_check_apis"], api


def test_the_build_waits_for_every_grant_to_propagate() -> None:
    bodies = {(kind, name): body for kind, name, body in _resources()}
    sleep = bodies[("time_sleep", "iam_propagation")]
    function = bodies[("google_cloudfunctions2_function", "main")]
    runtime_or_build = {
        name
        for kind, name, _, member in _iam_bindings()
        if member
        in (
            "serviceAccount:${google_service_account.runtime.email}",
            "serviceAccount:${google_service_account.build.email}",
        )
    }

    assert "${time_sleep.iam_propagation}" in function["depends_on"]
    assert sleep["create_duration"] == "${var.iam_propagation_wait}"
    for name in runtime_or_build:
        assert f".{name}" in sleep["triggers"]["grants"], name


def test_an_existing_database_is_imported_and_an_existing_rules_release_never_taken_over() -> None:
    imports = _all()["import"]
    targets = {block["to"]: block for block in imports}

    database = targets["${google_firestore_database.main[each.key]}"]
    assert "var.adopt_existing_firestore_database" in database["for_each"]
    assert database["id"] == "projects/${var.project_id}/databases/${each.key}"
    # Importing the live release would delete it before the new one exists (ruleset_name forces
    # replacement): the plan is refused instead, with what to do.
    assert "${google_firebaserules_release.firestore[each.key]}" not in targets
    ruleset = terraform_resources()[("google_firebaserules_ruleset", "firestore")]
    refusal = ruleset["lifecycle"][0]["precondition"][0]
    assert refusal["condition"] == "${!(var.manage_firestore_rules && local.adopt_rules_release)}"
    assert "firebase deploy --only firestore:rules" in refusal["error_message"]
    variables = {
        n: b for block in terraform_document("variables.tf")["variable"] for n, b in block.items()
    }
    assert "default" not in variables["adopt_existing_firestore_database"]


@pytest.mark.parametrize(
    ("switch", "kinds"),
    [
        ("enable_uptime_check", ["google_monitoring_uptime_check_config"]),
        ("enable_alerts", ["google_monitoring_alert_policy"]),
        ("enable_log_metrics", ["google_logging_metric"]),
        ("enable_dashboard", ["google_monitoring_dashboard"]),
        ("enable_pepper_audit_logs", ["google_project_iam_audit_config"]),
        (
            "app_check_web_app_id",
            [
                "google_recaptcha_enterprise_key",
                "google_firebase_app_check_recaptcha_enterprise_config",
            ],
        ),
    ],
)
def test_each_operational_part_is_switched_by_one_variable(switch: str, kinds: list[str]) -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in INFRA.glob("*.tf"))
    aliases = {
        "local.uptime_check": "var.enable_uptime_check",
        "local.alerts_on_logs": "var.enable_alerts",
        "local.app_check": "var.app_check_web_app_id",
    }
    found = [(k, n, b) for k, n, b in _resources() if k in kinds]

    assert found, kinds
    for kind, name, body in found:
        gate = body.get("count") or body.get("for_each") or ""
        for alias, variable in aliases.items():
            if alias in gate and f"{alias} " in text:
                gate += variable
        assert f"var.{switch}" in gate, (kind, name, gate)
    variables = {
        n: b for block in terraform_document("variables.tf")["variable"] for n, b in block.items()
    }
    assert "default" in variables[switch]


def test_the_readme_lists_every_input_and_output() -> None:
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    variables = {n for block in terraform_document("variables.tf")["variable"] for n in block}
    outputs = {n for block in terraform_document("outputs.tf")["output"] for n in block}

    for name in sorted(variables | outputs):
        assert f"| `{name}` |" in readme, name


def test_secret_access_is_never_granted_project_wide() -> None:
    for kind, _, role, _ in _iam_bindings():
        if role.startswith("roles/secretmanager."):
            assert kind == "google_secret_manager_secret_iam_member"


def _pepper_locals() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for block in terraform_document("pepper.tf")["locals"]:
        merged.update(block)
    return merged


def _pepper_environment_names() -> tuple[set[str], set[str]]:
    """(secret variable names, plain variable names) the function gets from pepper.tf."""
    found = _pepper_locals()
    names = re.compile(r"\b(API_KEY_[A-Z_]+)\s*=")
    return (
        set(names.findall(found["pepper_secret_environment"])),
        set(names.findall(found["pepper_environment"])),
    )


def test_the_function_runs_as_the_dedicated_account_with_the_pepper_as_a_secret() -> None:
    bodies = {(kind, name): body for kind, name, body in _resources()}
    function = bodies[("google_cloudfunctions2_function", "main")]
    service = function["service_config"][0]

    assert service["service_account_email"] == "${google_service_account.runtime.email}"
    assert function["build_config"][0]["entry_point"] == "${local.service_settings.entry_point}"
    assert _locals()["service_settings"]["entry_point"] == "models"
    (secret_env,) = service["dynamic"]
    assert secret_env["secret_environment_variables"]["for_each"] == (
        "${local.pepper_secret_environment}"
    )
    secrets, plain = _pepper_environment_names()
    assert secrets == {"API_KEY_PEPPER", "API_KEY_PREVIOUS_PEPPER"}
    assert plain == {"API_KEY_PEPPER_VERSION", "API_KEY_PREVIOUS_PEPPER_VERSION"}
    assert service["environment_variables"] == (
        "${merge(local.environment, local.pepper_environment)}"
    )
    assert not secrets & set(_locals()["environment"])
    version = bodies[("google_secret_manager_secret_version", "pepper")]
    assert "secret_data" not in version, "the pepper must go through the write-only argument"
    assert version["secret_data_wo"] == "${ephemeral.random_password.pepper[each.key].result}"


def test_no_apply_destroys_a_pepper_version() -> None:
    """One version per generation, written once: rotation adds, retirement disables."""
    version = {(k, n): b for k, n, b in _resources()}[
        ("google_secret_manager_secret_version", "pepper")
    ]
    pepper_locals = _pepper_locals()

    assert version["for_each"] == "${local.pepper_generations}"
    assert "range(1, var.pepper_version + 1)" in pepper_locals["pepper_generations"]
    # Constant per instance: a changed write-only version would force a replacement.
    assert version["secret_data_wo_version"] == "${tonumber(each.key)}"
    assert version["deletion_policy"] == "ABANDON"
    assert "var.retired_pepper_versions" in version["enabled"]
    assert "lifecycle" not in version or "replace_triggered_by" not in repr(version["lifecycle"])
    assert "var.previous_pepper_version" in pepper_locals["previous_pepper"]


# Agreed in the pepper-version interface; models_api/config.py reads them once the service
# side of the rotation (another branch) is merged. Remove each name once config.py reads it.
PEPPER_NAMES_PENDING_IN_CONFIG = {
    "API_KEY_PEPPER_VERSION",
    "API_KEY_PREVIOUS_PEPPER",
    "API_KEY_PREVIOUS_PEPPER_VERSION",
}


def test_environment_names_match_what_the_service_reads() -> None:
    config_source = (ROOT / "models_api" / "config.py").read_text(encoding="utf-8")
    read_by_service = set(re.findall(r'environ(?:\.get\(|, )"([A-Z_]+)"', config_source))
    read_by_service |= set(
        re.findall(r'_(?:text|number)\(\s*environ,\s*"([A-Z_]+)"', config_source)
    )
    read_by_framework = {"WORKERS", "THREADS", "MALLOC_ARENA_MAX"}  # and glibc
    secrets, plain = _pepper_environment_names()

    names = set(_locals()["environment"]) | secrets | plain

    allowed = read_by_service | read_by_framework | PEPPER_NAMES_PENDING_IN_CONFIG
    assert names <= allowed, names - allowed
    assert {"GOOGLE_CLOUD_PROJECT", "API_KEY_PEPPER", "API_KEYS_DATABASE"} <= names


def test_every_variable_has_a_description_and_a_type() -> None:
    variables = terraform_document("variables.tf")["variable"]

    assert variables
    for block in variables:
        for name, body in block.items():
            assert body.get("description"), name
            assert body.get("type"), name


@pytest.mark.parametrize(
    "name",
    [
        "ingress",
        "python_runtime",
        "cpu",
        "memory",
        "function_name",
        "name_prefix",
        "project_id",
        "region",
        "firestore_database_id",
        "firestore_location",
        "concurrency",
        "timeout_seconds",
    ],
)
def test_enum_like_variables_are_validated(name: str) -> None:
    variables = {
        n: b for block in terraform_document("variables.tf")["variable"] for n, b in block.items()
    }

    assert variables[name].get("validation"), name


def test_every_output_is_described_and_the_url_is_there() -> None:
    outputs = {
        n: b for block in terraform_document("outputs.tf")["output"] for n, b in block.items()
    }

    assert {"url", "runtime_service_account"} <= set(outputs)
    for name, body in outputs.items():
        assert body.get("description"), name


def test_module_layout_and_example_tfvars() -> None:
    for name in (
        "versions.tf",
        "variables.tf",
        "settings.tf",
        "source_files.tf",
        "main.tf",
        "iam.tf",
        "firestore.tf",
        "firestore.rules",
        "monitoring.tf",
        "app_check.tf",
        "outputs.tf",
        "terraform.tfvars.example",
        "README.md",
        "gcloud/deploy.sh",
    ):
        assert (INFRA / name).exists(), name
    example = (INFRA / "terraform.tfvars.example").read_text(encoding="utf-8")
    declared = {n for block in terraform_document("variables.tf")["variable"] for n in block}
    assigned = set(re.findall(r"^(\w+)\s*=", example, flags=re.MULTILINE))
    assert assigned <= declared
