"""The public datasets the audit reads, each in its own format, as `Facts` about one model.

Formats (detected from the content, never from the file name):
- LiteLLM's `model_prices_and_context_window.json`: one JSON object keyed by model name. Read
  from each entry: USD per token `input_cost_per_token`, `output_cost_per_token`,
  `cache_read_input_token_cost`, `cache_creation_input_token_cost`,
  `input_cost_per_audio_token`, `input_cost_per_token_above_200k_tokens`,
  `output_cost_per_token_above_200k_tokens`, `cache_read_input_token_cost_above_200k_tokens`;
  USD per image `output_cost_per_image`; `max_input_tokens`, `max_output_tokens`,
  `supports_function_calling`, `supports_vision`, and `deprecation_date` (the day the
  provider shuts the model down). Other keys are ignored.
- OpenRouter's `GET /api/v1/models` answer: `{"data": [...]}`, each entry with `id`,
  `context_length`, `top_provider.max_completion_tokens`, `supported_parameters` ("tools"),
  `architecture.input_modalities` ("image"), `expiration_date` when OpenRouter announced one,
  and `pricing` in USD per token as strings: `prompt`, `completion`, `input_cache_read`,
  `input_cache_write`, `audio`, and `image_output` (USD per generated image) when present.
- OpenRouter's `GET /api/v1/models/{author}/{slug}/endpoints` answer: `{"data": {"id": ...,
  "endpoints": [...]}}`, each endpoint with `provider_name`, `tag` (the slug requests name in
  `provider.order` / `provider.only`), `pricing` (as above), `context_length`,
  `max_completion_tokens` and `supported_parameters`. For a model whose routing allows some
  endpoints, the facts are the HIGHEST price per billed field among the allowed endpoints,
  the smallest limits among them, and tools only if all of them take tools.
- models.dev: a checkout of TOML files `providers/<provider>/models/<model>.toml` with `[cost]`
  in USD per 1M tokens (`input`, `output`, `cache_read`, `cache_write`, `input_audio`, and
  `[[cost.tiers]]` with `tier = { type = "context", size = 200_000 }`), `[limit]` (`context`,
  `output`), `tool_call`, `[modalities] input` and `status = "deprecated"`. A provider file may
  inherit from `models/<vendor>/<model>.toml` through `base_model` (deep merge, the provider
  file wins; `base_model_omit` lists dotted keys to drop).
- genai-prices' published `prices/data.json` (pydantic/genai-prices), or the same data as the
  PyPI package ships it (its wheel or installed `genai_prices/` folder, whose
  `genai_prices/data.py` is parsed, never run): a JSON list of providers `{"id", "models":
  [...]}`, each model with `id`, `match` (equals / starts_with / ends_with / contains / regex /
  or / and), `context_window`, `deprecated`, and `prices`: one price object, or a list of
  `{"constraint": {"start_date": "YYYY-MM-DD"}, "prices": {...}}` where the last one started is in
  effect. Price fields, USD per 1M tokens: `input_mtok`, `output_mtok`, `cache_read_mtok`,
  `cache_write_mtok`, `input_audio_mtok`, each a number or `{"base", "tiers": [{"start",
  "price"}]}` (the whole request at `price` once the prompt reaches `start` tokens). A served
  model is looked up as `<provider>/<model>`: `openrouter/<routing.model>` when routed, else
  google / openai / anthropic / deepseek and its LiteLLM id without the `vertex_ai/` prefix.

A price a dataset states that is not a non-negative number is refused (DatasetError naming the
file, the entry and the field): it is never silently dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from catalog_audit.genai_prices_package import (
    DATA_MEMBER,
    PackageError,
    data_file_in_folder,
    data_source_in_wheel,
    is_wheel,
    looks_like_data_module,
    providers_from_source,
    wheel_version,
)
from catalog_seed.routing_prices import allowed_by, highest_charges

LITELLM = "litellm"
OPENROUTER = "openrouter"
MODELS_DEV = "models_dev"
GENAI_PRICES = "genai_prices"
DATASET_KINDS = (LITELLM, OPENROUTER, MODELS_DEV, GENAI_PRICES)
# LiteLLM's tier keys: *_above_<N>k_tokens, compared as the tier above N thousand tokens.
_LITELLM_TIER = re.compile(r"^(input_cost_per_token|output_cost_per_token|"
                           r"cache_read_input_token_cost)_above_(\d+)k_tokens$")  # fmt: skip


class DatasetError(ValueError):
    """A file or folder the audit cannot read as any dataset it knows."""


@dataclass(frozen=True)
class Facts:
    """One model as a dataset states it (None: not stated). Prices in upstream USD, per 1M
    tokens (per image for per_image_output), under the audit's field names."""

    prices: dict[str, Decimal]
    context_window: int | None = None
    max_output_tokens: int | None = None
    supports_tools: bool | None = None
    supports_vision: bool | None = None
    shutdown_date: dt.date | None = None
    deprecated: bool | None = None
    # The dataset's name for the model (to notice an id that now serves another model).
    name: str | None = None
    # Prices the dataset says take effect later: (first day, prices), in order.
    price_changes: tuple[tuple[dt.date, dict[str, Decimal]], ...] = ()
    # Where the numbers come from inside the dataset, for the report ("endpoints a, b").
    basis: str = ""
    # True when the prices cover every endpoint the model's routing allows (endpoints data).
    per_allowed_endpoints: bool = False
    # Endpoints the routing allows that the dataset does not list.
    missing_endpoints: tuple[str, ...] = ()
    # The allowed endpoints (variants included) the dataset lists.
    endpoint_slugs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routed:
    """What the audit needs of a model's routing: the aggregator's id and allowed endpoints."""

    model: str
    only: tuple[str, ...]
    ignore: tuple[str, ...] = ()


