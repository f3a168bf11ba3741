"""`make run`: the service on this machine, on real local parts.

Starts the Firestore emulator, seeds the catalog with the operators' seed script, mints a dev
API key with the operators' key code, prints it with a curl line, then serves
http://localhost:8080/models with functions-framework. Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from local_harness.processes import ROOT, FirestoreEmulator, FunctionServer, free_port

PROJECT_ID = "demo-models-local"
# The local run's pepper is deliberately public: it protects nothing but emulator data.
DEV_PEPPER = "local-dev-pepper-not-a-secret-0123456789"


def _stop_on_signal(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # The server runs in its own session, so this process must turn Ctrl-C (and a SIGTERM from
    # whatever started it) into a clean stop of both children, even if it inherited SIGINT ignored.
    signal.signal(signal.SIGINT, _stop_on_signal)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    port = int(os.environ.get("PORT", "8080"))
    emulator_port = int(os.environ.get("FIRESTORE_EMULATOR_PORT", "0")) or free_port()
    emulator = FirestoreEmulator(emulator_port).start()
    env = {
        **os.environ,
        "GOOGLE_CLOUD_PROJECT": PROJECT_ID,
        "FIRESTORE_EMULATOR_HOST": emulator.host,
        "API_KEY_PEPPER": DEV_PEPPER,
        "CORS_ALLOWED_ORIGINS": os.environ.get("CORS_ALLOWED_ORIGINS", "http://localhost:3000"),
        "WORKERS": os.environ.get("WORKERS", "2"),
        "THREADS": os.environ.get("THREADS", "4"),
    }
    try:
        python = sys.executable
        subprocess.run([python, "-m", "catalog_seed"], cwd=ROOT, env=env, check=True)
        minted = subprocess.run(
            [
                python,
                "-m",
                "key_admin",
                "create",
                "--owner",
                "local-dev",
                "--label",
                "make run",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        api_key = minted.stdout.strip().splitlines()[-1]
        print(
            f"\nFirestore emulator: {emulator.host} (project {PROJECT_ID}, in memory)\n"
            f"Dev API key:        {api_key}\n\n"
            f"  curl -H 'X-Api-Key: {api_key}' http://localhost:{port}/models\n\n"
            "Ctrl-C stops the server and the emulator.\n",
            flush=True,
        )
        server = FunctionServer(
            env,
            env["WORKERS"],
            env["THREADS"],
            port=port,
            host="0.0.0.0",  # noqa: S104 - functions-framework's own default, as before
            to_terminal=True,
        )
        server.spawn()
        try:
            return server.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            server.stop()  # before the emulator: a worker can hang on a vanishing backend
    finally:
        emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
