"""Wiring: settings in, a ready handler out. Clients are created lazily and reused."""

from __future__ import annotations

import logging

from models_api.auth.authentication import Authenticator
from models_api.auth.firebase_tokens import FirebaseTokenVerifier
from models_api.auth.throttle import AuthFailureThrottle, LookupBudget
from models_api.backend.firestore import FirestoreBackend
from models_api.catalog.cache import CatalogCache, FirestoreCatalogStore
from models_api.config import Settings
from models_api.handler import ModelsHandler
from models_api.keys.index import KeyIndex
from models_api.keys.pepper import pepper_source
from models_api.keys.verifier import ApiKeyVerifier, FirestoreKeyStore
from models_api.logs.structured_log import RequestLogger, configure_service_logging

logger = logging.getLogger(__name__)


def build_models_handler(settings: Settings) -> ModelsHandler:
    """Assemble the handler from settings."""
    configure_service_logging()
    backend = FirestoreBackend(
        settings.project_id, settings.firestore_database, settings.backend_timeout_seconds
    )
    keys_backend = backend
    if settings.api_keys_database != settings.firestore_database:
        keys_backend = FirestoreBackend(
            settings.project_id, settings.api_keys_database, settings.backend_timeout_seconds
        )
    timeout = settings.backend_timeout_seconds
    peppers = [pepper_source(settings.api_key_pepper, settings.api_key_pepper_secret, timeout)]
    if settings.api_key_previous_pepper_version is not None:
        peppers.append(
            pepper_source(
                settings.api_key_previous_pepper, settings.api_key_previous_pepper_secret, timeout
            )
        )
    key_store = FirestoreKeyStore(keys_backend, settings.api_keys_collection)
    key_index = KeyIndex(
        key_store,
        refresh_seconds=settings.api_key_refresh_seconds,
        max_stale_seconds=settings.api_key_max_stale_seconds,
        wait_seconds=settings.backend_timeout_seconds,
        max_shrink_fraction=settings.api_key_max_shrink_fraction,
    )
    api_keys = ApiKeyVerifier(
        peppers,
        key_index,
        key_store,
        max_entries=settings.api_key_cache_max_entries,
        wait_seconds=settings.backend_timeout_seconds,
        lookup_budget=LookupBudget(
            settings.api_key_lookups_per_second, settings.api_key_lookup_burst
        ),
    )
    if settings.local_app_check_jwks is not None:
        logger.warning("local App Check mode: App Check tokens are checked against local keys")
    browser_tokens = FirebaseTokenVerifier(
        settings.firebase_project_id,
        settings.backend_timeout_seconds,
        app_check_app_ids=settings.app_check_app_ids,
        local_app_check_jwks=settings.local_app_check_jwks,
    )
    if not settings.app_check_app_ids:
        logger.warning("APP_CHECK_APP_IDS is not set: the browser path refuses every request")
    catalog = CatalogCache(
        FirestoreCatalogStore(backend, settings.catalog_collection),
        ttl_seconds=settings.catalog_cache_ttl_seconds,
        max_stale_seconds=settings.catalog_max_stale_seconds,
        max_shrink_fraction=settings.catalog_max_shrink_fraction,
    )
    return ModelsHandler(
        authenticator=Authenticator(
            api_keys, browser_tokens, auth_emulator=settings.firebase_auth_emulator
        ),
        catalog=catalog,
        throttle=AuthFailureThrottle(
            settings.auth_failure_limit, settings.auth_failure_window_seconds
        ),
        request_logger=RequestLogger(
            settings.project_id,
            read_count=lambda: (
                backend.reads.total
                + (keys_backend.reads.total if keys_backend is not backend else 0)
            ),
        ),
        allowed_origins=settings.cors_allowed_origins,
        trusted_proxy_hops=settings.trusted_proxy_hops,
    )
