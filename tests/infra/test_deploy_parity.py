"""infra/gcloud/deploy.sh and Terraform deploy the same service.

The script runs with DRY_RUN=1 (it prints each command, shell-quoted, instead of running it);
Terraform's settings.tf runs for real on the same inputs (tests/infra/terraform_eval.py); the
grants come from iam.tf. Compared: APIs, environment variables, pinned pepper version, service
settings, account, secret and repository names, image cleanup policies, grants (role, scope and
condition), Firestore rules release and database protection.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from typing import Any

import pytest

from tests.infra.terraform_eval import INFRA, ROOT, Scratch
from tests.infra.terraform_files import terraform_document

SCRIPT = INFRA / "gcloud" / "deploy.sh"
PROJECT_NUMBER = "123456789012"
INGRESS = {
    "ALLOW_ALL": "all",
    "ALLOW_INTERNAL_ONLY": "internal-only",
    "ALLOW_INTERNAL_AND_GCLB": "internal-and-gclb",
}

# (Terraform variables, the same inputs as the script's environment)
ONLY_REQUIRED: tuple[dict[str, Any], dict[str, str]] = (
    {
        "project_id": "my-project-1",
        "adopt_existing_firestore_database": True,
        "public_access": "all_users",
    },
    {
        "PROJECT": "my-project-1",
        "ADOPT_EXISTING_FIRESTORE_DATABASE": "true",
        "PUBLIC_ACCESS": "all_users",
    },
)
SCENARIOS: list[tuple[dict[str, Any], dict[str, str]]] = [
    ONLY_REQUIRED,
    (
        {
            "project_id": "other-project",
            "adopt_existing_firestore_database": False,
            "region": "europe-west1",
            "function_name": "catalog-api-for-the-web-platform",
            "name_prefix": "catalog",
            "firestore_database_id": "catalog-db",
            "firestore_location": "eur3",
            "cpu": "2",
            "memory": "1Gi",
            "concurrency": 40,
            "min_instances": 0,
            "max_instances": 5,
            "timeout_seconds": 30,
            "ingress": "ALLOW_INTERNAL_AND_GCLB",
            "public_access": "invoker_check_disabled",
            "api_keys_database_id": "catalog-keys",
            "manage_firestore_rules": True,
            "threads_per_worker": 8,
            "cors_allowed_origins": ["https://app.example.com", "http://localhost:5173"],
            "firebase_project_id": "web-project",
            "catalog_cache_ttl_seconds": 120,
            "api_key_refresh_seconds": 2,
            "backend_timeout_seconds": 2.5,
            "pepper_version": 3,
            "previous_pepper_version": 2,
            "retired_pepper_versions": [1],
            "python_runtime": "python312",
            "image_keep_count": 7,
            "image_max_age_days": 14,
        },
        {
            "PROJECT": "other-project",
            "ADOPT_EXISTING_FIRESTORE_DATABASE": "false",
            "REGION": "europe-west1",
            "FUNCTION_NAME": "catalog-api-for-the-web-platform",
            "NAME_PREFIX": "catalog",
            "FIRESTORE_DATABASE": "catalog-db",
            "FIRESTORE_LOCATION": "eur3",
            "CPU": "2",
            "MEMORY": "1Gi",
            "CONCURRENCY": "40",
            "MIN_INSTANCES": "0",
            "MAX_INSTANCES": "5",
            "TIMEOUT_SECONDS": "30",
            "INGRESS": "ALLOW_INTERNAL_AND_GCLB",
            "PUBLIC_ACCESS": "invoker_check_disabled",
            "API_KEYS_DATABASE": "catalog-keys",
            "MANAGE_FIRESTORE_RULES": "true",
            "THREADS_PER_WORKER": "8",
            "CORS_ALLOWED_ORIGINS": "https://app.example.com,http://localhost:5173",
            "FIREBASE_PROJECT_ID": "web-project",
            "CATALOG_CACHE_TTL_SECONDS": "120",
            "API_KEY_REFRESH_SECONDS": "2",
            "BACKEND_TIMEOUT_SECONDS": "2.5",
            "PEPPER_VERSION": "3",
            "PREVIOUS_PEPPER_VERSION": "2",
            "PYTHON_RUNTIME": "python312",
            "IMAGE_KEEP_COUNT": "7",
            "IMAGE_MAX_AGE_DAYS": "14",
        },
    ),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Scratch:
    return Scratch(
        tmp_path_factory.mktemp("parity"),
        ("variables.tf", "settings.tf"),
        {
            "environment": "local.environment",
            "settings": "local.service_settings",
            "names": "local.names",
            "apis": "local.apis",
            "build_project_roles": "local.build_project_roles",
            "image_max_age": "local.image_max_age",
        },
    )


class DryRun:
    """What deploy.sh would run, parsed from its DRY_RUN output."""

    def __init__(self, environment: dict[str, str]) -> None:
        result = subprocess.run(
            ["bash", str(SCRIPT)],
            capture_output=True,
            text=True,
            env={
                "PATH": os.environ["PATH"],
                "DRY_RUN": "1",
                "PROJECT_NUMBER": PROJECT_NUMBER,
                **environment,
            },
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        self.output = result.stdout
        self.commands = [
            shlex.split(line[2:]) for line in result.stdout.splitlines() if line.startswith("+ ")
        ]
        self.policies = json.loads(
            "\n".join(line[2:] for line in result.stdout.splitlines() if line.startswith("# "))
        )

    def find(self, *prefix: str) -> list[list[str]]:
        return [c for c in self.commands if c[: len(prefix)] == list(prefix)]

    def one(self, *prefix: str) -> list[str]:
        found = self.find(*prefix)
        assert len(found) == 1, (prefix, found)
        return found[0]


def flags(command: list[str]) -> dict[str, str]:
    found = {}
    for arg in command:
        if arg.startswith("--"):
            key, _, value = arg[2:].partition("=")
            found[key] = value
    return found


def _terraform_grants(variables: dict[str, Any], outputs: dict[str, Any]) -> set[tuple[str, ...]]:
    """(account, role, scope, condition) of every grant iam.tf gives the two accounts."""
    iam = terraform_document("iam.tf")
    tf_locals: dict[str, str] = {}
    for block in iam["locals"]:
        tf_locals.update({k: v for k, v in block.items() if not k.startswith("__")})
    region = variables.get("region", "us-central1")
    database = variables.get("firestore_database_id", "catalog")
    keys_database = variables.get("api_keys_database_id", "api-keys")

    def resolve(text: str) -> str:
        replacements = {
            "${local.database_condition}": tf_locals["database_condition"],
            "${local.api_keys_database_condition}": tf_locals["api_keys_database_condition"],
            "${var.api_keys_database_id}": keys_database,
            "${local.sources_bucket_resource}": tf_locals["sources_bucket_resource"],
            "${var.project_id}": variables["project_id"],
            "${var.firestore_database_id}": database,
            "${var.region}": region,
            "${local.names.gcf_sources_bucket_prefix}": outputs["names"][
                "gcf_sources_bucket_prefix"
            ],
            "${data.google_project.this.number}": PROJECT_NUMBER,
        }
        for _ in range(3):
            for key, value in replacements.items():
                text = text.replace(key, value)
        assert "${" not in text, text
        return text.replace('\\"', '"')

    scopes = {
        "google_project_iam_member": "project",
        "google_secret_manager_secret_iam_member": "secret",
        "google_artifact_registry_repository_iam_member": "repository",
    }
    grants: set[tuple[str, ...]] = set()
    for block in iam["resource"]:
        for kind, named in block.items():
            for body in named.values():
                member = body.get("member", "")
                account = re.fullmatch(
                    r"serviceAccount:\$\{google_service_account\.(\w+)\.email\}", member
                )
                if not account:
                    continue
                if body["role"] == "${each.value}":
                    assert body["for_each"] == "${toset(local.build_project_roles)}"
                    roles = outputs["build_project_roles"]
                else:
                    roles = [body["role"]]
                condition = ""
                if body.get("condition"):
                    condition = resolve(body["condition"][0]["expression"])
                for role in roles:
                    grants.add((account.group(1), role, scopes[kind], condition))
    return grants


def _script_grants(run: DryRun, env: dict[str, str]) -> set[tuple[str, ...]]:
    prefix = env.get("NAME_PREFIX", env.get("FUNCTION_NAME", "models"))
    accounts = {
        f"serviceAccount:{prefix}-run@{env['PROJECT']}.iam.gserviceaccount.com": "runtime",
        f"serviceAccount:{prefix}-build@{env['PROJECT']}.iam.gserviceaccount.com": "build",
    }
    grants: set[tuple[str, ...]] = set()
    for prefix_words, scope in (
        (("gcloud", "projects", "add-iam-policy-binding"), "project"),
        (("gcloud", "secrets", "add-iam-policy-binding"), "secret"),
        (("gcloud", "artifacts", "repositories", "add-iam-policy-binding"), "repository"),
    ):
        for command in run.find(*prefix_words):
            given = flags(command)
            condition = given.get("condition", "None")
            expression = ""
            if condition != "None":
                match = re.fullmatch(r"expression=(.*),title=[\w-]+", condition)
                assert match, condition
                expression = match.group(1)
            if given["member"] not in accounts:  # the drift check's (test_drift_check_infra.py)
                continue
            grants.add((accounts[given["member"]], given["role"], scope, expression))
    return grants


@pytest.mark.parametrize(("variables", "env"), SCENARIOS, ids=["defaults", "everything-set"])
def test_both_paths_deploy_the_same_service(
    scratch: Scratch, variables: dict[str, Any], env: dict[str, str]
) -> None:
    tf = scratch.outputs(variables)
    run = DryRun(env)
    # The service's deploy (the drift check's is compared in test_drift_check_infra.py).
    function_name = variables.get("function_name", "models")
    (deploy,) = [c for c in run.find("gcloud", "functions", "deploy") if c[3] == function_name]
    given = flags(deploy)

    # Same APIs.
    assert sorted(run.one("gcloud", "services", "enable")[3:-1]) == sorted(tf["apis"])
    # Same environment; the same pinned pepper versions (never `latest`), current and previous,
    # each with its version number (Terraform takes them from the versions it writes).
    delimiter_form = given["set-env-vars"]
    assert delimiter_form.startswith("^;^")
    script_env = dict(item.split("=", 1) for item in delimiter_form[3:].split(";"))
    pepper_version = str(variables.get("pepper_version", 1))
    previous = str(variables.get("previous_pepper_version", 0))
    pepper_env = {"API_KEY_PEPPER_VERSION": pepper_version}
    secret = tf["names"]["pepper_secret_id"]
    pepper = f"API_KEY_PEPPER={secret}:{pepper_version}"
    if previous != "0":
        pepper_env["API_KEY_PREVIOUS_PEPPER_VERSION"] = previous
        pepper += f",API_KEY_PREVIOUS_PEPPER={secret}:{previous}"
    assert script_env == {**tf["environment"], **pepper_env}
    assert given["set-secrets"] == pepper
    # Same service settings.
    settings = tf["settings"]
    assert deploy[3] == variables.get("function_name", "models")
    assert given["runtime"] == settings["runtime"]
    assert given["entry-point"] == settings["entry_point"]
    assert given["cpu"] == settings["cpu"]
    assert given["memory"] == settings["memory"]
    assert given["concurrency"] == settings["concurrency"]
    assert given["min-instances"] == settings["min_instances"]
    assert given["max-instances"] == settings["max_instances"]
    assert given["timeout"] == f"{settings['timeout_seconds']}s"
    assert given["ingress-settings"] == INGRESS[settings["ingress"]]
    all_users = "allow-unauthenticated" in given
    assert all_users == (settings["public_access"] == "all_users")
    assert all_users != ("no-allow-unauthenticated" in given)
    (invoker,) = run.find("gcloud", "run", "services", "update")
    wanted = "--no-invoker-iam-check"
    if settings["public_access"] != "invoker_check_disabled":
        wanted = "--invoker-iam-check"
    assert wanted in invoker
    # Same accounts, repository and upload.
    project = variables["project_id"]
    names = tf["names"]
    domain = f"{project}.iam.gserviceaccount.com"
    assert given["service-account"] == f"{names['runtime_account_id']}@{domain}"
    assert given["build-service-account"] == (
        f"projects/{project}/serviceAccounts/{names['build_account_id']}@{domain}"
    )
    region = variables.get("region", "us-central1")
    assert given["docker-repository"] == (
        f"projects/{project}/locations/{region}/repositories/{names['repository_id']}"
    )
    assert given["source"] == "."
    assert run.one("gcloud", "artifacts", "repositories", "create")[4] == names["repository_id"]
    created = {c[4] for c in run.find("gcloud", "iam", "service-accounts", "create")}
    assert {names["runtime_account_id"], names["build_account_id"]} <= created
    assert run.one("gcloud", "secrets", "create")[3] == names["pepper_secret_id"]
    # Same cleanup policies.
    keep, delete = run.policies
    assert keep["mostRecentVersions"]["keepCount"] == variables.get("image_keep_count", 5)
    assert delete["condition"] == {"tagState": "any", "olderThan": tf["image_max_age"]}
    # Same grants, scopes and conditions.
    grants = _terraform_grants(variables, tf)
    assert len(grants) == 6, grants
    assert _script_grants(run, env) == grants
    # Same databases: an adopted one is never changed, a created one and the API keys
    # database get PITR and delete protection. Same rules releases.
    database = variables.get("firestore_database_id", "catalog")
    keys_database = variables.get("api_keys_database_id", "api-keys")
    databases_created = {
        flags(c)["database"]: c for c in run.find("gcloud", "firestore", "databases", "create")
    }
    expected_databases = {keys_database}
    if not variables["adopt_existing_firestore_database"]:
        expected_databases.add(database)
    assert set(databases_created) == expected_databases
    assert not run.find("gcloud", "firestore", "databases", "update")
    for command in databases_created.values():
        assert {"enable-pitr", "delete-protection"} <= set(flags(command))
    releases = {tuple(c[1:]) for c in run.find("firestore-rules")}
    expected_releases = {(f"cloud.firestore/{keys_database}", "infra/firestore.rules")}
    if variables.get("manage_firestore_rules", False):
        catalog = "cloud.firestore" if database == "(default)" else f"cloud.firestore/{database}"
        expected_releases.add((catalog, "infra/firestore.rules"))
    assert releases == expected_releases
    # Key minting uses the version the function is pinned to.
    assert f"secrets/{names['pepper_secret_id']}/versions/{pepper_version}" in run.output


def test_terraform_pins_the_versions_it_writes_and_protects_the_databases_like_the_script() -> None:
    bodies = {
        (kind, name): body
        for name_of_file in ("main.tf", "pepper.tf")
        for block in terraform_document(name_of_file)["resource"]
        for kind, named in block.items()
        for name, body in named.items()
    }
    service = bodies[("google_cloudfunctions2_function", "main")]["service_config"][0]
    (secret_env,) = service["dynamic"]
    pepper_locals: dict[str, Any] = {}
    for block in terraform_document("pepper.tf")["locals"]:
        pepper_locals.update(block)

    content = secret_env["secret_environment_variables"]["content"][0]
    assert content["version"] == "${secret_environment_variables.value}"
    assert "local.current_pepper.version" in pepper_locals["pepper_secret_environment"]
    assert "local.previous_pepper.version" in pepper_locals["pepper_secret_environment"]
    for name in ("main", "api_keys"):
        database = bodies[("google_firestore_database", name)]
        assert database["point_in_time_recovery_enablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
        assert "DELETE_PROTECTION_ENABLED" in database["delete_protection_state"]
    rules = (INFRA / "firestore_rules.tf").read_text(encoding="utf-8")
    assert 'standalone_rules = file("${path.module}/firestore.rules")' in rules


def test_the_readme_sends_gcloud_users_to_the_script() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Operating and deploying", 1)[1].split("\n## ", 1)[0]

    assert "infra/gcloud/deploy.sh" in section
    assert "gcloud functions deploy" not in section, "the script is the gcloud path, not prose"


def test_the_dry_run_prints_every_mutating_command() -> None:
    script = SCRIPT.read_text(encoding="utf-8")
    verbs = "create|update|deploy|enable|add-iam-policy-binding|set-cleanup-policies"
    mutating = re.findall(
        rf"^\s*(?:\|\|\s*)?(gcloud \w[\w -]*?(?:{verbs}))\b", script, re.MULTILINE
    )

    assert not mutating, f"run these through run(): {mutating}"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_settings_without_a_project(flag: str) -> None:
    helped = subprocess.run(
        ["bash", str(SCRIPT), flag],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        timeout=30,
        check=False,
    )

    assert helped.returncode == 0, helped.stderr
    for name in ("PROJECT", "ADOPT_EXISTING_FIRESTORE_DATABASE", "PUBLIC_ACCESS", "DRY_RUN"):
        assert f"\n  {name} " in helped.stdout
    for name in ("PEPPER_VERSION", "PREVIOUS_PEPPER_VERSION", "DRIFT_CHECK_LITELLM_URL"):
        assert name in helped.stdout


def test_an_unknown_argument_is_refused_before_anything_runs() -> None:
    refused = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], "PROJECT": "p"},
        timeout=30,
        check=False,
    )

    assert refused.returncode == 64 and "PUBLIC_ACCESS" in refused.stderr
