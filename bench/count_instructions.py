"""Instructions per request (valgrind callgrind): repeatable where wall-clock numbers are not.

Runs the whole functions-framework WSGI app in-process for (a) the static-bytes baseline and
(b) our service (emulator, seeded catalog, cached valid key), each with 0 and N requests, and
prints (instructions(N) - instructions(0)) / N. Usage: .venv/bin/python bench/count_instructions.py
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local_harness.processes import FirestoreEmulator  # noqa: E402
from local_harness.seeded_service import seed_and_mint_key, service_env  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
PROJECT = "demo-instructions"

# The child: build the app like functions-framework does, warm it, then serve N requests.
CHILD = """
import os, sys
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
from functions_framework import create_app
from werkzeug.test import EnvironBuilder
source, key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app(target="models", source=source)
headers = {"X-Api-Key": key, "User-Agent": "bench"}
environ = EnvironBuilder(path="/models", headers=headers).get_environ()
def call():
    for _ in app(dict(environ), lambda status, headers, exc_info=None: None):
        pass
call()
for _ in range(count):
    call()
"""


def instructions(source: Path, key: str, count: int, env: dict[str, str]) -> int:
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", CHILD, str(source), key, str(count)],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"Collected : ([\d,]+)", result.stderr)
    assert match, result.stderr[-2000:]
    return int(match.group(1).replace(",", ""))


def main() -> int:
    if not shutil.which("valgrind"):
        print("valgrind is needed: apt-get install -y valgrind", file=sys.stderr)
        return 1
    emulator = FirestoreEmulator().start()
    env = service_env(PROJECT, emulator.host)
    try:
        key = seed_and_mint_key(PROJECT, env)
        body_env = {**env, "BENCH_STATIC_BODY": str(ROOT / ".run" / "bench" / "catalog.json")}
        body_path = Path(body_env["BENCH_STATIC_BODY"])
        if not body_path.exists():
            print("run `make bench` once first: it writes the catalog body the baseline serves")
            return 1
        per_request = {}
        for label, source in (
            ("static", ROOT / "bench" / "static_app.py"),
            ("service", ROOT / "main.py"),
        ):
            base = instructions(source, key, 0, body_env)
            loaded = instructions(source, key, REQUESTS, body_env)
            per_request[label] = (loaded - base) / REQUESTS
            print(f"  {label:8s}: {per_request[label] / 1000:7.1f} k instructions per request")
        ratio = per_request["static"] / per_request["service"]
        print(f"  static/service: {ratio:.3f}x (throughput ratio if the server cost nothing else)")
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
