"""``egan export``: ONNX and TorchScript round trips, fixed shapes, refusals."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner, Result
from torch import nn

from egan_core import hookimpl, load_enhancer
from egan_core.checkpoint import save_checkpoint
from egan_core.cli.main import cli
from egan_core.errors import EganError, UsageError
from egan_core.export import export_model, reference_output
from egan_core.generator_io import attention_map, check_image, to_model_range
from egan_core.metrics.psnr import MIN_PSNR
from egan_core.metrics.psnr import psnr01 as psnr
from egan_core.registry import Registries
from egan_core.testing import PluginManagerFactory
from egan_plugins.networks.unet import AttentionUNet

try:  # the ONNX extra (egan[onnx]); without it only the ONNX tests are skipped
    import onnx
    import onnxruntime as ort
except ImportError:
    onnx = ort = None

#: Marks a test (or a format parameter) that needs the ONNX extra.
needs_onnx = pytest.mark.skipif(ort is None or onnx is None,
                                reason="onnx/onnxruntime not installed (pip install egan[onnx])")
#: The two formats, ONNX skipped without its extra.
FORMATS = [pytest.param("onnx", marks=needs_onnx), "torchscript"]

KWARGS = {"base_channels": 8, "align_corners": False, "seed": 3}


def _egan(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="egan")


def _trained_generator() -> AttentionUNet:
    """A small attention_unet whose residual is far from zero (calibrated BatchNorm).

    Fresh BatchNorm statistics (mean 0, var 1) leave a random generator close to the
    identity, which would make any export look right; this one changes the image a lot.
    """
    model = AttentionUNet(**KWARGS)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None  # cumulative average over the calibration pass
    x = to_model_range(check_image(96, 128, seed=5))
    with torch.no_grad():
        model.train()(x, attention_map(x))
        model.conv10.weight.mul_(5.0)
    return model.eval()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AttentionUNet]:
    """A checkpoint in the trainer's format and the model it holds."""
    model = _trained_generator()
    path = tmp_path_factory.mktemp("ckpt") / "latest.pt"
    spec = {"name": "attention_unet", "kwargs": dict(KWARGS), "state_dict": model.state_dict()}
    save_checkpoint(path, {"generator": spec, "epoch": 3, "step": 120})
    return path, model


def _run_onnx(path: Path, x: torch.Tensor) -> torch.Tensor:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"image": x.numpy()})[0])


def _run_torchscript(path: Path, x: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.load(str(path))
    with torch.inference_mode():
        return module(x)


RUNNERS = {"onnx": _run_onnx, "torchscript": _run_torchscript}


def _no_leftovers(folder: Path) -> None:
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_dynamic_round_trip(fmt: str, trained: tuple[Path, AttentionUNet], tmp_path: Path) -> None:
    ckpt, model = trained
    out = tmp_path / f"model.{fmt}"
    report = export_model(ckpt, None, fmt, out)
    assert report.path == out and out.is_file() and report.format == fmt
    assert report.psnr >= MIN_PSNR and (1, 333, 500) in report.checked
    _no_leftovers(tmp_path)

    # the same file, an odd size and then another size and batch size
    for x in (check_image(333, 500, seed=11), check_image(150, 97, batch=2, seed=12)):
        expected = reference_output(model, x)
        assert psnr(expected, x) < 35  # the model really changes the image
        got = RUNNERS[fmt](out, x)
        assert got.shape == x.shape
        assert psnr(got, expected) >= MIN_PSNR
        assert (got - expected).abs().max() < 1e-3
        assert got.min() >= 0 and got.max() <= 1
    if fmt == "onnx":
        dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, "height", "width"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_fixed_shape(fmt: str, trained: tuple[Path, AttentionUNet], tmp_path: Path) -> None:
    ckpt, model = trained
    out = tmp_path / f"fixed.{fmt}"
    result = _egan("export", "--checkpoint", str(ckpt), "--format", fmt, "--out", str(out),
                   "--shape", "90x130")
    assert result.exit_code == 0, result.output
    assert "H=90, W=130" in result.output
    assert "1x3x90x130" in result.output  # the verified size
    x = check_image(90, 130, seed=4)
    assert psnr(RUNNERS[fmt](out, x), reference_output(model, x)) >= MIN_PSNR
    with pytest.raises(Exception, match="(?i)dimension|90x130|shape|index"):
        RUNNERS[fmt](out, check_image(96, 128))
    if fmt == "onnx":
        dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, 90, 130]