@dataclass
class Dataset:
    """One dataset, loaded: its kind, where it came from, and how to look a model up."""

    kind: str
    origin: str
    litellm: dict[str, Any] = field(default_factory=dict)
    models_dev_root: Path | None = None
    openrouter_models: dict[str, dict[str, Any]] = field(default_factory=dict)
    openrouter_endpoints: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    genai_prices: list[dict[str, Any]] = field(default_factory=list)
    # Which copy of the data: a fingerprint of its content (and a package's version when
    # known), so a finding says exactly what it was checked against.
    version: str = ""

    def describe(self) -> str:
        where = f"{self.origin} @ {self.version}" if self.version else self.origin
        if self.kind == LITELLM:
            return f"{LITELLM} {where} ({len(self.litellm)} entries)"
        if self.kind == OPENROUTER:
            parts = []
            if self.openrouter_models:
                parts.append(f"{len(self.openrouter_models)} models")
            if self.openrouter_endpoints:
                parts.append(f"endpoints of {len(self.openrouter_endpoints)} model(s)")
            return f"{OPENROUTER} {where} ({', '.join(parts)})"
        if self.kind == GENAI_PRICES:
            return f"{GENAI_PRICES} {where} ({len(self.genai_prices)} providers)"
        return f"{MODELS_DEV} {where}"

    def model_ids(self, provider: str) -> list[str]:
        """The model ids a genai-prices provider lists (empty for other datasets)."""
        for entry in self.genai_prices:
            if entry.get("id") == provider:
                return [m["id"] for m in entry["models"] if isinstance(m, dict)
                        and isinstance(m.get("id"), str)]  # fmt: skip
        return []

    def facts(
        self, upstream_id: str, routed: Routed | None = None, today: dt.date | None = None
    ) -> Facts | None:
        """What the dataset says of `upstream_id` (None: it does not list it)."""
        try:
            return self._facts(upstream_id, routed, today or dt.date.today())
        except DatasetError as error:
            raise DatasetError(f"{self.origin}: {error}") from None

    def _facts(self, upstream_id: str, routed: Routed | None, today: dt.date) -> Facts | None:
        if self.kind == GENAI_PRICES:
            return genai_prices_facts(self.genai_prices, upstream_id, today)
        if self.kind == LITELLM:
            return litellm_facts(self.litellm, upstream_id)
        if self.kind == MODELS_DEV:
            assert self.models_dev_root is not None
            return models_dev_facts(self.models_dev_root, upstream_id)
        return self._openrouter_facts(upstream_id, routed)

    def _openrouter_facts(self, upstream_id: str, routed: Routed | None) -> Facts | None:
        listing = self.openrouter_models.get(upstream_id)
        endpoints = self.openrouter_endpoints.get(upstream_id)
        if routed is not None and endpoints is not None:
            return endpoint_facts(endpoints, routed.only, listing, routed.ignore)
        if listing is None:
            return None
        return openrouter_listing_facts(listing)


