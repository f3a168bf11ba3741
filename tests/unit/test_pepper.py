"""SecretManagerPepper with the real client types; the RPC is faked with pytest-mock."""

from __future__ import annotations

from typing import Any

import google_crc32c
import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import secretmanager

from models_api.errors import BackendUnavailable, DependencyMisconfigured
from models_api.keys.pepper import SecretManagerPepper

NAME = "projects/p/secrets/api-key-pepper/versions/latest"
SECRET = b"s" * 48


def response_for(data: bytes, crc: int | None = None) -> secretmanager.AccessSecretVersionResponse:
    return secretmanager.AccessSecretVersionResponse(
        name=NAME,
        payload=secretmanager.SecretPayload(
            data=data, data_crc32c=google_crc32c.value(data) if crc is None else crc
        ),
    )


def test_the_secret_is_read_once_with_a_bounded_wait(mocker: Any) -> None:
    client = mocker.Mock()
    client.access_secret_version.return_value = response_for(SECRET)
    pepper = SecretManagerPepper(NAME, 2.5, client_factory=lambda: client)

    assert pepper() == SECRET
    assert pepper() == SECRET
    client.access_secret_version.assert_called_once_with(
        request={"name": NAME}, timeout=2.5, retry=None
    )


def test_a_transient_failure_is_503_and_not_cached(mocker: Any) -> None:
    client = mocker.Mock()
    client.access_secret_version.side_effect = [
        api_exceptions.ServiceUnavailable("down"),
        response_for(SECRET),
    ]
    pepper = SecretManagerPepper(NAME, 1, client_factory=lambda: client)

    with pytest.raises(BackendUnavailable):
        pepper()
    assert pepper() == SECRET


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        (api_exceptions.PermissionDenied("no"), DependencyMisconfigured),
        (api_exceptions.NotFound("no"), DependencyMisconfigured),
        (response_for(SECRET, crc=1), BackendUnavailable),
        (response_for(b"short"), DependencyMisconfigured),
    ],
)
def test_bad_outcomes(mocker: Any, outcome: Any, error: type[Exception]) -> None:
    client = mocker.Mock()
    if isinstance(outcome, Exception):
        client.access_secret_version.side_effect = outcome
    else:
        client.access_secret_version.return_value = outcome

    with pytest.raises(error):
        SecretManagerPepper(NAME, 1, client_factory=lambda: client)()
