"""``egan export`` of the zero-reference generators (Zero-DCE, Zero-DCE++ at its official
scale factor 12, SCI): ONNX and TorchScript with dynamic shapes pass the 40 dB self-check
and keep matching PyTorch at other sizes and batch sizes."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from egan_core.checkpoint import save_checkpoint
from egan_core.export import export_model, reference_output
from egan_core.generator_io import check_image
from egan_core.metrics.psnr import MIN_PSNR
from egan_core.metrics.psnr import psnr01 as psnr
from egan_plugins.networks import SCI, ZeroDCE, ZeroDCEPlusPlus

try:
    import onnxruntime as ort
except ImportError:
    ort = None

FORMATS = [pytest.param("onnx", marks=pytest.mark.skipif(ort is None, reason="pip install egan[onnx]")),
           "torchscript"]
MODELS = {"zero_dce": ZeroDCE, "zero_dce_pp": ZeroDCEPlusPlus, "sci": SCI}


def _run(fmt: str, path: Path, x: torch.Tensor) -> torch.Tensor:
    if fmt == "onnx":
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {"image": x.numpy()})[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(path))
    with torch.inference_mode():
        return module(x)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(MODELS))
def test_dynamic_export(name: str, fmt: str, tmp_path: Path) -> None:
    model = MODELS[name]()
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():  # weights that visibly change the image (the init is near identity)
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.1)
    model.eval()
    ckpt = save_checkpoint(tmp_path / "model.pt", {"generator": {"name": name, "kwargs": {},
                                                                 "state_dict": model.state_dict()}})
    out = tmp_path / f"model.{fmt}"
    report = export_model(ckpt, None, fmt, out)
    assert report.psnr >= MIN_PSNR and out.is_file()
    for x in (check_image(333, 500, seed=11), check_image(150, 97, batch=2, seed=12)):
        expected = reference_output(model, x)
        assert psnr(expected, x) < 40  # the model really changes the image
        got = _run(fmt, out, x)
        assert got.shape == x.shape
        assert psnr(got, expected) >= MIN_PSNR
