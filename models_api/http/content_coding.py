"""Content codings: bodies compressed once when cached, and the one a request accepts best.

A catalog body is compressed when its representation is built (once per catalog refresh and
filter), never per request: serving a compressed variant costs the same dict lookup as serving
the plain bytes, and sends a fraction of them.
"""

from __future__ import annotations

import functools
import gzip
import re
from collections.abc import Iterable

import brotli

IDENTITY = "identity"
# Server preference when the client accepts several equally: smallest first.
PREFERENCE = ("br", "gzip", IDENTITY)
# Quality 11 is brotli's best. It costs ~3 ms for our 11-model list and ~75 ms for a 300-model
# one, paid once per catalog refresh (60 s) per worker and filter, for 5-15 % fewer bytes than
# quality 9 on every response.
BROTLI_QUALITY = 11
GZIP_LEVEL = 9
_Q_VALUE = re.compile(r"(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)")
_ALIASES = {"x-gzip": "gzip"}
# identity is acceptable unless excluded, but a client that lists codings wants one of them:
# unlisted, identity weighs less than any listed coding.
_UNLISTED_IDENTITY_Q = 0.001


def compressed_variants(body: bytes) -> dict[str, bytes]:
    """`body` in each coding that makes it smaller, in PREFERENCE order (identity last)."""
    candidates = {
        "br": brotli.compress(body, quality=BROTLI_QUALITY, mode=brotli.MODE_TEXT),
        "gzip": gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0),  # mtime 0: same bytes
    }
    variants = {coding: data for coding, data in candidates.items() if len(data) < len(body)}
    variants[IDENTITY] = body
    return variants


def negotiate(accept_encoding: str | None, available: Iterable[str]) -> str:
    """The coding of `available` (PREFERENCE-ordered, identity last) to answer with (RFC 9110
    12.5.3): the highest q-value wins, ties go to the first in `available`.

    No header means identity (what clients that send none expect). When the client refuses
    everything we have, identity is sent anyway rather than a 406: the catalog stays readable.
    """
    if not accept_encoding:
        return IDENTITY
    weights = _weights(accept_encoding[:1024])
    best, best_q = IDENTITY, 0.0
    for coding in available:
        unlisted = _UNLISTED_IDENTITY_Q if coding == IDENTITY else 0.0
        q = weights.get(coding, weights.get("*", unlisted))
        if q > best_q:
            best, best_q = coding, q
    return best


@functools.lru_cache(maxsize=256)  # clients send few distinct values; bounded either way
def _weights(accept_encoding: str) -> dict[str, float]:
    """Coding -> q-value as listed (names lowercased; malformed members are ignored)."""
    weights: dict[str, float] = {}
    for member in accept_encoding.split(","):
        coding, *parameters = (part.strip() for part in member.split(";"))
        coding = _ALIASES.get(coding.lower(), coding.lower())
        if not coding:
            continue
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _Q_VALUE.fullmatch(value) else -1.0
        if q >= 0:
            weights[coding] = max(q, weights.get(coding, 0.0))
    return weights
