"""The shape a browser token must have before anything is fetched to verify it.

firebase-admin downloads Google's public keys before it looks at a token (App Check fetches
its JWKS first), so a garbage token used to cost a key download, and became a 503 instead of
a 401 whenever Google's endpoint was unreachable. Both tokens are RS256 JWTs signed with one of
Google's keys named by `kid`; anything else is refused here, offline. The signature itself,
expiry, audience and issuer stay firebase-admin's job.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from models_api.errors import Unauthenticated

_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_KID = re.compile(r"[\x21-\x7e]{1,128}")
MAX_HEADER_SEGMENT_CHARS = 1024
MAX_PAYLOAD_SEGMENT_CHARS = 3072
# RS256 signatures are as long as the RSA modulus: 2048 bits (Google's keys) up to 4096.
SIGNATURE_BYTES = range(256, 513)


def check_token_shape(token: str, name: str, *, allow_unsigned: bool = False) -> None:
    """Raise Unauthenticated (reason naming `name`) unless `token` is a plausible RS256 JWT.

    `allow_unsigned` also admits the Firebase Auth emulator's ID tokens (`alg: none`, empty
    signature); the service sets it only where the emulator is configured, which it refuses
    to start with on a deployed instance.
    """
    segments = token.split(".")
    if len(segments) != 3:
        raise Unauthenticated(f"{name} is not a JWT")
    header_segment, payload_segment, signature_segment = segments
    if len(header_segment) > MAX_HEADER_SEGMENT_CHARS:
        raise Unauthenticated(f"{name} header longer than {MAX_HEADER_SEGMENT_CHARS} characters")
    if len(payload_segment) > MAX_PAYLOAD_SEGMENT_CHARS:
        raise Unauthenticated(f"{name} payload longer than {MAX_PAYLOAD_SEGMENT_CHARS} characters")
    header = _json_object(header_segment, f"{name} header")
    _json_object(payload_segment, f"{name} payload")
    if allow_unsigned and header.get("alg") == "none" and signature_segment == "":
        return
    if len(_base64url(signature_segment, f"{name} signature")) not in SIGNATURE_BYTES:
        raise Unauthenticated(f"{name} signature has the wrong length for RS256")
    if header.get("alg") != "RS256":
        raise Unauthenticated(f"{name} alg is not RS256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise Unauthenticated(f"{name} has no usable kid")
    typ = header.get("typ", "JWT")
    if not isinstance(typ, str) or typ.upper() != "JWT":
        raise Unauthenticated(f"{name} typ is not JWT")


def _base64url(segment: str, what: str) -> bytes:
    """Unpadded base64url, strictly (JWS compact serialization)."""
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise Unauthenticated(f"{what} is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as error:
        raise Unauthenticated(f"{what} is not base64url") from error


def _json_object(segment: str, what: str) -> dict[str, Any]:
    decoded = _base64url(segment, what)
    try:
        value = json.loads(decoded)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise Unauthenticated(f"{what} is not JSON") from error
    if not isinstance(value, dict):
        raise Unauthenticated(f"{what} is not a JSON object")
    return value
