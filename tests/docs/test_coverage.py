"""Nothing a user relied on disappears from the docs: the commands, options and recipe keys
that README.md documented (``documented_before.txt``) are still documented somewhere.

"Documented" is checked loosely but not trivially: a command anywhere in README.md or
docs/*.md; an option in a section (or a docs page) that also names its command; a recipe
key written out (``train.lr``, ``losses.<name>.weight``) or as a key of a YAML example.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import docs_markdown as md
import pytest
import yaml

from egan_core.cli.main import cli
from egan_core.recipe import KEY_DOCS

ITEMS = Path(__file__).with_name("documented_before.txt")


def items() -> list[str]:
    lines = ITEMS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def split_command(item: str) -> tuple[list[str], str | None]:
    """``egan data crop-objects --out`` -> (["data", "crop-objects"], "--out")."""
    words = item.split()[1:]
    option = words.pop() if words and words[-1].startswith("-") else None
    return words, option


def command_pattern(words: list[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])egan\s+" + r"\s+".join(map(re.escape, words)) + r"(?![\w-])")


def option_pattern(option: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])")


def command_documented(words: list[str], pages: Iterable[Path]) -> bool:
    return any(command_pattern(words).search(page.read_text(encoding="utf-8")) for page in pages)


def option_documented(words: list[str], option: str, pages: Iterable[Path]) -> bool:
    command, flag = command_pattern(words), option_pattern(option)
    return any(command.search(unit) and flag.search(unit) for page in pages for unit in md.sections(page))


def _flatten(mapping: Any, prefix: str = "") -> set[str]:
    if not isinstance(mapping, dict):
        return set()
    keys = set()
    for key, value in mapping.items():
        keys |= {f"{prefix}{key}"} | _flatten(value, f"{prefix}{key}.")
    return keys


def _yaml_or_none(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def yaml_keys(pages: Iterable[Path]) -> set[str]:
    """The dotted keys of every YAML example: ``yaml`` blocks and inline code spans."""
    keys: set[str] = set()
    for page in pages:
        texts = [block.code for block in md.fences(page) if block.language in ("yaml", "yml")]
        for text in texts + md.code_spans(page):
            keys |= _flatten(_yaml_or_none(text))
    return keys


def key_documented(key: str, pages: list[Path]) -> bool:
    wildcard = re.escape(key).replace(re.escape("<name>"), r"[\w<>]+")
    if any(re.fullmatch(wildcard, found) for found in yaml_keys(pages)):
        return True
    if "." in key:  # a dotted key written out anywhere
        written = re.compile(rf"(?<![\w.]){wildcard}(?!\w)")
        return any(written.search(page.read_text(encoding="utf-8")) for page in pages)
    # a top-level key set in code: `name: ...`, `--set seed=1`
    code = [block.code for page in pages for block in md.fences(page)]
    code += [span for page in pages for span in md.code_spans(page)]
    return any(re.search(rf"(?<![\w.-]){wildcard}\s*[:=]", text) for text in code)


def documented(item: str, pages: list[Path]) -> bool:
    if item.startswith("egan "):
        words, option = split_command(item)
        if option is None:
            return command_documented(words, pages)
        return option_documented(words, option, pages)
    return key_documented(item, pages)


def still_exists(item: str) -> bool:
    """Whether the command, option or recipe key is still part of egan."""
    if not item.startswith("egan "):
        return item in KEY_DOCS
    words, option = split_command(item)
    command: click.Command | None = cli
    ctx = click.Context(cli)
    for word in words:
        command = command.get_command(ctx, word) if isinstance(command, click.Group) else None
    if command is None:
        return False
    return option is None or any(option in param.opts + param.secondary_opts for param in command.params)


def test_the_list_is_read() -> None:
    found = items()
    assert "egan enhance --tile" in found and "train.lr" in found and len(found) == len(set(found))


@pytest.mark.parametrize("item", items())
def test_item_is_still_part_of_egan(item: str) -> None:
    assert still_exists(item), (f"{item!r} is no longer part of egan: if it was removed on purpose, "
                                f"remove it from {ITEMS.name} in the same change")


@pytest.mark.parametrize("item", items())
def test_item_is_still_documented(item: str) -> None:
    assert documented(item, md.pages()), f"{item!r} was documented in README.md and is not any more"


def test_documented_judges_sections(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n## Enhancing\n\n`egan enhance IN --out DIR`, tiles with `--tile N`.\n\n"
                    "## Exporting\n\n`egan export --shape 2x2`\n\n```yaml\ntrain: {lr: 1.0e-4}\n```\n"
                    "`--set seed=3` and `losses.<name>.weight`\n", encoding="utf-8")
    assert documented("egan enhance --tile", [page]) and documented("egan export --shape", [page])
    assert not documented("egan export --tile", [page])  # both named, in different sections
    assert documented("train.lr", [page]) and documented("seed", [page])
    assert documented("losses.<name>.weight", [page]) and not documented("train.epochs", [page])
    assert not documented("egan eval", [page])
