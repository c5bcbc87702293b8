"""``train.precision: auto``: fp32 without native bf16, measured where bf16 is native; logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from egan_core import autotune, winograd
from egan_core.hardware import CpuFeatures, native_bf16
from egan_core.losses import LossContext
from egan_core.testing import requires_native_bf16
from egan_core.training.precision import PROBE_SIZE, bf16_warning, probe_size, resolve_precision
from egan_core.training.step import losses_objective
from egan_core.training.trainer import train
from egan_plugins.networks.unet import AttentionUNet

CPU = torch.device("cpu")
AVX2 = CpuFeatures(model="test AVX2 CPU", arch="x86_64", flags=frozenset({"avx2", "fma"}))
SAPPHIRE = CpuFeatures(model="test AMX CPU", arch="x86_64", onednn_bf16=True,
                       flags=frozenset({"avx2", "fma", "avx512f", "avx512bw", "avx512_bf16",
                                        "amx_tile", "amx_bf16"}))


def test_capability_check_is_driven_by_cpu_features() -> None:
    assert native_bf16(CPU, AVX2) == (False, "no native bf16 on this CPU (no AVX512-BF16 or AMX)")
    assert native_bf16(CPU, SAPPHIRE) == (True, "native bf16 on this CPU (AMX)")
    zen4 = CpuFeatures("test Zen 4", "x86_64", frozenset({"avx512_bf16", "avx512bw"}), onednn_bf16=True)
    assert native_bf16(CPU, zen4)[0] and "AVX512-BF16" in native_bf16(CPU, zen4)[1]
    capped = CpuFeatures("capped", "x86_64", frozenset({"avx512_bf16"}), onednn_bf16=False)
    ok, why = native_bf16(CPU, capped)
    assert not ok and "oneDNN will not run bf16" in why


def test_auto_is_fp32_without_native_bf16() -> None:
    choice = resolve_precision("auto", False, CPU, AttentionUNet(base_channels=4), features=AVX2,
                               winograd=False)
    assert (choice.precision, choice.channels_last, choice.winograd) == ("fp32", False, False)
    assert choice.reason == "fp32: no native bf16 on this CPU (no AVX512-BF16 or AMX)"
    assert choice.autocast_dtype is None and choice.timings == {}


def test_auto_probes_bf16_where_native() -> None:
    autotune.forget()
    choice = resolve_precision("auto", False, CPU, AttentionUNet(base_channels=4), model_key="t-native",
                               features=SAPPHIRE, probe_size=32, winograd=False)
    assert set(choice.timings) == {"fp32", "bf16"}
    assert choice.precision in ("fp32", "bf16")
    if choice.precision == "bf16":
        assert "native bf16 on this CPU (AMX)" in choice.reason and "x fp32 in a probe" in choice.reason
    record = choice.record()
    assert record["precision"] == choice.precision and record["precision_reason"] == choice.reason


def test_auto_memory_layout_is_measured_and_cached() -> None:
    autotune.forget()
    model = AttentionUNet(base_channels=4)
    first = resolve_precision("fp32", "auto", CPU, model, model_key="t-layout", features=AVX2,
                              probe_size=32, winograd=False)
    assert set(first.timings) == {"fp32", "fp32+channels_last"} and first.precision == "fp32"
    autotune.forget()  # the disk cache answers the next run: the same choice, no new probe
    again = resolve_precision("fp32", "auto", CPU, model, model_key="t-layout", features=AVX2,
                              probe_size=32, winograd=False)
    assert again == first


def test_forced_bf16_warns_where_emulated() -> None:
    warning = bf16_warning(CPU, AVX2)
    assert warning is not None and "10x slower" in warning and "train.precision: auto" in warning
    assert "\n" not in warning
    assert bf16_warning(CPU, SAPPHIRE) is None
    forced = resolve_precision("bf16", False, CPU, AttentionUNet(base_channels=4), features=AVX2)
    assert forced.precision == "bf16" and "no native bf16" in forced.reason


def test_the_run_log_and_first_record_say_what_was_chosen(tmp_path: Path,
                                                           tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["train"]["max_steps"] = 2
    run_dir, _ = train(tiny_recipe, out=tmp_path, device="cpu", quiet=True)
    records = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    first = records[0]
    assert first["precision"] in ("fp32", "bf16") and isinstance(first["channels_last"], bool)
    assert first["precision_reason"].startswith(first["precision"])
    native, why = native_bf16(CPU)
    if not native:  # why: "no native bf16 ..." or, under ONEDNN_MAX_CPU_ISA, oneDNN's refusal
        assert first["precision"] == "fp32" and why in first["precision_reason"]
    assert "precision" not in records[1]  # said once, in the first record


def _egan_run(tmp_path: Path, recipe: dict[str, Any], *sets: str, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    import yaml

    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    args = [sys.executable, "-m", "egan_core", "run", str(path), "--out", str(tmp_path / "runs"),
            "--device", "cpu", *[a for s in sets for a in ("--set", s)]]
    return subprocess.run(args, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_forced_bf16_without_native_support_warns_in_one_line(tmp_path: Path,
                                                              tiny_recipe: dict[str, Any]) -> None:
    # Without native bf16 here already, or with oneDNN capped below AVX-512 (as on AVX2 CPUs).
    env = {} if not native_bf16(CPU)[0] else {"ONEDNN_MAX_CPU_ISA": "AVX2"}
    done = _egan_run(tmp_path, tiny_recipe, "train.max_steps=1", "train.precision=bf16", env=env)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("warning: train.precision")]
    assert len(lines) == 1, done.stderr
    assert lines[0].endswith("about 10x slower than fp32; use train.precision: auto")
    assert any(line.startswith("precision: bf16") for line in done.stderr.splitlines())


@requires_native_bf16
def test_auto_measures_bf16_on_this_native_cpu(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    autotune.forget()
    choice = resolve_precision("auto", "auto", CPU, AttentionUNet(base_channels=8), model_key="t-here",
                               probe_size=32)
    expected = {"fp32", "fp32+channels_last", "bf16", "bf16+channels_last"}
    assert set(choice.timings) == expected | ({"fp32+winograd"} if winograd.available() else set())
    best = min(choice.timings.values())
    chosen = (f"{choice.precision}{'+channels_last' if choice.channels_last else ''}"
              f"{'+winograd' if choice.winograd else ''}")
    assert choice.timings[chosen] <= choice.timings["fp32"] and best > 0


@pytest.mark.parametrize("bad", ["fast", "maybe", 1])
def test_channels_last_takes_true_false_or_auto(tmp_path: Path, tiny_recipe: dict[str, Any],
                                                bad: Any) -> None:
    done = _egan_run(tmp_path, tiny_recipe, f"train.channels_last={bad}", "train.max_steps=1")
    assert done.returncode != 0
    assert "train.channels_last must be true, false or auto" in done.stderr
    assert "Traceback" not in done.stderr


needs_nnpack = pytest.mark.skipif(not winograd.available(),
                                  reason="this PyTorch build has no NNPACK (or the CPU lacks AVX2)")


@needs_nnpack
def test_auto_measures_winograd_for_fp32_nchw() -> None:
    autotune.forget()
    choice = resolve_precision("auto", "auto", CPU, AttentionUNet(base_channels=4), model_key="t-wg",
                               features=AVX2, probe_size=32)
    assert set(choice.timings) == {"fp32", "fp32+winograd", "fp32+channels_last"}
    assert choice.precision == "fp32"
    assert not (choice.winograd and choice.channels_last)
    if choice.winograd:
        assert choice.reason.startswith("fp32+winograd: no native bf16")
        assert "x fp32 in a probe" in choice.reason
    assert choice.record()["winograd"] is choice.winograd


@needs_nnpack
def test_winograd_true_is_used_without_a_probe_and_false_never() -> None:
    model = AttentionUNet(base_channels=4)
    forced = resolve_precision("fp32", False, CPU, model, features=AVX2, winograd=True)
    assert forced.winograd and forced.timings == {} and forced.reason == "set in the recipe"
    off = resolve_precision("fp32", False, CPU, model, features=AVX2, winograd=False)
    assert not off.winograd and off.timings == {}
    # bf16 and channels_last have no Winograd form: true is ignored there
    bf16 = resolve_precision("bf16", False, CPU, model, features=AVX2, winograd=True)
    assert bf16.precision == "bf16" and not bf16.winograd


def test_winograd_is_not_offered_for_a_network_without_3x3_convolutions() -> None:
    from egan_plugins.networks.zero_dce_pp import ZeroDCEPlusPlus

    choice = resolve_precision("fp32", False, CPU, ZeroDCEPlusPlus(scale_factor=1), features=AVX2)
    assert choice.timings == {} and not choice.winograd


@needs_nnpack
def test_a_winograd_run_logs_it_and_resumes_exactly(tmp_path: Path, tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["train"].update(max_steps=2, precision="fp32", channels_last=False, winograd=True)
    whole, _ = train(tiny_recipe, out=tmp_path / "whole", device="cpu", quiet=True)
    first = json.loads((whole / "metrics.jsonl").read_text().splitlines()[0])
    assert first["winograd"] is True and first["precision"] == "fp32"
    tiny_recipe["train"]["max_steps"] = 1
    train(tiny_recipe, out=tmp_path / "split", device="cpu", quiet=True)
    tiny_recipe["train"]["max_steps"] = 2
    split, _ = train(tiny_recipe, out=tmp_path / "split", device="cpu", quiet=True, resume=True)
    a, b = (torch.load(run / "checkpoints" / "latest.pt", weights_only=True)["generator"]["state_dict"]
            for run in (whole, split))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_probe_runs_at_the_run_crop_size_up_to_256() -> None:
    assert probe_size(320) == 256 and probe_size(128) == 128
    assert probe_size(None) == PROBE_SIZE and probe_size(8) == PROBE_SIZE


class _Seen(torch.nn.Module):
    """A loss that records the batches it was given, in a list its copies share, and its
    own calls (the probe must time the run's losses, on copies of them)."""

    shapes: list[tuple[int, ...]] = []  # a class attribute: shared with deep copies

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, ctx: LossContext) -> torch.Tensor:
        self.calls += 1
        _Seen.shapes.append(tuple(ctx.enhanced.shape))
        return (ctx.enhanced - ctx.low).abs().mean()


