"""SIGTERM, as Cloud Run sends it: what the stock server was given before the signal is served.

Cloud Run sends SIGTERM to the container's first process (the gunicorn master) and SIGKILL
10 s later, and it stops routing requests to an instance before it stops it
(docs/reliability.md#shutdown). So the server's part is what it already has: requests in
flight, half sent, or sent on a kept-alive connection are answered, and it exits by itself
well before the SIGKILL. New connections after the signal are the platform's to route
elsewhere: they are counted and printed, not asserted.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from local_harness.processes import FunctionServer
from tests.conftest import Project, mint_key

# A failure this soon ("closed") is a reset at once; later ones are "stranded".
NO_STALL_SECONDS = 0.5


@dataclass
class Outcome:
    started: float
    kind: str  # "served", "refused" (at connect), "closed" (at once, no answer) or "stranded"
    status: int = 0
    detail: str = ""


def attempt(port: int, key: str) -> Outcome:
    """One new connection, one request; what became of it."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.connect()
    except ConnectionRefusedError:
        return Outcome(started, "refused")
    try:
        connection.request("GET", "/models", headers={"X-Api-Key": key})
        response = connection.getresponse()
        body = response.read()
        models = json.loads(body)["models"] if response.status == 200 else None
        kind = "served" if models else "stranded"
        return Outcome(started, kind, response.status, f"{len(body)} bytes")
    except (OSError, http.client.HTTPException) as error:
        waited = time.monotonic() - started
        kind = "closed" if waited < NO_STALL_SECONDS else "stranded"
        return Outcome(started, kind, detail=f"{type(error).__name__} after {waited:.2f} s")
    finally:
        connection.close()


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def server(seeded: Project, request: pytest.FixtureRequest) -> Iterator[FunctionServer]:
    running = FunctionServer(seeded.service_env(), workers=request.param, threads=4).start()
    yield running
    running.stop()


def test_what_the_server_has_at_sigterm_is_answered_and_it_exits_in_time(
    seeded: Project, server: FunctionServer
) -> None:
    key = mint_key(seeded)
    assert attempt(server.port, key).kind == "served"  # warm: key and catalog cached
    # Keep-alive connections, as a proxy pools them: one stays idle (a worker keeps it up to
    # 2 s into its drain), the other is reused after the signal.
    idle, kept_alive = (
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=15) for _ in range(2)
    )
    for connection in (idle, kept_alive):
        connection.request("GET", "/models", headers={"X-Api-Key": key})
        connection.getresponse().read()
    # A request half sent when the signal arrives.
    half_sent = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    half_sent.sendall(b"GET /models HTTP/1.1\r\nHost: t\r\n")

    outcomes: list[Outcome] = []
    stop_probing = threading.Event()

    def probe() -> None:  # a new connection every 20 ms until the server is gone
        while not stop_probing.is_set():
            outcomes.append(attempt(server.port, key))
            if outcomes[-1].kind == "refused" and len(outcomes) > 1:
                if outcomes[-2].kind == "refused":
                    return
            time.sleep(0.02)

    prober = threading.Thread(target=probe)
    prober.start()
    time.sleep(0.2)
    signalled = time.monotonic()
    os.kill(server.pid, signal.SIGTERM)  # the master only, as Cloud Run does
    time.sleep(0.05)
    half_sent.sendall(f"X-Api-Key: {key}\r\nConnection: close\r\n\r\n".encode())
    # Read to the end and close, as clients do: gunicorn's event loop waits (up to 2 s) for a
    # client to close after a `Connection: close` answer, and serves nothing else meanwhile.
    half_sent_answer = _read_until_closed(half_sent)
    kept_alive.request("GET", "/models", headers={"X-Api-Key": key})
    reused = kept_alive.getresponse()
    reused_body = reused.read()
    exit_code = server.wait()
    exited_after = time.monotonic() - signalled
    stop_probing.set()
    prober.join(timeout=30)
    idle.close()

    assert exit_code == 0
    assert half_sent_answer.startswith(b"HTTP/1.1 200 ")
    assert json.loads(half_sent_answer.split(b"\r\n\r\n", 1)[1])["models"]
    assert reused.status == 200 and json.loads(reused_body)["models"]
    assert reused.getheader("Connection") == "close"  # a stopping worker closes after answering
    after = [o for o in outcomes if o.started > signalled]
    before = [o for o in outcomes if o.started <= signalled - 0.05]
    print(f"\nafter SIGTERM ({exited_after:.2f} s to exit): {[o.kind for o in after]}")
    assert before and all(o.kind == "served" for o in before)
    assert exited_after < 10  # Cloud Run's SIGKILL


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


def test_under_load_every_request_sent_before_sigterm_is_answered(
    seeded: Project, server: FunctionServer
) -> None:
    """16 clients, as wrk runs them (kept-alive connections, a new one after `Connection:
    close`), request without pause while the master gets SIGTERM."""
    key = mint_key(seeded)
    assert attempt(server.port, key).kind == "served"
    signalled = [float("inf")]
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    lock = threading.Lock()

    def client() -> None:
        connection: http.client.HTTPConnection | None = None
        reused = False
        while True:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
                reused = False
            started = time.monotonic()
            try:
                connection.request("GET", "/models", headers={"X-Api-Key": key})
                response = connection.getresponse()
                response.read()
                kind = "served" if response.status == 200 else f"status {response.status}"
                closing = response.getheader("Connection") == "close"
            except ConnectionRefusedError:
                kind, closing = "refused", True
            except http.client.RemoteDisconnected:
                # The server closed a kept-alive connection as the request crossed it (EOF, not
                # a reset): clients retry these (RFC 9112 9.3.1).
                kind, closing = ("closed on reuse" if reused else "closed new"), True
            except OSError as error:
                kind, closing = type(error).__name__, True
            with lock:
                (before if started < signalled[0] else after)[kind] += 1
            if closing:
                connection.close()
                connection = None
            else:
                reused = True
            if kind == "refused":
                return

    clients = [threading.Thread(target=client) for _ in range(16)]
    for thread in clients:
        thread.start()
    time.sleep(1.0)
    signalled[0] = time.monotonic()
    os.kill(server.pid, signal.SIGTERM)
    exit_code = server.wait()
    for thread in clients:
        thread.join(timeout=30)
    print(f"\nsent before SIGTERM: {dict(before)}; after: {dict(after)}")

    assert exit_code == 0
    assert set(before) <= {"served", "closed on reuse"} and before["served"] > 16
