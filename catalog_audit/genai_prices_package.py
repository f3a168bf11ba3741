"""genai-prices' PyPI package read as data, never executed.

The package (a wheel, or its installed `genai_prices/` folder) ships its prices as Python:
`genai_prices/data.py` assigns `providers = [Provider(id=..., models=[ModelInfo(...)]), ...]`.
This module parses that file with `ast` and turns the literal into the JSON shape of the
published `prices/data.json`: each constructor call `Name(key=value, ...)` becomes a dict of
its keywords, `Decimal('1.5')` a Decimal, `datetime.date(2026, 1, 1)` a date. Anything else
(a name, an operator, a call with other arguments) is refused with DatasetError naming the
file and line: the code in the file is never run.
"""

from __future__ import annotations

import ast
import datetime as dt
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

DATA_MEMBER = "genai_prices/data.py"


class PackageError(ValueError):
    """The file is not genai-prices' data module (or a wheel/folder holding it)."""


def is_wheel(path: Path) -> bool:
    """True for a zip archive (a wheel), detected from its content."""
    return path.is_file() and zipfile.is_zipfile(path)


def data_source_in_wheel(path: Path) -> str:
    """The text of genai_prices/data.py inside a wheel."""
    try:
        with zipfile.ZipFile(path) as wheel:
            raw = wheel.read(DATA_MEMBER)
    except KeyError:
        raise PackageError(f"a zip archive without {DATA_MEMBER}") from None
    except (zipfile.BadZipFile, OSError) as error:
        raise PackageError(f"a zip archive that cannot be read ({error})") from None
    return _decoded(raw)


def wheel_version(path: Path) -> str:
    """The `Version:` of a wheel's METADATA ("" when it has none)."""
    try:
        with zipfile.ZipFile(path) as wheel:
            names = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
            metadata = wheel.read(names[0]).decode("utf-8", "replace") if names else ""
    except (zipfile.BadZipFile, OSError):
        return ""
    for line in metadata.splitlines():
        if line.startswith("Version:"):
            return line.partition(":")[2].strip()
    return ""


def data_file_in_folder(folder: Path) -> Path | None:
    """data.py of an installed genai_prices folder (or of the folder holding it), if any."""
    for candidate in (folder / "data.py", folder / DATA_MEMBER):
        if candidate.is_file() and (candidate.parent / "types.py").is_file():
            return candidate
    return None


def looks_like_data_module(text: str) -> bool:
    """Cheap check before parsing: the assignment genai-prices' data module makes."""
    return "providers: list[Provider] = [" in text or "\nproviders = [" in text


def providers_from_source(text: str) -> list[Any]:
    """The `providers` literal of genai_prices/data.py, as JSON-shaped data."""
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise PackageError(f"not Python (line {error.lineno}: {error.msg})") from None
    for statement in tree.body:
        target, value = _assignment(statement)
        if target == "providers" and value is not None:
            providers = _literal(value)
            if not isinstance(providers, list):
                raise PackageError(f"line {value.lineno}: providers is not a list")
            return providers
    raise PackageError("no `providers = [...]` assignment")


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PackageError(f"{DATA_MEMBER} is not UTF-8 text ({error.reason})") from None


def _assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
        return statement.target.id, statement.value
    if (
        isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
    ):
        return statement.targets[0].id, statement.value
    return None, None


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_literal(item) for item in node.elts]
    if isinstance(node, ast.Dict):
        pairs = zip(node.keys, node.values, strict=True)
        return {_literal(key) if key else _refuse(node): _literal(value) for key, value in pairs}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _literal(node.operand)
        if isinstance(operand, (int, float, Decimal)) and not isinstance(operand, bool):
            return -operand
    if isinstance(node, ast.Call):
        return _call(node)
    _refuse(node)


def _refuse(node: ast.expr) -> NoReturn:
    raise PackageError(f"line {node.lineno}: not data: {ast.unparse(node)[:60]!r}")


def _call(node: ast.Call) -> Any:
    name = ast.unparse(node.func)
    arguments = [_literal(argument) for argument in node.args]
    if name == "Decimal" and len(arguments) == 1 and not node.keywords:
        try:
            return Decimal(str(arguments[0]))
        except InvalidOperation:
            raise PackageError(f"line {node.lineno}: not a number: {arguments[0]!r}") from None
    if name in ("datetime.date", "datetime.time"):
        return _date_or_time(node, name, arguments)
    if isinstance(node.func, ast.Name) and not arguments:
        fields: dict[str, Any] = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise PackageError(f"line {node.lineno}: {name}(**...) is not data")
            fields[keyword.arg] = _literal(keyword.value)
        return fields
    raise PackageError(f"line {node.lineno}: not data: {ast.unparse(node)[:60]!r}")


_UTC = ("datetime.UTC", "datetime.timezone.utc")


def _date_or_time(node: ast.Call, name: str, arguments: list[Any]) -> dt.date | dt.time:
    """datetime.date(Y, M, D) or datetime.time(H, M[, S], tzinfo=datetime.UTC)."""
    if not all(isinstance(a, int) and not isinstance(a, bool) for a in arguments):
        raise PackageError(f"line {node.lineno}: {name} of non-integers")
    keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
    if (
        name == "datetime.time"
        and keywords.keys() <= {"tzinfo"}
        and (keywords.get("tzinfo", _UTC[0]) in _UTC)
    ):
        zone = dt.timezone.utc if keywords else None
        try:
            hour, minute, second = (*arguments, 0, 0, 0)[:3]
            return dt.time(hour, minute, second, tzinfo=zone)
        except (TypeError, ValueError) as error:
            raise PackageError(f"line {node.lineno}: {name}: {error}") from None
    if name == "datetime.date" and not keywords:
        try:
            return dt.date(*arguments)
        except (TypeError, ValueError) as error:
            raise PackageError(f"line {node.lineno}: {name}: {error}") from None
    raise PackageError(f"line {node.lineno}: not data: {ast.unparse(node)[:60]!r}")
