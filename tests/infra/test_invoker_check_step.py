"""The step that turns Cloud Run's invoker check off (public_access = "invoker_check_disabled")
runs: real Terraform applies iam.tf's own provisioner block, offline, against the fake gcloud
that parses arguments as gcloud 528 does, with Application Default Credentials alone.

The scratch module holds a terraform_data resource whose provisioner is copied verbatim from
infra/iam.tf and whose input is what the provider returns for the function's service: the full
projects/P/locations/R/services/S name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.infra.terraform_eval import ENV, INFRA, terraform
from tests.infra.terraform_files import terraform_resources

FAKE = Path(__file__).with_name("fake_gcloud.py")
PROJECT = "live-project-1"
FULL_NAME = f"projects/{PROJECT}/locations/europe-west1/services/models"


def _provisioner_block() -> str:
    iam = (INFRA / "iam.tf").read_text(encoding="utf-8")
    resource = iam.split('resource "terraform_data" "invoker_check_disabled" {', 1)[1]
    match = re.search(r'^  provisioner "local-exec" \{\n.*?^  \}\n', resource, re.M | re.S)
    assert match, "iam.tf: the invoker step's local-exec provisioner"
    return match.group(0)


class Scratch:
    """A root module with the invoker step, a fake project and the fake gcloud on PATH."""

    def __init__(self, root: Path, service: str) -> None:
        self.module = root / "infra"
        (self.module / "gcloud").mkdir(parents=True)
        for script in ("invoker_check.sh", "use_adc.sh"):
            shutil.copy(INFRA / "gcloud" / script, self.module / "gcloud")
        (self.module / "main.tf").write_text(
            'resource "terraform_data" "invoker_check_disabled" {\n'
            f'  input = {{ project = "{PROJECT}", region = "europe-west1",\n'
            f'            service = "{service}" }}\n'
            f"{_provisioner_block()}}}\n",
            encoding="utf-8",
        )
        self.bin = root / "bin"
        self.bin.mkdir()
        wrapper = self.bin / "gcloud"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" gcloud "$@"\n')
        wrapper.chmod(0o755)
        self.state_file = root / "state.json"
        self.log_file = root / "calls.jsonl"
        functions = {f"{PROJECT}/models": {"region": "europe-west1"}}
        self.state_file.write_text(json.dumps({"functions": functions}), encoding="utf-8")
        self.adc = root / "adc.json"
        self.adc.write_text('{"type": "external_account"}', encoding="utf-8")
        self.config = root / "gcloud-config"  # no gcloud login, no well-known ADC file
        self.config.mkdir()

    def apply(self, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **{k: v for k, v in ENV.items() if not k.startswith(("FAKE_GCLOUD", "GOOGLE_"))},
            "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            "CLOUDSDK_CONFIG": str(self.config),
            "FAKE_GCLOUD_STATE": str(self.state_file),
            "FAKE_GCLOUD_LOG": str(self.log_file),
            **env,
        }
        for step in (["init", "-input=false", "-backend=false"], ["apply", "-auto-approve"]):
            result = subprocess.run(
                [terraform(), f"-chdir={self.module}", *step, "-input=false", "-no-color"],
                capture_output=True,
                text=True,
                env=environment,
                timeout=120,
                check=False,
            )
            if result.returncode != 0:
                return result
        return result

    def calls(self) -> list[dict[str, Any]]:
        lines = self.log_file.read_text().splitlines() if self.log_file.exists() else []
        return [json.loads(line) for line in lines]

    def check_off(self) -> bool:
        state = json.loads(self.state_file.read_text(encoding="utf-8"))
        return bool(state.get("invoker_check_off", {}).get(f"{PROJECT}/models"))


def _fake(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(FAKE), "gcloud", *argv],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        timeout=30,
        check=False,
    )


# --- the fake parses as gcloud 528 does ------------------------------------------------------


def test_gcloud_refuses_the_full_service_name_a_missing_region_and_no_credentials(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"functions": {f"{PROJECT}/models": {}}}), encoding="utf-8")
    env = {
        "FAKE_GCLOUD_STATE": str(state),
        "FAKE_GCLOUD_LOG": str(tmp_path / "log"),
        "FAKE_GCLOUD_ACCOUNT": "someone@example.com",
    }
    update = ["run", "services", "update", f"--project={PROJECT}", "--no-invoker-iam-check"]

    full = _fake(*update[:3], FULL_NAME, *update[3:], "--region=europe-west1", **env)
    no_region = _fake(*update[:3], "models", *update[3:], **env)
    no_login = _fake(
        *update[:3],
        "models",
        *update[3:],
        "--region=europe-west1",
        **{**env, "FAKE_GCLOUD_ACCOUNT": ""},
    )
    short = _fake(*update[:3], "models", *update[3:], "--region=europe-west1", **env)

    assert full.returncode == 1 and f"Invalid resource name [{FULL_NAME}]" in full.stderr
    assert no_region.returncode == 1 and "You must specify a region" in no_region.stderr
    assert no_login.returncode == 1 and "do not currently have an active account" in no_login.stderr
    assert short.returncode == 0, short.stderr


# --- the step, run by real Terraform ------------------------------------------------------------


def test_with_adc_alone_the_step_turns_the_check_off_from_the_providers_full_name(
    tmp_path: Path,
) -> None:
    scratch = Scratch(tmp_path, FULL_NAME)

    result = scratch.apply(GOOGLE_APPLICATION_CREDENTIALS=str(scratch.adc))

    assert result.returncode == 0, result.stdout + result.stderr
    assert scratch.check_off()
    run_calls = [c for c in scratch.calls() if c["argv"][:2] == ["run", "services"]]
    assert [c["argv"][2:4] for c in run_calls] == [["update", "models"], ["describe", "models"]]
    assert {c["credentials"] for c in run_calls} == {"adc"}
    assert "ya29" not in result.stdout + result.stderr  # the token is never printed


def test_without_adc_the_apply_fails_and_says_how_to_fix_it(tmp_path: Path) -> None:
    scratch = Scratch(tmp_path, FULL_NAME)

    result = scratch.apply(FAKE_GCLOUD_ACCOUNT="someone@example.com")  # a gcloud login only

    assert result.returncode != 0
    assert "gcloud auth application-default login" in result.stdout + result.stderr
    assert not scratch.check_off()


def test_the_providers_access_token_is_used_when_terraform_runs_with_one(tmp_path: Path) -> None:
    scratch = Scratch(tmp_path, FULL_NAME)

    result = scratch.apply(GOOGLE_OAUTH_ACCESS_TOKEN="ya29.fake-adc-token")

    assert result.returncode == 0, result.stdout + result.stderr
    assert scratch.check_off()


@pytest.mark.parametrize("trigger", ["update_time", "build_config", "service_config"])
def test_it_runs_again_after_every_change_of_the_function(trigger: str) -> None:
    step = terraform_resources()[("terraform_data", "invoker_check_disabled")]

    assert any(
        f"google_cloudfunctions2_function.main.{trigger}" in t for t in step["triggers_replace"]
    )
    (provisioner,) = step["provisioner"]
    assert provisioner["local-exec"]["environment"]["CHECK"] == "off"
