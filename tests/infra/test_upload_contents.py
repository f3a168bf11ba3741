"""One ignore list (.gcloudignore) decides the upload of both deployment paths.

gcloud reads .gcloudignore with .gitignore semantics; Terraform reads it in
infra/source_files.tf. Both readings are run here on a tree full of what test runs, editors and
tools leave behind (nested __pycache__, .pytest_cache, .schemathesis, .coverage, dev requirement
files, package*.json, node_modules): git's own implementation of those semantics stands in for
gcloud, real Terraform evaluates source_files.tf, and deploy.sh's redeploy fingerprint reads it
with infra/gcloud/upload_files.py. All must select exactly the run-time files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.infra.terraform_eval import ROOT, Scratch

RUNTIME = {
    "main.py",
    "requirements.txt",
    "models_api/__init__.py",
    "models_api/app.py",
    "models_api/nested/deeper.py",
    # the drift check (second function, same upload) and the pricing policy it shares
    "catalog_audit/__init__.py",
    "catalog_audit/audit.py",
    "drift_check/__init__.py",
    "drift_check/job.py",
    "catalog_seed/__init__.py",
    "catalog_seed/pricing.py",
    "catalog_seed/pricing.toml",
}
# What the real tree uploads: these files and everything git tracks under these folders.
UPLOADED_PATHS = (
    "main.py",
    "requirements.txt",
    "models_api",
    "catalog_audit",
    "drift_check",
    "catalog_seed/__init__.py",
    "catalog_seed/pricing.py",
    "catalog_seed/pricing.toml",
)
JUNK = [
    "requirements-dev.txt",
    "requirements-infra.txt",
    "package.json",
    "package-lock.json",
    ".coverage",
    ".gitignore",
    "README.md",
    "openapi.yaml",
    "__pycache__/main.cpython-311.pyc",
    "models_api/__pycache__/app.cpython-311.pyc",
    "models_api/nested/__pycache__/deeper.cpython-311.pyc",
    "models_api/stray.pyc",
    "models_api/.pytest_cache/v/cache/nodeids",
    "models_api/.schemathesis/report.json",
    "models_api/.DS_Store",
    "models_api/nested/.hypothesis/examples/x",
    ".schemathesis/run/cache.json",
    ".pytest_cache/README.md",
    ".hypothesis/examples/abc",
    ".mypy_cache/3.11/x.json",
    ".venv/lib/python3.11/site-packages/flask/__init__.py",
    "node_modules/@firestore-emulator/server/index.js",
    "tests/test_x.py",
    "tests/__pycache__/test_x.cpython-311.pyc",
    "catalog_seed/seed.py",
    "catalog_seed/__main__.py",
    "catalog_seed/models/openai.toml",
    "catalog_audit/__pycache__/audit.cpython-311.pyc",
    "drift_check/.pytest_cache/x",
    "bench/run_bench.py",
    "scripts/run_local.py",
    "infra/main.tf",
    "infra/build/source.zip",
]


def _git_selection(tree: Path) -> set[str]:
    """The files .gitignore semantics keep, as git computes them (gcloud's documented syntax)."""
    subprocess.run(["git", "init", "-q", str(tree)], check=True, timeout=60)
    listed = subprocess.run(
        [
            "git",
            "-c",
            "core.excludesFile=/dev/null",
            "-C",
            str(tree),
            "ls-files",
            "--others",
            "--exclude-from=.gcloudignore",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(listed.stdout.split())


def _terraform_selection(tree: Path) -> set[str]:
    scratch = Scratch(tree, ("source_files.tf",), {"files": "local.source_files"})
    files: list[str] = scratch.outputs({})["files"]
    return set(files)


def _script_selection(tree: Path) -> set[str]:
    """What deploy.sh fingerprints (infra/gcloud/upload_files.py, Terraform's grammar)."""
    listed = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "gcloud" / "upload_files.py"), str(tree)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(listed.stdout.split())


def _tree(directory: Path) -> Path:
    shutil.copy(ROOT / ".gcloudignore", directory / ".gcloudignore")
    for name in RUNTIME | set(JUNK):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {name}\n", encoding="utf-8")
    return directory


def test_both_paths_upload_only_the_runtime_files_from_a_tree_with_nested_caches(
    tmp_path: Path,
) -> None:
    tree = _tree(tmp_path)

    by_terraform = _terraform_selection(tree)
    by_gcloud_syntax = _git_selection(tree) - {"infra/scratch_outputs.tf", "infra/source_files.tf"}
    by_gcloud_syntax -= {p for p in by_gcloud_syntax if p.startswith("infra/")}

    assert by_terraform == RUNTIME
    assert by_gcloud_syntax == RUNTIME
    assert _script_selection(tree) == RUNTIME


def test_the_real_tree_uploads_main_requirements_and_the_package(tmp_path: Path) -> None:
    # A copy of the working tree as it is (caches included), minus the big tool directories
    # and infra/ (the scratch module takes its place).
    tree = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        tree,
        ignore=shutil.ignore_patterns(
            ".venv", ".venv-tools", "node_modules", ".git", ".terraform", "infra"
        ),
    )
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", *UPLOADED_PATHS],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()

    assert _terraform_selection(tree) == set(tracked)
    # deploy.sh's redeploy fingerprint covers the same files, both functions' code included.
    assert _script_selection(ROOT) == set(tracked)


def test_the_upload_changes_only_when_an_uploaded_file_changes(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    scratch = Scratch(tree, ("source_files.tf",), {"hash": "local.source_hash"})
    before = scratch.outputs({})["hash"]

    (tree / "models_api/__pycache__/new.cpython-311.pyc").write_text("x", encoding="utf-8")
    (tree / ".coverage").write_text("changed", encoding="utf-8")
    after_test_run = scratch.outputs({})["hash"]
    (tree / "models_api/app.py").write_text("# changed\n", encoding="utf-8")
    after_edit = scratch.outputs({})["hash"]

    assert after_test_run == before
    assert after_edit != before


def test_the_ignore_file_keeps_to_the_grammar_both_readers_share() -> None:
    lines = [
        raw.strip()
        for raw in (ROOT / ".gcloudignore").read_text(encoding="utf-8").splitlines()
        if raw.strip() and not raw.strip().startswith("#")
    ]

    assert lines[0] == "*", "everything is ignored first, then the run-time files re-included"
    assert "*" not in lines[1:]
    for pattern in lines:
        assert "\\" not in pattern and " " not in pattern, pattern
        assert not pattern.startswith("#!include"), pattern
        assert not (pattern.startswith("!") and "**/" in pattern), pattern


def test_terraform_zips_exactly_that_selection_under_a_content_name() -> None:
    main = (ROOT / "infra" / "main.tf").read_text(encoding="utf-8")

    assert "for_each = toset(local.source_files)" in main
    assert 'content  = file("${local.source_root}/${source.value}")' in main
    assert 'name   = "source-${substr(local.source_hash, 0, 32)}.zip"' in main
    assert "excludes" not in main
