"""``fast_grid``'s own ONNX form (a banded ``Scan``): the same function as the PyTorch model
for band heights that divide the image height and ones that do not, any batch, tiny images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from egan_core.export import export_model
from egan_core.generator_io import check_image
from egan_core.metrics.psnr import psnr01 as psnr
from egan_core.model_loading import load_generator
from egan_plugins.enhancers.fast import FAST_WEIGHTS

ort = pytest.importorskip("onnxruntime", reason="pip install 'egan[onnx]'")
onnx = pytest.importorskip("onnx", reason="pip install 'egan[onnx]'")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("onnx") / "fast.onnx"
    report = export_model(FAST_WEIGHTS, None, "onnx", out)
    assert report.psnr >= 40
    return out


def test_the_graph_applies_the_grid_in_a_scan_over_bands(exported: Path) -> None:
    ops = [node.op_type for node in onnx.load(str(exported)).graph.node]
    assert ops.count("Scan") == 1
    assert "Transpose" not in ops  # bands are stacked along the row axis itself


@pytest.mark.parametrize("batch, height, width", [
    (2, 240, 320),   # 120-row bands divide the height: no padded last band
    (1, 211, 317),   # 211 is prime: a padded last band, cut afterwards
    (1, 1500, 1000),  # many bands (60 rows each)
    (1, 16, 16),     # one band
])
def test_onnxruntime_matches_pytorch(exported: Path, batch: int, height: int, width: int) -> None:
    image = check_image(height, width, batch=batch, seed=height)
    with torch.no_grad():
        expected = load_generator(FAST_WEIGHTS).eval().enhance(image).clamp(0, 1)
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(None, {"image": image.numpy()})[0])
    assert got.shape == image.shape
    assert psnr(got, expected) >= 60


def test_a_fixed_size_export_declares_its_size(tmp_path: Path) -> None:
    out = tmp_path / "fixed.onnx"
    export_model(FAST_WEIGHTS, None, "onnx", out, shape=(120, 160))
    dims = [d.dim_value for d in onnx.load(str(out)).graph.output[0].type.tensor_type.shape.dim]
    assert dims[1:] == [3, 120, 160]
