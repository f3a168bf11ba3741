"""Operator-side API key operations. Never stores the key itself.

Every change to a key writes, in one commit, a claim on its shard's next change number
(`api_keys_changes/{xx}.{seq + 1}`, created only if absent), the key document, the key's record
in its index shard (a new random version, seq + 1) and the shard's version in the index head (a
field update that touches no other shard's entry). Two operators changing keys of one shard at
once both claim the same change number; Firestore creates it for one, the other's commit fails
whole and it retries from a fresh read, so no change is written over. This holds without
relying on transaction isolation (which the emulator does not provide): the claim is the only
conditional write, and it comes first. `rebuild_index` rewrites, under the same claims, every
shard that differs from the key documents (migration, or repair, or a head without its active
counts), and `check_index` compares
documents, shards and head. Layout: models_api/keys/documents.py, docs/api-keys.md.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from typing import Any

from models_api.keys.documents import (
    HEAD_DOCUMENT,
    INDEX_LAYOUT,
    MAX_SHARD_BYTES,
    RECORD,
    IndexEntry,
    IndexHead,
    KeyRecord,
    StoredShard,
    change_document,
    changes_collection_for,
    count_active,
    decode_entries,
    encode_entries,
    head_field,
    index_collection_for,
    new_shard_version,
    shard_document,
)
from models_api.keys.key_format import display_prefix, generate_api_key, is_key_id, key_id_for

TIMEOUT_SECONDS = 30.0
STATUS_BY_ACTION = {"revoke": "revoked", "disable": "disabled", "enable": "active"}
LAYOUT_2_HEAD_VERSION = "layout 2: use a key_admin that writes layout 2"
MAX_ATTEMPTS = 25  # commits lost to other operators' changes of the same shard, in a row

logger = logging.getLogger(__name__)


class KeyAdminError(Exception):
    """A refusal an operator can act on (unknown key, revoked key, bad argument)."""


@dataclass(frozen=True)
class CreatedKey:
    api_key: str
    record: KeyRecord


# decide(current record or None) -> (new record, fields to write); raises KeyAdminError to refuse
Decision = Callable[[KeyRecord | None], tuple[KeyRecord, dict[str, Any]]]


def _commit_shard(
    client: Any,
    collection: str,
    shard: str,
    stored: StoredShard,
    entries: dict[bytes, IndexEntry],
    change: dict[str, Any],
    extra_writes: Callable[[Any], None] = lambda batch: None,
    *,
    set_layout: bool,
) -> bool:
    """Write shard `shard` (read at `stored`) with `entries`, and the head's entry for it, in
    one commit behind the claim of change `stored.seq + 1`. False if another writer claimed it.
    """
    from google.api_core.exceptions import AlreadyExists

    encoded = encode_entries(entries)
    if len(encoded) > MAX_SHARD_BYTES:
        raise KeyAdminError(f"index shard {shard} is full: the layout needs more shards")
    index = client.collection(index_collection_for(collection))
    version = new_shard_version()
    claim = client.collection(changes_collection_for(collection)).document(
        change_document(shard, stored.seq + 1)
    )
    batch = client.batch()
    # The only conditional write, and the first: a commit that loses the claim writes nothing
    # (Firestore commits are atomic; the emulator applies writes in order and stops at it).
    batch.create(claim, {**change, "version": version, "at": datetime.now(timezone.utc)})
    extra_writes(batch)
    shard_data = StoredShard(version, stored.seq + 1, encoded).to_document()
    batch.set(index.document(shard_document(shard)), shard_data)
    # Only this shard's entry: a concurrent writer of another shard keeps its own. The layout
    # is stated by rebuild-index (and a new index): an older index keeps saying it needs one.
    # The shard's active count rides along: the index guard takes a read that matches the
    # recorded total, so an operator's large revocation is not refused as a bad read.
    head: dict[str, Any] = {
        "versions": {head_field(shard): version},
        "active": {head_field(shard): count_active(encoded)},
    }
    if set_layout:
        # `version` is no number in this layout: the layout-1 CLI, which reads it as one, fails
        # before it writes instead of replacing this head with one that lists a single shard.
        head.update(layout=INDEX_LAYOUT, version=LAYOUT_2_HEAD_VERSION)
    batch.set(index.document(HEAD_DOCUMENT), head, merge=True)
    try:
        batch.commit(timeout=TIMEOUT_SECONDS)
    except AlreadyExists:
        logger.debug("shard %s: change %d was claimed by another writer", shard, stored.seq + 1)
        return False
    return True


def _set_document(reference: Any, fields: dict[str, Any], merge: bool, batch: Any) -> None:
    batch.set(reference, fields, merge=merge)


def _back_off(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.02 * (attempt + 1)))  # noqa: S311 - jitter, not a secret


def _commit_key_change(
    client: Any, collection: str, key_id: str, action: str, decide: Decision
) -> KeyRecord:
    """Key document + its index shard + the head's entry for the shard, behind one claim."""
    index = client.collection(index_collection_for(collection))
    key_reference = client.collection(collection).document(key_id)
    shard = key_id[:2]
    shard_reference = index.document(shard_document(shard))
    head_reference = index.document(HEAD_DOCUMENT)
    for attempt in range(MAX_ATTEMPTS):
        read = client.get_all(
            [key_reference, shard_reference, head_reference], timeout=TIMEOUT_SECONDS
        )
        snapshots = {snapshot.reference.path: snapshot for snapshot in read}
        key_snapshot = snapshots[key_reference.path]
        shard_snapshot = snapshots[shard_reference.path]
        current = (
            KeyRecord.from_document(key_id, key_snapshot.to_dict() or {})
            if key_snapshot.exists
            else None
        )
        record, fields = decide(current)
        head_snapshot = snapshots[head_reference.path]
        head_exists = head_snapshot.exists
        if head_exists and IndexHead.from_document(head_snapshot.to_dict()).layout != INDEX_LAYOUT:
            raise KeyAdminError(
                "the key index is in an older layout: run `python -m key_admin rebuild-index` "
                "first (safe while the service runs); nothing was written"
            )
        if not head_exists:
            others = client.collection(collection).limit(1).get(timeout=TIMEOUT_SECONDS)
            if list(others):
                raise KeyAdminError(
                    "keys exist but the key index does not: run `python -m key_admin "
                    "rebuild-index` first"
                )
        stored = StoredShard.from_document(
            shard_snapshot.to_dict() if shard_snapshot.exists else None
        )
        entries = decode_entries(stored.entries)
        entries[record.id_prefix] = record.index_entry()
        # Unconditional (a second precondition could fail after the claim was written).
        write_key = partial(_set_document, key_reference, fields, current is not None)
        change = {"key_id": key_id, "action": action}
        if _commit_shard(
            client, collection, shard, stored, entries, change, write_key,
            set_layout=not head_exists,
        ):  # fmt: skip
            return record
        _back_off(attempt)
    raise KeyAdminError(
        f"index shard {shard} kept changing under other operators' commands "
        f"({MAX_ATTEMPTS} attempts); nothing was written, try again"
    )


