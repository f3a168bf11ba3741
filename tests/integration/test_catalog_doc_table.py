"""docs/catalog.md's table of served models and prices is the data, not a copy that can drift."""

from __future__ import annotations

import pytest

from catalog_seed.__main__ import main
from catalog_seed.table import TABLE_END, TABLE_START
from local_harness.processes import ROOT


def test_the_catalog_page_table_equals_what_the_data_generates_today(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Generated for today (UTC): a model past its retirement date must have left the table."""
    assert main(["table"]) == 0
    generated = capsys.readouterr().out.strip()

    page = (ROOT / "docs" / "catalog.md").read_text(encoding="utf-8")
    start, end = page.index(TABLE_START), page.index(TABLE_END) + len(TABLE_END)

    assert page[start:end] == generated, "run `python -m catalog_seed table` into docs/catalog.md"
