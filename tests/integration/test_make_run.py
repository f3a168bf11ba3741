"""`make run` end to end: the real `python -m local_harness.run_local`, its printed curl lines
replayed over HTTP, its export block used by the operator CLI, a clean stop on Ctrl-C; and its
refusal to start, before printing anything, when a port is taken."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from local_harness.processes import ROOT, free_port
from local_harness.run_local import DEV_KEY_OWNER, port_is_free
from tests.support.http_get import get_json
from tests.support.make_run import PORT_NAMES, RUN_LOCAL, MakeRun, free_local_ports


@pytest.fixture
def local_run() -> Iterator[MakeRun]:
    run = MakeRun(free_local_ports()).wait_for_banner()
    try:
        yield run
    finally:
        run.stop()


def _replay(curl: list[str]) -> tuple[int, Any]:
    """What the printed curl line does, with urllib: its -H headers, GET its URL."""
    assert curl[0] == "curl"
    headers = dict(
        value.split(": ", 1) for flag, value in zip(curl, curl[1:], strict=False) if flag == "-H"
    )
    url = curl[-1]
    assert url.startswith("http://localhost:")
    return get_json(url, headers)


@pytest.mark.slow
def test_make_run_serves_both_printed_curls_and_its_exports_reach_the_emulator(
    local_run: MakeRun,
) -> None:
    curls = local_run.curls()
    api_key_curls = [c for c in curls if any(h.startswith("X-Api-Key: ") for h in c)]
    browser_curls = [c for c in curls if any(h.startswith("X-Firebase-AppCheck: ") for h in c)]
    exports = local_run.exports()
    clean_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FIRESTORE_", "FIREBASE_", "GOOGLE_", "API_KEY_"))
    }

    api_key_status, api_key_body = _replay(api_key_curls[0])
    browser_status, browser_body = _replay(browser_curls[0])
    listed = subprocess.run(
        [sys.executable, "-m", "key_admin", "list", "--owner", DEV_KEY_OWNER],
        cwd=ROOT, env={**clean_env, **exports}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    exit_status = local_run.stop()  # Ctrl-C

    assert (len(api_key_curls), len(browser_curls)) == (1, 1)
    assert api_key_curls[0][-1] == f"http://localhost:{local_run.ports['PORT']}/models"
    assert (api_key_status, browser_status) == (200, 200)
    assert api_key_body == browser_body
    assert api_key_body["models"]
    assert set(exports) == {
        "FIRESTORE_EMULATOR_HOST",
        "GOOGLE_CLOUD_PROJECT",
        "API_KEY_PEPPER",
        "FIREBASE_AUTH_EMULATOR_HOST",
    }
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"inf_\w{8}", listed.stdout)  # the dev key's display prefix
    assert exit_status == 0
    assert all(port_is_free(port) for port in local_run.ports.values())
    ports = ", ".join(str(local_run.ports[name]) for name in PORT_NAMES)
    assert local_run.output[-1] == (
        "make run: stopped the service, both emulators and the App Check token endpoint; "
        f"ports {ports} are free"
    )
    assert not [line for line in local_run.output if "goaway" in line.lower()]


@pytest.mark.parametrize("taken", PORT_NAMES)
def test_a_taken_port_stops_make_run_before_it_prints_or_starts_anything(taken: str) -> None:
    ports = free_local_ports()
    env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", ports[taken]))
        occupant.listen()

        run = subprocess.run(
            RUN_LOCAL, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
        )

    assert run.returncode == 2
    assert run.stdout == ""
    assert f"({taken}) is already in use" in run.stderr
    assert f"{taken}=" in run.stderr  # how to choose another port
    assert all(port_is_free(port) for name, port in ports.items() if name != taken)


def test_the_suggestion_for_a_taken_port_keeps_the_ports_already_chosen() -> None:
    from local_harness.run_local import LocalPorts, PortProblem

    chosen, taken, auth, app_check = free_port(), free_port(), free_port(), free_port()
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", taken))
        occupant.listen()
        environ = {
            "PORT": str(chosen),
            "FIRESTORE_EMULATOR_PORT": str(taken),
            "FIREBASE_AUTH_EMULATOR_PORT": str(auth),
            "LOCAL_APP_CHECK_PORT": str(app_check),
        }
        with pytest.raises(PortProblem) as problem:
            LocalPorts.from_env(environ)

    suggestion = str(problem.value).rsplit(": ", 1)[1]
    assert f"PORT={chosen}" in suggestion.split()
    assert f"FIREBASE_AUTH_EMULATOR_PORT={auth}" in suggestion.split()
    assert f"FIRESTORE_EMULATOR_PORT={taken}" not in suggestion  # a free one instead
    assert suggestion.endswith("make run")


def test_make_run_refuses_to_start_where_k_service_is_set() -> None:
    env = {**os.environ, **{name: str(port) for name, port in free_local_ports().items()}}

    run = subprocess.run(
        RUN_LOCAL, cwd=ROOT, env={**env, "K_SERVICE": "models"}, capture_output=True,
        text=True, timeout=30,
    )  # fmt: skip

    assert run.returncode == 2
    assert run.stdout == ""
    assert "K_SERVICE is set" in run.stderr
