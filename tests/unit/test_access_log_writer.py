from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from models_api.structured_log import AccessLogWriter


class Records:
    """The receiving end of a SOCK_SEQPACKET pair: one record per write, boundaries kept."""

    def __init__(self) -> None:
        self.sender, self._receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._receiver.setblocking(False)

    def take(self) -> list[bytes]:
        records = []
        while True:
            try:
                records.append(self._receiver.recv(1 << 20))
            except BlockingIOError:
                return records

    def close(self) -> None:
        self.sender.close()
        self._receiver.close()


@pytest.fixture
def records() -> Iterator[Records]:
    pair = Records()
    yield pair
    pair.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def writer_for(records: Records, clock: FakeClock, **limits: float) -> AccessLogWriter:
    return AccessLogWriter(
        records.sender.fileno(),
        max_write_bytes=int(limits.get("max_write_bytes", 4096)),
        max_wait_seconds=limits.get("max_wait", 0.05),
        busy_gap_seconds=limits.get("busy_gap", 0.01),
        max_waiting_bytes=int(limits.get("max_waiting_bytes", 65536)),
        clock=clock,
    )


def test_a_line_after_a_quiet_spell_is_written_at_once(records: Records) -> None:
    clock = FakeClock()
    writer = writer_for(records, clock)

    writer("one")
    assert records.take() == [b"one\n"]
    clock.now += 0.5
    writer("two")
    assert records.take() == [b"two\n"]


def test_if_the_background_thread_falls_behind_a_request_writes_the_batch(
    records: Records,
) -> None:
    clock = FakeClock()
    # Every gap counts as busy; the real background thread would only act after 10 s.
    writer = writer_for(records, clock, busy_gap=3600, max_wait=10.0, max_waiting_bytes=20)
    writer("first")  # nothing came before: at once
    for name in ("a", "b", "c"):
        clock.now += 12.0
        writer(name)
    assert records.take() == [b"first\n"]  # "a" has waited 24 s, under 4 x 10 s

    clock.now += 12.0
    writer("d")  # "a" has now waited 36 s... still under 40 s
    assert records.take() == []
    clock.now += 12.0
    writer("e")  # 48 s: this request writes everything, in one write
    assert records.take() == [b"a\nb\nc\nd\ne\n"]

    names = "fghijklmnop"  # 2 bytes each: the eleventh brings the wait past 20 bytes
    for name in names[:-1]:
        writer(name)
    assert records.take() == []
    writer(names[-1])
    assert records.take() == ["".join(f"{n}\n" for n in names).encode()]


def test_writes_are_whole_lines_within_the_bound_and_a_long_line_goes_alone(
    records: Records,
) -> None:
    clock = FakeClock()
    writer = writer_for(records, clock, max_write_bytes=64, max_wait=3600)
    for number in range(30):
        clock.now += 0.001
        writer(f"line {number:02d}")
    clock.now += 0.001
    writer("L" * 100)
    writer.flush()

    received = records.take()
    assert all(r.endswith(b"\n") for r in received)
    assert [r for r in received if len(r) > 64] == [b"L" * 100 + b"\n"]
    expected = [f"line {n:02d}".encode() for n in range(30)] + [b"L" * 100]
    assert b"".join(received).splitlines() == expected


def test_the_background_thread_writes_what_waits_when_requests_stop(records: Records) -> None:
    writer = AccessLogWriter(records.sender.fileno(), max_wait_seconds=0.05)
    writer("quiet")  # at once
    writer("busy")  # within 10 ms of the previous line: waits

    assert records.take() == [b"quiet\n"]
    deadline = time.monotonic() + 5
    received: list[bytes] = []
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
        received = records.take()
    assert received == [b"busy\n"]


def test_concurrent_lines_are_all_written_once_whole_and_in_each_threads_order(
    records: Records,
) -> None:
    writer = AccessLogWriter(records.sender.fileno(), max_write_bytes=256)
    received: list[bytes] = []
    done = threading.Event()

    def drain() -> None:
        while not done.is_set():
            received.extend(records.take())
            time.sleep(0.001)

    reader = threading.Thread(target=drain)
    reader.start()

    def produce(thread: int) -> None:
        for number in range(400):
            writer(f"t{thread} n{number} " + "x" * (number % 40))

    producers = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join()
    writer.flush()
    time.sleep(0.1)
    done.set()
    reader.join()
    received.extend(records.take())

    assert all(r.endswith(b"\n") and len(r) <= 256 for r in received)
    assert len(received) < 8 * 400  # lines were batched
    lines = b"".join(received).decode().splitlines()
    assert len(lines) == 8 * 400
    for thread in range(8):
        mine = [int(line.split()[1][1:]) for line in lines if line.startswith(f"t{thread} ")]
        assert mine == list(range(400))


def test_a_forked_worker_starts_empty_and_writes_only_its_own_lines() -> None:
    read_end, write_end = os.pipe()
    clock = FakeClock()
    writer = AccessLogWriter(write_end, max_wait_seconds=3600, clock=clock)
    writer("parent at once")
    writer("parent waiting")  # same instant: busy

    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        writer("child")  # a fresh writer state: a quiet spell, written at once
        os._exit(0)
    os.waitpid(child, 0)
    writer.flush()
    os.close(write_end)
    with os.fdopen(read_end, "rb") as output:
        assert output.read() == b"parent at once\nchild\nparent waiting\n"


def test_a_vanished_reader_does_not_break_a_request() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # writes now fail with EPIPE
    clock = FakeClock()
    writer = AccessLogWriter(write_end, clock=clock)

    writer("lost")  # raises nothing
    clock.now += 1
    writer("lost too")

    assert writer._waiting == []  # noqa: SLF001 - nothing piles up in memory
    os.close(write_end)
