"""Every relative link and image in the pages leads somewhere, and every ``#anchor`` to a heading.

External links (any ``scheme:``) are not fetched: the tests run without a network. A link
from a page under ``docs/`` must stay under ``docs/``, since the site publishes nothing
else (a link to README.md would be dead there).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import docs_markdown as md
import pytest

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
_LINE_ANCHOR = re.compile(r"^L\d+(-L\d+)?$")  # GitHub's line anchors into source files


def relative_links() -> list[md.Link]:
    return [link for page in md.linked_pages() for link in md.links(page)
            if not _SCHEME.match(link.target)]


def problem(link: md.Link) -> str | None:
    """Why ``link`` is dead, or None."""
    path_part, _, anchor = link.target.partition("#")
    path_part = unquote(path_part)
    if path_part.startswith("/"):
        return "an absolute path: write it relative to the page"
    target = (link.path.parent / path_part).resolve() if path_part else link.path.resolve()
    if not target.is_relative_to(md.ROOT):
        return "leads out of the repository"
    if link.path.resolve().is_relative_to(md.DOCS) and not target.is_relative_to(md.DOCS):
        return "leads out of docs/, which the site does not publish: name the file as text instead"
    if not target.exists():
        return f"{md.rel(target)} does not exist"
    if not anchor:
        return None
    if target.suffix != ".md":
        return None if _LINE_ANCHOR.match(anchor) else f"#{anchor}: {md.rel(target)} has no headings"
    if unquote(anchor) not in md.anchors(target):
        return f"#{anchor}: no such heading in {md.rel(target)}"
    return None


def test_the_pages_have_links_to_check() -> None:
    assert any(link.target.endswith(".png") for link in relative_links())  # images are found too


@pytest.mark.parametrize("link", relative_links(), ids=lambda link: link.name)
def test_relative_link_resolves(link: md.Link) -> None:
    reason = problem(link)
    assert reason is None, f"dead link {link.name}: {reason}"


def test_problem_spots_dead_links_and_anchors() -> None:
    page = md.DOCS / "index.md"  # any docs page; the targets below are what is judged
    assert problem(md.Link(page, 1, "training.md")) is None
    assert problem(md.Link(page, 1, "contributing.md#links-and-anchors")) is None
    assert problem(md.Link(page, 1, "#the-pages")) is None
    assert "does not exist" in str(problem(md.Link(page, 1, "no-such-page.md")))
    assert "no such heading" in str(problem(md.Link(page, 1, "contributing.md#no-such-heading")))
    assert "does not publish" in str(problem(md.Link(page, 1, "../README.md")))
    assert "absolute" in str(problem(md.Link(page, 1, "/docs/index.md")))
