"""The service as a real functions-framework server process, over HTTP, with its logs."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from local_harness.keys import with_bad_checksum
from local_harness.processes import FunctionServer
from tests.conftest import Project, mint_key
from tests.support.catalog_documents import served_model_ids


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def server(seeded: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(seeded.service_env(), workers=1, threads=4).start()
    yield running
    running.stop()


def test_a_real_server_serves_the_catalog_and_logs_json_lines(
    seeded: Project, server: FunctionServer
) -> None:
    key = mint_key(seeded)

    status, headers, body = http_get(
        f"{server.url}/models",
        {"X-Api-Key": key, "X-Cloud-Trace-Context": "0123456789abcdef0123456789abcdef/42;o=1"},
    )
    bad_key = with_bad_checksum(key)
    bad_status, _, bad_body = http_get(f"{server.url}/models", {"X-Api-Key": bad_key})
    server.stop()

    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert {m["id"] for m in json.loads(body)["models"]} == served_model_ids()
    assert bad_status == 401
    assert json.loads(bad_body)["error"]["code"] == "unauthenticated"

    entries = [json.loads(line) for line in server.log_lines() if line.startswith("{")]
    requests = [e for e in entries if "httpRequest" in e]
    assert [e["httpRequest"]["status"] for e in requests] == [200, 401]
    ok, refused = requests
    assert ok["severity"] == "INFO"
    assert ok["auth"] == {"kind": "api_key", "subject": key[:12]}
    assert ok["logging.googleapis.com/trace"] == (
        f"projects/{seeded.project_id}/traces/0123456789abcdef0123456789abcdef"
    )
    assert refused["severity"] == "WARNING"
    assert refused["auth_failure"]
    full_log = "\n".join(server.log_lines())
    assert key not in full_log
    assert bad_key not in full_log


@pytest.mark.parametrize("path", ["/robots.txt", "/favicon.ico", "/models//gpt-5.2"])
def test_framework_paths_answer_with_our_json_404_not_a_redirect(
    seeded: Project, server: FunctionServer, path: str
) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers={"X-Api-Key": mint_key(seeded)})
    response = connection.getresponse()
    body = response.read()
    connection.close()

    assert response.status == 404
    assert json.loads(body)["error"]["code"] == "not_found"
