"""make bench-keys (also run by make bench): API key verification at scale and under a freeze.

(1) Simulation: the real verification code (KeyIndex + ApiKeyVerifier) for many instances in
    one process, on a counting in-memory store in place of Firestore, with a simulated clock.
    Keys are drawn Zipf(s = 1.1), requests routed to instances at random, 5,000 req/s in all,
    for 60 simulated seconds, with a key change every 10 s (alternately: a new key that clients
    start using at once, and a revocation). Prints Firestore reads per 1,000 requests for 1, 10
    and 100 instances x 1,000 and 100,000 keys, reads per instance start and per key change.
(2) Memory of one instance's index for 100,000 and 1,000,000 keys (tracemalloc).
(3) A real server process on the emulator: known-key latency p50/p99 healthy, then while the
    emulator is frozen (SIGSTOP) for 20 s, then after it resumes.
Environment: KEY_BENCH_SIM_SECONDS (60), KEY_BENCH_FREEZE_SECONDS (20), KEY_BENCH_SKIP_FREEZE.
"""

from __future__ import annotations

import bisect
import datetime as dt
import http.client
import itertools
import os
import random
import signal
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # not gRPC's notice when the emulator stops

from local_harness.key_store_double import CountingKeyStore  # noqa: E402
from local_harness.processes import FirestoreEmulator, FunctionServer  # noqa: E402
from local_harness.seeded_service import PEPPER, seed_and_mint_key, service_env  # noqa: E402
from models_api.auth.throttle import LookupBudget  # noqa: E402
from models_api.errors import Unauthenticated  # noqa: E402
from models_api.keys.documents import (  # noqa: E402
    INDEX_LAYOUT,
    IndexEntry,
    IndexHead,
    KeyRecord,
    StoredShard,
    encode_entries,
)
from models_api.keys.index import KeyIndex  # noqa: E402
from models_api.keys.key_format import display_prefix, generate_api_key, key_id_for  # noqa: E402
from models_api.keys.verifier import ApiKeyVerifier  # noqa: E402

RATE = 5000.0  # requests per second over all instances (as in issue 13's figures)
SIM_SECONDS = float(os.environ.get("KEY_BENCH_SIM_SECONDS", "60"))
CHANGE_EVERY = 10.0
REFRESH = 4.0  # API_KEY_REFRESH_SECONDS default
MEMO_ENTRIES = 10_000  # API_KEY_CACHE_MAX_ENTRIES default
FREEZE_SECONDS = float(os.environ.get("KEY_BENCH_FREEZE_SECONDS", "20"))
PEPPER_BYTES = PEPPER.encode()
NOW = dt.datetime.now(dt.timezone.utc)


class SimulatedClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run_inline(work: Callable[[], None]) -> None:
    work()


def _record(api_key: str, status: str = "active") -> KeyRecord:
    return KeyRecord(
        key_id=key_id_for(api_key, PEPPER_BYTES), owner="sim", label="",
        prefix=display_prefix(api_key), status=status, created_at=NOW, expires_at=None,
    )  # fmt: skip


def _instance(store: CountingKeyStore, clock: SimulatedClock) -> ApiKeyVerifier:
    index = KeyIndex(
        store, refresh_seconds=REFRESH, max_stale_seconds=3600, wait_seconds=3,
        clock=clock, run_in_background=_run_inline,
    )  # fmt: skip
    return ApiKeyVerifier(
        [lambda: PEPPER_BYTES], index, store, max_entries=MEMO_ENTRIES, wait_seconds=3,
        lookup_budget=LookupBudget(1e9, 1e9, clock=clock),  # the simulation counts every read
        clock=clock, wall_clock=lambda: NOW.timestamp() + clock.now,
    )  # fmt: skip


