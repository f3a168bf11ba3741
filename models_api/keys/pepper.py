"""Where an API-key pepper comes from: the environment, or Secret Manager (read once).

A deployment is given its current pepper and, during a rotation, the previous one, each with
its Secret Manager version number (models_api/config.py, docs/api-keys.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from models_api.errors import BackendUnavailable, DependencyMisconfigured


def static_pepper(value: str) -> Callable[[], bytes]:
    """The pepper given directly (a Cloud Run secret environment variable, or the dev pepper)."""
    pepper = value.encode("utf-8")
    return lambda: pepper


def pepper_source(
    value: str | None, secret_version_name: str | None, timeout_seconds: float
) -> Callable[[], bytes]:
    """The pepper given directly, else the one read from its Secret Manager version."""
    if value is not None:
        return static_pepper(value)
    if secret_version_name is None:
        raise ValueError("a pepper needs a value or a secret version name")
    return SecretManagerPepper(secret_version_name, timeout_seconds)


class SecretManagerPepper:
    """Reads a secret version once per instance, on first use, with a bounded wait.

    A failed read is not cached: the next request tries again (and gets 503 meanwhile).
    """

    def __init__(
        self,
        version_name: str,
        timeout_seconds: float,
        client_factory: Callable[[], Any] | None = None,
    ):
        self._version_name = version_name
        self._timeout_seconds = timeout_seconds
        self._client_factory = client_factory or _default_secret_manager_client
        self._value: bytes | None = None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        if self._value is not None:
            return self._value
        with self._lock:
            if self._value is None:
                self._value = self._read()
            return self._value

    def _read(self) -> bytes:
        import google_crc32c
        from google.api_core import exceptions as api_exceptions

        try:
            response = self._client_factory().access_secret_version(
                request={"name": self._version_name}, timeout=self._timeout_seconds, retry=None
            )
        except (api_exceptions.NotFound, api_exceptions.PermissionDenied) as error:
            raise DependencyMisconfigured(
                f"cannot read the pepper secret version: {type(error).__name__}"
            ) from error
        except (api_exceptions.GoogleAPIError, api_exceptions.RetryError) as error:
            raise BackendUnavailable(
                f"secret manager read failed: {type(error).__name__}"
            ) from error
        data: bytes = response.payload.data
        if "data_crc32c" in response.payload:
            if google_crc32c.value(data) != response.payload.data_crc32c:
                raise BackendUnavailable("secret manager payload failed its CRC32C check")
        if len(data) < 32:
            raise DependencyMisconfigured("the pepper secret is shorter than 32 bytes")
        return data


def _default_secret_manager_client() -> Any:
    from google.cloud import secretmanager

    return secretmanager.SecretManagerServiceClient()
