"""No credential in any line the server process writes, whatever route a request takes.

An API key, an ID token (Bearer) and an App Check token are sent in the path, in headers and
in a bad body, through every kind of request: served, refused for its body, malformed in its
framing, refused by gunicorn itself, answered by Flask, and with a forwarded SCRIPT_NAME. The
process's whole stdout and stderr are then read: every line is JSON, and no credential is in it.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
from collections.abc import Iterator

import pytest

from local_harness.processes import FunctionServer
from local_harness.slow_bodies import BODY_CASES
from tests.conftest import Project, mint_key


@pytest.fixture
def server(seeded: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(seeded.service_env(), workers=1, threads=4).start()
    yield running
    running.stop()


def _jwt_shaped() -> str:
    def part(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part(b'{"alg":"RS256","kid":"k1","typ":"JWT"}')
    return f"{header}.{part(secrets.token_bytes(90))}.{part(secrets.token_bytes(256))}"


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        sock.settimeout(5)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:  # a kept-alive connection: the answer is in
            pass
    return b"".join(chunks)


def _requests(credential: str) -> list[bytes]:
    headers = (
        f"Host: t\r\nX-Api-Key: {credential}\r\nAuthorization: Bearer {credential}\r\n"
        f"X-Firebase-AppCheck: {credential}\r\nUser-Agent: {credential}\r\n"
        f"X-Request-Id: {credential}\r\nCookie: session={credential}\r\n"
    )
    body = f"token={credential}".encode()
    length = f"Content-Length: {len(body)}\r\n"
    close = "Connection: close\r\n\r\n"
    path = f"/models/{credential}"
    requests = [
        f"GET {path} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n".encode(),
        f"GET /models HTTP/1.1\r\n{headers}Connection: close\r\n\r\n".encode(),
        f"POST {path} HTTP/1.1\r\n{headers}{length}\r\n".encode() + body,
        f"GET /favicon.ico/{credential} HTTP/1.1\r\n{headers}Connection: close\r\n\r\n".encode(),
        f"GET {path} HTTP/1.1\r\n{headers}SCRIPT_NAME: /nomatch\r\n{close}".encode(),
        f"GET {path} HTTP/1.1\r\n{headers}Transfer-Encoding: chunked\r\n\r\nzz\r\n".encode() + body,
        f"GET {path} HTTP/9.9\r\n{headers}\r\n".encode(),
        f"GET {path} HTTP/1.1\r\n{headers}Bad Header {credential}\r\n\r\n".encode(),
        f"GET {path} HTTP/1.1\r\n{headers}Content-Length: 5\r\nContent-Length: 5\r\n\r\n".encode(),
    ]
    for case in BODY_CASES:
        head = case.head.replace(b"/models", path.encode(), 1)
        head = head.replace(b"Host: models.test\r\n", headers.encode(), 1)
        requests.append(head + body)
    return requests


def test_no_key_or_token_reaches_any_line_the_process_writes(
    seeded: Project, server: FunctionServer
) -> None:
    credentials = [mint_key(seeded), _jwt_shaped(), _jwt_shaped()]  # key, ID token, App Check
    answers = [
        _exchange(server.port, request)
        for credential in credentials
        for request in _requests(credential)
    ]
    server.stop()

    assert all(answer.startswith(b"HTTP/1.1 ") for answer in answers)
    lines = [line for line in server.log_lines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    log = "\n".join(lines)
    for credential in credentials:
        secret_part = credential[12:] if credential.startswith("inf_") else credential[-40:]
        assert secret_part not in log
    access_lines = [entry for entry in entries if "httpRequest" in entry]
    assert len(access_lines) >= 3 * 6  # the requests the service answered were logged
    assert all(entry.get("request_id") for entry in access_lines)
    assert f"/models/{credentials[0][:12]}[REDACTED]" in log  # the display prefix stays
