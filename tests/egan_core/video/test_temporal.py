"""Temporal stability: the transform's moving average, cut detection, the flow blend, and
their effect through :func:`egan_core.video.enhance.enhance_video` with ``fast``."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch

from egan_core.enhance.api import load_enhancer
from egan_core.enhance.pipeline import Enhancer
from egan_core.evaluate import score_video
from egan_core.video import synthetic
from egan_core.video.enhance import enhance_video
from egan_core.video.flicker import flicker
from egan_core.video.io import Frame, VideoReader, rgb_to_i420
from egan_core.video.temporal import DEFAULT_TEMPORAL, CutDetector, FlowBlender, TransformSmoother, small_gray

HEIGHT, WIDTH = 96, 128


def planes(image: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """``image`` as the writer hands it to the blend: I420, and its Y, U, V planes (views)."""
    i420 = rgb_to_i420(image, "itu601")
    h, w = image.shape[:2]
    chroma = i420[h:].reshape(2, h // 2, w // 2)
    return i420, [i420[:h], chroma[0], chroma[1]]


def flickering(images: list[np.ndarray], gain: float = 1.15) -> list[np.ndarray]:
    """``images`` with every odd frame ``gain`` times brighter."""
    return [np.clip(im.astype(np.float32) * (gain if i % 2 else 1.0), 0, 255).astype(np.uint8)
            for i, im in enumerate(images)]


def decoded(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [item.image.astype(np.float64) for item in reader.items() if isinstance(item, Frame)]


@pytest.fixture(scope="module")
def fast() -> Enhancer:
    return load_enhancer("fast")


# ---- TransformSmoother ----------------------------------------------------------------------

def _given(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    return lambda: t


def test_the_smoother_averages_each_stage_and_restarts_on_reset() -> None:
    smooth = TransformSmoother(0.75, every=1)
    a, b, c = torch.full((2, 3), 4.0), torch.full((2, 3), 8.0), torch.full((2, 3), 100.0)
    assert torch.equal(smooth(0, _given(a)), a)  # nothing to average with yet
    assert torch.allclose(smooth(0, _given(b)), 0.75 * a + 0.25 * b)  # keep of the past
    assert torch.allclose(smooth(0, _given(b)), 0.75 * (0.75 * a + 0.25 * b) + 0.25 * b)
    assert torch.equal(smooth(1, _given(c)), c)  # each stage has its own past
    smooth.reset()
    assert torch.equal(smooth(0, _given(c)), c)
    assert torch.equal(smooth(0, _given(torch.ones(4))), torch.ones(4))  # another shape starts again


def test_the_smoother_predicts_every_other_frame_and_forgets_at_the_same_rate() -> None:
    smooth = TransformSmoother(0.75, every=2)
    calls: list[float] = []

    def predict(value: float) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            calls.append(value)
            return torch.full((3,), value)
        return run

    outs = [smooth(0, predict(v)) for v in (4.0, 8.0, 8.0, 8.0)]
    assert calls == [4.0, 8.0]  # frames 0 and 2 predict, 1 and 3 hold
    assert torch.equal(outs[1], outs[0])
    assert torch.allclose(outs[2], torch.full((3,), 0.75 ** 2 * 4.0 + (1 - 0.75 ** 2) * 8.0))
    smooth.reset()
    smooth(0, predict(1.0))
    assert calls[-1] == 1.0  # after a cut the next frame predicts at once


def test_a_smoother_keeping_nothing_returns_each_transform() -> None:
    smooth = TransformSmoother(0.0, every=1)
    for value in (1.0, 5.0, -2.0):
        t = torch.full((3,), value)
        assert torch.equal(smooth(0, _given(t)), t)


@pytest.mark.parametrize("keep", [-0.1, 1.0, 1.5])
def test_the_smoother_refuses_a_weight_outside_0_to_1(keep: float) -> None:
    with pytest.raises(ValueError, match="keep"):
        TransformSmoother(keep)


# ---- CutDetector ----------------------------------------------------------------------------

def test_cuts_are_the_first_frame_and_a_new_scene_not_a_pan() -> None:
    images = synthetic.frames(12, HEIGHT, WIDTH, speed=2, cut_at=6)
    detect = CutDetector()
    assert [detect(small_gray(im)) for im in images] == [i in (0, 6) for i in range(12)]


def test_a_fast_pan_and_a_flickering_light_are_not_cuts() -> None:
    detect = CutDetector()
    pan = [detect(small_gray(im)) for im in synthetic.frames(10, HEIGHT, WIDTH, speed=8)]
    assert pan == [True] + [False] * 9
    detect.reset()
    flicker = [detect(small_gray(im)) for im in flickering(synthetic.frames(10, HEIGHT, WIDTH), 1.3)]
    assert flicker == [True] + [False] * 9


# ---- FlowBlender ----------------------------------------------------------------------------

def test_a_blend_of_strength_0_changes_nothing() -> None:
    blend = FlowBlender(0.0)
    for i, image in enumerate(synthetic.frames(6, HEIGHT, WIDTH, noise=0.03)):
        i420, yuv = planes(image)
        before = i420.copy()
        blend(yuv, small_gray(image), i == 0)
        assert np.array_equal(i420, before)


def test_the_blend_lowers_the_noise_of_a_still_scene() -> None:
    images = synthetic.frames(12, HEIGHT, WIDTH, noise=0.03, speed=0)
    outputs = {}
    for strength in (0.0, 0.8):
        blend = FlowBlender(strength)
        frames = []
        for i, image in enumerate(images):
            i420, yuv = planes(image)
            blend(yuv, small_gray(image), i == 0)
            frames.append(i420.astype(np.float64))
        outputs[strength] = np.stack(frames[4:]).var(axis=0).mean()  # past the first frames
    assert outputs[0.8] < outputs[0.0] / 4, outputs  # measured: 12.6 -> 1.3


def test_the_blend_follows_the_motion_of_a_pan() -> None:
    """Warped along the flow, the previous output brings the frame closer to the clean scene
    (a warp the wrong way would be refused or smear it)."""
    clean = synthetic.frames(10, HEIGHT, WIDTH, noise=0.0, speed=2)
    noisy = synthetic.frames(10, HEIGHT, WIDTH, noise=0.03, speed=2)
    blend = FlowBlender(0.8)
    before, after = [], []
    for i, (truth, image) in enumerate(zip(clean, noisy, strict=True)):
        i420, yuv = planes(image)
        target = planes(truth)[1][0].astype(np.float64)
        before.append(np.abs(yuv[0] - target).mean())
        blend(yuv, small_gray(image), i == 0)
        after.append(np.abs(yuv[0] - target).mean())
    assert after[0] == before[0]  # the first frame has nothing to blend with
    assert np.mean(after[5:]) < 0.6 * np.mean(before[5:]), (before, after)  # measured 3.5 -> 1.3


def test_nearest_chroma_changes_only_the_chroma_and_still_follows_the_pan() -> None:
    """``nearest_chroma`` (the transform models' cheaper chroma warp): the luma is the same
    as with the bilinear warp, and the chroma still comes closer to the clean scene."""
    clean = synthetic.frames(10, HEIGHT, WIDTH, noise=0.0, speed=2, seed=4)
    noisy = synthetic.frames(10, HEIGHT, WIDTH, noise=0.04, speed=2, seed=4)
    results = {}
    for nearest in (False, True):
        blend = FlowBlender(0.8, nearest_chroma=nearest)
        before, after, lumas = [], [], []
        for i, (truth, image) in enumerate(zip(clean, noisy, strict=True)):
            i420, yuv = planes(image)
            target = [plane.astype(np.float64) for plane in planes(truth)[1][1:]]
            before.append(sum(np.abs(yuv[k] - target[k - 1]).mean() for k in (1, 2)))
            blend(yuv, small_gray(image), i == 0)
            after.append(sum(np.abs(yuv[k] - target[k - 1]).mean() for k in (1, 2)))
            lumas.append(yuv[0].copy())
        assert np.mean(after[5:]) < 0.8 * np.mean(before[5:]), (nearest, before, after)
        results[nearest] = (lumas, after)
    assert all(np.array_equal(a, b) for a, b in zip(results[False][0], results[True][0], strict=True))
    assert results[False][1][5:] != results[True][1][5:]


def test_a_cut_restarts_the_blend() -> None:
    blend = FlowBlender(0.8)
    images = synthetic.frames(4, HEIGHT, WIDTH, noise=0.03, speed=0)
    for i, image in enumerate(images[:3]):
        blend(planes(image)[1], small_gray(image), i == 0)
    i420, yuv = planes(images[3])
    before = i420.copy()
    blend(yuv, small_gray(images[3]), True)
    assert np.array_equal(i420, before)


# ---- through enhance_video with fast --------------------------------------------------------

def test_smoothing_the_transform_steadies_a_flickering_clip(tmp_path: Path, fast: Enhancer) -> None:
    source = tmp_path / "flicker.mp4"
    synthetic.write_clip(source, flickering(synthetic.frames(16, HEIGHT, WIDTH)))
    steps = {}
    for temporal in (0.0, 0.8):
        target = tmp_path / f"out{temporal}.mp4"
        enhance_video(fast, source, target, temporal=temporal)
        means = [frame.mean() for frame in decoded(target)]
        steps[temporal] = float(np.mean([abs(b - a) for a, b in pairwise(means)]))
    assert steps[0.8] < 0.5 * steps[0.0], steps  # measured 5.5 -> 1.9


def test_the_first_frame_after_a_cut_is_enhanced_alone(tmp_path: Path, fast: Enhancer) -> None:
    """At a cut both passes restart: that frame comes out as with ``temporal=0`` (lossless
    encoding, so exactly), while its neighbours are smoothed."""
    cut = 8
    source = tmp_path / "cut.mp4"
    synthetic.write_clip(source, flickering(synthetic.frames(14, HEIGHT, WIDTH, cut_at=cut)))
    outputs = {}
    for temporal in (0.0, 0.8):
        target = tmp_path / f"out{temporal}.mp4"
        enhance_video(fast, source, target, temporal=temporal, crf=0)
        outputs[temporal] = decoded(target)
    diff = [float(np.abs(a - b).mean()) for a, b in zip(outputs[0.0], outputs[0.8], strict=True)]
    assert diff[0] < 0.5 and diff[cut] < 0.5, diff
    assert min(diff[cut - 1], diff[cut + 1]) > 2.0, diff


@pytest.mark.parametrize("name", ["fast", "clahe"])
def test_the_default_path_halves_the_flicker_without_losing_quality(tmp_path: Path, name: str) -> None:
    """The issue's acceptance on a noisy panning clip: the default video path has at most half
    the warping error of enhancing every frame alone (with the input's flow), and NIQE no
    worse by more than 0.1. ``fast`` predicts a transform (every frequency blended);
    ``clahe`` does not (its fine detail is kept from each frame)."""
    source = tmp_path / "noisy.mp4"
    synthetic.write_clip(source, synthetic.frames(20, 180, 320, noise=0.02, speed=2), crf=8)
    enhancer = load_enhancer(name)
    scores = {}
    for temporal in (0.0, DEFAULT_TEMPORAL):
        target = tmp_path / f"{name}{temporal}.mp4"
        enhance_video(enhancer, source, target, temporal=temporal)
        scores[temporal] = (flicker(target, source)["flicker"], score_video(target, ["niqe"])["niqe"])
    (alone, niqe_alone), (steady, niqe_steady) = scores[0.0], scores[DEFAULT_TEMPORAL]
    assert steady <= 0.5 * alone, scores
    assert niqe_steady <= niqe_alone + 0.1, scores
