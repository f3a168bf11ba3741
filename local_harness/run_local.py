"""`make run`: the service on this machine, on real local parts, with both auth paths.

Checks its four ports first (and prints nothing else if one is taken), starts the Firestore
emulator and the Firebase Auth emulator, seeds the catalog with the operators' seed script,
mints a dev API key with the operators' key code, signs in a dev user on the Auth emulator,
loads (or creates) the local App Check signing key, serves http://localhost:$PORT/models with
functions-framework and local App Check tokens for web pages on LOCAL_APP_CHECK_PORT, and
prints ready curl lines for both auth paths, what a web page needs (its three URLs, the dev
user, the allowed origins) and an `export` block for curl (KEY, BASE, both tokens) and the
operator CLIs. Ctrl-C stops
everything and says so once every port is free again.

Whenever it stops it first says when and why on stderr (`make run: stopping at HH:MM:SS UTC:
...`): Ctrl-C or SIGTERM (exit status 0), the server exiting by itself (its status, or 1), or
the start-up step that failed (1).
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from local_harness.app_check_token_endpoint import AppCheckTokenEndpoint
from local_harness.emulator_users import signed_in_user
from local_harness.local_app_check import LocalAppCheckSigner
from local_harness.processes import (
    ROOT,
    AuthEmulator,
    FirestoreEmulator,
    FunctionServer,
    run_directory,
)

# A demo- project: firebase-tools then emulates everything and never reaches a real project.
PROJECT_ID = "demo-models-local"
# The local run's pepper is deliberately public: it protects nothing but emulator data.
DEV_PEPPER = "local-dev-pepper-not-a-secret-0123456789"
DEV_KEY_OWNER = "local-dev"
DEV_USER_EMAIL = "dev@example.com"
DEV_USER_PASSWORD = "local-dev-password"  # noqa: S105 - an emulator user, public on purpose
# A web app's dev server, by either loopback name (a page's origin is exactly what its URL says).
DEFAULT_CORS_ALLOWED_ORIGINS = "http://localhost:3000,http://127.0.0.1:3000"

# (variable, default): the ports this run listens on, each chosen by an environment variable.
PORT_VARIABLES = (
    ("PORT", 8080),
    ("FIRESTORE_EMULATOR_PORT", 8181),
    ("FIREBASE_AUTH_EMULATOR_PORT", 9099),
    ("LOCAL_APP_CHECK_PORT", 8082),
)
# Other make-run variables a suggested rerun keeps (CORS_ALLOWED_ORIGINS is the one it changes).
RERUN_VARIABLES = ("HOST", "WORKERS", "THREADS")


class PortProblem(Exception):
    """A port variable is invalid or its port is taken; the message says what to change."""


@dataclass(frozen=True)
class LocalPorts:
    server: int
    firestore: int
    auth: int
    app_check: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LocalPorts:
        """The four ports, each valid, distinct and free; PortProblem naming the variable."""
        chosen: dict[str, int] = {}
        for variable, default in PORT_VARIABLES:
            raw = environ.get(variable, "").strip() or str(default)
            if not raw.isdigit() or not 1 <= int(raw) <= 65535:
                raise PortProblem(f"{variable}={raw!r} is not a port number (1-65535).")
            port = int(raw)
            for other, other_port in chosen.items():
                if port == other_port:
                    raise PortProblem(f"{variable} and {other} are both {port}: change one.")
            chosen[variable] = port
        # Every taken port at once, so a second `make run` needs one try, not three.
        busy = {variable: port for variable, port in chosen.items() if not port_is_free(port)}
        if busy:
            taken = ", ".join(f"{port} ({variable})" for variable, port in busy.items())
            fix = " ".join(  # the ports chosen already stay in the suggestion
                f"{variable}={_suggestion(port) if variable in busy else port}"
                for variable, port in chosen.items()
                if variable in busy or environ.get(variable, "").strip()
            )
            raise PortProblem(
                f"port {taken} {'is' if len(busy) == 1 else 'are'} already in use. Stop what "
                f"listens there, or choose other ports: {fix} make run"
            )
        return cls(*chosen.values())

    def in_order(self) -> tuple[int, ...]:
        """The four ports, in PORT_VARIABLES' order."""
        return (self.server, self.firestore, self.auth, self.app_check)


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` on every interface, as the servers here do."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT ok
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 - a probe, closed at once
        except OSError:
            return False
    return True


def _suggestion(port: int) -> int:
    return next(candidate for candidate in range(port + 10, 65536, 10) if port_is_free(candidate))


class StopRequested(Exception):
    """Ctrl-C or SIGTERM: stop everything, and say which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.reason = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


def _stop_on_signal(signum: int, frame: object) -> None:
    raise StopRequested(signum)


def say_stopping(reason: str) -> None:
    """One line on stderr: when `make run` stops and why."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%H:%M:%S UTC")
    print(f"make run: stopping at {now}: {reason}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class BannerFacts:
    """What the banner shows, gathered once everything answers."""

    ports: LocalPorts
    api_key: str
    id_token: str
    app_check_token: str
    app_check_url: str
    allowed_origins: tuple[str, ...]
    cli_env: Mapping[str, str]
    chosen_settings: tuple[str, ...] = ()  # this run's NAME=value choices, for a rerun


def allowed_origins(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The origins the local service grants CORS: CORS_ALLOWED_ORIGINS, or both loopback names."""
    raw = environ.get("CORS_ALLOWED_ORIGINS", "").strip() or DEFAULT_CORS_ALLOWED_ORIGINS
    return tuple(origin.strip() for origin in raw.split(",") if origin.strip())


def chosen_settings(environ: Mapping[str, str], ports: LocalPorts) -> tuple[str, ...]:
    """This run's choices other than the origins, as `NAME=value`: the ports that differ from
    their defaults and HOST, WORKERS, THREADS when set, so a suggested rerun keeps them."""
    chosen = [
        f"{variable}={port}"
        for (variable, default), port in zip(PORT_VARIABLES, ports.in_order(), strict=True)
        if port != default
    ]
    chosen += [
        f"{name}={shlex.quote(environ[name].strip())}"
        for name in RERUN_VARIABLES
        if environ.get(name, "").strip()
    ]
    return tuple(chosen)


def banner(facts: BannerFacts) -> str:
    """What `make run` prints once the service answers: both curls, what a web page needs,
    and the exports for curl and the CLIs."""
    base = f"http://localhost:{facts.ports.server}"
    url = f"{base}/models"
    # README's and docs/api.md's curl lines use these four; the CLIs use cli_env.
    call_env = {
        "KEY": facts.api_key,
        "BASE": base,
        "FIREBASE_ID_TOKEN": facts.id_token,
        "APP_CHECK_TOKEN": facts.app_check_token,
    }
    exports = "\n".join(
        f"export {name}={shlex.quote(value)}"
        for name, value in {**call_env, **facts.cli_env}.items()
    )
    origins = ",".join(facts.allowed_origins)
    more_origins = f"CORS_ALLOWED_ORIGINS={origins},http://localhost:5173"
    rerun = " ".join([*facts.chosen_settings, more_origins, "make run"])
    return (
        f"\nServing {url} (Firestore and Auth emulators in memory; Ctrl-C stops everything)\n\n"
        f"API key path (dev key of owner {DEV_KEY_OWNER!r}):\n"
        f"  curl -H 'X-Api-Key: {facts.api_key}' {url}\n\n"
        f"Browser path (Auth emulator ID token of {DEV_USER_EMAIL}, which firebase-admin does "
        "not check for expiry in emulator mode, + local App Check token, valid 12 h):\n"
        f"  curl -H 'Authorization: Bearer {facts.id_token}' "
        f"-H 'X-Firebase-AppCheck: {facts.app_check_token}' {url}\n\n"
        "A web page (docs/local-development.md, 'A web app against make run': its API, "
        "connectAuthEmulator and token URLs are these three):\n"
        f"  service:           {base}\n"
        f"  Auth emulator:     http://127.0.0.1:{facts.ports.auth} (project {PROJECT_ID})\n"
        f"  App Check tokens:  GET {facts.app_check_url} (for a CustomProvider; "
        "the same signing key across restarts)\n"
        f"  dev user:          {DEV_USER_EMAIL} / {DEV_USER_PASSWORD}\n"
        f"  allowed origins:   {' '.join(facts.allowed_origins)}\n"
        f"  add an origin:     {rerun}\n"
        "  why a 401:         its request_id's log line above has the reason (auth_failure)\n\n"
        "For curl (README's 'Calling it', docs/api.md) and python -m catalog_seed / "
        "python -m key_admin against this run (paste into another shell; keep this one "
        "running):\n"
        f". {shlex.quote(str(ROOT / '.venv' / 'bin' / 'activate'))}\n"
        f"{exports}\n"
    )


def main() -> int:
    # The children run in their own sessions, so this process must turn Ctrl-C (and a SIGTERM
    # from whatever started it) into a clean stop of each, even if it inherited SIGINT ignored.
    signal.signal(signal.SIGINT, _stop_on_signal)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    if os.environ.get("K_SERVICE"):
        print(
            "make run: K_SERVICE is set, so this looks like a deployed instance; make run "
            "(emulators, local App Check tokens, a public pepper) is for development only",
            file=sys.stderr,
        )
        return 2
    try:
        ports = LocalPorts.from_env(os.environ)
    except PortProblem as problem:
        print(f"make run: {problem}", file=sys.stderr)
        return 2
    auth_emulator = AuthEmulator(PROJECT_ID, ports.auth).spawn()  # slowest to start: first
    firestore = FirestoreEmulator(ports.firestore)
    server: FunctionServer | None = None
    endpoint: AppCheckTokenEndpoint | None = None
    status = 0
    step = "starting the Firestore emulator"
    try:
        firestore.start()
        cli_env = {
            "FIRESTORE_EMULATOR_HOST": firestore.host,
            "GOOGLE_CLOUD_PROJECT": PROJECT_ID,
            "API_KEY_PEPPER": DEV_PEPPER,
            "FIREBASE_AUTH_EMULATOR_HOST": auth_emulator.host,
        }
        state = run_directory()
        signer = LocalAppCheckSigner.kept_in(state / "local-app-check-key.pem", PROJECT_ID)
        jwks_file = signer.write_jwks(state / f"local-app-check-jwks-{ports.server}.json")
        origins = allowed_origins(os.environ)
        env = {
            **os.environ,
            **cli_env,
            "LOCAL_APP_CHECK_JWKS_FILE": str(jwks_file),
            "APP_CHECK_APP_IDS": signer.app_id,
            "CORS_ALLOWED_ORIGINS": ",".join(origins),
            "WORKERS": os.environ.get("WORKERS", "2"),
            "THREADS": os.environ.get("THREADS", "4"),
        }
        python = sys.executable
        step = "seeding the catalog (python -m catalog_seed)"
        subprocess.run(
            [python, "-m", "catalog_seed", "--accept-expired-prices"],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        step = "minting the dev key (python -m key_admin create)"
        minted = subprocess.run(
            [python, "-m", "key_admin", "create", "--owner", DEV_KEY_OWNER, "--label", "make run"],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        api_key = minted.stdout.splitlines()[0]  # create prints the key first
        step = "waiting for the Firebase Auth emulator"
        auth_emulator.wait_until_ready()
        step = "signing in the dev user on the Auth emulator"
        user = signed_in_user(auth_emulator.host, DEV_USER_EMAIL, DEV_USER_PASSWORD)
        # Loopback unless asked: the dev pepper, the emulators' data and the tokens are public.
        host = os.environ.get("HOST", "127.0.0.1")
        step = "starting the server (functions-framework)"
        server = FunctionServer(
            env, env["WORKERS"], env["THREADS"], port=ports.server, host=host, to_terminal=True
        ).start()
        step = "starting the App Check token endpoint"
        endpoint = AppCheckTokenEndpoint(
            signer, ports.app_check, origins, os.environ, host=host
        ).start()
        facts = BannerFacts(
            ports, api_key, user.id_token, signer.token(), endpoint.url, origins, cli_env,
            chosen_settings(os.environ, ports),
        )  # fmt: skip
        print(banner(facts), flush=True)
        status = server.wait()
        say_stopping(f"the server exited by itself with status {status} (its output is above)")
        status = status or 1
    except (StopRequested, KeyboardInterrupt) as stop:
        say_stopping(f"{stop.reason if isinstance(stop, StopRequested) else 'Ctrl-C'} received")
        status = 0
    except Exception as error:  # noqa: BLE001 - said in one line, then everything is stopped
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        say_stopping(f"{step} failed: {type(error).__name__}{': ' + detail if detail else ''}")
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the stop short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if endpoint is not None:
            endpoint.stop()
        if server is not None:
            server.stop()  # before the emulators: a worker can hang on a vanishing backend
        firestore.stop()
        auth_emulator.stop()
    print(stopped_line(ports), flush=True)
    return status


def stopped_line(ports: LocalPorts) -> str:
    """The last line of a run: whether every process stopped and every port is free again."""
    numbers = ports.in_order()
    busy = [port for port in numbers if not _free_within(port, seconds=5)]
    if busy:
        return f"make run: stopped, but port(s) {', '.join(map(str, busy))} still in use"
    listed = ", ".join(map(str, numbers))
    return (
        "make run: stopped the service, both emulators and the App Check token endpoint; "
        f"ports {listed} are free"
    )


def _free_within(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not port_is_free(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


if __name__ == "__main__":
    sys.exit(main())
