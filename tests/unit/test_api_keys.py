"""Key format, the key index, its change feed, direct reads of keys it does not hold, and what
each costs in reads: all through the real verifier on an in-memory counting store."""

from __future__ import annotations

import datetime as dt
import hmac
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial

import pytest

from local_harness.key_store_double import CountingKeyStore
from local_harness.keys import with_bad_checksum
from models_api.auth.throttle import LookupBudget
from models_api.errors import (
    BackendUnavailable,
    ServiceUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from models_api.keys.documents import KeyRecord
from models_api.keys.index import KeyIndex
from models_api.keys.key_format import (
    PepperedHasher,
    display_prefix,
    generate_api_key,
    is_well_formed_api_key,
    key_id_for,
)
from models_api.keys.verifier import ApiKeyVerifier

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.timezone.utc)
PEPPER = b"p" * 32
REFRESH = 4.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record_for(api_key: str, **changes: object) -> KeyRecord:
    record = KeyRecord(
        key_id=key_id_for(api_key, PEPPER),
        owner="o",
        label="",
        prefix=display_prefix(api_key),
        status="active",
        created_at=NOW,
        expires_at=None,
    )
    return KeyRecord(**{**record.__dict__, **changes})


def run_inline(work: Callable[[], None]) -> None:
    work()


class Instance:
    """One service instance's key verification (index + verifier) on a shared store."""

    def __init__(
        self,
        store: CountingKeyStore,
        clock: Callable[[], float],
        *,
        refresh: float = REFRESH,
        runner: Callable[[Callable[[], None]], None] = run_inline,
        entries: int = 100,
        max_stale: float = 300,
        wait: float = 1.0,
        wall_clock: Callable[[], float] = NOW.timestamp,
        peppers: tuple[bytes, ...] = (PEPPER,),
        budget: LookupBudget | None = None,
    ):
        self.index = KeyIndex(
            store,
            refresh_seconds=refresh,
            max_stale_seconds=max_stale,
            wait_seconds=wait,
            clock=clock,
            run_in_background=runner,
        )
        self.verifier = ApiKeyVerifier(
            [partial(bytes, pepper) for pepper in peppers],
            self.index,
            store,
            max_entries=entries,
            wait_seconds=wait,
            lookup_budget=budget or LookupBudget(1e6, 1e6, clock=clock),
            clock=clock,
            wall_clock=wall_clock,
        )

    def status(self, api_key: str, before_lookup: Callable[[], None] = lambda: None) -> int:
        try:
            self.verifier.verify(api_key, before_lookup)
        except (Unauthenticated, ServiceUnavailable, TooManyRequests) as refused:
            return refused.status
        except BackendUnavailable:
            return 503
        return 200


def store_with(*keys: str) -> CountingKeyStore:
    store = CountingKeyStore()
    for key in keys:
        store.put(record_for(key))
    return store


# --- format ---------------------------------------------------------------------------------


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


@pytest.mark.parametrize("pepper", [b"p" * 32, b"q" * 64, b"r" * 100, bytes(range(48))])
def test_the_fast_hasher_is_hmac_sha256(pepper: bytes) -> None:
    hasher = PepperedHasher(pepper)

    for _ in range(20):
        key = generate_api_key()
        assert hasher.key_id(key) == hmac.new(pepper, key.encode(), "sha256").hexdigest()


def test_a_corrupt_document_reads_as_disabled() -> None:
    record = KeyRecord.from_document("id", {"status": "active", "created_at": "yesterday"})

    assert record.status == "disabled"


# --- the index and its change feed ----------------------------------------------------------


def test_loading_reads_the_head_and_the_shards_that_exist_then_known_keys_cost_nothing() -> None:
    keys = [generate_api_key() for _ in range(20)]
    store, clock = store_with(*keys), FakeClock()
    shards = {key_id_for(key, PEPPER)[:2] for key in keys}
    instance = Instance(store, clock)

    for _ in range(5):
        assert all(instance.status(key) == 200 for key in keys)

    assert (store.head_reads, store.shard_reads, store.key_reads) == (1, len(shards), 0)


