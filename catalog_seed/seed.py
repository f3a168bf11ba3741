"""Compares the data files with Firestore and applies the difference in batched writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RETIRED = "retired"
_BATCH_LIMIT = 400


@dataclass
class SeedPlan:
    """What a seed would do. Values in `changed` are {field: (old, new)}."""

    added: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    desired: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def has_writes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def describe(self) -> list[str]:
        lines = [f"+ added     {model_id}" for model_id in sorted(self.added)]
        for model_id in sorted(self.changed):
            lines.append(f"~ changed   {model_id}")
            for name, (old, new) in sorted(self.changed[model_id].items()):
                lines.append(f"      {name}: {old!r} -> {new!r}")
        lines += [f"- removed   {model_id}" for model_id in sorted(self.removed)]
        lines.append(
            f"{len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.unchanged)} unchanged, {len(self.removed)} removed"
        )
        return lines


def plan_seed(
    desired: dict[str, dict[str, Any]], existing: dict[str, dict[str, Any]], delete_removed: bool
) -> SeedPlan:
    plan = SeedPlan(desired=desired)
    for model_id, document in desired.items():
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
    return plan


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
                batch.update(reference, {"status": RETIRED})
            else:
                batch.delete(reference)
        batch.commit(timeout=timeout)
    return len(operations)
