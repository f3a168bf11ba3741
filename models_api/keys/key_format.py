"""API key format: shape, checksum, display prefix and the keyed hash that names a key.

A key looks like `inf_` + 32 base62 characters (about 190 random bits) + a 6-character base62
CRC32 checksum. The checksum lets a typo or a scanner's garbage be refused before any database
read. Keys are stored only as HMAC-SHA256(pepper, key); the hex digest is the key id. Specified
for other services in docs/api-keys.md (with test vectors the test suite checks).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib

KEY_PREFIX = "inf_"
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
KEY_LENGTH = len(KEY_PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
DISPLAY_PREFIX_LENGTH = len(KEY_PREFIX) + 8
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_VALUE = {character: value for value, character in enumerate(_BASE62)}
_KEY_SHAPE = re.compile(r"inf_[0-9A-Za-z]{38}")
_KEY_ID_SHAPE = re.compile(r"[0-9a-f]{64}")


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(_BASE62[remainder])
    return "".join(reversed(digits))


def checksum(prefix_and_body: str) -> str:
    """The 6 base62 digits (most significant first) of CRC32 of `inf_` + body."""
    return _base62(zlib.crc32(prefix_and_body.encode("ascii")), CHECKSUM_LENGTH)


def generate_api_key() -> str:
    """A new random key with its checksum."""
    body = "".join(secrets.choice(_BASE62) for _ in range(BODY_LENGTH))
    return KEY_PREFIX + body + checksum(KEY_PREFIX + body)


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
    """The key id (document id of `api_keys/{key_id}`): hex HMAC-SHA256 with the pepper."""
    return PepperedHasher(pepper).key_id(api_key)


def is_key_id(candidate: str) -> bool:
    return bool(_KEY_ID_SHAPE.fullmatch(candidate))


class PepperedHasher:
    """HMAC-SHA256(pepper, key) (RFC 2104) with the pepper's padded states computed once.

    Built once per instance, so each request pays only for hashing the key; `hmac.digest`
    would redo the pepper's half of the work every time.
    """

    _BLOCK_SIZE = 64

    def __init__(self, pepper: bytes):
        if len(pepper) > self._BLOCK_SIZE:
            pepper = hashlib.sha256(pepper).digest()
        padded = pepper.ljust(self._BLOCK_SIZE, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))

    def digest(self, api_key: str) -> bytes:
        inner = self._inner.copy()
        inner.update(api_key.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def key_id(self, api_key: str) -> str:
        return self.digest(api_key).hex()
