"""The documented web page, as a developer would build it, against a real `make run`, twice.

The page is docs/local-development.md's own snippet ("A web app against `make run`"), bundled
with the official `firebase` npm package by `esbuild` (both pinned in package.json), served
from its own origin and opened in headless Chromium: the Firebase JS SDK signs the dev user in
on the Auth emulator, gets an ID token and an App Check token (through a CustomProvider
fetching `make run`'s local token endpoint), fetches /models across origins (CORS) and renders
the table, each price with what it is per (an image model's output per image). Then `make run`
is stopped with Ctrl-C and started again, and the same browser profile (the SDK's cached tokens
in IndexedDB included) opens the same page again, unedited.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_harness.processes import ROOT
from local_harness.run_local import DEV_USER_EMAIL, port_is_free
from tests.support.catalog_documents import served_model_ids
from tests.support.chromium import PageOrigin
from tests.support.make_run import MakeRun, free_local_ports

# What the page reports to its own origin once the documented snippet has run (or failed).
REPORT = """
await fetch("/results", {method: "POST", body: JSON.stringify({
  status: response.status,
  request_id: response.headers.get("X-Request-Id"),
  user: user.email,
  rows: [...document.querySelectorAll("tr")].map((row) => [...row.cells].map((c) => c.textContent)),
})});
"""
ON_ERROR = """<script>
function reportError(error) {
  fetch("/results", {method: "POST", body: JSON.stringify({error: String(error)})});
}
window.addEventListener("error", (event) => reportError(event.error || event.message));
window.addEventListener("unhandledrejection", (event) => reportError(event.reason));
</script>"""


PAGE_DOC = ROOT / "docs" / "local-development.md"


def documented_page_script() -> str:
    """The JavaScript of the "A web app against `make run`" section, exactly as written there."""
    text = PAGE_DOC.read_text(encoding="utf-8")
    section = text.split("## A web app against `make run`", 1)[1]
    match = re.search(r"```js\n(.*?)```", section, re.DOTALL)
    assert match, "the web page section has no ```js block"
    return match.group(1)


def build_page(ports: dict[str, int], directory: Path) -> bytes:
    """The documented snippet on this run's ports, plus the report, bundled by esbuild."""
    script = documented_page_script()
    for default, variable in [
        ("http://localhost:8080", "PORT"),
        ("http://127.0.0.1:9099", "FIREBASE_AUTH_EMULATOR_PORT"),
        ("http://127.0.0.1:8082", "LOCAL_APP_CHECK_PORT"),
    ]:
        assert default in script, f"the documented page no longer uses {default}"
        script = script.replace(default, default.rsplit(":", 1)[0] + f":{ports[variable]}")
    source = directory / "page.js"
    source.write_text(script + REPORT, encoding="utf-8")
    bundle = directory / "page.bundle.js"
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "esbuild"), str(source), "--bundle",
         "--format=esm", f"--outfile={bundle}", "--log-level=warning"],
        cwd=ROOT, env={**os.environ, "NODE_PATH": str(ROOT / "node_modules")},
        check=True, timeout=60,
    )  # fmt: skip
    return bundle.read_bytes()


def page_files(bundle: bytes) -> dict[str, tuple[bytes, str]]:
    """The page (its error reporter first, then the bundle as a module) and the bundle."""
    page = (
        f"<!doctype html><html><head>{ON_ERROR}"
        '<script type="module" src="/page.bundle.js"></script></head><body></body></html>'
    ).encode()
    return {"/page.html": (page, "text/html"), "/page.bundle.js": (bundle, "text/javascript")}


@pytest.fixture
def ports() -> dict[str, int]:
    return free_local_ports()


@pytest.fixture
def page_origin(ports: dict[str, int], tmp_path: Path) -> Iterator[PageOrigin]:
    origin = PageOrigin()
    origin.files.update(page_files(build_page(ports, tmp_path)))
    yield origin
    origin.close()


def _access_line(run: MakeRun, request_id: str) -> dict[str, Any]:
    for line in run.output:
        if line.startswith("{") and request_id in line:
            entry: dict[str, Any] = json.loads(line)
            if "httpRequest" in entry:
                return entry
    raise AssertionError(f"no access line for {request_id} in: {run.output}")


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_documented_web_page_works_with_make_run_and_again_after_a_restart(
    ports: dict[str, int], page_origin: PageOrigin, tmp_path: Path
) -> None:
    profile = tmp_path / "chromium-profile"  # one browser profile for both visits
    origins = f"http://localhost:3000,{page_origin.url}"
    seen, access, last_lines, statuses = [], [], [], []
    for _ in range(2):
        run = MakeRun(ports, CORS_ALLOWED_ORIGINS=origins).wait_for_banner()
        try:
            seen.append(page_origin.visit("/page.html", profile, timeout=90))
            if "request_id" in seen[-1]:
                access.append(_access_line(run, seen[-1]["request_id"]))
        finally:
            statuses.append(run.stop())
        last_lines.append(run.output[-1] if run.output else "")

    for visit in seen:
        assert "error" not in visit, visit
        assert visit["status"] == 200
        assert visit["user"] == DEV_USER_EMAIL
        assert sorted(row[0] for row in visit["rows"]) == sorted(served_model_ids())
        prices = {row[0]: row[1:] for row in visit["rows"]}
        assert prices["seedream-4.5"][1].endswith(" credits per image")
        assert float(prices["seedream-4.5"][1].split()[0]) > 0
        assert prices["gpt-5.2"] == [
            "0.245 credits per 1K input tokens",
            "1.96 credits per 1K output tokens",
        ]
    for line in access:  # both tokens came from the SDK and passed the service's checks
        assert line["httpRequest"]["status"] in (200, 304)  # 304: Chromium revalidated its copy
        assert line["auth"]["kind"] == "firebase", line
    assert statuses == [0, 0]
    for last in last_lines:
        assert last.startswith("make run: stopped the service, both emulators"), last
        assert last.endswith("are free")
    assert all(port_is_free(port) for port in ports.values())


def test_the_documented_install_line_pins_what_package_json_pins() -> None:
    pinned = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"]
    line = next(
        line
        for line in PAGE_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("npm install ")
    )

    assert line.split("#")[0].split()[2:] == [
        f"firebase@{pinned['firebase']}",
        f"esbuild@{pinned['esbuild']}",
    ]
