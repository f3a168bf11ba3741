"""openapi.yaml is a valid OpenAPI document, and every answer the service gives conforms to it:
its status, every header it sends (declared, and valid against the declared schema), every
required header present, and its body."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from catalog_seed.pricing import PricingPolicy
from local_harness.processes import ROOT
from models_api.keys.key_format import generate_api_key
from tests.conftest import Project, make_client, mint_key

SPEC_PATH = ROOT / "openapi.yaml"
ORIGIN = "https://app.example.com"
# Described by `content` (Content-Type, Content-Length) or by the content-negotiation part of
# the spec (Vary, Content-Encoding), not as response headers of each operation.
NOT_PER_OPERATION_HEADERS = frozenset({"content-type", "content-length", "vary"})


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _schema_validator(spec: dict[str, Any], schema: dict[str, Any]) -> OAS30Validator:
    return OAS30Validator({**schema, "components": spec["components"]})


def _declared_response(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    """What the spec says `method path` answers with `status`; undeclared methods get 405."""
    operation = spec["paths"][path].get(method.lower())
    if operation is None:
        assert status == 405, f"{method} {path} is not declared, so it must be 405"
        return _resolve(spec, {"$ref": "#/components/responses/MethodNotAllowed"})
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, not declared"
    return _resolve(spec, responses[str(status)])


def assert_conforms(
    spec: dict[str, Any], path: str, method: str, response: Any, expected_status: int
) -> None:
    assert response.status_code == expected_status, response.data
    declared = _declared_response(spec, path, method, response.status_code)
    headers = {name.lower(): _resolve(spec, h) for name, h in declared.get("headers", {}).items()}

    sent = {name.lower() for name in response.headers.keys()}
    assert sent - headers.keys() - NOT_PER_OPERATION_HEADERS == set(), (method, path)
    for name, header in headers.items():
        if header.get("required"):
            assert name in sent, f"{method} {path} {response.status_code}: no {name}"
        if name in sent:
            value: Any = response.headers[name]
            if header["schema"].get("type") == "integer":
                value = int(value)
            _schema_validator(spec, header["schema"]).validate(value)

    content = declared.get("content")
    if method == "HEAD" or content is None:
        assert response.data == b""
    else:
        assert response.headers["Content-Type"] in content
        body = json.loads(response.data)
        _schema_validator(spec, content[response.headers["Content-Type"]]["schema"]).validate(body)


def test_the_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_the_spec_model_fields_are_the_contract(spec: dict[str, Any]) -> None:
    from tests.support.catalog_documents import model

    served = set(model().public_dict())
    model_schema = spec["components"]["schemas"]["Model"]
    assert set(model_schema["required"]) == served
    assert set(model_schema["properties"]) == served


def test_every_operation_has_an_id_a_tag_and_every_field_a_description(
    spec: dict[str, Any],
) -> None:
    operations = [op for item in spec["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    tags = {tag["name"] for tag in spec["tags"]}

    assert len(ids) == len(set(ids)) == 6
    assert all(op["tags"] and set(op["tags"]) <= tags for op in operations)
    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            assert "description" in _resolve(spec, prop), f"{name}.{field}"
    for parameter in spec["components"]["parameters"].values():
        assert parameter["description"]


def test_the_spec_states_the_credit_value_and_rounding_the_seed_applies(
    spec: dict[str, Any],
) -> None:
    policy = PricingPolicy.load(ROOT / "catalog_seed" / "pricing.toml")
    description = " ".join(spec["info"]["description"].split())

    assert f"1 credit = US${policy.usd_per_credit}" in description
    assert f"x {policy.margin} (margin) / {policy.usd_per_credit}`, rounded UP" in description
    assert f"to {policy.decimal_places} decimal places" in description
    assert policy.credits_per_1k_tokens(Decimal("1.75")) == 0.245
    assert "US$1.75 per 1M input tokens -> 0.245 credits per 1k" in description


def test_every_answer_conforms_to_the_spec(
    spec: dict[str, Any], seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(seeded, monkeypatch, CORS_ALLOWED_ORIGINS=ORIGIN)
    key = {"X-Api-Key": mint_key(seeded)}
    list_etag = {**key, "If-None-Match": client.get("/models", headers=key).headers["ETag"]}
    one_etag = {**key, "If-None-Match": client.get("/models/gpt-5.2", headers=key).headers["ETag"]}
    cors_get = {**key, "Origin": ORIGIN}
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}

    cases = [
        ("/models", "GET", "/models", key, 200),
        ("/models", "HEAD", "/models", key, 200),
        ("/models", "GET", "/models", list_etag, 304),
        ("/models", "HEAD", "/models", list_etag, 304),
        ("/models", "GET", "/models?provider=anthropic&supports_tools=true", key, 200),
        ("/models", "GET", "/models?supports_tools=True", key, 400),
        ("/models", "HEAD", "/models?provider=x", key, 400),
        ("/models", "GET", "/models", {}, 401),
        ("/models", "HEAD", "/models", {"X-Api-Key": "inf_nope"}, 401),
        ("/models", "GET", "/models", cors_get, 200),
        ("/models", "OPTIONS", "/models", preflight, 204),
        ("/models", "POST", "/models", key, 405),
        ("/models", "PUT", "/models", {}, 405),
        ("/models/{id}", "GET", "/models/gpt-5.2", {**key, "X-Request-Id": "trace-1"}, 200),
        ("/models/{id}", "HEAD", "/models/gpt-5.2", key, 200),
        ("/models/{id}", "GET", "/models/gpt-5.2", one_etag, 304),
        ("/models/{id}", "GET", "/models/nope", cors_get, 404),
        ("/models/{id}", "HEAD", "/models/nope", key, 404),
        # a path werkzeug's router itself refuses (newline): the framework's own 404
        ("/models/{id}", "GET", "/models/a%0Ab", {"X-Request-Id": "trace-2"}, 404),
        ("/models/{id}", "OPTIONS", "/models/a%0Ab", {}, 404),
        ("/models/{id}", "GET", "/models/gpt-5.2", {}, 401),
        ("/models/{id}", "OPTIONS", "/models/gpt-5.2", {}, 204),
        ("/models/{id}", "DELETE", "/models/gpt-5.2", key, 405),
        ("/models/{id}", "PATCH", "/models/gpt-5.2", cors_get, 405),
    ]  # fmt: skip

    for path, method, url, headers, status in cases:
        response = client.open(url, method=method, headers=headers)
        assert_conforms(spec, path, method, response, status)


def test_throttled_unavailable_and_internal_answers_conform_to_the_spec(
    spec: dict[str, Any], seeded: Project, monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    key = {"X-Api-Key": mint_key(seeded)}
    throttled = make_client(seeded, monkeypatch, AUTH_FAILURE_LIMIT="1")
    for _ in range(2):
        throttled.get("/models", headers={"X-Api-Key": "inf_nope"})
    unknown = {"X-Api-Key": generate_api_key()}  # the throttle guards only a key's read
    assert_conforms(spec, "/models", "GET", throttled.get("/models", headers=unknown), 429)
    assert_conforms(spec, "/models", "HEAD", throttled.head("/models", headers=unknown), 429)
    over_budget = make_client(
        seeded, monkeypatch, API_KEY_LOOKUP_BURST="1", API_KEY_LOOKUPS_PER_SECOND="0.1",
        AUTH_FAILURE_LIMIT="30",
    )  # fmt: skip
    over_budget.get("/models", headers={"X-Api-Key": generate_api_key()})
    spent = over_budget.get("/models", headers={"X-Api-Key": generate_api_key()})
    assert_conforms(spec, "/models", "GET", spent, 503)

    unreachable = make_client(
        seeded, monkeypatch, FIRESTORE_EMULATOR_HOST="127.0.0.1:9", BACKEND_TIMEOUT_SECONDS="1"
    )
    assert_conforms(spec, "/models/{id}", "GET", unreachable.get("/models/x", headers=key), 503)

    failing = make_client(seeded, monkeypatch)
    mocker.patch(
        "models_api.catalog.cache.FirestoreCatalogStore.fetch_catalog",
        side_effect=RuntimeError("boom"),
    )
    assert_conforms(spec, "/models", "GET", failing.get("/models", headers=key), 500)
