"""Every google resource, data source, argument and block in infra/*.tf exists in the provider.

`terraform validate` needs the provider binary, which cannot be downloaded here; this checks the
same names against the schema of google provider 6.50.0 (tests/infra/provider_schema.py): an
unknown or misplaced name (a block written as an argument or the reverse, a repeated single
block) and a missing required argument or block all fail.
"""

from __future__ import annotations

import re
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from tests.infra.provider_schema import PROVIDER_VERSION, load_schema
from tests.infra.terraform_eval import INFRA
from tests.infra.terraform_files import terraform_documents

META_ARGUMENTS = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner"}
# Resources of the other providers versions.tf declares (checked for being declared only).
OTHER_PROVIDERS = {"time": "time_sleep", "random": "random_password", "archive": "archive_file"}
# Built into Terraform itself (no provider to declare or lock).
BUILT_IN = {"terraform_data"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return load_schema()


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and item.get("__is_block__") for item in value)
    )


def check_block(body: dict[str, Any], spec: dict[str, Any], where: str, top: bool) -> list[str]:
    """Problems of one block body against its schema (recursively)."""
    problems: list[str] = []
    present: set[str] = set()
    for key, value in body.items():
        if key.startswith("__"):
            continue
        if top and key == "lifecycle":
            for lifecycle in value if isinstance(value, list) else []:
                for ignored in lifecycle.get("ignore_changes", []):
                    if not isinstance(ignored, str) or ignored in ("all", "${all}"):
                        continue
                    name = ignored.removeprefix("${").removesuffix("}").split(".")[0]
                    if name not in spec["attributes"] and name not in spec["blocks"]:
                        problems.append(f"{where}: ignore_changes names unknown {name!r}")
            continue
        if top and key in META_ARGUMENTS:
            continue
        if key == "dynamic" and isinstance(value, list):
            for dynamic in value:
                for name, generator in dynamic.items():
                    if name.startswith("__"):
                        continue
                    present.add(name)
                    if name not in spec["blocks"]:
                        problems.append(f"{where}: dynamic {name!r} is not a block here")
                        continue
                    for content in generator.get("content", []):
                        problems += check_block(
                            content, spec["blocks"][name]["block"], f"{where}.{name}", False
                        )
            continue
        present.add(key)
        if _is_block(value):
            if key not in spec["blocks"]:
                kind = "an argument" if key in spec["attributes"] else "unknown"
                problems.append(f"{where}: block {key!r} is {kind} here")
                continue
            nested = spec["blocks"][key]
            if len(value) > 1 and not nested["list"]:
                problems.append(f"{where}: block {key!r} may appear only once")
            for item in value:
                problems += check_block(item, nested["block"], f"{where}.{key}", False)
        elif key not in spec["attributes"]:
            kind = "a block" if key in spec["blocks"] else "unknown"
            problems.append(f"{where}: argument {key!r} is {kind} here")
    for name, attribute in spec["attributes"].items():
        if attribute["required"] and name not in present:
            problems.append(f"{where}: required argument {name!r} is missing")
    for name, nested in spec["blocks"].items():
        if nested["required"] and name not in present:
            problems.append(f"{where}: required block {name!r} is missing")
    return problems


def check_documents(
    documents: list[tuple[str, dict[str, Any]]], schema: dict[str, Any]
) -> tuple[list[str], int]:
    """(problems, number of google resources and data sources checked)."""
    problems: list[str] = []
    checked = 0
    for file_name, document in documents:
        for section, kinds in (("resource", "resource"), ("data", "data")):
            for block in document.get(section, []):
                for tf_type, named in block.items():
                    if tf_type.startswith("__"):
                        continue
                    for name, body in named.items():
                        if name.startswith("__"):
                            continue
                        where = f"{file_name}: {section} {tf_type}.{name}"
                        if not tf_type.startswith("google_"):
                            if tf_type not in {*OTHER_PROVIDERS.values(), *BUILT_IN}:
                                problems.append(f"{where}: provider not declared in versions.tf")
                            continue
                        if tf_type not in schema[kinds]:
                            problems.append(f"{where}: no such {section} in google provider")
                            continue
                        checked += 1
                        problems += check_block(body, schema[kinds][tf_type], where, True)
        for block in document.get("provider", []):
            for name, body in block.items():
                if name == "google":
                    where = f"{file_name}: provider"
                    problems += check_block(body, schema["provider"], where, True)
    return problems, checked


def test_every_google_name_in_infra_exists_in_the_provider_schema(schema: dict[str, Any]) -> None:
    problems, checked = check_documents(terraform_documents(explicit_blocks=True), schema)

    assert not problems, "\n".join(problems)
    assert checked >= 20


def test_the_schema_is_the_one_the_version_constraint_names(schema: dict[str, Any]) -> None:
    versions = (INFRA / "versions.tf").read_text(encoding="utf-8")
    match = re.search(r'google = \{[^}]*version\s*=\s*"~> (\d+)\.(\d+)"', versions, re.DOTALL)

    assert match, 'versions.tf must pin google as "~> MAJOR.MINOR"'
    assert schema["provider_version"] == PROVIDER_VERSION
    major, minor, _ = (int(p) for p in PROVIDER_VERSION.split("."))
    assert (int(match.group(1)), int(match.group(2))) == (major, minor)


def test_every_provider_used_is_declared() -> None:
    versions = (INFRA / "versions.tf").read_text(encoding="utf-8")
    for provider in OTHER_PROVIDERS:
        assert re.search(rf'{provider} = \{{\s*source\s*=\s*"hashicorp/{provider}"', versions)


BROKEN = """
resource "google_secret_manager_secret" "typo" {
  secret_idd = "x"
  replication { auto {} }
}
resource "google_secret_manager_secret" "missing_required" {
  project = "p"
  replication { auto {} }
}
resource "google_cloudfunctions2_function" "misplaced" {
  name = "f"
  location = "us-central1"
  service_config = { available_cpu = "1" }
  build_config {
    runtime = "python311"
    entry_point { x = 1 }
  }
  build_config { runtime = "python312" }
}
resource "google_storage_bucket_object" "ignored" {
  name   = "o"
  bucket = "b"
  lifecycle { ignore_changes = [sourcee] }
}
resource "google_cloudfunctions2_functionn" "unknown_type" {
  name = "f"
}
resource "google_storage_bucket" "dyn" {
  name     = "b"
  location = "US"
  dynamic "lifecycle_rulez" {
    for_each = []
    content {}
  }
}
"""


def test_the_check_finds_unknown_misplaced_and_missing_names(schema: dict[str, Any]) -> None:
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=True)
    document = hcl2.loads(BROKEN, serialization_options=options)

    problems, _ = check_documents([("broken.tf", document)], schema)

    text = "\n".join(problems)
    assert "typo: argument 'secret_idd' is unknown here" in text
    assert "typo: required argument 'secret_id' is missing" in text
    assert "missing_required: required argument 'secret_id' is missing" in text
    assert "misplaced: argument 'service_config' is a block here" in text
    assert "misplaced.build_config: block 'entry_point' is an argument here" in text
    assert "misplaced: block 'build_config' may appear only once" in text
    assert "unknown_type: no such resource in google provider" in text
    assert "dyn: dynamic 'lifecycle_rulez' is not a block here" in text
    assert "ignored: ignore_changes names unknown 'sourcee'" in text
