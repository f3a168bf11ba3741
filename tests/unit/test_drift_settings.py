"""The drift check's settings: defaults are the public datasets, overrides are checked."""

from __future__ import annotations

import pytest

from drift_check.settings import (
    DEFAULT_LITELLM_URL,
    DEFAULT_OPENROUTER_ENDPOINTS_URL,
    DEFAULT_OPENROUTER_MODELS_URL,
    DriftSettings,
)
from models_api.errors import ConfigError


def test_defaults_are_the_public_urls_and_the_shipped_pricing_policy() -> None:
    settings = DriftSettings.from_env({"GOOGLE_CLOUD_PROJECT": "p"})

    assert settings.openrouter_models_url == DEFAULT_OPENROUTER_MODELS_URL
    assert settings.openrouter_endpoints_url == DEFAULT_OPENROUTER_ENDPOINTS_URL
    assert settings.litellm_url == DEFAULT_LITELLM_URL
    assert DEFAULT_LITELLM_URL.startswith("https://raw.githubusercontent.com/BerriAI/litellm/")
    assert settings.firestore_database == "(default)" and settings.catalog_collection == "models"
    assert settings.pricing_file.name == "pricing.toml" and settings.pricing_file.is_file()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GOOGLE_CLOUD_PROJECT", "", "GOOGLE_CLOUD_PROJECT is required"),
        ("DRIFT_LITELLM_URL", "file:///etc/passwd", "must be an http(s) URL"),
        ("DRIFT_OPENROUTER_ENDPOINTS_URL", "https://x/api/v1/models/e", "must contain {model}"),
        ("DRIFT_DOWNLOAD_TIMEOUT_SECONDS", "0", "must be a positive number"),
        ("DRIFT_MAX_DOWNLOAD_MB", "lots", "must be a positive number"),
    ],
)
def test_a_bad_setting_is_refused_by_name(name: str, value: str, message: str) -> None:
    environ = {"GOOGLE_CLOUD_PROJECT": "p", name: value}

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DriftSettings.from_env(environ)
