"""infra/adc_member.py: the IAM member up.sh grants the seed's and key_admin's roles to."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.terraform_eval import INFRA

SCRIPT = INFRA / "adc_member.py"
SA = "ci@p.iam.gserviceaccount.com"
URL = (
    f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{SA}:generateAccessToken"
)


def _member(*args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], input=stdin, capture_output=True, text=True,
        timeout=30, check=True,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("credentials", "member"),
    [
        ({"type": "service_account", "client_email": SA}, f"serviceAccount:{SA}"),
        (
            {"type": "impersonated_service_account", "service_account_impersonation_url": URL},
            f"serviceAccount:{SA}",
        ),
        (
            {"type": "external_account", "service_account_impersonation_url": URL},
            f"serviceAccount:{SA}",
        ),
        ({"type": "authorized_user", "client_id": "c", "refresh_token": "r"}, ""),
        ({"type": "external_account", "audience": "//iam.googleapis.com/x"}, ""),
    ],
)
def test_a_key_file_names_its_service_account_or_nothing(
    tmp_path: Path, credentials: dict[str, str], member: str
) -> None:
    path = tmp_path / "adc.json"
    path.write_text(json.dumps(credentials))

    assert _member("key-file", str(path)) == member


def test_no_file_or_an_unreadable_one_names_nothing(tmp_path: Path) -> None:
    (tmp_path / "garbled.json").write_text("{not json")

    assert _member("key-file", str(tmp_path / "absent.json")) == ""
    assert _member("key-file", str(tmp_path / "garbled.json")) == ""


@pytest.mark.parametrize(
    ("answer", "member"),
    [
        ({"email": "dev@example.com", "expires_in": 3599}, "user:dev@example.com"),
        ({"email": SA}, f"serviceAccount:{SA}"),
        ({"azp": "x", "scope": "https://www.googleapis.com/auth/cloud-platform"}, ""),
    ],
)
def test_tokeninfo_email_is_a_user_or_a_service_account(
    answer: dict[str, str], member: str
) -> None:
    assert _member("tokeninfo", stdin=json.dumps(answer)) == member
