"""Accept-Encoding negotiation (RFC 9110 12.5.3) and the precompressed variants."""

from __future__ import annotations

import gzip
import json

import brotli
import pytest

from models_api.http.content_coding import compressed_variants, negotiate

ALL = ("br", "gzip", "identity")


@pytest.mark.parametrize(
    ("accept_encoding", "expected"),
    [
        (None, "identity"),  # no header: plain bytes
        ("", "identity"),  # empty: identity only
        ("gzip", "gzip"),
        ("gzip, br", "br"),  # a tie goes to the smaller coding
        ("gzip, deflate, br, zstd", "br"),  # what Chromium sends
        ("br;q=0.5, gzip;q=0.8", "gzip"),
        ("BR;Q=1, GZIP;q=0.1", "br"),  # names and parameters are case-insensitive
        ("x-gzip", "gzip"),
        ("gzip;q=0", "identity"),
        ("deflate, zstd", "identity"),  # nothing we have: identity stays acceptable
        ("*", "br"),
        ("*;q=0.2, gzip;q=0.5", "gzip"),
        ("*;q=0, identity;q=0.1", "identity"),
        ("identity;q=0", "identity"),  # everything refused: identity anyway, never a 406
        ("gzip;q=1.5, br;q=abc, identity", "identity"),  # malformed q-values count as absent
        ("gzip;q=0.001", "gzip"),  # a listed coding beats unlisted identity
        ("identity, gzip;q=0.9", "identity"),
        (" gzip ; q=0.7 ,, br ; q=0.6 ", "gzip"),
        ("gzip," * 2000, "gzip"),  # long headers are cut, not parsed in full
    ],
)
def test_negotiation(accept_encoding: str | None, expected: str) -> None:
    assert negotiate(accept_encoding, ALL) == expected


def test_only_codings_a_representation_has_are_chosen() -> None:
    assert negotiate("br, gzip;q=0.5", ("gzip", "identity")) == "gzip"
    assert negotiate("br", ("identity",)) == "identity"


def test_variants_decode_to_the_body_and_are_smaller() -> None:
    body = json.dumps({"models": [{"id": f"m{i}", "name": "Model"} for i in range(50)]}).encode()

    variants = compressed_variants(body)

    assert list(variants) == ["br", "gzip", "identity"]
    assert brotli.decompress(variants["br"]) == body
    assert gzip.decompress(variants["gzip"]) == body
    assert variants["identity"] is body
    assert len(variants["br"]) < len(variants["gzip"]) < len(body) / 4
    assert compressed_variants(body)["gzip"] == variants["gzip"]  # deterministic bytes


def test_a_body_too_small_to_gain_is_kept_plain_only() -> None:
    assert list(compressed_variants(b"{}")) == ["identity"]
