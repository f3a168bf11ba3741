"""infra/up.sh run end to end, offline, in a project under domain-restricted sharing.

up.sh runs unchanged in a scratch copy of the repository, with fakes first on PATH: gcloud and
the testIamPermissions curl (tests/infra/fake_gcloud.py, parsed as gcloud 528 parses them) and
terraform (tests/infra/fake_terraform.py: its apply stands in for the deployment). The seed and
key_admin run for real against the Firestore emulator; the "deployed function" is a real local
server process of the service, whose URL is terraform's `url` output, so up.sh's own system
tests end with 200 for the minted key and 401 without one.

What stands in, and why: the pepper reaches key_admin and the server as API_KEY_PEPPER (the
value wins over API_KEY_PEPPER_SECRET, and there is no Secret Manager offline); `pip` records
its arguments instead of installing; `sleep` waits at most a second; the seed is given
--accept-expired-prices (this test is about up.sh, not the prices' freshness); the slow-client
system test is left out of the copy (it measures Cloud Run's front end, which a local server is
not).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_harness.processes import FirestoreEmulator, FunctionServer
from tests.conftest import DEV_PEPPER
from tests.infra.fake_gcloud import ADC_TOKEN, TOKENINFO_API
from tests.infra.terraform_eval import ROOT

HERE = Path(__file__).parent
# gcloud's login and the application-default credentials' account: two people, on purpose.
ACCOUNT = "deployer@example.com"
ADC_ACCOUNT = "adc-user@example.com"
CI_ACCOUNT = "ci-deployer@live-project-ci.iam.gserviceaccount.com"
# Domain-restricted sharing, as both constraints report it (the legacy list constraint and the
# managed one that replaces it).
DOMAIN_RESTRICTED = {
    "iam.allowedPolicyMemberDomains": {"rules": [{"values": {"allowedValues": ["C0abc123"]}}]},
    "iam.managed.allowedPolicyMembers": {
        "rules": [
            {
                "enforce": True,
                "parameters": {"allowedMemberSubjects": ["principalSet://iam.googleapis.com/x"]},
            }
        ]
    },
}
LEFT_OUT = ("tests/system/test_deployed_slow_clients.py",)


def _scratch_repository(destination: Path) -> Path:
    """The tracked files of this checkout (as they are now), with a .venv of stand-ins."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if name in LEFT_OUT or not source.is_file():
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    venv = destination / ".venv" / "bin"
    venv.mkdir(parents=True)
    _script(
        venv / "python",
        'if [ "$1 $2" = "-m catalog_seed" ]; then\n'
        f'  exec "{sys.executable}" "$@" --accept-expired-prices\nfi\n'
        f'exec "{sys.executable}" "$@"\n',
    )
    _script(venv / "pip", f'echo "$*" >>"{destination.parent / "pip.log"}"\n')
    return destination


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


def _fakes(directory: Path) -> Path:
    fakes = directory / "bin"
    fakes.mkdir()
    for tool in ("gcloud", "curl"):
        _script(fakes / tool, f'exec "{sys.executable}" "{HERE / "fake_gcloud.py"}" {tool} "$@"\n')
    _script(fakes / "terraform", f'exec "{sys.executable}" "{HERE / "fake_terraform.py"}" "$@"\n')
    _script(fakes / "sleep", 'echo "$*" >>"$FAKE_SLEEP_LOG"\nexec /bin/sleep 1\n')
    return fakes


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code)


