"""What both benchmarks start from: service settings on an emulator, a seeded catalog, a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEPPER = "bench-pepper-not-a-secret-0123456789abcdef"
# As deployed for the web app: with CORS origins configured every response carries Vary: Origin.
CORS_ORIGINS = "https://app.example.com"


def service_env(project: str, emulator_host: str) -> dict[str, str]:
    return {
        "GOOGLE_CLOUD_PROJECT": project,
        "FIRESTORE_EMULATOR_HOST": emulator_host,
        "API_KEY_PEPPER": PEPPER,
        "CORS_ALLOWED_ORIGINS": CORS_ORIGINS,
    }


def seed_and_mint_key(project: str, env: dict[str, str]) -> str:
    """Seed the catalog and create a key with the operator tools; returns the key."""
    full_env = {**os.environ, **env}
    subprocess.run(
        [sys.executable, "-m", "catalog_seed", "--project", project, "--accept-expired-prices"],
        cwd=ROOT, env=full_env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return mint_key(env)


def mint_key(env: dict[str, str]) -> str:
    """Create a key of owner `bench` with the operator tool; returns the key."""
    minted = subprocess.run(
        [sys.executable, "-m", "key_admin", "create", "--owner", "bench"],
        cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return minted.stdout.splitlines()[0]  # create prints the key first
