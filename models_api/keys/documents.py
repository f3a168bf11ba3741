"""What is stored for API keys: the key documents and the key index built from them.

Layout (specified for other services in docs/api-keys.md):

    api_keys/{key_id}               the source of truth, one document per key (KeyRecord)
    api_keys_index/head             {layout: 2, versions: {"s00".."sff": version},
                                     active: {"s00".."sff": active keys in the shard}}
    api_keys_index/shard-{xx}       {layout: 2, version: str, seq: int, count: int, active: int,
                                     entries: bytes}
    api_keys_changes/{xx}.{seq}     one per change of shard xx: the claim that orders writers

`key_id` is the hex HMAC-SHA256 of the key. A shard holds every key whose digest starts with
byte `xx`, as fixed-width records sorted by id: 16 bytes of the digest, one status byte
(`a`ctive, `d`isabled, `r`evoked) and the expiry as 8-byte big-endian Unix seconds (0 = never).
Every write of a shard gives it a new random `version` and sets `head.versions["s" + xx]` to it
in the same commit (a field update: no writer rewrites another shard's entry), so a reader re-reads
exactly the shards whose version differs from the one it holds. The same commit records the
shard's active-key count in `head.active`: the total the index guard (keys/guard.py) expects.
Writers of one shard are ordered by creating `api_keys_changes/{xx}.{seq + 1}` first in their
commit: only one writer can create it, so a writer that read an older shard fails and retries
instead of overwriting a change it did not see (no reliance on transaction isolation).
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

KEY_STATUSES = ("active", "disabled", "revoked")
INDEX_LAYOUT = 2
HEAD_DOCUMENT = "head"
ID_BYTES = 16
RECORD = struct.Struct(">16scq")  # id prefix, status byte, expiry (Unix seconds, 0 = never)
SHARD_COUNT = 256
# Firestore refuses documents over 1 MiB; the CLI refuses to grow a shard past this.
MAX_SHARD_BYTES = 900_000
STATUS_CODES = {"active": b"a", "disabled": b"d", "revoked": b"r"}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
_EPOCH = datetime.fromtimestamp(0, tz=timezone.utc)


def index_collection_for(api_keys_collection: str) -> str:
    """The index lives next to the key collection: `api_keys` -> `api_keys_index`."""
    return f"{api_keys_collection}_index"


def changes_collection_for(api_keys_collection: str) -> str:
    """The change log (one claim per shard write): `api_keys` -> `api_keys_changes`."""
    return f"{api_keys_collection}_changes"


def change_document(shard: str, seq: int) -> str:
    """The claim of shard `shard`'s change number `seq`, e.g. `7f.000000000042`."""
    return f"{shard}.{seq:012d}"


def head_field(shard: str) -> str:
    """The key of shard `xx` in `head.versions`: `s` + xx (a field name that needs no quoting,
    which the emulator's partial updates require)."""
    return f"s{shard}"


def new_shard_version() -> str:
    """A version no other write can produce: 128 random bits in hex (compared for equality)."""
    return secrets.token_hex(16)


def shard_name(digest: bytes) -> str:
    """The shard of a key digest: its first byte, two lowercase hex digits."""
    return f"{digest[0]:02x}"


def shard_document(shard: str) -> str:
    return f"shard-{shard}"


def expiry_seconds(expires_at: datetime | None) -> int:
    """The index's expiry: whole Unix seconds rounded down (never later than the document)."""
    if expires_at is None:
        return 0
    return max(1, int(expires_at.timestamp()))


@dataclass(frozen=True)
class IndexEntry:
    """One key in the index: what a request needs to decide, nothing else."""

    status: str
    expires_at: int  # Unix seconds; 0 = never


def find_entry(entries: bytes, id_prefix: bytes) -> IndexEntry | None:
    """Binary search of a shard's sorted records for the 16-byte id prefix."""
    size = RECORD.size
    low, high = 0, len(entries) // size
    while low < high:
        middle = (low + high) // 2
        start = middle * size
        candidate = entries[start : start + ID_BYTES]
        if candidate < id_prefix:
            low = middle + 1
        elif candidate > id_prefix:
            high = middle
        else:
            _, status, expires_at = RECORD.unpack_from(entries, start)
            return IndexEntry(STATUS_NAMES.get(status, "disabled"), expires_at)
    return None


def count_active(entries: bytes) -> int:
    """How many of a shard's records are active (expiry aside)."""
    return entries[ID_BYTES :: RECORD.size].count(STATUS_CODES["active"])


def decode_entries(entries: bytes) -> dict[bytes, IndexEntry]:
    """Every record of a shard (for the operator tools; requests use find_entry)."""
    return {
        id_prefix: IndexEntry(STATUS_NAMES.get(status, "disabled"), expires_at)
        for id_prefix, status, expires_at in RECORD.iter_unpack(entries)
    }


