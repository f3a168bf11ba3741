"""An in-memory stand-in for the key collections in Firestore that counts every document read.

It keeps the same three structures as Firestore (key documents, index shards, index head) and
changes them by the same rules as the key admin CLI, so the real verification code can be run
against it by unit tests and by the bench's many-instance simulation. `hold(deadline)` makes
every read block until `release()` or, like a call with a deadline to a frozen Firestore, fail
after `deadline` seconds; `time_out_held()` makes the reads held now fail at once, as their
deadline would, and holds later ones; `held` counts the reads blocked right now. `down` makes
reads fail at once.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from models_api.errors import BackendUnavailable
from models_api.keys.documents import (
    INDEX_LAYOUT,
    IndexHead,
    KeyRecord,
    StoredShard,
    count_active,
    decode_entries,
    encode_entries,
    new_shard_version,
)


class _Gate(threading.Event):
    """Open: reads pass. Closed: reads wait. Set with timed_out: the reads it held fail."""

    def __init__(self) -> None:
        super().__init__()
        self.timed_out = False


class CountingKeyStore:
    def __init__(self) -> None:
        self.records: dict[str, KeyRecord] = {}
        self.shards: dict[str, StoredShard] = {}
        self.head = IndexHead(INDEX_LAYOUT, {})
        self.reads = 0
        self.head_reads = 0
        self.shard_reads = 0
        self.key_reads = 0
        self.attempts = 0  # read calls, including those that failed
        self.held = 0  # reads blocked by hold() right now
        self.down = False
        self._gate = _Gate()
        self._gate.set()
        self._deadline = 30.0
        self._lock = threading.Lock()

    # --- writes, as the key admin CLI makes them (one commit each) --------------------------

    def put(self, record: KeyRecord) -> None:
        """Key document + its shard (new version) + the head's entry for it, together."""
        with self._lock:
            self.records[record.key_id] = record
            self._index(record)

    def put_many(self, records: list[KeyRecord]) -> None:
        """Many keys at once, one new version per shard (what rebuild-index writes)."""
        with self._lock:
            by_shard: dict[str, list[KeyRecord]] = {}
            for record in records:
                self.records[record.key_id] = record
                by_shard.setdefault(record.shard, []).append(record)
            for shard, members in by_shard.items():
                entries = decode_entries(self._entries(shard))
                for record in members:
                    entries[record.id_prefix] = record.index_entry()
                self._write_shard(shard, encode_entries(entries))

    def change(self, key_id: str, **changes: object) -> None:
        with self._lock:
            record = replace(self.records[key_id], **changes)  # type: ignore[arg-type]
            self.records[key_id] = record
            self._index(record)

    def put_document_only(self, record: KeyRecord) -> None:
        """A key document written without the index (an older tool, or a lost index)."""
        with self._lock:
            self.records[record.key_id] = record

    def _index(self, record: KeyRecord) -> None:
        entries = decode_entries(self._entries(record.shard))
        entries[record.id_prefix] = record.index_entry()
        self._write_shard(record.shard, encode_entries(entries))

    def _entries(self, shard: str) -> bytes:
        stored = self.shards.get(shard)
        return stored.entries if stored is not None else b""

    def _write_shard(self, shard: str, entries: bytes) -> None:
        """The shard at a new version, and the head's entry for it (one commit in Firestore)."""
        previous = self.shards.get(shard)
        version = new_shard_version()
        self.shards[shard] = StoredShard(version, (previous.seq if previous else 0) + 1, entries)
        self.head = IndexHead(
            INDEX_LAYOUT,
            {**self.head.shard_versions, shard: version},
            {**self.head.active_counts, shard: count_active(entries)},
        )

    # --- freezing ----------------------------------------------------------------------------

    def hold(self, deadline: float = 30.0) -> None:
        self._deadline = deadline
        if self._gate.is_set():
            self._gate = _Gate()

    def release(self) -> None:
        self._gate.set()

    def time_out_held(self) -> None:
        """The reads held now fail as at their deadline; later reads are held again."""
        gate, self._gate = self._gate, _Gate()
        gate.timed_out = True
        gate.set()

    # --- reads (KeyIndexSource) --------------------------------------------------------------

    def _read(self, kind: str, documents: int) -> None:
        with self._lock:
            self.attempts += 1
            gate = self._gate
            blocked = not gate.is_set()
            self.held += blocked
        try:
            opened = gate.wait(timeout=self._deadline)
        finally:
            with self._lock:
                self.held -= blocked
        if not opened or gate.timed_out:
            raise BackendUnavailable("deadline exceeded")
        if self.down:
            raise BackendUnavailable("store down")
        with self._lock:
            self.reads += documents
            setattr(self, kind, getattr(self, kind) + documents)

    def read_head(self) -> IndexHead:
        self._read("head_reads", 1)
        return self.head

    def read_shards(self, shards: list[str]) -> dict[str, StoredShard]:
        if not shards:
            return {}
        self._read("shard_reads", len(shards))
        missing = StoredShard.from_document(None)
        return {shard: self.shards.get(shard, missing) for shard in shards}

    def find_key(self, key_id: str) -> KeyRecord | None:
        self._read("key_reads", 1)
        return self.records.get(key_id)
