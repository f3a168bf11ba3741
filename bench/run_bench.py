"""make bench: our service against the limit of its own server stack, measured in one run.

(a) functions-framework serving precomputed bytes of the same size as our catalog response;
(b) our service on the Firestore emulator with a cached valid key; (c) the same service with
`Accept-Encoding: gzip, br` (it answers with its precompressed brotli bytes). Same server
settings (WORKERS x THREADS), same load generator (wrk), alternating a, b, c, a, b, c. Prints
req/s, p50, p99 and the ratios b/a, c/b and c/a; bytes on the wire per content coding for our
catalog and for a generated 300-model catalog; Firestore document reads per 1,000 requests at
steady state (counted by the service and logged per worker); reads caused by malformed keys;
cold start of (b) vs a bare hello; peak RSS of the workers.
Each ratio is the median over rounds of b/a (or c/b, c/a) within a round (run back to back), which
cancels the machine's slow drifts; the per-round lines also show how the load split across
the workers, since gunicorn leaves the spread of wrk's long-lived connections to chance.
Environment: BENCH_SECONDS (6), BENCH_CONNECTIONS (32), WORKERS (2), THREADS (4), BENCH_ROUNDS (7).
`--settings-matrix` also compares WORKERS x THREADS settings for our service.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.wire_bytes import report as report_wire_bytes  # noqa: E402
from bench.wire_bytes import seed_generated_catalog  # noqa: E402
from local_harness.keys import with_bad_checksum  # noqa: E402
from local_harness.load import worker_pids  # noqa: E402
from local_harness.processes import FirestoreEmulator, FunctionServer  # noqa: E402
from local_harness.seeded_service import seed_and_mint_key, service_env  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "6"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
WORKERS = os.environ.get("WORKERS", "2")
THREADS = os.environ.get("THREADS", "4")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
RUN_DIR = ROOT / ".run" / "bench"
PROJECT = "demo-bench"
LARGE_PROJECT, LARGE_CATALOG_MODELS = "demo-bench-large", 300


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk from the OS packages ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"], check=True, stdout=subprocess.DEVNULL
    )
    return shutil.which("wrk") or sys.exit("wrk could not be installed")


class Server(FunctionServer):
    """A bench server: its log in .run/bench, and its workers' peak memory."""

    def __init__(self, source: Path, env: dict[str, str], name: str, workers: str, threads: str):
        super().__init__(env, workers, threads, source=source, log_path=RUN_DIR / f"{name}.log")
        self.log = self.log_path

    def peak_rss_mib(self) -> list[float]:
        peaks = []
        for pid in worker_pids(self.pid):
            status = Path(f"/proc/{pid}/status").read_text()
            match = re.search(r"VmHWM:\s+(\d+) kB", status)
            if match:
                peaks.append(int(match.group(1)) / 1024)
        return peaks

    def cpu_seconds(self) -> list[float]:
        """User + system CPU time of each worker so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        times = []
        for pid in worker_pids(self.pid):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            times.append((int(fields[11]) + int(fields[12])) / ticks)
        return times


def wrk(binary: str, url: str, headers: dict[str, str], seconds: int) -> dict[str, float]:
    command = [binary, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "requests": float(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
        "non_2xx": 0.0,
    }
    for percentile in ("50", "99"):
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        result[f"p{percentile}_ms"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        result["non_2xx"] = float(non_2xx.group(1))
    return result


def reads_by_worker(log: Path) -> dict[int, int]:
    """Last `firestore_reads_total` each worker logged, and its request count."""
    last: dict[int, int] = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith('{"severity"') and '"firestore_reads_total"' in line:
            entry = json.loads(line)
            last[entry["pid"]] = entry["firestore_reads_total"]
    return last


def requests_by_worker(log: Path, offset: int) -> tuple[dict[int, int], int]:
    counts: dict[int, int] = defaultdict(int)
    with log.open("rb") as handle:
        handle.seek(offset)
        for line in handle:
            if line.startswith(b'{"severity"'):
                counts[json.loads(line)["pid"]] += 1
        return dict(counts), handle.tell()


def cold_start_seconds(
    source: Path, env: dict[str, str], headers: dict[str, str], name: str, expect: int = 200
) -> float:
    """Process start until the first response with status `expect`."""
    server = Server(source, env, name, workers="1", threads=THREADS)
    started = server.spawn()
    request = urllib.request.Request(server.url + "/models", headers=headers)
    try:
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    if response.status == expect:
                        return time.perf_counter() - started
            except urllib.error.HTTPError as error:
                error.close()
                if error.code == expect:
                    return time.perf_counter() - started
                time.sleep(0.002)
            except OSError:
                time.sleep(0.002)
    finally:
        server.stop()


FIRESTORE_IMPORT = """
import time, functions_framework, flask, models_api.app
started = time.perf_counter()
from google.cloud import firestore
print(time.perf_counter() - started)
"""


def firestore_import_seconds() -> float:
    """What importing google-cloud-firestore adds in a worker that has the rest loaded."""
    command = [sys.executable, "-c", FIRESTORE_IMPORT]
    output = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(output.stdout.strip())


SETTINGS_MATRIX = [("1", "8"), ("2", "4"), ("2", "8"), ("4", "2"), ("2", "1")]


def settings_matrix(binary: str, env: dict[str, str], headers: dict[str, str]) -> None:
    """Our service under several WORKERS x THREADS settings, alternating, same load."""
    print(f"\nserver settings (our service, wrk -c{CONNECTIONS}, {SECONDS} s, best of {ROUNDS}):")
    best: dict[tuple[str, str], dict[str, float]] = {}
    for _ in range(ROUNDS):
        for workers, threads in SETTINGS_MATRIX:
            server = Server(ROOT / "main.py", env, f"m{workers}x{threads}", workers, threads)
            server.start()
            try:
                wrk(binary, server.url + "/models", headers, 2)
                result = wrk(binary, server.url + "/models", headers, SECONDS)
            finally:
                server.stop()
            key = (workers, threads)
            if key not in best or result["rps"] > best[key]["rps"]:
                best[key] = result
    for (workers, threads), result in best.items():
        print(
            f"  WORKERS={workers} THREADS={threads}: {result['rps']:7.0f} req/s  "
            f"p99 {result['p99_ms']:6.2f} ms"
        )


def main() -> int:
    binary = ensure_wrk()
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    for old in RUN_DIR.glob("*.log"):
        old.unlink()
    emulator = FirestoreEmulator().start()
    env = service_env(PROJECT, emulator.host)
    servers: list[Server] = []
    try:
        key = seed_and_mint_key(PROJECT, env)
        headers = {"X-Api-Key": key}
        compressed_headers = {**headers, "Accept-Encoding": "gzip, br"}

        service = Server(ROOT / "main.py", env, "service", WORKERS, THREADS).start()
        servers.append(service)
        with urllib.request.urlopen(
            urllib.request.Request(service.url + "/models", headers=headers)
        ) as r:  # noqa: S310
            body = r.read()
        body_path = RUN_DIR / "catalog.json"
        body_path.write_bytes(body)
        static = Server(
            ROOT / "bench" / "static_app.py",
            {"BENCH_STATIC_BODY": str(body_path)},
            "static",
            WORKERS,
            THREADS,
        ).start()
        servers.append(static)

        print(
            f"body {len(body)} bytes; wrk -t2 -c{CONNECTIONS} -d{SECONDS}s; "
            f"WORKERS={WORKERS} THREADS={THREADS}; {os.cpu_count()} CPUs",
            flush=True,
        )
        print("bytes on the wire per response (status line + headers + body):")
        report_wire_bytes(
            f"our catalog ({len(json.loads(body)['models'])} models)", service.port, key
        )
        large_env = service_env(LARGE_PROJECT, emulator.host)
        large_key = seed_generated_catalog(LARGE_PROJECT, large_env, LARGE_CATALOG_MODELS)
        large = Server(ROOT / "main.py", large_env, "large", "1", THREADS).start()
        try:
            report_wire_bytes(
                f"a generated catalog of {LARGE_CATALOG_MODELS} models",
                large.port,
                large_key,
                expected_models=LARGE_CATALOG_MODELS,
            )
        finally:
            large.stop()

        wrk(binary, static.url + "/models", headers, 3)  # warm-up both
        wrk(binary, service.url + "/models", headers, 3)
        reads_before = reads_by_worker(service.log)
        _, offset = requests_by_worker(service.log, 0)

        results: dict[str, list[dict[str, float]]] = {"a": [], "b": [], "c": []}
        for round_number in range(ROUNDS):
            for label, server, sent in (
                ("a", static, headers),
                ("b", service, headers),
                ("c", service, compressed_headers),
            ):
                cpu_before = server.cpu_seconds()
                result = wrk(binary, server.url + "/models", sent, SECONDS)
                cpu_after = server.cpu_seconds()
                cpu = [after - before for after, before in zip(cpu_after, cpu_before, strict=True)]
                result["balanced"] = float(min(cpu) >= 0.25 * sum(cpu) / len(cpu))
                results[label].append(result)
                print(
                    f"  round {round_number + 1} {label}: {result['rps']:9.0f} req/s  "
                    f"p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms  "
                    f"non-2xx {result['non_2xx']:.0f}  worker CPU s {[round(c, 1) for c in cpu]}"
                    + ("" if result["balanced"] else "  (a worker sat idle)"),
                    flush=True,
                )
        split, offset = requests_by_worker(service.log, offset)
        reads_after = reads_by_worker(service.log)
        served = sum(r["requests"] for label in "bc" for r in results[label])
        reads = sum(reads_after[pid] - reads_before.get(pid, 0) for pid in reads_after)

        wrk(binary, service.url + "/models", {"X-Api-Key": with_bad_checksum(key)}, 3)
        malformed_split, _ = requests_by_worker(service.log, offset)
        reads_malformed = sum(reads_by_worker(service.log).values()) - sum(reads_after.values())

        rss_service, rss_static = service.peak_rss_mib(), static.peak_rss_mib()
        for server in servers:
            server.stop()
        servers.clear()
        if "--settings-matrix" in sys.argv:
            settings_matrix(binary, env, headers)

        cold: dict[str, list[float]] = {"hello": [], "service": [], "service_401": [], "import": []}
        for index in range(5):
            cold["import"].append(firestore_import_seconds())
            cold["service_401"].append(
                cold_start_seconds(
                    ROOT / "main.py", env, {"X-Api-Key": "inf_malformed"}, f"c401{index}", 401
                )
            )
            cold["hello"].append(
                cold_start_seconds(ROOT / "bench" / "hello_app.py", {}, {}, f"hello{index}")
            )
            cold["service"].append(
                cold_start_seconds(ROOT / "main.py", env, headers, f"cold{index}")
            )

        def median(label: str, field: str) -> float:
            return statistics.median(r[field] for r in results[label])

        # A round where wrk's connections all landed on one worker measured one worker, not
        # WORKERS: the pair is left out of the ratios (unless every pair is like that).
        rounds = list(zip(results["a"], results["b"], results["c"], strict=True))
        balanced = [r for r in rounds if all(run["balanced"] for run in r)] or rounds

        def ratio(field: str, numerator: str = "b", denominator: str = "a") -> str:
            index = {"a": 0, "b": 1, "c": 2}
            ratios = [r[index[numerator]][field] / r[index[denominator]][field] for r in balanced]
            return f"{statistics.median(ratios):.3f}x ({min(ratios):.2f}-{max(ratios):.2f})"

        print(
            f"\nresult (median of rounds; ratios: median of the per-round b/a over the "
            f"{len(balanced)} of {len(rounds)} rounds with both workers busy, and their range)"
        )
        for label, title in (
            ("a", "(a) static bytes"),
            ("b", "(b) our service "),
            ("c", "(c) ours, gzip/br"),
        ):
            print(
                f"  {title} : {median(label, 'rps'):9.0f} req/s  "
                f"p50 {median(label, 'p50_ms'):.2f} ms  p99 {median(label, 'p99_ms'):.2f} ms"
            )
        print(
            f"  ratio b/a        : throughput {ratio('rps')}  "
            f"p50 {ratio('p50_ms')}  p99 {ratio('p99_ms')}"
        )
        print(
            f"  ratio c/b        : throughput {ratio('rps', 'c', 'b')}  "
            f"p50 {ratio('p50_ms', 'c', 'b')}  p99 {ratio('p99_ms', 'c', 'b')}"
            "  (Accept-Encoding: gzip, br next to identity, same server)"
        )
        print(f"  ratio c/a        : throughput {ratio('rps', 'c', 'a')}")
        print(f"  requests per worker during (b) and (c): {sorted(split.values())}")
        print(
            f"  Firestore reads per 1,000 requests (steady state, valid key): "
            f"{1000 * reads / served:.4f}  ({reads} reads / {served:.0f} requests)"
        )
        documents = len(json.loads(body)["models"])
        ttl = float(os.environ.get("CATALOG_CACHE_TTL_SECONDS", "60"))
        service_rps = (median("b", "rps") + median("c", "rps")) / 2
        poll = float(os.environ.get("API_KEY_REFRESH_SECONDS", "4"))
        per_second = (documents / ttl + 1 / poll) * len(split)
        refresh_rate = 1000 * per_second / service_rps
        print(
            f"  expected (per worker: the catalog every {ttl:.0f} s, the key index head every "
            f"{poll:g} s): ({documents} / {ttl:.0f} + 1 / {poll:g}) x {len(split)} / "
            f"{service_rps:.0f} req/s = {refresh_rate:.3f} reads per 1,000 requests"
        )
        print(
            f"  Firestore reads caused by malformed keys: {reads_malformed} "
            f"({sum(malformed_split.values())} requests)"
        )
        hello, ours = statistics.median(cold["hello"]), statistics.median(cold["service"])
        print(
            f"  cold start to first 200: hello {hello * 1000:.0f} ms, service {ours * 1000:.0f} ms"
            f" (first request: key lookup + catalog read) -> {ours / hello:.2f}x"
        )
        floor = statistics.median(cold["import"])
        print(
            f"  of which importing google-cloud-firestore alone: {floor * 1000:.0f} ms, so the "
            f"first 200 cannot come sooner than {(hello + floor) / hello:.2f}x the hello"
        )
        refused = statistics.median(cold["service_401"])
        print(
            f"  cold start to first 401 (malformed key, no Firestore import): "
            f"{refused * 1000:.0f} ms -> {refused / hello:.2f}x"
        )
        print(
            f"  peak RSS per worker: service {[round(x, 1) for x in rss_service]} MiB, "
            f"static {[round(x, 1) for x in rss_static]} MiB"
        )
    finally:
        for server in servers:
            server.stop()
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
