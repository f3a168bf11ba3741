"""Requests that carry a body, against a real server over raw sockets.

The service takes no request body: the WSGI fast path answers such a request from its head, in
the JSON envelope, without reading the body, and ends the connection. Clients that announce a
body and never send it cannot hold the service's threads. Forwarding headers (SCRIPT_NAME) are
not trusted from loopback.
"""

from __future__ import annotations

import json
import socket
import statistics
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from local_harness.processes import FunctionServer
from local_harness.slow_bodies import BODY_CASES, HeldBodies, p99, valid_key_latencies
from tests.conftest import Project, mint_key
from tests.integration.test_openapi_contract import (
    SPEC_PATH,
    _declared_response,
    _resolve,
    _schema_validator,
)
from tests.integration.test_server_process import http_get

# A guard against a hang, not a timing assertion: a refused body is answered with no body sent.
HANG_GUARD_SECONDS = 30
HELD_PER_CASE = 20
PROBES_PER_ROUND, ROUNDS = 200, 5


@pytest.fixture
def server(seeded: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(seeded.service_env(), workers=1, threads=4).start()
    yield running
    running.stop()


def _answer_then_eof(port: int, request: bytes) -> bytes:
    """Send `request` (never a whole body); everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD_SECONDS) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _envelope(answer: bytes) -> tuple[int, dict[str, str], dict[str, str]]:
    if answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"):
        answer = answer[len(b"HTTP/1.1 100 Continue\r\n\r\n") :]
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert len(body) == int(headers["Content-Length"])  # one answer, nothing after it
    return int(status_line.split()[1]), headers, json.loads(body)["error"]


def _chunked(size_line: bytes) -> bytes:
    head = b"GET /models HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + size_line + b"\r\nabcde\r\n0\r\n\r\n"


MALFORMED_CHUNK_SIZES = [b"zz", b"-1", b"0x5", b" 5", b"+5", b"", b"5;" + b"x" * 9000, b"\xff"]
REFUSED = [
    *((case.head + case.trickle[:1], 413 if "100000" in case.name else 400) for case in BODY_CASES),
    *((_chunked(size), 400) for size in MALFORMED_CHUNK_SIZES),
    (b"POST /models HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nab", 405),
    (b"DELETE /robots.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\n", 405),
    (b"GET /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 05\r\n\r\nabcde", 400),
    (b"OPTIONS /models HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\n", 413),
]
REFUSED_IDS = (
    [case.name for case in BODY_CASES]
    + [f"chunk size {size[:8]!r}" for size in MALFORMED_CHUNK_SIZES]
    + ["POST", "DELETE on a framework path", "Content-Length 05 elsewhere", "OPTIONS with a body"]
)


@pytest.mark.parametrize(("request_bytes", "status"), REFUSED, ids=REFUSED_IDS)
def test_a_request_with_a_body_is_answered_from_its_head_then_closed(
    server: FunctionServer, request_bytes: bytes, status: int
) -> None:
    answer = _answer_then_eof(server.port, request_bytes)

    got_status, headers, error = _envelope(answer)
    code = {400: "invalid_argument", 405: "method_not_allowed", 413: "content_too_large"}
    assert (got_status, error["code"]) == (status, code[status])
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Request-Id"] == error["request_id"]
    assert headers["Connection"] == "close"
    if status == 405:
        assert headers["Allow"] == "GET, HEAD, OPTIONS"
    else:
        _assert_declared_everywhere(got_status, headers, {"error": error})


def _assert_declared_everywhere(status: int, headers: dict[str, str], body: object) -> None:
    """The refusal does not depend on the path: every operation declares this answer."""
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    for path, item in spec["paths"].items():
        for method in item:
            declared = _declared_response(spec, path, method.upper(), status)
            declared_headers = {name.lower(): h for name, h in declared["headers"].items()}
            # Hop-by-hop and server headers (RFC 9110 7.6.1) are not part of the API description.
            sent = {name.lower() for name in headers} - {"content-type", "content-length"}
            sent -= {"connection", "server", "date", "vary"}
            assert sent <= set(declared_headers), (method, path, sent - set(declared_headers))
            for name, header in declared_headers.items():
                header = _resolve(spec, header)
                value = next((v for h, v in headers.items() if h.lower() == name), None)
                assert value is not None or not header.get("required"), (method, path, name)
                if value is not None:
                    _schema_validator(spec, header["schema"]).validate(value)
            if method != "head":  # the spec's HEAD errors have no body; ours has one
                schema = declared["content"]["application/json"]["schema"]
                _schema_validator(spec, schema).validate(body)


@pytest.mark.slow
def test_held_bodies_keep_a_valid_keys_p99_within_twice_idle(
    seeded: Project, server: FunctionServer
) -> None:
    key = mint_key(seeded)
    valid_key_latencies(server.url, key, 20)  # warm: key and catalog cached
    ratios, answered = [], 0
    for _ in range(ROUNDS):  # paired rounds: the machine's drift hits idle and held alike
        idle = valid_key_latencies(server.url, key, PROBES_PER_ROUND)
        with HeldBodies(server.url, HELD_PER_CASE) as holders:
            held = valid_key_latencies(server.url, key, PROBES_PER_ROUND)
        ratios.append(p99(held) / p99(idle))
        answered += holders.answers

    print(
        f"\nvalid key with {HELD_PER_CASE} x {len(BODY_CASES)} held bodies: p99 held / idle "
        f"per round {[round(r, 2) for r in ratios]}; held connections answered: {answered}"
    )
    assert answered >= ROUNDS * HELD_PER_CASE * len(BODY_CASES)  # every holder was answered
    assert statistics.median(ratios) <= 2.0


def test_a_forwarded_script_name_from_loopback_changes_nothing(
    seeded: Project, server: FunctionServer
) -> None:
    key = mint_key(seeded)
    plain = http_get(f"{server.url}/models/gpt-5.2", {"X-Api-Key": key})
    elsewhere = http_get(
        f"{server.url}/models/gpt-5.2", {"X-Api-Key": key, "SCRIPT_NAME": "/nomatch"}
    )
    prefix = http_get(f"{server.url}/models/gpt-5.2", {"X-Api-Key": key, "SCRIPT_NAME": "/models"})

    assert plain[0] == elsewhere[0] == prefix[0] == 200
    assert plain[2] == elsewhere[2] == prefix[2]


def _json_lines(server: FunctionServer) -> list[dict[str, Any]]:
    lines = [line for line in server.log_lines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line the process wrote is JSON
