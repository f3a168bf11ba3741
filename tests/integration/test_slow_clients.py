"""Slow, malformed and oversized requests against a real server, over raw sockets.

The gunicorn worker reads whole requests in its event loop before a thread takes them
(models_api/serving_worker.py), so clients sending a byte a second cannot starve the service;
what the server answers by itself is the JSON error envelope, and logs no credential.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from local_harness.processes import FunctionServer
from models_api.request_heads import HEAD_TIMEOUT_SECONDS, MAX_HEAD_BYTES
from tests.conftest import Project, mint_key
from tests.integration.test_openapi_contract import (
    SPEC_PATH,
    _declared_response,
    _resolve,
    _schema_validator,
)
from tests.integration.test_server_process import http_get

SLOW_CLIENTS = 200
# The bound is 1 s; asserted generously (2 shared cores), the latency is printed.
ANSWER_TIMEOUT_SECONDS = 10


@pytest.fixture
def server(seeded: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(seeded.service_env(), workers=1, threads=4).start()
    yield running
    running.stop()


def _exchange(port: int, request: bytes) -> bytes:
    """Send `request` at once; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _envelope(answer: bytes) -> tuple[int, dict[str, str], dict[str, str]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, json.loads(body)["error"]


@pytest.mark.slow
def test_200_clients_sending_a_byte_a_second_do_not_stop_a_valid_request(
    seeded: Project, server: FunctionServer
) -> None:
    key = mint_key(seeded)
    assert http_get(f"{server.url}/models", {"X-Api-Key": key})[0] == 200  # warm
    slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(SLOW_CLIENTS)]
    request = f"GET /models HTTP/1.1\r\nHost: t\r\nX-Api-Key: {key}\r\n\r\n".encode()
    stop = threading.Event()

    def trickle() -> None:  # every slow client sends its next byte, once a second
        for position in range(len(request) - 1):
            for sock in slow:
                sock.send(request[position : position + 1])
            if stop.wait(1.0):
                return

    trickler = threading.Thread(target=trickle)
    trickler.start()
    try:
        time.sleep(2.5)  # every slow client has sent a few bytes
        started = time.perf_counter()
        status, _, body = http_get(f"{server.url}/models", {"X-Api-Key": key})
        latency = time.perf_counter() - started
    finally:
        stop.set()
        trickler.join()
    print(f"\nvalid request with {SLOW_CLIENTS} slow clients open: {status} in {latency:.3f} s")
    # The slow clients are answered 408 once their time is up, in the envelope.
    slow[0].settimeout(HEAD_TIMEOUT_SECONDS + 5)
    timed_out = b""
    while chunk := slow[0].recv(65536):
        timed_out += chunk
    for sock in slow:
        sock.close()

    assert status == 200 and json.loads(body)["models"]
    assert latency < ANSWER_TIMEOUT_SECONDS
    status, headers, error = _envelope(timed_out)
    assert (status, error["code"]) == (408, "request_timeout")
    assert headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (b"GET /models HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400, "invalid_argument"),
        (b"GET /models HTTP/9.9\r\nHost: t\r\n\r\n", 400, "invalid_argument"),
        (b"GET /models HTTP/1.1\r\n" + b"X-A: b\r\n" * 150 + b"\r\n", 431, "headers_too_large"),
        (b"GET /models HTTP/1.1\r\nX-A: " + b"b" * 9000 + b"\r\n\r\n", 431, "headers_too_large"),
        (
            b"GET /models HTTP/1.1\r\nX-A: " + b"b" * (MAX_HEAD_BYTES + 10),  # never ends
            431,
            "headers_too_large",
        ),
    ],
    ids=["bad header", "bad version", "too many fields", "field too long", "head too long"],
)
def test_the_servers_own_answers_are_the_json_envelope(
    server: FunctionServer, request_bytes: bytes, status: int, code: str
) -> None:
    answer = _exchange(server.port, request_bytes)

    got_status, headers, error = _envelope(answer)
    assert (got_status, error["code"]) == (status, code)
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Request-Id"] == error["request_id"]
    assert headers["Connection"] == "close"
    _assert_declared_everywhere(got_status, headers, {"error": error})
    line = _log_line_of(server, error["request_id"])
    assert line["message"].startswith(f"answered {status}: ")
    assert line["message"].endswith(" from 127.0.0.1")
    assert line["severity"] == "WARNING" and line["logger"] == "models_api.serving_worker"
    assert line["httpRequest"] == {"status": status, "remoteIp": "127.0.0.1"}
    assert isinstance(line["pid"], int) and line["timestamp"]["seconds"] > 0


def _log_line_of(server: FunctionServer, request_id: str) -> dict[str, Any]:
    """The server's JSON log line carrying `request_id` (written before the answer is sent)."""
    deadline = time.monotonic() + 5
    while True:
        for text in server.log_lines():
            if request_id in text and text.startswith("{"):
                line: dict[str, Any] = json.loads(text)
                if line.get("request_id") == request_id:
                    return line
        assert time.monotonic() < deadline, f"no log line with request_id {request_id}"
        time.sleep(0.05)


def _assert_declared_everywhere(status: int, headers: dict[str, str], body: object) -> None:
    """The server cannot know what was asked: every operation declares this answer."""
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    for path, item in spec["paths"].items():
        for method in item:
            declared = _declared_response(spec, path, method.upper(), status)
            declared_headers = {name.lower(): h for name, h in declared["headers"].items()}
            # Connection is hop-by-hop (RFC 9110 7.6.1): not part of the API description.
            sent = {name.lower() for name in headers} - {"content-type", "content-length"}
            sent.discard("connection")
            assert sent <= set(declared_headers), (method, path)
            for name, header in declared_headers.items():
                header = _resolve(spec, header)
                value = next((v for h, v in headers.items() if h.lower() == name), None)
                assert value is not None or not header.get("required"), (method, path, name)
                if value is not None:
                    _schema_validator(spec, header["schema"]).validate(value)
            if method != "head":  # the spec's HEAD errors have no body; ours has one
                schema = declared["content"]["application/json"]["schema"]
                _schema_validator(spec, schema).validate(body)


def test_a_key_in_the_path_or_a_malformed_request_is_never_logged(
    seeded: Project, server: FunctionServer
) -> None:
    key = mint_key(seeded)

    not_found = http_get(f"{server.url}/models/{key}", {"X-Api-Key": key})[0]
    malformed = _exchange(server.port, f"GET /models/{key} HTTP/9.9\r\n\r\n".encode())
    bad_header = _exchange(server.port, f"GET / HTTP/1.1\r\nX-Api-Key {key}\r\n\r\n".encode())
    server.stop()

    assert not_found == 404
    assert _envelope(malformed)[0] == 400 and _envelope(bad_header)[0] == 400
    log = "\n".join(server.log_lines())
    assert key not in log and key[12:] not in log
    assert f"/models/{key[:12]}[REDACTED]" in log  # the public display prefix stays
