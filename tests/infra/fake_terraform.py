"""A fake `terraform` for running infra/up.sh offline: it records every call in the fake
gcloud's call log, keeps what `apply` was given, and answers `output` from a JSON file (an
output it lacks is terraform's "not found").

`apply` stands in for the deployment (the invoker-check step it runs is exercised on its own
through the fake gcloud): it needs a prior `init` with a backend bucket. `init`, `apply` and
`output` read the gcs backend's state, so each needs Application Default Credentials, as the
google provider and the backend do (GOOGLE_APPLICATION_CREDENTIALS naming a file, or
application_default_credentials.json in CLOUDSDK_CONFIG; never gcloud's login). Each apply
records the terraform.tfvars it read.

    fake_terraform.py ARGS...
    FAKE_GCLOUD_LOG=calls.jsonl FAKE_TERRAFORM_OUTPUTS=outputs.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

VERSION = "1.11.4"


class Refused(Exception):
    """Terraform would stop with this error."""


def _adc() -> str:
    named = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "")
    if named:
        if not Path(named).is_file():
            raise Refused(
                f"google: error getting credentials using GOOGLE_APPLICATION_CREDENTIALS: {named}"
            )
        return "adc"
    config = os.environ.get("CLOUDSDK_CONFIG") or str(Path.home() / ".config" / "gcloud")
    if (Path(config) / "application_default_credentials.json").is_file():
        return "adc"
    raise Refused("google: could not find default credentials.")


def run(argv: list[str], record: dict[str, Any]) -> str:
    """stdout of one terraform call; `record` gains what the log should keep."""
    directory = Path.cwd()
    if argv and argv[0].startswith("-chdir="):
        directory = directory / argv[0].removeprefix("-chdir=")
        argv = argv[1:]
    command, options = argv[0], argv[1:]
    if command == "version" and options == ["-json"]:
        return json.dumps({"terraform_version": VERSION}) + "\n"
    if command == "init":
        bucket = [o for o in options if o.startswith("-backend-config=bucket=")]
        if len(bucket) != 1:
            raise Refused('The "bucket" argument of the gcs backend is required.')
        record["credentials"] = _adc()
        (directory / ".terraform").mkdir(exist_ok=True)
        return ""
    if command == "apply":
        if not (directory / ".terraform").is_dir():
            raise Refused('Backend initialization required, please run "terraform init"')
        record["credentials"] = _adc()
        record["tfvars"] = (directory / "terraform.tfvars").read_text(encoding="utf-8")
        return "Apply complete!\n"
    if command == "output" and len(options) == 2 and options[0] in ("-raw", "-json"):
        record["credentials"] = _adc()
        file = Path(os.environ["FAKE_TERRAFORM_OUTPUTS"])
        outputs = json.loads(file.read_text("utf-8")) if file.is_file() else {}
        if options[1] not in outputs:
            raise Refused(f'Output "{options[1]}" not found')
        value = outputs[options[1]]
        return value if options[0] == "-raw" else json.dumps(value) + "\n"
    raise Refused(f"fake terraform does not know: terraform {' '.join(argv)}")


def main() -> int:
    argv = sys.argv[1:]
    record: dict[str, Any] = {"tool": "terraform", "argv": argv, "credentials": "none needed"}
    try:
        out, status = run(argv, record), 0
    except Refused as refusal:
        out, status = "", 1
        print(f"Error: {refusal}", file=sys.stderr)
    with open(os.environ["FAKE_GCLOUD_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({**record, "status": status}) + "\n")
    sys.stdout.write(out)
    return status


if __name__ == "__main__":
    sys.exit(main())
