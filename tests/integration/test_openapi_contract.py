"""openapi.yaml is a valid OpenAPI document and real responses conform to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


def _schema_validator(spec: dict[str, Any], name: str) -> OAS30Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return OAS30Validator(schema)


def test_the_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_the_spec_model_fields_are_the_contract(spec: dict[str, Any]) -> None:
    from tests.support.catalog_documents import model

    served = set(model().public_dict())
    model_schema = spec["components"]["schemas"]["Model"]
    assert set(model_schema["required"]) == served
    assert set(model_schema["properties"]) == served


def test_real_responses_conform_to_the_spec(
    spec: dict[str, Any], client: Any, api_key: str
) -> None:
    listing = client.get("/models", headers={"X-Api-Key": api_key})
    one = client.get("/models/gpt-5.2", headers={"X-Api-Key": api_key})
    errors = [
        client.get("/models"),
        client.get("/models/nope", headers={"X-Api-Key": api_key}),
        client.get("/models?provider=x", headers={"X-Api-Key": api_key}),
        client.post("/models"),
    ]

    _schema_validator(spec, "ModelList").validate(listing.get_json())
    _schema_validator(spec, "Model").validate(one.get_json())
    for response in errors:
        assert str(response.status_code) in spec["paths"]["/models"]["get"]["responses"] or (
            response.status_code in (404, 405)
        )
        _schema_validator(spec, "Error").validate(response.get_json())
