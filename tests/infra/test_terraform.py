"""infra/ checked offline: fmt, checkov, trivy, and what the scanners do not look at (python-hcl2).

`terraform init/validate` need the Google provider, which cannot be downloaded here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
TOOLS = ROOT / ".venv-tools" / "bin"
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
PUBLIC_MEMBERS = {"allUsers", "allAuthenticatedUsers"}
TOOL_ENV = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"}


def _load(name: str) -> dict[str, Any]:
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    with (INFRA / name).open(encoding="utf-8") as handle:
        document: dict[str, Any] = hcl2.load(handle, serialization_options=options)
    return document


def _all() -> dict[str, Any]:
    merged: dict[str, list[Any]] = {}
    for path in sorted(INFRA.glob("*.tf")):
        for key, value in _load(path.name).items():
            if isinstance(value, list):
                merged.setdefault(key, []).extend(value)
    return merged


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
        (
            "google_secret_manager_secret_iam_member",
            "runtime_reads_pepper",
            "roles/secretmanager.secretAccessor",
        ),
    }
    bodies = {(kind, name): body for kind, name, body in _resources()}
    firestore = bodies[("google_project_iam_member", "runtime_reads_firestore")]
    assert "databases/${var.firestore_database_id}" in firestore["condition"][0]["expression"]
    pepper = bodies[("google_secret_manager_secret_iam_member", "runtime_reads_pepper")]
    assert pepper["secret_id"] == "${google_secret_manager_secret.pepper.secret_id}"


def test_secret_access_is_never_granted_project_wide() -> None:
    for kind, _, role, _ in _iam_bindings():
        if role.startswith("roles/secretmanager."):
            assert kind == "google_secret_manager_secret_iam_member"


def test_the_function_runs_as_the_dedicated_account_with_the_pepper_as_a_secret() -> None:
    bodies = {(kind, name): body for kind, name, body in _resources()}
    function = bodies[("google_cloudfunctions2_function", "main")]
    service = function["service_config"][0]

    assert service["service_account_email"] == "${google_service_account.runtime.email}"
    assert function["build_config"][0]["entry_point"] == "models"
    secret_env = service["secret_environment_variables"]
    assert [entry["key"] for entry in secret_env] == ["API_KEY_PEPPER"]
    assert "API_KEY_PEPPER" not in _locals()["environment"]
    version = bodies[("google_secret_manager_secret_version", "pepper")]
    assert "secret_data" not in version, "the pepper must go through the write-only argument"
    assert version["secret_data_wo"] == "${ephemeral.random_password.pepper.result}"


def test_environment_names_match_what_the_service_reads() -> None:
    config_source = (ROOT / "models_api" / "config.py").read_text(encoding="utf-8")
    read_by_service = set(re.findall(r'environ(?:\.get\(|, )"([A-Z_]+)"', config_source))
    read_by_service |= set(
        re.findall(r'_(?:text|number)\(\s*environ,\s*"([A-Z_]+)"', config_source)
    )
    read_by_framework = {"WORKERS", "THREADS"}
    function = dict(((k, n), b) for k, n, b in _resources())[
        ("google_cloudfunctions2_function", "main")
    ]
    secret_keys = {e["key"] for e in function["service_config"][0]["secret_environment_variables"]}

    names = set(_locals()["environment"]) | secret_keys

    assert names <= read_by_service | read_by_framework, names - read_by_service
    assert {"GOOGLE_CLOUD_PROJECT", "API_KEY_PEPPER"} <= names


def test_every_variable_has_a_description_and_a_type() -> None:
    variables = _load("variables.tf")["variable"]

    assert variables
    for block in variables:
        for name, body in block.items():
            assert body.get("description"), name
            assert body.get("type"), name


@pytest.mark.parametrize("name", ["ingress", "python_runtime", "cpu", "function_name"])
def test_enum_like_variables_are_validated(name: str) -> None:
    variables = {n: b for block in _load("variables.tf")["variable"] for n, b in block.items()}

    assert variables[name].get("validation"), name


def test_every_output_is_described_and_the_url_is_there() -> None:
    outputs = {n: b for block in _load("outputs.tf")["output"] for n, b in block.items()}

    assert {"url", "runtime_service_account"} <= set(outputs)
    for name, body in outputs.items():
        assert body.get("description"), name


def test_module_layout_and_example_tfvars() -> None:
    for name in (
        "versions.tf",
        "variables.tf",
        "main.tf",
        "iam.tf",
        "outputs.tf",
        "terraform.tfvars.example",
        "README.md",
    ):
        assert (INFRA / name).exists(), name
    example = (INFRA / "terraform.tfvars.example").read_text(encoding="utf-8")
    declared = {n for block in _load("variables.tf")["variable"] for n in block}
    assigned = set(re.findall(r"^(\w+)\s*=", example, flags=re.MULTILINE))
    assert assigned <= declared
