"""docs/catalog.md's table of served models and prices is the data, not a copy that can drift."""

from __future__ import annotations

import datetime as dt

import pytest

from catalog_seed.__main__ import main
from catalog_seed.table import TABLE_END, TABLE_START_PREFIX, table_date
from local_harness.processes import ROOT


def test_the_catalog_page_table_equals_what_the_data_generates_for_its_day(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The table names its day; regenerated for that day from the data, it must be identical."""
    page = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    served_on = table_date(page)
    assert main(["table", "--on", served_on.isoformat()]) == 0
    generated = capsys.readouterr().out.strip()

    start, end = page.index(TABLE_START_PREFIX), page.index(TABLE_END) + len(TABLE_END)
    assert page[start:end] == generated, (
        f"run `python -m catalog_seed table --on {served_on}` (or without --on for today) "
        "into docs/catalog.md"
    )


def test_a_model_past_its_retirement_date_leaves_the_table_on_that_day(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """gpt-5-mini shuts down on 2026-12-11: listed the day before, gone on the day."""
    assert main(["table", "--on", "2026-12-10"]) == 0
    before = capsys.readouterr().out
    assert main(["table", "--on", "2026-12-11"]) == 0
    after = capsys.readouterr().out
    assert "| `gpt-5-mini` |" in before
    assert "| `gpt-5-mini` |" not in after
    assert "Models served on 2026-12-11 (UTC):" in after


def test_table_refuses_a_malformed_day(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "--on", "tomorrow"]) == 64
    assert "usage: python -m catalog_seed table [--on YYYY-MM-DD]" in capsys.readouterr().err


def test_the_page_table_is_not_dated_in_the_future() -> None:
    page = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    assert table_date(page) <= dt.datetime.now(dt.timezone.utc).date()