def test_a_busy_instance_polls_the_head_once_per_refresh_and_rereads_only_changed_shards() -> None:
    keys = [generate_api_key() for _ in range(50)]
    store, clock = store_with(*keys), FakeClock()
    instance = Instance(store, clock)
    instance.status(keys[0])
    loaded = store.reads

    for _ in range(10):  # nothing changed: one head read per refresh period
        clock.now += REFRESH + 0.1
        instance.status(keys[1])
    unchanged = store.reads - loaded
    store.change(key_id_for(keys[2], PEPPER), status="revoked")
    clock.now += REFRESH + 0.1
    instance.status(keys[1])

    assert unchanged == 10
    assert store.reads - loaded - unchanged == 2  # the head, and the one shard that changed
    assert instance.status(keys[2]) == 401
    assert instance.status(keys[1]) == 200


def test_revoke_disable_and_expiry_reach_an_instance_within_twice_the_refresh() -> None:
    revoked, disabled, expiring = (generate_api_key() for _ in range(3))
    store, clock = store_with(revoked, disabled, expiring), FakeClock()
    instance = Instance(store, clock)
    assert {instance.status(k) for k in (revoked, disabled, expiring)} == {200}

    store.change(key_id_for(revoked, PEPPER), status="revoked")
    store.change(key_id_for(disabled, PEPPER), status="disabled")
    store.change(key_id_for(expiring, PEPPER), expires_at=NOW)
    clock.now += 2 * REFRESH  # even with no request in between (an idle instance)

    assert [instance.status(k) for k in (revoked, disabled, expiring)] == [401, 401, 401]


def test_an_idle_instance_waits_for_the_refresh_a_busy_one_does_not() -> None:
    key = generate_api_key()
    store, clock = store_with(key), FakeClock()
    started: list[Callable[[], None]] = []
    instance = Instance(store, clock, runner=started.append, wait=5)  # refreshes run when we say
    loader = threading.Thread(target=instance.status, args=(key,))
    loader.start()
    _wait_until(lambda: len(started) == 1)
    started.pop()()  # the first load
    loader.join(1)
    assert instance.status(key) == 200

    clock.now += REFRESH + 0.1  # busy: past refresh, within max_age
    assert instance.status(key) == 200 and len(started) == 1  # answered; refresh started
    started.pop()()
    clock.now += 2 * REFRESH + 0.1  # idle: no refresh finished within max_age
    waiter = threading.Thread(target=instance.status, args=(key,))
    waiter.start()
    waiter.join(0.2)

    assert waiter.is_alive()  # waiting for the refresh it started
    started.pop()()
    waiter.join(1)
    assert not waiter.is_alive()


