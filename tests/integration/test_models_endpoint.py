"""GET /models through the real functions-framework app against the Firestore emulator."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local_harness.keys import with_bad_checksum
from tests.conftest import Project, make_client, mint_key
from tests.support.catalog_documents import data_entries, served_model_ids

CONTRACT_FIELDS = {
    "id": str,
    "name": str,
    "provider": str,
    "context_window": int,
    "max_output_tokens": int,
    "cost_per_1k_input": float,
    "cost_per_1k_output": float,
    "supports_tools": bool,
    "supports_vision": bool,
}


def test_list_returns_the_contract_fields_with_their_types(client: Any, api_key: str) -> None:
    response = client.get("/models", headers={"X-Api-Key": api_key})

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    models = response.get_json()["models"]
    assert {model["id"] for model in models} == served_model_ids()
    for model in models:
        assert set(CONTRACT_FIELDS) <= set(model)  # the nine, plus additive fields
        for field, expected_type in CONTRACT_FIELDS.items():
            value = model[field]
            if expected_type is float:
                assert isinstance(value, (int, float)) and not isinstance(value, bool)
            else:
                assert type(value) is expected_type, (field, value)
        assert model["provider"] in {"openai", "anthropic", "vertex", "openrouter"}
        assert model["max_output_tokens"] <= model["context_window"]


def test_list_is_ordered_by_provider_then_id(client: Any, api_key: str) -> None:
    models = client.get("/models", headers={"X-Api-Key": api_key}).get_json()["models"]

    keys = [(model["provider"], model["id"]) for model in models]
    assert keys == sorted(keys)


def test_prices_include_the_margin_in_credits(client: Any, api_key: str) -> None:
    models = client.get("/models", headers={"X-Api-Key": api_key}).get_json()["models"]
    by_id = {model["id"]: model for model in models}

    # GPT-5.2: $1.75 / $14.00 per 1M tokens; x1.4 margin; 1 credit = $0.01.
    assert by_id["gpt-5.2"]["cost_per_1k_input"] == pytest.approx(0.245)
    assert by_id["gpt-5.2"]["cost_per_1k_output"] == pytest.approx(1.96)


def test_disabled_and_retired_models_are_not_listed(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.client.collection("models").document("gpt-5-mini").update({"status": "retired"})
    key = mint_key(seeded)
    client = make_client(seeded, monkeypatch)

    ids = {m["id"] for m in client.get("/models", headers={"X-Api-Key": key}).get_json()["models"]}

    assert "gpt-5-mini" not in ids
    assert "kimi-k2" not in ids  # disabled in the data files
    assert "gpt-5.2" in ids


@pytest.mark.parametrize("path", ["/", "/models", "/models/"])
def test_list_is_served_at_the_function_root_and_at_models(
    client: Any, api_key: str, path: str
) -> None:
    response = client.get(path, headers={"X-Api-Key": api_key})

    assert response.status_code == 200
    assert "models" in response.get_json()


def test_one_model_by_id(client: Any, api_key: str) -> None:
    response = client.get("/models/claude-sonnet-4-6", headers={"X-Api-Key": api_key})

    assert response.status_code == 200
    assert response.get_json()["name"] == "Claude Sonnet 4.6"
    assert response.headers["ETag"]


def test_unknown_model_id_is_404_with_the_error_envelope(client: Any, api_key: str) -> None:
    response = client.get("/models/no-such-model", headers={"X-Api-Key": api_key})

    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_unknown_path_is_404_without_auth(client: Any) -> None:
    response = client.get("/v2/other")

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("provider=anthropic", lambda m: m["provider"] == "anthropic"),
        ("supports_vision=false", lambda m: m["supports_vision"] is False),
        ("supports_tools=true&provider=vertex", lambda m: m["provider"] == "vertex"),
        ("owned_by=google", lambda m: m["owned_by"] == "google"),
        ("input_modality=image", lambda m: "image" in m["input_modalities"]),
        ("output_modality=text&owned_by=x-ai", lambda m: m["owned_by"] == "x-ai"),
    ],
)
def test_filters(client: Any, api_key: str, query: str, check: Any) -> None:
    models = client.get(f"/models?{query}", headers={"X-Api-Key": api_key}).get_json()["models"]

    assert models
    assert all(check(model) for model in models)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("provider=azure", "provider"),
        ("supports_tools=yes", "supports_tools"),
        ("supports_vision=1", "supports_vision"),
        ("supports_tools=TRUE", "supports_tools"),
        ("provider=openai&provider=vertex", "provider"),
        ("owned_by=Google", "owned_by"),
        ("owned_by=google/gemini", "owned_by"),
        ("owned_by=google&owned_by=openai", "owned_by"),
        ("input_modality=pdf", "input_modality"),
        ("output_modality=IMAGE", "output_modality"),
    ],
)
def test_a_bad_filter_is_400_naming_the_parameter(
    client: Any, api_key: str, query: str, parameter: str
) -> None:
    response = client.get(f"/models?{query}", headers={"X-Api-Key": api_key})

    assert response.status_code == 400
    assert f"'{parameter}'" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("query", "field", "wanted"),
    [
        ("owned_by=deepseek", "owned_by", "deepseek"),
        ("input_modality=audio", "input_modalities", "audio"),
        ("output_modality=image", "output_modalities", "image"),
    ],
)
def test_maker_and_modality_filters_return_exactly_the_models_the_data_says(
    client: Any, api_key: str, query: str, field: str, wanted: str
) -> None:
    served = served_model_ids()
    expected = {
        model_id
        for model_id, entry in data_entries().items()
        if model_id in served and (entry[field] == wanted or wanted in entry[field])
    }

    models = client.get(f"/models?{query}", headers={"X-Api-Key": api_key}).get_json()["models"]

    assert expected and {model["id"] for model in models} == expected


def test_a_maker_no_model_has_is_an_empty_list(client: Any, api_key: str) -> None:
    response = client.get("/models?owned_by=no-such-maker", headers={"X-Api-Key": api_key})

    assert response.status_code == 200
    assert response.get_json() == {"models": []}


def test_an_image_model_says_its_output_price_is_per_image(client: Any, api_key: str) -> None:
    models = client.get("/models", headers={"X-Api-Key": api_key}).get_json()["models"]

    per = {model["id"]: model["output_price_per"] for model in models}
    seedream = next(model for model in models if model["id"] == "seedream-4.5")
    assert per.pop("seedream-4.5") == "image"
    assert seedream["cost_per_1k_output"] == seedream["pricing"]["output_per_image"] > 0
    assert set(per.values()) == {"1k_tokens"}


def test_etag_and_conditional_get(client: Any, api_key: str) -> None:
    first = client.get("/models", headers={"X-Api-Key": api_key})
    etag = first.headers["ETag"]

    again = client.get("/models", headers={"X-Api-Key": api_key, "If-None-Match": etag})
    weak = client.get("/models", headers={"X-Api-Key": api_key, "If-None-Match": f"W/{etag}"})
    other = client.get("/models", headers={"X-Api-Key": api_key, "If-None-Match": '"other"'})

    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    assert weak.status_code == 304
    assert other.status_code == 200
    # RFC 9110: a 304 carries the validators but no content headers.
    assert "Content-Length" not in again.headers and "Content-Type" not in again.headers
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]


def test_standard_headers_on_success(client: Any, api_key: str) -> None:
    response = client.get("/models", headers={"X-Api-Key": api_key, "X-Request-Id": "abc-123"})

    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Request-Id"] == "abc-123"
    # No CORS origins configured: Origin changes nothing, the credentials and coding do.
    assert response.headers["Vary"] == (
        "X-Api-Key, Authorization, X-Firebase-AppCheck, Accept-Encoding"
    )
    assert response.headers.getlist("Content-Type") == ["application/json"]
    assert response.headers["Content-Length"] == str(len(response.data))
    assert len(response.headers.getlist("ETag")) == 1


def test_an_unsafe_request_id_is_replaced(client: Any, api_key: str) -> None:
    response = client.get("/models", headers={"X-Api-Key": api_key, "X-Request-Id": "a b\x01"})

    assert response.headers["X-Request-Id"] != "a b\x01"
    assert len(response.headers["X-Request-Id"]) == 32


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_get_405_with_allow(client: Any, api_key: str, method: str) -> None:
    response = client.open("/models", method=method, headers={"X-Api-Key": api_key})

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_head_has_headers_and_no_body(client: Any, api_key: str) -> None:
    response = client.head("/models", headers={"X-Api-Key": api_key})
    full = client.get("/models", headers={"X-Api-Key": api_key})

    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["ETag"] == full.headers["ETag"]
    assert response.headers["Content-Length"] == str(len(full.data))


def test_cors_preflight_for_a_configured_origin_needs_no_auth(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(seeded, monkeypatch, CORS_ALLOWED_ORIGINS="https://app.example.com")

    response = client.options(
        "/models",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, x-firebase-appcheck",
        },
    )

    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"x-api-key", "authorization", "x-firebase-appcheck", "content-type"} <= allowed
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Vary"] == "Origin"


def test_cors_is_not_granted_to_other_origins(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(seeded, monkeypatch, CORS_ALLOWED_ORIGINS="https://app.example.com")
    key = mint_key(seeded)

    preflight = client.options(
        "/models",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    actual = client.get("/models", headers={"Origin": "https://evil.example", "X-Api-Key": key})
    allowed = client.get("/models", headers={"Origin": "https://app.example.com", "X-Api-Key": key})

    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in actual.headers
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    assert actual.headers["Vary"] == allowed.headers["Vary"]
    assert allowed.headers["Vary"].startswith("Origin, X-Api-Key")


def test_firestore_unreachable_with_nothing_cached_is_503_with_retry_after(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = mint_key(seeded)
    client = make_client(
        seeded, monkeypatch, FIRESTORE_EMULATOR_HOST="127.0.0.1:9", BACKEND_TIMEOUT_SECONDS="1"
    )

    response = client.get("/models", headers={"X-Api-Key": key})

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "unavailable"


def test_an_unexpected_failure_is_500_without_internals(
    client: Any, api_key: str, mocker: Any
) -> None:
    mocker.patch(
        "models_api.catalog.cache.FirestoreCatalogStore.fetch_catalog",
        side_effect=RuntimeError("secret internal detail /srv/x.py"),
    )

    response = client.get("/models", headers={"X-Api-Key": api_key})

    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal"
    assert b"secret internal detail" not in response.data
    assert b"Traceback" not in response.data


def test_a_malformed_catalog_document_is_left_out_not_fatal(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded.client.collection("models").document("gpt-5.2").update({"context_window": "big"})
    key = mint_key(seeded)
    client = make_client(seeded, monkeypatch)

    response = client.get("/models", headers={"X-Api-Key": key})

    assert response.status_code == 200
    assert "gpt-5.2" not in {m["id"] for m in response.get_json()["models"]}


def test_a_stored_openrouter_model_without_routing_is_not_served(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Its price covers only the endpoints its routing pins: /chat could not send it safely."""
    # (null rather than deleted: the emulator's set() and DELETE_FIELD keep the old field)
    seeded.client.collection("models").document("kimi-k2.6").update({"routing": None})
    key = mint_key(seeded)
    client = make_client(seeded, monkeypatch)

    response = client.get("/models", headers={"X-Api-Key": key})

    assert response.status_code == 200
    served = {m["id"]: m for m in response.get_json()["models"]}
    assert "kimi-k2.6" not in served
    assert served["kimi-k3"]["routing"]["provider"]["allow_fallbacks"] is False
    assert "kimi-k2.6: routing is required" in caplog.text


def test_each_request_is_logged_promptly(
    client: Any, api_key: str, capfd: pytest.CaptureFixture[str]
) -> None:
    # A line is written at once after a quiet spell, else within 50 ms (batched).
    for path, headers in [
        ("/models", {}),
        ("/models", {"X-Api-Key": with_bad_checksum(api_key)}),
        ("/nope", {"X-Api-Key": api_key}),
        ("/models", {"X-Api-Key": api_key}),
    ]:
        status = client.get(path, headers=headers).status_code
        deadline = time.monotonic() + 2
        output = ""
        while not output and time.monotonic() < deadline:
            time.sleep(0.01)
            output = capfd.readouterr().out
        (line,) = output.splitlines()
        entry = json.loads(line)
        assert (entry["httpRequest"]["requestUrl"], entry["httpRequest"]["status"]) == (
            path,
            status,
        )
        assert abs(entry["timestamp"]["seconds"] - time.time()) < 60
