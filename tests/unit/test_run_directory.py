"""Local processes keep their logs in the run directory; during tests that is a temporary
directory of the test run, so a test run leaves nothing in the repository's .run/."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_harness.processes import ROOT, AuthEmulator, FunctionServer, run_directory


def test_during_tests_the_run_directory_is_outside_the_repository() -> None:
    assert not run_directory().resolve().is_relative_to(ROOT)


def test_servers_and_emulators_keep_their_files_in_the_run_directory() -> None:
    assert FunctionServer({}, port=1).log_path.parent == run_directory()
    assert AuthEmulator("demo-x", port=1).workdir.parent == run_directory()


def test_make_run_keeps_them_in_dot_run_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCAL_RUN_DIR")

    assert run_directory() == ROOT / ".run"


def test_local_run_dir_moves_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCAL_RUN_DIR", str(tmp_path))

    assert run_directory() == tmp_path
