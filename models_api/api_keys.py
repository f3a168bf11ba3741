"""API keys: format and checksum, keyed hashing, the key record, and cached verification.

A key looks like `inf_` + 32 base62 characters (about 190 random bits) + a 6-character base62
CRC32 checksum. The checksum lets a typo or a scanner's garbage be refused before any database
read. Keys are stored only as HMAC-SHA256(pepper, key), hex-encoded, used as the document id.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from models_api.bounded_lru import BoundedLru
from models_api.errors import BackendUnavailable, Unauthenticated
from models_api.firestore_backend import FirestoreBackend
from models_api.principal import Principal

KEY_PREFIX = "inf_"
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(KEY_PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 8
KEY_STATUSES = ("active", "disabled", "revoked")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_KEY_SHAPE = re.compile(r"inf_[0-9A-Za-z]{38}")
_KEY_ID_SHAPE = re.compile(r"[0-9a-f]{64}")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
    return "".join(reversed(digits))


def _checksum(prefix_and_body: str) -> str:
    return _base62(zlib.crc32(prefix_and_body.encode("ascii")), CHECKSUM_LENGTH)


_BASE62_VALUE = {character: value for value, character in enumerate(_BASE62)}


def generate_api_key() -> str:
    """A new random key with its checksum."""
    body = "".join(secrets.choice(_BASE62) for _ in range(BODY_LENGTH))
    return KEY_PREFIX + body + _checksum(KEY_PREFIX + body)


def is_well_formed_api_key(candidate: str) -> bool:
    """Shape and checksum only; no database involved."""
    if len(candidate) != KEY_LENGTH or not _KEY_SHAPE.fullmatch(candidate):
        return False
    # Decode the checksum rather than encode the CRC: the same test, cheaper on every request.
    claimed = 0
    for character in candidate[-CHECKSUM_LENGTH:]:
        claimed = claimed * 62 + _BASE62_VALUE[character]
    return claimed == zlib.crc32(candidate[:-CHECKSUM_LENGTH].encode("ascii"))


def display_prefix(api_key: str) -> str:
    """The part of a key that may be shown and logged (`inf_` + 8 characters)."""
    return api_key[:DISPLAY_PREFIX_LENGTH]


def key_id_for(api_key: str, pepper: bytes) -> str:
    """The Firestore document id of a key: HMAC-SHA256 with the server-side pepper."""
    return PepperedHasher(pepper).key_id(api_key)


def is_key_id(candidate: str) -> bool:
    return bool(_KEY_ID_SHAPE.fullmatch(candidate))


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


_EPOCH = datetime.fromtimestamp(0, tz=timezone.utc)


class KeyStore(Protocol):
    def find_key(self, key_id: str) -> KeyRecord | None:
        """The record for `key_id`, None if there is none; BackendUnavailable on failure."""
        ...


class FirestoreKeyStore:
    """Looks keys up by document id in the `api_keys` collection (one read per lookup)."""

    def __init__(self, backend: FirestoreBackend, collection: str):
        self._backend = backend
        self._collection = collection

    def find_key(self, key_id: str) -> KeyRecord | None:
        def lookup(client: Any, timeout: float) -> Any:
            return (
                client.collection(self._collection)
                .document(key_id)
                .get(retry=None, timeout=timeout)
            )

        snapshot = self._backend.call(lookup, "api key lookup")
        self._backend.reads.add(1)
        if not snapshot.exists:
            return None
        return KeyRecord.from_document(key_id, snapshot.to_dict() or {})


class PepperedHasher:
    """HMAC-SHA256(pepper, key) (RFC 2104) with the pepper's padded states computed once.

    Built once per instance by the verifier, so each request pays only for hashing the key;
    `hmac.digest` would redo the pepper's half of the work every time.
    """

    _BLOCK_SIZE = 64

    def __init__(self, pepper: bytes):
        if len(pepper) > self._BLOCK_SIZE:
            pepper = hashlib.sha256(pepper).digest()
        padded = pepper.ljust(self._BLOCK_SIZE, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))

    def key_id(self, api_key: str) -> str:
        inner = self._inner.copy()
        inner.update(api_key.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@dataclass(frozen=True)
class _Verdict:
    """What a cached lookup means for a request: built once per lookup, not per request."""

    principal: Principal | None
    refusal: str | None
    expires_at: float | None  # epoch seconds; checked on every request

    @classmethod
    def of(cls, record: KeyRecord | None) -> _Verdict:
        if record is None:
            return cls(principal=None, refusal=None, expires_at=None)
        if record.status != "active":
            return cls(
                principal=None, refusal=f"key {record.status}: {record.prefix}", expires_at=None
            )
        principal = Principal(kind="api_key", subject=record.prefix, owner=record.owner)
        expires_at = record.expires_at.timestamp() if record.expires_at is not None else None
        return cls(principal=principal, refusal=None, expires_at=expires_at)


class ApiKeyVerifier:
    """Turns an `X-Api-Key` value into a Principal, or raises Unauthenticated.

    Lookups (found and not found) are cached in the instance for `ttl_seconds` (at most 60 s):
    that is how long a revoked key may still work on an instance that has seen it. Expiry is
    checked on every request. While Firestore is unavailable, an entry up to
    `max_stale_seconds` old is used instead of failing.

    The cache is keyed by the key itself, and only well-formed keys are ever stored, so a
    request with a cached key pays for neither the checksum nor the HMAC. Keys therefore stay in
    this instance's memory while cached (at most `max_entries`); they are never logged or stored.
    """

    def __init__(
        self,
        pepper: Callable[[], bytes],
        store: KeyStore,
        *,
        ttl_seconds: float,
        max_stale_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self._pepper = pepper
        self._hasher: PepperedHasher | None = None
        self._store = store
        self._ttl_seconds = ttl_seconds
        self._max_stale_seconds = max_stale_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        # key -> (verdict, monotonic time it was looked up)
        self._cache: BoundedLru[tuple[_Verdict, float]] = BoundedLru(max_entries)

    @property
    def cached_entries(self) -> int:
        return len(self._cache)

    def verify(self, api_key: str) -> Principal:
        entry = self._cache.get(api_key)
        if entry is not None and self._clock() - entry[1] < self._ttl_seconds:
            verdict = entry[0]
        else:
            if not is_well_formed_api_key(api_key):
                raise Unauthenticated("malformed api key or bad checksum")
            verdict = self._look_up(api_key, entry)
        if verdict.principal is None:
            raise Unauthenticated(verdict.refusal or f"unknown api key {display_prefix(api_key)}")
        if verdict.expires_at is not None and self._wall_clock() >= verdict.expires_at:
            raise Unauthenticated(f"key expired: {verdict.principal.subject}")
        return verdict.principal

    def _look_up(self, api_key: str, stale: tuple[_Verdict, float] | None) -> _Verdict:
        if self._hasher is None:
            self._hasher = PepperedHasher(self._pepper())  # the pepper may come from a backend
        try:
            verdict = _Verdict.of(self._store.find_key(self._hasher.key_id(api_key)))
        except BackendUnavailable:
            if stale is not None and self._clock() - stale[1] <= self._max_stale_seconds:
                return stale[0]
            raise
        self._cache.put(api_key, (verdict, self._clock()))
        return verdict
