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
