"""The negative auth matrix, API key lifecycle, and browser auth with firebase-admin's real
verification code (only the Google key/certificate downloads are replaced)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest

from local_harness.keys import with_bad_checksum
from models_api.auth.firebase_tokens import FirebaseTokenVerifier
from models_api.keys.key_format import generate_api_key
from models_api.keys.verifier import FirestoreKeyStore
from tests.conftest import Project, make_client, mint_key
from tests.support.firebase_tokens import TokenIssuer

UNIFORM_401_MESSAGE = (
    "Missing or invalid credentials. Send an API key as X-Api-Key: <key> or "
    "Authorization: Bearer <key>, or a Firebase ID token as Authorization: Bearer "
    "<ID token> together with X-Firebase-AppCheck: <App Check token>."
)


def _flip_body(key: str) -> str:
    return key[:10] + ("x" if key[10] != "x" else "y") + key[11:]


@pytest.fixture
def issuer(seeded: Project) -> TokenIssuer:
    token_issuer = TokenIssuer(seeded.project_id)
    token_issuer.install(FirebaseTokenVerifier(seeded.project_id, 2).app())
    return token_issuer


@pytest.fixture
def browser_client(seeded: Project, issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch) -> Any:
    return make_client(seeded, monkeypatch)


def _assert_uniform_401(response: Any) -> None:
    assert response.status_code == 401
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "unauthenticated"
    assert body["error"]["message"] == UNIFORM_401_MESSAGE
    assert body["error"]["request_id"] == response.headers["X-Request-Id"]


# Each case: (name, headers built from (valid key, issuer)), all answered with the same 401.
KEY_CASES: list[tuple[str, Callable[[str], list[tuple[str, str]]]]] = [
    ("no credentials", lambda k: []),
    ("empty key", lambda k: [("X-Api-Key", "")]),
    ("whitespace key", lambda k: [("X-Api-Key", "   ")]),
    ("wrong prefix", lambda k: [("X-Api-Key", "sk_" + k[4:])]),
    ("no prefix", lambda k: [("X-Api-Key", k[4:])]),
    ("too short", lambda k: [("X-Api-Key", k[:-1])]),
    ("too long", lambda k: [("X-Api-Key", k + "A")]),
    ("bad checksum", lambda k: [("X-Api-Key", with_bad_checksum(k))]),
    ("bad body, stale checksum", lambda k: [("X-Api-Key", _flip_body(k))]),
    ("non-base62 character", lambda k: [("X-Api-Key", k[:8] + "-" + k[9:])]),
    ("oversized key header", lambda k: [("X-Api-Key", "inf_" + "A" * 5000)]),
    ("repeated key header", lambda k: [("X-Api-Key", k), ("X-Api-Key", k)]),
    ("well-formed unknown key", lambda k: [("X-Api-Key", generate_api_key())]),
    ("key in Authorization without Bearer", lambda k: [("Authorization", k)]),
    ("bad checksum as Bearer", lambda k: [("Authorization", f"Bearer {with_bad_checksum(k)}")]),
    ("oversized Bearer key", lambda k: [("Authorization", "Bearer inf_" + "A" * 200)]),
    ("another key as Bearer", lambda k: [("X-Api-Key", k), ("Authorization", f"Bearer {k[:-1]}")]),
    ("lowercased key", lambda k: [("X-Api-Key", k.lower())]),
]


@pytest.mark.parametrize(("name", "headers"), KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_bad_api_keys_get_the_uniform_401(
    client: Any, api_key: str, name: str, headers: Callable[[str], list[tuple[str, str]]]
) -> None:
    response = client.get("/models", headers=headers(api_key))

    _assert_uniform_401(response)


@pytest.mark.parametrize(
    "status", ["revoked", "disabled", "bogus-status"], ids=["revoked", "disabled", "corrupt"]
)
def test_keys_that_are_not_active_get_401(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, status: str
) -> None:
    from key_admin.operations import rebuild_index

    key = mint_key(seeded)
    for snapshot in seeded.client.collection("api_keys").stream():
        snapshot.reference.update({"status": status})
    rebuild_index(seeded.client, "api_keys")  # documents edited by hand: the repair command
    client = make_client(seeded, monkeypatch)

    _assert_uniform_401(client.get("/models", headers={"X-Api-Key": key}))


def test_an_expired_key_gets_401(seeded: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    # A few seconds of validity: minting and the first request must fit in it on a loaded machine.
    expires_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=4)
    key = mint_key(seeded, expires_at=expires_at)
    client = make_client(seeded, monkeypatch)
    assert client.get("/models", headers={"X-Api-Key": key}).status_code == 200

    time.sleep(max(0.0, (expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()) + 0.1)

    _assert_uniform_401(client.get("/models", headers={"X-Api-Key": key}))


def test_malformed_keys_cost_no_firestore_read(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    client = make_client(seeded, monkeypatch)
    lookups = mocker.spy(FirestoreKeyStore, "find_key")
    valid = mint_key(seeded)

    for _, headers in KEY_CASES:
        if _ in ("well-formed unknown key", "no credentials"):
            continue
        client.get("/models", headers=headers(valid))

    assert lookups.call_count == 0


def test_a_key_revoked_with_the_cli_stops_working_within_twice_the_refresh(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from key_admin.operations import set_key_status

    key = mint_key(seeded)
    client = make_client(seeded, monkeypatch, API_KEY_REFRESH_SECONDS="0.5")
    assert client.get("/models", headers={"X-Api-Key": key}).status_code == 200
    key_id = next(iter(seeded.client.collection("api_keys").stream())).id

    set_key_status(seeded.client, "api_keys", key_id, "revoke")
    time.sleep(1.0)  # 2 x refresh: the bound, whether or not requests came in between
    after_bound = client.get("/models", headers={"X-Api-Key": key})

    _assert_uniform_401(after_bound)


def test_a_throttled_address_is_refused_only_the_reads_known_keys_and_tokens_still_work(
    seeded: Project, issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch, mocker: Any
) -> None:
    """Behind one NAT, a broken client's failures must not lock out the valid ones."""
    from models_api.keys.verifier import FirestoreKeyStore

    client = make_client(seeded, monkeypatch, AUTH_FAILURE_LIMIT="5")
    key = mint_key(seeded)
    assert client.get("/models", headers={"X-Api-Key": key}).status_code == 200
    browser = {
        "Authorization": f"Bearer {issuer.id_token()}",
        "X-Firebase-AppCheck": issuer.app_check_token(),
    }

    failures = [
        client.get("/models", headers={"X-Api-Key": generate_api_key()}).status_code
        for _ in range(5)
    ]
    reads = mocker.spy(FirestoreKeyStore, "find_key")
    unknown = client.get("/models", headers={"X-Api-Key": generate_api_key()})
    known = client.get("/models", headers={"X-Api-Key": key})
    token = client.get("/models", headers=browser)
    malformed = client.get("/models", headers={"X-Api-Key": "inf_garbage"})

    assert failures == [401] * 5
    assert unknown.status_code == 429 and reads.call_count == 0  # no read spent on it
    assert int(unknown.headers["Retry-After"]) >= 1
    assert unknown.get_json()["error"]["code"] == "rate_limited"
    assert known.status_code == 200
    assert token.status_code == 200
    assert malformed.status_code == 401  # costs nothing to refuse


