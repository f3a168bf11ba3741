"""make bench (last line): a valid key's latency while clients hold request bodies open.

One server (WORKERS x THREADS, as bench/run_bench.py) on the Firestore emulator. Paired rounds:
PROBES valid-key requests in a row idle, then the same while SLOW_BODIES_PER_CASE connections of
each body case in local_harness/slow_bodies.py (chunked with no body, Content-Length 100000 at a
byte a second, Expect 100-continue with no body, Content-Length 0000000000005) are held open.
Prints each round's p50/p99 idle and held and the p99 ratio, then the median and range of the
ratios. Environment: BENCH_ROUNDS (3), WORKERS (2), THREADS (4), SLOW_BODIES_PER_CASE (20).
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from local_harness.processes import FirestoreEmulator, FunctionServer  # noqa: E402
from local_harness.seeded_service import seed_and_mint_key, service_env  # noqa: E402
from local_harness.slow_bodies import BODY_CASES, HeldBodies, p99, valid_key_latencies  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PER_CASE = int(os.environ.get("SLOW_BODIES_PER_CASE", "20"))
PROBES = 200
PROJECT = "demo-bench-bodies"


def main() -> int:
    emulator = FirestoreEmulator().start()
    server = None
    try:
        env = service_env(PROJECT, emulator.host)
        key = seed_and_mint_key(PROJECT, env)
        workers, threads = os.environ.get("WORKERS", "2"), os.environ.get("THREADS", "4")
        server = FunctionServer(env, workers=workers, threads=threads).start()
        valid_key_latencies(server.url, key, 50)  # warm
        print(
            f"valid key beside {PER_CASE} held connections x {len(BODY_CASES)} body cases "
            f"(WORKERS={workers} THREADS={threads}, {PROBES} requests per window):"
        )
        ratios = []
        for number in range(1, ROUNDS + 1):
            idle = valid_key_latencies(server.url, key, PROBES)
            with HeldBodies(server.url, PER_CASE) as holders:
                held = valid_key_latencies(server.url, key, PROBES)
            ratios.append(p99(held) / p99(idle))
            print(
                f"  round {number}: p50 {statistics.median(idle):5.2f} -> "
                f"{statistics.median(held):5.2f} ms, p99 {p99(idle):6.2f} -> {p99(held):6.2f} ms "
                f"({ratios[-1]:.2f}x); held connections answered {holders.answers}"
            )
        print(
            f"  p99 held / idle: median {statistics.median(ratios):.2f}x "
            f"(range {min(ratios):.2f}-{max(ratios):.2f})"
        )
    finally:
        if server is not None:
            server.stop()
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
