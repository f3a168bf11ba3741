"""Operator-side API key operations. Never stores the key itself.

Every change to a key writes, in one Firestore transaction, the key document, its entry in
the key index shard and the index head (version + 1), so the index is never behind its
documents and every instance sees the change at its next poll. `rebuild_index` builds the
index from the key documents (migration from a deployment without one, or repair), and
`check_index` compares the two. Layout: models_api/key_documents.py, docs/api-keys.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from models_api.api_key_format import display_prefix, generate_api_key, is_key_id, key_id_for
from models_api.key_documents import (
    HEAD_DOCUMENT,
    MAX_SHARD_BYTES,
    IndexEntry,
    IndexHead,
    KeyRecord,
    decode_entries,
    encode_entries,
    index_collection_for,
    shard_document,
)

TIMEOUT_SECONDS = 30.0
STATUS_BY_ACTION = {"revoke": "revoked", "disable": "disabled", "enable": "active"}
_BATCH_WRITES = 400  # Firestore allows 500 writes per commit
_BATCH_BYTES = 8_000_000  # and 10 MiB per request


class KeyAdminError(Exception):
    """A refusal an operator can act on (unknown key, revoked key, bad argument)."""


@dataclass(frozen=True)
class CreatedKey:
    api_key: str
    record: KeyRecord


# decide(current record or None) -> (new record, fields to write); raises KeyAdminError to refuse
Decision = Callable[[KeyRecord | None], tuple[KeyRecord, dict[str, Any]]]


def _commit_key_change(client: Any, collection: str, key_id: str, decide: Decision) -> KeyRecord:
    """Key document + its index shard + the index head, in one transaction."""
    from google.cloud import firestore

    index = client.collection(index_collection_for(collection))
    key_reference = client.collection(collection).document(key_id)
    shard_reference = index.document(shard_document(key_id[:2]))
    head_reference = index.document(HEAD_DOCUMENT)

    @firestore.transactional
    def change(transaction: Any) -> KeyRecord:
        read = transaction.get_all(
            [key_reference, shard_reference, head_reference], timeout=TIMEOUT_SECONDS
        )
        snapshots = {snapshot.reference.path: snapshot for snapshot in read}
        key_snapshot = snapshots[key_reference.path]
        shard_snapshot = snapshots[shard_reference.path]
        head_snapshot = snapshots[head_reference.path]
        current = (
            KeyRecord.from_document(key_id, key_snapshot.to_dict() or {})
            if key_snapshot.exists
            else None
        )
        record, fields = decide(current)
        if not head_snapshot.exists:
            others = list(transaction.get(client.collection(collection).limit(1)))
            if others:
                raise KeyAdminError(
                    "keys exist but the key index does not: run `python -m key_admin "
                    "rebuild-index` first"
                )
        head = IndexHead.from_document(head_snapshot.to_dict() if head_snapshot.exists else None)
        version = head.version + 1
        stored = (shard_snapshot.to_dict() or {}).get("entries") if shard_snapshot.exists else b""
        entries = decode_entries(stored if isinstance(stored, bytes) else b"")
        entries[record.id_prefix] = record.index_entry()
        encoded = encode_entries(entries)
        if len(encoded) > MAX_SHARD_BYTES:
            raise KeyAdminError(f"index shard {record.shard} is full: the layout needs more shards")
        if current is None:
            transaction.create(key_reference, fields)
        else:
            transaction.update(key_reference, fields)
        transaction.set(
            shard_reference, {"version": version, "count": len(entries), "entries": encoded}
        )
        shard_versions = {**head.shard_versions, record.shard: version}
        transaction.set(head_reference, IndexHead(version, shard_versions).to_document())
        return record

    result: KeyRecord = change(client.transaction())
    return result


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

    def decide(current: KeyRecord | None) -> tuple[KeyRecord, dict[str, Any]]:
        # A collision is astronomically unlikely, but never silent.
        if current is not None:
            raise KeyAdminError("a key with this id exists already; nothing was written")
        return record, record.to_document()

    _commit_key_change(client, collection, record.key_id, decide)
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


def _existing(key_id: str, current: KeyRecord | None) -> KeyRecord:
    if current is None:
        raise KeyAdminError(f"no API key with id {key_id}")
    return current


def _checked_key_id(key_id: str) -> str:
    if not is_key_id(key_id):
        raise KeyAdminError("a key id is 64 lowercase hex characters, as `list` prints it")
    return key_id


def set_key_status(client: Any, collection: str, key_id: str, action: str) -> KeyRecord:
    """revoke (final), disable or enable a key by its key id (shown by `list`)."""
    if action not in STATUS_BY_ACTION:
        raise KeyAdminError(f"unknown action {action!r}")
    new_status = STATUS_BY_ACTION[action]

    def decide(current: KeyRecord | None) -> tuple[KeyRecord, dict[str, Any]]:
        record = _existing(key_id, current)
        if record.status == "revoked" and action != "revoke":
            raise KeyAdminError(f"key {record.prefix} is revoked; revocation is final")
        return replace(record, status=new_status), {"status": new_status}

    return _commit_key_change(client, collection, _checked_key_id(key_id), decide)


def set_key_expiry(client: Any, collection: str, key_id: str, expires_at: datetime) -> KeyRecord:
    """Set when a key stops working (now, to expire it at once)."""

    def decide(current: KeyRecord | None) -> tuple[KeyRecord, dict[str, Any]]:
        record = _existing(key_id, current)
        return replace(record, expires_at=expires_at), {"expires_at": expires_at}

    return _commit_key_change(client, collection, _checked_key_id(key_id), decide)


ShardEntries = dict[str, dict[bytes, IndexEntry]]


def _expected_shards(client: Any, collection: str) -> tuple[ShardEntries, int]:
    """The index the key documents call for, by shard; and how many documents there are."""
    shards: ShardEntries = {}
    documents = 0
    for snapshot in client.collection(collection).stream(timeout=TIMEOUT_SECONDS):
        if not is_key_id(snapshot.id):
            continue
        documents += 1
        record = KeyRecord.from_document(snapshot.id, snapshot.to_dict() or {})
        shards.setdefault(record.shard, {})[record.id_prefix] = record.index_entry()
    return shards, documents


def _stored_index(client: Any, collection: str) -> tuple[IndexHead | None, dict[str, bytes]]:
    head: IndexHead | None = None
    shards: dict[str, bytes] = {}
    index = client.collection(index_collection_for(collection))
    for snapshot in index.stream(timeout=TIMEOUT_SECONDS):
        data = snapshot.to_dict() or {}
        if snapshot.id == HEAD_DOCUMENT:
            head = IndexHead.from_document(data)
        elif snapshot.id.startswith("shard-"):
            entries = data.get("entries")
            shards[snapshot.id.removeprefix("shard-")] = (
                entries if isinstance(entries, bytes) else b""
            )
    return head, shards


@dataclass(frozen=True)
class RebuildReport:
    keys: int
    by_status: dict[str, int]
    shards_written: int
    shards_deleted: int
    largest_shard_bytes: int
    previous_version: int
    version: int


def rebuild_index(client: Any, collection: str) -> RebuildReport:
    """Write the whole index from the key documents, then a head at a new version.

    Shards are written first and the head last, so readers switch to the new index at once.
    Key changes made while this runs may be lost from the index: run `check_index` after.
    """
    expected, documents = _expected_shards(client, collection)
    head, stored = _stored_index(client, collection)
    previous = head.version if head is not None else 0
    version = previous + 1
    index = client.collection(index_collection_for(collection))
    writes: list[tuple[str, dict[str, Any] | None, int]] = []  # document name, data, bytes
    largest = 0
    for shard, entries in sorted(expected.items()):
        encoded = encode_entries(entries)
        if len(encoded) > MAX_SHARD_BYTES:
            raise KeyAdminError(f"shard {shard} would hold {len(encoded)} bytes; nothing written")
        largest = max(largest, len(encoded))
        document = {"version": version, "count": len(entries), "entries": encoded}
        writes.append((shard_document(shard), document, len(encoded)))
    emptied = sorted(set(stored) - set(expected))
    writes += [(shard_document(shard), None, 0) for shard in emptied]
    batch, batch_writes, batch_bytes = client.batch(), 0, 0
    for name, data, size in writes:
        if batch_writes and (batch_writes >= _BATCH_WRITES or batch_bytes + size > _BATCH_BYTES):
            batch.commit(timeout=TIMEOUT_SECONDS)
            batch, batch_writes, batch_bytes = client.batch(), 0, 0
        if data is None:
            batch.delete(index.document(name))
        else:
            batch.set(index.document(name), data)
        batch_writes, batch_bytes = batch_writes + 1, batch_bytes + size
    if batch_writes:
        batch.commit(timeout=TIMEOUT_SECONDS)
    new_head = IndexHead(version, {shard: version for shard in expected})
    index.document(HEAD_DOCUMENT).set(new_head.to_document(), timeout=TIMEOUT_SECONDS)
    by_status = Counter(entry.status for entries in expected.values() for entry in entries.values())
    return RebuildReport(
        keys=documents,
        by_status=dict(by_status),
        shards_written=len(expected),
        shards_deleted=len(emptied),
        largest_shard_bytes=largest,
        previous_version=previous,
        version=version,
    )


@dataclass
class IndexCheck:
    keys: int = 0
    version: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.problems


def check_index(client: Any, collection: str) -> IndexCheck:
    """Compare the index with the key documents; every difference is a problem, by name."""
    expected, documents = _expected_shards(client, collection)
    head, stored = _stored_index(client, collection)
    check = IndexCheck(keys=documents, version=head.version if head else None)
    if head is None:
        if documents:
            check.problems.append("the index head is missing: run rebuild-index")
        return check
    for shard in sorted(set(expected) | set(stored) | set(head.shard_versions)):
        want = expected.get(shard, {})
        have = decode_entries(stored.get(shard, b""))
        if want and shard not in head.shard_versions:
            check.problems.append(f"shard {shard} is not listed in the head (readers skip it)")
        if head.shard_versions.get(shard, 0) > head.version:
            check.problems.append(f"shard {shard} is newer than the head")
        if len(stored.get(shard, b"")) > MAX_SHARD_BYTES:
            check.problems.append(f"shard {shard} is over {MAX_SHARD_BYTES} bytes")
        for id_prefix in sorted(set(want) | set(have)):
            name = f"key id {id_prefix.hex()}..."
            if id_prefix not in have:
                check.problems.append(f"{name} is missing from shard {shard}")
            elif id_prefix not in want:
                check.problems.append(f"{name} is in shard {shard} but has no key document")
            elif want[id_prefix] != have[id_prefix]:
                check.problems.append(
                    f"{name}: index says {have[id_prefix]}, document says {want[id_prefix]}"
                )
    return check


def ensure_reachable(client: Any, collection: str, timeout: float) -> None:
    """One read without retries, so a Firestore that is not there fails in seconds, not minutes."""
    client.collection(collection).document("_reachability_probe").get(retry=None, timeout=timeout)
