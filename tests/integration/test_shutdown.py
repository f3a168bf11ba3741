"""SIGTERM, as Cloud Run sends it: every connection is served or refused, none is reset.

Cloud Run sends SIGTERM to the container's first process (the gunicorn master) and SIGKILL
10 s later. Connections made around the SIGTERM must get a whole answer, or be refused at
connect: from the signal on, the listening socket drops new SYNs (the client retries its SYN and
is refused once the socket is closed), and what the kernel had already completed is accepted
and served (models_api/serving_worker.py). Before, a connection the kernel completed during
the drain was reset when the last worker closed the socket.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from local_harness.processes import FunctionServer
from tests.conftest import Project, mint_key

# A reset without a wait ("closed") would be a connection the kernel completed after the last
# worker's last look at the queue; with new SYNs dropped from the signal on, none is expected.
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


def test_connections_around_sigterm_are_served_or_refused_never_stranded(
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
    time.sleep(0.1)
    half_sent.sendall(f"X-Api-Key: {key}\r\nConnection: close\r\n\r\n".encode())
    # Read to the end and close, as clients do: gunicorn's event loop waits (up to 2 s) for a
    # client to close after a `Connection: close` answer, and serves nothing else meanwhile.
    half_sent_answer = _read_until_closed(half_sent)
    kept_alive.request("GET", "/models", headers={"X-Api-Key": key})
    reused = kept_alive.getresponse()
    reused_body = reused.read()
    exit_code = server.wait()
    stop_probing.set()
    prober.join(timeout=30)
    idle.close()

    assert exit_code == 0
    assert half_sent_answer.startswith(b"HTTP/1.1 200 ")
    assert json.loads(half_sent_answer.split(b"\r\n\r\n", 1)[1])["models"]
    assert reused.status == 200 and json.loads(reused_body)["models"]
    assert reused.getheader("Connection") == "close"  # a stopping worker closes after answering
    after = [o for o in outcomes if o.started > signalled]
    print(f"\nafter SIGTERM: {[o.kind for o in after]}")
    assert [o for o in outcomes if o.kind not in ("served", "refused")] == []
    assert any(o.kind == "served" for o in outcomes if o.started < signalled)
    assert after and after[-1].kind == "refused"  # new connections wait, then are refused


def _read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    sock.close()
    return b"".join(chunks)


def test_under_load_no_connection_is_reset_by_the_shutdown(
    seeded: Project, server: FunctionServer
) -> None:
    """16 clients, as wrk runs them (kept-alive connections, a new one after `Connection:
    close`), request without pause while the master gets SIGTERM."""
    key = mint_key(seeded)
    assert attempt(server.port, key).kind == "served"
    counts = {"served": 0, "refused": 0, "reset": 0, "closed on reuse": 0}
    failures: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        connection: http.client.HTTPConnection | None = None
        reused = False
        while True:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
                reused = False
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
                # a reset): clients retry these (RFC 9112 9.3.1). Never on a new connection.
                kind, closing = ("closed on reuse" if reused else "closed new"), True
            except OSError as error:
                kind, closing = (
                    ("reset" if isinstance(error, ConnectionResetError) else repr(error)),
                    True,
                )
            with lock:
                counts[kind] = counts.get(kind, 0) + 1
                if kind not in ("served", "refused", "closed on reuse"):
                    failures.append(kind)
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
    os.kill(server.pid, signal.SIGTERM)
    exit_code = server.wait()
    for thread in clients:
        thread.join(timeout=30)
    print(f"\n{counts}")

    assert exit_code == 0
    assert failures == []
    assert counts["served"] > 16 and counts["refused"] == 16
