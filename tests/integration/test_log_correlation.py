"""A real server's warning lines name the request (and worker) they explain."""

from __future__ import annotations

import json

from local_harness.processes import FunctionServer, free_port
from models_api.keys.key_format import generate_api_key
from tests.conftest import DEV_PEPPER
from tests.integration.test_server_process import http_get


def test_a_503_warning_carries_the_request_id_and_pid_of_its_access_line() -> None:
    unreachable_firestore = f"127.0.0.1:{free_port()}"  # nothing listens: every read fails
    env = {
        "GOOGLE_CLOUD_PROJECT": "test-log-correlation",
        "FIRESTORE_EMULATOR_HOST": unreachable_firestore,
        "API_KEY_PEPPER": DEV_PEPPER,
        "BACKEND_TIMEOUT_SECONDS": "1",
    }
    server = FunctionServer(env, workers=2, threads=2).start()
    try:
        answers = [
            http_get(
                f"{server.url}/models",
                {"X-Api-Key": generate_api_key(), "X-Request-Id": f"corr-{n}"},
            )
            for n in range(4)
        ]
    finally:
        server.stop()

    assert [status for status, _, _ in answers] == [503] * 4
    entries = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    access = {e["request_id"]: e for e in entries if "httpRequest" in e}
    warnings = [e for e in entries if e.get("message", "").startswith("answering 503")]
    assert sorted(access) == [f"corr-{n}" for n in range(4)]
    assert sorted(w["request_id"] for w in warnings) == sorted(access)
    for warning in warnings:
        assert warning["severity"] == "WARNING"
        assert warning["pid"] == access[warning["request_id"]]["pid"]