def create_key(
    client: Any,
    collection: str,
    pepper: bytes,
    owner: str,
    label: str,
    expires_at: datetime | None,
    now: datetime | None = None,
    *,
    pepper_version: int,
    new_api_key: Callable[[], str] = generate_api_key,
) -> CreatedKey:
    """Mint a key under the current pepper (`pepper`, Secret Manager version `pepper_version`,
    recorded in the key document)."""
    owner, label = owner.strip(), label.strip()
    if not owner:
        raise KeyAdminError("owner must not be empty")
    if len(owner) > 256 or len(label) > 256:
        raise KeyAdminError("owner and label are at most 256 characters")
    now = now or datetime.now(timezone.utc)
    if expires_at is not None and expires_at <= now:
        raise KeyAdminError("expiry must be in the future")
    api_key = new_api_key()
    record = KeyRecord(
        key_id=key_id_for(api_key, pepper),
        owner=owner,
        label=label,
        prefix=display_prefix(api_key),
        status="active",
        created_at=now,
        expires_at=expires_at,
        pepper_version=pepper_version,
    )

    def decide(current: KeyRecord | None) -> tuple[KeyRecord, dict[str, Any]]:
        # A collision is astronomically unlikely, but never silent.
        if current is not None:
            raise KeyAdminError("a key with this id exists already; nothing was written")
        return record, record.to_document()

    _commit_key_change(client, collection, record.key_id, "create", decide)
    return CreatedKey(api_key=api_key, record=record)


