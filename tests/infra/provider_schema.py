"""The google provider's schema, offline: extracted from PyPI's cdktf-cdktf-provider-google.

`terraform init`/`validate` cannot download the provider here, but the CDK for Terraform
bindings of the provider are published on PyPI, and they are generated from the provider's own
schema: `package/.jsii` (inside the wheel's `provider-google@<version>.jsii.tgz`) describes every
resource's config interface (which property is optional, which refers to a nested block type),
and `package/lib/<resource>/index.js` maps each property to its Terraform name
(`...ToTerraform(struct)` and `synthesizeAttributes()`). From both this module builds

    {"provider_version": ..., "resource": {type: BLOCK}, "data": {type: BLOCK}, "provider": BLOCK}
    BLOCK = {"attributes": {name: {"required": bool}},
             "blocks": {name: {"required": bool, "list": bool, "block": BLOCK}}}

and caches it as JSON under `.venv-tools/` (ignored by git), so only the first run downloads
the wheel (~49 MB, from the package index pip is configured with; its sha256 is pinned here).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "cdktf-cdktf-provider-google"
PACKAGE_VERSION = "16.12.1"
# The google provider release the bindings were generated from (package.json cdktf.provider).
PROVIDER_VERSION = "6.50.0"
WHEEL_SHA256 = "88d021c89e1cf2abf2c935716d6548d26fe3da4bed30713d4fa36df1ef137436"
CACHE = ROOT / ".venv-tools" / "provider-schema" / f"google-{PROVIDER_VERSION}.json"
PIP = ROOT / ".venv-tools" / "bin" / "pip"

_TO_TERRAFORM = re.compile(
    r"^function (\w+)ToTerraform\(struct\) \{\n(.*?)^\}", re.MULTILINE | re.DOTALL
)
_SYNTHESIZE = re.compile(
    r"^    synthesizeAttributes\(\) \{\n(.*?)^    \}", re.MULTILINE | re.DOTALL
)
_STRUCT_ENTRY = re.compile(r"^\s+(\w+): .*\(struct\.(\w+)\),?$", re.MULTILINE)
_THIS_ENTRY = re.compile(r"^\s+(\w+): .*\(this\._(\w+)(?:\.internalValue)?\),?$", re.MULTILINE)
_CLASS_TYPE = re.compile(r'^(\w+)\.tfResourceType = "(\w+)";$', re.MULTILINE)
_CONSTRUCTOR_ENTRY = re.compile(
    r"^\s+this\._(\w+)(?:\.internalValue)? = config\.(\w+);$", re.MULTILINE
)


def load_schema() -> dict[str, Any]:
    """The cached schema, built (and the wheel downloaded) on first use."""
    if CACHE.exists():
        cached: dict[str, Any] = json.loads(CACHE.read_text(encoding="utf-8"))
        if cached.get("package_version") == PACKAGE_VERSION:
            return cached
    with tempfile.TemporaryDirectory() as scratch:
        schema = build_schema(_download(Path(scratch)))
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    CACHE.write_text(json.dumps(schema, sort_keys=True), encoding="utf-8")
    return schema


def _download(directory: Path) -> Path:
    subprocess.run(
        [
            str(PIP),
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(directory),
            f"{PACKAGE}=={PACKAGE_VERSION}",
        ],
        check=True,
        timeout=600,
    )
    (wheel,) = directory.glob("*.whl")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert digest == WHEEL_SHA256, f"{wheel.name}: sha256 {digest}, expected {WHEEL_SHA256}"
    return wheel


def build_schema(wheel: Path) -> dict[str, Any]:
    """Read the wheel's jsii assembly and generated JavaScript; return the schema."""
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".jsii.tgz")]
        tgz = archive.read(member)
    sources: dict[str, str] = {}
    assembly: dict[str, Any] = {}
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        for info in tar:
            if info.name == "package/.jsii":
                handle = tar.extractfile(info)
                assert handle is not None
                assembly = json.load(handle)
            elif info.name == "package/package.json":
                handle = tar.extractfile(info)
                assert handle is not None
                package = json.load(handle)
            elif info.name.startswith("package/lib/") and info.name.endswith("/index.js"):
                handle = tar.extractfile(info)
                assert handle is not None
                sources[info.name] = handle.read().decode("utf-8")
    provider_version = package["cdktf"]["provider"]["version"]
    assert provider_version == PROVIDER_VERSION, provider_version
    return _Builder(assembly["types"], sources).build(provider_version)


