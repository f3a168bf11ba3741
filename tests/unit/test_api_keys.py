from __future__ import annotations

import datetime as dt
import hmac

import pytest

from local_harness.keys import with_bad_checksum
from models_api.api_keys import (
    ApiKeyVerifier,
    KeyRecord,
    display_prefix,
    generate_api_key,
    is_well_formed_api_key,
    key_id_for,
)
from models_api.errors import BackendUnavailable, Unauthenticated

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.timezone.utc)
PEPPER = b"p" * 32


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeKeyStore:
    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}
        self.lookups = 0
        self.down = False

    def add(self, api_key: str, **changes: object) -> None:
        record = KeyRecord(
            key_id=key_id_for(api_key, PEPPER),
            owner="o",
            label="",
            prefix=display_prefix(api_key),
            status="active",
            created_at=NOW,
            expires_at=None,
        )
        self.records[record.key_id] = KeyRecord(**{**record.__dict__, **changes})

    def find_key(self, key_id: str) -> KeyRecord | None:
        self.lookups += 1
        if self.down:
            raise BackendUnavailable("down")
        return self.records.get(key_id)


def make_verifier(store: FakeKeyStore, clock: FakeClock, **kwargs: float) -> ApiKeyVerifier:
    return ApiKeyVerifier(
        lambda: PEPPER,
        store,
        ttl_seconds=kwargs.get("ttl", 60),
        max_stale_seconds=kwargs.get("stale", 300),
        max_entries=int(kwargs.get("entries", 100)),
        clock=clock,
        wall_clock=NOW.timestamp,
    )


def test_generated_keys_are_well_formed_and_unique() -> None:
    keys = {generate_api_key() for _ in range(200)}

    assert len(keys) == 200
    assert all(is_well_formed_api_key(key) and len(key) == 42 for key in keys)


def test_any_single_character_change_breaks_the_checksum() -> None:
    key = generate_api_key()
    for position in range(4, len(key)):
        replacement = "0" if key[position] != "0" else "1"
        mutated = key[:position] + replacement + key[position + 1 :]
        assert not is_well_formed_api_key(mutated), position


def test_key_ids_depend_on_the_pepper() -> None:
    key = generate_api_key()

    assert key_id_for(key, PEPPER) == key_id_for(key, PEPPER)
    assert key_id_for(key, PEPPER) != key_id_for(key, b"q" * 32)
    assert key not in key_id_for(key, PEPPER)


def test_lookups_are_cached_for_the_ttl_found_and_not_found() -> None:
    store, clock = FakeKeyStore(), FakeClock()
    known, unknown = generate_api_key(), generate_api_key()
    store.add(known)
    verifier = make_verifier(store, clock, ttl=60)

    for _ in range(3):
        assert verifier.verify(known).subject == display_prefix(known)
        with pytest.raises(Unauthenticated):
            verifier.verify(unknown)
    assert store.lookups == 2

    clock.now += 61
    verifier.verify(known)
    assert store.lookups == 3


def test_a_revoked_key_is_refused_once_its_cache_entry_expires() -> None:
    store, clock = FakeKeyStore(), FakeClock()
    key = generate_api_key()
    store.add(key)
    verifier = make_verifier(store, clock, ttl=30)
    verifier.verify(key)

    store.add(key, status="revoked")
    verifier.verify(key)  # still cached: the documented revocation delay
    clock.now += 31

    with pytest.raises(Unauthenticated) as refused:
        verifier.verify(key)
    assert "revoked" in refused.value.reason


def test_expiry_is_checked_on_every_request_not_only_on_lookup() -> None:
    store, clock = FakeKeyStore(), FakeClock()
    key = generate_api_key()
    store.add(key, expires_at=NOW - dt.timedelta(seconds=1))

    with pytest.raises(Unauthenticated) as refused:
        make_verifier(store, clock).verify(key)
    assert refused.value.reason.startswith("key expired")


@pytest.mark.parametrize("pepper", [b"p" * 32, b"q" * 64, b"r" * 100, bytes(range(48))])
def test_the_fast_hasher_is_hmac_sha256(pepper: bytes) -> None:
    from models_api.api_keys import PepperedHasher

    hasher = PepperedHasher(pepper)

    for _ in range(20):
        key = generate_api_key()
        assert hasher.key_id(key) == hmac.new(pepper, key.encode(), "sha256").hexdigest()


def test_during_an_outage_a_recently_seen_key_keeps_working_then_stops() -> None:
    store, clock = FakeKeyStore(), FakeClock()
    key = generate_api_key()
    store.add(key)
    verifier = make_verifier(store, clock, ttl=60, stale=120)
    verifier.verify(key)
    store.down = True

    clock.now += 100
    assert verifier.verify(key).kind == "api_key"
    clock.now += 100
    with pytest.raises(BackendUnavailable):
        verifier.verify(key)
    with pytest.raises(BackendUnavailable):
        verifier.verify(generate_api_key())


def test_the_cache_is_bounded() -> None:
    store, clock = FakeKeyStore(), FakeClock()
    verifier = make_verifier(store, clock, entries=50)

    for _ in range(500):
        with pytest.raises(Unauthenticated):
            verifier.verify(generate_api_key())

    assert verifier.cached_entries == 50


def test_malformed_keys_never_reach_the_store() -> None:
    store, clock = FakeKeyStore(), FakeClock()
    verifier = make_verifier(store, clock)

    for candidate in ["", "inf_", "inf_" + "A" * 38, "x" * 42, generate_api_key()[:-1] + "?"]:
        with pytest.raises(Unauthenticated):
            verifier.verify(candidate)

    assert store.lookups == 0
    assert verifier.cached_entries == 0  # the cache, keyed by the key, holds well-formed keys only


def test_a_key_one_character_off_a_cached_key_is_checked_on_its_own() -> None:
    store, clock = FakeKeyStore(), FakeClock()
    verifier = make_verifier(store, clock)
    key = generate_api_key()
    store.add(key)
    verifier.verify(key)
    near_miss = with_bad_checksum(key)  # same prefix and shape

    with pytest.raises(Unauthenticated):
        verifier.verify(near_miss)
    with pytest.raises(Unauthenticated):
        verifier.verify(key + " ")


def test_a_corrupt_document_reads_as_disabled() -> None:
    record = KeyRecord.from_document("id", {"status": "active", "created_at": "yesterday"})

    assert record.status == "disabled"
    assert record.status == "disabled"