# --- detection and loading -------------------------------------------------------------------


def load_datasets(paths: Iterable[Path]) -> list[Dataset]:
    """Each path read in the format its content has; OpenRouter files joined into one dataset.

    Raises DatasetError naming the file and what was expected, for anything else (a missing
    file, broken JSON, a JSON of another shape, a listing with no models).
    """
    return combine_datasets(_load_one(path) for path in paths)


def combine_datasets(loaded: Iterable[Dataset]) -> list[Dataset]:
    """One dataset per kind, in a fixed order; OpenRouter's listing and endpoints joined."""
    datasets: dict[str, Dataset] = {}
    for dataset in loaded:
        existing = datasets.get(dataset.kind)
        if existing is None:
            datasets[dataset.kind] = dataset
        elif dataset.kind == OPENROUTER:
            _join_openrouter(existing, dataset)
        else:
            raise DatasetError(
                f"{dataset.origin}: a second {dataset.kind} dataset; give each dataset once"
            )
    return [datasets[kind] for kind in DATASET_KINDS if kind in datasets]


def _join_openrouter(into: Dataset, other: Dataset) -> None:
    if other.openrouter_models and into.openrouter_models:
        raise DatasetError(f"{other.origin}: a second OpenRouter /api/v1/models answer")
    into.openrouter_models.update(other.openrouter_models)
    for model_id, endpoints in other.openrouter_endpoints.items():
        if model_id in into.openrouter_endpoints:
            raise DatasetError(f"{other.origin}: endpoints of {model_id} given twice")
        into.openrouter_endpoints[model_id] = endpoints
    into.origin = f"{into.origin} + {other.origin}"
    into.version = f"{into.version} + {other.version}"


def _load_one(path: Path) -> Dataset:
    if path.is_dir():
        module = data_file_in_folder(path)
        if module is not None:
            return _genai_prices_module(path, _read_text(module))
        if not (path / "providers").is_dir():
            raise DatasetError(
                f"{path}: a folder that is not a models.dev checkout (no providers/ folder) "
                "nor an installed genai_prices package (no data.py)"
            )
        return Dataset(MODELS_DEV, str(path), models_dev_root=path)
    if is_wheel(path):
        try:
            text = data_source_in_wheel(path)
        except PackageError as error:
            raise DatasetError(f"{path}: {error}; {_EXPECTED}") from None
        return _genai_prices_module(path, text, wheel_version(path))
    text = _read_text(path)
    if looks_like_data_module(text):
        return _genai_prices_module(path, text)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise DatasetError(f"{path}: not JSON ({error}); {_EXPECTED}") from None
    return parse_dataset(data, str(path))


def _read_text(path: Path) -> str:
    """A dataset file's text; DatasetError naming the file if it is unreadable or binary."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DatasetError(f"{path}: cannot be read: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); {_EXPECTED}"
        ) from None


def _genai_prices_module(path: Path, text: str, package_version: str = "") -> Dataset:
    """genai-prices' package data (genai_prices/data.py), read without running it."""
    try:
        providers = providers_from_source(text)
    except PackageError as error:
        raise DatasetError(f"{path}: {DATA_MEMBER}: {error}") from None
    return parse_dataset(providers, str(path), package_version)


