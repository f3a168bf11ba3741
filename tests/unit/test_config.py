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
    assert settings.catalog_max_shrink_fraction == 0.25
    assert settings.api_key_max_shrink_fraction == 0.25
    assert settings.app_check_app_ids == frozenset()  # the browser path refuses every token
    assert settings.firestore_database == settings.api_keys_database == "(default)"
    assert (settings.api_key_lookups_per_second, settings.api_key_lookup_burst) == (5, 20)
    assert settings.api_key_pepper_version == 1


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
        ({**BASE, "API_KEY_MAX_SHRINK_FRACTION": "1.5"}, "API_KEY_MAX_SHRINK_FRACTION must be"),
        ({**BASE, "K_SERVICE": "models", "FIREBASE_AUTH_EMULATOR_HOST": "x:1"}, "unsigned"),
    ],
)
def test_bad_configuration_fails_fast_naming_the_variable(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(environ)


def test_pepper_from_secret_manager_version() -> None:
    name = "projects/p/secrets/api-key-pepper/versions/7"
    settings = Settings.from_env({"GOOGLE_CLOUD_PROJECT": "p", "API_KEY_PEPPER_SECRET": name})

    assert settings.api_key_pepper is None
    assert settings.api_key_pepper_secret == name
    assert settings.api_key_pepper_version == 7
    assert settings.api_key_previous_pepper_version is None


def test_a_rotation_gives_the_current_and_the_previous_pepper_with_their_versions() -> None:
    from_env = Settings.from_env(
        {**BASE, "API_KEY_PEPPER_VERSION": "3", "API_KEY_PREVIOUS_PEPPER": "y" * 32,
         "API_KEY_PREVIOUS_PEPPER_VERSION": "2"}
    )  # fmt: skip
    from_secrets = Settings.from_env(
        {"GOOGLE_CLOUD_PROJECT": "p",
         "API_KEY_PEPPER_SECRET": "projects/p/secrets/s/versions/3",
         "API_KEY_PREVIOUS_PEPPER_SECRET": "projects/p/secrets/s/versions/2"}
    )  # fmt: skip

    assert Settings.from_env(BASE).api_key_pepper_version == 1  # the default
    assert (from_env.api_key_pepper_version, from_env.api_key_previous_pepper_version) == (3, 2)
    assert from_env.api_key_previous_pepper == "y" * 32
    assert (from_secrets.api_key_pepper_version, from_secrets.api_key_previous_pepper_version) == (
        3,
        2,
    )
    assert from_secrets.api_key_previous_pepper_secret == "projects/p/secrets/s/versions/2"


SECRET = "projects/p/secrets/s/versions/"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"API_KEY_PEPPER_VERSION": "latest"}, "version number"),
        ({"API_KEY_PEPPER_VERSION": "0"}, "version number"),
        ({"API_KEY_PREVIOUS_PEPPER": "y" * 32}, "API_KEY_PREVIOUS_PEPPER_VERSION is required"),
        (
            {"API_KEY_PREVIOUS_PEPPER": "y" * 32, "API_KEY_PREVIOUS_PEPPER_VERSION": "1"},
            "must be another Secret Manager version",
        ),
        (
            {"API_KEY_PREVIOUS_PEPPER": "x" * 32, "API_KEY_PREVIOUS_PEPPER_VERSION": "2"},
            "is the current pepper",
        ),
        ({"API_KEY_PREVIOUS_PEPPER": "short", "API_KEY_PREVIOUS_PEPPER_VERSION": "2"}, "32"),
        ({"API_KEY_PREVIOUS_PEPPER_SECRET": SECRET + "latest"}, "not 'latest'"),
        ({"API_KEY_PREVIOUS_PEPPER_SECRET": "s"}, "projects/P/secrets/S/versions/N"),
    ],
)
def test_bad_pepper_versions_fail_fast(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({**BASE, **extra})


def test_a_secret_name_and_a_different_declared_version_are_refused() -> None:
    environ = {"GOOGLE_CLOUD_PROJECT": "p", "API_KEY_PEPPER_SECRET": SECRET + "4",
               "API_KEY_PEPPER_VERSION": "5"}  # fmt: skip

    with pytest.raises(ConfigError, match="differs from the version"):
        Settings.from_env(environ)


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


def test_app_check_app_ids_are_firebase_app_ids_of_one_project() -> None:
    web, ios = "1:123456789012:web:abc123", "1:123456789012:ios:def456"

    settings = Settings.from_env({**BASE, "APP_CHECK_APP_IDS": f" {web}, {ios} "})

    assert settings.app_check_app_ids == {web, ios}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("web-app", "not a Firebase app id"),
        ("1:123:web:abc,1:456:web:def", "different project numbers"),
    ],
)
def test_bad_app_check_app_ids_are_refused_at_start(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"APP_CHECK_APP_IDS: .*{message}"):
        Settings.from_env({**BASE, "APP_CHECK_APP_IDS": value})


@pytest.mark.parametrize("value", ["-0.1", "1.5", "a lot"])
def test_the_shrink_fraction_is_a_fraction(value: str) -> None:
    with pytest.raises(ConfigError, match="CATALOG_MAX_SHRINK_FRACTION"):
        Settings.from_env({**BASE, "CATALOG_MAX_SHRINK_FRACTION": value})
