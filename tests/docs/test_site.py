"""The docs site: ``mkdocs.yml``'s ``nav`` matches the pages, and the strict build passes.

The nav check needs only PyYAML, so it runs everywhere and names the page to add (or the
entry to drop); the build runs where the ``docs`` extra is installed, as in CI.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import docs_markdown as md
import pytest
import yaml

MKDOCS_YML = md.ROOT / "mkdocs.yml"


class _ConfigLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without constructing its ``!!python/...`` values (the toc slugify)."""


_ConfigLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def nav_entries(nav: Any) -> list[str]:
    """The page files a ``nav`` names, depth first (titles and external links dropped)."""
    if isinstance(nav, str):
        return [] if re.match(r"^[a-z][a-z0-9+.-]*:", nav, re.I) else [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in nav_entries(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_entries(value)]
    return []


def config() -> dict[str, Any]:
    loaded = yaml.load(MKDOCS_YML.read_text(encoding="utf-8"), Loader=_ConfigLoader)  # noqa: S506
    assert isinstance(loaded, dict)
    return loaded


def test_the_site_is_built_from_docs_strictly_checked() -> None:
    settings = config()
    assert settings["docs_dir"] == "docs" and settings["theme"]["name"] == "material"
    # what makes a strict build fail on a page left out of nav and on a dead anchor
    assert settings["validation"]["omitted_files"] == "warn"
    assert settings["validation"]["anchors"] == "warn"


def test_nav_lists_every_page_once_and_nothing_else() -> None:
    listed = nav_entries(config()["nav"])
    pages = sorted(page.relative_to(md.DOCS).as_posix() for page in md.DOCS.rglob("*.md"))
    missing = [page for page in pages if page not in listed]
    dead = [entry for entry in listed if not (md.DOCS / entry).is_file()]
    twice = sorted({entry for entry in listed if listed.count(entry) > 1})
    problems = [f"pages under docs/ missing from nav in mkdocs.yml (add them): {missing}"] if missing else []
    problems += [f"nav entries in mkdocs.yml with no page under docs/ (remove them): {dead}"] if dead else []
    problems += [f"pages listed twice in nav: {twice}"] if twice else []
    assert not problems, "\n".join(problems)
    assert listed[0] == "index.md", "the landing page comes first"


def test_the_landing_page_links_every_page() -> None:
    targets = {link.target.split("#")[0] for link in md.links(md.DOCS / "index.md")}
    pages = {page.relative_to(md.DOCS).as_posix() for page in md.DOCS.rglob("*.md")} - {"index.md"}
    assert not pages - targets, f"docs/index.md does not link {sorted(pages - targets)}"


def _docs_extra_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("mkdocs", "material"))


@pytest.mark.skipif(not _docs_extra_installed(), reason="the docs extra is not installed")
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(MKDOCS_YML), "--site-dir", str(site)],
                          cwd=md.ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}{done.stderr}"
    for page in md.DOCS.rglob("*.md"):
        name = page.relative_to(md.DOCS).with_suffix("")
        html = site / ("" if name.as_posix() == "index" else name) / "index.html"
        assert html.is_file(), f"{md.rel(page)} was not published"
        # the site's heading anchors are the ones test_links.py checks links against
        ids = set(re.findall(r'<h[1-6] id="([^"]+)"', html.read_text(encoding="utf-8")))
        assert ids <= md.anchors(page), f"{md.rel(page)}: site anchors {sorted(ids - md.anchors(page))}"
