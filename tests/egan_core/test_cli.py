"""The command line, in process (CliRunner) and as the installed programs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from egan_core import EganError, Registries, UsageError
from egan_core.cli.main import COMMANDS as COMMAND_TABLE
from egan_core.cli.main import SUMMARIES, cli
from egan_core.recipe import DEFAULTS, KEY_DOCS
from egan_core.testing import PluginInstall, PluginManagerFactory, make_tiny_recipe

COMMANDS = ["compare", "data", "demo", "doctor", "enhance", "eval", "export", "models", "plugins", "recipe",
            "run"]
EXDARK = ["bicycle", "boat", "bottle", "bus", "car", "cat", "chair", "cup", "dog", "motorbike",
          "people", "table"]


def _egan(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="egan")


def _one_error_line(result: Result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line


def _console_script() -> str:
    found = Path(sys.executable).with_name("egan")
    return str(found) if found.exists() else shutil.which("egan") or "egan"


# ---- in process -------------------------------------------------------------------------


def test_help_lists_every_command() -> None:
    result = _egan("--help")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].strip().splitlines()]
    assert listed == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_help_summaries_are_each_commands_own_first_line(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.help is not None
    assert SUMMARIES[name] == " ".join(command.help.split("\n\n")[0].split())


def test_top_level_help_imports_no_command_module() -> None:
    code = ("import sys; from egan_core.cli.main import main; sys.argv = ['egan', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('egan_core.cli.')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "['egan_core.cli.main']"


def test_plugins_lists_the_exdark_objects(plugin_manager: PluginManagerFactory) -> None:
    plugin_manager(entry_points=True, activate=True)
    result = _egan("plugins")
    assert result.exit_code == 0, result.output
    cells = [[c.strip() for c in line.split("│")[1:4]] for line in result.output.splitlines()
             if " objects " in line]
    # other installed plugins may add objects; the built-in ones are the 12 ExDark classes
    assert [name for kind, name, dist in cells if dist == "egan"] == EXDARK

    as_json = json.loads(_egan("plugins", "--json").output)
    objects = as_json["registries"]["objects"]
    assert [name for name, dist in objects.items() if dist == "egan"] == EXDARK
    builtins = [p for p in as_json["plugins"] if p["dist"] == "egan"]
    assert builtins[0]["module"] == "egan_plugins.hooks" and builtins[0]["error"] is None


def test_recipe_show_prints_every_key(
    tmp_path: Path, stub_cli: Registries, stub_recipe: dict[str, Any]
) -> None:
    path = tmp_path / "stub.yaml"
    path.write_text(yaml.safe_dump(stub_recipe))
    result = _egan("recipe", "show", str(path), "--set", "train.epochs=7", "--set", "train.lr=3e-4")
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.output)
    assert list(shown) == list(DEFAULTS)
    assert list(shown["train"]) == list(DEFAULTS["train"])
    assert shown["train"]["epochs"] == 7 and shown["train"]["lr"] == 3e-4
    assert shown["model"]["generator"] == {"name": "stub_gen", "init": None, "width": 8,
                                           "align_corners": False}


def test_recipe_list_and_keys() -> None:
    listed = _egan("recipe", "list")
    assert listed.exit_code == 0
    assert all(line.startswith("recipes/") and line.endswith(".yaml")
               for line in listed.output.splitlines())
    keys = _egan("recipe", "keys")
    assert keys.exit_code == 0
    assert [line.split()[0] for line in keys.output.splitlines()] == list(KEY_DOCS)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "train.lr=-1"], "error: train.lr must be > 0, got -1.0"),
        (["--set", "train.epoch=3"], "error: unknown recipe key 'train.epoch'; did you mean"),
        (["--set", "data.object=caar"], "error: unknown object 'caar'; did you mean 'car'?"),
        (["--set", "oops"], "error: override 'oops' must look like key.path=value"),
    ],
)
def test_recipe_errors_are_one_line_exit_2(
    args: list[str], expected: str, tmp_path: Path, stub_cli: Registries,
    stub_recipe: dict[str, Any],
) -> None:
    path = tmp_path / "stub.yaml"
    path.write_text(yaml.safe_dump(stub_recipe))
    result = _egan("recipe", "show", str(path), *args)
    assert result.exit_code == 2
    assert _one_error_line(result).startswith(expected)


@pytest.mark.parametrize(
    "args",
    [["nosuch"], ["recipe", "show"], ["recipe", "show", "x.yaml", "--bogus"],
     ["eval", "d", "--metric", "lpips"], ["enhance", "x.png", "--out", "o", "--tile", "big"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = _egan(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "Usage:" in result.output


@click.command()
@click.option("--usage", is_flag=True)
def explode(usage: bool) -> None:
    """Raise egan's typed errors, as a library call under any command would."""
    if usage:
        raise UsageError("give --checkpoint or --recipe, not both")
    raise EganError("first line\n  second line")


def test_typed_errors_become_exit_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(COMMAND_TABLE, "explode", f"{__name__}:explode")
    result = _egan("explode")
    assert result.exit_code == 1
    assert _one_error_line(result) == "error: first line second line"
    result = _egan("explode", "--usage")
    assert result.exit_code == 2
    assert _one_error_line(result) == "error: give --checkpoint or --recipe, not both"


# ---- the installed programs ----------------------------------------------------------------


def test_console_script_help_and_errors(tmp_path: Path) -> None:
    done = subprocess.run([_console_script(), "--help"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for name in COMMANDS:
        assert f"\n  {name} " in done.stdout

    done = subprocess.run([_console_script(), "recipe", "show", "no_such.yaml"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: recipe 'no_such.yaml' not found")


def test_python_m_usage_error(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "egan_core", "recipe", "show"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 2
    assert "Usage: egan recipe show" in done.stderr and "Traceback" not in done.stderr


def test_recipe_show_from_another_directory(
    installed_plugins: PluginInstall, good_recipe: str, tmp_path: Path
) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "good.yaml").write_text(good_recipe)
    done = installed_plugins.egan("recipe", "show", "good.yaml", "--set", "train.epochs=3",
                                  "--set", "data.object=airship", cwd=work)
    assert done.returncode == 0, done.stderr
    shown = yaml.safe_load(done.stdout)
    assert list(shown) == list(DEFAULTS) and list(shown["train"]) == list(DEFAULTS["train"])
    assert shown["train"]["epochs"] == 3 and shown["name"] == "good"
    assert shown["data"] == {"dataset": "good_data", "batch_size": 1, "workers": "auto",
                             "max_bad_images": 10, "root": "data",
                             "object": "airship"}
    assert shown["losses"] == {"good_loss": {"weight": 0.5, "scale": 1.0}}


def test_egan_debug_shows_the_chained_traceback(tmp_path: Path) -> None:
    """One line by default; with EGAN_DEBUG=1 the whole chain, down to the component."""
    recipe = make_tiny_recipe(max_steps=1)
    recipe["model"]["generator"]["base_channels"] = 0
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    cmd = [sys.executable, "-m", "egan_core", "run", "r.yaml", "--out", "runs", "--device", "cpu"]
    quiet = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "EGAN_DEBUG": ""})
    loud = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "EGAN_DEBUG": "1"})
    line = "error: model.generator.base_channels must be >= 1, got 0"
    assert quiet.returncode == loud.returncode == 2
    assert quiet.stderr.strip() == line
    assert "Traceback" in loud.stderr and "ValueError: base_channels must be >= 1" in loud.stderr
    assert "direct cause" in loud.stderr and loud.stderr.strip().splitlines()[-1] == line
