"""The drift check's settings, read once from the environment (argument -> env -> default)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from models_api.errors import ConfigError

DEFAULT_OPENROUTER_MODELS_URL = "https://openrouter.ai/api/v1/models"
# {model} is the routed model's OpenRouter id (author/slug), e.g. qwen/qwen3-235b-a22b-2507.
DEFAULT_OPENROUTER_ENDPOINTS_URL = "https://openrouter.ai/api/v1/models/{model}/endpoints"
DEFAULT_LITELLM_URL = (
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
)
# genai-prices' published data file: the same data as the PyPI package's genai_prices/data.py,
# read as JSON so the deployed function needs no new dependency.
DEFAULT_GENAI_PRICES_URL = (
    "https://raw.githubusercontent.com/pydantic/genai-prices/main/prices/data.json"
)
DEFAULT_PRICING_FILE = Path(__file__).resolve().parents[1] / "catalog_seed" / "pricing.toml"
DEFAULT_ACKNOWLEDGEMENTS_FILE = DEFAULT_PRICING_FILE.with_name("acknowledgements.toml")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class DriftSettings:
    """See README / docs: 'Daily drift check' for each variable."""

    project_id: str
    firestore_database: str
    catalog_collection: str
    openrouter_models_url: str
    openrouter_endpoints_url: str
    litellm_url: str
    genai_prices_url: str
    download_timeout_seconds: float
    max_download_bytes: int
    firestore_timeout_seconds: float
    pricing_file: Path
    acknowledgements_file: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DriftSettings:
        """Build settings from environment variables; raise ConfigError naming the variable."""
        project_id = environ.get("GOOGLE_CLOUD_PROJECT", "").strip()
        if not project_id:
            raise ConfigError(
                "GOOGLE_CLOUD_PROJECT is required (the project that holds Firestore)."
            )
        settings = cls(
            project_id=project_id,
            firestore_database=environ.get("FIRESTORE_DATABASE", "(default)") or "(default)",
            catalog_collection=environ.get("CATALOG_COLLECTION", "models") or "models",
            openrouter_models_url=_url(
                environ, "DRIFT_OPENROUTER_MODELS_URL", DEFAULT_OPENROUTER_MODELS_URL
            ),
            openrouter_endpoints_url=_url(
                environ, "DRIFT_OPENROUTER_ENDPOINTS_URL", DEFAULT_OPENROUTER_ENDPOINTS_URL
            ),
            litellm_url=_url(environ, "DRIFT_LITELLM_URL", DEFAULT_LITELLM_URL),
            genai_prices_url=_url(environ, "DRIFT_GENAI_PRICES_URL", DEFAULT_GENAI_PRICES_URL),
            download_timeout_seconds=_seconds(environ, "DRIFT_DOWNLOAD_TIMEOUT_SECONDS", 30.0),
            max_download_bytes=int(_seconds(environ, "DRIFT_MAX_DOWNLOAD_MB", 64.0) * 1_000_000),
            firestore_timeout_seconds=_seconds(environ, "BACKEND_TIMEOUT_SECONDS", 10.0),
            pricing_file=Path(environ.get("DRIFT_PRICING_FILE") or DEFAULT_PRICING_FILE),
            acknowledgements_file=Path(
                environ.get("DRIFT_ACKNOWLEDGEMENTS_FILE") or DEFAULT_ACKNOWLEDGEMENTS_FILE
            ),
        )
        if "{model}" not in settings.openrouter_endpoints_url:
            raise ConfigError("DRIFT_OPENROUTER_ENDPOINTS_URL must contain {model}.")
        return settings


def _url(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, "").strip() or default
    parts = urlsplit(value.replace("{model}", "m"))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}.")
    return value


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "").strip()
    if not value:
        return default
    if not _NUMBER.match(value) or float(value) <= 0:
        raise ConfigError(f"{name} must be a positive number, got {value!r}.")
    return float(value)
