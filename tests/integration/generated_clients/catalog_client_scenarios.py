"""What a platform developer writes with the Python client generated from openapi.yaml.

Not imported by the suite directly: `test_generated_clients.py` generates the `catalog_client`
package into a temporary directory, type-checks this file with it (mypy --strict), and runs
these functions against a real server. The API key travels as a plain header
(`headers={"X-Api-Key": ...}`): openapi-python-client ignores the spec's security schemes, and
its `AuthenticatedClient` exists for bearer tokens.
"""

from __future__ import annotations

from http import HTTPStatus

import httpx
from catalog_client import Client
from catalog_client.api.catalog import get_model, list_models
from catalog_client.models import ErrorResponse, Modality, Model, ModelList, Provider


class UnexpectedAnswer(Exception):
    """The service answered something the scenario did not expect."""


def client_for(base_url: str, api_key: str | None) -> Client:
    headers = {"X-Api-Key": api_key} if api_key is not None else {}
    return Client(base_url=base_url, headers=headers, timeout=httpx.Timeout(10.0))


def list_catalog(client: Client) -> tuple[ModelList, str]:
    """The whole catalog and its ETag."""
    response = list_models.sync_detailed(client=client)
    if not isinstance(response.parsed, ModelList):
        raise UnexpectedAnswer(f"{response.status_code}: {response.content!r}")
    return response.parsed, response.headers["ETag"]


def list_filtered(client: Client, provider: Provider, supports_tools: bool) -> ModelList:
    response = list_models.sync_detailed(
        client=client, provider=provider, supports_tools=supports_tools
    )
    if not isinstance(response.parsed, ModelList):
        raise UnexpectedAnswer(f"{response.status_code}: {response.content!r}")
    return response.parsed


def image_models_by_maker(client: Client, owned_by: str) -> dict[str, str]:
    """Each image-making model of one maker: what its output price is per."""
    response = list_models.sync_detailed(
        client=client, owned_by=owned_by, output_modality=Modality.IMAGE
    )
    if not isinstance(response.parsed, ModelList):
        raise UnexpectedAnswer(f"{response.status_code}: {response.content!r}")
    return {
        model.id: f"{model.cost_per_1k_output} credits per {model.output_price_per.value}"
        for model in response.parsed.models
    }


def one_model(client: Client, model_id: str, request_id: str) -> tuple[Model, str]:
    """One model, and the X-Request-Id the service answered with."""
    response = get_model.sync_detailed(model_id, client=client, x_request_id=request_id)
    if not isinstance(response.parsed, Model):
        raise UnexpectedAnswer(f"{response.status_code}: {response.content!r}")
    return response.parsed, response.headers["X-Request-Id"]


def refused(client: Client) -> tuple[HTTPStatus, ErrorResponse, str]:
    """An error answer: its status, its body and its X-Request-Id header."""
    response = list_models.sync_detailed(client=client)
    if not isinstance(response.parsed, ErrorResponse):
        raise UnexpectedAnswer(f"{response.status_code}: {response.content!r}")
    return response.status_code, response.parsed, response.headers["X-Request-Id"]


def revalidate(client: Client, etag: str) -> tuple[HTTPStatus, bytes, dict[str, str]]:
    """A conditional list request: status, body and headers."""
    response = list_models.sync_detailed(client=client, if_none_match=etag)
    return response.status_code, response.content, dict(response.headers)
