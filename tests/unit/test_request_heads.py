"""When the event loop has a whole request to hand to a thread (models_api/request_heads.py)."""

from __future__ import annotations

import pytest

from models_api.request_heads import MAX_HEAD_BYTES, RequestHead


def _head(*chunks: bytes) -> RequestHead:
    head = RequestHead(chunks[0], deadline=0)
    for chunk in chunks[1:]:
        head.add(chunk)
    return head


@pytest.mark.parametrize(
    ("chunks", "complete"),
    [
        ((b"GET /models HTTP/1.1\r\nHost: a\r\n",), False),
        ((b"GET /models HTTP/1.1\r\nHost: a\r\n", b"\r\n"), True),
        ((b"GET /models HTTP/1.1\r\nHost: a\r", b"\n\r", b"\n"), True),  # split terminator
        ((b"\r\n\r\n",), False),  # empty lines before a request line are not a request
        ((b"\r\nGET / HTTP/1.1\r\n\r\n",), True),
        ((b"GET / HTTP/1.1\nHost: a\n\n",), True),  # bare LF: the parser answers 400
        ((b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab",), False),  # body still coming
        ((b"POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nab", b"cd"), True),
        ((b"POST / HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",), True),
        ((b"POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n",), True),  # the thread reads it
    ],
)
def test_a_request_is_complete_once_its_head_and_a_short_body_are_in(
    chunks: tuple[bytes, ...], complete: bool
) -> None:
    assert _head(*chunks).complete is complete


def test_a_head_over_the_limit_is_too_large() -> None:
    head = _head(b"GET / HTTP/1.1\r\nX-A: " + b"b" * MAX_HEAD_BYTES)

    assert head.too_large and not head.complete
