"""docs/api-keys.md's test vectors hold for this code: the spec other services build from."""

from __future__ import annotations

import json
import re
import zlib
from datetime import datetime, timezone
from typing import Any

import pytest

from local_harness.processes import ROOT
from models_api.keys.documents import (
    RECORD,
    STATUS_CODES,
    IndexEntry,
    IndexHead,
    find_entry,
    head_field,
    shard_name,
)
from models_api.keys.key_format import (
    checksum,
    display_prefix,
    is_well_formed_api_key,
    key_id_for,
)

SPEC = (ROOT / "docs" / "api-keys.md").read_text(encoding="utf-8")
VECTORS: dict[str, Any] = json.loads(
    re.search(r"```json test-vectors\n(.*?)```", SPEC, re.DOTALL).group(1)  # type: ignore[union-attr]
)
PEPPER = VECTORS["pepper"].encode("ascii")


@pytest.mark.parametrize("vector", VECTORS["keys"], ids=lambda v: v["key"][:12])
def test_each_good_key_matches_its_vector(vector: dict[str, Any]) -> None:
    key = vector["key"]

    assert is_well_formed_api_key(key)
    assert zlib.crc32(key[:36].encode("ascii")) == vector["crc32"]
    assert checksum(key[:36]) == vector["checksum"] == key[36:]
    assert display_prefix(key) == vector["display_prefix"]
    assert key_id_for(key, PEPPER) == vector["key_id"]
    assert shard_name(bytes.fromhex(vector["key_id"])) == vector["shard"]
    assert head_field(vector["shard"]) == vector["head_field"]
    head = IndexHead.from_document({"layout": 2, "versions": {vector["head_field"]: "v"}})
    assert head.shard_versions == {vector["shard"]: "v"}


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS["keys"] if "index_record" in v], ids=lambda v: v["key"][:12]
)
def test_index_records_match_their_vectors_and_are_found(vector: dict[str, Any]) -> None:
    wanted = vector["index_record"]
    digest = bytes.fromhex(vector["key_id"])
    record = RECORD.pack(digest[:16], STATUS_CODES[wanted["status"]], wanted["expires_at"])

    assert record.hex() == wanted["hex"]
    assert find_entry(record, digest[:16]) == IndexEntry(wanted["status"], wanted["expires_at"])


@pytest.mark.parametrize("candidate", VECTORS["not_well_formed"])
def test_bad_values_are_not_well_formed(candidate: str) -> None:
    assert not is_well_formed_api_key(candidate)


def test_the_bad_checksum_vector_differs_from_a_good_key_only_in_its_checksum() -> None:
    good, bad = VECTORS["keys"][0]["key"], VECTORS["not_well_formed"][0]

    assert good[:-1] == bad[:-1] and good != bad


def test_a_key_has_one_id_per_pepper_version_and_either_finds_it_during_a_rotation() -> None:
    from local_harness.key_store_double import CountingKeyStore
    from models_api.auth.throttle import LookupBudget
    from models_api.keys.documents import KeyRecord
    from models_api.keys.index import KeyIndex
    from models_api.keys.verifier import ApiKeyVerifier

    rotation = VECTORS["rotation"]
    key, previous, current = rotation["key"], rotation["previous"], rotation["current"]
    store = CountingKeyStore()
    store.put(
        KeyRecord(
            key_id=previous["key_id"], owner="o", label="", prefix=display_prefix(key),
            status="active", created_at=datetime.now(timezone.utc),
            expires_at=None, pepper_version=previous["version"],
        )
    )  # fmt: skip
    index = KeyIndex(store, refresh_seconds=4, max_stale_seconds=60, wait_seconds=1)
    peppers = [current["pepper"].encode(), previous["pepper"].encode()]
    verifier = ApiKeyVerifier(
        [lambda: peppers[0], lambda: peppers[1]], index, store, max_entries=10,
        wait_seconds=1, lookup_budget=LookupBudget(10, 10),
    )  # fmt: skip

    assert key_id_for(key, previous["pepper"].encode()) == previous["key_id"]
    assert key_id_for(key, current["pepper"].encode()) == current["key_id"]
    assert verifier.verify(key).subject == display_prefix(key)
    assert store.key_reads == 0  # found in the index under the previous pepper
