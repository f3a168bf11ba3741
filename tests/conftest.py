"""Shared fixtures: environment isolation, the Firestore and Auth emulators, seeded projects,
API keys."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local_harness.processes import ROOT, AuthEmulator, FirestoreEmulator
from tests.support.firebase_tokens import APP_ID

DEV_PEPPER = "test-pepper-0123456789abcdef0123456789abcdef"


def pytest_configure(config: pytest.Config) -> None:
    """Local processes started by tests (servers, emulators, `make run`) keep their logs in a
    directory of this run, removed at its end: a test run leaves nothing in .run/."""
    if "LOCAL_RUN_DIR" not in os.environ:
        os.environ["LOCAL_RUN_DIR"] = tempfile.mkdtemp(prefix="models-api-tests-")
        config.stash[_OWN_RUN_DIRECTORY] = os.environ["LOCAL_RUN_DIR"]


def pytest_unconfigure(config: pytest.Config) -> None:
    own = config.stash.get(_OWN_RUN_DIRECTORY, None)
    if own is not None:
        shutil.rmtree(own, ignore_errors=True)


_OWN_RUN_DIRECTORY = pytest.StashKey[str]()


@pytest.fixture(autouse=True)
def _restore_environment() -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.pop("FIREBASE_AUTH_EMULATOR_HOST", None)
    os.environ.pop("K_SERVICE", None)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    emulator = FirestoreEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def auth_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthEmulator]:
    """firebase-tools' Auth emulator, as `make run` starts it (one demo project per session)."""
    workdir = tmp_path_factory.mktemp("auth-emulator")
    emulator = AuthEmulator("demo-models-test", workdir=workdir).start()
    yield emulator
    emulator.stop()


@dataclass
class Project:
    """A fresh Firestore project on the emulator: tests never see each other's data."""

    project_id: str
    emulator_host: str
    client: Any

    def service_env(self, **overrides: str) -> dict[str, str]:
        env = {
            "GOOGLE_CLOUD_PROJECT": self.project_id,
            "FIRESTORE_EMULATOR_HOST": self.emulator_host,
            "API_KEY_PEPPER": DEV_PEPPER,
            "BACKEND_TIMEOUT_SECONDS": "2",
            "APP_CHECK_APP_IDS": APP_ID,
        }
        env.update(overrides)
        return env


@pytest.fixture
def project(firestore_emulator: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch) -> Project:
    from google.cloud import firestore

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator.host)
    project_id = f"test-{uuid.uuid4().hex[:12]}"
    return Project(project_id, firestore_emulator.host, firestore.Client(project=project_id))


def seed_catalog(project: Project, *extra_args: str) -> int:
    from catalog_seed.__main__ import main

    # The tests exercise the service, not the data's freshness: a shipped price past its
    # valid_until must not fail them on a later day (tests/unit/test_price_validity.py does).
    return main(["--project", project.project_id, "--accept-expired-prices", *extra_args])


@pytest.fixture
def seeded(project: Project) -> Project:
    assert seed_catalog(project) == 0
    return project


def mint_key(project: Project, **kwargs: Any) -> str:
    from key_admin.operations import create_key

    created = create_key(
        project.client,
        "api_keys",
        DEV_PEPPER.encode(),
        kwargs.pop("owner", "acct-test"),
        kwargs.pop("label", "test"),
        kwargs.pop("expires_at", None),
        pepper_version=kwargs.pop("pepper_version", 1),
        **kwargs,
    )
    return created.api_key


@pytest.fixture
def api_key(seeded: Project) -> str:
    return mint_key(seeded)


def make_client(project: Project, monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    """A test client of the real functions-framework app built from main.py."""
    from functions_framework import create_app

    for name, value in project.service_env(**env).items():
        monkeypatch.setenv(name, value)
    return create_app(target="models", source=str(ROOT / "main.py")).test_client()


@pytest.fixture
def client(seeded: Project, monkeypatch: pytest.MonkeyPatch) -> Any:
    return make_client(seeded, monkeypatch)
