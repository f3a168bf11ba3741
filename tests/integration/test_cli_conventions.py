"""The operator tools behave as command-line programs should: a reader that goes away
(`| head -1`) neither stops the work nor turns into an error (and keeps a new key, which
`create` prints first; a key nobody could see is revoked), relative times take s, m, h and d,
and `--help` names every subcommand in readable paragraphs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from catalog_seed.__main__ import SUBCOMMANDS
from catalog_seed.__main__ import main as seed_main
from key_admin.__main__ import build_parser
from key_admin.__main__ import main as key_admin_main
from local_harness.processes import ROOT
from operator_cli.times import parse_time
from tests.conftest import DEV_PEPPER, Project, make_client
from tests.support.catalog_documents import data_entries


def _run_with_reader_gone(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a tool whose stdout is a pipe nobody reads any more (closed before it writes a
    byte, the harshest case of `| head -1`); its exit status and stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        finished = subprocess.run(
            command, cwd=ROOT, env=env, stdout=write_end, stderr=subprocess.PIPE,
            text=True, timeout=90,
        )  # fmt: skip
    finally:
        os.close(write_end)
    return finished.returncode, finished.stderr


def _tool_env(project: Project) -> dict[str, str]:
    return {
        **os.environ,
        "FIRESTORE_EMULATOR_HOST": project.emulator_host,
        "GOOGLE_CLOUD_PROJECT": project.project_id,
        "API_KEY_PEPPER": DEV_PEPPER,
    }


def _documents(project: Project) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() for s in project.client.collection("models").stream()}


def test_a_seed_whose_reader_is_gone_still_seeds_and_exits_0_quietly(project: Project) -> None:
    status, stderr = _run_with_reader_gone(
        [sys.executable, "-m", "catalog_seed", "--accept-expired-prices"], _tool_env(project)
    )

    assert (status, stderr) == (0, "")
    assert set(_documents(project)) == set(data_entries())


def test_a_dry_run_and_a_key_list_whose_reader_is_gone_exit_0_quietly(seeded: Project) -> None:
    env = _tool_env(seeded)
    for owner in ("o1", "o1", "o1"):
        subprocess.run(
            [sys.executable, "-m", "key_admin", "create", "--owner", owner],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    dry_run = _run_with_reader_gone(
        [sys.executable, "-m", "catalog_seed", "--dry-run", "--accept-expired-prices"], env
    )
    listing = _run_with_reader_gone(
        [sys.executable, "-m", "key_admin", "list", "--owner", "o1"], env
    )

    assert dry_run == (0, "")
    assert listing == (0, "")


def test_a_refusal_keeps_its_status_when_the_reader_is_gone(project: Project) -> None:
    env = {**_tool_env(project), "API_KEY_PEPPER": "short"}  # the settings refuse it

    status, _ = _run_with_reader_gone(
        [sys.executable, "-m", "key_admin", "list", "--owner", "o1"], env
    )

    assert status == 64


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("5s", timedelta(seconds=5)),
        ("15m", timedelta(minutes=15)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
    ],
)
def test_relative_times_take_seconds_minutes_hours_and_days(text: str, delta: timedelta) -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)

    assert parse_time(text, now) == now + delta


def test_absolute_times_are_iso_8601_in_utc_unless_an_offset_is_given() -> None:
    assert parse_time("2027-01-02T03:04") == datetime(2027, 1, 2, 3, 4, tzinfo=timezone.utc)
    assert parse_time("2027-01-02T03:04+02:00").utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize("text", ["5x", "s", "-5s", "5 s", "soon", ""])
def test_anything_else_is_a_usage_error(text: str) -> None:
    assert key_admin_main(["create", "--owner", "o", "--expires", text]) == 64


def test_key_admin_expire_at_5s(seeded: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in _tool_env(seeded).items():
        monkeypatch.setenv(name, value)
    assert key_admin_main(["create", "--owner", "o5"]) == 0
    listing = subprocess.run(
        [sys.executable, "-m", "key_admin", "list", "--owner", "o5"],
        cwd=ROOT, env=_tool_env(seeded), check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    key_id = listing.stdout.splitlines()[1].split()[0]
    before = datetime.now(timezone.utc)

    status = key_admin_main(["expire", key_id, "--at", "5s"])

    stored = seeded.client.collection("api_keys").document(key_id).get().to_dict()
    assert status == 0
    assert before + timedelta(seconds=4) < stored["expires_at"] < before + timedelta(seconds=15)


def test_catalog_seed_usage_names_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert seed_main(["--help"]) == 0
    usage = capsys.readouterr().out.split("\n\n", 1)[0]

    assert set(SUBCOMMANDS) == {"audit", "table"}
    for name in SUBCOMMANDS:
        assert f"python -m catalog_seed {name}" in usage


def test_key_admin_usage_names_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    subcommands = next(
        action.choices
        for action in parser._actions  # argparse keeps its subparsers only here
        if isinstance(action.choices, dict)
    )

    assert key_admin_main(["--help"]) == 0
    usage = capsys.readouterr().out.split("\n\n", 1)[0]

    assert subcommands
    for name in subcommands:
        assert name in usage


def _key_documents(project: Project, owner: str) -> list[dict[str, Any]]:
    return [
        snapshot.to_dict()
        for snapshot in project.client.collection("api_keys").stream()
        if snapshot.to_dict().get("owner") == owner
    ]


def test_create_piped_to_head_1_keeps_a_working_key(
    seeded: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    piped = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m key_admin create --owner head1 | head -1"],
        cwd=ROOT, env=_tool_env(seeded), capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    client = make_client(seeded, monkeypatch)

    key = piped.stdout.strip()
    assert piped.returncode == 0, piped.stderr
    assert re.fullmatch(r"inf_[0-9A-Za-z]{38}", key)
    assert client.get("/models", headers={"X-Api-Key": key}).status_code == 200


@pytest.mark.parametrize(
    "how", ["reader gone", "stdout closed"], ids=["reader-gone", "stdout-closed"]
)
def test_a_key_that_cannot_be_shown_is_revoked_and_create_fails(seeded: Project, how: str) -> None:
    command = [sys.executable, "-m", "key_admin", "create", "--owner", "unseen"]
    if how == "reader gone":
        status, stderr = _run_with_reader_gone(command, _tool_env(seeded))
    else:  # `>&-`: the process starts without a stdout at all
        closed = subprocess.run(
            ["bash", "-c", " ".join(command) + " >&-"],
            cwd=ROOT, env=_tool_env(seeded), capture_output=True, text=True, timeout=90,
        )  # fmt: skip
        status, stderr = closed.returncode, closed.stderr
    checked = subprocess.run(
        [sys.executable, "-m", "key_admin", "check-index"],
        cwd=ROOT, env=_tool_env(seeded), capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert status == 1
    assert "could not be shown" in stderr and "revoked" in stderr
    assert [document["status"] for document in _key_documents(seeded, "unseen")] == ["revoked"]
    assert checked.returncode == 0, checked.stdout  # the index says revoked too


def test_key_admin_help_breaks_no_sentence_mid_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert key_admin_main(["--help"]) == 0
    description = capsys.readouterr().out.split("\n\n", 1)[1].split("\npositional arguments")[0]

    for paragraph in description.split("\n\n"):
        lines = paragraph.strip().splitlines()
        # Every line but a paragraph's last is filled to the usual width.
        assert [line for line in lines[:-1] if len(line) < 70] == [], paragraph
    assert "the operator's own credentials" in description
