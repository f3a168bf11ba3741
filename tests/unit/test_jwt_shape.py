"""Browser tokens are refused for their shape alone: no key download, no firebase-admin."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from models_api.auth.jwt_shape import check_token_shape
from models_api.errors import Unauthenticated

SIGNATURE = base64.urlsafe_b64encode(b"s" * 256).rstrip(b"=").decode()


def _segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw_token(header: bytes, payload: bytes) -> str:
    return f"{_segment(header)}.{_segment(payload)}.{SIGNATURE}"


def _token(header: Any, payload: Any = None, signature: str = SIGNATURE) -> str:
    claims = {"sub": "u"} if payload is None else payload
    return f"{_segment(header)}.{_segment(claims)}.{signature}"


GOOD_HEADER = {"alg": "RS256", "kid": "abc123", "typ": "JWT"}


def test_a_plausible_rs256_token_passes() -> None:
    check_token_shape(_token(GOOD_HEADER), "ID token")
    check_token_shape(_token({"alg": "RS256", "kid": "k"}), "ID token")  # typ is optional


BAD_TOKENS = {
    "two segments": _token(GOOD_HEADER).rsplit(".", 1)[0],
    "four segments": _token(GOOD_HEADER) + ".x",
    "alg none": _token({**GOOD_HEADER, "alg": "none"}, signature=""),
    "alg none, signature kept": _token({**GOOD_HEADER, "alg": "none"}),
    "alg HS256": _token({**GOOD_HEADER, "alg": "HS256"}),
    "alg missing": _token({"kid": "abc", "typ": "JWT"}),
    "no kid": _token({"alg": "RS256", "typ": "JWT"}),
    "empty kid": _token({**GOOD_HEADER, "kid": ""}),
    "kid not a string": _token({**GOOD_HEADER, "kid": 7}),
    "kid with spaces": _token({**GOOD_HEADER, "kid": "a b"}),
    "kid too long": _token({**GOOD_HEADER, "kid": "k" * 129}),
    "typ other": _token({**GOOD_HEADER, "typ": "at+jwt"}),
    "typ not a string": _token({**GOOD_HEADER, "typ": ["JWT"]}),
    "header not JSON": _raw_token(b"{alg", b"{}"),
    "header a JSON list": _token(["RS256"]),
    "header not UTF-8": _raw_token(b"\xff\xfe", b"{}"),
    "header deeply nested": _raw_token(b"[" * 700, b"{}"),
    "payload not JSON": _raw_token(json.dumps(GOOD_HEADER).encode(), b"nope"),
    "payload a string": _token(GOOD_HEADER, "claims"),
    "padding in a segment": _token(GOOD_HEADER).replace(".", "=.", 1),
    "standard base64 characters": _token(GOOD_HEADER)[:-3] + "+/A",
    "impossible base64 length": _token(GOOD_HEADER, signature=SIGNATURE + "AAA"),
    "signature too short": _token(GOOD_HEADER, signature=SIGNATURE[:100]),
    "signature too long": _token(GOOD_HEADER, signature=SIGNATURE * 3),
    "empty signature": _token(GOOD_HEADER, signature=""),
    "header too long": _token({**GOOD_HEADER, "x": "y" * 1000}),
    "payload too long": _token(GOOD_HEADER, {"x": "y" * 2400}),
}


@pytest.mark.parametrize("token", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_tokens_of_the_wrong_shape_are_refused(token: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        check_token_shape(token, "App Check token")

    assert refused.value.reason.startswith("App Check token")


def test_unsigned_emulator_id_tokens_pass_only_where_the_emulator_is_configured() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b'{"sub":"u"}').rstrip(b"=").decode()
    emulator_token = f"{header}.{payload}."

    check_token_shape(emulator_token, "ID token", allow_unsigned=True)
    with pytest.raises(Unauthenticated):
        check_token_shape(emulator_token, "ID token")
