"""Hypothesis throws arbitrary methods, paths, query strings and header values at the real app:
only documented statuses come back, never a 5xx, and malformed keys never reach Firestore."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models_api.keys.key_format import generate_api_key
from tests.conftest import Project, make_client

DOCUMENTED = {200, 204, 304, 400, 401, 404, 405, 429}
HEADER_TEXT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=300,
) | st.sampled_from(["", " ", "inf_", "Bearer ", "Bearer a.b.c", "x" * 9000, "\xff\xfe\x00"[:2]])
KEY_LIKE = st.one_of(
    HEADER_TEXT,
    st.builds(lambda: generate_api_key()[:-1] + "!"),
    st.from_regex(r"inf_[0-9A-Za-z]{30,40}", fullmatch=True),
)
PATHS = st.one_of(
    st.sampled_from(
        [
            "/",
            "/models",
            "/models/",
            "/models/gpt-5.2",
            "/models/%00",
            "/models/../x",
            "/models/" + "a" * 500,
            "/robots.txt",
            "/favicon.ico",
            "/models//x",
        ]
    ),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~/%", max_size=60)
    .map(lambda p: "/" + p)
    .filter(lambda p: not p.startswith("//")),  # the test client reads //x as a host name
)
FILTER_NAMES = ["provider", "supports_tools", "supports_vision", "owned_by", "input_modality"]
FILTER_NAMES += ["output_modality", "x", "provider[]"]
QUERIES = st.one_of(
    st.just(""),
    st.dictionaries(
        st.sampled_from(FILTER_NAMES),
        st.text(max_size=30),
        max_size=3,
    ).map(lambda d: "&".join(f"{k}={v}" for k, v in d.items())),
)
METHODS = st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH", "TRACE"])


@pytest.fixture
def fuzz_client(seeded: Project, monkeypatch: pytest.MonkeyPatch) -> Any:
    return make_client(seeded, monkeypatch, AUTH_FAILURE_LIMIT="1000000")


@pytest.fixture
def key_lookups(mocker: Any) -> Any:
    from models_api.keys.verifier import FirestoreKeyStore

    return mocker.spy(FirestoreKeyStore, "find_key")


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    method=METHODS,
    path=PATHS,
    query=QUERIES,
    api_key=st.none() | KEY_LIKE,
    authorization=st.none() | HEADER_TEXT,
    app_check=st.none() | HEADER_TEXT,
    repeat_key=st.booleans(),
)
def test_fuzzed_requests_get_documented_statuses_and_no_reads_for_malformed_keys(
    fuzz_client: Any,
    key_lookups: Any,
    method: str,
    path: str,
    query: str,
    api_key: str | None,
    authorization: str | None,
    app_check: str | None,
    repeat_key: bool,
) -> None:
    from models_api.keys.key_format import is_well_formed_api_key

    lookups_before = key_lookups.call_count
    headers: list[tuple[str, str]] = []
    if api_key is not None:
        headers.append(("X-Api-Key", api_key))
        if repeat_key:
            headers.append(("X-Api-Key", api_key))
    if authorization is not None:
        headers.append(("Authorization", authorization))
    if app_check is not None:
        headers.append(("X-Firebase-AppCheck", app_check))

    response = fuzz_client.open(path, method=method, query_string=query, headers=headers)

    assert response.status_code in DOCUMENTED, (response.status_code, response.data[:200])
    if response.status_code >= 400 and method != "HEAD":
        assert response.get_json()["error"]["code"]
    if api_key is None or repeat_key or not is_well_formed_api_key(api_key.strip()):
        assert key_lookups.call_count == lookups_before
