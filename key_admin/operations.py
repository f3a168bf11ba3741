"""Operator-side API key operations: create, list, change status. Never stores the key itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from models_api.api_keys import (
    KeyRecord,
    display_prefix,
    generate_api_key,
    is_key_id,
    key_id_for,
)

TIMEOUT_SECONDS = 30.0
STATUS_BY_ACTION = {"revoke": "revoked", "disable": "disabled", "enable": "active"}


class KeyAdminError(Exception):
    """A refusal an operator can act on (unknown key, revoked key, bad argument)."""


@dataclass(frozen=True)
class CreatedKey:
    api_key: str
    record: KeyRecord


def create_key(
    client: Any,
    collection: str,
    pepper: bytes,
    owner: str,
    label: str,
    expires_at: datetime | None,
    now: datetime | None = None,
) -> CreatedKey:
    owner, label = owner.strip(), label.strip()
    if not owner:
        raise KeyAdminError("owner must not be empty")
    if len(owner) > 256 or len(label) > 256:
        raise KeyAdminError("owner and label are at most 256 characters")
    now = now or datetime.now(timezone.utc)
    if expires_at is not None and expires_at <= now:
        raise KeyAdminError("expiry must be in the future")
    api_key = generate_api_key()
    record = KeyRecord(
        key_id=key_id_for(api_key, pepper),
        owner=owner,
        label=label,
        prefix=display_prefix(api_key),
        status="active",
        created_at=now,
        expires_at=expires_at,
    )
    # create() fails if the id exists: a collision is astronomically unlikely but never silent.
    client.collection(collection).document(record.key_id).create(
        record.to_document(), timeout=TIMEOUT_SECONDS
    )
    return CreatedKey(api_key=api_key, record=record)


def list_keys(client: Any, collection: str, owner: str) -> list[KeyRecord]:
    from google.cloud.firestore import FieldFilter

    snapshots = (
        client.collection(collection)
        .where(filter=FieldFilter("owner", "==", owner))
        .stream(timeout=TIMEOUT_SECONDS)
    )
    records = [KeyRecord.from_document(s.id, s.to_dict() or {}) for s in snapshots]
    return sorted(records, key=lambda record: record.created_at)


def set_key_status(client: Any, collection: str, key_id: str, action: str) -> KeyRecord:
    """revoke (final), disable or enable a key by its key id (shown by `list`)."""
    if action not in STATUS_BY_ACTION:
        raise KeyAdminError(f"unknown action {action!r}")
    if not is_key_id(key_id):
        raise KeyAdminError("a key id is 64 lowercase hex characters, as `list` prints it")
    reference = client.collection(collection).document(key_id)
    snapshot = reference.get(timeout=TIMEOUT_SECONDS)
    if not snapshot.exists:
        raise KeyAdminError(f"no API key with id {key_id}")
    record = KeyRecord.from_document(key_id, snapshot.to_dict() or {})
    if record.status == "revoked" and action != "revoke":
        raise KeyAdminError(f"key {record.prefix} is revoked; revocation is final")
    new_status = STATUS_BY_ACTION[action]
    if record.status != new_status:
        reference.update({"status": new_status}, timeout=TIMEOUT_SECONDS)
    return KeyRecord(**{**record.__dict__, "status": new_status})
