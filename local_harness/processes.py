"""Real local processes: the Firestore emulator, the Firebase Auth emulator and a
functions-framework server; used by `make run`, the bench and the tests."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]


def run_directory() -> Path:
    """Where local processes keep their logs and state: LOCAL_RUN_DIR, or .run/ by default.

    The tests point LOCAL_RUN_DIR at a temporary directory, so a test run leaves nothing in
    .run/ (tests/conftest.py)."""
    configured = os.environ.get("LOCAL_RUN_DIR", "").strip()
    return Path(configured) if configured else ROOT / ".run"


_HANDED_OUT: set[int] = set()
_LOWEST_PORT = 10000


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range, not handed out before.

    A port the kernel picks (bind to 0) comes from the ephemeral range, where any process's
    outgoing connection or listener (the Auth emulator opens a few) may take it between this
    probe and the server's own bind; below that range only an explicit bind takes a port.
    """
    ephemeral_low = _ephemeral_range_start()
    for _ in range(200):
        port = random.randrange(_LOWEST_PORT, ephemeral_low)  # noqa: S311 - not a secret
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port between {_LOWEST_PORT} and {ephemeral_low}")


def _ephemeral_range_start() -> int:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default
    return max(low, _LOWEST_PORT + 1000)


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


class FirestoreEmulator:
    """The npm @firestore-emulator/server, in memory, on a free port. Restartable on that port."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        script = Path(__file__).with_name("firestore_emulator.js")
        self._process = subprocess.Popen(
            ["node", str(script), str(self.port)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session: Ctrl-C in a terminal reaches only `make run`, which stops the
            # server before this emulator (workers would otherwise log lost connections).
            start_new_session=True,
        )
        wait_for_port(self.port, self._process)
        return self

    @property
    def pid(self) -> int:
        """The node process, e.g. to freeze it with SIGSTOP (a Firestore that stops answering)."""
        assert self._process is not None
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None


class AuthEmulator:
    """firebase-tools' Auth emulator (`firebase emulators:start --only auth`), offline, in memory.

    The repository's firebase.json is the template; each instance writes its own copy, with its
    own ports (the emulator hub's and logging's too, so several can run at once), into
    `workdir` (default run_directory()/auth-emulator-PORT) and runs there, where firebase-tools also
    leaves its debug log. It runs in its own session and is stopped with SIGINT to the
    `firebase` process itself, its own clean exit.
    """

    def __init__(self, project_id: str, port: int | None = None, workdir: Path | None = None):
        self.project_id = project_id
        self.port = port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.workdir = workdir or run_directory() / f"auth-emulator-{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> Self:
        """Start the process without waiting for it to listen (it takes a few seconds)."""
        config = json.loads((ROOT / "firebase.json").read_text(encoding="utf-8"))
        emulators = config["emulators"]
        emulators["auth"]["port"] = self.port
        emulators["hub"]["port"] = free_port()
        emulators["logging"]["port"] = free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "firebase.json"
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        firebase = ROOT / "node_modules" / "firebase-tools" / "lib" / "bin" / "firebase.js"
        command = [
            "node", str(firebase), "emulators:start", "--only", "auth",
            "--project", self.project_id, "--config", str(config_path), "--non-interactive",
        ]  # fmt: skip
        with (self.workdir / "emulator.log").open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_until_ready(self, timeout: float = 60.0) -> Self:
        assert self._process is not None
        wait_for_port(self.port, self._process, timeout=timeout)
        return self

    def start(self) -> Self:
        return self.spawn().wait_until_ready()

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            # SIGINT to the `firebase` process itself: it stops its emulators and exits.
            _stop_or_kill(process, lambda: process.send_signal(signal.SIGINT))
        self._process = None


class FunctionServer:
    """`functions-framework --target models` (or another target) as a separate process.

    The target is also put in FUNCTION_TARGET, as Cloud Functions does: main.py reads it.

    It runs in its own session, so only `stop()` ends it: SIGTERM to its process group, then
    SIGKILL if it has not exited within 10 s (a gunicorn worker can hang on exit).
    """

    def __init__(
        self,
        env: dict[str, str],
        workers: int | str = 1,
        threads: int | str = 8,
        source: Path = ROOT / "main.py",
        log_path: Path | None = None,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        to_terminal: bool = False,
        target: str = "models",
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._target = target
        self._env = {
            # As both deploy paths set it (docs/performance.md#memory): a caller's value wins.
            "MALLOC_ARENA_MAX": "2",
            **os.environ,
            **env,
            "WORKERS": str(workers),
            "THREADS": str(threads),
            "FUNCTION_TARGET": target,
        }
        self._source = source
        self._host = host
        self._to_terminal = to_terminal
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = log_path or run_directory() / f"server-{self.port}.log"

    def spawn(self) -> float:
        """Start the process without waiting; returns the perf_counter time it was started."""
        command = [
            sys.executable, "-m", "functions_framework", "--target", self._target,
            "--source", str(self._source), "--host", self._host, "--port", str(self.port),
        ]  # fmt: skip
        started = time.perf_counter()
        if self._to_terminal:
            self._process = subprocess.Popen(
                command, cwd=ROOT, env=self._env, start_new_session=True
            )
            return started
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return started

    def wait(self) -> int:
        """Block until the server exits by itself; its exit status."""
        assert self._process is not None
        return self._process.wait()

    def start(self) -> Self:
        self.spawn()
        assert self._process is not None
        wait_for_port(self.port, self._process, timeout=30)
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def log_lines(self) -> list[str]:
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()

    def stop(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            _stop_or_kill(process, lambda: os.killpg(process.pid, signal.SIGTERM))
        self._process = None


def _stop_or_kill(process: subprocess.Popen[bytes], ask_to_stop: Callable[[], None]) -> None:
    """Ask a process (group) to stop; after 10 s, kill its whole group."""
    ask_to_stop()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
