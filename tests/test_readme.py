"""README.md is short enough for a student to read first, and its links and the sections code points at exist."""

import re

from skinkit.data.download import MANUAL_ROUTE

from .helpers import ROOT

README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]


def headings(path):
    """GitHub's anchors of a Markdown file's headings."""
    titles = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in titles}


def test_readme_is_at_most_160_lines():
    assert len(README.read_text().splitlines()) <= 160


def test_relative_links_point_at_files_and_headings_that_exist():
    for page in DOCS:
        for target in re.findall(r"\]\(([^)#:]*)(#[^)]*)?\)", page.read_text()):
            path, anchor = target
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: broken link {path}"
            if anchor and linked.suffix == ".md":
                assert anchor[1:] in headings(linked), f"{page.name}: no heading {anchor} in {linked.name}"


def test_the_section_download_errors_point_at_is_in_the_readme():
    section = re.search(r"section '(\w+)'", MANUAL_ROUTE).group(1)
    assert section.lower() in headings(README)
    assert "**By hand**" in README.read_text()
