"""The model cards: docs/models.md and README's model table are what the shipped records give,
and every card states what a user needs before using a model."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from egan_core.weights import WeightsRecord, card_markdown, table_markdown
from egan_plugins.shipped import SHIPPED, models_page

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "models.md"
START, END = "<!-- models table start -->", "<!-- models table end -->"
#: Folders of one machine that no file of the project may name.
MACHINE_PATHS = re.compile(r"/(?:work|tmp|root|home)/")

RECORDS = pytest.mark.parametrize("record", SHIPPED, ids=[r.name for r in SHIPPED])


def _flat(text: str) -> str:
    """``text`` with shell line continuations joined and runs of white space folded."""
    return " ".join(text.replace(" \\\n", " ").split())


def test_docs_models_md_is_what_the_records_generate() -> None:
    assert DOCS.read_text(encoding="utf-8") == models_page(), (
        "docs/models.md is stale: run python scripts/make_model_docs.py")


@RECORDS
def test_the_card_states_licence_data_method_and_source(record: WeightsRecord) -> None:
    card = card_markdown(record)
    flat = _flat(card)
    for what in ("licence", "data", "method", "source", "enhancer", "title", "summary"):
        assert getattr(record, what).strip(), f"the {record.name} record states no {what}"
    assert f"- **Licence:** {record.licence}" in card
    assert f"- **Data:** {record.data}" in card
    assert _flat(record.method.rstrip("."))[1:] in flat
    for part in (p.strip() for p in record.source.split(";")):
        assert _flat(part)[1:] in flat, f"the {record.name} card lacks its source's '{part}'"


@RECORDS
def test_every_figure_on_the_card_has_its_protocol_command_and_cpu(record: WeightsRecord) -> None:
    card = card_markdown(record)
    assert record.quality, f"the {record.name} record has no quality figure"
    assert record.speed, f"the {record.name} record has no speed figure"
    for figure in record.quality:
        assert figure.protocol.strip() and figure.command.strip()
        assert f"| {figure.metric} | {figure.amount()} | {figure.protocol} |" in card
    for speed in record.speed:
        assert f"| {speed.amount()} | {speed.cpu} | {speed.protocol} |" in card


@RECORDS
def test_every_figure_is_one_model_md_states(record: WeightsRecord) -> None:
    story = (ROOT / "MODEL.md").read_text(encoding="utf-8")
    for figure in (*record.quality, *record.speed):
        assert str(figure.value) in story, f"{record.name}: {figure.value} is not in MODEL.md"


def test_model_md_points_at_the_generated_cards() -> None:
    head = (ROOT / "MODEL.md").read_text(encoding="utf-8").split("\n## ")[0]
    assert "docs/models.md" in head and "egan_plugins/shipped.py" in head


@pytest.mark.parametrize("name", ["docs/models.md", "MODEL.md"])
def test_no_path_of_one_machine(name: str) -> None:
    found = MACHINE_PATHS.findall((ROOT / name).read_text(encoding="utf-8"))
    assert not found, f"{name} names folders of one machine: {found}"


def test_readme_model_table_is_what_the_records_generate() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme, f"README.md lost its '{START}' ... '{END}' markers"
    table = readme.split(START, 1)[1].split(END, 1)[0]
    assert table.strip() == table_markdown(SHIPPED).strip(), (
        "README.md's model table is stale: paste table_markdown(SHIPPED) between the markers")
