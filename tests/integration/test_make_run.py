"""`make run` end to end: the real `python -m local_harness.run_local`, its printed curl lines
replayed over HTTP, its export block used by the operator CLI and by README's curl lines as
written, a clean stop on Ctrl-C; its refusal to start, before printing anything, when a port is
taken; and a banner that shows the ports in use wherever it names one."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_harness.processes import ROOT, free_port
from local_harness.run_local import (
    DEV_KEY_OWNER,
    BannerFacts,
    LocalPorts,
    banner,
    chosen_settings,
    port_is_free,
)
from tests.support.http_get import get_json
from tests.support.make_run import PORT_NAMES, RUN_LOCAL, MakeRun, free_local_ports


@pytest.fixture
def local_run() -> Iterator[MakeRun]:
    run = MakeRun(free_local_ports()).wait_for_banner()
    try:
        yield run
    finally:
        run.stop()


def _replay(curl: list[str]) -> tuple[int, Any]:
    """What the printed curl line does, with urllib: its -H headers, GET its URL."""
    assert curl[0] == "curl"
    headers = dict(
        value.split(": ", 1) for flag, value in zip(curl, curl[1:], strict=False) if flag == "-H"
    )
    url = curl[-1]
    assert url.startswith("http://localhost:")
    return get_json(url, headers)


CURL_RECORDER = 'curl() { printf "%s\037" curl "$@"; printf "\036"; }\n'


def bash_block(page: Path, heading: str) -> str:
    """The first ```bash block after `heading` in a Markdown page, as written there."""
    section = page.read_text(encoding="utf-8").split(heading, 1)[1]
    match = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert match, f"no bash block after {heading!r} in {page.name}"
    return match.group(1)


def curls_as_bash_runs_them(snippet: str, env: dict[str, str]) -> list[list[str]]:
    """Every curl command of a shell snippet, with its arguments as bash expands them."""
    ran = subprocess.run(
        ["bash", "-c", CURL_RECORDER + snippet], env=env, capture_output=True, text=True,
        check=True, timeout=30,
    )  # fmt: skip
    return [call.split("\x1f")[:-1] for call in ran.stdout.split("\x1e")[:-1]]


@pytest.mark.slow
def test_make_run_serves_both_printed_curls_and_its_exports_reach_the_emulator(
    local_run: MakeRun,
) -> None:
    curls = local_run.curls()
    api_key_curls = [c for c in curls if any(h.startswith("X-Api-Key: ") for h in c)]
    browser_curls = [c for c in curls if any(h.startswith("X-Firebase-AppCheck: ") for h in c)]
    exports = local_run.exports()
    clean_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FIRESTORE_", "FIREBASE_", "GOOGLE_", "API_KEY_"))
    }

    api_key_status, api_key_body = _replay(api_key_curls[0])
    browser_status, browser_body = _replay(browser_curls[0])
    readme_curls = curls_as_bash_runs_them(
        bash_block(ROOT / "README.md", "## Calling it"), {**clean_env, **exports}
    )
    readme_answers = [_replay(curl) for curl in readme_curls]
    listed = subprocess.run(
        [sys.executable, "-m", "key_admin", "list", "--owner", DEV_KEY_OWNER],
        cwd=ROOT, env={**clean_env, **exports}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    exit_status = local_run.stop()  # Ctrl-C

    assert (len(api_key_curls), len(browser_curls)) == (1, 1)
    assert api_key_curls[0][-1] == f"http://localhost:{local_run.ports['PORT']}/models"
    assert (api_key_status, browser_status) == (200, 200)
    assert api_key_body == browser_body
    assert api_key_body["models"]
    assert set(exports) == {
        "KEY",
        "BASE",
        "FIREBASE_ID_TOKEN",
        "APP_CHECK_TOKEN",
        "FIRESTORE_EMULATOR_HOST",
        "GOOGLE_CLOUD_PROJECT",
        "API_KEY_PEPPER",
        "FIREBASE_AUTH_EMULATOR_HOST",
    }
    assert len(readme_curls) == 5
    assert [status for status, _ in readme_answers] == [200] * 5
    assert readme_answers[0][1] == api_key_body
    assert readme_answers[1][1]["id"] == "claude-sonnet-4-6"
    google_image_input = readme_answers[2][1]["models"]
    assert google_image_input and {m["owned_by"] for m in google_image_input} == {"google"}
    assert readme_answers[3][1] == api_key_body  # the same key as Authorization: Bearer
    assert readme_answers[4][1] == browser_body  # the web app's path, with both tokens
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"inf_\w{8}", listed.stdout)  # the dev key's display prefix
    assert exit_status == 0
    assert all(port_is_free(port) for port in local_run.ports.values())
    ports = ", ".join(str(local_run.ports[name]) for name in PORT_NAMES)
    assert any(
        re.fullmatch(r"make run: stopping at \d\d:\d\d:\d\d UTC: Ctrl-C received", line)
        for line in local_run.output
    )
    assert local_run.output[-1] == (
        "make run: stopped the service, both emulators and the App Check token endpoint; "
        f"ports {ports} are free"
    )
    assert not [line for line in local_run.output if "goaway" in line.lower()]


def _server_master(run_local_pid: int) -> int:
    """The functions-framework (gunicorn master) process `make run` started."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == run_local_pid and b"functions_framework" in cmdline:
            return int(stat.parent.name)
    raise LookupError("no functions-framework child")


@pytest.mark.slow
def test_make_run_says_when_and_why_it_stops_when_the_server_exits(local_run: MakeRun) -> None:
    os.kill(_server_master(local_run.process.pid), signal.SIGTERM)  # as if it had crashed

    exit_status = local_run.process.wait(timeout=30)
    local_run.stop()  # collects the rest of its output

    assert exit_status == 1
    assert any(
        re.fullmatch(
            r"make run: stopping at \d\d:\d\d:\d\d UTC: the server exited by itself with "
            r"status 0 \(its output is above\)",
            line,
        )
        for line in local_run.output
    ), local_run.output[-5:]
    assert local_run.output[-1].startswith("make run: stopped the service, both emulators")
    assert all(port_is_free(port) for port in local_run.ports.values())


@pytest.mark.parametrize("taken", PORT_NAMES)
def test_a_taken_port_stops_make_run_before_it_prints_or_starts_anything(taken: str) -> None:
    ports = free_local_ports()
    env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", ports[taken]))
        occupant.listen()

        run = subprocess.run(
            RUN_LOCAL, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
        )

    assert run.returncode == 2
    assert run.stdout == ""
    assert f"({taken}) is already in use" in run.stderr
    assert f"{taken}=" in run.stderr  # how to choose another port
    assert all(port_is_free(port) for name, port in ports.items() if name != taken)


def test_the_suggestion_for_a_taken_port_keeps_the_ports_already_chosen() -> None:
    from local_harness.run_local import LocalPorts, PortProblem

    chosen, taken, auth, app_check = free_port(), free_port(), free_port(), free_port()
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", taken))
        occupant.listen()
        environ = {
            "PORT": str(chosen),
            "FIRESTORE_EMULATOR_PORT": str(taken),
            "FIREBASE_AUTH_EMULATOR_PORT": str(auth),
            "LOCAL_APP_CHECK_PORT": str(app_check),
        }
        with pytest.raises(PortProblem) as problem:
            LocalPorts.from_env(environ)

    suggestion = str(problem.value).rsplit(": ", 1)[1]
    assert f"PORT={chosen}" in suggestion.split()
    assert f"FIREBASE_AUTH_EMULATOR_PORT={auth}" in suggestion.split()
    assert f"FIRESTORE_EMULATOR_PORT={taken}" not in suggestion  # a free one instead
    assert suggestion.endswith("make run")


def test_make_run_refuses_to_start_where_k_service_is_set() -> None:
    env = {**os.environ, **{name: str(port) for name, port in free_local_ports().items()}}

    run = subprocess.run(
        RUN_LOCAL, cwd=ROOT, env={**env, "K_SERVICE": "models"}, capture_output=True,
        text=True, timeout=30,
    )  # fmt: skip

    assert run.returncode == 2
    assert run.stdout == ""
    assert "K_SERVICE is set" in run.stderr


def _facts(ports: LocalPorts, environ: dict[str, str]) -> BannerFacts:
    return BannerFacts(
        ports, "inf_KEY", "ID.TOKEN", "APP.CHECK", f"http://127.0.0.1:{ports.app_check}/t",
        ("http://localhost:3000",), {"FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{ports.firestore}"},
        chosen_settings(environ, ports),
    )  # fmt: skip


def test_the_banners_add_an_origin_command_keeps_the_ports_and_host_in_use() -> None:
    ports = LocalPorts(18080, 8181, 19099, 8082)  # PORT and the Auth emulator's chosen

    environ = {"PORT": "18080", "HOST": "0.0.0.0"}  # noqa: S104 - text only, nothing binds

    text = banner(_facts(ports, environ))

    rerun = next(line for line in text.splitlines() if "add an origin:" in line)
    assert rerun.split(":", 1)[1].split() == [
        "PORT=18080",
        "FIREBASE_AUTH_EMULATOR_PORT=19099",
        "HOST=0.0.0.0",
        "CORS_ALLOWED_ORIGINS=http://localhost:3000,http://localhost:5173",
        "make",
        "run",
    ]


def test_the_banners_add_an_origin_command_is_short_on_the_default_ports() -> None:
    text = banner(_facts(LocalPorts(8080, 8181, 9099, 8082), {}))

    rerun = next(line for line in text.splitlines() if "add an origin:" in line)
    assert rerun.split(":", 1)[1].split() == [
        "CORS_ALLOWED_ORIGINS=http://localhost:3000,http://localhost:5173",
        "make",
        "run",
    ]


def test_the_banner_gives_a_web_page_its_three_urls_and_curl_its_variables() -> None:
    ports = LocalPorts(18080, 18181, 19099, 18082)

    text = banner(_facts(ports, {}))

    assert "  service:           http://localhost:18080\n" in text
    assert "  Auth emulator:     http://127.0.0.1:19099 " in text
    assert "  App Check tokens:  GET http://127.0.0.1:18082/t " in text
    assert "export KEY=inf_KEY\nexport BASE=http://localhost:18080\n" in text
    assert "export FIREBASE_ID_TOKEN=ID.TOKEN\nexport APP_CHECK_TOKEN=APP.CHECK\n" in text


@pytest.mark.parametrize(
    ("page", "heading"),
    [(ROOT / "README.md", "## Calling it"), (ROOT / "docs" / "api.md", "# Calling the API")],
    ids=["README", "docs/api.md"],
)
def test_the_docs_curl_lines_use_only_variables_make_runs_export_block_sets(
    page: Path, heading: str
) -> None:
    exported = re.findall(r"^export (\w+)=", banner(_facts(LocalPorts(1, 2, 3, 4), {})), re.M)
    snippet = bash_block(page, heading)
    assigned = set(re.findall(r"^(\w+)=", snippet, re.M))

    used = set(re.findall(r"\$\{?(\w+)", snippet)) - assigned

    assert used and used <= set(exported)