_EXPECTED = (
    "expected LiteLLM's model_prices_and_context_window.json (an object keyed by model name), "
    'OpenRouter\'s /api/v1/models answer ({"data": [...]}), an OpenRouter endpoints answer '
    '({"data": {"id": ..., "endpoints": [...]}}), genai-prices\' prices/data.json, its wheel '
    "or installed genai_prices folder, or a models.dev checkout folder"
)
_LITELLM_KEYS = frozenset(
    {"litellm_provider", "input_cost_per_token", "output_cost_per_token", "max_input_tokens",
     "max_tokens", "mode", "output_cost_per_image"}
)  # fmt: skip


def content_fingerprint(data: Any) -> str:
    """`sha256:` and 12 hex digits of the data's canonical JSON: equal data, equal version."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def parse_dataset(data: Any, origin: str, package_version: str = "") -> Dataset:
    """A dataset from parsed JSON, its format detected from its shape (DatasetError if none),
    versioned by its content's fingerprint (after `package_version` when one is known)."""
    dataset = _parse_dataset(data, origin)
    fingerprint = content_fingerprint(data)
    dataset.version = f"{package_version}, {fingerprint}" if package_version else fingerprint
    return dataset


def _parse_dataset(data: Any, origin: str) -> Dataset:
    if isinstance(data, dict) and "data" in data:
        inner = data["data"]
        if isinstance(inner, list):
            models = {
                entry["id"]: entry
                for entry in inner
                if isinstance(entry, dict) and isinstance(entry.get("id"), str)
            }
            if not models or not any(isinstance(m.get("pricing"), dict) for m in models.values()):
                raise DatasetError(f"{origin}: an OpenRouter models answer that lists no models")
            return Dataset(OPENROUTER, origin, openrouter_models=models)
        if isinstance(inner, dict) and isinstance(inner.get("endpoints"), list):
            model_id = inner.get("id")
            if not isinstance(model_id, str) or not model_id:
                raise DatasetError(f"{origin}: an OpenRouter endpoints answer without data.id")
            endpoints = [e for e in inner["endpoints"] if isinstance(e, dict)]
            return Dataset(OPENROUTER, origin, openrouter_endpoints={model_id: endpoints})
        raise DatasetError(f"{origin}: a 'data' member of an unknown shape; {_EXPECTED}")
    if (
        isinstance(data, list)
        and data
        and all(
            isinstance(p, dict)
            and isinstance(p.get("id"), str)
            and isinstance(p.get("models"), list)
            for p in data
        )
    ):
        return Dataset(GENAI_PRICES, origin, genai_prices=data)
    if isinstance(data, dict):
        entries = {
            name: entry
            for name, entry in data.items()
            if name != "sample_spec" and isinstance(entry, dict) and _LITELLM_KEYS & set(entry)
        }
        if entries:
            return Dataset(LITELLM, origin, litellm=entries)
    raise DatasetError(f"{origin}: not a dataset the audit reads; {_EXPECTED}")


# --- LiteLLM ---------------------------------------------------------------------------------

_LITELLM_PER_TOKEN = {
    "input_per_1m": "input_cost_per_token",
    "output_per_1m": "output_cost_per_token",
    "cached_input_per_1m": "cache_read_input_token_cost",
    "cache_write_per_1m": "cache_creation_input_token_cost",
    "audio_input_per_1m": "input_cost_per_audio_token",
    "tier_200k.input_per_1m": "input_cost_per_token_above_200k_tokens",
    "tier_200k.output_per_1m": "output_cost_per_token_above_200k_tokens",
    "tier_200k.cached_input_per_1m": "cache_read_input_token_cost_above_200k_tokens",
}


def litellm_facts(data: dict[str, Any], upstream_id: str) -> Facts | None:
    entry = data.get(upstream_id)
    if not isinstance(entry, dict):
        return None
    prices = {}
    for name, value in entry.items():
        ours = _LITELLM_NAMES.get(name)
        tier = _LITELLM_TIER.match(name)
        if tier is not None:
            ours = f"tier_{tier.group(2)}k.{_LITELLM_NAMES[tier.group(1)]}"
        if ours is None or value is None:
            continue
        prices[ours] = _price(value, f"{upstream_id}.{name}") * (
            1 if ours == "per_image_output" else 1_000_000
        )
    return Facts(
        prices=_normalized(prices),
        context_window=_positive_int(entry.get("max_input_tokens")),
        max_output_tokens=_positive_int(entry.get("max_output_tokens")),
        supports_tools=_flag(entry.get("supports_function_calling")),
        supports_vision=_flag(entry.get("supports_vision")),
        shutdown_date=_date(entry.get("deprecation_date")),
        basis=f"key {upstream_id}",
    )


