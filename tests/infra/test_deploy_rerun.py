"""infra/gcloud/deploy.sh is re-runnable: run twice against a fake gcloud that keeps state.

The fake (tests/infra/fake_gcloud.py) is put first on PATH as `gcloud` and `curl`; it refuses to
create what exists (the real 409) and records every call and whether it changed anything. The
first run builds the project; the second must change nothing and fail nowhere. A rotation run
adds exactly the next pepper version and keeps the old one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.terraform_eval import INFRA, ROOT
from tests.infra.test_deploy_parity import flags

SCRIPT = INFRA / "gcloud" / "deploy.sh"
FAKE = Path(__file__).with_name("fake_gcloud.py")
BASE_ENV = {
    "PROJECT": "live-project-1",
    "ADOPT_EXISTING_FIRESTORE_DATABASE": "true",
    "PUBLIC_ACCESS": "invoker_check_disabled",
    # The explicit choice these runs test: adopting the web app's (default) database.
    "FIRESTORE_DATABASE": "(default)",
    "IAM_PROPAGATION_WAIT": "0s",
    # deploy.sh and retire_pepper.sh run under the operator's gcloud login.
    "FAKE_GCLOUD_ACCOUNT": "deployer@example.com",
}


class FakeProject:
    """A fake project: state and call log in `directory`, the fakes on PATH."""

    def __init__(self, directory: Path) -> None:
        self.state_file = directory / "state.json"
        self.log_file = directory / "calls.jsonl"
        self.bin = directory / "bin"
        self.bin.mkdir()
        for tool in ("gcloud", "curl"):
            wrapper = self.bin / tool
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" {tool} "$@"\n')
            wrapper.chmod(0o755)
        # key_admin's pepper-usage: no live key on any version (exit 0; _retire writes others).
        self.pepper_usage = self.bin / "pepper-usage"
        self.pepper_usage.write_text("#!/bin/sh\nexit 0\n")
        self.pepper_usage.chmod(0o755)
        # A live project: the (default) database exists already, with its own rules release.
        self.state_file.write_text(
            json.dumps(
                {
                    "databases": {"live-project-1/(default)": ["web app"]},
                    "rulesets": {"projects/live-project-1/rulesets/web": "web app rules"},
                    "releases": {"cloud.firestore": "projects/live-project-1/rulesets/web"},
                }
            )
        )

    @property
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        return state

    def calls(self) -> list[dict[str, Any]]:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines()]

    def deploy(self, **env: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
        before = len(self.calls())
        result = subprocess.run(
            ["bash", str(SCRIPT)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            env={
                "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
                "HOME": os.environ.get("HOME", "/tmp"),
                "FAKE_GCLOUD_STATE": str(self.state_file),
                "FAKE_GCLOUD_LOG": str(self.log_file),
                "PEPPER_USAGE": str(self.pepper_usage),
                **BASE_ENV,
                **env,
            },
            timeout=120,
            check=False,
            cwd=ROOT,
        )
        return result, self.calls()[before:]


@pytest.fixture
def project(tmp_path: Path) -> FakeProject:
    return FakeProject(tmp_path)


def _changes(calls: list[dict[str, Any]]) -> list[str]:
    return [" ".join(c["argv"][:4]) for c in calls if c["changed"]]


def test_a_second_run_changes_nothing_and_fails_nowhere(project: FakeProject) -> None:
    first, first_calls = project.deploy()
    state_after_first = project.state

    second, second_calls = project.deploy()

    assert first.returncode == 0, first.stderr
    assert _changes(first_calls), "the first run must build something"
    assert second.returncode == 0, second.stderr
    assert _changes(second_calls) == []
    assert project.state == state_after_first
    assert all(c["status"] == 0 for c in second_calls if c["changed"])
    assert "already deployed with these files and settings" in second.stdout
    # Built once: one deploy of each function, one pepper version, the keys database's rules
    # released once, one scheduler job.
    state = project.state
    assert state["deploys"] == {"live-project-1/models": 1, "live-project-1/models-drift-check": 1}
    assert list(state["scheduler_jobs"]) == ["live-project-1/us-central1/models-drift-check-daily"]
    assert "Scheduler job models-drift-check-daily: already set" in second.stdout
    assert state["secret_versions"]["live-project-1/models-api-key-pepper"] == ["enabled"]
    assert list(state["databases"]) == ["live-project-1/(default)", "live-project-1/api-keys"]
    assert state["databases"]["live-project-1/(default)"] == ["web app"], "adopted: unchanged"
    assert len(state["rulesets"]) == 2


def test_the_projects_rules_are_untouched_by_default(project: FakeProject) -> None:
    result, _ = project.deploy()

    assert result.returncode == 0, result.stderr
    assert project.state["releases"]["cloud.firestore"] == "projects/live-project-1/rulesets/web"


def test_managed_rules_are_merged_once_and_not_piled_up(
    project: FakeProject, tmp_path: Path
) -> None:
    base = tmp_path / "web.rules"
    base.write_text(
        "rules_version = '2';\nservice cloud.firestore {\n"
        "  match /databases/{database}/documents {\n"
        "    match /posts/{id} { allow read: if true; }\n  }\n}\n"
    )
    env = {"MANAGE_FIRESTORE_RULES": "true", "FIRESTORE_RULES_BASE_FILE": str(base)}

    first, _ = project.deploy(**env)
    rulesets_after_first = dict(project.state["rulesets"])
    second, second_calls = project.deploy(**env)

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert _changes(second_calls) == []
    assert project.state["rulesets"] == rulesets_after_first
    released = project.state["releases"]["cloud.firestore"]
    content = project.state["rulesets"][released]
    assert "match /posts/{id} { allow read: if true; }" in content
    assert "match /api_keys/{document=**}" in content


def test_a_rotation_adds_the_next_version_keeps_the_old_and_serves_both(
    project: FakeProject,
) -> None:
    project.deploy()

    rotated, calls = project.deploy(PEPPER_VERSION="2", PREVIOUS_PEPPER_VERSION="1")

    assert rotated.returncode == 0, rotated.stderr
    assert project.state["secret_versions"]["live-project-1/models-api-key-pepper"] == [
        "enabled",
        "enabled",
    ]
    (deploy,) = [c for c in calls if c["argv"][:2] == ["functions", "deploy"]]
    deployed = flags(deploy["argv"])
    assert deployed["set-secrets"] == (
        "API_KEY_PEPPER=models-api-key-pepper:2,API_KEY_PREVIOUS_PEPPER=models-api-key-pepper:1"
    )
    assert "API_KEY_PEPPER_VERSION=2" in deployed["set-env-vars"]
    assert "API_KEY_PREVIOUS_PEPPER_VERSION=1" in deployed["set-env-vars"]
    assert not [c for c in calls if "destroy" in c["argv"] or "disable" in c["argv"]]


def test_a_pinned_version_that_is_not_the_next_one_is_refused(project: FakeProject) -> None:
    result, calls = project.deploy(PEPPER_VERSION="3")

    assert result.returncode == 1
    assert "pepper version 3 does not exist and is not the next one (1)" in result.stderr
    assert not [c for c in calls if c["argv"][:2] == ["functions", "deploy"]]


def _deploys(calls: list[dict[str, Any]], name: str) -> list[list[str]]:
    return [c["argv"] for c in calls if c["argv"][:3] == ["functions", "deploy", name]]


def _invokers(project: FakeProject, function: str) -> list[str]:
    prefix = f"run live-project-1/{function} "
    return sorted(
        b[len(prefix) :].removesuffix(" roles/run.invoker")
        for b in project.state["bindings"]
        if b.startswith(prefix) and b.endswith(" roles/run.invoker")
    )


SCHEDULER = "serviceAccount:models-sched@live-project-1.iam.gserviceaccount.com"


def test_public_access_without_an_all_users_binding(project: FakeProject) -> None:
    result, calls = project.deploy()

    (deploy,) = _deploys(calls, "models")
    assert result.returncode == 0, result.stderr
    assert "--no-allow-unauthenticated" in deploy
    assert project.state["invoker_check_off"] == {"live-project-1/models": True}
    assert not [b for b in project.state["bindings"] if "allUsers" in b]


def test_an_adopted_database_that_does_not_exist_is_an_error(project: FakeProject) -> None:
    result, _ = project.deploy(FIRESTORE_DATABASE="missing-db")

    assert result.returncode == 1
    assert "database missing-db does not exist" in result.stderr


RETIRE = INFRA / "retire_pepper.sh"


def _retire(
    project: FakeProject, *args: str, live_keys: int = 0, usage_fails: bool = False
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """infra/retire_pepper.sh with key_admin's pepper-usage replaced by a stub that exits as
    pepper-usage does: 3 when `live_keys` keys are on the version, 0 when none, or, with
    usage_fails, an error status (1). Each stub prints the line another verdict would print, so
    only the exit status can lead the script to the right answer."""
    stub = project.bin / "pepper-usage"
    if usage_fails:
        body = 'echo "version $2: no live key depends on it"\nexit 1'
    elif live_keys:
        body = 'echo "version $2: no live key depends on it"\nexit 3'
    else:
        body = 'echo "version $2: 5 live key(s) depend on it"\nexit 0'
    stub.write_text(f"#!/bin/sh\n{body}\n")
    stub.chmod(0o755)
    before = len(project.calls())
    result = subprocess.run(
        ["bash", str(RETIRE), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={
            "PATH": f"{project.bin}{os.pathsep}{os.environ['PATH']}",
            "FAKE_GCLOUD_STATE": str(project.state_file),
            "FAKE_GCLOUD_LOG": str(project.log_file),
            "PROJECT": BASE_ENV["PROJECT"],
            "FAKE_GCLOUD_ACCOUNT": BASE_ENV["FAKE_GCLOUD_ACCOUNT"],
            "PEPPER_USAGE": str(stub),
        },
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    return result, project.calls()[before:]


def _versions(project: FakeProject) -> list[str]:
    versions: list[str] = project.state["secret_versions"]["live-project-1/models-api-key-pepper"]
    return versions


def test_retiring_is_refused_while_the_function_still_reads_the_version(
    project: FakeProject,
) -> None:
    project.deploy()
    project.deploy(PEPPER_VERSION="2", PREVIOUS_PEPPER_VERSION="1")

    previous, _ = _retire(project, "1")
    current, _ = _retire(project, "2", "--check-only")

    assert previous.returncode == 1 and "as API_KEY_PREVIOUS_PEPPER" in previous.stderr
    assert current.returncode == 1 and "current pepper (API_KEY_PEPPER)" in current.stderr
    assert _versions(project) == ["enabled", "enabled"]


def test_the_live_key_check_comes_before_the_deploy_that_drops_the_version(
    project: FakeProject,
) -> None:
    project.deploy()
    project.deploy(PEPPER_VERSION="2", PREVIOUS_PEPPER_VERSION="1")

    # The documented order: --check-only while the function still verifies version 1.
    refused, _ = _retire(project, "1", "--check-only", live_keys=3)
    checked, _ = _retire(project, "1", "--check-only")

    assert refused.returncode == 3 and "live keys still depend on version 1" in refused.stderr
    assert checked.returncode == 0 and "1 in retired_pepper_versions" in checked.stdout
    assert _versions(project) == ["enabled", "enabled"]


def test_a_failed_live_key_check_stops_the_retirement_even_when_accepting_live_keys(
    project: FakeProject,
) -> None:
    project.deploy()
    project.deploy(PEPPER_VERSION="2", PREVIOUS_PEPPER_VERSION="1")
    project.deploy(PEPPER_VERSION="2")

    checked, _ = _retire(project, "1", "--check-only", usage_fails=True)
    forced, calls = _retire(project, "1", "--accept-live-keys", usage_fails=True)

    for result in (checked, forced):
        assert result.returncode == 2 and "the live-key check failed" in result.stderr
    assert not [c for c in calls if c["changed"]]
    assert _versions(project) == ["enabled", "enabled"]


def test_deploy_sh_refuses_a_rotation_that_would_orphan_the_current_versions_keys(
    project: FakeProject,
) -> None:
    project.deploy()

    result, calls = project.deploy(PEPPER_VERSION="2")  # PREVIOUS_PEPPER_VERSION left at 0

    assert result.returncode == 1 and "rotate with PREVIOUS_PEPPER_VERSION=1" in result.stderr
    assert not [c for c in calls if c["changed"]]


def test_deploy_sh_checks_the_live_keys_before_it_drops_the_previous_version(
    project: FakeProject,
) -> None:
    project.deploy()
    project.deploy(PEPPER_VERSION="2", PREVIOUS_PEPPER_VERSION="1")
    _retire(project, "1", "--check-only", live_keys=2)  # leaves a stub reporting 2 live keys
    project.pepper_usage = project.bin / "pepper-usage"

    refused, calls = project.deploy(PEPPER_VERSION="2")

    assert refused.returncode == 1 and "live keys still depend on version 1" in refused.stderr
    assert "deploy with PREVIOUS_PEPPER_VERSION=1" in refused.stderr
    assert not [c for c in calls if c["changed"]]
    assert (
        "API_KEY_PREVIOUS_PEPPER"
        in project.state["functions"]["live-project-1/models"]["set-secrets"]
    )


def test_deploy_sh_stops_when_the_live_key_check_fails(project: FakeProject) -> None:
    project.deploy()
    project.deploy(PEPPER_VERSION="2", PREVIOUS_PEPPER_VERSION="1")
    _retire(project, "1", "--check-only", usage_fails=True)  # leaves a stub that fails

    refused, calls = project.deploy(PEPPER_VERSION="2")

    assert refused.returncode == 2 and "live-key check of version 1 failed" in refused.stderr
    assert not [c for c in calls if c["changed"]]


def test_retiring_waits_for_the_live_keys_unless_accepted(project: FakeProject) -> None:
    project.deploy()
    project.deploy(PEPPER_VERSION="2", PREVIOUS_PEPPER_VERSION="1")
    project.deploy(PEPPER_VERSION="2")

    refused, _ = _retire(project, "1", live_keys=3)
    accepted, _ = _retire(project, "1", "--accept-live-keys", live_keys=3)

    assert refused.returncode == 3 and "live keys still depend on version 1" in refused.stderr
    assert accepted.returncode == 0, accepted.stderr
    assert _versions(project) == ["disabled", "enabled"]


def test_retiring_a_version_no_key_uses_disables_it_and_destroys_nothing(
    project: FakeProject,
) -> None:
    project.deploy()
    project.deploy(PEPPER_VERSION="2", PREVIOUS_PEPPER_VERSION="1")
    project.deploy(PEPPER_VERSION="2")

    result, calls = _retire(project, "1")

    assert result.returncode == 0, result.stderr
    assert _versions(project) == ["disabled", "enabled"]
    assert [c["argv"][:3] for c in calls if c["changed"]] == [["secrets", "versions", "disable"]]


# --- the daily drift check's block ------------------------------------------------------------


@pytest.mark.parametrize("public_access", ["all_users", "invoker_check_disabled", "none"])
def test_only_the_scheduler_invokes_the_drift_check_whatever_the_public_access(
    project: FakeProject, public_access: str
) -> None:
    result, calls = project.deploy(PUBLIC_ACCESS=public_access)

    assert result.returncode == 0, result.stderr
    (drift,) = _deploys(calls, "models-drift-check")
    assert "--no-allow-unauthenticated" in drift and "--ingress-settings=internal-only" in drift
    assert _invokers(project, "models-drift-check") == [SCHEDULER]
    assert not project.state.get("invoker_check_off", {}).get("live-project-1/models-drift-check")
    assert ("allUsers" in _invokers(project, "models")) == (public_access == "all_users")


def test_a_stray_invoker_or_a_disabled_check_on_the_drift_check_is_undone(
    project: FakeProject,
) -> None:
    project.deploy()
    state = project.state
    state["bindings"]["run live-project-1/models-drift-check allUsers roles/run.invoker"] = True
    state["invoker_check_off"]["live-project-1/models-drift-check"] = True
    project.state_file.write_text(json.dumps(state), encoding="utf-8")

    result, calls = project.deploy()
    again, calls_again = project.deploy()

    assert result.returncode == 0, result.stderr
    assert "removing invoker allUsers" in result.stdout
    assert _changes(calls) == [
        "functions remove-invoker-policy-binding models-drift-check --project=live-project-1",
        "run services update models-drift-check",
    ]
    assert _invokers(project, "models-drift-check") == [SCHEDULER]
    assert project.state["invoker_check_off"]["live-project-1/models-drift-check"] is False
    assert again.returncode == 0 and _changes(calls_again) == []


def test_a_changed_schedule_updates_the_job_and_redeploys_nothing(project: FakeProject) -> None:
    project.deploy()

    result, calls = project.deploy(DRIFT_CHECK_SCHEDULE="0 5 * * 1-5")

    assert result.returncode == 0, result.stderr
    assert _changes(calls) == ["scheduler jobs update http"]
    job = project.state["scheduler_jobs"]["live-project-1/us-central1/models-drift-check-daily"]
    assert job["schedule"] == "0 5 * * 1-5"


def test_a_changed_drift_setting_redeploys_the_drift_check_only(project: FakeProject) -> None:
    project.deploy()
    labels_before = project.state["functions"]["live-project-1/models-drift-check"]["update-labels"]

    result, calls = project.deploy(DRIFT_CHECK_TIMEOUT_SECONDS="600")

    assert result.returncode == 0, result.stderr
    assert _changes(calls) == [
        "functions deploy models-drift-check --gen2",
        "scheduler jobs update http",
    ]
    assert project.state["deploys"] == {
        "live-project-1/models": 1,
        "live-project-1/models-drift-check": 2,
    }
    job = project.state["scheduler_jobs"]["live-project-1/us-central1/models-drift-check-daily"]
    assert job["attempt-deadline"] == "630s"
    labels_after = project.state["functions"]["live-project-1/models-drift-check"]["update-labels"]
    assert labels_after != labels_before  # a new fingerprint, so the next run keeps it


def test_the_drift_check_carries_the_labels(project: FakeProject) -> None:
    result, _ = project.deploy(LABELS="service=models-api,team=platform")

    assert result.returncode == 0, result.stderr
    for name in ("models", "models-drift-check"):
        labels = project.state["functions"][f"live-project-1/{name}"]["update-labels"]
        assert labels.startswith("service=models-api,team=platform,deploy_fingerprint="), name
