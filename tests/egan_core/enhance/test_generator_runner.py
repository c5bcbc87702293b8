"""GeneratorRunner: every backend computes the same function; auto picks the fastest measured."""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import warnings

import pytest
import torch

from egan_core import autotune, winograd
from egan_core.enhance import generator_runner as runtime
from egan_core.enhance.forward_paths import candidates
from egan_core.enhance.generator_runner import GeneratorRunner
from egan_core.errors import UsageError
from egan_core.generator_io import attention_map, check_image, from_model_range, to_model_range
from egan_core.hardware import native_bf16
from egan_core.metrics.psnr import psnr01 as psnr
from egan_core.testing import requires_native_bf16

CPU = torch.device("cpu")
EXACT = ["eager", "channels_last", "fused"] + (
    ["onnxruntime"] if importlib.util.find_spec("onnxruntime") else []) + (
    ["winograd"] if winograd.available() else [])


def _plain(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    img = to_model_range(x)
    with torch.no_grad():
        return from_model_range(model(img, attention_map(img))[0])


@pytest.mark.parametrize("backend", EXACT)
def test_every_fp32_backend_equals_the_plain_forward(small_model, backend: str) -> None:
    x = torch.rand(2, 3, 40, 56) * 0.3
    expected = _plain(small_model(), x)
    runner = GeneratorRunner(small_model(), precision="fp32", backend=backend)
    assert (runner.backend, runner.precision) == (backend, "fp32")
    torch.testing.assert_close(runner(x), expected, rtol=0, atol=1e-4)


@pytest.mark.parametrize("backend", EXACT)
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (5, 7), (17, 9)])
def test_every_backend_takes_tiny_images(small_model, backend: str, size: tuple[int, int]) -> None:
    x = torch.rand(1, 3, *size) * 0.3
    runner = GeneratorRunner(small_model(), precision="fp32", backend=backend)
    torch.testing.assert_close(runner(x), _plain(small_model(), x), rtol=0, atol=1e-4)


@requires_native_bf16
@pytest.mark.parametrize("backend", ["channels_last", "fused"])
def test_bf16_is_close_to_fp32(small_model, backend: str) -> None:
    x = check_image(64)
    ref = GeneratorRunner(small_model(), precision="fp32", backend="eager")(x).clamp(0, 1)
    fast = GeneratorRunner(small_model(), precision="bf16", backend=backend)
    assert (fast.backend, fast.precision) == (backend, "bf16")
    assert psnr(ref, fast(x).clamp(0, 1)) >= 40.0


def test_auto_offers_bf16_only_where_it_is_native() -> None:
    without = candidates("auto", "auto", CPU, bf16=False)
    assert ("eager", "fp32") == without[0] and all(p == "fp32" for _, p in without)
    assert {b for b, _ in without} == {"eager", "channels_last", "fused", "winograd", "onnxruntime"}
    native = candidates("auto", "auto", CPU, bf16=True)
    assert {("channels_last", "bf16"), ("fused", "bf16")} <= set(native)
    assert not {("eager", "bf16"), ("onnxruntime", "bf16"), ("winograd", "bf16")} & set(native)
    assert candidates("fused", "auto", CPU, bf16=True) == [("fused", "fp32"), ("fused", "bf16")]
    assert candidates("auto", "fp32", CPU, bf16=True) == without
    assert "compile" not in {b for b, _ in native}  # compile only when asked for


def test_pick_takes_the_fastest_but_never_trades_eager_for_noise() -> None:
    def pick(timings: dict[str, float]) -> str:
        return autotune.ENHANCE.pick(timings, "eager:fp32")

    assert pick({"eager:fp32": 1.0, "fused:fp32": 0.5, "fused:bf16": 0.2}) == "fused:bf16"
    assert pick({"eager:fp32": 1.0, "fused:fp32": 0.99}) == "eager:fp32"
    assert pick({"eager:fp32": 1.0, "fused:fp32": 1.5}) == "eager:fp32"
    assert pick({}) == "eager:fp32"