def test_original_state_dict(trained: tuple[Path, AttentionUNet], tmp_path: Path) -> None:
    """An EnlightenGAN *_net_G_A.pth: `module.` prefixes, no num_batches_tracked keys."""
    _, model = trained
    original = {f"module.{k}": v for k, v in model.state_dict().items()
                if not k.endswith("num_batches_tracked")}
    pth = tmp_path / "200_net_G_A.pth"
    torch.save(original, pth)
    out = tmp_path / "original.pt"
    result = _egan("export", "--checkpoint", str(pth), "--format", "torchscript", "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"wrote {out} (torchscript, from {pth})"
    assert lines[1].startswith("input:  image: float32 Nx3xHxW in [0, 1]")
    assert lines[2].startswith("output: enhanced: float32 Nx3xHxW in [0, 1]")
    assert "dB PSNR" in lines[3] or "identical" in lines[3]
    assert "1x3x333x500" in lines[3]
    x = check_image(120, 170, seed=8)  # the exporter itself checked 333x500
    assert psnr(_run_torchscript(out, x), reference_output(model, x)) >= MIN_PSNR


@needs_onnx
def test_recipe_uses_latest_checkpoint(trained: tuple[Path, AttentionUNet], tmp_path: Path) -> None:
    ckpt, model = trained
    recipe = tmp_path / "night.yaml"
    recipe.write_text("name: night_cars\nmodel:\n  generator: {name: attention_unet}\n")
    latest = tmp_path / "runs" / "night_cars" / "checkpoints" / "latest.pt"
    latest.parent.mkdir(parents=True)
    latest.write_bytes(ckpt.read_bytes())
    out = tmp_path / "night.onnx"
    report = export_model(None, str(recipe), "onnx", out, shape=(64, 80), runs=tmp_path / "runs")
    assert report.checkpoint == latest and out.is_file()
    x = check_image(64, 80, seed=2)
    assert psnr(_run_onnx(out, x), reference_output(model, x)) >= MIN_PSNR
    with pytest.raises(EganError, match="no checkpoint for recipe 'night_cars'"):
        export_model(None, str(recipe), "onnx", out, runs=tmp_path / "elsewhere")


def test_usage_errors(trained: tuple[Path, AttentionUNet], tmp_path: Path) -> None:
    ckpt, _ = trained
    out = str(tmp_path / "x.onnx")
    for args in (["--checkpoint", str(ckpt), "--recipe", "r.yaml"], [],
                 ["--checkpoint", str(ckpt), "--shape", "big"],
                 ["--checkpoint", str(ckpt), "--shape", "8x8"]):
        result = _egan("export", *args, "--format", "onnx", "--out", out)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    with pytest.raises(UsageError):
        export_model(ckpt, None, "tflite", out)  # type: ignore[arg-type]
    missing = _egan("export", "--checkpoint", str(tmp_path / "nope.pt"), "--format", "torchscript",
                    "--out", out)
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    assert not Path(out).exists()


class ShapeBranchGenerator(nn.Module):
    """A generator with a Python branch on the input width.

    Tracing records one side of the branch only, so the exported graph really differs
    from the PyTorch model on wide images: the exporter's check must catch it.
    """

    def __init__(self, wide: int = 300) -> None:
        super().__init__()
        self.wide = wide
        self.conv = nn.Conv2d(4, 3, 3, padding=1)

    def forward(self, image: torch.Tensor, attention: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        latent = self.conv(torch.cat((image, attention), 1)) * attention
        if image.shape[-1] > self.wide:
            latent = latent + 0.6
        return image + latent, latent


class ShapeBranchPlugin:
    @hookimpl
    def egan_register(self, registries: Registries) -> None:
        registries.generators.register("shape_branch", ShapeBranchGenerator)


@pytest.mark.parametrize("fmt", FORMATS)
def test_refuses_export_that_differs(fmt: str, plugin_manager: PluginManagerFactory,
                                     tmp_path: Path) -> None:
    plugin_manager(entry_points=False, extra=[("egan-test-export", ShapeBranchPlugin())],
                   activate=True)
    torch.manual_seed(0)
    spec = {"name": "shape_branch", "kwargs": {"wide": 300},
            "state_dict": ShapeBranchGenerator().state_dict()}
    ckpt = save_checkpoint(tmp_path / "branchy.pt", {"generator": spec})
    out = tmp_path / "exports" / f"branchy.{fmt}"
    result = _egan("export", "--checkpoint", str(ckpt), "--format", fmt, "--out", str(out))
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: the exported") and "dB PSNR" in line and "refused" in line
    assert "1x3x333x500" in line
    assert not out.exists()
    _no_leftovers(out.parent)

    # the same generator exported at a narrow fixed size is faithful and written
    fixed = _egan("export", "--checkpoint", str(ckpt), "--format", fmt, "--out", str(out),
                  "--shape", "64x96")
    assert fixed.exit_code == 0, fixed.output
    assert out.is_file()


BLOCK_ONNXRUNTIME = """
import importlib.abc, sys

class _NoOnnxRuntime(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "onnxruntime":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoOnnxRuntime())
sys.argv = ["egan", *sys.argv[1:]]
from egan_core.cli.main import main
main()
"""


def test_missing_onnx_extra(trained: tuple[Path, AttentionUNet], tmp_path: Path) -> None:
    ckpt, _ = trained
    out = tmp_path / "model.onnx"
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_ONNXRUNTIME, "export", "--checkpoint", str(ckpt),
         "--format", "onnx", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: ") and "onnxruntime" in line
    assert "pip install" in line and "egan[onnx]" in line
    assert not out.exists()


RUN_PYTEST_WITHOUT_ONNX = """
import importlib.abc, sys

class _NoOnnx(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("onnx", "onnxruntime"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _NoOnnx())
import numpy as np
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def test_torchscript_tests_run_without_the_onnx_extra() -> None:
    """Without onnx/onnxruntime only the ONNX tests of this file are skipped."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-c", RUN_PYTEST_WITHOUT_ONNX, str(Path(__file__).resolve()), "-q",
         "-p", "no:cacheprovider", "-k", "test_fixed_shape or test_missing_onnx_extra"],
        cwd=root, capture_output=True, text=True, timeout=300,
    )
    summary = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 passed, 1 skipped" in summary, summary


