"""A small bounded HTTP load generator (threads with keep-alive connections) for reliability
tests. It is not a benchmark tool (bench/ uses wrk); it counts outcomes and latencies."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    max_latency: float = 0.0
    bodies_with_traceback: int = 0

    @property
    def total(self) -> int:
        return sum(self.statuses.values()) + sum(self.errors.values())


def run_load(
    base_url: str,
    headers_for: Callable[[int], dict[str, str]],
    seconds: float,
    connections: int = 32,
    path: str = "/models",
    max_requests: int = 2_000_000,
) -> LoadResult:
    """Hit `path` from `connections` threads for `seconds` (bounded in time and count)."""
    parts = urlsplit(base_url)
    result = LoadResult()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    counter = iter(range(max_requests))

    host = parts.hostname or "127.0.0.1"

    def worker() -> None:
        connection = http.client.HTTPConnection(host, parts.port, timeout=10)
        while time.monotonic() < deadline:
            with lock:  # headers_for may use shared state (generators): one caller at a time
                number = next(counter, None)
                headers = headers_for(number) if number is not None else {}
            if number is None:
                break
            started = time.monotonic()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                status = response.status
                error = None
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection = http.client.HTTPConnection(host, parts.port, timeout=10)
                status, body, error = 0, b"", type(exc).__name__
            elapsed = time.monotonic() - started
            with lock:
                if error:
                    result.errors[error] += 1
                else:
                    result.statuses[status] += 1
                result.max_latency = max(result.max_latency, elapsed)
                if b"Traceback" in body:
                    result.bodies_with_traceback += 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def worker_pids(master_pid: int, timeout: float = 10.0) -> list[int]:
    """The gunicorn master's workers; waits for the first (the port opens before the fork)."""
    deadline = time.monotonic() + timeout
    while True:
        with open(f"/proc/{master_pid}/task/{master_pid}/children", encoding="ascii") as children:
            pids = [int(pid) for pid in children.read().split()]
        if pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.02)