class _Builder:
    def __init__(self, types: dict[str, Any], sources: dict[str, str]) -> None:
        self._types = types
        self._names: dict[str, dict[str, str]] = {}  # interface name -> camel -> terraform
        self._classes: dict[str, str] = {}  # class name -> terraform type
        for text in sources.values():
            for function, body in _TO_TERRAFORM.findall(text):
                interface = function[0].upper() + function[1:]
                self._names[interface] = {c: t for t, c in _STRUCT_ENTRY.findall(body)}
            for class_name, tf_type in _CLASS_TYPE.findall(text):
                self._classes[class_name] = tf_type
                code = text[text.index(f"class {class_name} ") :]
                match = _SYNTHESIZE.search(code)
                assert match, class_name
                fields = {field: tf for tf, field in _THIS_ENTRY.findall(match.group(1))}
                # The constructor copies config.<property> into this._<field> (a property
                # may be renamed, e.g. buildAttribute -> _build); synthesizeAttributes maps
                # this._<field> to the Terraform name.
                constructor = code[: code.index("synthesizeAttributes()")]
                self._names[f"{class_name}Config"] = {
                    prop: fields[field]
                    for field, prop in _CONSTRUCTOR_ENTRY.findall(constructor)
                    if field in fields
                }

    def build(self, provider_version: str) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "package_version": PACKAGE_VERSION,
            "provider_version": provider_version,
            "resource": {},
            "data": {},
        }
        for fqn, spec in self._types.items():
            if spec.get("kind") != "class" or spec["name"] not in self._classes:
                continue
            tf_type = self._classes[spec["name"]]
            config = self._block(f"{fqn}Config")
            base = spec.get("base", "")
            if base == "cdktf.TerraformResource":
                schema["resource"][tf_type] = config
            elif base == "cdktf.TerraformDataSource":
                schema["data"][tf_type] = config
            elif base == "cdktf.TerraformProvider":
                schema["provider"] = config
        assert "google_cloudfunctions2_function" in schema["resource"]
        assert "provider" in schema
        return schema

    def _block(self, fqn: str) -> dict[str, Any]:
        spec = self._types[fqn]
        names = self._names[spec["name"]]
        attributes: dict[str, Any] = {}
        blocks: dict[str, Any] = {}
        for prop in spec.get("properties", []):
            tf_name = names[prop["name"]]
            required = not prop.get("optional", False)
            nested, is_list = self._nested(prop["type"])
            if nested is None:
                attributes[tf_name] = {"required": required}
            else:
                blocks[tf_name] = {
                    "required": required,
                    "list": is_list,
                    "block": self._block(nested),
                }
        return {"attributes": attributes, "blocks": blocks}

    def _nested(self, type_ref: dict[str, Any]) -> tuple[str | None, bool]:
        """(fqn of a nested block type, whether it repeats) or (None, False) for attributes."""
        if "fqn" in type_ref:
            fqn = type_ref["fqn"]
            target = self._types.get(fqn)
            if target and target.get("datatype") and target["name"] in self._names:
                return fqn, False
            return None, False
        if "union" in type_ref:
            for option in type_ref["union"]["types"]:
                found, is_list = self._nested(option)
                if found:
                    return found, is_list
            return None, False
        if "collection" in type_ref:
            found, _ = self._nested(type_ref["collection"]["elementtype"])
            return found, found is not None
        return None, False
