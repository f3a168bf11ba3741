"""infra/firestore.rules denies every client SDK read and write of the catalog and the API keys.

Nothing offline evaluates the Firestore rules language: Google's Firestore emulator (a Java jar
the Firebase CLI downloads at run time, needed by @firebase/rules-unit-testing) cannot be
fetched here, and the npm Firestore emulator this repository uses does not evaluate rules. So
this test parses the file itself (match blocks, their nesting and their allow statements) and
evaluates the part that decides access structurally: which `allow` statements apply to a
document path (a rule applies when its whole match path matches; rules are OR-ed). Every
statement that applies to a catalog or API-key document, at any depth, must be `if false`.
What a real deployment confirms: tests/system can try a client SDK read (README, infra).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

RULES = Path(__file__).resolve().parents[2] / "infra" / "firestore.rules"
TOKEN = re.compile(
    r"//[^\n]*|match\s+(\S+)\s*\{|allow\s+([\w,\s]+?)\s*(?::\s*if\s+([^;]+))?;|\{|\}"
)


@dataclass(frozen=True)
class Allow:
    path: tuple[str, ...]
    methods: frozenset[str]
    condition: str


def parse(text: str) -> list[Allow]:
    """Every allow statement with the full match path it sits under."""
    body = text.split("service cloud.firestore", 1)[1]
    stack: list[str | None] = []
    allows: list[Allow] = []
    for token in TOKEN.finditer(body):
        whole, match_path, methods, condition = token.group(0, 1, 2, 3)
        if whole.startswith("//"):
            continue
        if match_path is not None:
            stack.append(match_path)
        elif methods is not None:
            segments = tuple(s for p in stack if p for s in p.strip("/").split("/") if s)
            allows.append(
                Allow(
                    segments,
                    frozenset(m.strip() for m in methods.split(",")),
                    (condition or "true").strip(),
                )
            )
        elif whole == "{":
            stack.append(None)
        elif whole == "}":
            stack.pop()
    assert not stack, "unbalanced braces"
    return allows


def matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    """Firestore path matching: literal, {single} segment, {rest=**} for the rest (>= 0)."""
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if re.fullmatch(r"\{\w+=\*\*\}", head):
        return True
    if not path:
        return False
    if re.fullmatch(r"\{\w+\}", head) or head == path[0]:
        return matches(rest, path[1:])
    return False


def applying(allows: list[Allow], document: str) -> list[Allow]:
    path = ("databases", "(default)", "documents", *document.strip("/").split("/"))
    return [a for a in allows if matches(a.path, path)]


DOCUMENTS = [
    "models/gpt-4o",
    "models/gpt-4o/prices/2024",
    "api_keys/k_123",
    "api_keys/k_123/history/1",
    "api_keys_index/head",
    "api_keys_changes/00.1",
    "anything_else/x",
]


@pytest.fixture(scope="module")
def allows() -> list[Allow]:
    return parse(RULES.read_text(encoding="utf-8"))


def test_the_file_is_version_2_rules_for_firestore() -> None:
    text = RULES.read_text(encoding="utf-8")

    assert re.search(r"^rules_version = '2';$", text, re.MULTILINE)
    assert "service cloud.firestore {" in text
    assert "match /databases/{database}/documents {" in text


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_rule_that_applies_to_the_services_data_denies(
    allows: list[Allow], document: str
) -> None:
    found = applying(allows, document)

    assert found, f"no rule names {document}: denial would rest on the default alone"
    for allow in found:
        assert allow.condition == "false", (document, allow)


@pytest.mark.parametrize("collection", ["models", "api_keys"])
def test_the_service_collections_are_denied_explicitly_for_reads_and_writes(
    allows: list[Allow], collection: str
) -> None:
    explicit = [a for a in allows if collection in a.path]

    assert explicit
    assert all({"read", "write"} <= a.methods and a.condition == "false" for a in explicit)


def test_the_evaluator_sees_an_allow_that_would_leak() -> None:
    leaky = parse(
        "service cloud.firestore {\n match /databases/{database}/documents {\n"
        "  match /{document=**} { allow read: if request.auth != null; }\n"
        "  match /api_keys/{id} { allow read, write: if false; }\n }\n}\n"
    )

    opened = applying(leaky, "api_keys/k_1")
    assert [a.condition for a in opened] == ["request.auth != null", "false"]
    assert applying(leaky, "models/x/y/z")[0].condition == "request.auth != null"
    assert not applying(
        parse(
            "service cloud.firestore { match /databases/{d}/documents { "
            "match /other/{id} { allow read: if true; } } }"
        ),
        "api_keys/k_1",
    )


def test_terraform_deploys_this_file() -> None:
    rules_tf = (RULES.parent / "firestore_rules.tf").read_text(encoding="utf-8")
    firestore_tf = (RULES.parent / "firestore.tf").read_text(encoding="utf-8")

    assert 'standalone_rules = file("${path.module}/firestore.rules")' in rules_tf
    assert "{ (local.api_keys_release_name) = local.standalone_rules }" in firestore_tf
    assert 'resource "google_firebaserules_release" "firestore"' in firestore_tf