_LITELLM_NAMES = {
    theirs: ours for ours, theirs in _LITELLM_PER_TOKEN.items() if not ours.startswith("tier_")
} | {"output_cost_per_image": "per_image_output"}


def _price(value: Any, where: str) -> Decimal:
    """A dataset's price: a non-negative finite number, else DatasetError naming `where`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise DatasetError(f"{where}: not a number: {value!r}")
    number = _decimal(value)
    if number < 0:
        raise DatasetError(f"{where}: a negative price: {value!r}")
    return number


# --- genai-prices ----------------------------------------------------------------------------

_GENAI_NAMES = {
    "input_mtok": "input_per_1m",
    "output_mtok": "output_per_1m",
    "cache_read_mtok": "cached_input_per_1m",
    "cache_write_mtok": "cache_write_per_1m",
    "input_audio_mtok": "audio_input_per_1m",
}
_DIRECT_PROVIDERS = {"vertex": "google", "openai": "openai", "anthropic": "anthropic"}


def genai_prices_id(provider: str, routed_model: str | None, litellm_id: str | None) -> str | None:
    """How a served model is looked up in genai-prices (see the module docstring)."""
    if routed_model is not None:
        return f"openrouter/{routed_model}"
    their_provider = _DIRECT_PROVIDERS.get(provider)
    if their_provider is None or litellm_id is None:
        return None
    return f"{their_provider}/{litellm_id.rsplit('/', 1)[-1]}"


def _matches(clause: Any, name: str) -> bool:
    if not isinstance(clause, dict) or not clause:
        return False
    kind, value = next(iter(clause.items()))
    if kind == "equals":
        return bool(name == value)
    if kind == "starts_with":
        return isinstance(value, str) and name.startswith(value)
    if kind == "ends_with":
        return isinstance(value, str) and name.endswith(value)
    if kind == "contains":
        return isinstance(value, str) and value in name
    if kind == "regex":
        return isinstance(value, str) and re.search(value, name) is not None
    if kind in ("or", "or_"):
        return isinstance(value, list) and any(_matches(c, name) for c in value)
    if kind in ("and", "and_"):
        return isinstance(value, list) and all(_matches(c, name) for c in value)
    return False


def genai_prices_facts(
    providers: list[dict[str, Any]], upstream_id: str, today: dt.date
) -> Facts | None:
    provider_id, _, name = upstream_id.partition("/")
    provider = next((p for p in providers if p.get("id") == provider_id), None)
    if provider is None or not name:
        return None
    models = [m for m in provider["models"] if isinstance(m, dict)]
    entry = next((m for m in models if m.get("id") == name), None)
    entry = entry or next((m for m in models if _matches(m.get("match"), name)), None)
    if entry is None:
        return None
    where = f"{provider_id}.models[{entry.get('id')}].prices"
    dated = _dated_prices(entry.get("prices"), where)
    current = [prices for start, prices in dated if start is None or start <= today]
    coming = tuple(
        (start, prices) for start, prices in dated if start is not None and start > today
    )
    return Facts(
        prices=current[-1] if current else {},
        context_window=_positive_int(entry.get("context_window")),
        deprecated=_flag(entry.get("deprecated")),
        name=entry.get("name") if isinstance(entry.get("name"), str) else None,
        basis=f"provider {provider_id}, model {entry.get('id')}",
        price_changes=coming,
    )


def _dated_prices(value: Any, where: str) -> list[tuple[dt.date | None, dict[str, Decimal]]]:
    """[(start date or None, prices)] in the order they take effect."""
    if isinstance(value, dict):
        return [(None, _genai_price_set(value, where))]
    if not isinstance(value, list):
        raise DatasetError(f"{where}: must be a price object or a list of dated prices")
    dated: list[tuple[dt.date | None, dict[str, Decimal]]] = []
    for index, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("prices"), dict):
            raise DatasetError(f"{where}[{index}].prices: missing")
        constraint = item.get("constraint")
        start = None
        if isinstance(constraint, dict) and "start_date" in constraint:
            start = _date(constraint["start_date"])
            if start is None:
                raise DatasetError(f"{where}[{index}].constraint.start_date: not a date")
        elif constraint is not None:
            continue  # a time-of-day price (off-peak): not a list price
        dated.append((start, _genai_price_set(item["prices"], f"{where}[{index}].prices")))
    dated.sort(key=lambda pair: pair[0] or dt.date.min)
    return dated


def _genai_price_set(value: dict[str, Any], where: str) -> dict[str, Decimal]:
    prices: dict[str, Decimal] = {}
    for theirs, ours in _GENAI_NAMES.items():
        price = value.get(theirs)
        if price is None:
            continue
        if isinstance(price, dict):
            prices[ours] = _price(price.get("base"), f"{where}.{theirs}.base")
            for index, tier in enumerate(price.get("tiers") or []):
                start = tier.get("start") if isinstance(tier, dict) else None
                if not isinstance(start, int) or isinstance(start, bool) or start <= 0:
                    raise DatasetError(f"{where}.{theirs}.tiers[{index}].start: not a token count")
                prices[f"tier_{start // 1000}k.{ours}"] = _price(
                    tier.get("price"), f"{where}.{theirs}.tiers[{index}].price"
                )
        else:
            prices[ours] = _price(price, f"{where}.{theirs}")
    return _normalized(prices)


# --- OpenRouter ------------------------------------------------------------------------------

_OPENROUTER_PER_TOKEN = {
    "input_per_1m": "prompt",
    "output_per_1m": "completion",
    "cached_input_per_1m": "input_cache_read",
    "cache_write_per_1m": "input_cache_write",
    "audio_input_per_1m": "audio",
}


def _openrouter_prices(pricing: Any, where: str = "pricing") -> dict[str, Decimal]:
    """USD per token strings -> per 1M; "-1" (OpenRouter's variable price) is left out, and
    anything else that is not a non-negative number is refused (DatasetError naming it)."""
    if not isinstance(pricing, dict):
        return {}
    prices = {}
    for ours, theirs in _OPENROUTER_PER_TOKEN.items():
        value = _usd(pricing.get(theirs), f"{where}.{theirs}")
        if value is not None:
            prices[ours] = value * 1_000_000
    per_image = _usd(pricing.get("image_output"), f"{where}.image_output")
    if per_image is not None:
        prices["per_image_output"] = per_image
    return _normalized(prices)


def openrouter_listing_facts(entry: dict[str, Any]) -> Facts:
    """The listing's headline numbers (the price of its default endpoint)."""
    top = entry.get("top_provider")
    top = top if isinstance(top, dict) else {}
    return Facts(
        prices=_openrouter_prices(entry.get("pricing"), f"{entry.get('id')}.pricing"),
        context_window=_positive_int(entry.get("context_length")),
        max_output_tokens=_positive_int(top.get("max_completion_tokens")),
        supports_tools=_supports_tools(entry),
        supports_vision=_input_modalities_include_image(entry),
        shutdown_date=_date(entry.get("expiration_date")),
        name=entry.get("name") if isinstance(entry.get("name"), str) else None,
        basis="/api/v1/models listing",
    )


def endpoint_slug(endpoint: dict[str, Any]) -> str:
    """The slug requests use for an endpoint: its `tag`, else its provider name lowercased."""
    tag = endpoint.get("tag")
    if isinstance(tag, str) and tag:
        return tag.lower()
    return str(endpoint.get("provider_name", "")).lower().replace(" ", "")


def endpoint_facts(
    endpoints: list[dict[str, Any]],
    only: tuple[str, ...],
    listing: dict[str, Any] | None,
    ignore: tuple[str, ...] = (),
) -> Facts:
    """The numbers that hold whichever allowed endpoint serves a request: each field's highest
    charge by the seed's own rule (`routing_prices.highest_charges`), the smallest limits."""
    allowed = [e for e in endpoints if allowed_by(endpoint_slug(e), only, ignore)]
    listed = {endpoint_slug(e) for e in allowed}
    missing = tuple(
        slug for slug in only if not any(allowed_by(found, (slug,)) for found in listed)
    )
    highest = highest_charges(
        (endpoint_slug(e), _openrouter_prices(e.get("pricing"), f"{endpoint_slug(e)}.pricing"))
        for e in allowed
    )
    prices = {name: amount for name, (amount, _) in highest.items()}
    contexts = [_positive_int(e.get("context_length")) for e in allowed]
    outputs = [_positive_int(e.get("max_completion_tokens")) for e in allowed]
    tools = [_supports_tools(e) for e in allowed]
    return Facts(
        prices=prices,
        context_window=min((c for c in contexts if c), default=None),
        max_output_tokens=min((o for o in outputs if o), default=None),
        supports_tools=all(tools) if allowed and None not in tools else None,
        supports_vision=_input_modalities_include_image(listing) if listing else None,
        shutdown_date=_date(listing.get("expiration_date")) if listing else None,
        basis="endpoints " + (", ".join(sorted(listed)) or "(none allowed)"),
        per_allowed_endpoints=True,
        missing_endpoints=missing,
        endpoint_slugs=tuple(sorted(listed)),
    )


def _supports_tools(entry: dict[str, Any]) -> bool | None:
    parameters = entry.get("supported_parameters")
    return "tools" in parameters if isinstance(parameters, list) else None


def _input_modalities_include_image(entry: dict[str, Any]) -> bool | None:
    architecture = entry.get("architecture")
    inputs = architecture.get("input_modalities") if isinstance(architecture, dict) else None
    return "image" in inputs if isinstance(inputs, list) else None


# --- models.dev ------------------------------------------------------------------------------


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise DatasetError(f"{path}: {error}") from error


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
            raise DatasetError(f"{path}: base_model {base_name!r} not found")
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
    where = f"{upstream_id}.cost"
    prices = {
        ours: _price(cost[theirs], f"{where}.{theirs}")
        for ours, theirs in names.items()
        if cost.get(theirs) is not None
    }
    for tier in cost.get("tiers", []) if isinstance(cost.get("tiers"), list) else []:
        threshold = tier.get("tier", {}) if isinstance(tier, dict) else {}
        size = threshold.get("size")
        if threshold.get("type", "context") != "context" or not isinstance(size, int):
            continue
        for ours, theirs in (("input_per_1m", "input"), ("output_per_1m", "output"),
                             ("cached_input_per_1m", "cache_read")):  # fmt: skip
            if tier.get(theirs) is not None:
                prices[f"tier_{size // 1000}k.{ours}"] = _price(
                    tier[theirs], f"{where}.tiers.{theirs}"
                )
    limit = _table(entry, "limit")
    inputs = _table(entry, "modalities").get("input")
    status = entry.get("status")
    return Facts(
        prices=_normalized(prices),
        context_window=_positive_int(limit.get("context")),
        max_output_tokens=_positive_int(limit.get("output")),
        supports_tools=_flag(entry.get("tool_call")),
        supports_vision=("image" in inputs) if isinstance(inputs, list) else None,
        deprecated=(status == "deprecated") if isinstance(status, str) else None,
        basis=f"providers/{upstream_id.partition('/')[0]}/models/{upstream_id.partition('/')[2]}",
    )


# --- values ----------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise DatasetError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise DatasetError(f"not a finite number: {value!r}")
    return number


def _usd(value: Any, where: str) -> Decimal | None:
    """An OpenRouter price (a string, sometimes a number); None when absent or "-1"."""
    if value is None or str(value) == "-1":
        return None
    try:
        number = None if isinstance(value, bool) else Decimal(str(value))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise DatasetError(f"{where}: not a number: {value!r}")
    if number < 0:
        raise DatasetError(f"{where}: a negative price: {value!r}")
    return number


def _normalized(prices: dict[str, Decimal]) -> dict[str, Decimal]:
    return {name: value.normalize() for name, value in prices.items()}


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