class UpRun:
    """One run of up.sh: its result, the calls the fakes recorded, and the files it left."""

    def __init__(
        self,
        directory: Path,
        project: str,
        server_url: str,
        result: subprocess.CompletedProcess[str],
    ) -> None:
        self.directory = directory
        self.project = project
        self.server_url = server_url
        self.result = result
        log = (directory / "calls.jsonl").read_text(encoding="utf-8").splitlines()
        self.calls: list[dict[str, Any]] = [json.loads(line) for line in log]
        self.state: dict[str, Any] = json.loads((directory / "state.json").read_text("utf-8"))

    def of(self, tool: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["tool"] == tool]

    def command(self, call: dict[str, Any]) -> str:
        return " ".join(w for w in call["argv"] if not w.startswith("-"))

    def tfvars(self) -> str:
        """The terraform.tfvars the apply read."""
        return str(next(c for c in self.of("terraform") if c["argv"][1:2] == ["apply"])["tfvars"])

    def tokeninfo(self) -> list[dict[str, Any]]:
        return [c for c in self.of("curl") if TOKENINFO_API in c["argv"]]


def _run_up(
    directory: Path, project: str, state: dict[str, Any], **env_settings: str
) -> subprocess.CompletedProcess[str]:
    """infra/up.sh PROJECT --alert-email ... --confirm-seed in a scratch copy, the fakes first on
    PATH, gcloud's configuration in directory/gcloud-config."""
    repository = _scratch_repository(directory / "repo")
    (directory / "state.json").write_text(json.dumps(state))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GOOGLE_", "CLOUDSDK_", "FIRESTORE_", "API_KEY", "PUBLIC_ACCESS"))
    }
    env.update(
        PATH=f"{_fakes(directory)}:{env['PATH']}",
        CLOUDSDK_CONFIG=str(directory / "gcloud-config"),
        FAKE_GCLOUD_STATE=str(directory / "state.json"),
        FAKE_GCLOUD_LOG=str(directory / "calls.jsonl"),
        FAKE_TERRAFORM_OUTPUTS=str(directory / "outputs.json"),
        FAKE_SLEEP_LOG=str(directory / "sleep.log"),
        AUTO_APPROVE="1",
        **env_settings,
    )
    return subprocess.run(
        ["bash", "infra/up.sh", project, "--alert-email", "oncall@example.com", "--confirm-seed"],
        cwd=repository,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=100,
        check=False,
    )


@pytest.fixture(scope="module")
def up_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpRun]:
    """A developer's run: gcloud login plus `gcloud auth application-default login` as another
    account (ADC_ACCOUNT, which Google's tokeninfo names)."""
    directory = tmp_path_factory.mktemp("up")
    project = f"live-project-{uuid.uuid4().hex[:8]}"
    config = directory / "gcloud-config"
    config.mkdir()
    adc = {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}
    (config / "application_default_credentials.json").write_text(json.dumps(adc))
    emulator = FirestoreEmulator().start()
    server = FunctionServer(
        {
            "GOOGLE_CLOUD_PROJECT": project,
            "FIRESTORE_EMULATOR_HOST": emulator.host,
            "FIRESTORE_DATABASE": "catalog",
            "API_KEYS_DATABASE": "api-keys",
            "API_KEY_PEPPER": DEV_PEPPER,
            "API_KEY_REFRESH_SECONDS": "0.5",
        },
        workers=1,
        threads=4,
    ).start()
    outputs = {
        "url": server.url,
        "firestore_database": "catalog",
        "api_keys_database": "api-keys",
        "pepper_secret_version": f"projects/{project}/secrets/models-api-key-pepper/versions/1",
    }
    (directory / "outputs.json").write_text(json.dumps(outputs))
    try:
        result = _run_up(
            directory,
            project,
            {"org_policies": DOMAIN_RESTRICTED, "adc_email": ADC_ACCOUNT},
            FAKE_GCLOUD_ACCOUNT=ACCOUNT,
            FIRESTORE_EMULATOR_HOST=emulator.host,
            API_KEY_PEPPER=DEV_PEPPER,
        )
        yield UpRun(directory, project, server.url, result)
    finally:
        server.stop()
        emulator.stop()


def test_up_sh_ends_with_its_system_tests_passing(up_run: UpRun) -> None:
    result = up_run.result

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 passed" in result.stdout
    assert "Deployed and verified" in result.stdout


