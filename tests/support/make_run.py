"""`make run` as a test starts it: the real `python -m local_harness.run_local` on free ports,
its banner read, everything it prints afterwards (the server's log lines, its last line)
collected, and a Ctrl-C to stop it."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

from local_harness.processes import ROOT, free_port

RUN_LOCAL = [sys.executable, "-m", "local_harness.run_local"]
PORT_NAMES = (
    "PORT",
    "FIRESTORE_EMULATOR_PORT",
    "FIREBASE_AUTH_EMULATOR_PORT",
    "LOCAL_APP_CHECK_PORT",
)


def free_local_ports() -> dict[str, int]:
    return {name: free_port() for name in PORT_NAMES}


class MakeRun:
    """One `make run`; `banner` once it serves, `output` for every line printed after it."""

    def __init__(self, ports: Mapping[str, int], **environment: str):
        self.ports = dict(ports)
        env = {**os.environ, **{name: str(port) for name, port in ports.items()}, **environment}
        self.process = subprocess.Popen(
            RUN_LOCAL, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        self.banner: list[str] = []
        self.output: list[str] = []
        self._banner_read = threading.Event()
        # Read stdout for the whole run: an unread pipe would fill and block the server's log.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            if self._banner_read.is_set():
                self.output.append(line)
            else:
                self.banner.append(line)
                if line.startswith("export FIREBASE_AUTH_EMULATOR_HOST="):
                    self._banner_read.set()
        self._banner_read.set()  # it exited: whoever waits must not wait for the timeout

    def wait_for_banner(self, timeout: float = 120) -> MakeRun:
        if not self._banner_read.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"make run printed no banner (exit {self.process.poll()}): {self}")
        return self

    def curls(self) -> list[list[str]]:
        return [shlex.split(line) for line in self.banner if line.strip().startswith("curl ")]

    def exports(self) -> dict[str, str]:
        pairs = [
            shlex.split(line.removeprefix("export "))[0].split("=", 1)
            for line in self.banner
            if line.startswith("export ")
        ]
        return dict(pairs)

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C (SIGINT to its process group, as a terminal sends it); its exit status."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            status = self.process.wait()
        deadline = time.monotonic() + 10
        while self._reader.is_alive() and time.monotonic() < deadline:
            self._reader.join(0.1)
        if not self._reader.is_alive():
            assert self.process.stdout is not None
            self.process.stdout.close()
        return status

    def __str__(self) -> str:
        return "\n".join(self.banner + self.output)
