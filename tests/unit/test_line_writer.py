from __future__ import annotations

import os
import socket
import threading

from models_api.structured_log import BackgroundLineWriter


class Records:
    """The receiving end of a SOCK_SEQPACKET pair: one record per write, boundaries kept."""

    def __init__(self) -> None:
        self.sender, self._receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.records: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while record := self._receiver.recv(1 << 20):
            self.records.append(record)

    def finish(self) -> list[bytes]:
        self.sender.close()
        self._reader.join(10)
        self._receiver.close()
        return self.records


def test_concurrent_lines_arrive_whole_in_order_and_in_bounded_writes() -> None:
    records = Records()
    writer = BackgroundLineWriter(records.sender.fileno(), max_write_bytes=256)

    def produce(thread: int) -> None:
        for number in range(400):
            writer(f"t{thread} n{number} " + "x" * (number % 40))

    producers = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join()
    writer.close()
    received = records.finish()

    assert all(r.endswith(b"\n") and len(r) <= 256 for r in received)
    assert len(received) < 8 * 400  # lines were batched
    lines = b"".join(received).decode().splitlines()
    assert len(lines) == 8 * 400
    for thread in range(8):
        mine = [int(line.split()[1][1:]) for line in lines if line.startswith(f"t{thread} ")]
        assert mine == list(range(400))


def test_a_line_longer_than_one_write_goes_alone_and_whole() -> None:
    records = Records()
    writer = BackgroundLineWriter(records.sender.fileno(), max_write_bytes=64)

    writer("short")
    writer("L" * 1000)
    writer("after")
    writer.close()

    assert b"".join(records.finish()).split(b"\n")[:-1] == [b"short", b"L" * 1000, b"after"]


def test_close_writes_what_is_queued_and_a_later_line_starts_a_new_writer() -> None:
    read_end, write_end = os.pipe()
    writer = BackgroundLineWriter(write_end)

    writer("one")
    writer.close()
    first = os.read(read_end, 1000)
    writer("two")
    writer.close()
    second = os.read(read_end, 1000)

    assert (first, second) == (b"one\n", b"two\n")
    os.close(read_end)
    os.close(write_end)


def test_a_forked_child_writes_its_own_lines() -> None:
    read_end, write_end = os.pipe()
    writer = BackgroundLineWriter(write_end)
    writer("parent")
    writer.close()

    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        writer("child")
        writer.close()
        os._exit(0)
    _, status = os.waitpid(child, 0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as output:
        assert output.read() == b"parent\nchild\n"
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_vanished_reader_does_not_break_logging() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # writes now fail with EPIPE
    writer = BackgroundLineWriter(write_end)

    writer("lost")
    thread = writer._thread  # noqa: SLF001
    writer.close(timeout=5)
    writer("still accepted")
    writer.close(timeout=5)

    # It ended on the stop signal; an exception in it would fail the test (pytest reports
    # unhandled thread exceptions, and warnings are errors here).
    assert thread is not None and not thread.is_alive()
    os.close(write_end)
