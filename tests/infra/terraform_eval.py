"""Run real Terraform, offline, on the parts of infra/ that need no provider.

infra/variables.tf, infra/settings.tf and infra/source_files.tf only use variables, locals and
built-in functions, so a scratch module made of copies of them initialises without a provider
download and `terraform apply` evaluates their validations and locals exactly as a real plan
would. The scratch module mirrors the repository layout (<root>/infra/*.tf) because
source_files.tf reads `${path.module}/../.gcloudignore`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
ENV = {
    **os.environ,
    "TF_CLI_CONFIG_FILE": "/dev/null",
    "CHECKPOINT_DISABLE": "1",
    "TF_IN_AUTOMATION": "1",
}
# The minimum every evaluation needs (variables without a default).
REQUIRED = {
    "project_id": "my-project-1",
    "adopt_existing_firestore_database": True,
    "public_access": "all_users",
    "notification_channels": [],
    "alert_email": "",
}


def terraform() -> str:
    binary = shutil.which("terraform") or str(ROOT / ".venv-tools" / "bin" / "terraform")
    assert Path(binary).exists(), "terraform is not on PATH"
    return binary


class Scratch:
    """A scratch root module under `directory`/infra with copies of the given infra files."""

    def __init__(self, directory: Path, files: tuple[str, ...], outputs: dict[str, str]) -> None:
        self.module = directory / "infra"
        self.module.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copy(INFRA / name, self.module / name)
        (self.module / "scratch_outputs.tf").write_text(
            "".join(f'output "{k}" {{\n  value = {v}\n}}\n' for k, v in outputs.items()),
            encoding="utf-8",
        )
        self._run("init", "-input=false", "-backend=false")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [terraform(), f"-chdir={self.module}", *args],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=120,
            check=False,
        )

    def apply(self, variables: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """`terraform apply` with these variables (plus REQUIRED ones not given)."""
        values = {**REQUIRED, **variables}
        (self.module / "terraform.tfvars.json").write_text(json.dumps(values), encoding="utf-8")
        return self._run("apply", "-auto-approve", "-input=false", "-no-color", "-lock=false")

    def outputs(self, variables: dict[str, Any]) -> dict[str, Any]:
        result = self.apply(variables)
        assert result.returncode == 0, result.stdout + result.stderr
        shown = self._run("output", "-json", "-no-color")
        assert shown.returncode == 0, shown.stderr
        return {k: v["value"] for k, v in json.loads(shown.stdout).items()}
