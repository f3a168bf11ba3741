"""API key verification on real server processes and a real emulator: a frozen Firestore
(SIGSTOP) under steady load, and revocation reaching two instances."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from local_harness.load import run_load
from local_harness.processes import ROOT, FirestoreEmulator, FunctionServer
from models_api.keys.key_format import generate_api_key, key_id_for
from tests.conftest import DEV_PEPPER, Project, mint_key, seed_catalog

pytestmark = pytest.mark.slow
BACKEND_TIMEOUT = 2.0


@pytest.fixture
def own_emulator() -> Iterator[FirestoreEmulator]:
    emulator = FirestoreEmulator().start()
    yield emulator
    os.kill(emulator.pid, signal.SIGCONT)  # never leave it frozen
    emulator.stop()


@pytest.fixture
def project_on_own(own_emulator: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> Project:
    from google.cloud import firestore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", own_emulator.host)
    project = Project("keys-test", own_emulator.host, firestore.Client(project="keys-test"))
    assert seed_catalog(project) == 0
    return project


def _get(url: str, api_key: str) -> tuple[int, dict[str, str]]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/models", headers={"X-Api-Key": api_key})
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def test_a_frozen_firestore_does_not_slow_known_keys_and_unknown_keys_get_503(
    own_emulator: FirestoreEmulator, project_on_own: Project
) -> None:
    known = mint_key(project_on_own)
    server = FunctionServer(
        project_on_own.service_env(
            BACKEND_TIMEOUT_SECONDS=str(BACKEND_TIMEOUT),
            # Both caches expire again and again during the freeze: neither may make a request
            # wait on the frozen backend (both refresh in the background).
            API_KEY_REFRESH_SECONDS="0.5",
            CATALOG_CACHE_TTL_SECONDS="1",
        ),
        workers=1,
        threads=8,
    ).start()
    try:
        warm = run_load(server.url, lambda n: {"X-Api-Key": known}, seconds=1, connections=4)
        os.kill(own_emulator.pid, signal.SIGSTOP)
        try:
            frozen = run_load(server.url, lambda n: {"X-Api-Key": known}, seconds=6, connections=4)
            started = time.monotonic()
            unknown_status, unknown_headers = _get(server.url, generate_api_key())
            unknown_seconds = time.monotonic() - started
            unknown = run_load(
                server.url, lambda n: {"X-Api-Key": generate_api_key()}, seconds=2, connections=2
            )
        finally:
            os.kill(own_emulator.pid, signal.SIGCONT)
        minted_after = mint_key(project_on_own)
        deadline = time.monotonic() + 10
        while _get(server.url, minted_after)[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        recovered = run_load(
            server.url, lambda n: {"X-Api-Key": minted_after}, seconds=1, connections=2
        )
    finally:
        server.stop()

    assert set(warm.statuses) == {200}
    assert frozen.total > 100 and set(frozen.statuses) == {200}, frozen.statuses
    # A request that waited on Firestore would take the 2 s backend deadline.
    assert frozen.max_latency < BACKEND_TIMEOUT / 2, frozen.max_latency
    assert unknown_status == 503 and int(unknown_headers["Retry-After"]) > 0
    assert unknown_seconds < BACKEND_TIMEOUT + 1.0
    # Never 401: unchecked, not refused. Past the lookup budget its 503s count against the
    # address, which is then throttled (429), still without a read.
    assert 503 in unknown.statuses and set(unknown.statuses) <= {503, 429}, unknown.statuses
    assert unknown.max_latency < BACKEND_TIMEOUT + 1.0
    assert set(recovered.statuses) == {200}
    assert known not in "\n".join(server.log_lines())


def _key_admin(project: Project, *args: str) -> float:
    """Run the operator CLI; returns the monotonic time it finished (the change is committed)."""
    env = {**os.environ, **project.service_env()}
    done = subprocess.run(
        [sys.executable, "-m", "key_admin", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return time.monotonic()


def test_revoke_disable_and_expire_reach_two_instances_within_10_seconds(
    project_on_own: Project,
) -> None:
    keys = {action: mint_key(project_on_own) for action in ("revoke", "disable", "expire")}
    untouched = mint_key(project_on_own)
    env = project_on_own.service_env(API_KEY_REFRESH_SECONDS="4")  # the default: bound 8 s
    servers = [FunctionServer(env, workers=1, threads=4).start() for _ in range(2)]
    try:
        for server in servers:
            assert {_get(server.url, key)[0] for key in [*keys.values(), untouched]} == {200}
        changed_at = {
            action: _key_admin(project_on_own, action, key_id_for(key, DEV_PEPPER.encode()))
            for action, key in keys.items()
        }
        refused_after: dict[tuple[int, str], float] = {}
        deadline = time.monotonic() + 15
        while len(refused_after) < 6 and time.monotonic() < deadline:
            for number, server in enumerate(servers):
                for action, key in keys.items():
                    if (number, action) not in refused_after and _get(server.url, key)[0] == 401:
                        refused_after[(number, action)] = time.monotonic() - changed_at[action]
            time.sleep(0.25)
        untouched_statuses = {_get(server.url, untouched)[0] for server in servers}
    finally:
        for server in servers:
            server.stop()

    assert len(refused_after) == 6, refused_after
    assert max(refused_after.values()) < 10, refused_after
    assert untouched_statuses == {200}
