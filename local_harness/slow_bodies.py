"""Clients that hold connections open with request bodies, and a valid key's latency beside them.

Used by the tests and `make bench` alike: `BODY_CASES` are requests that announce a body and
then send it slowly or never; `HeldBodies` keeps N connections of each case open from a separate
process (so its threads do not disturb the probe's timing), each reconnecting a second after the
server closes it; `valid_key_latencies` times a valid key's requests on one kept-alive
connection.
"""

from __future__ import annotations

import http.client
import multiprocessing
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Event


@dataclass(frozen=True)
class BodyCase:
    """A request head announcing a body, then what follows it (sent a byte a second)."""

    name: str
    head: bytes
    trickle: bytes = b""


def _head(*fields: str, method: str = "GET", path: str = "/models") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: models.test", *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


BODY_CASES: Sequence[BodyCase] = (
    BodyCase("chunked, no body", _head("Transfer-Encoding: chunked")),
    BodyCase("Content-Length 100000, 1 byte/s", _head("Content-Length: 100000"), b"x" * 100000),
    BodyCase("Expect 100-continue, no body", _head("Expect: 100-continue", "Content-Length: 5")),
    BodyCase("Content-Length 0000000000005", _head("Content-Length: 0000000000005"), b"abcde"),
)


def _hold(port: int, case: BodyCase, stop: Event, answers: list[int]) -> None:
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(case.head)
                sock.settimeout(1.0)
                position, received = 0, b""
                while not stop.is_set():
                    try:
                        chunk = sock.recv(65536)
                    except TimeoutError:
                        if position < len(case.trickle):
                            sock.send(case.trickle[position : position + 1])
                            position += 1
                        continue
                    if not chunk:
                        break
                    received += chunk
                if received:
                    answers.append(1)
        except OSError:
            pass
        stop.wait(1.0)


def _hold_all(port: int, per_case: int, stop: Event, ready: Event, counter: object) -> None:
    answers: list[int] = []
    threads = [
        threading.Thread(target=_hold, args=(port, case, stop, answers), daemon=True)
        for case in BODY_CASES
        for _ in range(per_case)
    ]
    for thread in threads:
        thread.start()
    ready.set()
    for thread in threads:
        thread.join()
    counter.value = len(answers)  # type: ignore[attr-defined]


class HeldBodies:
    """`per_case` connections of every body case, held from a separate process."""

    def __init__(self, port: int, per_case: int):
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._ready = context.Event()
        self._answers = context.Value("i", 0)
        self._process = context.Process(
            target=_hold_all, args=(port, per_case, self._stop, self._ready, self._answers)
        )

    def __enter__(self) -> HeldBodies:
        self._process.start()
        self._ready.wait(30)
        time.sleep(2.0)  # every connection is open and has been answered once
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._process.join(60)
        if self._process.is_alive():
            self._process.kill()

    @property
    def answers(self) -> int:
        """How many held connections got an answer before the server closed them."""
        return int(self._answers.value)


def valid_key_latencies(port: int, key: str, count: int) -> list[float]:
    """Milliseconds of `count` valid-key requests in a row on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", "/models", headers={"X-Api-Key": key})
            response = connection.getresponse()
            response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise AssertionError(f"valid key answered {response.status}")
    finally:
        connection.close()
    return latencies


def p99(latencies: Sequence[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
