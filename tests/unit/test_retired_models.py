"""Which ids a snapshot answers 410 for, and which successor each names."""

from __future__ import annotations

import datetime as dt

from models_api.catalog.cache import CatalogSnapshot
from models_api.catalog.model_schema import Retirement, retirement_from_document
from models_api.errors import Gone
from models_api.http.semantics import error_reply
from tests.support.catalog_documents import model

TODAY = dt.date(2026, 12, 1)
SUCCESSOR = model("gpt-5.4")
PAST_ITS_DATE = model(
    "gpt-5.2-codex",
    lifecycle="deprecated",
    deprecation_date="2026-04-22",
    retirement_date="2026-07-23",
    replacement="gpt-5.4",
)


def test_a_model_past_its_retirement_date_is_retired_with_its_replacement() -> None:
    snapshot = CatalogSnapshot([SUCCESSOR, PAST_ITS_DATE], 0, TODAY)

    assert [m.id for m in snapshot.models] == ["gpt-5.4"]
    assert snapshot.retirement("gpt-5.2-codex") == Retirement(
        "gpt-5.2-codex", "gpt-5.4", dt.date(2026, 7, 23)
    )
    assert snapshot.retirement("gpt-5.4") is None  # served
    assert snapshot.retirement("never-existed") is None  # 404, not 410


def test_the_successor_is_followed_through_retired_models_to_a_served_one() -> None:
    retired = [
        Retirement("a", "b", dt.date(2026, 1, 1)),
        Retirement("b", "gpt-5.4", dt.date(2026, 2, 1)),
        Retirement("loop-1", "loop-2", None),
        Retirement("loop-2", "loop-1", None),
        Retirement("dangling", "not-in-the-catalog", None),
    ]
    snapshot = CatalogSnapshot([SUCCESSOR], 0, TODAY, retired)

    assert snapshot.retirement("a") == Retirement("a", "gpt-5.4", dt.date(2026, 1, 1))
    assert snapshot.retirement("loop-1") == Retirement("loop-1", None, None)
    assert snapshot.retirement("dangling") == Retirement("dangling", None, None)


def test_a_retired_document_needs_no_price_and_a_bad_field_is_dropped() -> None:
    assert retirement_from_document(
        "old", {"status": "retired", "replacement": "new", "retirement_date": "2026-07-23"}
    ) == Retirement("old", "new", dt.date(2026, 7, 23))
    assert retirement_from_document(
        "old", {"replacement": "Not An Id!", "retirement_date": "soon"}
    ) == Retirement("old", None, None)
    assert retirement_from_document("old", {"replacement": "old"}).replacement is None


def test_the_gone_envelope_names_the_successor_in_body_and_link() -> None:
    reply = error_reply(Gone("gpt-5.2-codex", "gpt-5.4", "2026-07-23"), "req-1")

    assert reply.status == 410
    assert ("Link", '</models/gpt-5.4>; rel="successor-version"') in reply.headers
    assert b'"code": "gone"' in reply.body
    assert b'"successor": "gpt-5.4"' in reply.body
    assert b"2026-07-23" in reply.body


def test_without_a_successor_there_is_no_link() -> None:
    reply = error_reply(Gone("old", None, None), "req-1")

    assert not [name for name, _ in reply.headers if name == "Link"]
    assert b'"successor": null' in reply.body
