"""The files `gcloud functions deploy --source=.` uploads, as deploy.sh fingerprints them.

Reads .gcloudignore with the small grammar infra/source_files.tf documents (the same reading
Terraform does; tests/infra compare the two on a tree full of caches): `*` first, `!<glob>`
includes files, `<glob>` excludes them, a trailing `/` on an exclusion means the directory's
contents. Prints the selected paths, sorted, one per line, relative to ROOT.

    python3 infra/gcloud/upload_files.py [ROOT]
"""

from __future__ import annotations

import glob
import re
import sys
from pathlib import Path


def _matches(root: Path, pattern: str) -> set[str]:
    found = glob.glob(pattern, root_dir=root, recursive=True, include_hidden=True)
    return {path for path in found if (root / path).is_file()}


def _regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regular expression over a relative path (`**` crosses directories)."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern)
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(p) or re.escape(p) for p in parts))


def upload_files(root: Path) -> list[str]:
    """The uploaded files under `root`, as Terraform's local.source_files lists them."""
    lines = [
        line.strip()
        for line in (root / ".gcloudignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    included: set[str] = set()
    excluded: list[re.Pattern[str]] = []
    for line in lines:
        if line.startswith("!"):
            if not line.endswith("/"):
                included |= _matches(root, line[1:])
        elif line != "*":
            excluded.append(_regex(f"{line}**" if line.endswith("/") else line))
    # Exclusions are matched against the included files only (never a walk of the whole tree,
    # which holds virtual environments and node_modules).
    return sorted(p for p in included if not any(e.fullmatch(p) for e in excluded))


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for path in upload_files(root):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
