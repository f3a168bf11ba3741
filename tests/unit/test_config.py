from __future__ import annotations

import pytest

from models_api.config import Settings
from models_api.errors import ConfigError

BASE = {"GOOGLE_CLOUD_PROJECT": "p", "API_KEY_PEPPER": "x" * 32}


def test_defaults() -> None:
    settings = Settings.from_env(BASE)

    assert settings.catalog_cache_ttl_seconds == 60
    assert settings.api_key_refresh_seconds == 4
    assert settings.api_key_max_stale_seconds == 3600
    assert settings.backend_timeout_seconds == 3
    assert settings.firebase_project_id == "p"
    assert settings.cors_allowed_origins == frozenset()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"API_KEY_PEPPER": "x" * 32}, "GOOGLE_CLOUD_PROJECT is required"),
        ({"GOOGLE_CLOUD_PROJECT": "p"}, "API_KEY_PEPPER"),
        ({**BASE, "API_KEY_PEPPER": "short"}, "at least 32"),
        ({"GOOGLE_CLOUD_PROJECT": "p", "API_KEY_PEPPER_SECRET": "pepper"}, "projects/P/secrets"),
        ({**BASE, "CATALOG_CACHE_TTL_SECONDS": "soon"}, "must be a number"),
        ({**BASE, "API_KEY_REFRESH_SECONDS": "120"}, "API_KEY_REFRESH_SECONDS must be between"),
        ({**BASE, "CORS_ALLOWED_ORIGINS": "*"}, "is not an origin"),
        ({**BASE, "K_SERVICE": "models", "FIREBASE_AUTH_EMULATOR_HOST": "x:1"}, "unsigned"),
    ],
)
def test_bad_configuration_fails_fast_naming_the_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_pepper_from_secret_manager_version() -> None:
    name = "projects/p/secrets/api-key-pepper/versions/latest"
    settings = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p", "API_KEY_PEPPER_SECRET": name})

    assert settings.api_key_pepper is None
    assert settings.api_key_pepper_secret == name


def test_the_auth_emulator_is_allowed_locally() -> None:
    settings = Settings.from_env({**BASE, "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"})

    assert settings.project_id == BASE["GOOGLE_CLOUD_PROJECT"]
