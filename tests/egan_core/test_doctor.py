"""``egan doctor`` prints every field a bug report needs, as text and as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from egan_core import autotune
from egan_core.cli.main import cli
from egan_core.doctor import FEATURES
from egan_core.testing import make_tiny_recipe

#: The probes of the paper's recipe (256 px, batch 2, VGG) take half a minute; the
#: quickstart's (96 px) a few seconds, through the same code.
QUICK = "recipes/quickstart.yaml"
LABELS = ["egan", "torch", "cpu", "features", "bf16 on cpu", "threads", "cuda", "onnxruntime", "device",
          "cache", "train auto", "enhance auto"]


def test_doctor_prints_every_field() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--device", "cpu", "--recipe", QUICK], prog_name="egan")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for label in LABELS:
        assert any(line.startswith(label + " ") for line in lines), label
    features = next(line for line in lines if line.startswith("features"))
    for name in FEATURES:
        assert f"{name} yes" in features or f"{name} no" in features, name
    train = next(line for line in lines if line.startswith("train auto"))
    assert train.split()[2].rstrip(",") in ("fp32", "bf16")
    assert "winograd yes" in train or "winograd no" in train
    enhance = next(line for line in lines if line.startswith("enhance auto"))
    assert enhance.split()[2] in ("eager", "channels_last", "fused", "winograd", "onnxruntime")
    assert "dB from eager fp32" in enhance or "asked for" in enhance
    assert sum(line.startswith("  probe") for line in lines) >= 1  # the timings behind a choice
    assert f"as egan run {QUICK} probes it" in result.output


def test_doctor_json_has_the_same_fields() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--device", "cpu", "--json", "--recipe", QUICK],
                                prog_name="egan")
    assert result.exit_code == 0, result.output
    rep = json.loads(result.output)
    for key in ("egan", "torch", "cpu", "cpu_features", "cpu_bf16", "threads", "cuda", "onnxruntime",
                "device", "cache", "auto_training", "auto_enhance"):
        assert key in rep, key
    assert set(rep["cpu_features"]) == set(FEATURES)
    assert rep["auto_training"]["precision"] in ("fp32", "bf16")
    assert isinstance(rep["auto_training"]["winograd"], bool)
    if not rep["cpu_bf16"]["native"]:
        assert rep["auto_training"]["precision"] == "fp32"
        assert rep["auto_enhance"]["precision"] == "fp32"
    chosen = f"{rep['auto_enhance']['backend']}:{rep['auto_enhance']['precision']}"
    timings = rep["auto_enhance"]["probe_s"]
    assert timings[chosen] <= timings["eager:fp32"]  # auto is never slower than eager fp32


def test_doctor_without_probe_is_instant_and_skips_the_choices() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--no-probe"], prog_name="egan")
    assert result.exit_code == 0, result.output
    assert "train auto" not in result.output and result.output.startswith("egan ")


def _training_entries() -> set[str]:
    path = autotune.cache_dir() / "autotune.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {key for key in data if "attention_unet" in key}


def test_doctor_reports_the_decision_egan_run_uses(tmp_path: Path) -> None:
    """The doctor probes a recipe as egan run does and caches it under the run's key: the
    run then reuses it (no new training decision in the cache) and records the same."""
    recipe = make_tiny_recipe()
    recipe["model"]["generator"]["base_channels"] = 6  # a model no other test has probed
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    result = CliRunner().invoke(cli, ["doctor", "--device", "cpu", "--json", "--recipe", str(path)],
                                prog_name="egan")
    assert result.exit_code == 0, result.output
    said = json.loads(result.output)["auto_training"]
    assert said["recipe"] == str(path) and said["losses"] == [spec for spec in recipe["losses"]]
    before = _training_entries()
    # a fresh process, as users run it (this one's Winograd thread mode is set already)
    done = subprocess.run([sys.executable, "-m", "egan_core", "run", str(path), "--set", "train.max_steps=1",
                           "--out", str(tmp_path / "run"), "--device", "cpu", "-q"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _training_entries() == before
    first = json.loads((tmp_path / "run" / "tiny" / "metrics.jsonl").read_text().splitlines()[0])
    for key in ("precision", "channels_last", "winograd"):
        assert first[key] == said[key], key
    assert first["precision_reason"] == said["reason"]


def test_doctor_names_a_missing_recipe_in_one_line() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--recipe", "no_such.yaml"], prog_name="egan")
    assert result.exit_code != 0
    assert "recipe 'no_such.yaml' not found" in result.output and "Traceback" not in result.output


def test_doctor_names_an_invalid_recipe_in_one_line(tmp_path: Path) -> None:
    recipe = make_tiny_recipe()
    recipe["model"]["generator"]["name"] = "no_such_net"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    result = CliRunner().invoke(cli, ["doctor", "--recipe", str(path)], prog_name="egan")
    assert result.exit_code != 0
    assert "no_such_net" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
