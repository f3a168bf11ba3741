"""Clients that hold connections open with request bodies, and a valid key's latency beside them.

Used by the tests, the system test against a deployment and `make bench` alike: `BODY_CASES`
are requests that announce a body and then send it slowly or never (`SLOW_HEAD` sends its head
a byte a second); `HeldBodies` keeps N connections of each case open from a separate process
(so its threads do not disturb the probe's timing), each holding its connection until the
server closes it and never reconnecting; `valid_key_latencies` times a valid key's requests on
one kept-alive connection.
URLs are `http://` or `https://`.
"""

from __future__ import annotations

import http.client
import multiprocessing
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.synchronize import Event
from typing import Any


@dataclass(frozen=True)
class BodyCase:
    """A request head announcing a body, then what follows it (sent a byte a second)."""

    name: str
    head: bytes
    trickle: bytes = b""


HOST_PLACEHOLDER = b"models.test"


def _head(*fields: str, method: str = "GET", path: str = "/models") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST_PLACEHOLDER.decode()}", *fields]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


BODY_CASES: Sequence[BodyCase] = (
    BodyCase("chunked, no body", _head("Transfer-Encoding: chunked")),
    BodyCase("Content-Length 100000, 1 byte/s", _head("Content-Length: 100000"), b"x" * 100000),
    BodyCase("Expect 100-continue, no body", _head("Expect: 100-continue", "Content-Length: 5")),
    BodyCase("Content-Length 0000000000005", _head("Content-Length: 0000000000005"), b"abcde"),
)


SLOW_HEAD = BodyCase("head at 1 byte/s", b"", _head("X-Api-Key: inf_slow"))


def _connect(url: str) -> socket.socket:
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    sock = socket.create_connection((parts.hostname, parts.port or (443 if secure else 80)), 30)
    if secure:
        return ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
    return sock


def for_host(case: BodyCase, url: str) -> BodyCase:
    """`case` with the Host header `url` names."""
    host = (urllib.parse.urlsplit(url).netloc or "models.test").encode()
    return replace(
        case,
        head=case.head.replace(HOST_PLACEHOLDER, host),
        trickle=case.trickle.replace(HOST_PLACEHOLDER, host),
    )


def _hold(url: str, case: BodyCase, stop: Event, tally: _Tally) -> None:
    """One connection: send the head, trickle the rest, keep the socket until `stop`.

    A holder does not reconnect once the server has answered and closed: what is measured is
    connections held open, not a flood of new ones (bench/key_flood.py measures floods). It is
    settled once answered, or once a second has passed without an answer.
    """
    case = for_host(case, url)
    settled = False

    def settle() -> None:
        nonlocal settled
        if not settled:
            settled = True
            tally.settle()

    try:
        with _connect(url) as sock:
            sock.sendall(case.head)
            sock.settimeout(1.0)
            position, received = 0, b""
            while not stop.is_set():
                try:
                    chunk = sock.recv(65536)
                except (TimeoutError, ssl.SSLWantReadError):
                    settle()
                    if position < len(case.trickle):
                        sock.send(case.trickle[position : position + 1])
                        position += 1
                    continue
                if not chunk:
                    break
                received += chunk
            if received:
                tally.answer()
            settle()
            stop.wait()
    except OSError:
        settle()


class _Tally:
    """Counts shared with the parent: holders settled, holders answered."""

    def __init__(self, settled: Any, answered: Any):
        self.settled = settled
        self.answered = answered

    def settle(self) -> None:
        with self.settled.get_lock():
            self.settled.value += 1

    def answer(self) -> None:
        with self.answered.get_lock():
            self.answered.value += 1


def _hold_all(
    url: str, cases: Sequence[BodyCase], per_case: int, stop: Event, tally: _Tally
) -> None:
    threads = [
        threading.Thread(target=_hold, args=(url, case, stop, tally), daemon=True)
        for case in cases
        for _ in range(per_case)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class HeldBodies:
    """`per_case` connections of every case (default: the body cases), from a separate process.

    Entering returns once every connection is open and settled (answered, or unanswered for a
    second), so what follows runs beside held connections, not beside their opening.
    """

    def __init__(self, url: str, per_case: int, cases: Sequence[BodyCase] = BODY_CASES):
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._holders = per_case * len(cases)
        self._tally = _Tally(context.Value("i", 0), context.Value("i", 0))
        self._process = context.Process(
            target=_hold_all, args=(url, list(cases), per_case, self._stop, self._tally)
        )

    def __enter__(self) -> HeldBodies:
        self._process.start()
        deadline = time.monotonic() + 60
        while self._tally.settled.value < self._holders and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._process.join(60)
        if self._process.is_alive():
            self._process.kill()

    @property
    def answers(self) -> int:
        """How many held connections got an answer before the server closed them."""
        return int(self._tally.answered.value)


def valid_key_latencies(url: str, key: str, count: int) -> list[float]:
    """Milliseconds of `count` valid-key requests in a row on one kept-alive connection."""
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    connection_class = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    connection = connection_class(parts.netloc, timeout=30)
    path = (parts.path.rstrip("/") or "") + "/models"
    latencies = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", path, headers={"X-Api-Key": key})
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
