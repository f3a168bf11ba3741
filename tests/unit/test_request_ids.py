from __future__ import annotations

import os
import random

from models_api.http.request_context import new_request_id, request_id_for


def test_ids_stay_unique_when_other_code_seeds_the_global_random() -> None:
    ids = set()
    for _ in range(3):
        random.seed(0)  # hypothesis, and some libraries, do this
        ids.add(new_request_id())

    assert len(ids) == 3
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_a_forked_worker_does_not_repeat_its_parents_ids() -> None:
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write_end, new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    parent_id = new_request_id()
    os.waitpid(child, 0)
    with os.fdopen(read_end, "rb") as from_child:
        child_id = from_child.read().decode()

    assert len(child_id) == 32 and child_id != parent_id


def test_a_sane_caller_id_is_kept_and_anything_else_replaced() -> None:
    assert request_id_for({"HTTP_X_REQUEST_ID": "abc-123"}) == "abc-123"
    assert request_id_for({"HTTP_X_REQUEST_ID": "a b"}) != "a b"
    assert len(request_id_for({"HTTP_X_REQUEST_ID": "x" * 129})) == 32
