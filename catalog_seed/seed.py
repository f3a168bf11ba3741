"""Compares the data files with Firestore and applies the difference in batched writes.

Every document the seed writes carries `managed_by = "catalog_seed"`; the plan lists the
documents it would change or retire that lack it (`foreign`), and the seed refuses them unless
told to adopt them. The service ignores the field (it is not served).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import zip_longest
from typing import Any

from models_api.catalog.guard import (
    EXPECTED_ACTIVE_MODELS,
    STATE_COLLECTION,
    minimum_kept,
    recorded_active_models,
)

RETIRED = "retired"
MANAGED_BY = "managed_by"
SEED_MARKER = "catalog_seed"
_BATCH_LIMIT = 400


@dataclass
class SeedPlan:
    """What a seed would do. Values in `changed` are {field: (old, new)}."""

    added: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    desired: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Changed or removed documents without the seed's marker: something else wrote them.
    foreign: list[str] = field(default_factory=list)

    @property
    def has_writes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def describe_foreign(self) -> list[str]:
        """One line per document the seed did not write but would change or retire."""
        return [
            f"! not written by the seed ({MANAGED_BY} missing): {model_id} would be "
            f"{'changed' if model_id in self.changed else 'retired or deleted'}"
            for model_id in self.foreign
        ]

    def describe(self) -> list[str]:
        lines = [f"+ added     {model_id}" for model_id in sorted(self.added)]
        for model_id in sorted(self.changed):
            lines.append(f"~ changed   {model_id}")
            for name, (old, new) in sorted(self.changed[model_id].items()):
                for path, before, after in _leaf_differences(name, old, new):
                    lines.append(f"      {path}: {before!r} -> {after!r}")
        lines += [f"- removed   {model_id}" for model_id in sorted(self.removed)]
        for model_id in sorted(self.desired):
            basis = self.desired[model_id].get("price_basis")
            if basis:
                document = self.desired[model_id]
                lines.append(
                    f"price basis {model_id}: {basis} -> {document['cost_per_1k_input']} / "
                    f"{document['cost_per_1k_output']} credits per 1k input / output tokens"
                )
        lines.append(
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed"
        )
        return lines


def plan_seed(
    desired: dict[str, dict[str, Any]], existing: dict[str, dict[str, Any]], delete_removed: bool
) -> SeedPlan:
    plan = SeedPlan(desired={i: {**d, MANAGED_BY: SEED_MARKER} for i, d in desired.items()})
    for model_id, document in plan.desired.items():
        current = existing.get(model_id)
        if current is None:
            plan.added[model_id] = document
            continue
        differences = {
            name: (current.get(name), document.get(name))
            for name in sorted(set(document) | set(current))
            if current.get(name) != document.get(name)
        }
        if differences:
            plan.changed[model_id] = differences
        else:
            plan.unchanged.append(model_id)
    for model_id, current in existing.items():
        if model_id in desired:
            continue
        if delete_removed or current.get("status") != RETIRED:
            plan.removed.append(model_id)
    plan.foreign = sorted(
        model_id
        for model_id in [*plan.changed, *plan.removed]
        if existing[model_id].get(MANAGED_BY) != SEED_MARKER
    )
    return plan


@dataclass(frozen=True)
class Shrink:
    """Models stored as active before and after a seed, against the fraction instances accept
    at once: what the guard compares (models_api/catalog/guard.py). A model stored as active
    but past its retirement date counts (its date passing must not look like a lost catalog);
    `served_before` and `served_after` are how many of them are served on the seed's day."""

    before: int
    after: int
    max_fraction: float
    served_before: int
    served_after: int

    @property
    def refused_by_instances(self) -> bool:
        """Whether instances would refuse this catalog unless the seed records the new count."""
        return self.before > 0 and self.after < minimum_kept(self.before, self.max_fraction)

    def describe(self) -> str:
        lost = self.before - self.after
        return (
            f"{lost} of {self.before} models stored as active ({self.served_before} served "
            "today) go at once "
            f"({lost / self.before:.0%}; instances refuse a loss of more than "
            f"{self.max_fraction:.0%}, CATALOG_MAX_SHRINK_FRACTION); {self.after} stay, "
            f"{self.served_after} of them served today"
        )


