"""Which requests carry a body, and the answer each one gets (models_api/http/request_body.py)."""

from __future__ import annotations

import pytest

from models_api.http.request_body import body_refusal, carries_body


@pytest.mark.parametrize(
    "environ",
    [
        {"REQUEST_METHOD": "GET"},
        {"REQUEST_METHOD": "GET", "CONTENT_LENGTH": ""},
        {"REQUEST_METHOD": "GET", "CONTENT_LENGTH": "0"},
        {"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "0"},
    ],
)
def test_a_request_without_a_body_is_left_alone(environ: dict[str, str]) -> None:
    assert not carries_body(environ)
    assert body_refusal(environ) is None


@pytest.mark.parametrize(
    ("environ", "status", "code"),
    [
        ({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "5"}, 405, "method_not_allowed"),
        ({"REQUEST_METHOD": "PUT", "HTTP_TRANSFER_ENCODING": "chunked"}, 405, "method_not_allowed"),
        ({"REQUEST_METHOD": "GET", "HTTP_TRANSFER_ENCODING": "chunked"}, 400, "invalid_argument"),
        ({"REQUEST_METHOD": "GET", "HTTP_EXPECT": "100-continue"}, 400, "invalid_argument"),
        (
            {"REQUEST_METHOD": "GET", "HTTP_EXPECT": "100-continue", "CONTENT_LENGTH": "5"},
            400,
            "invalid_argument",
        ),
        ({"REQUEST_METHOD": "GET", "CONTENT_LENGTH": "0000000000005"}, 400, "invalid_argument"),
        ({"REQUEST_METHOD": "GET", "CONTENT_LENGTH": "00"}, 400, "invalid_argument"),
        ({"REQUEST_METHOD": "GET", "CONTENT_LENGTH": "5,5"}, 400, "invalid_argument"),
        ({"REQUEST_METHOD": "GET", "CONTENT_LENGTH": "+5"}, 400, "invalid_argument"),
        ({"REQUEST_METHOD": "GET", "CONTENT_LENGTH": "1" * 19}, 400, "invalid_argument"),
        ({"REQUEST_METHOD": "GET", "CONTENT_LENGTH": "100000"}, 413, "content_too_large"),
        ({"REQUEST_METHOD": "HEAD", "CONTENT_LENGTH": "1"}, 413, "content_too_large"),
        ({"REQUEST_METHOD": "OPTIONS", "CONTENT_LENGTH": "1"}, 413, "content_too_large"),
    ],
)
def test_a_request_with_a_body_is_refused_from_its_headers(
    environ: dict[str, str], status: int, code: str
) -> None:
    refusal = body_refusal(environ)

    assert refusal is not None
    assert (refusal.status, refusal.code) == (status, code)
    if status == 405:
        assert refusal.headers == {"Allow": "GET, HEAD, OPTIONS"}
