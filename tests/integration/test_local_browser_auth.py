"""The browser path as `make run` offers it: an ID token from the real Firebase Auth emulator
plus an App Check token signed by the local run's own key, verified by firebase-admin's own
App Check verifier against the local public JWKS; through the app and a real server process.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local_harness.emulator_users import signed_in_user
from local_harness.local_app_check import LocalAppCheckSigner
from local_harness.processes import AuthEmulator, FunctionServer
from models_api.auth.firebase_tokens import FirebaseTokenVerifier
from tests.conftest import Project, make_client
from tests.support.firebase_tokens import TokenIssuer
from tests.support.http_get import get_json

Headers = dict[str, str]


@pytest.fixture
def signer(auth_emulator: AuthEmulator) -> LocalAppCheckSigner:
    return LocalAppCheckSigner(auth_emulator.project_id)


@pytest.fixture
def local_env(
    seeded: Project, auth_emulator: AuthEmulator, signer: LocalAppCheckSigner, tmp_path: Path
) -> dict[str, str]:
    """What `make run` gives the service for the browser path (see local_harness/run_local.py)."""
    return seeded.service_env(
        FIREBASE_PROJECT_ID=auth_emulator.project_id,
        FIREBASE_AUTH_EMULATOR_HOST=auth_emulator.host,
        LOCAL_APP_CHECK_JWKS_FILE=str(signer.write_jwks(tmp_path / "jwks.json")),
        APP_CHECK_APP_IDS=signer.app_id,
    )


@pytest.fixture
def id_token(auth_emulator: AuthEmulator) -> str:
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    return signed_in_user(auth_emulator.host, email, "test-password").id_token


def _browser_headers(id_token: str, app_check_token: str) -> Headers:
    return {"Authorization": f"Bearer {id_token}", "X-Firebase-AppCheck": app_check_token}


# Each case: an App Check token that must be refused, made from the run's signer.
REFUSED_APP_CHECK: list[tuple[str, Callable[[LocalAppCheckSigner], str]]] = [
    ("signed by another key with the same kid", lambda s: _impostor(s, kid=s.kid).token()),
    ("signed by another key with its own kid", lambda s: _impostor(s).token()),
    ("expired", lambda s: s.token(lifetime_seconds=-60)),
    ("for another project", lambda s: s.token(project_id="another-project")),
    ("not a token", lambda s: "not-a-token"),
]


def _impostor(signer: LocalAppCheckSigner, kid: str | None = None) -> LocalAppCheckSigner:
    return LocalAppCheckSigner(signer.project_id, kid=kid)


def test_an_emulator_id_token_and_a_local_app_check_token_get_200(
    local_env: Headers,
    signer: LocalAppCheckSigner,
    id_token: str,
    seeded: Project,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = make_client(seeded, monkeypatch, **local_env)

    response = client.get("/models", headers=_browser_headers(id_token, signer.token()))

    assert response.status_code == 200
    assert response.get_json()["models"]


@pytest.mark.parametrize(
    ("name", "app_check_token"), REFUSED_APP_CHECK, ids=[c[0] for c in REFUSED_APP_CHECK]
)
def test_local_app_check_tokens_face_the_production_checks(
    local_env: Headers,
    signer: LocalAppCheckSigner,
    id_token: str,
    seeded: Project,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    app_check_token: Callable[[LocalAppCheckSigner], str],
) -> None:
    client = make_client(seeded, monkeypatch, **local_env)

    response = client.get("/models", headers=_browser_headers(id_token, app_check_token(signer)))

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_without_the_local_mode_a_local_app_check_token_is_refused(
    seeded: Project, auth_emulator: AuthEmulator, id_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Production verification, with "Google's" keys served by a TokenIssuer: the local run's
    # key is not among them, so its token is refused even though the ID token is good.
    env = seeded.service_env(
        FIREBASE_PROJECT_ID=auth_emulator.project_id,
        FIREBASE_AUTH_EMULATOR_HOST=auth_emulator.host,
    )
    issuer = TokenIssuer(auth_emulator.project_id)
    issuer.install(FirebaseTokenVerifier(auth_emulator.project_id, 2).app())
    client = make_client(seeded, monkeypatch, **env)
    local_token = LocalAppCheckSigner(auth_emulator.project_id).token()

    refused = client.get("/models", headers=_browser_headers(id_token, local_token))
    accepted = client.get("/models", headers=_browser_headers(id_token, issuer.app_check_token()))

    assert refused.status_code == 401
    assert accepted.status_code == 200


# --- The same over HTTP, against a real server process --------------------------------------


@pytest.fixture
def local_server(local_env: Headers) -> Iterator[FunctionServer]:
    server = FunctionServer(local_env).start()
    yield server
    server.stop()


def test_a_real_server_in_local_mode_checks_both_tokens(
    local_server: FunctionServer, signer: LocalAppCheckSigner, id_token: str
) -> None:
    url = f"{local_server.url}/models"

    ok_status, ok_body = get_json(url, _browser_headers(id_token, signer.token()))
    impostor = _impostor(signer, kid=signer.kid).token()
    forged_status, forged_body = get_json(url, _browser_headers(id_token, impostor))
    expired = signer.token(lifetime_seconds=-60)
    expired_status, expired_body = get_json(url, _browser_headers(id_token, expired))

    assert (ok_status, forged_status, expired_status) == (200, 401, 401)
    assert ok_body["models"]
    assert forged_body["error"]["code"] == expired_body["error"]["code"] == "unauthenticated"
