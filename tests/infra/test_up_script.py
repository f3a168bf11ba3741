"""infra/up.sh (one command to a verified deployment) and the steps infra/README.md counts.

Here: its usage, and that the README's numbered steps are the script's, in order. It runs end
to end, offline, in test_up_end_to_end.py.
"""

from __future__ import annotations

import re
import subprocess

from tests.infra.terraform_eval import INFRA

SCRIPT = INFRA / "up.sh"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_the_readme_counts_the_scripts_steps_in_order() -> None:
    steps = re.findall(r'^step "([^"$]+)', SCRIPT.read_text(encoding="utf-8"), re.MULTILINE)
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    section = readme.split("## One command", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| ([^|]+) \|", section, re.MULTILINE)

    assert f"runs **{len(steps)} steps**" in section
    assert [int(n) for n, _ in rows] == list(range(1, len(steps) + 1))
    for (_, title), step in zip(rows, steps, strict=True):
        words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", title)}
        assert words & {w.lower() for w in re.findall(r"[A-Za-z]{4,}", step)}, (title, step)


def test_it_verifies_with_the_system_tests_against_the_deployed_url() -> None:
    script = SCRIPT.read_text(encoding="utf-8")

    assert "pytest tests/system -m deployed" in script
    assert "BASE_URL=$URL API_KEY=$API_KEY" in script
    assert "catalog_seed" in script and "--dry-run" in script
    assert "key_admin create" in script
    assert "testIamPermissions" in script
    # Every apply also creates the daily drift check (on by default): its job is checked for.
    needed = script.split("needed=(", 1)[1].split(")", 1)[0]
    assert "cloudscheduler.jobs.create" in needed
    assert "run.services.setIamPolicy" in needed  # the scheduler's invoker grant


def test_usage() -> None:
    helped = _run("--help")
    bare = _run()
    unknown = _run("my-project", "--frobnicate")

    assert helped.returncode == 0 and "infra/up.sh PROJECT_ID" in helped.stdout
    assert bare.returncode == 64 and "--alert-email" in bare.stdout
    assert unknown.returncode == 64
