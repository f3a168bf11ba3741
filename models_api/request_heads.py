"""A request's head (request line, header fields and any small body), read before a thread.

The gunicorn worker (serving_worker.py) collects each connection's bytes in its event loop and
hands the connection to a worker thread only once the whole request is there, so a client
sending one byte a second holds a few bytes of memory, not a thread. Too slow: 408; too large:
431 (both in the JSON envelope, server_errors.py).
"""

from __future__ import annotations

import re

# Longer than any head a client of this API sends (a JWT pair is about 2 KiB); gunicorn's own
# limits (100 fields of 8190 bytes) still apply within it.
MAX_HEAD_BYTES = 32 * 1024
# How long a connection may take to send its whole request once it has sent its first byte
# (and a new connection to send anything at all).
HEAD_TIMEOUT_SECONDS = 10.0
# Both start at the field's `\n` (the `\r` before it changes no match): a pattern that starts
# with a literal is searched for that byte first, one with an optional `\r?` is tried at every
# offset, which cost 8 times as much per request (bench/count_instructions.py --parts).
_CONTENT_LENGTH = re.compile(rb"\ncontent-length[ \t]*:[ \t]*(\d{1,12})[ \t]*\r?\n", re.I)
# A client sending `Expect: 100-continue` waits for the server before it sends its body.
_EXPECT = re.compile(rb"\nexpect[ \t]*:", re.I)


class RequestHead:
    """The bytes of one request so far; `complete` once the head (and a short body) is in."""

    __slots__ = ("data", "deadline", "_end")

    def __init__(self, data: bytes, deadline: float):
        self.data = bytearray(data)
        self.deadline = deadline
        self._end = -1  # where the head ends (after its blank line), once seen
        self._find_end(0)

    def add(self, chunk: bytes) -> None:
        start = len(self.data)
        self.data += chunk
        if self._end < 0:
            self._find_end(start)

    @property
    def too_large(self) -> bool:
        return len(self.data) > MAX_HEAD_BYTES and not self.complete

    @property
    def complete(self) -> bool:
        if self._end < 0:
            return False
        body = _declared_body_length(bytes(self.data[: self._end]))
        if body is None or self._end + body > MAX_HEAD_BYTES:
            return True  # no body, or one the thread reads (the app answers without it)
        return len(self.data) >= self._end + body

    def _find_end(self, start: int) -> None:
        # Empty lines before the request line are allowed (RFC 9112 2.2): not the head's end.
        skip = len(self.data) - len(self.data.lstrip(b"\r\n"))
        for terminator in (b"\r\n\r\n", b"\n\n"):  # bare LF ends it too (gunicorn says 400)
            found = self.data.find(terminator, max(skip, start - 3))
            if found >= 0 and (self._end < 0 or found + len(terminator) < self._end):
                self._end = found + len(terminator)


def _declared_body_length(head: bytes) -> int | None:
    if _EXPECT.search(head):
        return None  # the thread answers the expectation, then reads the body
    match = _CONTENT_LENGTH.search(head)
    return int(match.group(1)) if match else None
