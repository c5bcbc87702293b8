"""GeneratorRunner: exact fp32 path, bf16 within 40 dB, the cached auto decision."""

from __future__ import annotations

import pytest
import torch

from egan_core.enhance import runtime
from egan_core.enhance.runtime import GeneratorRunner, psnr
from egan_core.errors import UsageError
from egan_core.tensors import attention_map, from_model_range, to_model_range


def test_fp32_equals_the_plain_forward(small_model) -> None:
    x = torch.rand(2, 3, 40, 56) * 0.3
    model = small_model()
    img = to_model_range(x)
    with torch.no_grad():
        expected = from_model_range(model(img, attention_map(img))[0])
    out = GeneratorRunner(small_model(), precision="fp32")(x)
    assert torch.allclose(out, expected, atol=1e-5)


def test_bf16_is_close_to_fp32(small_model) -> None:
    x = runtime.probe_image(64)
    ref = GeneratorRunner(small_model(), precision="fp32")(x).clamp(0, 1)
    fast = GeneratorRunner(small_model(), precision="bf16")
    assert fast.precision == "bf16"
    assert psnr(ref, fast(x).clamp(0, 1)) >= 40.0


def test_auto_decides_once_per_model(small_model, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: True)
    monkeypatch.setattr(runtime, "_DECISIONS", {})
    first = GeneratorRunner(small_model(), precision="auto")
    assert first.precision == "bf16" and first.probe_psnr >= 40.0
    assert len(runtime._DECISIONS) == 1
    GeneratorRunner(small_model(), precision="auto")
    assert len(runtime._DECISIONS) == 1  # cached: same weights
    GeneratorRunner(small_model(seed=9), precision="auto")
    assert len(runtime._DECISIONS) == 2


def test_auto_keeps_fp32_when_bf16_is_inaccurate(small_model, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: True)
    monkeypatch.setattr(runtime, "_DECISIONS", {})
    monkeypatch.setattr(runtime, "MIN_PSNR", 500.0)
    assert GeneratorRunner(small_model(), precision="auto").precision == "fp32"
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: False)
    assert GeneratorRunner(small_model(seed=4), precision="auto").precision == "fp32"


def test_bad_arguments(small_model) -> None:
    with pytest.raises(UsageError, match="precision"):
        GeneratorRunner(small_model(), precision="fp16")
    with pytest.raises(UsageError, match="tile"):
        GeneratorRunner(small_model(), precision="fp32", tile=8)


class _NoForm(torch.nn.Module):
    """A generator without ``inference_form``: the runner's plain path serves it."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, image: torch.Tensor, attention: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner(image, attention)


def test_the_generators_inference_form_runs_and_the_plain_path_remains(small_model) -> None:
    x = runtime.probe_image(48)
    fused = GeneratorRunner(small_model(), precision="fp32")
    plain = GeneratorRunner(_NoForm(small_model()), precision="fp32")
    assert fused.fast is not None and plain.fast is None
    torch.testing.assert_close(fused(x), plain(x), rtol=0, atol=1e-5)
    fast_plain = GeneratorRunner(_NoForm(small_model()), precision="bf16")
    assert psnr(plain(x).clamp(0, 1), fast_plain(x).clamp(0, 1)) >= 40.0


def test_auto_probes_the_form_it_will_run(small_model, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "bf16_supported", lambda device: True)
    monkeypatch.setattr(runtime, "_DECISIONS", {})
    runner = GeneratorRunner(small_model(), precision="auto")
    assert runner.precision == "bf16" and runner.fast is not None
    x = runtime.probe_image()
    reference = GeneratorRunner(_NoForm(small_model()), precision="fp32")(x).clamp(0, 1)
    assert psnr(runner(x).clamp(0, 1), reference) == pytest.approx(runner.probe_psnr)


def test_serial_if_small_sets_one_thread_and_restores() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with runtime.serial_if_small(10):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with runtime.serial_if_small(runtime.SERIAL_MAX_ELEMENTS + 1):
            assert torch.get_num_threads() == 2
        with runtime.serial_if_small(10, limit=0):
            assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), runtime.serial_if_small(10):
            raise RuntimeError("boom")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
