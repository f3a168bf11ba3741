"""The one validator of catalog documents, shared by the seed script and the service."""

from __future__ import annotations

from typing import Any

import pytest

from models_api.catalog.model_schema import InvalidCatalogDocument, model_from_document
from tests.support.catalog_documents import document

TIER = {"above_input_tokens": 500, "input_per_1k_tokens": 0.2, "output_per_1k_tokens": 0.3}


def pricing(**changes: Any) -> dict[str, Any]:
    return {**document()["pricing"], **changes}


def test_a_valid_document_becomes_a_model_with_the_contract_fields_first() -> None:
    model = model_from_document("m1", document())

    public = model.public_dict()
    assert list(public)[:9] == [
        "id",
        "name",
        "provider",
        "context_window",
        "max_output_tokens",
        "cost_per_1k_input",
        "cost_per_1k_output",
        "supports_tools",
        "supports_vision",
    ]
    assert public["pricing"]["unit"] == "credits"
    assert public["lifecycle"] == "active" and public["retirement_date"] is None


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"provider": "azure"}, "provider"),
        ({"context_window": 0}, "context_window"),
        ({"context_window": True}, "context_window"),
        ({"max_output_tokens": 5000}, "max_output_tokens"),
        ({"cost_per_1k_input": -1}, "cost_per_1k_input"),
        ({"supports_tools": "yes"}, "supports_tools"),
        ({"name": ""}, "name"),
        ({"id": "Has Spaces"}, "id"),
        ({"lifecycle": "legacy"}, "lifecycle"),
        ({"lifecycle": "deprecated"}, "deprecation_date"),
        ({"deprecation_date": "2026-06-11"}, "lifecycle"),
        (
            {
                "lifecycle": "deprecated",
                "deprecation_date": "2026-06-11",
                "retirement_date": "2026-01-01",
            },
            "retirement_date",
        ),
        ({"retirement_date": "11/12/2026"}, "retirement_date"),
        ({"replacement": "m1"}, "replacement"),
        ({"owned_by": None}, "owned_by"),
        ({"owned_by": "Google"}, "owned_by"),
        ({"owned_by": "google/gemini"}, "owned_by"),
        ({"input_modalities": None}, "input_modalities"),
        ({"input_modalities": []}, "input_modalities"),
        ({"input_modalities": ["text", "pdf"]}, "input_modalities"),
        ({"input_modalities": ["text", "text"]}, "input_modalities"),
        ({"output_modalities": "text"}, "output_modalities"),
        ({"input_modalities": ["text", "image"]}, "supports_vision"),
        ({"supports_vision": True, "input_modalities": ["text"]}, "supports_vision"),
        (
            {"pricing": pricing(audio_input_per_1k_tokens=0.2)},
            "input_modalities must have audio",
        ),
        (
            {
                "cost_per_1k_output": 5.6,
                "pricing": pricing(
                    billed_per="image", output_per_1k_tokens=5.6, output_per_image=5.6
                ),
            },
            "output_modalities must have image",
        ),
        ({"pricing": None}, "pricing"),
        ({"pricing": pricing(input_per_1k_tokens=0.5)}, "cost_per_1k_input"),
        ({"pricing": pricing(unit="usd")}, "unit"),
        ({"pricing": pricing(billed_per="image")}, "output_per_image"),
        ({"pricing": pricing(output_per_image=0.2)}, "output_per_image"),
        ({"pricing": pricing(long_context_tiers=[{**TIER, "above_input_tokens": 1000}])}, "above"),
        ({"pricing": pricing(long_context_tiers=[{**TIER, "input_per_1k_tokens": 0.01}])}, "less"),
        (
            {"pricing": pricing(cached_input_per_1k_tokens=0.01, long_context_tiers=[TIER])},
            "cached_input_per_1k_tokens",
        ),
        ({"pricing": pricing(long_context_tiers=[TIER, TIER])}, "increase"),
        (
            {"pricing": pricing(cache_write_per_1k_tokens=0.2, long_context_tiers=[TIER])},
            "cache_write_per_1k_tokens",
        ),
    ],
)
def test_invalid_documents_are_refused_naming_the_field(
    change: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(InvalidCatalogDocument, match=complaint):
        model_from_document("m1", {**document(), **change})


def test_an_image_model_shows_its_image_price_as_its_output_price_per_image() -> None:
    image = document(
        output_modalities=["image"],
        cost_per_1k_input=0.0,
        cost_per_1k_output=5.6,
        pricing=pricing(
            billed_per="image",
            input_per_1k_tokens=0.0,
            output_per_1k_tokens=5.6,
            output_per_image=5.6,
        ),
    )

    model = model_from_document("m1", image)

    assert model.cost_per_1k_output == model.pricing.output_per_image == 5.6
    assert model.public_dict()["output_price_per"] == "image"
    assert model_from_document("m2", document("m2")).public_dict()["output_price_per"] == (
        "1k_tokens"
    )


def test_maker_and_modalities_are_served_after_the_contract_fields_in_vocabulary_order() -> None:
    model = model_from_document(
        "m1",
        document(
            owned_by="x-ai",
            supports_vision=True,
            input_modalities=["file", "image", "text"],
            output_modalities=["text"],
        ),
    )

    public = model.public_dict()
    assert (public["owned_by"], public["input_modalities"], public["output_modalities"]) == (
        "x-ai",
        ["text", "image", "file"],
        ["text"],
    )
    assert list(public).index("owned_by") > list(public).index("supports_vision")


ROUTING: dict[str, Any] = {
    "aggregator": "openrouter",
    "model": "qwen/qwen3-235b-a22b-2507",
    "provider": {"order": ["deepinfra", "fireworks"], "only": ["deepinfra", "fireworks"],
                 "allow_fallbacks": False, "max_price": {"prompt": 0.22, "completion": 0.88}},
}  # fmt: skip


def routing(**provider_changes: Any) -> dict[str, Any]:
    return {**ROUTING, "provider": {**ROUTING["provider"], **provider_changes}}


def test_an_openrouter_model_serves_its_routing_as_openrouters_provider_object() -> None:
    model = model_from_document("m1", document(provider="openrouter", routing=ROUTING))

    served = model.public_dict()["routing"]

    assert served == ROUTING
    assert list(served["provider"]) == ["order", "only", "allow_fallbacks", "max_price"]


def test_ignore_and_every_max_price_field_are_served_as_openrouter_takes_them() -> None:
    cap = {"prompt": 1, "completion": 2, "image": 0.04, "request": 0.001}
    both = routing(ignore=["deepinfra/turbo"], max_price=cap)
    served = model_from_document("m1", document(provider="openrouter", routing=both))

    assert served.public_dict()["routing"]["provider"]["ignore"] == ["deepinfra/turbo"]
    assert served.public_dict()["routing"]["provider"]["max_price"] == {
        "prompt": 1.0, "completion": 2.0, "image": 0.04, "request": 0.001}  # fmt: skip


def test_a_model_called_directly_is_served_with_routing_null() -> None:
    assert model_from_document("m1", document()).public_dict()["routing"] is None


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"provider": "openrouter"}, "routing is required"),
        ({"routing": {**ROUTING, "aggregator": "together"}}, "routing.aggregator"),
        ({"routing": "openrouter"}, "routing must be an object"),
        ({"routing": {**ROUTING, "model": ""}}, "routing.model"),
        ({"routing": {**ROUTING, "model": "Has Spaces"}}, "routing.model"),
        ({"routing": {**ROUTING, "sort": "price"}}, "routing.sort"),
        ({"routing": {k: v for k, v in ROUTING.items() if k != "provider"}}, "routing.provider"),
        ({"routing": routing(order=[])}, "routing.provider.order"),
        ({"routing": routing(order="deepinfra")}, "routing.provider.order"),
        ({"routing": routing(order=["deepinfra", "deepinfra"])}, "twice"),
        ({"routing": routing(only=None)}, "routing.provider.only"),
        ({"routing": routing(order=["together"])}, "only does not allow"),
        ({"routing": routing(allow_fallbacks="no")}, "allow_fallbacks"),
        ({"routing": routing(max_price={"prompt": 1})}, "max_price.completion is required"),
        ({"provider": "openrouter", "routing": routing(max_price=None)}, "max_price is required"),
        ({"routing": routing(max_price={"prompt": -1, "completion": 1})}, "max_price.prompt"),
        ({"routing": routing(max_price={"prompt": "abc", "completion": 1})}, "max_price.prompt"),
        ({"routing": routing(max_price={"prompt": 1, "completion": 1, "x": 1})}, "max_price.x"),
        ({"routing": routing(ignore="deepinfra/turbo")}, "routing.provider.ignore"),
    ],
)
def test_invalid_routing_is_refused_naming_the_field(
    change: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(InvalidCatalogDocument, match=complaint):
        model_from_document("m1", {**document(), **change})
