"""infra/*.tf as python-hcl2 reads them (quotes stripped, blocks as lists), parsed once."""

from __future__ import annotations

import functools
from typing import Any

import hcl2
from hcl2 import SerializationOptions

from tests.infra.terraform_eval import INFRA


@functools.cache
def terraform_documents() -> list[tuple[str, dict[str, Any]]]:
    """(file name, parsed document) of every infra/*.tf, in name order; read-only."""
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    found = []
    for path in sorted(INFRA.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            found.append((path.name, hcl2.load(handle, serialization_options=options)))
    return found


def terraform_resources() -> dict[tuple[str, str], dict[str, Any]]:
    """Every resource block of infra/, by (type, name)."""
    return {
        (kind, name): body
        for _, document in terraform_documents()
        for block in document.get("resource", [])
        for kind, named in block.items()
        for name, body in named.items()
    }
