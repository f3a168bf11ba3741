"""Clients generated from openapi.yaml type-check strictly and work against a real server.

The Python client (openapi-python-client) and the TypeScript types (openapi-typescript) are
generated at test time into a temporary directory, offline, from the spec in this checkout;
nothing generated is committed. The code that uses them lives in `generated_clients/`.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local_harness.processes import ROOT, FunctionServer
from tests.conftest import Project, mint_key

USAGE = Path(__file__).with_name("generated_clients")
PYTHON_PACKAGE = "catalog_client"
# Without post-hooks the output does not depend on which ruff is installed: ruff 0.17's default
# rules rewrite the client's `__exit__(*args: Any)` to `*args: object`, which mypy then rejects.
GENERATOR_CONFIG = "post_hooks: []\n"


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def python_client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the generated `catalog_client` package and the scenarios using it."""
    directory = tmp_path_factory.mktemp("python-client")
    config = directory / "generator.yaml"
    config.write_text(GENERATOR_CONFIG, encoding="utf-8")
    generated = _run(
        [
            sys.executable, "-m", "openapi_python_client", "generate",
            "--path", str(ROOT / "openapi.yaml"), "--meta", "none",
            "--output-path", str(directory / PYTHON_PACKAGE), "--config", str(config),
        ],
        cwd=directory,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout + generated.stderr, generated.stdout
    shutil.copy(USAGE / "catalog_client_scenarios.py", directory)
    return directory


@pytest.fixture
def scenarios(python_client_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(python_client_dir))
    yield importlib.import_module("catalog_client_scenarios")
    for name in list(sys.modules):
        if name.split(".")[0] in (PYTHON_PACKAGE, "catalog_client_scenarios"):
            del sys.modules[name]


@pytest.mark.timeout(300)
def test_the_generated_python_client_passes_mypy_strict(python_client_dir: Path) -> None:
    checked = _run(
        [
            sys.executable, "-m", "mypy", "--strict", "--config-file=",
            "--cache-dir", str(python_client_dir / ".mypy_cache"),
            PYTHON_PACKAGE, "catalog_client_scenarios.py",
        ],
        cwd=python_client_dir,
    )  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "Success: no issues found" in checked.stdout


def test_the_generated_typescript_types_pass_tsc_strict(tmp_path: Path) -> None:
    bin_dir = ROOT / "node_modules" / ".bin"
    generated = _run(
        [str(bin_dir / "openapi-typescript"), str(ROOT / "openapi.yaml"),
         "-o", str(tmp_path / "catalog-api.d.ts")],
        cwd=tmp_path,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    shutil.copy(USAGE / "uses_catalog_types.ts", tmp_path)

    checked = _run(
        [
            str(bin_dir / "tsc"), "--strict", "--noEmit", "--noUnusedLocals",
            "--exactOptionalPropertyTypes", "--noUncheckedIndexedAccess",
            "--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler",
            "uses_catalog_types.ts",
        ],
        cwd=tmp_path,
    )  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.fixture
def server(seeded: Project) -> Iterator[FunctionServer]:
    running = FunctionServer(seeded.service_env(), workers=1, threads=2).start()
    yield running
    running.stop()


def test_the_generated_python_client_works_against_a_real_server(
    seeded: Project, server: FunctionServer, scenarios: Any
) -> None:
    models = importlib.import_module(f"{PYTHON_PACKAGE}.models")
    key = mint_key(seeded)

    with scenarios.client_for(server.url, key) as client:
        catalog, etag = scenarios.list_catalog(client)
        filtered = scenarios.list_filtered(client, models.Provider.ANTHROPIC, True)
        bytedance_images = scenarios.image_models_by_maker(client, "bytedance")
        one, echoed_request_id = scenarios.one_model(client, "gpt-5.2", "trace-42")
        revalidated_status, revalidated_body, revalidated_headers = scenarios.revalidate(
            client, etag
        )
    with scenarios.client_for(server.url, None) as anonymous:
        status, error, error_request_id = scenarios.refused(anonymous)

    listed = {model.id: model for model in catalog.models}
    assert len(listed) > 3
    assert [m.id for m in filtered.models] == [
        m.id for m in catalog.models if m.provider == models.Provider.ANTHROPIC and m.supports_tools
    ]
    assert 0 < len(filtered.models) < len(listed)
    seedream = listed["seedream-4.5"]
    assert bytedance_images == {"seedream-4.5": f"{seedream.cost_per_1k_output} credits per image"}
    assert one.to_dict() == listed["gpt-5.2"].to_dict()
    assert echoed_request_id == "trace-42"
    assert status == HTTPStatus.UNAUTHORIZED
    assert error.error.code == models.ErrorCode.UNAUTHENTICATED
    assert error.error.request_id == error_request_id
    assert revalidated_status == HTTPStatus.NOT_MODIFIED
    assert revalidated_body == b""
    assert revalidated_headers["etag"] == etag
    assert revalidated_headers["cache-control"] == "private, no-cache"