def test_known_keys_do_not_wait_while_firestore_is_frozen_unknown_keys_get_503() -> None:
    """No timing: every read is held until the test times it out, and a request may wait an
    hour for a refresh, so a known-key request that waited on the hung read could not be
    answered while that read is still held (the store counts the held reads)."""
    known, minted_later = generate_api_key(), generate_api_key()
    store, clock = store_with(known), FakeClock()
    instance = Instance(store, clock, runner=_in_thread, wait=3600, max_stale=1e9)
    assert instance.status(known) == 200
    store.put(record_for(minted_later))
    loaded = store.attempts
    store.hold(deadline=3600)
    try:
        clock.now += REFRESH + 0.1
        assert instance.status(known) == 200  # starts the refresh, answered without it
        _wait_until(lambda: store.held == 1)  # the refresh's read hangs
        answers, held_while_answering = [], set()
        for _ in range(60):  # a request every REFRESH/4 for 15 x REFRESH, far past max_age
            clock.now += REFRESH / 4
            answers.append(instance.status(known))
            held_while_answering.add(store.held)
        attempts_while_hung = store.attempts - loaded

        outcome: list[int] = []
        unknown = threading.Thread(target=lambda: outcome.append(instance.status(minted_later)))
        unknown.start()
        _wait_until(lambda: store.held == 2)  # the unknown key's own read hangs too
        store.time_out_held()  # both reads reach their deadline
        unknown.join(5)
        _wait_until(lambda: store.held == 0)

        def a_later_request_tries_again() -> bool:  # once the failed refresh has finished
            clock.now += REFRESH + 0.1
            return instance.status(known) == 200 and store.held == 1

        _wait_until(a_later_request_tries_again)
        retried = store.attempts - loaded
    finally:
        store.release()

    assert set(answers) == {200} and len(answers) == 60
    assert held_while_answering == {1}  # every answer came while the refresh's read hung
    assert attempts_while_hung == 1  # one refresh at a time: the hung one is not duplicated
    assert outcome == [503]  # an unknown key cannot be judged without its read: never 401
    assert retried == 3  # the hung refresh, the unknown key's read, and the next refresh


def test_known_keys_stop_working_once_the_index_is_older_than_its_stale_limit() -> None:
    key = generate_api_key()
    store, clock = store_with(key), FakeClock()
    instance = Instance(store, clock, max_stale=60)
    instance.status(key)
    store.down = True

    clock.now += 30
    during = instance.status(key)
    clock.now += 31
    after = instance.status(key)
    store.down = False
    clock.now += REFRESH + 0.1
    recovered = instance.status(key)

    assert (during, after, recovered) == (200, 503, 200)


def test_a_refresh_lost_with_its_instance_cpu_is_given_up_and_replaced() -> None:
    key = generate_api_key()
    store, clock = store_with(key), FakeClock()
    started: list[Callable[[], None]] = []
    instance = Instance(store, clock, runner=started.append, wait=0.5)  # refresh deadline 1.5 s
    loader = threading.Thread(target=instance.status, args=(key,))
    loader.start()
    _wait_until(lambda: len(started) == 1)
    started.pop()()  # the load
    loader.join(1)
    clock.now += REFRESH + 0.1
    instance.status(key)
    assert len(started) == 1  # a refresh started, and never runs

    clock.now += 1.0
    instance.status(key)
    assert len(started) == 1  # still in flight: not duplicated
    clock.now += 1.0
    instance.status(key)

    assert len(started) == 2


# --- keys the index does not hold -----------------------------------------------------------


def test_a_key_minted_since_the_last_refresh_is_read_once_then_comes_from_the_index() -> None:
    old, new = generate_api_key(), generate_api_key()
    store, clock = store_with(old), FakeClock()
    instance = Instance(store, clock)
    instance.status(old)
    store.put(record_for(new))

    first = [instance.status(new) for _ in range(5)]
    direct_reads = store.key_reads
    clock.now += REFRESH + 0.1
    later = [instance.status(new) for _ in range(5)]

    assert first == later == [200] * 5
    assert direct_reads == 1
    assert store.key_reads == 1  # the refresh brought it into the index


def test_an_unknown_key_is_remembered_until_the_index_moves_on() -> None:
    known, unknown = generate_api_key(), generate_api_key()
    store, clock = store_with(known), FakeClock()
    instance = Instance(store, clock)
    instance.status(known)

    refused = [instance.status(unknown) for _ in range(5)]
    reads_while_unchanged = store.key_reads
    store.put(record_for(generate_api_key()))  # some other key: a new index version
    clock.now += REFRESH + 0.1
    instance.status(unknown)

    assert refused == [401] * 5
    assert reads_while_unchanged == 1
    assert store.key_reads == 2


