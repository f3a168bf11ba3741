"""No code of the project reads or writes a private part of the server stack.

gunicorn, functions-framework, Flask and werkzeug are used through their public entry points
only, so an upgrade within functions-framework's range needs no re-audit of our code. The
project's Python files (not .venv) are searched for the forms a private use takes.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEARCHED = ["main.py", "models_api", "local_harness", "bench", "tests", "drift_check"]
SERVER_STACK = r"(?:gunicorn|functions_framework|flask|werkzeug)"
PRIVATE_USES = {
    "a private module": re.compile(rf"\b{SERVER_STACK}(?:\.\w+)*\._\w"),
    "a subclass of a gunicorn worker": re.compile(r"gunicorn\.workers|\(\s*\w*Worker\s*\)"),
    "werkzeug's header list": re.compile(r"headers\._list"),
    "a private attribute of a server object": re.compile(
        r"\b(?:cfg|worker|arbiter|app\.wsgi_app|response|request|headers|environ)\._[a-z]\w*"
    ),
    "a ctypes call": re.compile(r"\bctypes\b"),
}
THIS_FILE = Path(__file__).resolve()


def _python_files() -> list[Path]:
    files: list[Path] = []
    for name in SEARCHED:
        path = ROOT / name
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return [file for file in files if file.resolve() != THIS_FILE]


def test_no_private_part_of_gunicorn_functions_framework_flask_or_werkzeug_is_used() -> None:
    found = []
    for file in _python_files():
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            for what, pattern in PRIVATE_USES.items():
                if pattern.search(line):
                    found.append(f"{file.relative_to(ROOT)}:{number}: {what}: {line.strip()}")

    assert found == []


def test_the_search_finds_what_it_looks_for() -> None:
    examples = [
        "from functions_framework._http import gunicorn",
        "from gunicorn.workers.gthread import ThreadWorker",
        "self.headers._list = reply.headers",
        "worker._accepting",
        "class ServiceThreadWorker(ThreadWorker):",
    ]
    for example in examples:
        assert any(pattern.search(example) for pattern in PRIVATE_USES.values()), example
