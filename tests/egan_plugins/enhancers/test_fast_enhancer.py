"""The ``fast`` enhancer: shipped weights, CLI (images and video), export round trips."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from egan_core import load_enhancer
from egan_core.cli.main import cli
from egan_core.errors import UsageError
from egan_core.generator_io import check_image
from egan_core.metrics.psnr import psnr01 as psnr
from egan_core.model_loading import load_generator
from egan_core.scenes import dark_scene
from egan_plugins.enhancers.fast import FAST_WEIGHTS, FastRunner
from egan_plugins.networks.fast_grid import FastGridNet

try:
    import onnx
    import onnxruntime as ort
except ImportError:
    onnx = ort = None

FORMATS = [pytest.param("onnx", marks=pytest.mark.skipif(ort is None or onnx is None,
                                                         reason="onnx/onnxruntime not installed")),
           "torchscript"]


def _dark_scene(height: int = 96, width: int = 128) -> np.ndarray:
    return dark_scene(width, height)


def test_shipped_weights_load_and_brighten() -> None:
    assert FAST_WEIGHTS.is_file() and FAST_WEIGHTS.stat().st_size < 4_000_000
    assert isinstance(load_generator(FAST_WEIGHTS), FastGridNet)
    dark = _dark_scene()
    out = load_enhancer("fast", device="cpu")(dark)
    assert out.shape == dark.shape and out.dtype == np.uint8
    assert out.mean() > 2 * dark.mean() + 10


def test_detail_picks_the_shipped_v2_weights() -> None:
    from egan_plugins.shipped import FAST_DETAIL_MODEL

    detail = load_enhancer("fast:detail=true", device="cpu")
    assert detail.stages[0].model.detail_radii == tuple(FAST_DETAIL_MODEL.kwargs["detail"])
    assert load_enhancer("fast", device="cpu").stages[0].model.detail is None
    dark = _dark_scene(300, 400)
    with_detail, without = detail(dark), load_enhancer("fast", device="cpu")(dark)
    assert np.abs(with_detail.astype(int) - without).mean() > 0.2  # the branch adds texture
    assert abs(float(with_detail.mean()) - float(without.mean())) < 2  # not tone
    with pytest.raises(UsageError, match="the checkpoint decides"):
        load_enhancer("fast:detail=true", checkpoint=str(FAST_WEIGHTS), device="cpu")


def test_large_frame_runs_whole_in_bands() -> None:
    """No tiling: a frame above the banding threshold gives the whole-frame result."""
    runner = FastRunner(load_generator(FAST_WEIGHTS), torch.device("cpu"))
    assert not hasattr(runner, "tile")
    x = torch.from_numpy(_dark_scene(300, 400)).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        expected = runner.model.enhance(x)
    torch.testing.assert_close(runner(x), expected, atol=1e-5, rtol=0)


def test_other_generators_are_refused() -> None:
    from egan_plugins.networks.zero_dce import ZeroDCE

    with pytest.raises(UsageError, match="fast_grid"):
        FastRunner(ZeroDCE(), torch.device("cpu"))


def test_cli_images_and_video(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), _dark_scene(61, 83)[:, :, ::-1])
    writer = cv2.VideoWriter(str(src / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (64, 48))
    for _ in range(3):
        writer.write(_dark_scene(48, 64)[:, :, ::-1].copy())
    writer.release()
    result = CliRunner().invoke(cli, ["enhance", str(src), "--out", str(tmp_path / "out"),
                                      "--enhancer", "fast"], prog_name="egan")
    assert result.exit_code == 0, result.output
    image = cv2.imread(str(tmp_path / "out" / "a.png"))
    assert image.shape == (61, 83, 3) and image.mean() > 2 * _dark_scene(61, 83).mean()
    cap = cv2.VideoCapture(str(tmp_path / "out" / "clip.avi"))
    frames = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames += 1
        assert frame.mean() > 2 * _dark_scene(48, 64).mean()
    assert frames == 3


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_round_trip(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / f"fast.{fmt}"
    result = CliRunner().invoke(cli, ["export", "--checkpoint", str(FAST_WEIGHTS), "--format", fmt,
                                      "--out", str(out)], prog_name="egan")
    assert result.exit_code == 0, result.output
    image = check_image(211, 317, seed=4)
    model = load_generator(FAST_WEIGHTS)
    with torch.no_grad():
        expected = model.enhance(image).clamp(0, 1)
    if fmt == "onnx":
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        got = torch.from_numpy(session.run(None, {"image": image.numpy()})[0])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(out))
        with torch.inference_mode():
            got = module(image)
    assert psnr(got, expected) >= 40.0


@pytest.mark.parametrize("shape", [(300, 400), (2100, 2050)])  # the second is over 4 MP
def test_uint8_arrays_take_the_band_path_and_match_the_float_path(shape: tuple[int, int]) -> None:
    from egan_core.contracts import EnhancesUint8
    from egan_core.enhance.io import to_uint8

    enhancer = load_enhancer("fast", device="cpu")
    assert isinstance(enhancer.stages[0], EnhancesUint8)
    dark = _dark_scene(*shape)
    direct = enhancer(dark)
    via_float = to_uint8(enhancer(torch.from_numpy(dark).permute(2, 0, 1).float() / 255)
                         .permute(1, 2, 0).numpy())
    diff = np.abs(direct.astype(int) - via_float.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4


@pytest.mark.parametrize(("matrix", "full_range"), [("itu709", False), ("itu601", True)])
def test_video_frames_go_from_ycc_planes_to_i420_as_through_rgb(matrix: str, full_range: bool) -> None:
    """The video path (decoder planes in, encoder planes out, no RGB frame) gives what
    converting to RGB, enhancing and converting back gives, up to rounding."""
    from egan_core.contracts import EnhancesYcc
    from egan_core.video.io import i420_planes, i420_to_rgb, rgb_to_i420, ycc_matrices

    enhancer = load_enhancer("fast", device="cpu")
    assert isinstance(enhancer.stages[0], EnhancesYcc)
    rng = np.random.default_rng(3)
    dark = np.clip(_dark_scene(360, 640) + rng.normal(0, 3, (360, 640, 3)), 0, 255).astype(np.uint8)
    i420 = rgb_to_i420(dark, matrix)  # read as full range too: the same levels, another meaning
    to_rgb, from_rgb = ycc_matrices(matrix, full_range)
    got = enhancer.enhance_frame_ycc(i420_planes(i420), to_rgb, from_rgb)
    assert got is not None and got.shape == i420.shape and got.dtype == np.uint8
    expected = rgb_to_i420(enhancer.enhance_frame(i420_to_rgb(i420, matrix, full_range)), matrix)
    error = got.astype(np.float64) - expected
    assert 10 * np.log10(255**2 / np.mean(error**2)) >= 45.0
    # the RGB path rounds its input to 8 bits and the model's gain (up to ~5x) magnifies that
    assert np.abs(error).max() <= 6 and abs(error.mean()) < 0.25
    # the grid from the planes is the grid of the RGB frame
    stage = enhancer.stages[0]
    grid = stage.predict_transform_ycc(i420_planes(i420), to_rgb)
    assert torch.allclose(grid, stage.predict_transform_uint8(i420_to_rgb(i420, matrix, full_range)),
                          rtol=0.02, atol=0.02)


def test_ycc_levels_are_clipped_where_the_output_matrix_could_leave_8_bits() -> None:
    """The output levels are not clipped after a limited-range conversion (it cannot leave
    [0, 255]); a conversion that can, gets its levels clipped instead of wrapping round."""
    from egan_core.video.io import i420_planes, rgb_to_i420, ycc_matrices

    to_rgb, from_rgb = ycc_matrices("itu709")
    planes = i420_planes(rgb_to_i420(_dark_scene(64, 96), "itu709"))
    enhancer = load_enhancer("fast", device="cpu")
    plain = enhancer.enhance_frame_ycc(planes, to_rgb, from_rgb)
    lifted = from_rgb.copy()
    lifted[0, 3] += 150.0  # luma 150 levels up: its bright part would pass 255
    got = enhancer.enhance_frame_ycc(planes, to_rgb, lifted)
    assert plain is not None and got is not None
    h = planes[0].shape[0]
    assert int(plain[:h].max()) + 150 > 255  # the test needs levels that would wrap
    np.testing.assert_array_equal(got[:h], np.minimum(plain[:h].astype(int) + 150, 255))
    np.testing.assert_array_equal(got[h:], plain[h:])


def test_the_ycc_path_is_refused_where_it_does_not_apply_and_checks_the_transform() -> None:
    from egan_core.errors import EganError
    from egan_core.video.io import i420_planes, rgb_to_i420, ycc_matrices

    to_rgb, from_rgb = ycc_matrices("itu601")
    planes = i420_planes(rgb_to_i420(_dark_scene(64, 96), "itu601"))
    chain = load_enhancer(["fast", "clahe"], device="cpu")
    assert chain.enhance_frame_ycc(planes, to_rgb, from_rgb) is None and not chain.reads_ycc
    half = load_enhancer("fast", strength=0.5, device="cpu")
    assert half.enhance_frame_ycc(planes, to_rgb, from_rgb) is None and not half.reads_ycc
    enhancer = load_enhancer("fast", device="cpu")
    assert enhancer.reads_ycc and enhancer.enhance_frame_ycc(planes, to_rgb, from_rgb) is not None
    broken = enhancer.stages[0].predict_transform_ycc(planes, to_rgb).clone()
    broken[0, 0, 1, 1] = float("nan")
    with pytest.raises(EganError, match="non-finite"):
        enhancer.enhance_frame_ycc(planes, to_rgb, from_rgb, lambda stage, predict: broken)