class _NeedsTargets(torch.nn.Module):
    def forward(self, ctx: LossContext) -> torch.Tensor:
        raise ValueError("this loss needs real targets")


def test_the_probe_times_copies_of_the_run_losses_on_its_batch() -> None:
    autotune.forget()
    _Seen.shapes.clear()
    seen = _Seen()
    objective = losses_objective([("seen", seen, 1.0), ("picky", _NeedsTargets(), 1.0)])
    choice = resolve_precision("auto", "auto", CPU, AttentionUNet(base_channels=4), model_key="t-obj",
                               features=AVX2, probe_size=32, batch=3, objective=objective)
    assert len(choice.timings) >= 2 and _Seen.shapes
    assert set(_Seen.shapes) == {(2, 3, 32, 32)}  # the batch is capped at PROBE_BATCH = 2
    assert seen.calls == 0  # the run's own loss (it may keep state) was never called


def test_losses_objective_is_the_weighted_sum_with_the_input_as_reference() -> None:
    gen = torch.Generator().manual_seed(0)
    inp, out = torch.rand(2, 3, 8, 8, generator=gen), torch.rand(2, 3, 8, 8, generator=gen)
    objective = losses_objective([("a", _Seen(), 2.0), ("b", _Seen(), 0.5)])
    expected = 2.5 * (out - inp).abs().mean()
    torch.testing.assert_close(objective(inp, out, {}), expected)
