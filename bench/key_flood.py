"""make bench-flood: a flood of distinct unknown API keys from many addresses, against a real
server process on the emulator, measured against the same server idle in the same run.

Two configurations, each on its own server (WORKERS=1 THREADS=8, TRUSTED_PROXY_HOPS=1, defaults
otherwise): the default lookup budget, and API_KEY_LOOKUPS_PER_SECOND=100000 (every unknown
key is read: what the budget saves). Each runs paired rounds of two windows:
  idle      a valid key only (4 clients, each a request every 50 ms)
  flooded   the same valid-key clients, plus FLOOD_RATE req/s of distinct well-formed unknown
            keys over 8 connections (from a separate process, so the probes' timing is not
            disturbed by the flood's own threads): half from one flooding address, half each from
            a new address (X-Forwarded-For, one trusted hop); one valid-key client sends from the
            flooding address
Prints, per round, the valid key's p50/p99 idle and flooded and their ratio, the valid key's
answers (also from the flooding address), the flood's answers by status, and Firestore reads per
second (the server's own count, from its request log); then the median and range of the p99
ratios.
Environment: KEY_FLOOD_SECONDS (10 per window), KEY_FLOOD_ROUNDS (3), KEY_FLOOD_RATE (250).
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from bench.key_verification import percentiles  # noqa: E402
from local_harness.processes import FirestoreEmulator, FunctionServer  # noqa: E402
from local_harness.seeded_service import seed_and_mint_key, service_env  # noqa: E402
from models_api.keys.key_format import generate_api_key  # noqa: E402

SECONDS = float(os.environ.get("KEY_FLOOD_SECONDS", "10"))
ROUNDS = int(os.environ.get("KEY_FLOOD_ROUNDS", "3"))
FLOOD_RATE = float(os.environ.get("KEY_FLOOD_RATE", "250"))
FLOOD_CONNECTIONS = 8
FLOODER = "203.0.113.66"
BUDGET_PER_SECOND = 5.0  # API_KEY_LOOKUPS_PER_SECOND default
PROJECT = "demo-key-flood"


@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    valid_statuses: Counter[int] = field(default_factory=Counter)
    from_flooder: Counter[int] = field(default_factory=Counter)
    flood_statuses: Counter[int] = field(default_factory=Counter)
    reads: int = 0
    seconds: float = 0.0


def _paced(
    url: str,
    headers_for: Callable[[], dict[str, str]],
    interval: float,
    until: float,
    record: Callable[[int, float], None],
) -> None:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    next_at = time.monotonic()
    while next_at < until:
        time.sleep(max(0.0, next_at - time.monotonic()))
        began = time.perf_counter()
        try:
            connection.request("GET", "/models", headers=headers_for())
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection(host, int(port), timeout=30)
            status = 0
        record(status, (time.perf_counter() - began) * 1000)
        next_at += interval
    connection.close()


def _flood(url: str, until_wall: float, results: multiprocessing.Queue[dict[int, int]]) -> None:
    """FLOOD_RATE req/s of distinct unknown keys: every other one from FLOODER, the rest each
    from a new address. Runs in its own process."""
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    numbers = itertools.count()
    until = time.monotonic() + (until_wall - time.time())

    def unknown() -> dict[str, str]:
        with lock:
            number = next(numbers)
        # The one trusted hop (a load balancer) appends the address it saw: the last entry.
        address = (
            FLOODER if number % 2 else f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"
        )
        return {"X-Api-Key": generate_api_key(), "X-Forwarded-For": address}

    def flooded(status: int, _: float) -> None:
        with lock:
            statuses[status] += 1

    interval = FLOOD_CONNECTIONS / FLOOD_RATE
    threads = [
        threading.Thread(target=_paced, args=(url, unknown, interval, until, flooded))
        for _ in range(FLOOD_CONNECTIONS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(dict(statuses))


def _reads_total(server: FunctionServer) -> int:
    total = 0
    for line in server.log_lines():
        if line.startswith("{") and '"firestore_reads_total"' in line:
            total = max(total, int(json.loads(line)["firestore_reads_total"]))
    return total


def _window(server: FunctionServer, key: str, flood: bool) -> Phase:
    """One window of SECONDS: the valid-key clients, and the flood if asked."""
    phase = Phase()
    lock = threading.Lock()
    reads_before = _reads_total(server)
    started = time.monotonic()
    until = started + SECONDS
    results: multiprocessing.Queue[dict[int, int]] = multiprocessing.Queue()
    flood_process = multiprocessing.Process(
        target=_flood, args=(server.url, time.time() + SECONDS, results)
    )

    def valid(status: int, elapsed: float) -> None:
        with lock:
            phase.valid_statuses[status] += 1
            if status == 200:
                phase.latencies_ms.append(elapsed)

    def valid_from_flooder(status: int, elapsed: float) -> None:
        valid(status, elapsed)
        with lock:
            phase.from_flooder[status] += 1

    def client(headers: dict[str, str], record: Callable[[int, float], None]) -> threading.Thread:
        return threading.Thread(
            target=_paced, args=(server.url, lambda: headers, 0.05, until, record)
        )

    threads = [client({"X-Api-Key": key}, valid) for _ in range(3)]
    threads.append(client({"X-Api-Key": key, "X-Forwarded-For": FLOODER}, valid_from_flooder))
    if flood:
        flood_process.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if flood:
        phase.flood_statuses.update(results.get(timeout=60))
        flood_process.join(10)
    phase.seconds = time.monotonic() - started
    time.sleep(0.3)  # the last log lines
    phase.reads = _reads_total(server) - reads_before
    return phase


def run_configuration(
    emulator: FirestoreEmulator, key: str, name: str, extra: dict[str, str]
) -> list[tuple[Phase, Phase]]:
    """ROUNDS pairs of (idle window, flood window) on one server."""
    env = {
        **service_env(PROJECT, emulator.host),
        "TRUSTED_PROXY_HOPS": "1",
        "CATALOG_CACHE_TTL_SECONDS": "600",  # only keys are measured
        **extra,
    }
    log = ROOT / ".run" / "bench" / f"flood-{name}.log"
    log.unlink(missing_ok=True)  # the reads are counted from this run's lines only
    server = FunctionServer(env, 1, 8, log_path=log).start()
    try:
        _paced(server.url, lambda: {"X-Api-Key": key}, 0.05, time.monotonic() + 2, lambda *_: None)
        pairs = []
        for _ in range(ROUNDS):
            idle = _window(server, key, flood=False)
            time.sleep(1)
            pairs.append((idle, _window(server, key, flood=True)))
            time.sleep(1)
        return pairs
    finally:
        server.stop()


def main() -> int:
    print(
        f"key flood: {ROUNDS} rounds of {SECONDS:.0f} s idle then {SECONDS:.0f} s flooded, per "
        f"configuration; flood {FLOOD_RATE:.0f} req/s of distinct unknown keys over "
        f"{FLOOD_CONNECTIONS} connections, half from {FLOODER}, half each from a new address; "
        f"valid key from 4 clients every 50 ms, one of them from {FLOODER}",
        flush=True,
    )
    emulator = FirestoreEmulator().start()
    try:
        key = seed_and_mint_key(PROJECT, service_env(PROJECT, emulator.host))
        configurations = {
            "budget": run_configuration(emulator, key, "budget", {}),
            "no budget": run_configuration(
                emulator,
                key,
                "no-budget",
                {"API_KEY_LOOKUPS_PER_SECOND": "100000", "API_KEY_LOOKUP_BURST": "100000"},
            ),
        }
    finally:
        emulator.stop()
    for name, pairs in configurations.items():
        budget = BUDGET_PER_SECOND if name == "budget" else 100000
        print(f"  {name} (API_KEY_LOOKUPS_PER_SECOND {budget:g}):")
        ratios = []
        for number, (idle, flooded) in enumerate(pairs, 1):
            idle_p50, idle_p99 = percentiles(idle.latencies_ms)
            p50, p99 = percentiles(flooded.latencies_ms)
            ratios.append(p99 / idle_p99)
            print(
                f"    round {number}: valid key p50 {idle_p50:5.2f} -> {p50:5.2f} ms, p99 "
                f"{idle_p99:6.2f} -> {p99:6.2f} ms ({p99 / idle_p99:4.2f}x); valid answers "
                f"{dict(flooded.valid_statuses)}, from {FLOODER} {dict(flooded.from_flooder)}; "
                f"flood {dict(sorted(flooded.flood_statuses.items()))}; Firestore reads "
                f"{flooded.reads / flooded.seconds:5.1f}/s flooded, "
                f"{idle.reads / idle.seconds:4.1f}/s idle",
                flush=True,
            )
        print(
            f"    p99 flooded / idle: median {statistics.median(ratios):.2f}x "
            f"(range {min(ratios):.2f}-{max(ratios):.2f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
