"""Reading the Markdown pages the way the docs tests need: fenced blocks, headings, links.

A small, dependency-free reader rather than a Markdown library, so the docs tests run with
the ``dev`` extra alone; it follows CommonMark where the pages rely on it (fences of three
or more backticks or tildes, closed by a fence at least as long; ATX and setext headings)
and GitHub's heading slugs, which ``mkdocs.yml`` configures the site to use as well.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: Fenced blocks with these info strings run (tests/docs/test_examples.py).
RUN_LANGUAGES = frozenset({"bash", "python"})
#: Spellings of runnable languages that would slip past the runner unrun.
AMBIGUOUS_LANGUAGES = frozenset({"sh", "shell", "zsh", "py", "python3", "ipython"})

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_MARKER = re.compile(r"^\s*<!--\s*not run\b(?P<colon>:?)(?P<reason>.*?)-->\s*$")
_ANY_MARKER = re.compile(r"<!--\s*not run\b")
_ATX = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(?P<rule>=+|-+)[ \t]*$")
_CODE_SPAN = re.compile(r"(?P<ticks>`+)(?P<code>.+?)(?P=ticks)")
_INLINE_LINK = re.compile(r"!?\[(?P<text>(?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(?P<target><[^>]*>|[^)\s]+)"
                          r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(?P<target><[^>]*>|\S+)")
_HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"'](?P<target>[^\"']+)[\"']", re.I)
_HTML_ID = re.compile(r"<[a-z][^>]*?\b(?:id|name)\s*=\s*[\"'](?P<id>[^\"']+)[\"']", re.I)


def pages() -> list[Path]:
    """The pages whose code blocks must run: README.md and every page of the docs site."""
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def linked_pages() -> list[Path]:
    """The pages whose links must resolve: the docs pages plus MODEL.md and CHANGELOG.md."""
    extra = [ROOT / name for name in ("MODEL.md", "CHANGELOG.md") if (ROOT / name).is_file()]
    return [*pages(), *extra]


def rel(path: Path) -> str:
    """The repository-relative name tests report, the same on every machine."""
    return path.resolve().relative_to(ROOT).as_posix()


@dataclass(frozen=True)
class Fence:
    """One fenced code block: where it starts, its info string and its text."""

    path: Path
    line: int  # 1-based line of the opening fence
    info: str
    code: str
    marker: str | None  # the not-run reason ("" when the marker gives none), None when unmarked

    @property
    def language(self) -> str:
        return self.info.split()[0].lower() if self.info.split() else ""

    @property
    def name(self) -> str:
        return f"{rel(self.path)}:{self.line}"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _scan(lines: list[str]) -> tuple[list[tuple[int, int, str, str]], set[int]]:
    """The fences as (open index, close index, indent, info) and the indexes inside them."""
    found, inside, i = [], set(), 0
    while i < len(lines):
        opened = _OPEN.match(lines[i])
        if not opened or (opened["fence"][0] == "`" and "`" in opened["info"]):
            i += 1
            continue
        fence, closing = opened["fence"], len(lines)
        close = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        for j in range(i + 1, len(lines)):
            if close.match(lines[j]):
                closing = j
                break
        found.append((i, closing, opened["indent"], opened["info"].strip()))
        inside.update(range(i, min(closing, len(lines) - 1) + 1))
        i = closing + 1
    return found, inside


def fences(path: Path) -> list[Fence]:
    """Every fenced block of ``path``, with the not-run marker on the line above it, if any."""
    lines = _lines(path)
    blocks = []
    for start, end, indent, info in _scan(lines)[0]:
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip()
                for line in lines[start + 1:end]]
        marked = _MARKER.match(lines[start - 1]) if start else None
        marker = None
        if marked:
            marker = marked["reason"].strip() if marked["colon"] else ""
        blocks.append(Fence(path, start + 1, info, "\n".join(body) + "\n", marker))
    return blocks


def stray_markers(path: Path) -> list[int]:
    """1-based lines of not-run markers that do not sit right above an opening fence."""
    lines = _lines(path)
    found, inside = _scan(lines)
    opening = {start for start, *_ in found}
    return [i + 1 for i, line in enumerate(lines)
            if i not in inside and _ANY_MARKER.search(line) and i + 1 not in opening]


def prose(path: Path) -> list[str]:
    """The page's lines with fenced blocks blanked out (line numbers kept)."""
    lines = _lines(path)
    inside = _scan(lines)[1]
    return ["" if i in inside else line for i, line in enumerate(lines)]


def headings(path: Path) -> list[tuple[int, int, str]]:
    """(0-based line index, level, text) of every heading outside code blocks."""
    lines = prose(path)
    found = []
    for i, line in enumerate(lines):
        atx = _ATX.match(line)
        if atx:
            found.append((i, len(atx["hashes"]), (atx["text"] or "").strip()))
            continue
        setext = _SETEXT.match(line)
        above = lines[i - 1] if i else ""
        if (setext and above.strip() and not above.lstrip().startswith(("|", "-", "*", "+", ">"))
                and (i < 2 or not lines[i - 2].strip())):
            found.append((i - 1, 1 if setext["rule"][0] == "=" else 2, above.strip()))
    return found


def slug(heading: str) -> str:
    """The anchor GitHub (and the site, see mkdocs.yml) gives a heading."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "")
    text = unicodedata.normalize("NFC", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a link into ``path`` may name: heading slugs (duplicates numbered the
    GitHub way, ``-1``, and the site's way, ``_1``) and explicit HTML ``id``/``name``s."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, _, text in headings(path):
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.update({base} if count == 0 else {f"{base}-{count}", f"{base}_{count}"})
    for line in prose(path):
        found.update(m["id"] for m in _HTML_ID.finditer(line))
    return found


@dataclass(frozen=True)
class Link:
    """One link target found in a page's prose."""

    path: Path
    line: int  # 1-based
    target: str

    @property
    def name(self) -> str:
        return f"{rel(self.path)}:{self.line} -> {self.target}"


def links(path: Path) -> list[Link]:
    """Every inline, image, reference-definition and HTML link outside code."""
    found = []
    for i, line in enumerate(prose(path)):
        text = _CODE_SPAN.sub("", line)
        for pattern in (_INLINE_LINK, _REFERENCE, _HTML_LINK):
            for match in pattern.finditer(text):
                target = match["target"].strip()
                if target.startswith("<") and target.endswith(">"):
                    target = target[1:-1].strip()
                found.append(Link(path, i + 1, target))
    return found


def code_spans(path: Path) -> list[str]:
    """The inline code spans of the page's prose."""
    return [m["code"].strip() for line in prose(path) for m in _CODE_SPAN.finditer(line)]


def sections(path: Path) -> list[str]:
    """The page cut into the units "documented together" means: each section from a
    level-2-or-deeper heading to the next heading of its level or higher (code included),
    the text before the first such heading, and, for a docs page, the whole page (a page
    is about one thing; README.md is about everything, so it does not count whole)."""
    lines = _lines(path)
    heads = [(i, level) for i, level, _ in headings(path) if level >= 2]
    units = ["\n".join(lines[:heads[0][0] if heads else len(lines)])]
    for n, (start, level) in enumerate(heads):
        end = next((i for i, deeper in heads[n + 1:] if deeper <= level), len(lines))
        units.append("\n".join(lines[start:end]))
    if path.resolve().is_relative_to(DOCS):
        units.append("\n".join(lines))
    return units
