"""Wiring: settings in, a ready drift check out (the service's own Firestore catalog store)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import partial

from catalog_seed.pricing import PricingPolicy
from drift_check.download import download_json
from drift_check.job import DriftOutcome, LogEntry, run_drift_check
from drift_check.settings import DriftSettings
from models_api.backend.firestore import FirestoreBackend
from models_api.catalog.cache import FirestoreCatalogStore
from models_api.logs.structured_log import write_to_stdout


def log_to_stdout(entry: LogEntry) -> None:
    """One JSON line per entry: Cloud Run turns it into a structured log entry."""
    write_to_stdout(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))


def build_drift_check(
    settings: DriftSettings,
    log: Callable[[LogEntry], None] = log_to_stdout,
    today: Callable[[], dt.date] = lambda: dt.datetime.now(dt.timezone.utc).date(),
) -> Callable[[], DriftOutcome]:
    """A callable that runs one drift check (reads Firestore, never writes it)."""
    policy = PricingPolicy.load(settings.pricing_file)
    backend = FirestoreBackend(
        settings.project_id, settings.firestore_database, settings.firestore_timeout_seconds
    )
    store = FirestoreCatalogStore(backend, settings.catalog_collection)
    download = partial(
        download_json,
        timeout_seconds=settings.download_timeout_seconds,
        max_bytes=settings.max_download_bytes,
    )

    def run() -> DriftOutcome:
        return run_drift_check(settings, store.fetch_documents, download, policy, today(), log)

    return run
