"""The key index guard: which reads replace an instance's index, on the in-memory key store."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from models_api.errors import BackendUnavailable
from models_api.keys.documents import INDEX_LAYOUT, IndexHead, encode_entries
from models_api.keys.guard import refusal_reason
from models_api.keys.key_format import generate_api_key, key_id_for
from tests.unit.test_api_keys import PEPPER, REFRESH, FakeClock, Instance, store_with


@pytest.mark.parametrize(
    ("read", "held", "recorded", "refused"),
    [
        (0, 10, None, "the read holds no active keys"),
        (0, None, None, None),  # a new instance of a deployment without keys
        (0, 0, None, None),  # nothing active to lose
        (0, 10, 0, None),  # key_admin revoked every key: recorded, so taken
        (7, 10, None, "the read holds 7 active keys, 10 are held: a loss of more than 25%"),
        (8, 10, None, None),
        (3, 10, 3, None),  # a recorded large revocation
        (3, 10, 9, "the read holds 3 active keys, 10 are held, key_admin recorded 9"),
        (3, None, 10, "the read holds 3 active keys, 10 are recorded by key_admin"),
        (30, 10, None, None),
    ],
)
def test_refusal_reason(read: int, held: int | None, recorded: int | None, refused: str) -> None:
    reason = refusal_reason(read, held, recorded, 0.25)

    if refused is None:
        assert reason is None
    else:
        assert reason is not None and reason.startswith(refused)


def test_an_empty_read_keeps_the_index_and_logs_an_error(caplog: pytest.LogCaptureFixture) -> None:
    keys = [generate_api_key() for _ in range(3)]
    store, clock = store_with(*keys), FakeClock()
    instance = Instance(store, clock)
    assert [instance.status(key) for key in keys] == [200, 200, 200]
    generation = instance.index.generation

    # What a wrong database or a restarted emulator reads: no head, no shards, no keys.
    store.head, store.shards, store.records = IndexHead(INDEX_LAYOUT, {}), {}, {}
    clock.now += REFRESH + 0.1
    with caplog.at_level(logging.ERROR, logger="models_api.keys.index"):
        statuses = [instance.status(key) for key in keys]

    assert statuses == [200, 200, 200]
    assert instance.index.generation == generation
    assert [record.getMessage() for record in caplog.records] == [
        "api key index refused: the read holds no active keys; keeping the index read 4 s ago "
        "(3 active keys)"
    ]


def test_a_refused_index_is_served_only_until_its_stale_limit() -> None:
    key = generate_api_key()
    store, clock = store_with(key), FakeClock()
    instance = Instance(store, clock, max_stale=60)
    assert instance.status(key) == 200

    store.head, store.shards = IndexHead(INDEX_LAYOUT, {}), {}
    clock.now += 30
    within = instance.status(key)
    clock.now += 31
    beyond = instance.status(key)

    assert (within, beyond) == (200, 503)


def test_key_admins_recorded_revocations_are_taken_and_an_unrecorded_loss_is_not() -> None:
    keys = [generate_api_key() for _ in range(8)]
    store, clock = store_with(*keys), FakeClock()
    instance = Instance(store, clock)
    assert all(instance.status(key) == 200 for key in keys)

    for key in keys[:6]:
        store.change(key_id_for(key, PEPPER), status="revoked")
    clock.now += REFRESH + 0.1
    after_revocation = [instance.status(key) for key in (keys[0], keys[7])]

    shard = key_id_for(keys[6], PEPPER)[:2]
    lost = replace(store.shards[shard], version="a-bad-copy", entries=encode_entries({}))
    store.shards[shard] = lost
    store.head = replace(store.head, shard_versions={**store.head.shard_versions, shard: "x"})
    clock.now += REFRESH + 0.1

    assert after_revocation == [401, 200]
    assert instance.status(keys[6]) == 200  # the read that lost it was refused


def test_a_new_instance_refuses_a_read_far_below_the_record() -> None:
    keys = [generate_api_key() for _ in range(4)]
    store, clock = store_with(*keys), FakeClock()
    shard = key_id_for(keys[0], PEPPER)[:2]
    store.head = replace(store.head, active_counts={**store.head.active_counts, shard: 40})

    instance = Instance(store, clock, wait=0.01)

    with pytest.raises(BackendUnavailable, match="not loaded"):
        instance.index.keep_current()
