"""`python -m catalog_seed audit --against FILE`: our catalog data next to a public dataset.

Each model of ours names its entry per dataset under `[models.upstream]` in its data file.

Two public formats are read:
- LiteLLM's `model_prices_and_context_window.json`: one JSON object keyed by model name. Read
  from each entry: USD per token `input_cost_per_token`, `output_cost_per_token`,
  `cache_read_input_token_cost`, `cache_creation_input_token_cost`,
  `input_cost_per_audio_token`, `input_cost_per_token_above_200k_tokens`,
  `output_cost_per_token_above_200k_tokens`, `cache_read_input_token_cost_above_200k_tokens`;
  USD per image `output_cost_per_image`; `max_input_tokens`, `max_output_tokens`,
  `supports_function_calling`, `supports_vision`. Other keys are ignored.
- models.dev: a checkout of TOML files `providers/<provider>/models/<model>.toml` with `[cost]`
  in USD per 1M tokens (`input`, `output`, `cache_read`, `cache_write`, `input_audio`, and
  `[[cost.tiers]]` with `tier = { type = "context", size = 200_000 }`), `[limit]` (`context`,
  `output`), `tool_call`, and `[modalities] input`. A provider file may inherit from
  `models/<vendor>/<model>.toml` through `base_model` (deep merge, the provider file wins;
  `base_model_omit` lists dotted keys to drop).
Our models name their entries in each dataset under `[models.upstream]` (`litellm`,
`models_dev`). Prices are compared in upstream US$ per 1M tokens (per image for
per_image_output), before our margin. Exit status 1 when the dataset states a price that
differs from ours or that we lack (a way the upstream bills that we would not charge); a
price only we state, limits and capabilities are reported but do not fail the audit.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

LONG_PROMPT_THRESHOLD = 200_000  # both datasets name only this tier
PRICE_FIELDS = (
    "input_per_1m",
    "output_per_1m",
    "cached_input_per_1m",
    "cache_write_per_1m",
    "audio_input_per_1m",
    "per_image_output",
    "tier_200k.input_per_1m",
    "tier_200k.output_per_1m",
    "tier_200k.cached_input_per_1m",
)
OTHER_FIELDS = ("context_window", "max_output_tokens", "supports_tools", "supports_vision")


class AuditError(ValueError):
    """The dataset cannot be read in the format its name suggests."""


@dataclass(frozen=True)
class Facts:
    """One model as a dataset states it: prices in USD, limits, capabilities (None: not said)."""

    prices: dict[str, Decimal]
    context_window: int | None = None
    max_output_tokens: int | None = None
    supports_tools: bool | None = None
    supports_vision: bool | None = None


@dataclass
class AuditResult:
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # id, field, ...
    price_mismatches: int = 0
    not_found: list[str] = field(default_factory=list)
    not_mapped: list[str] = field(default_factory=list)
    compared: int = 0

    def lines(self, dataset: str) -> list[str]:
        out = [f"audit against {dataset}: {self.compared} model(s) compared"]
        if self.rows:
            out.append("prices in upstream US$ per 1M tokens (per image: per_image_output)")
            out.append(f"{'model':24} {'field':30} {'ours':>14} {'theirs':>14}  kind")
            for model_id, name, ours, theirs, kind in self.rows:
                out.append(f"{model_id:24} {name:30} {ours:>14} {theirs:>14}  {kind}")
        for model_id in self.not_found:
            out.append(f"{model_id}: its upstream id is not in the dataset")
        if self.not_mapped:
            out.append(f"no upstream id for this dataset: {', '.join(self.not_mapped)}")
        out.append(
            f"{self.price_mismatches} price mismatch(es), "
            f"{len(self.rows) - self.price_mismatches} other difference(s)"
        )
        return out


def load_dataset(path: Path) -> tuple[str, Any]:
    """('litellm', dict) for a JSON file; ('models_dev', folder) for a models.dev tree."""
    if path.is_dir():
        if not (path / "providers").is_dir():
            raise AuditError(f"{path}: not a models.dev checkout (no providers/ folder)")
        return "models_dev", path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AuditError(f"{path}: not a LiteLLM JSON file: {error}") from error
    if not isinstance(data, dict):
        raise AuditError(f"{path}: a LiteLLM file is one JSON object keyed by model")
    return "litellm", data


def litellm_facts(data: dict[str, Any], upstream_id: str) -> Facts | None:
    entry = data.get(upstream_id)
    if not isinstance(entry, dict):
        return None
    per_million = {
        "input_per_1m": "input_cost_per_token",
        "output_per_1m": "output_cost_per_token",
        "cached_input_per_1m": "cache_read_input_token_cost",
        "cache_write_per_1m": "cache_creation_input_token_cost",
        "audio_input_per_1m": "input_cost_per_audio_token",
        "tier_200k.input_per_1m": "input_cost_per_token_above_200k_tokens",
        "tier_200k.output_per_1m": "output_cost_per_token_above_200k_tokens",
        "tier_200k.cached_input_per_1m": "cache_read_input_token_cost_above_200k_tokens",
    }
    prices = {
        ours: _decimal(entry[theirs]) * 1_000_000
        for ours, theirs in per_million.items()
        if _is_number(entry.get(theirs))
    }
    if _is_number(entry.get("output_cost_per_image")):
        prices["per_image_output"] = _decimal(entry["output_cost_per_image"])
    max_input, max_output = entry.get("max_input_tokens"), entry.get("max_output_tokens")
    return Facts(
        prices={name: value.normalize() for name, value in prices.items()},
        context_window=max_input if isinstance(max_input, int) else None,
        max_output_tokens=max_output if isinstance(max_output, int) else None,
        supports_tools=_flag(entry.get("supports_function_calling")),
        supports_vision=_flag(entry.get("supports_vision")),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise AuditError(f"{path}: {error}") from error


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _table(entry: dict[str, Any], name: str) -> dict[str, Any]:
    value = entry.get(name)
    return value if isinstance(value, dict) else {}


def _drop(entry: dict[str, Any], dotted: str) -> None:
    *parents, last = dotted.split(".")
    for name in parents:
        entry = _table(entry, name)
    entry.pop(last, None)


def models_dev_entry(root: Path, upstream_id: str) -> dict[str, Any] | None:
    """A provider's model file with its `base_model` resolved, or None if there is none."""
    provider, _, model = upstream_id.partition("/")
    path = root / "providers" / provider / "models" / f"{model}.toml"
    if not model or ".." in upstream_id.split("/") or not path.is_file():
        return None
    entry = _read_toml(path)
    base_name = entry.get("base_model")
    if isinstance(base_name, str):
        base_path = root / "models" / f"{base_name}.toml"
        if ".." in base_name.split("/") or not base_path.is_file():
            raise AuditError(f"{path}: base_model {base_name!r} not found")
        entry = _merge(_read_toml(base_path), entry)
        for dotted in entry.get("base_model_omit", []):
            _drop(entry, str(dotted))
    return entry


