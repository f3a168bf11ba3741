"""Instructions per request (valgrind callgrind): repeatable where wall-clock numbers are not.

Counts, for (a) the static-bytes baseline (bench/static_app.py: a bare functions-framework app
returning our exact catalog body) and (b) our service (main.py on the Firestore emulator,
seeded catalog, a valid key already known to the instance), the instructions of:
- one request as a gunicorn gthread worker serves it (parse, environ, app, write; the
  socket and the threads' hand-off are the kernel's and not counted), and
- the WSGI app alone.
`--parts` adds the cost of each part of our request, each run alone on the objects main.py
builds (bench/request_parts.py), as a table with each part's share of the whole request.

Usage: .venv/bin/python bench/count_instructions.py [--parts]   (BENCH_REQUESTS, default 2000)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local_harness.processes import FirestoreEmulator  # noqa: E402
from local_harness.seeded_service import seed_and_mint_key, service_env  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
PROJECT = "demo-instructions"
SECTIONS = ROOT / "bench" / "instruction_sections.py"


def count_sections(source: Path, env: dict[str, str], count: int, *extra: str) -> dict[str, float]:
    """Instructions per call of each section the child runs (see instruction_sections.py)."""
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p",
             "--dump-before=getppid", sys.executable, str(SECTIONS), str(source), str(count),
             *extra],
            cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(result.stderr[-3000:])
        names = json.loads(re.search(r"SECTIONS (.*)", result.stderr).group(1))  # type: ignore[union-attr]
        totals = {}
        for dump in Path(out).glob("cg.*.*"):
            number = int(dump.name.rsplit(".", 1)[1])
            match = re.search(r"^totals: (\d+)", dump.read_text(errors="replace"), re.M)
            assert match, dump
            totals[number] = int(match.group(1))
    # Dump 1 is start-up and warm-up; dump k + 1 is section k.
    return {name: totals[index + 2] / count for index, name in enumerate(names)}


def write_service_body(env: dict[str, str], path: Path) -> None:
    """The exact body our service answers, for the static baseline to serve."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(SECTIONS), str(ROOT / "main.py"), "0", "--body-to", str(path)],
        cwd=ROOT, env={**os.environ, **env}, check=True,
    )  # fmt: skip


def main() -> int:
    if not shutil.which("valgrind"):
        print("valgrind is needed: apt-get install -y valgrind", file=sys.stderr)
        return 1
    parts = "--parts" in sys.argv
    emulator = FirestoreEmulator().start()
    try:
        env = service_env(PROJECT, emulator.host)
        env["BENCH_API_KEY"] = seed_and_mint_key(PROJECT, env)
        env["BACKEND_TIMEOUT_SECONDS"] = "30"  # valgrind slows the first reads 50-fold
        # Background refreshes (the key index head every 4 s by default) land in whichever
        # section is running: at valgrind's ~50 requests/s, one refresh would weigh 100 times
        # what it weighs per request at full speed. The longest allowed interval keeps them
        # out of most sections.
        env["API_KEY_REFRESH_SECONDS"] = "30"
        body = ROOT / ".run" / "instructions" / "catalog.json"
        write_service_body(env, body)
        static_env = {**env, "BENCH_STATIC_BODY": str(body)}
        static = count_sections(ROOT / "bench" / "static_app.py", static_env, REQUESTS)
        service = count_sections(ROOT / "main.py", env, REQUESTS, *(["--parts"] if parts else []))
    finally:
        emulator.stop()

    print(f"instructions per request ({REQUESTS} requests, {body.stat().st_size:,}-byte body):")
    for label, counts in (("(a) static bytes", static), ("(b) our service", service)):
        print(
            f"  {label:17s}: {counts['request'] / 1000:7.1f} k per request through gunicorn, "
            f"{counts['app'] / 1000:7.1f} k in the WSGI app"
        )
    print(
        f"  a/b: {static['request'] / service['request']:.3f}x through gunicorn "
        f"(the throughput ratio if the kernel's share were equal), "
        f"{static['app'] / service['app']:.3f}x in the WSGI app"
    )
    if parts:
        from bench.request_parts import print_parts_table

        print_parts_table(service, static)
    return 0


if __name__ == "__main__":
    sys.exit(main())