def test_auto_measures_once_per_machine_and_model(small_model) -> None:
    autotune.forget()
    first = GeneratorRunner(small_model(seed=21))
    assert first.timings and "eager:fp32" in first.timings
    assert f"{first.backend}:{first.precision}" in first.timings
    eager = first.timings["eager:fp32"]
    assert first.timings[f"{first.backend}:{first.precision}"] <= eager  # never slower than eager
    assert first.probe_psnr is not None and first.probe_psnr >= runtime.MIN_PSNR
    before = dict(autotune._MEMORY)
    again = GeneratorRunner(small_model(seed=21))
    assert autotune._MEMORY.keys() == before.keys()  # same weights: the cached decision
    assert (again.backend, again.precision, again.timings) == (first.backend, first.precision, first.timings)
    autotune.forget()  # this process forgets; the disk cache still answers
    third = GeneratorRunner(small_model(seed=21))
    assert third.timings == first.timings
    GeneratorRunner(small_model(seed=22))
    assert len(autotune._MEMORY) == 2  # other weights: a decision of their own


def test_auto_chooses_only_accurate_candidates(small_model, monkeypatch: pytest.MonkeyPatch) -> None:
    autotune.forget()
    monkeypatch.setattr(runtime, "MIN_PSNR", 500.0)  # nothing but exact equality passes
    runner = GeneratorRunner(small_model(seed=23))
    assert runner.backend == "eager" and runner.precision == "fp32"


def _bf16_here(monkeypatch: pytest.MonkeyPatch, native: bool, runs: bool = True) -> None:
    """Make this machine's bf16 capability what a test needs (the one function asked)."""
    why = "native bf16 (test)" if native else "no native bf16 on this CPU (test)"
    support = autotune.Bf16Support(native=native, runs=runs, why=why)
    monkeypatch.setattr(autotune, "bf16_support", lambda device, features=None: support)


def test_auto_stays_fp32_without_native_bf16(small_model, monkeypatch: pytest.MonkeyPatch) -> None:
    _bf16_here(monkeypatch, native=False)
    autotune.forget()
    runner = GeneratorRunner(small_model(seed=24))
    assert runner.precision == "fp32" and not any(k.endswith(":bf16") for k in runner.timings)
    assert "eager:fp32" in runner.timings


def test_auto_measures_bf16_where_it_is_native(small_model, monkeypatch: pytest.MonkeyPatch) -> None:
    _bf16_here(monkeypatch, native=True)
    built: list[tuple[str, str]] = []
    real_build = runtime.build_backend

    def build(model: torch.nn.Module, backend: str, precision: str, device: torch.device):
        built.append((backend, precision))
        if precision == "bf16" and not native_bf16(device)[0]:
            precision = "fp32"  # bf16 kernels may refuse this CPU: the same path in fp32 stands in
        return real_build(model, backend, precision, device)

    monkeypatch.setattr(runtime, "build_backend", build)
    autotune.forget()
    runner = GeneratorRunner(small_model(seed=25))
    assert {("fused", "bf16"), ("channels_last", "bf16")} <= set(built)
    assert "fused:bf16" in runner.timings and "channels_last:bf16" in runner.timings


