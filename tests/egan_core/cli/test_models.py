"""``egan models``: the table, one card, JSON, and an unknown name as a one-line exit-2 error."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from egan_core.cli.main import cli
from egan_core.plugins import get_registries
from egan_core.weights import card_markdown

ROOT = Path(__file__).resolve().parents[3]


def _egan(*args: str) -> Result:
    return CliRunner().invoke(cli, ["models", *args], prog_name="egan")


def test_the_table_lists_every_registered_model_with_its_cpu() -> None:
    result = _egan()
    assert result.exit_code == 0, result.output
    for entry in get_registries().models:
        assert entry.name in result.output
        assert entry.factory.speed[0].cpu.split()[0] in result.output


def test_a_name_prints_that_models_card_and_an_enhancer_name_finds_its_model() -> None:
    models = get_registries().models
    for name in models.names():
        result = _egan(name)
        assert result.exit_code == 0, result.output
        assert result.output == card_markdown(models.get(name))
        enhancer = models.get(name).enhancer
        if enhancer and enhancer not in models:
            assert _egan(enhancer).output == result.output


def test_json_is_a_list_of_the_records_with_no_path_of_this_machine() -> None:
    result = _egan("--json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    assert [r["name"] for r in records] == get_registries().models.names()
    assert str(ROOT) not in result.output and str(Path.home()) not in result.output
    for record in records:
        assert not Path(record["file"]).is_absolute()
        assert record["quality"] and record["quality"][0]["protocol"]
        assert record["speed"] and record["speed"][0]["cpu"]
        assert record["provided_by"]
    (one,) = json.loads(_egan("--json", records[0]["name"]).output)
    assert one == records[0]


def test_an_unknown_name_is_one_line_naming_the_known_models_exit_2() -> None:
    result = _egan("nope")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    known = ", ".join(get_registries().models.names())
    assert line.startswith(f"error: unknown model 'nope'; known: {known}")
