from __future__ import annotations

import json
from pathlib import Path

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
    assert settings.firestore_database == settings.api_keys_database == "(default)"


def test_the_api_keys_database_defaults_to_the_catalogs_and_can_be_its_own() -> None:
    shared = Settings.from_env({**BASE, "FIRESTORE_DATABASE": "catalog"})
    apart = Settings.from_env(
        {**BASE, "FIRESTORE_DATABASE": "catalog", "API_KEYS_DATABASE": "keys"}
    )

    assert shared.api_keys_database == "catalog"
    assert (apart.firestore_database, apart.api_keys_database) == ("catalog", "keys")


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


# --- Local App Check mode (make run only) ----------------------------------------------------

PUBLIC_JWK = {
    "kty": "RSA",
    "kid": "local-1",
    "alg": "RS256",
    "use": "sig",
    "n": "AQAB",
    "e": "AQAB",
}


def _jwks_file(tmp_path: Path, content: object) -> str:
    path = tmp_path / "jwks.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_the_local_app_check_jwks_is_read_at_start_up(tmp_path: Path) -> None:
    jwks_file = _jwks_file(tmp_path, {"keys": [PUBLIC_JWK]})

    settings = Settings.from_env({**BASE, "LOCAL_APP_CHECK_JWKS_FILE": jwks_file})

    assert settings.local_app_check_jwks == {"keys": [PUBLIC_JWK]}
    assert Settings.from_env(BASE).local_app_check_jwks is None


def test_the_local_app_check_mode_is_refused_in_a_deployed_environment(tmp_path: Path) -> None:
    jwks_file = _jwks_file(tmp_path, {"keys": [PUBLIC_JWK]})
    environ = {**BASE, "LOCAL_APP_CHECK_JWKS_FILE": jwks_file, "K_SERVICE": "models"}

    with pytest.raises(ConfigError, match="LOCAL_APP_CHECK_JWKS_FILE is set in a deployed"):
        Settings.from_env(environ)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ({"keys": []}, "must be a JWKS"),
        ([PUBLIC_JWK], "must be a JWKS"),
        ({"keys": [{**PUBLIC_JWK, "kty": "EC"}]}, "RSA public key with a kid"),
        ({"keys": [{k: v for k, v in PUBLIC_JWK.items() if k != "kid"}]}, "with a kid"),
        ({"keys": [{**PUBLIC_JWK, "d": "AQAB"}]}, "private key material"),
    ],
)
def test_a_bad_local_app_check_jwks_stops_the_start_naming_the_variable(
    tmp_path: Path, content: object, message: str
) -> None:
    environ = {**BASE, "LOCAL_APP_CHECK_JWKS_FILE": _jwks_file(tmp_path, content)}

    with pytest.raises(ConfigError, match=f"LOCAL_APP_CHECK_JWKS_FILE: .*{message}"):
        Settings.from_env(environ)


def test_a_missing_local_app_check_jwks_file_stops_the_start(tmp_path: Path) -> None:
    environ = {**BASE, "LOCAL_APP_CHECK_JWKS_FILE": str(tmp_path / "absent.json")}

    with pytest.raises(ConfigError, match="LOCAL_APP_CHECK_JWKS_FILE: cannot read"):
        Settings.from_env(environ)
