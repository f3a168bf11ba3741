"""The Firestore client shared by the stores: created lazily, bounded waits, read counting.

google-cloud-firestore is imported on first use only, so an instance that never reaches
Firestore (a 401 for a malformed key, a CORS preflight) does not pay for the import.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from models_api.errors import BackendUnavailable


class ReadCounter:
    """Counts Firestore documents read by this process (billing unit, bench and logs)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def add(self, documents: int) -> None:
        with self._lock:
            self._count += documents

    @property
    def total(self) -> int:
        return self._count


class FirestoreBackend:
    """Owns one Firestore client and the rules every call follows.

    Every call has an explicit deadline and no client-side retry: the library's default retry
    can otherwise block a request for 20 s and more while Firestore is unreachable. After a
    failure, calls fail fast for `cooldown_seconds` so requests do not queue behind a dead
    backend; callers serve what they cached meanwhile.
    """

    def __init__(
        self,
        project_id: str,
        database: str,
        timeout_seconds: float,
        *,
        cooldown_seconds: float = 2.0,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.project_id = project_id
        self.database = database
        self.timeout_seconds = timeout_seconds
        self.reads = ReadCounter()
        self._cooldown_seconds = cooldown_seconds
        self._client_factory = client_factory or self._default_client
        self._clock = clock
        self._client: Any = None
        self._client_lock = threading.Lock()
        self._unavailable_until = 0.0

    def _default_client(self) -> Any:
        from google.cloud import firestore

        return firestore.Client(project=self.project_id, database=self.database)

    def client(self) -> Any:
        """The shared client, created on first use."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._client_factory()
        return self._client

    def call(self, operation: Callable[[Any, float], Any], description: str) -> Any:
        """Run `operation(client, timeout)`; any failure becomes BackendUnavailable."""
        if self._clock() < self._unavailable_until:
            raise BackendUnavailable(f"firestore {description}: cooling down after a failure")
        try:
            return operation(self.client(), self.timeout_seconds)
        except Exception as error:
            if not is_backend_failure(error):
                raise
            self._unavailable_until = self._clock() + self._cooldown_seconds
            raise BackendUnavailable(
                f"firestore {description} failed: {type(error).__name__}"
            ) from error


def is_backend_failure(error: BaseException) -> bool:
    """True for errors that mean 'Firestore could not answer', not for programming errors."""
    import grpc
    from google.api_core import exceptions as api_exceptions
    from google.auth import exceptions as auth_exceptions

    return isinstance(
        error,
        (
            api_exceptions.GoogleAPIError,
            api_exceptions.RetryError,
            auth_exceptions.GoogleAuthError,
            grpc.RpcError,
            TimeoutError,
            ConnectionError,
        ),
    )