def list_keys(
    client: Any, collection: str, owner: str, pepper_version: int | None = None
) -> list[KeyRecord]:
    """An owner's keys, oldest first; with `pepper_version`, only those that are or may be on
    it (a key minted before keys recorded their version may be on any, as in pepper_usage)."""
    from google.cloud.firestore import FieldFilter

    snapshots = (
        client.collection(collection)
        .where(filter=FieldFilter("owner", "==", owner))
        .stream(timeout=TIMEOUT_SECONDS)
    )
    records = [KeyRecord.from_document(s.id, s.to_dict() or {}) for s in snapshots]
    if pepper_version is not None:
        records = [r for r in records if r.pepper_version in (pepper_version, None)]
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

    return _commit_key_change(client, collection, _checked_key_id(key_id), action, decide)


def set_key_expiry(client: Any, collection: str, key_id: str, expires_at: datetime) -> KeyRecord:
    """Set when a key stops working (now, to expire it at once)."""

    def decide(current: KeyRecord | None) -> tuple[KeyRecord, dict[str, Any]]:
        record = _existing(key_id, current)
        return replace(record, expires_at=expires_at), {"expires_at": expires_at}

    return _commit_key_change(client, collection, _checked_key_id(key_id), "expire", decide)


ShardEntries = dict[str, dict[bytes, IndexEntry]]


def _stored_key_records(client: Any, collection: str) -> Iterator[KeyRecord]:
    """Every document of the collection whose id is a key id, as a record."""
    for snapshot in client.collection(collection).stream(timeout=TIMEOUT_SECONDS):
        if is_key_id(snapshot.id):
            yield KeyRecord.from_document(snapshot.id, snapshot.to_dict() or {})


def _expected_shards(client: Any, collection: str) -> tuple[ShardEntries, list[KeyRecord]]:
    """The index the key documents call for, by shard; and the documents."""
    shards: ShardEntries = {}
    records = []
    for record in _stored_key_records(client, collection):
        records.append(record)
        shards.setdefault(record.shard, {})[record.id_prefix] = record.index_entry()
    return shards, records


def _stored_index(client: Any, collection: str) -> tuple[IndexHead | None, dict[str, StoredShard]]:
    head: IndexHead | None = None
    shards: dict[str, StoredShard] = {}
    index = client.collection(index_collection_for(collection))
    for snapshot in index.stream(timeout=TIMEOUT_SECONDS):
        data = snapshot.to_dict() or {}
        if snapshot.id == HEAD_DOCUMENT:
            head = IndexHead.from_document(data)
        elif snapshot.id.startswith("shard-"):
            shards[snapshot.id.removeprefix("shard-")] = StoredShard.from_document(data)
    return head, shards


def _shard_is_right(
    shard: str, head: IndexHead | None, stored: StoredShard | None, want: dict[bytes, IndexEntry]
) -> bool:
    """The shard holds what the documents call for, in the current layout, and the head lists
    it at the version it is at."""
    if head is None or head.layout != INDEX_LAYOUT:
        return False
    if stored is None:
        return not want and shard not in head.shard_versions
    return (
        head.shard_versions.get(shard) == stored.version
        and head.active_counts.get(shard) == count_active(stored.entries)
        and decode_entries(stored.entries) == want
    )


@dataclass(frozen=True)
class RebuildReport:
    keys: int
    by_status: dict[str, int]
    shards_written: int
    shards_unchanged: int
    largest_shard_bytes: int