def test_weights_only_export_shares_a_trained_generator(tmp_path: Path) -> None:
    """A run's checkpoint carries D and the optimizers; the safetensors export only G, and
    enhances exactly as the checkpoint does."""
    from egan_core.testing import make_tiny_recipe
    from egan_core.training.trainer import train

    run_dir, _ = train(make_tiny_recipe(max_steps=1), out=tmp_path / "runs", device="cpu", quiet=True)
    latest = run_dir / "checkpoints" / "latest.pt"
    out = tmp_path / "tiny.safetensors"
    done = CliRunner().invoke(cli, ["export", "--checkpoint", str(latest), "--format", "safetensors",
                                    "--out", str(out)], prog_name="egan")
    assert done.exit_code == 0, done.output
    assert "reads back identical" in done.output
    assert out.stat().st_size < latest.stat().st_size / 2
    photo = np.random.default_rng(0).integers(0, 80, (40, 56, 3), dtype=np.uint8)
    by_checkpoint = load_enhancer("gan", checkpoint=str(latest), device="cpu")(photo)
    by_weights = load_enhancer("gan", checkpoint=str(out), device="cpu")(photo)
    assert np.array_equal(by_checkpoint, by_weights)
    refused = CliRunner().invoke(cli, ["export", "--checkpoint", str(out), "--format", "safetensors",
                                       "--out", str(tmp_path / "again.safetensors")], prog_name="egan")
    assert refused.exit_code == 2 and "weights-only already" in refused.output