def models_dev_facts(root: Path, upstream_id: str) -> Facts | None:
    entry = models_dev_entry(root, upstream_id)
    if entry is None:
        return None
    cost = _table(entry, "cost")
    names = {
        "input_per_1m": "input",
        "output_per_1m": "output",
        "cached_input_per_1m": "cache_read",
        "cache_write_per_1m": "cache_write",
        "audio_input_per_1m": "input_audio",
    }
    prices = {
        ours: _decimal(cost[theirs])
        for ours, theirs in names.items()
        if _is_number(cost.get(theirs))
    }
    for tier in cost.get("tiers", []) if isinstance(cost.get("tiers"), list) else []:
        threshold = tier.get("tier", {}) if isinstance(tier, dict) else {}
        if threshold.get("type", "context") != "context" or threshold.get("size") != 200_000:
            continue
        for ours, theirs in (("input_per_1m", "input"), ("output_per_1m", "output"),
                             ("cached_input_per_1m", "cache_read")):  # fmt: skip
            if _is_number(tier.get(theirs)):
                prices[f"tier_200k.{ours}"] = _decimal(tier[theirs])
    limit = _table(entry, "limit")
    modalities = _table(entry, "modalities")
    inputs = modalities.get("input")
    return Facts(
        prices={name: value.normalize() for name, value in prices.items()},
        context_window=limit.get("context") if isinstance(limit.get("context"), int) else None,
        max_output_tokens=limit.get("output") if isinstance(limit.get("output"), int) else None,
        supports_tools=_flag(entry.get("tool_call")),
        supports_vision=("image" in inputs) if isinstance(inputs, list) else None,
    )


def our_facts(document: dict[str, Any]) -> Facts:
    """Our model in the datasets' terms: upstream USD before margin, limits, capabilities."""
    usd = document.get("upstream_usd", {})
    prices = {
        name: Decimal(value).normalize() for name, value in usd.items() if isinstance(value, str)
    }
    for tier in usd.get("tiers", []):
        # Both datasets name the tier by 200k whether it starts above 200,000 or at it.
        if tier.get("above_input_tokens") in (LONG_PROMPT_THRESHOLD, LONG_PROMPT_THRESHOLD - 1):
            for name in ("input_per_1m", "output_per_1m", "cached_input_per_1m"):
                if name in tier:
                    prices[f"tier_200k.{name}"] = Decimal(tier[name]).normalize()
    return Facts(
        prices=prices,
        context_window=document["context_window"],
        max_output_tokens=document["max_output_tokens"],
        supports_tools=document["supports_tools"],
        supports_vision=document["supports_vision"],
    )


def audit(documents: dict[str, dict[str, Any]], dataset_kind: str, dataset: Any) -> AuditResult:
    result = AuditResult()
    for model_id in sorted(documents):
        document = documents[model_id]
        upstream_id = document.get("upstream", {}).get(dataset_kind)
        if not upstream_id or "upstream_usd" not in document or "price_basis" in document:
            result.not_mapped.append(model_id)
            continue
        if dataset_kind == "litellm":
            theirs = litellm_facts(dataset, upstream_id)
        else:
            theirs = models_dev_facts(dataset, upstream_id)
        if theirs is None:
            result.not_found.append(f"{model_id} ({upstream_id})")
            continue
        result.compared += 1
        ours = our_facts(document)
        for name in PRICE_FIELDS:
            mine, other = ours.prices.get(name), theirs.prices.get(name)
            if mine == other:
                continue
            if other is None:  # the dataset does not say: nothing to check against
                result.rows.append((model_id, name, _show(mine), "-", "not in dataset"))
            else:
                result.rows.append((model_id, name, _show(mine), _show(other), "PRICE"))
                result.price_mismatches += 1
        for name in OTHER_FIELDS:
            mine_value, other_value = getattr(ours, name), getattr(theirs, name)
            if other_value is not None and mine_value != other_value:
                result.rows.append(
                    (model_id, name, _show(mine_value), _show(other_value), "limit/capability")
                )
    return result


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise AuditError(f"not a number: {value!r}") from None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)