def test_under_domain_restricted_sharing_it_applies_with_the_invoker_check_off(
    up_run: UpRun,
) -> None:
    read = [up_run.command(c) for c in up_run.of("gcloud") if c["argv"][0] == "org-policies"]
    init, apply = (c for c in up_run.of("terraform") if c["argv"][1] in ("init", "apply"))

    assert read == [f"org-policies describe {name}" for name in DOMAIN_RESTRICTED]
    assert 'public_access                     = "invoker_check_disabled"' in apply["tfvars"]
    assert f'project_id                        = "{up_run.project}"' in apply["tfvars"]
    assert apply["argv"] == ["-chdir=infra", "apply", "-input=false", "-auto-approve"]
    assert init["argv"][-1] == f"-backend-config=bucket={up_run.project}-tfstate"


def test_the_seed_and_key_roles_go_to_the_adc_account_not_gcloud_s_login(up_run: UpRun) -> None:
    """The seed and key_admin (steps 11, 12) run with ADC, so ADC's account gets their roles."""
    tfvars = up_run.tfvars()
    asked = up_run.tokeninfo()

    assert f'catalog_editors = ["user:{ADC_ACCOUNT}"]' in tfvars
    assert f'key_admins      = ["user:{ADC_ACCOUNT}"]' in tfvars
    assert ACCOUNT not in tfvars
    assert [c["credentials"] for c in asked] == ["adc"]
    assert not [w for c in asked for w in c["argv"] if ADC_TOKEN in w]  # on stdin only


def test_the_deployed_url_answers_200_to_the_minted_key_and_401_without_one(
    up_run: UpRun,
) -> None:
    minted = up_run.result.stdout.split("== 12. The first API key (shown once)\n", 1)[1]
    key = minted.splitlines()[0]
    models = f"{up_run.server_url}/models"

    assert key.startswith("inf_")
    assert _get(models, {"X-Api-Key": key}) == 200
    assert _get(models, {}) == 401
    key_id = (up_run.directory / "repo" / "infra" / ".up-first-key").read_text().strip()
    assert f"key id:  {key_id}" in minted


def test_each_call_runs_with_the_credentials_the_readme_names(up_run: UpRun) -> None:
    """gcloud's login for up.sh's own reads and changes; ADC for everything the apply does
    (infra/README.md, One command and Credentials), the permission check included."""
    adc = {
        "auth application-default print-access-token",
        "auth application-default set-quota-project",
    }
    by_credentials: dict[str, set[str]] = {}
    for call in up_run.of("gcloud"):
        words = up_run.command(call).split()
        key = " ".join(words[:3] if words[0] == "auth" else words[:2])
        by_credentials.setdefault(call["credentials"], set()).add(key)
    permission_check = [c for c in up_run.of("curl") if "testIamPermissions" in c["argv"][-1]]
    state_readers = [c for c in up_run.of("terraform") if c["argv"][0] == "-chdir=infra"]

    assert by_credentials.pop("none needed") == {"auth list"}
    assert by_credentials.pop("adc") == adc
    assert by_credentials == {
        "login": {
            "projects describe", "billing projects", "services enable", "firestore databases",
            "org-policies describe", "storage buckets",
        }
    }  # fmt: skip
    assert [c["credentials"] for c in permission_check] == ["adc"]
    assert f"x-goog-user-project: {up_run.project}" in permission_check[0]["argv"]
    assert {c["credentials"] for c in state_readers} == {"adc"}


def test_only_the_absent_database_and_bucket_are_refused_and_the_bucket_is_made_safe(
    up_run: UpRun,
) -> None:
    refused = [up_run.command(c) for c in up_run.calls if c["status"] != 0]
    bucket = up_run.state["buckets"][f"{up_run.project}-tfstate"]
    adc = json.loads(
        (up_run.directory / "gcloud-config" / "application_default_credentials.json").read_text()
    )

    assert refused == [
        "firestore databases describe",
        f"storage buckets describe gs://{up_run.project}-tfstate",
    ]
    assert bucket["versioning"] is True
    assert "uniform-bucket-level-access" in bucket and "public-access-prevention" in bucket
    assert adc["quota_project_id"] == up_run.project
    assert (up_run.directory / "pip.log").read_text().split() == [
        "install", "--quiet", "--disable-pip-version-check",
        "-r", "requirements.txt", "-r", "requirements-dev.txt",
    ]  # fmt: skip