def simulate(instances: int, key_count: int, keys: list[str], seed: int = 1) -> dict[str, float]:
    """Reads of one run of the real code; the store is shared, instances are not."""
    rng = random.Random(seed)  # noqa: S311 - a simulation
    population = keys[:key_count]
    store = CountingKeyStore()
    store.put_many([_record(key) for key in population])
    clock = SimulatedClock()
    verifiers = [_instance(store, clock) for _ in range(instances)]
    cumulative = list(itertools.accumulate(1 / rank**1.1 for rank in range(1, key_count + 1)))
    total_weight = cumulative[-1]

    # Start every instance (the first request loads the index), then count from there.
    for verifier in verifiers:
        verifier.verify(population[0])
    start_reads = store.reads / instances
    store.reads = store.head_reads = store.shard_reads = store.key_reads = 0

    requests = int(SIM_SECONDS * RATE)
    next_change, changes, refused = CHANGE_EVERY, 0, 0
    for number in range(requests):
        clock.now = number / RATE
        if clock.now >= next_change:
            next_change += CHANGE_EVERY
            changes += 1
            if changes % 2:  # a new key, used at once by a popular client (rank 10)
                new_key = generate_api_key()
                store.put(_record(new_key))
                population[9] = new_key
            else:  # a revocation of some key in the tail
                victim = population[rng.randrange(100, key_count)] if key_count > 100 else None
                if victim is not None:
                    store.change(key_id_for(victim, PEPPER_BYTES), status="revoked")
        rank = bisect.bisect_left(cumulative, rng.random() * total_weight)
        try:
            verifiers[rng.randrange(instances)].verify(population[min(rank, key_count - 1)])
        except Unauthenticated:
            refused += 1
    polls = store.head_reads
    change_reads = store.shard_reads + store.key_reads
    return {
        "per_1000": 1000 * store.reads / requests,
        "polls_per_1000": 1000 * polls / requests,
        "start_reads": start_reads,
        "per_change": change_reads / max(changes, 1),
        # One start per instance per hour of this traffic, spread over that hour's requests.
        "with_starts_per_1000": 1000 * store.reads / requests
        + 1000 * start_reads * instances / (RATE * 3600),
        "requests": requests,
        "refused": refused,
    }