def test_a_key_missing_from_the_index_is_read_again_after_max_age() -> None:
    """An index that lags its documents (a lost index, or an older tool) still converges."""
    key = generate_api_key()
    store, clock = CountingKeyStore(), FakeClock()
    store.put_document_only(record_for(key))
    instance = Instance(store, clock)

    assert instance.status(key) == 200
    store.put_document_only(record_for(key, status="revoked"))
    clock.now += 2 * REFRESH + 0.1

    assert instance.status(key) == 401
    assert store.key_reads == 2


def test_concurrent_requests_for_one_unknown_key_share_one_read() -> None:
    known, new = generate_api_key(), generate_api_key()
    store, clock = store_with(known), FakeClock()
    instance = Instance(store, clock, wait=5)
    instance.status(known)
    store.put(record_for(new))
    store.hold()
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(instance.status(new))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    store.release()
    for thread in threads:
        thread.join(5)

    assert results == [200] * 8
    assert store.key_reads == 1


def test_concurrent_requests_share_one_refresh() -> None:
    key = generate_api_key()
    store, clock = store_with(key), FakeClock()
    instance = Instance(store, clock, runner=_in_thread, wait=5)
    instance.status(key)
    store.hold()
    clock.now += REFRESH + 0.1
    for _ in range(50):
        assert instance.status(key) == 200
    store.release()
    time.sleep(0.2)

    assert store.head_reads == 2


def test_expiry_is_checked_on_every_request() -> None:
    key = generate_api_key()
    store = store_with()
    store.put(record_for(key, expires_at=NOW + dt.timedelta(seconds=10)))
    wall = [NOW.timestamp()]
    instance = Instance(store, FakeClock(), wall_clock=lambda: wall[0])

    before = instance.status(key)
    wall[0] += 10

    assert (before, instance.status(key)) == (200, 401)


def test_malformed_keys_cost_no_read_at_all() -> None:
    store, clock = store_with(generate_api_key()), FakeClock()
    instance = Instance(store, clock)
    candidates = ["", "inf_", "inf_" + "A" * 38, "x" * 42, generate_api_key()[:-1] + "?"]

    for candidate in [*candidates, with_bad_checksum(generate_api_key())]:
        assert instance.status(candidate) == 401

    assert store.reads == 0  # not even the index load


def test_a_key_one_character_off_a_known_key_is_checked_on_its_own() -> None:
    key = generate_api_key()
    store, clock = store_with(key), FakeClock()
    instance = Instance(store, clock)
    instance.status(key)

    assert instance.status(with_bad_checksum(key)) == 401
    assert instance.status(key + " ") == 401


def test_memory_for_unknown_keys_is_bounded() -> None:
    store, clock = store_with(generate_api_key()), FakeClock()
    instance = Instance(store, clock, entries=50)
    flood = [generate_api_key() for _ in range(500)]
    for key in flood:
        instance.status(key)
    reads = store.key_reads

    instance.status(flood[-1])  # still remembered
    remembered = store.key_reads - reads
    instance.status(flood[0])  # evicted long ago: read again

    assert reads == 500
    assert remembered == 0
    assert store.key_reads - reads == 1


def _in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, daemon=True).start()


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.005)


# --- pepper rotation ------------------------------------------------------------------------

OLD_PEPPER = b"o" * 32


def test_keys_minted_under_the_previous_pepper_keep_working_during_a_rotation() -> None:
    old_key, new_key = generate_api_key(), generate_api_key()
    store = CountingKeyStore()
    store.put(replace(record_for(old_key), key_id=key_id_for(old_key, OLD_PEPPER)))
    store.put(record_for(new_key))  # under PEPPER, the current one
    rotating = Instance(store, FakeClock(), peppers=(PEPPER, OLD_PEPPER))
    retired = Instance(store, FakeClock(), peppers=(PEPPER,))

    assert [rotating.status(old_key), rotating.status(new_key)] == [200, 200]
    assert [retired.status(old_key), retired.status(new_key)] == [401, 200]
    assert store.key_reads == 1  # only the retired instance's miss was read (current-pepper id)