def active_count(documents: dict[str, dict[str, Any]]) -> int:
    return sum(1 for document in documents.values() if document.get("status") == "active")


def is_retired_on(document: dict[str, Any], today: date) -> bool:
    """Past its retirement date on `today`: not served from 00:00 UTC on that date."""
    retirement = document.get("retirement_date")
    return isinstance(retirement, str) and bool(retirement) and retirement <= today.isoformat()


def served_count(documents: dict[str, dict[str, Any]], today: date) -> int:
    """Active documents not past their retirement date on `today`: what GET /models lists."""
    return sum(
        1
        for document in documents.values()
        if document.get("status") == "active" and not is_retired_on(document, today)
    )


def record_catalog_state(client: Any, collection: str, active_models: int, timeout: float) -> None:
    """Record how many active models this seed left: instances take a read of exactly that many
    even when it is a larger loss than they would otherwise accept (models_api/catalog_guard)."""
    client.collection(STATE_COLLECTION).document(collection).set(
        {EXPECTED_ACTIVE_MODELS: active_models, "written_by": "catalog_seed"}, timeout=timeout
    )


def recorded_count(client: Any, collection: str, timeout: float) -> int | None:
    state = client.collection(STATE_COLLECTION).document(collection).get(timeout=timeout)
    return recorded_active_models(state.to_dict() if state.exists else None)


def price_jumps(plan: SeedPlan, factor: Decimal) -> list[str]:
    """Prices in the plan that move by more than `factor` either way from what is stored."""
    jumps = []
    for model_id, differences in sorted(plan.changed.items()):
        for name, (old, new) in differences.items():
            for path, before, after in _leaf_differences(name, old, new):
                if not (_is_price_path(path) and _is_number(before) and _is_number(after)):
                    continue
                low, high = sorted((Decimal(str(before)), Decimal(str(after))))
                if (low == 0 and high > 0) or (low > 0 and high / low > factor):
                    jumps.append(f"{model_id}: {path} {before} -> {after}")
    return jumps


def _is_price_path(path: str) -> bool:
    return path.startswith(("cost_per_1k_", "pricing.")) and not path.endswith("above_input_tokens")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _leaf_differences(path: str, old: Any, new: Any) -> Iterator[tuple[str, Any, Any]]:
    """What changed inside nested values, as dotted paths (pricing.input_per_1k_tokens).

    Lists are compared item by item; an item only one side has reads as None on the other.
    """
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                yield from _leaf_differences(f"{path}.{key}", old.get(key), new.get(key))
    elif isinstance(old, list) and isinstance(new, list):
        for index, (before, after) in enumerate(zip_longest(old, new)):
            if before != after:
                yield from _leaf_differences(f"{path}[{index}]", before, after)
    else:
        yield path, old, new


def read_existing(client: Any, collection: str, timeout: float) -> dict[str, dict[str, Any]]:
    return {
        snapshot.id: snapshot.to_dict() or {}
        for snapshot in client.collection(collection).stream(timeout=timeout)
    }


def apply_seed(
    client: Any, collection: str, plan: SeedPlan, delete_removed: bool, timeout: float
) -> int:
    """Write the plan; returns the number of documents written (set, retired or deleted)."""
    operations: list[tuple[str, str, dict[str, Any] | None]] = []
    for model_id in sorted(plan.added) + sorted(plan.changed):
        operations.append(("set", model_id, plan.desired[model_id]))
    for model_id in sorted(plan.removed):
        operations.append(("delete" if delete_removed else "retire", model_id, None))
    for start in range(0, len(operations), _BATCH_LIMIT):
        batch = client.batch()
        for kind, model_id, document in operations[start : start + _BATCH_LIMIT]:
            reference = client.collection(collection).document(model_id)
            if kind == "set":
                batch.set(reference, document)
            elif kind == "retire":
                batch.update(reference, {"status": RETIRED, MANAGED_BY: SEED_MARKER})
            else:
                batch.delete(reference)
        batch.commit(timeout=timeout)
    return len(operations)
