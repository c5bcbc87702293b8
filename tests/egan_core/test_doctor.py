"""``egan doctor`` prints every field a bug report needs, as text and as JSON."""

from __future__ import annotations

import json

from click.testing import CliRunner

from egan_core.cli.main import cli
from egan_core.doctor import FEATURES

LABELS = ["egan", "torch", "cpu", "features", "bf16 on cpu", "threads", "cuda", "onnxruntime", "device",
          "cache", "train auto", "enhance auto"]


def test_doctor_prints_every_field() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--device", "cpu"], prog_name="egan")
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


def test_doctor_json_has_the_same_fields() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--device", "cpu", "--json"], prog_name="egan")
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
