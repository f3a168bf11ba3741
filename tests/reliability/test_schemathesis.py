"""schemathesis against openapi.yaml on a real server with a dev key: no 5xx, every response
conforms to the spec."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from local_harness.processes import ROOT, FunctionServer
from tests.conftest import Project, mint_key

pytestmark = pytest.mark.slow


@pytest.fixture
def server(seeded: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(seeded.service_env(AUTH_FAILURE_LIMIT="1000000")).start()
    yield running
    running.stop()


@pytest.mark.timeout(240)
def test_schemathesis_finds_no_failure(seeded: Project, server: FunctionServer) -> None:
    key = mint_key(seeded)

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(ROOT / "openapi.yaml"),
            "--url",
            server.url,
            "--header",
            f"X-Api-Key: {key}",
            "--checks",
            "all",
            "--max-examples",
            "60",
            "--seed",
            "1",
            "--max-time",
            "120",
            "--request-timeout",
            "10",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "passed" in output.lower()
