"""infra/*.tf as python-hcl2 reads them (quotes stripped), each file parsed once."""

from __future__ import annotations

import functools
from typing import Any

import hcl2
from hcl2 import SerializationOptions

from tests.infra.terraform_eval import INFRA


@functools.cache
def terraform_document(name: str, explicit_blocks: bool = False) -> dict[str, Any]:
    """The parsed infra/<name>: blocks as lists (explicit_blocks marks them); read-only."""
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=explicit_blocks)
    with (INFRA / name).open(encoding="utf-8") as handle:
        document: dict[str, Any] = hcl2.load(handle, serialization_options=options)
    return document


def terraform_documents(explicit_blocks: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """(file name, parsed document) of every infra/*.tf, in name order; read-only."""
    return [
        (path.name, terraform_document(path.name, explicit_blocks))
        for path in sorted(INFRA.glob("*.tf"))
    ]


def terraform_resources() -> dict[tuple[str, str], dict[str, Any]]:
    """Every resource block of infra/, by (type, name)."""
    return {
        (kind, name): body
        for _, document in terraform_documents()
        for block in document.get("resource", [])
        for kind, named in block.items()
        for name, body in named.items()
    }