def test_an_unknown_key_costs_one_read_whatever_the_number_of_peppers() -> None:
    store, clock = store_with(generate_api_key()), FakeClock()
    instance = Instance(store, clock, peppers=(PEPPER, OLD_PEPPER))

    assert instance.status(generate_api_key()) == 401
    assert store.key_reads == 1


# --- floods: the lookup budget and the per-address throttle ---------------------------------


def test_unknown_keys_beyond_the_budget_get_503_without_a_read_known_keys_are_unaffected() -> None:
    known = generate_api_key()
    store, clock = store_with(known), FakeClock()
    budget = LookupBudget(per_second=5, burst=10, clock=clock)
    instance = Instance(store, clock, budget=budget)
    instance.status(known)

    flood = [instance.status(generate_api_key()) for _ in range(100)]
    clock.now += 2.0  # 10 more lookups earned
    later = [instance.status(generate_api_key()) for _ in range(100)]

    assert flood.count(401) == 10 and flood.count(503) == 90
    assert later.count(401) == 10 and later.count(503) == 90
    assert store.key_reads == 20
    assert instance.status(known) == 200


def test_the_over_budget_answer_says_when_to_retry() -> None:
    store, clock = store_with(), FakeClock()
    instance = Instance(store, clock, budget=LookupBudget(per_second=1, burst=1, clock=clock))
    instance.status(generate_api_key())

    with pytest.raises(ServiceUnavailable) as refused:
        instance.verifier.verify(generate_api_key())

    assert refused.value.headers["Retry-After"] == str(int(REFRESH))  # the index has it by then


def test_a_throttled_caller_is_refused_only_where_a_read_would_be_spent() -> None:
    known, revoked, minted_later = generate_api_key(), generate_api_key(), generate_api_key()
    store, clock = store_with(known, revoked), FakeClock()
    store.change(key_id_for(revoked, PEPPER), status="revoked")
    instance = Instance(store, clock)
    instance.status(known)
    store.put(record_for(minted_later))

    def throttled() -> None:
        raise TooManyRequests(headers={"Retry-After": "60"})

    answers = [instance.status(key, throttled) for key in (known, revoked, generate_api_key())]

    assert answers == [200, 401, 429]
    assert store.key_reads == 0
    assert instance.status(minted_later) == 200  # another caller: read


# --- the index's versions -------------------------------------------------------------------


def test_a_shard_is_reread_when_its_version_differs_whatever_its_value() -> None:
    key = generate_api_key()
    store, clock = store_with(key), FakeClock()
    instance = Instance(store, clock)
    instance.status(key)
    shard = key_id_for(key, PEPPER)[:2]
    store.change(key_id_for(key, PEPPER), status="revoked")
    # Versions are random: "smaller" than the one held must not matter.
    stored = store.shards[shard]
    store.shards[shard] = replace(stored, version="0")
    store.head = replace(store.head, shard_versions={**store.head.shard_versions, shard: "0"})
    clock.now += REFRESH + 0.1

    assert instance.status(key) == 401
    assert instance.index.shard_versions[shard] == "0"


def test_a_change_is_picked_up_once_the_head_lists_it() -> None:
    key = generate_api_key()
    store, clock = store_with(key), FakeClock()
    instance = Instance(store, clock)
    instance.status(key)
    shard = key_id_for(key, PEPPER)[:2]
    stale_head = store.head
    store.change(key_id_for(key, PEPPER), status="revoked")
    store.head = stale_head  # as if the head was read just before the commit
    clock.now += REFRESH + 0.1
    instance.status(key)

    assert instance.index.shard_versions[shard] == stale_head.shard_versions[shard]
    # The head as the commit wrote it: the shard's new version and its active count (0).
    store.head = replace(
        store.head, shard_versions={shard: store.shards[shard].version}, active_counts={shard: 0}
    )
    clock.now += REFRESH + 0.1
    assert instance.status(key) == 401
