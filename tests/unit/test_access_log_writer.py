from __future__ import annotations

import os
import socket
import threading
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


def request(writer: AccessLogWriter, line: str) -> None:
    writer.request_started()
    writer(line)
    writer.request_ended()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_on_an_idle_instance_a_line_is_written_before_its_request_ends(records: Records) -> None:
    writer = AccessLogWriter(records.sender.fileno())

    request(writer, "one")
    assert records.take() == [b"one\n"]
    request(writer, "two")
    assert records.take() == [b"two\n"]


def test_lines_wait_while_others_are_open_and_the_last_to_end_writes_them(
    records: Records,
) -> None:
    writer = AccessLogWriter(records.sender.fileno())
    writer.request_started()  # a slow request
    writer.request_started()  # another one
    request(writer, "a")
    writer("slow")
    writer("other")
    writer.request_ended()

    assert records.take() == []
    writer.request_ended()  # the last open request's response is sent
    assert records.take() == [b"a\nslow\nother\n"]


def test_under_steady_load_lines_wait_at_most_max_wait(records: Records) -> None:
    clock = FakeClock()
    writer = AccessLogWriter(records.sender.fileno(), max_wait_seconds=0.05, clock=clock)
    writer.request_started()  # there is always another request open
    request(writer, "a")
    clock.now += 0.03
    request(writer, "b")
    assert records.take() == []
    clock.now += 0.03  # "a" has waited 60 ms: the next request to log writes everything
    request(writer, "c")

    assert records.take() == [b"a\nb\nc\n"]


def test_writes_are_whole_lines_within_bounds_and_a_long_line_goes_alone(
    records: Records,
) -> None:
    writer = AccessLogWriter(records.sender.fileno(), max_write_bytes=64)
    writer.request_started()  # keeps the others waiting
    for number in range(30):
        request(writer, f"line {number:02d}")
    request(writer, "L" * 100)
    writer("last")
    writer.request_ended()

    received = records.take()
    assert all(r.endswith(b"\n") for r in received)
    assert [r for r in received if len(r) > 64] == [b"L" * 100 + b"\n"]
    expected = [f"line {n:02d}".encode() for n in range(30)] + [b"L" * 100, b"last"]
    assert b"".join(received).splitlines() == expected


def test_concurrent_requests_lose_nothing_and_keep_each_threads_order(records: Records) -> None:
    writer = AccessLogWriter(records.sender.fileno(), max_write_bytes=256)
    received: list[bytes] = []
    done = threading.Event()

    def drain() -> None:
        while not done.is_set():
            received.extend(records.take())
        received.extend(records.take())

    reader = threading.Thread(target=drain)
    reader.start()

    def produce(thread: int) -> None:
        for number in range(400):
            request(writer, f"t{thread} n{number} " + "x" * (number % 40))

    producers = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join()
    done.set()
    reader.join()

    assert all(r.endswith(b"\n") and len(r) <= 256 for r in received)
    lines = b"".join(received).decode().splitlines()
    assert len(lines) == 8 * 400
    for thread in range(8):
        mine = [int(line.split()[1][1:]) for line in lines if line.startswith(f"t{thread} ")]
        assert mine == list(range(400))


def test_flush_at_exit_writes_the_lines_of_requests_still_running(records: Records) -> None:
    writer = AccessLogWriter(records.sender.fileno())
    writer.request_started()
    request(writer, "finished")

    writer.flush()

    assert records.take() == [b"finished\n"]


def test_a_forked_worker_starts_empty_and_writes_only_its_own_lines() -> None:
    read_end, write_end = os.pipe()
    writer = AccessLogWriter(write_end)
    writer.request_started()
    request(writer, "parent waiting")

    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        request(writer, "child")
        os._exit(0)
    os.waitpid(child, 0)
    writer("parent done")
    writer.request_ended()
    os.close(write_end)
    with os.fdopen(read_end, "rb") as output:
        assert output.read() == b"child\nparent waiting\nparent done\n"


def test_a_vanished_reader_does_not_break_a_request() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # writes now fail with EPIPE
    writer = AccessLogWriter(write_end)

    request(writer, "lost")  # raises nothing
    request(writer, "lost too")

    assert writer._waiting == [] and writer._open == 0  # noqa: SLF001 - nothing piles up
    os.close(write_end)