def test_a_ci_job_with_a_service_account_key_gets_past_adc_to_the_permission_check(
    tmp_path: Path,
) -> None:
    """GOOGLE_APPLICATION_CREDENTIALS (the README's CI path): gcloud would refuse to add a
    quota project to it, so up.sh does not ask; the permission check asks as that account."""
    (tmp_path / "gcloud-config").mkdir()
    key_file = tmp_path / "ci-key.json"
    key_file.write_text(json.dumps({"type": "service_account", "client_email": CI_ACCOUNT}))
    project = "live-project-ci"

    result = _run_up(
        tmp_path,
        project,
        {"permissions_lacking": ["cloudscheduler.jobs.create"]},
        FAKE_GCLOUD_ACCOUNT=CI_ACCOUNT,
        GOOGLE_APPLICATION_CREDENTIALS=str(key_file),
    )
    run = UpRun(tmp_path, project, "", result)
    asked = [run.command(c) for c in run.of("gcloud") if c["argv"][0] == "auth"]
    checks = [c for c in run.of("curl") if "testIamPermissions" in c["argv"][-1]]

    assert result.returncode == 1
    assert f"missing on {project}: cloudscheduler.jobs.create" in result.stderr
    assert "auth application-default set-quota-project" not in " ".join(asked)
    assert [c["credentials"] for c in checks] == ["adc"]
    assert not run.of("terraform")[1:]  # stopped before init: only `terraform version`


def test_a_ci_job_with_a_service_account_key_grants_the_seeds_roles_to_that_account(
    tmp_path: Path,
) -> None:
    """The key's client_email, as serviceAccount:, whoever gcloud's login is; tokeninfo is not
    asked. This run has no terraform outputs, so it stops right after the apply."""
    (tmp_path / "gcloud-config").mkdir()
    key_file = tmp_path / "ci-key.json"
    key_file.write_text(json.dumps({"type": "service_account", "client_email": CI_ACCOUNT}))

    result = _run_up(
        tmp_path,
        "live-project-ci",
        {"adc_email": "not-asked@example.com"},
        FAKE_GCLOUD_ACCOUNT=ACCOUNT,
        GOOGLE_APPLICATION_CREDENTIALS=str(key_file),
    )
    run = UpRun(tmp_path, "live-project-ci", "", result)
    tfvars = run.tfvars()

    assert result.returncode == 1 and 'Output "url" not found' in result.stderr, result.stderr
    assert f'catalog_editors = ["serviceAccount:{CI_ACCOUNT}"]' in tfvars
    assert f'key_admins      = ["serviceAccount:{CI_ACCOUNT}"]' in tfvars
    assert ACCOUNT not in tfvars
    assert run.tokeninfo() == []


def test_adc_whose_account_cannot_be_told_stop_it_before_any_change(tmp_path: Path) -> None:
    """A user's ADC whose token has no email scope: no member to grant, so no tfvars either."""
    config = tmp_path / "gcloud-config"
    config.mkdir()
    adc = {"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}
    (config / "application_default_credentials.json").write_text(json.dumps(adc))

    result = _run_up(tmp_path, "live-project-noemail", {}, FAKE_GCLOUD_ACCOUNT=ACCOUNT)
    run = UpRun(tmp_path, "live-project-noemail", "", result)

    assert result.returncode == 1
    assert "cannot tell which account the application-default credentials are" in result.stderr
    assert "catalog_editors and key_admins" in result.stderr
    assert [c["credentials"] for c in run.tokeninfo()] == ["adc"]
    assert not [c for c in run.calls if c.get("changed")]
    assert not (tmp_path / "repo" / "infra" / "terraform.tfvars").exists()
