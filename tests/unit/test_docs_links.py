"""README and docs/: every relative link and #anchor resolves, every docs page is linked from
README, README stays short, and no page narrates the history of the work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local_harness.processes import ROOT

README = ROOT / "README.md"
DOC_PAGES = sorted((ROOT / "docs").glob("*.md"))
ALL_PAGES = [README, *DOC_PAGES, ROOT / "infra" / "README.md"]

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HISTORY = re.compile(
    r"\b(this session|previous session|earlier session|last session|this round|"
    r"previous round|used to be|until this session|no longer (?:uses|does))\b",
    re.IGNORECASE,
)


def github_anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = INLINE_CODE.sub(lambda m: m.group(0).strip("`"), heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page, with GitHub's -1, -2 suffixes for repeats."""
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        anchor = github_anchor(match.group(1))
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        anchors.add(anchor if count == 0 else f"{anchor}-{count}")
    return anchors


def links_of(page: Path) -> list[str]:
    """Link targets outside code blocks and inline code."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return LINK.findall(INLINE_CODE.sub("", text))


def broken_links(page: Path) -> list[str]:
    """Relative links of a page whose file or #anchor does not exist."""
    broken = []
    for target in links_of(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # http(s), mailto: not reachable from here
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors_of(destination):
            broken.append(f"{target}: no heading with that anchor")
    return broken


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in links_of(README)
        if target.startswith("docs/")
    }

    assert [p.name for p in DOC_PAGES if p.resolve() not in linked] == []


def test_the_readme_is_read_in_five_minutes() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250


@pytest.mark.parametrize("page", ALL_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_narrates_the_history_of_the_work(page: Path) -> None:
    assert HISTORY.findall(page.read_text(encoding="utf-8")) == []


def test_the_checker_finds_a_broken_file_and_a_broken_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    (tmp_path / "other.md").write_text("# Other\n\n## A `code` heading: yes\n")
    page.write_text(
        "# Page\n[ok](other.md#a-code-heading-yes) [self](#page) [gone](missing.md)"
        " [bad](other.md#nope) [web](https://example.com)\n```\n[in code](nowhere.md)\n```\n"
    )

    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nope: no heading with that anchor",
    ]
