"""Settings read once from the environment: frozen, validated, failing fast with a clear message."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models_api.auth.app_check_claims import project_number_of
from models_api.catalog.guard import DEFAULT_MAX_SHRINK_FRACTION
from models_api.errors import ConfigError
from models_api.keys.guard import DEFAULT_MAX_SHRINK_FRACTION as DEFAULT_KEY_MAX_SHRINK_FRACTION

MIN_PEPPER_LENGTH = 32
_SECRET_VERSION_NAME = re.compile(r"^projects/[^/]+/secrets/[A-Za-z0-9_-]{1,255}/versions/([^/]+)$")
_PEPPER_VERSION = re.compile(r"^[1-9][0-9]{0,9}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
# JWK members that only a private key has: a JWKS handed to the service must hold none.
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know about its environment. See README 'Configuration'."""

    project_id: str
    firebase_project_id: str
    firestore_database: str
    # The API keys may live in a database of their own (the deployment puts them apart from the
    # catalog so the catalog's editors cannot write them: IAM conditions name databases).
    api_keys_database: str
    catalog_collection: str
    api_keys_collection: str
    api_key_pepper: str | None
    api_key_pepper_secret: str | None
    catalog_cache_ttl_seconds: float
    catalog_max_stale_seconds: float
    catalog_max_shrink_fraction: float
    api_key_refresh_seconds: float
    api_key_max_stale_seconds: float
    api_key_cache_max_entries: int
    backend_timeout_seconds: float
    cors_allowed_origins: frozenset[str]
    auth_failure_limit: int
    auth_failure_window_seconds: float
    trusted_proxy_hops: int
    # Firebase app ids whose App Check tokens are accepted (all of one project number).
    app_check_app_ids: frozenset[str] = frozenset()
    # Local App Check mode only (`make run`): the public JWKS of the local run's signing key.
    local_app_check_jwks: dict[str, Any] | None = None
    # FIREBASE_AUTH_EMULATOR_HOST is set (local runs and tests only; refused with K_SERVICE).
    firebase_auth_emulator: bool = False
    # The Secret Manager version number of the current pepper (recorded in every minted key).
    api_key_pepper_version: int = 1
    # A previous pepper still accepted for keys minted under it (during a rotation).
    api_key_previous_pepper: str | None = None
    api_key_previous_pepper_secret: str | None = None
    api_key_previous_pepper_version: int | None = None
    # Firestore lookups of keys the index does not hold, per worker process (a token bucket).
    api_key_lookups_per_second: float = 5.0
    api_key_lookup_burst: float = 20.0
    # The largest share of active keys one index read may lose without a key_admin record.
    api_key_max_shrink_fraction: float = DEFAULT_KEY_MAX_SHRINK_FRACTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from environment variables; raise ConfigError naming the variable."""
        if environ.get("K_SERVICE") and environ.get("FIREBASE_AUTH_EMULATOR_HOST"):
            raise ConfigError(
                "FIREBASE_AUTH_EMULATOR_HOST is set in a deployed environment (K_SERVICE is set): "
                "firebase-admin would accept unsigned ID tokens. Remove the variable."
            )
        if environ.get("K_SERVICE") and environ.get("LOCAL_APP_CHECK_JWKS_FILE"):
            raise ConfigError(
                "LOCAL_APP_CHECK_JWKS_FILE is set in a deployed environment (K_SERVICE is set): "
                "App Check tokens would be checked against local keys instead of Google's. "
                "Remove the variable."
            )
        project_id = _text(environ, "GOOGLE_CLOUD_PROJECT") or _text(environ, "GCP_PROJECT")
        if not project_id:
            raise ConfigError(
                "GOOGLE_CLOUD_PROJECT is required (the project that holds Firestore)."
            )

        pepper, pepper_secret, pepper_version = _pepper(environ, "API_KEY_PEPPER")
        if pepper is None and pepper_secret is None:
            raise ConfigError(
                "Set API_KEY_PEPPER (the pepper itself, e.g. a Cloud Run secret environment "
                "variable) or API_KEY_PEPPER_SECRET (a Secret Manager version name "
                "projects/P/secrets/S/versions/N). The local run sets a dev pepper."
            )
        previous, previous_secret, number = _pepper(environ, "API_KEY_PREVIOUS_PEPPER")
        previous_version = None if previous is None and previous_secret is None else number
        if previous_version == pepper_version:
            raise ConfigError(
                "API_KEY_PREVIOUS_PEPPER_VERSION equals API_KEY_PEPPER_VERSION: the previous "
                "pepper must be another Secret Manager version."
            )
        elif previous is not None and previous == pepper:
            raise ConfigError("API_KEY_PREVIOUS_PEPPER is the current pepper.")

        origins = frozenset(
            origin.strip().rstrip("/")
            for origin in environ.get("CORS_ALLOWED_ORIGINS", "").split(",")
            if origin.strip()
        )
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ConfigError(
                    f"CORS_ALLOWED_ORIGINS: {origin!r} is not an origin like https://app.example.com"
                )

        return cls(
            project_id=project_id,
            firebase_project_id=_text(environ, "FIREBASE_PROJECT_ID") or project_id,
            firestore_database=_text(environ, "FIRESTORE_DATABASE") or "(default)",
            api_keys_database=(
                _text(environ, "API_KEYS_DATABASE")
                or _text(environ, "FIRESTORE_DATABASE")
                or "(default)"
            ),
            catalog_collection=_text(environ, "CATALOG_COLLECTION") or "models",
            api_keys_collection=_text(environ, "API_KEYS_COLLECTION") or "api_keys",
            api_key_pepper=pepper,
            api_key_pepper_secret=pepper_secret,
            api_key_pepper_version=pepper_version,
            api_key_previous_pepper=previous,
            api_key_previous_pepper_secret=previous_secret,
            api_key_previous_pepper_version=previous_version,
            # A flood costs at most this many reads per second per worker (legitimate lookups,
            # of keys minted in the last refresh period, are a few a minute).
            api_key_lookups_per_second=_number(
                environ, "API_KEY_LOOKUPS_PER_SECOND", 5, 0.1, 100_000
            ),
            api_key_lookup_burst=_number(environ, "API_KEY_LOOKUP_BURST", 20, 1, 100_000),
            catalog_cache_ttl_seconds=_number(environ, "CATALOG_CACHE_TTL_SECONDS", 60, 0.01, 3600),
            catalog_max_stale_seconds=_number(
                environ, "CATALOG_MAX_STALE_SECONDS", 3600, 0, 7 * 86400
            ),
            catalog_max_shrink_fraction=catalog_max_shrink_fraction(environ),
            # The revocation bound is twice this (models_api/keys/index.py).
            api_key_refresh_seconds=_number(environ, "API_KEY_REFRESH_SECONDS", 4, 0.05, 30),
            api_key_max_stale_seconds=_number(
                environ, "API_KEY_MAX_STALE_SECONDS", 3600, 0, 7 * 86400
            ),
            api_key_max_shrink_fraction=_number(
                environ, "API_KEY_MAX_SHRINK_FRACTION", DEFAULT_KEY_MAX_SHRINK_FRACTION, 0, 1
            ),
            api_key_cache_max_entries=int(
                _number(environ, "API_KEY_CACHE_MAX_ENTRIES", 10000, 1, 1_000_000)
            ),
            backend_timeout_seconds=_number(environ, "BACKEND_TIMEOUT_SECONDS", 3, 0.1, 30),
            cors_allowed_origins=origins,
            auth_failure_limit=int(_number(environ, "AUTH_FAILURE_LIMIT", 30, 1, 1_000_000)),
            auth_failure_window_seconds=_number(
                environ, "AUTH_FAILURE_WINDOW_SECONDS", 60, 1, 3600
            ),
            trusted_proxy_hops=int(_number(environ, "TRUSTED_PROXY_HOPS", 0, 0, 10)),
            app_check_app_ids=_app_check_app_ids(environ),
            local_app_check_jwks=_local_app_check_jwks(environ),
            firebase_auth_emulator=bool(_text(environ, "FIREBASE_AUTH_EMULATOR_HOST")),
        )


def _pepper(environ: Mapping[str, str], name: str) -> tuple[str | None, str | None, int]:
    """One pepper (`name` = API_KEY_PEPPER or API_KEY_PREVIOUS_PEPPER): its value or its Secret
    Manager version name (`name`_SECRET; the value wins when both are set), and its version
    number (from the name, or `name`_VERSION: default 1 for the current pepper, required for
    the previous one)."""
    value = environ.get(name) or None
    secret = _text(environ, f"{name}_SECRET")
    declared = _text(environ, f"{name}_VERSION")
    if value is not None:
        if len(value) < MIN_PEPPER_LENGTH:
            raise ConfigError(f"{name} must be at least {MIN_PEPPER_LENGTH} characters.")
        if declared is None and name != "API_KEY_PEPPER":
            raise ConfigError(
                f"{name}_VERSION is required with {name}: the Secret Manager version number "
                "its keys were minted under."
            )
        return value, None, _version(f"{name}_VERSION", declared or "1")
    if secret is None:
        return None, None, 0
    match = _SECRET_VERSION_NAME.match(secret)
    if match is None:
        raise ConfigError(f"{name}_SECRET must look like projects/P/secrets/S/versions/N.")
    version = _version(f"{name}_SECRET", match.group(1))
    if declared is not None and _version(f"{name}_VERSION", declared) != version:
        raise ConfigError(f"{name}_VERSION ({declared}) differs from the version in {name}_SECRET.")
    return None, secret, version


def _version(name: str, raw: str) -> int:
    if not _PEPPER_VERSION.match(raw):
        raise ConfigError(
            f"{name}: the pepper version must be a Secret Manager version number (1, 2, ...), "
            f"got {raw!r}; not 'latest': every key records the version it was minted under."
        )
    return int(raw)


def _app_check_app_ids(environ: Mapping[str, str]) -> frozenset[str]:
    """APP_CHECK_APP_IDS: comma-separated Firebase app ids, all of one project (number)."""
    app_ids = frozenset(
        app_id.strip()
        for app_id in environ.get("APP_CHECK_APP_IDS", "").split(",")
        if app_id.strip()
    )
    numbers = set()
    for app_id in app_ids:
        try:
            numbers.add(project_number_of(app_id))
        except ValueError as error:
            raise ConfigError(f"APP_CHECK_APP_IDS: {error}.") from None
    if len(numbers) > 1:
        raise ConfigError(
            "APP_CHECK_APP_IDS: the app ids name different project numbers "
            f"({', '.join(sorted(numbers))}); list apps of the Firebase project only."
        )
    return app_ids


def _local_app_check_jwks(environ: Mapping[str, str]) -> dict[str, Any] | None:
    """The public JWKS named by LOCAL_APP_CHECK_JWKS_FILE, checked for shape; None if unset."""
    path = _text(environ, "LOCAL_APP_CHECK_JWKS_FILE")
    if path is None:
        return None
    name = "LOCAL_APP_CHECK_JWKS_FILE"
    try:
        jwks = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{name}: cannot read {path!r}: {error.strerror}.") from None
    except ValueError:
        raise ConfigError(f"{name}: {path!r} is not JSON.") from None
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise ConfigError(f'{name}: {path!r} must be a JWKS, {{"keys": [...]}}, with a key.')
    for key in keys:
        if not isinstance(key, dict) or key.get("kty") != "RSA" or not key.get("kid"):
            raise ConfigError(f"{name}: every key must be an RSA public key with a kid.")
        if _PRIVATE_JWK_MEMBERS & key.keys():
            raise ConfigError(
                f"{name}: {path!r} holds private key material; give the service public keys only."
            )
    return {"keys": keys}


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def catalog_max_shrink_fraction(environ: Mapping[str, str]) -> float:
    """CATALOG_MAX_SHRINK_FRACTION (0-1): read alike by the service's guard and the seed."""
    return _number(environ, "CATALOG_MAX_SHRINK_FRACTION", DEFAULT_MAX_SHRINK_FRACTION, 0, 1)


def _number(
    environ: Mapping[str, str], name: str, default: float, minimum: float, maximum: float
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return float(default)
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
    if not minimum <= value <= maximum:
        raise ConfigError(f"{name} must be between {minimum:g} and {maximum:g}, got {raw}.")
    return value