def test_forced_bf16_is_refused_or_warned_where_not_native(small_model, monkeypatch) -> None:
    _bf16_here(monkeypatch, native=False, runs=False)
    with pytest.raises(UsageError, match="bf16 cannot run here.*--precision auto"):
        GeneratorRunner(small_model(), precision="bf16")
    _bf16_here(monkeypatch, native=False, runs=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner = GeneratorRunner(small_model(), precision="bf16", backend="channels_last")
    assert (runner.backend, runner.precision) == ("channels_last", "bf16")  # warned, not refused
    (warning,) = [w for w in caught if "precision bf16" in str(w.message)]
    assert "emulated" in str(warning.message) and "--precision auto" in str(warning.message)
    assert warning.filename == __file__  # it points at the caller's line
    _bf16_here(monkeypatch, native=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # native: no warning at all
        GeneratorRunner(small_model(), precision="bf16", backend="channels_last")


def test_bad_arguments(small_model) -> None:
    with pytest.raises(UsageError, match="precision"):
        GeneratorRunner(small_model(), precision="fp16")
    with pytest.raises(UsageError, match="backend must be one of"):
        GeneratorRunner(small_model(), backend="tensorrt")
    with pytest.raises(UsageError, match="tile"):
        GeneratorRunner(small_model(), precision="fp32", tile=8)


class _NoForm(torch.nn.Module):
    """A generator without ``inference_form``: the runner's plain paths serve it."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, image: torch.Tensor, attention: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner(image, attention)


def test_a_generator_without_inference_form_runs_plainly(small_model) -> None:
    x = check_image(48)
    fused = GeneratorRunner(small_model(), precision="fp32", backend="fused")
    assert fused.fast is not None
    with pytest.raises(UsageError, match="backend 'fused'.*not available"):
        GeneratorRunner(_NoForm(small_model()), precision="fp32", backend="fused")
    autotune.forget()
    plain = GeneratorRunner(_NoForm(small_model()), precision="fp32")
    assert plain.fast is None and plain.backend in ("eager", "channels_last", "winograd", "onnxruntime")
    torch.testing.assert_close(fused(x), plain(x), rtol=0, atol=1e-4)


@pytest.mark.skipif(not winograd.available(), reason="this PyTorch build has no NNPACK (or no AVX2)")
def test_winograd_serves_a_generator_without_an_inference_form(small_model) -> None:
    x = check_image(64)
    runner = GeneratorRunner(_NoForm(small_model()), precision="fp32", backend="winograd")
    assert runner.backend == "winograd"
    torch.testing.assert_close(runner(x), _plain(small_model(), x), rtol=0, atol=1e-4)


def test_compile_backend_goes_through_torch_compile(small_model, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``compile`` path, traced by dynamo but run by its eager backend (seconds, not the
    tens of seconds inductor's code generation takes: that is the slow test below)."""
    from torch._dynamo.testing import CompileCounter

    counter, real = CompileCounter(), torch.compile
    monkeypatch.setattr(torch, "compile", lambda model, **kw: real(model, backend=counter, **kw))
    torch._dynamo.reset()
    x = torch.rand(1, 3, 40, 56) * 0.3
    runner = GeneratorRunner(small_model(), precision="fp32", backend="compile")
    assert runner.backend == "compile"
    try:
        got = runner(x)
    finally:
        torch._dynamo.reset()
    assert counter.frame_count >= 1  # the generator really was captured by torch.compile
    torch.testing.assert_close(got, _plain(small_model(), x), rtol=0, atol=1e-4)


@pytest.mark.slow
def test_compile_backend_equals_the_plain_forward(small_model) -> None:
    """torch.compile with inductor (tens of seconds to compile, so not in the default run)."""
    x = torch.rand(1, 3, 40, 56) * 0.3
    runner = GeneratorRunner(small_model(), precision="fp32", backend="compile")
    assert runner.backend == "compile"
    torch.testing.assert_close(runner(x), _plain(small_model(), x), rtol=0, atol=1e-4)


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 oneDNN cap")
def test_enhance_cli_refuses_bf16_oneDNN_cannot_run_in_one_line(tmp_path, small_model) -> None:
    """As on an AVX2-only CPU (oneDNN capped to AVX2 here): one line, exit 2, no traceback."""
    from PIL import Image

    from egan_core.testing import save_tiny_checkpoint

    Image.new("RGB", (40, 32), (20, 15, 10)).save(tmp_path / "dark.png")
    ckpt = save_tiny_checkpoint(tmp_path / "g.pt", seed=1)
    done = subprocess.run([sys.executable, "-m", "egan_core", "enhance", str(tmp_path / "dark.png"), "--out",
                           str(tmp_path / "out"), "--checkpoint", str(ckpt), "--precision", "bf16"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: precision bf16 cannot run here") and "--precision auto" in line
