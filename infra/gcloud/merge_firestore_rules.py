"""Merge the service's Firestore rules block into a project's own rules file (deploy.sh).

The same merge as infra/firestore_rules.tf (tests/infra compare the two): the block is inserted
right after the one `match /databases/{database}/documents {` line and everything else is kept
byte for byte; a base file that could open the service's collections is refused.

    python3 infra/gcloud/merge_firestore_rules.py BASE_RULES SERVICE_BLOCK > merged.rules
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOCUMENTS_OPENER = re.compile(
    r"^([ \t]*match\s+/databases/\{\w+\}/documents\s*\{[ \t]*)$", re.MULTILINE
)
WILDCARD_FIRST_SEGMENT = re.compile(r"match\s+/\{")
SERVICE_COLLECTIONS = re.compile(r"match\s+/(models|api_keys|api_keys_index|api_keys_changes)\b")


def merge_problems(base: str) -> list[str]:
    """Why `base` cannot take the service's block (the messages Terraform gives)."""
    problems = []
    if len(DOCUMENTS_OPENER.findall(base)) != 1:
        problems.append(
            "the base rules must have exactly one line `match /databases/{database}/documents {`"
        )
    if WILDCARD_FIRST_SEGMENT.search(base):
        problems.append(
            "the base rules match a wildcard first segment (match /{...}); rules are OR-ed, so "
            "it could open the service's collections: name the collections it is meant for"
        )
    if SERVICE_COLLECTIONS.search(base):
        problems.append(
            "the base rules already have rules for the service's collections (models, api_keys, "
            "api_keys_index, api_keys_changes): remove them (the merge adds the service's own)"
        )
    return problems


def merge(base: str, service_block: str) -> str:
    """`base` with `service_block` after its documents line."""
    block = service_block.removesuffix("\n")
    return DOCUMENTS_OPENER.sub(lambda m: f"{m.group(1)}\n{block}", base, count=1)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 64
    base = Path(argv[0]).read_text(encoding="utf-8")
    problems = merge_problems(base)
    if problems:
        print(f"{argv[0]}: " + "; ".join(problems), file=sys.stderr)
        return 1
    sys.stdout.write(merge(base, Path(argv[1]).read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
