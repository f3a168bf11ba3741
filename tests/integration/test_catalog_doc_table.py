"""The docs' table of served models and prices is the data, not a copy that can drift."""

from __future__ import annotations

import pytest

from catalog_seed.__main__ import main
from catalog_seed.table import TABLE_END, TABLE_START
from local_harness.processes import ROOT


def test_the_docs_table_equals_what_the_data_generates_today(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Generated for today (UTC): a model past its retirement date must have left the table."""
    assert main(["table"]) == 0
    generated = capsys.readouterr().out.strip()

    holders = [
        path
        for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        if TABLE_START in path.read_text(encoding="utf-8")
    ]
    assert len(holders) == 1, f"exactly one page holds the table: {holders}"
    text = holders[0].read_text(encoding="utf-8")
    start, end = text.index(TABLE_START), text.index(TABLE_END) + len(TABLE_END)

    assert text[start:end] == generated, f"run `python -m catalog_seed table` into {holders[0]}"