def rebuild_index(client: Any, collection: str) -> RebuildReport:
    """Rewrite every shard that differs from the key documents, with the head's entry for it.

    Each shard is read before the documents and written behind the claim of its next change
    number, so a key change committed meanwhile either is in the documents read or makes the
    claim fail; a shard whose claim failed is done again (from fresh reads). Safe to run while
    operators change keys, and a no-op on an index that is right.
    """
    pending: set[str] | None = None  # None: every shard
    written, largest = 0, 0
    for attempt in range(MAX_ATTEMPTS):
        head, stored = _stored_index(client, collection)
        expected, records = _expected_shards(client, collection)
        every = set(expected) | set(stored) | set(head.shard_versions if head else ())
        lost: set[str] = set()
        for shard in sorted(every if pending is None else pending):
            want = expected.get(shard, {})
            largest = max(largest, len(want) * RECORD.size)
            if _shard_is_right(shard, head, stored.get(shard), want):
                continue
            current = stored.get(shard) or StoredShard.from_document(None)
            change = {"action": "rebuild-index"}
            if _commit_shard(client, collection, shard, current, want, change, set_layout=True):
                written += 1
            else:
                lost.add(shard)
        if not lost:
            by_status = Counter(record.status for record in records)
            return RebuildReport(
                keys=len(records),
                by_status=dict(by_status),
                shards_written=written,
                shards_unchanged=len(every) - written,
                largest_shard_bytes=largest,
            )
        pending = lost
        _back_off(attempt)
    raise KeyAdminError(
        f"shards {', '.join(sorted(pending or ()))} kept changing during the rebuild; run it again"
    )


@dataclass
class IndexCheck:
    keys: int = 0
    layout: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.problems


def check_index(client: Any, collection: str) -> IndexCheck:
    """Compare documents, shards and head; every difference is a problem, by name.

    Reads the index before the documents: a key change committed in between can show up as a
    difference (run it again); a real divergence shows up every time.
    """
    head, stored = _stored_index(client, collection)
    expected, records = _expected_shards(client, collection)
    check = IndexCheck(keys=len(records), layout=head.layout if head else None)
    if head is None:
        if records:
            check.problems.append("the index head is missing: run rebuild-index")
        return check
    if head.layout != INDEX_LAYOUT:
        check.problems.append(
            f"the index is in layout {head.layout}, not {INDEX_LAYOUT}: run rebuild-index"
        )
    for shard in sorted(set(expected) | set(stored) | set(head.shard_versions)):
        want = expected.get(shard, {})
        listed = head.shard_versions.get(shard)
        shard_document_ = stored.get(shard)
        if shard_document_ is None:
            if want:
                check.problems.append(f"shard {shard} has no document (its keys are unindexed)")
            elif listed is not None:
                check.problems.append(f"shard {shard} is listed in the head but has no document")
        elif listed is None:
            check.problems.append(f"shard {shard} is not listed in the head (readers skip it)")
        elif listed != shard_document_.version:
            check.problems.append(
                f"shard {shard} is at version {shard_document_.version} but the head lists "
                f"{listed}: instances holding {listed} never re-read it"
            )
        if shard_document_ is not None and listed is not None:
            recorded = head.active_counts.get(shard)
            holds = count_active(shard_document_.entries)
            if recorded != holds:
                check.problems.append(
                    f"shard {shard} holds {holds} active key(s) but the head records {recorded}: "
                    "the index guard may refuse good reads; run rebuild-index"
                )
        have = decode_entries(shard_document_.entries) if shard_document_ else {}
        if shard_document_ is not None and len(shard_document_.entries) > MAX_SHARD_BYTES:
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


@dataclass(frozen=True)
class PepperUsage:
    """Keys that still depend on each pepper version: live = not revoked and not expired."""

    active: dict[int | None, int]
    disabled: dict[int | None, int]
    dead: int  # revoked or expired: they never work again, whatever the pepper

    def live_on(self, version: int | None) -> int:
        return self.active.get(version, 0) + self.disabled.get(version, 0)


def is_expired(record: KeyRecord, now: datetime) -> bool:
    """Whether `record` is past its expiry at `now` (its stored status aside)."""
    return record.expires_at is not None and record.expires_at <= now


def pepper_usage(client: Any, collection: str, now: datetime | None = None) -> PepperUsage:
    """Count live keys by the pepper version they were minted under (None: not recorded)."""
    now = now or datetime.now(timezone.utc)
    active: Counter[int | None] = Counter()
    disabled: Counter[int | None] = Counter()
    dead = 0
    for record in _stored_key_records(client, collection):
        if record.status == "revoked" or is_expired(record, now):
            dead += 1
        elif record.status == "active":
            active[record.pepper_version] += 1
        else:
            disabled[record.pepper_version] += 1
    return PepperUsage(dict(active), dict(disabled), dead)
