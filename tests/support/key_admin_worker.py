"""One operator process for the concurrency test: `python -m tests.support.key_admin_worker`.

Arguments: a JSON object {"pool": [key ids shared by every worker], "hot_shards": [...],
"rounds": n, "seed": s}. Each round it mints a key whose id falls in one of the hot shards, then
applies revoke / disable / enable / expire to a random key of the shared pool or of its own, so
several processes keep changing keys of the same few shards at once. Prints one JSON object:
the keys it minted, the key ids it revoked, and how many commits lost their shard claim.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
from datetime import datetime, timezone

from google.cloud import firestore

from key_admin.operations import (
    KeyAdminError,
    create_key,
    set_key_expiry,
    set_key_status,
)
from models_api.keys.key_format import generate_api_key, key_id_for

COLLECTION = "api_keys"


class _LostClaims(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "claimed by another writer" in record.getMessage():
            self.count += 1


def main() -> int:
    plan = json.loads(sys.argv[1])
    pepper = os.environ["API_KEY_PEPPER"].encode()
    rng = random.Random(plan["seed"])  # noqa: S311 - test traffic
    hot = set(plan["hot_shards"])
    lost = _LostClaims()
    operations_log = logging.getLogger("key_admin.operations")
    operations_log.addHandler(lost)
    operations_log.setLevel(logging.DEBUG)
    client = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])

    def hot_key() -> str:
        while True:
            key = generate_api_key()
            if key_id_for(key, pepper)[:2] in hot:
                return key

    minted: list[str] = []
    revoked: list[str] = []
    pool: list[str] = list(plan["pool"])
    for _ in range(plan["rounds"]):
        created = create_key(
            client, COLLECTION, pepper, "worker", "", None, pepper_version=1, new_api_key=hot_key
        )
        minted.append(created.api_key)
        pool.append(created.record.key_id)
        key_id = rng.choice(pool)
        action = rng.choice(["revoke", "disable", "enable", "expire"])
        try:
            if action == "expire":
                set_key_expiry(client, COLLECTION, key_id, datetime.now(timezone.utc))
            else:
                set_key_status(client, COLLECTION, key_id, action)
        except KeyAdminError as refused:
            if "revocation is final" not in str(refused):
                raise
            continue
        if action == "revoke":
            revoked.append(key_id)
    print(json.dumps({"minted": minted, "revoked": revoked, "lost_claims": lost.count}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