def print_simulation() -> None:
    print(
        f"\n(1) simulation: real KeyIndex + ApiKeyVerifier per instance, counting store, "
        f"{RATE:.0f} req/s routed at random, Zipf s=1.1, {SIM_SECONDS:.0f} simulated s, "
        f"refresh {REFRESH:.0f} s, a key change every {CHANGE_EVERY:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    keys = [generate_api_key() for _ in range(100_000)]
    print(
        "  instances x keys     reads/1k req (steady)  of which head polls  +1 start/h each"
        "  reads/start  reads/change"
    )
    for key_count in (1_000, 100_000):
        for instances in (1, 10, 100):
            result = simulate(instances, key_count, list(keys))
            print(
                f"  {instances:>9} x {key_count:<7}  {result['per_1000']:>20.2f}"
                f"  {result['polls_per_1000']:>19.2f}  {result['with_starts_per_1000']:>15.2f}"
                f"  {result['start_reads']:>11.0f}  {result['per_change']:>12.1f}",
                flush=True,
            )
    print(f"  ({time.perf_counter() - started:.0f} s of wall time)")


def index_memory(key_count: int) -> tuple[float, float]:
    """MiB held by one instance's loaded index, and the load's CPU time in ms (in process)."""
    rng = random.Random(key_count)  # noqa: S311 - a simulation
    shards: dict[str, dict[bytes, IndexEntry]] = {}
    for _ in range(key_count):
        digest = rng.randbytes(16)
        shards.setdefault(f"{digest[0]:02x}", {})[digest] = IndexEntry("active", 0)
    encoded = {name: encode_entries(entries) for name, entries in shards.items()}
    head = IndexHead(INDEX_LAYOUT, {name: "v1" for name in shards})
    del shards
    store = CountingKeyStore()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    # Fresh copies, as the Firestore client's response would be: afterwards only the index
    # holds them, so they count as its memory.
    store.shards = {
        name: StoredShard("v1", 1, bytes(bytearray(entries))) for name, entries in encoded.items()
    }
    store.head = head
    index = KeyIndex(store, refresh_seconds=REFRESH, max_stale_seconds=3600, wait_seconds=3)
    started = time.perf_counter()
    index.keep_current()
    load_ms = (time.perf_counter() - started) * 1000
    store.shards = {}
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(index.shard_versions) == len(head.shard_versions)
    return (after - before) / 2**20, load_ms


def emulator_load_ms(key_count: int, emulator: FirestoreEmulator) -> tuple[float, int]:
    """Instance start through the real Firestore client: head + every shard, from the emulator."""
    from google.cloud import firestore

    from models_api.backend.firestore import FirestoreBackend
    from models_api.keys.verifier import FirestoreKeyStore

    project = f"keys-load-{key_count}"
    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
    client = firestore.Client(project=project)
    rng = random.Random(key_count)  # noqa: S311 - a simulation
    shards: dict[str, dict[bytes, IndexEntry]] = {}
    for _ in range(key_count):
        digest = rng.randbytes(16)
        shards.setdefault(f"{digest[0]:02x}", {})[digest] = IndexEntry("active", 0)
    index_collection = client.collection("api_keys_index")
    for name, entries in shards.items():
        encoded = encode_entries(entries)
        index_collection.document(f"shard-{name}").set(StoredShard("v1", 1, encoded).to_document())
    index_collection.document("head").set(
        {"layout": INDEX_LAYOUT, "versions": {f"s{name}": "v1" for name in shards}}
    )
    backend = FirestoreBackend(project, "(default)", 30)
    index = KeyIndex(
        FirestoreKeyStore(backend, "api_keys"),
        refresh_seconds=REFRESH, max_stale_seconds=3600, wait_seconds=30,
    )  # fmt: skip
    backend.client()  # the client exists before the instance's first key request
    started = time.perf_counter()
    index.keep_current()
    elapsed_ms = (time.perf_counter() - started) * 1000
    for name, entries in shards.items():  # it really holds them: probe a few per shard
        for id_prefix in itertools.islice(entries, 3):
            assert index.lookup(id_prefix + b"\0" * 16) is not None, name
    return elapsed_ms, backend.reads.total


def print_memory() -> None:
    print("\n(2) memory per instance (the loaded index; tracemalloc) and instance start")
    emulator = FirestoreEmulator().start()
    try:
        for key_count in (100_000, 1_000_000):
            mib, _ = index_memory(key_count)
            load_ms, reads = emulator_load_ms(key_count, emulator)
            print(
                f"  {key_count:>9,} keys: index {mib:6.1f} MiB; start: {reads} reads, "
                f"{load_ms:.0f} ms to load through the Firestore client from the emulator"
            )
    finally:
        emulator.stop()
    print(
        f"  plus the verdict memo: at most {MEMO_ENTRIES:,} entries (API_KEY_CACHE_MAX_ENTRIES),"
        f" {_memo_mib():.1f} MiB when full, and as many remembered direct reads"
    )


def _memo_mib() -> float:
    store = CountingKeyStore()
    keys = [generate_api_key() for _ in range(MEMO_ENTRIES)]
    store.put_many([_record(key) for key in keys])
    verifier = _instance(store, SimulatedClock())
    verifier.verify(keys[0])
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for key in keys:
        verifier.verify(key)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / 2**20


def _paced_latencies(url: str, api_key: str, seconds: float, connections: int = 4) -> list[float]:
    """Each connection sends the key every 50 ms; returns every latency in ms (200s only)."""
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        while time.monotonic() < deadline:
            began = time.perf_counter()
            connection.request("GET", "/models", headers={"X-Api-Key": api_key})
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                (latencies if response.status == 200 else failures).append(
                    elapsed if response.status == 200 else response.status  # type: ignore[arg-type]
                )
            time.sleep(max(0.0, 0.05 - elapsed / 1000))
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        print(f"    non-200 answers: {sorted(set(failures))} x {len(failures)}")
    return latencies


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 of a list of latencies."""
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def print_freeze() -> None:
    print(
        f"\n(3) known key on a real server (WORKERS=1 THREADS=8, defaults: refresh 4 s, backend "
        f"deadline 3 s; catalog TTL 600 s so only keys are measured), 4 clients each every "
        f"50 ms; emulator frozen with SIGSTOP for {FREEZE_SECONDS:.0f} s",
        flush=True,
    )
    emulator = FirestoreEmulator().start()
    server: FunctionServer | None = None
    try:
        env = {**service_env("demo-keys-bench", emulator.host), "CATALOG_CACHE_TTL_SECONDS": "600"}
        key = seed_and_mint_key("demo-keys-bench", env)
        server = FunctionServer(env, 1, 8, log_path=ROOT / ".run" / "bench" / "keys.log").start()
        _paced_latencies(server.url, key, 2)  # warm-up
        phases: dict[str, list[float]] = {"healthy": _paced_latencies(server.url, key, 20)}
        os.kill(emulator.pid, signal.SIGSTOP)
        try:
            phases["frozen"] = _paced_latencies(server.url, key, FREEZE_SECONDS)
        finally:
            os.kill(emulator.pid, signal.SIGCONT)
        phases["resumed"] = _paced_latencies(server.url, key, 10)
    finally:
        if server is not None:
            server.stop()
        emulator.stop()
    healthy_p99 = percentiles(phases["healthy"])[1]
    for name, latencies in phases.items():
        p50, p99 = percentiles(latencies)
        print(
            f"  {name:8}: {len(latencies):5} x 200  p50 {p50:6.2f} ms  p99 {p99:7.2f} ms  "
            f"max {max(latencies):7.2f} ms  p99 / healthy p99 = {p99 / healthy_p99:.2f}x"
        )


def main() -> int:
    print_simulation()
    print_memory()
    if not os.environ.get("KEY_BENCH_SKIP_FREEZE"):
        print_freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