def encode_entries(entries: dict[bytes, IndexEntry]) -> bytes:
    """Records sorted by id prefix, as find_entry expects."""
    return b"".join(
        RECORD.pack(id_prefix, STATUS_CODES[entry.status], entry.expires_at)
        for id_prefix, entry in sorted(entries.items())
    )


@dataclass(frozen=True)
class KeyRecord:
    """What `api_keys/{key_id}` holds. The key itself is never stored."""

    key_id: str
    owner: str
    label: str
    prefix: str
    status: str
    created_at: datetime
    expires_at: datetime | None
    # The Secret Manager version of the pepper the key id was computed with; None when the key
    # was minted before versions were recorded.
    pepper_version: int | None = None

    def to_document(self) -> dict[str, Any]:
        document = {
            "owner": self.owner,
            "label": self.label,
            "prefix": self.prefix,
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }
        if self.pepper_version is not None:
            document["pepper_version"] = self.pepper_version
        return document

    def index_entry(self) -> IndexEntry:
        return IndexEntry(self.status, expiry_seconds(self.expires_at))

    @property
    def id_prefix(self) -> bytes:
        return bytes.fromhex(self.key_id)[:ID_BYTES]

    @property
    def shard(self) -> str:
        return self.key_id[:2]

    @classmethod
    def from_document(cls, key_id: str, data: dict[str, Any]) -> KeyRecord:
        """Parse a stored document; an unusable shape reads as a disabled key (fail closed)."""
        status = data.get("status")
        created_at = data.get("created_at")
        expires_at = data.get("expires_at")
        pepper_version = data.get("pepper_version")
        valid = (
            status in KEY_STATUSES
            and isinstance(created_at, datetime)
            and (expires_at is None or isinstance(expires_at, datetime))
        )
        return cls(
            key_id=key_id,
            owner=str(data.get("owner", "")),
            label=str(data.get("label", "")),
            prefix=str(data.get("prefix", "")),
            status=str(status) if valid else "disabled",
            created_at=created_at if isinstance(created_at, datetime) else _EPOCH,
            expires_at=expires_at if isinstance(expires_at, datetime) else None,
            pepper_version=pepper_version if type(pepper_version) is int else None,
        )


@dataclass(frozen=True)
class IndexHead:
    """`api_keys_index/head`: the change feed every instance polls."""

    layout: int
    shard_versions: dict[str, str]
    # shard -> active keys, as key_admin recorded them with each shard's last change
    active_counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_document(cls, data: dict[str, Any] | None) -> IndexHead:
        """A missing head is an empty index (keys are then read one by one). Layout 1 (integer
        versions in `shards`, keyed "00".."ff") reads too: versions are only compared."""
        if not data:
            return cls(INDEX_LAYOUT, {})
        counts = data.get("active")
        if not isinstance(counts, dict):
            counts = {}
        active_counts = {
            str(name)[1:]: count for name, count in counts.items() if type(count) is int
        }
        layout = int(data.get("layout", 1))
        if layout == 1:
            shards = data.get("shards") or {}
            versions = {str(name): str(version) for name, version in shards.items()}
        else:
            stored = data.get("versions") or {}
            versions = {str(name)[1:]: str(version) for name, version in stored.items()}
        return cls(layout=layout, shard_versions=versions, active_counts=active_counts)

    @property
    def recorded_active(self) -> int | None:
        """The active keys key_admin recorded over every listed shard; None without a head or
        when a listed shard has no record (an index written before counts were recorded)."""
        if not self.shard_versions or not self.active_counts.keys() >= self.shard_versions.keys():
            return None
        return sum(self.active_counts[name] for name in self.shard_versions)

    def changed_from(self, held: dict[str, str]) -> list[str]:
        """The shards whose version differs from the one held (or that are not held)."""
        return sorted(
            name for name, version in self.shard_versions.items() if held.get(name) != version
        )


@dataclass(frozen=True)
class StoredShard:
    """`api_keys_index/shard-{xx}`: its version, its place in the change order, its records."""

    version: str
    seq: int
    entries: bytes

    @classmethod
    def from_document(cls, data: dict[str, Any] | None) -> StoredShard:
        """A missing shard is empty, at seq 0 and version ""."""
        data = data or {}
        entries, seq = data.get("entries"), data.get("seq")
        return cls(
            version=str(data.get("version", "")),
            seq=seq if type(seq) is int else 0,
            entries=entries if isinstance(entries, bytes) else b"",
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "layout": INDEX_LAYOUT,
            "version": self.version,
            "seq": self.seq,
            "count": len(self.entries) // RECORD.size,
            "active": count_active(self.entries),
            "entries": self.entries,
        }