def test_unknown_keys_beyond_the_lookup_budget_get_503_and_known_keys_200(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = mint_key(seeded)
    client = make_client(
        seeded, monkeypatch, API_KEY_LOOKUPS_PER_SECOND="0.1", API_KEY_LOOKUP_BURST="3",
        TRUSTED_PROXY_HOPS="1",
    )  # fmt: skip
    assert client.get("/models", headers={"X-Api-Key": key}).status_code == 200

    flood = [
        client.get(
            "/models",
            headers={"X-Api-Key": generate_api_key(), "X-Forwarded-For": f"198.51.100.{n}"},
        )
        for n in range(10)
    ]
    known = client.get("/models", headers={"X-Api-Key": key, "X-Forwarded-For": "198.51.100.1"})

    assert [answer.status_code for answer in flood] == [401] * 3 + [503] * 7
    assert flood[-1].headers["Retry-After"] == "4"  # API_KEY_REFRESH_SECONDS
    assert flood[-1].get_json()["error"]["code"] == "unavailable"
    assert known.status_code == 200


# --- Browser path: Firebase ID token + App Check token -------------------------------------


def test_a_valid_id_token_and_app_check_token_get_200(
    browser_client: Any, issuer: TokenIssuer
) -> None:
    response = browser_client.get(
        "/models",
        headers={
            "Authorization": f"Bearer {issuer.id_token()}",
            "X-Firebase-AppCheck": issuer.app_check_token(),
        },
    )

    assert response.status_code == 200
    assert response.get_json()["models"]


def _other_key_pem() -> bytes:
    return TokenIssuer("other").private_pem


BROWSER_CASES: list[tuple[str, Callable[[TokenIssuer], dict[str, str]]]] = [
    ("id token only", lambda i: {"Authorization": f"Bearer {i.id_token()}"}),
    ("app check only", lambda i: {"X-Firebase-AppCheck": i.app_check_token()}),
    (
        "not bearer",
        lambda i: {
            "Authorization": f"Basic {i.id_token()}",
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "bearer without token",
        lambda i: {"Authorization": "Bearer ", "X-Firebase-AppCheck": i.app_check_token()},
    ),
    (
        "id token alg none",
        lambda i: {
            "Authorization": "Bearer " + _unsigned(i.id_token()),
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "id token HS256",
        lambda i: {
            "Authorization": "Bearer " + i.id_token(algorithm="HS256", key="k" * 32),
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "id token expired",
        lambda i: {
            "Authorization": "Bearer "
            + i.id_token(exp=int(time.time()) - 60, iat=int(time.time()) - 7200),
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "id token issued in the future",
        lambda i: {
            "Authorization": "Bearer "
            + i.id_token(iat=int(time.time()) + 3600, exp=int(time.time()) + 7200),
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "id token wrong audience",
        lambda i: {
            "Authorization": "Bearer " + i.id_token(aud="another-project"),
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "id token wrong issuer",
        lambda i: {
            "Authorization": "Bearer " + i.id_token(iss="https://securetoken.google.com/x"),
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "id token unknown kid",
        lambda i: {
            "Authorization": "Bearer " + i.id_token(kid="unknown-kid"),
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "id token signed by another key",
        lambda i: {
            "Authorization": "Bearer " + i.id_token(key=_other_key_pem()),
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    (
        "app check expired",
        lambda i: {
            "Authorization": f"Bearer {i.id_token()}",
            "X-Firebase-AppCheck": i.app_check_token(exp=int(time.time()) - 60),
        },
    ),
    (
        "app check wrong project",
        lambda i: {
            "Authorization": f"Bearer {i.id_token()}",
            "X-Firebase-AppCheck": i.app_check_token(aud=["projects/999", "projects/other"]),
        },
    ),
    (
        "app check unknown kid",
        lambda i: {
            "Authorization": f"Bearer {i.id_token()}",
            "X-Firebase-AppCheck": i.app_check_token(kid="unknown-kid"),
        },
    ),
    (
        "app check HS256",
        lambda i: {
            "Authorization": f"Bearer {i.id_token()}",
            "X-Firebase-AppCheck": i.app_check_token(algorithm="HS256", key="k" * 32),
        },
    ),
    (
        "app check is an id token",
        lambda i: {"Authorization": f"Bearer {i.id_token()}", "X-Firebase-AppCheck": i.id_token()},
    ),
    (
        "oversized authorization",
        lambda i: {
            "Authorization": "Bearer " + "a" * 5000 + ".b.c",
            "X-Firebase-AppCheck": i.app_check_token(),
        },
    ),
    ("repeated app check", lambda i: {"Authorization": f"Bearer {i.id_token()}"}),
]


def _unsigned(token: str) -> str:
    import base64
    import json

    header, payload, _ = token.split(".")
    none_header = (
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "test-kid-1"}).encode())
        .rstrip(b"=")
        .decode()
    )
    return f"{none_header}.{payload}."


@pytest.mark.parametrize(("name", "headers"), BROWSER_CASES, ids=[c[0] for c in BROWSER_CASES])
def test_bad_browser_credentials_get_the_uniform_401(
    browser_client: Any, issuer: TokenIssuer, name: str, headers: Callable[[TokenIssuer], Any]
) -> None:
    header_list = list(headers(issuer).items())
    if name == "repeated app check":
        header_list += [("X-Firebase-AppCheck", issuer.app_check_token())] * 2

    response = browser_client.get("/models", headers=header_list)

    _assert_uniform_401(response)


@pytest.mark.parametrize("failing", ["app_check_keys", "id_token_certificates"])
def test_failing_to_download_google_keys_is_503_not_401(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    token_issuer = TokenIssuer(seeded.project_id)
    app = FirebaseTokenVerifier(seeded.project_id, 2).app()
    token_issuer.install(app, failing=frozenset({failing}))
    client = make_client(seeded, monkeypatch)

    response = client.get(
        "/models",
        headers={
            "Authorization": f"Bearer {token_issuer.id_token()}",
            "X-Firebase-AppCheck": token_issuer.app_check_token(),
        },
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["error"]["code"] == "unavailable"
    # Says what is unavailable: the keys, not the catalog.
    assert response.get_json()["error"]["message"] == (
        "Token verification keys are temporarily unavailable. Retry later."
    )


def test_the_service_refuses_to_start_with_the_auth_emulator_in_a_deployed_environment(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models_api.errors import ConfigError

    monkeypatch.setenv("K_SERVICE", "models")
    monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099")

    with pytest.raises(ConfigError, match="unsigned ID tokens"):
        make_client(seeded, monkeypatch)


def test_unknown_keys_refused_for_the_budget_count_against_their_address(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So a flooding address is throttled and leaves the budget to the others."""
    client = make_client(
        seeded, monkeypatch, API_KEY_LOOKUPS_PER_SECOND="0.1", API_KEY_LOOKUP_BURST="2",
        AUTH_FAILURE_LIMIT="4",
    )  # fmt: skip

    answers = [
        client.get("/models", headers={"X-Api-Key": generate_api_key()}).status_code
        for _ in range(6)
    ]

    assert answers == [401, 401, 503, 503, 429, 429]


_NOW = int(time.time())
# (name, App Check claim overrides, the reason logged); firebase-admin accepts every one of them.
APP_CHECK_CLAIM_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no exp", {"exp": None}, "app check token without exp"),
    ("no iat", {"iat": None}, "app check token without iat"),
    (
        "30-day lifetime",
        {"iat": _NOW - 10, "exp": _NOW + 30 * 86400},
        "app check token lifetime longer than App Check issues",
    ),
    ("empty sub", {"sub": ""}, "app check token of an app that is not allowed"),
    (
        "another app of the project",
        {"sub": "1:123456789012:web:ffffffffffffffff"},
        "app check token of an app that is not allowed",
    ),
    (
        "another project number in iss",
        {"iss": "https://firebaseappcheck.googleapis.com/999999999999"},
        "app check token issuer is not the app's project",
    ),
    (
        "issuer with a suffix",
        {"iss": "https://firebaseappcheck.googleapis.com/123456789012/x"},
        "app check token issuer is not the app's project",
    ),
]


@pytest.mark.parametrize(
    ("name", "claims", "reason"), APP_CHECK_CLAIM_CASES, ids=[c[0] for c in APP_CHECK_CLAIM_CASES]
)
def test_app_check_tokens_need_exp_a_short_life_an_allowed_app_and_the_exact_issuer(
    browser_client: Any,
    issuer: TokenIssuer,
    capfd: pytest.CaptureFixture[str],
    name: str,
    claims: dict[str, Any],
    reason: str,
) -> None:
    id_token = issuer.id_token()
    control = browser_client.get(
        "/models",
        headers={
            "Authorization": f"Bearer {id_token}",
            "X-Firebase-AppCheck": issuer.app_check_token(exp=_NOW + 7 * 86400 - 20),
        },
    )
    capfd.readouterr()

    response = browser_client.get(
        "/models",
        headers={
            "Authorization": f"Bearer {id_token}",
            "X-Firebase-AppCheck": issuer.app_check_token(**claims),
        },
    )

    assert control.status_code == 200  # the longest lifetime App Check issues passes
    _assert_uniform_401(response)
    assert f'"auth_failure":"{reason}"' in capfd.readouterr().out


def test_without_allowed_app_ids_every_app_check_token_is_refused(
    seeded: Project, issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(seeded, monkeypatch, APP_CHECK_APP_IDS="")

    response = client.get(
        "/models",
        headers={
            "Authorization": f"Bearer {issuer.id_token()}",
            "X-Firebase-AppCheck": issuer.app_check_token(),
        },
    )

    _assert_uniform_401(response)
