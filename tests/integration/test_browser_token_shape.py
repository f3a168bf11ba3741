"""Browser tokens of the wrong shape are refused before firebase-admin downloads any key."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from models_api.auth.firebase_tokens import FirebaseTokenVerifier
from tests.conftest import Project, make_client
from tests.support.firebase_tokens import TokenIssuer


def _with_header(token: str, **changes: Any) -> str:
    """The token with its JOSE header changed (signature left as it was)."""
    header_segment, payload, signature = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(header_segment + "=" * 4))
    header.update(changes)
    header = {name: value for name, value in header.items() if value is not None}
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.{payload}.{signature}"


# (name, (id token, app check token)) from a working pair: one of them is misshapen.
MISSHAPEN: list[tuple[str, Callable[[str, str], tuple[str, str]]]] = [
    ("app check alg none", lambda i, a: (i, _with_header(a, alg="none").rsplit(".", 1)[0] + ".")),
    ("app check without kid", lambda i, a: (i, _with_header(a, kid=None))),
    ("app check HS256", lambda i, a: (i, _with_header(a, alg="HS256"))),
    ("app check typ JWE", lambda i, a: (i, _with_header(a, typ="JWE"))),
    ("app check garbage", lambda i, a: (i, "garbage.garbage.garbage")),
    ("id token alg none", lambda i, a: (_with_header(i, alg="none").rsplit(".", 1)[0] + ".", a)),
    ("id token without kid", lambda i, a: (_with_header(i, kid=None), a)),
    ("id token payload not JSON", lambda i, a: (i.split(".")[0] + ".bm9wZQ." + i.split(".")[2], a)),
]


@pytest.mark.parametrize("failing", [frozenset(), frozenset({"app_check_keys"})])
def test_misshapen_tokens_get_401_with_zero_key_downloads(
    seeded: Project, monkeypatch: pytest.MonkeyPatch, failing: frozenset[str]
) -> None:
    issuer = TokenIssuer(seeded.project_id)
    issuer.install(FirebaseTokenVerifier(seeded.project_id, 2).app(), failing=failing)
    client = make_client(seeded, monkeypatch)
    good_pair = (issuer.id_token(), issuer.app_check_token())

    statuses = {}
    for name, misshape in MISSHAPEN:
        id_token, app_check = misshape(*good_pair)
        response = client.get(
            "/models",
            headers={"Authorization": f"Bearer {id_token}", "X-Firebase-AppCheck": app_check},
        )
        statuses[name] = (response.status_code, response.get_json()["error"]["code"])
    downloads_for_misshapen = sum(issuer.downloads.values())
    control = client.get(
        "/models",
        headers={"Authorization": f"Bearer {good_pair[0]}", "X-Firebase-AppCheck": good_pair[1]},
    )

    assert statuses == {name: (401, "unauthenticated") for name, _ in MISSHAPEN}
    assert downloads_for_misshapen == 0
    # The counter does count: a well-shaped pair makes firebase-admin fetch the keys.
    assert issuer.downloads["app_check_keys"] >= 1
    assert control.status_code == (503 if failing else 200)
