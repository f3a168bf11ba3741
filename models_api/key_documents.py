"""What is stored for API keys: the key documents and the key index built from them.

Layout (specified for other services in docs/api-keys.md):

    api_keys/{key_id}               the source of truth, one document per key (KeyRecord)
    api_keys_index/head             {layout: 1, version: int, shards: {"00".."ff": int}}
    api_keys_index/shard-{xx}       {version: int, count: int, entries: bytes}

`key_id` is the hex HMAC-SHA256 of the key. A shard holds every key whose digest starts with
byte `xx`, as fixed-width records sorted by id: 16 bytes of the digest, one status byte
(`a`ctive, `d`isabled, `r`evoked) and the expiry as 8-byte big-endian Unix seconds (0 = never).
`head.version` grows by one with every key change, and `head.shards[xx]` is the version that
last wrote shard `xx`, so a reader that knows version v re-reads only the shards changed since.
The key admin CLI writes the key document, its shard and the head in one transaction.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

KEY_STATUSES = ("active", "disabled", "revoked")
INDEX_LAYOUT = 1
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

    def to_document(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "label": self.label,
            "prefix": self.prefix,
            "status": self.status,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }

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
        )


@dataclass(frozen=True)
class IndexHead:
    """`api_keys_index/head`: the change feed every instance polls."""

    version: int
    shard_versions: dict[str, int]

    @classmethod
    def from_document(cls, data: dict[str, Any] | None) -> IndexHead:
        """A missing head is an empty index at version 0 (keys are then read one by one)."""
        if not data:
            return cls(0, {})
        shards = data.get("shards") or {}
        return cls(
            version=int(data.get("version", 0)),
            shard_versions={str(name): int(version) for name, version in shards.items()},
        )

    def to_document(self) -> dict[str, Any]:
        return {"layout": INDEX_LAYOUT, "version": self.version, "shards": self.shard_versions}

    def changed_since(self, version: int) -> list[str]:
        return sorted(name for name, changed in self.shard_versions.items() if changed > version)
