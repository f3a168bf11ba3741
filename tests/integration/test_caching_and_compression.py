"""What caches see: credential-dependent answers say so, and each coding is its own variant."""

from __future__ import annotations

import gzip
from typing import Any

import brotli
import pytest

from local_harness.keys import with_bad_checksum
from tests.conftest import Project, make_client, mint_key

CREDENTIALS_AND_CODING = "X-Api-Key, Authorization, X-Firebase-AppCheck, Accept-Encoding"


@pytest.fixture
def cors_client(seeded: Project, monkeypatch: pytest.MonkeyPatch) -> Any:
    return make_client(seeded, monkeypatch, CORS_ALLOWED_ORIGINS="https://app.example.com")


def test_success_forces_revalidation_and_varies_on_credentials(
    cors_client: Any, seeded: Project
) -> None:
    key = mint_key(seeded)

    ok = cors_client.get("/models", headers={"X-Api-Key": key})
    unchanged = cors_client.get(
        "/models", headers={"X-Api-Key": key, "If-None-Match": ok.headers["ETag"]}
    )
    refused = cors_client.get("/models", headers={"X-Api-Key": with_bad_checksum(key)})

    for response in (ok, unchanged):
        assert response.headers["Cache-Control"] == "private, no-cache"
        assert response.headers["Vary"] == f"Origin, {CREDENTIALS_AND_CODING}"
    assert unchanged.status_code == 304 and unchanged.data == b""
    # An error is never stored by any cache, whatever it varies on.
    assert refused.status_code == 401
    assert refused.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("accept_encoding", "coding", "decode"),
    [
        ("gzip", "gzip", gzip.decompress),
        ("gzip, deflate, br, zstd", "br", brotli.decompress),
        ("br;q=0.1, gzip;q=0.9", "gzip", gzip.decompress),
    ],
)
def test_compressed_variants_by_accept_encoding(
    client: Any, api_key: str, accept_encoding: str, coding: str, decode: Any
) -> None:
    plain = client.get("/models", headers={"X-Api-Key": api_key})

    encoded = client.get(
        "/models", headers={"X-Api-Key": api_key, "Accept-Encoding": accept_encoding}
    )

    assert encoded.status_code == 200
    assert encoded.headers["Content-Encoding"] == coding
    assert "Content-Encoding" not in plain.headers
    assert decode(encoded.data) == plain.data
    assert int(encoded.headers["Content-Length"]) == len(encoded.data) < len(plain.data) / 3
    assert encoded.headers["ETag"] == plain.headers["ETag"][:-1] + f'-{coding}"'
    assert encoded.headers["Vary"] == plain.headers["Vary"] == CREDENTIALS_AND_CODING


def test_a_304_needs_the_etag_of_the_coding_it_would_send(client: Any, api_key: str) -> None:
    headers = {"X-Api-Key": api_key}
    etags = {
        coding: client.get("/models", headers={**headers, "Accept-Encoding": coding}).headers[
            "ETag"
        ]
        for coding in ("identity", "gzip", "br")
    }

    def status(accept_encoding: str, if_none_match: str) -> int:
        response = client.get(
            "/models",
            headers={**headers, "Accept-Encoding": accept_encoding, "If-None-Match": if_none_match},
        )
        return int(response.status_code)

    assert len(set(etags.values())) == 3
    assert status("gzip", etags["gzip"]) == 304
    assert status("br", etags["br"]) == 304
    assert status("identity", etags["identity"]) == 304
    assert status("gzip", etags["identity"]) == 200  # a plain copy is not the gzip bytes
    assert status("br", etags["gzip"]) == 200
    assert status("gzip", f"{etags['br']}, {etags['gzip']}") == 304  # any listed tag matches


@pytest.mark.parametrize("accept_encoding", ["identity", "gzip", "br"])
def test_head_announces_exactly_what_get_sends(
    client: Any, api_key: str, accept_encoding: str
) -> None:
    headers = {"X-Api-Key": api_key, "Accept-Encoding": accept_encoding}

    head = client.head("/models", headers=headers)
    get = client.get("/models", headers=headers)

    assert head.status_code == get.status_code == 200
    assert head.data == b""
    for name in ("ETag", "Content-Length", "Vary", "Cache-Control", "Content-Type"):
        assert head.headers[name] == get.headers[name]
    assert head.headers.get("Content-Encoding") == get.headers.get("Content-Encoding")
    assert int(get.headers["Content-Length"]) == len(get.data)


def test_one_model_is_compressed_too(client: Any, api_key: str) -> None:
    plain = client.get("/models/claude-haiku-4-5", headers={"X-Api-Key": api_key})
    encoded = client.get(
        "/models/claude-haiku-4-5", headers={"X-Api-Key": api_key, "Accept-Encoding": "br"}
    )

    assert brotli.decompress(encoded.data) == plain.data
    assert encoded.headers["Content-Encoding"] == "br"
