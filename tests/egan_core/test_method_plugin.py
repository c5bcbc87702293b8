"""The example method plugin (examples/egan-method-example), installed like any third party.

A training method from a separate distribution must be listed with its provider, train a
real ``egan run`` through the CLI (its own step, its phases visible in the metrics log, a
checkpoint at the end, exact resume), and be named in the one-line error of an unknown
method, exactly as the built-in methods are.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "egan-method-example"
RECIPE = EXAMPLE / "two_phase.yaml"
BUILTIN_METHODS = ("enlightengan", "pairlie", "supervised", "zero_reference")
INSTALL = "python -m pip install --no-deps -e examples/egan-method-example"


@pytest.fixture(autouse=True)
def _installed() -> None:
    """Fail (not skip) without the package: CI installs it, so its absence is a broken setup."""
    try:
        metadata.distribution("egan-method-example")
    except metadata.PackageNotFoundError:
        pytest.fail(f"the example method plugin is not installed; from the repository root run: {INSTALL}",
                    pytrace=False)


def _egan(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``python -m egan_core ARGS`` in a subprocess: the real CLI, with the installed plugins."""
    return subprocess.run([sys.executable, "-m", "egan_core", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _records(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_plugins_lists_the_method_with_its_provider() -> None:
    listing = json.loads(_egan("plugins", "--json").stdout)
    methods = listing["registries"]["methods"]
    assert methods["two_phase"] == "egan-method-example"
    assert all(methods[name] == "egan" for name in BUILTIN_METHODS)
    plugin = next(p for p in listing["plugins"] if p["dist"] == "egan-method-example")
    assert plugin["error"] is None and plugin["provides"] == {"methods": ["two_phase"]}
    table = _egan("plugins")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if " two_phase " in line)
    assert "methods" in row and "egan-method-example" in row


def test_the_recipe_trains_identity_then_the_losses_and_resumes(tmp_path: Path) -> None:
    """Phase 1 logs ``identity`` for ``warmup_steps`` steps, then phase 2 the recipe's losses;
    a run stopped inside phase 1 and resumed crosses the boundary at the same step."""
    warmup = ["--set", "method.warmup_steps=2", "--device", "cpu", "-q"]
    first = _egan("run", str(RECIPE), "--out", str(tmp_path), "--set", "train.max_steps=1", *warmup)
    assert first.returncode == 0, first.stderr
    run = _egan("run", str(RECIPE), "--out", str(tmp_path), "--set", "train.max_steps=4", "--resume",
                *warmup)
    assert run.returncode == 0, run.stderr
    run_dir = tmp_path / "two_phase"
    assert (run_dir / "checkpoints" / "latest.pt").is_file()
    records = _records(run_dir)
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert [r["phase"] for r in records] == [1.0, 1.0, 2.0, 2.0]
    zero_reference = {"illumination_smoothness", "spatial_consistency", "color_constancy", "exposure"}
    for record in records[:2]:
        assert "identity" in record and not zero_reference & set(record)
        assert record["g_total"] == pytest.approx(record["identity"])
    for record in records[2:]:  # the method's defaults filled losses: (the recipe has none)
        assert zero_reference <= set(record) and "identity" not in record
        assert record["g_total"] == pytest.approx(sum(record[k] for k in zero_reference), rel=1e-5)


def test_an_unknown_method_is_one_line_naming_the_registered_ones(tmp_path: Path) -> None:
    run = _egan("run", str(RECIPE), "--out", str(tmp_path), "--set", "method=nope", "--device", "cpu")
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.stderr
    assert "'nope'" in lines[0]
    assert all(name in lines[0] for name in (*BUILTIN_METHODS, "two_phase"))
    assert not (tmp_path / "two_phase").exists()


def test_the_methods_own_checks_stop_a_recipe_before_training(tmp_path: Path) -> None:
    """A bad kwarg names its key; an empty losses: is refused by the method's ``check``."""
    base = ("run", str(RECIPE), "--out", str(tmp_path), "--device", "cpu")
    bad = _egan(*base, "--set", "method.warmup_steps=-1")
    assert bad.returncode == 2
    assert "method.warmup_steps must be >= 0" in bad.stderr
    empty = _egan(*base, "--set", "losses={}")
    assert empty.returncode == 2 and "method 'two_phase'" in empty.stderr and "losses:" in empty.stderr


def test_recipe_keys_documents_method() -> None:
    keys = _egan("recipe", "keys")
    assert keys.returncode == 0, keys.stderr
    line = next(line for line in keys.stdout.splitlines() if line.split(" ", 1)[0] == "method")
    assert "registered" in line and "{name: NAME" in line


def test_phase_of() -> None:
    from egan_method_example import phase_of

    assert [phase_of(step, 2) for step in (1, 2, 3, 10)] == [1, 1, 2, 2]
    assert phase_of(1, 0) == 2
