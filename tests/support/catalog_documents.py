"""Valid catalog documents for unit tests, changed one field at a time."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

from models_api.catalog.model_schema import Model, model_from_document


def document(model_id: str = "m1", **changes: Any) -> dict[str, Any]:
    """A valid catalog document, as the seed script writes it.

    Changing `supports_vision` alone keeps the document valid: image joins the input modalities.
    """
    base: dict[str, Any] = {
        "id": model_id,
        "name": model_id.upper(),
        "provider": "openai",
        "owned_by": "openai",
        "input_modalities": ["text"],
        "output_modalities": ["text"],
        "context_window": 1000,
        "max_output_tokens": 100,
        "cost_per_1k_input": 0.1,
        "cost_per_1k_output": 0.2,
        "supports_tools": True,
        "supports_vision": False,
        "lifecycle": "active",
        "pricing": {
            "unit": "credits",
            "billed_per": "token",
            "input_per_1k_tokens": 0.1,
            "output_per_1k_tokens": 0.2,
            "long_context_tiers": [],
        },
    }
    if changes.get("supports_vision") is True and "input_modalities" not in changes:
        changes["input_modalities"] = ["text", "image"]
    base.update(changes)
    return base


def model(model_id: str = "m1", **changes: Any) -> Model:
    return model_from_document(model_id, document(model_id, **changes))


DATA_DIR = Path(__file__).resolve().parents[2] / "catalog_seed" / "models"


def data_entries() -> dict[str, dict[str, Any]]:
    """The shipped catalog data files' models, by id, as the TOML has them."""
    return {
        entry["id"]: entry
        for path in DATA_DIR.glob("*.toml")
        for entry in tomllib.loads(path.read_text(encoding="utf-8"))["models"]
    }


def served_model_ids(today: dt.date | None = None) -> set[str]:
    """The ids the shipped data serves on `today` (UTC): not retired by their date, not disabled."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return {
        model_id
        for model_id, entry in data_entries().items()
        if entry.get("status", "active") == "active"
        and (entry.get("retirement_date") is None or entry["retirement_date"] > today)
    }
