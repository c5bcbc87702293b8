"""The flicker metric (warping error, Lai et al. 2018) and ``egan eval`` on videos.

Every clip is made here by :mod:`egan_core.video.synthetic`: a dark scene panning by whole
pixels, so the motion the flow must follow is known.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from egan_core.cli.main import cli
from egan_core.errors import InputError, UsageError
from egan_core.evaluate import evaluate
from egan_core.video import synthetic
from egan_core.video.flicker import flicker, warping_error
from egan_core.video.io import Frame, VideoReader

COUNT, HEIGHT, WIDTH = 12, 96, 128


def _gain(images: list[np.ndarray], odd: float, even: float = 1.0) -> list[np.ndarray]:
    """``images`` with every odd frame multiplied by ``odd`` and every even one by ``even``."""
    return [np.clip(im.astype(np.float32) * (odd if i % 2 else even), 0, 255).astype(np.uint8)
            for i, im in enumerate(images)]


def _mean_abs_step(images: list[np.ndarray]) -> float:
    """Mean over consecutive pairs of the mean |frame t - frame t-1|: the error without motion."""
    return float(np.mean([np.abs(b.astype(np.float64) - a).mean()
                          for a, b in pairwise(images)]))


def _decoded(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [item.image for item in reader.items() if isinstance(item, Frame)]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``src.mp4`` (a night clip), ``clip.mp4`` (it brightened, alternate frames 1.3x more),
    ``short.mp4`` (its first 10 frames) and ``photo.png``."""
    folder = tmp_path_factory.mktemp("clips")
    src = synthetic.frames(COUNT, HEIGHT, WIDTH, noise=0.01, speed=2)
    synthetic.write_clip(folder / "src.mp4", src)
    synthetic.write_clip(folder / "clip.mp4", _gain(src, 2.6, 2.0))
    synthetic.write_clip(folder / "short.mp4", src[:10])
    Image.fromarray(src[0]).save(folder / "photo.png")
    return folder


def test_a_static_clip_is_steady_and_brightness_jitter_is_not() -> None:
    still = synthetic.frames(COUNT, HEIGHT, WIDTH, noise=0.0, speed=0)
    jittered = _gain(still, 1.3)
    assert warping_error(still) < 0.05
    assert warping_error(iter(jittered)) > 3  # a generator: frames are streamed
    # With the still clip's flow (none) every pixel counts: the plain frame difference.
    assert warping_error(jittered, still) == pytest.approx(_mean_abs_step(jittered), rel=1e-4)
    assert _mean_abs_step(jittered) > 10


def test_the_flow_follows_a_pan() -> None:
    pan = synthetic.frames(COUNT, HEIGHT, WIDTH, noise=0.003, speed=2)
    followed = warping_error(pan)
    # A still source gives zero flow: the pan is then left uncompensated.
    unfollowed = warping_error(pan, [pan[0]] * COUNT)
    assert followed < 1.0
    assert followed < unfollowed / 3, (followed, unfollowed)
    assert warping_error(pan, flow_scale=0.5) < unfollowed / 3  # a flow computed at half size


def test_a_scene_cut_is_no_flicker() -> None:
    """At the cut no pixel of the new scene comes from the old one: the occlusion mask (and
    the agreement of the warped source) leave them out, instead of counting a whole new
    picture as flicker."""
    pan = warping_error(synthetic.frames(COUNT, HEIGHT, WIDTH, noise=0.003, speed=2))
    cut = warping_error(synthetic.frames(COUNT, HEIGHT, WIDTH, noise=0.003, speed=2, cut_at=6))
    assert cut < 1.25 * pan, (cut, pan)


def test_noise_raises_the_error_and_averaging_along_the_motion_lowers_it() -> None:
    errors = [warping_error(synthetic.frames(COUNT, HEIGHT, WIDTH, noise=n, speed=2))
              for n in (0.005, 0.01, 0.02)]
    assert errors[0] < errors[1] < errors[2], errors
    noisy = synthetic.frames(COUNT, HEIGHT, WIDTH, noise=0.02, speed=2)
    # Each frame averaged with the previous one moved along the pan (2 px to the left):
    # the noise of consecutive outputs no longer differs as much.
    averaged = [noisy[0]]
    for before, now in pairwise(noisy):
        mean = now.astype(np.float32)
        mean[:, :-2] = (mean[:, :-2] + before[:, 2:]) / 2
        averaged.append((mean + 0.5).astype(np.uint8))
    raw = warping_error(noisy)
    assert warping_error(averaged, noisy) < 0.75 * raw, (warping_error(averaged, noisy), raw)


def test_too_few_frames_and_mismatched_sources_are_input_errors() -> None:
    frames = synthetic.frames(4, 32, 48, noise=0.01)
    with pytest.raises(InputError, match="^the video has 1 frame: "):
        warping_error(frames[:1])
    with pytest.raises(InputError, match=r"^the video has 4 frames but its source has 3: "):
        warping_error(frames, frames[:3])
    with pytest.raises(InputError, match=r"^the video has 3 frames but its source has 4: "):
        warping_error(frames[:3], iter(frames))
    with pytest.raises(InputError, match="^the video is 48x32 but its source is 48x30"):
        warping_error(frames, [f[:30] for f in frames])
    with pytest.raises(UsageError, match="flow_scale"):
        warping_error(frames, flow_scale=0)


def test_flicker_of_files_relates_the_video_to_its_source(clips: Path) -> None:
    scores = flicker(clips / "clip.mp4", clips / "src.mp4")
    assert set(scores) == {"flicker", "flicker_source", "flicker_relative"}
    assert scores["flicker"] > 3 * scores["flicker_source"] > 0
    assert flicker(clips / "src.mp4") == {"flicker": pytest.approx(scores["flicker_source"], rel=1e-6)}


def test_eval_flicker_json_as_subprocess(clips: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "egan_core", "eval", "clip.mp4", "--metric", "flicker",
         "--source", "src.mp4", "--json"],
        cwd=clips, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    scores = out["per_image"]["clip.mp4"]
    assert set(scores) == {"flicker", "flicker_source", "flicker_relative"}
    assert scores["flicker_relative"] == pytest.approx(scores["flicker"] / scores["flicker_source"])
    assert scores["flicker_relative"] > 3
    assert out["mean"] == out["mean_per_input"]["clip.mp4"] == scores


def _eval(folder: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, list[str]]:
    """Exit status and error output lines of ``egan eval ARGS`` run in ``folder``."""
    monkeypatch.chdir(folder)
    result = CliRunner().invoke(cli, ["eval", *args], prog_name="egan")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr.strip().splitlines()


def test_eval_flicker_of_an_image_is_a_usage_error(clips: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, lines = _eval(clips, monkeypatch, "photo.png", "--metric", "flicker")
    assert code == 2
    assert lines == ["error: flicker is measured on videos; 'photo.png' is an image"]
    code, lines = _eval(clips, monkeypatch, "clip.mp4", "--metric", "ssim", "--reference", ".")
    assert code == 2
    assert len(lines) == 1 and "'clip.mp4' is a video" in lines[0]


def test_eval_of_a_source_with_other_frames_fails_in_one_line(clips: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    code, lines = _eval(clips, monkeypatch, "clip.mp4", "--metric", "flicker", "--source", "short.mp4")
    assert code == 1
    assert lines[0] == ("error: clip.mp4: 'clip.mp4' has 12 frames but its source 'short.mp4' "
                        "has 10: the flicker needs the same frames in both")
    assert lines[1:] == ["error: 1 of 1 files failed (named above)"]


def test_niqe_and_brightness_of_a_video_average_sampled_frames(clips: Path) -> None:
    long = clips / "long.mp4"
    synthetic.write_clip(long, synthetic.frames(31, 48, 64, noise=0.01, speed=1))
    decoded = _decoded(long)
    report = evaluate([long, clips / "photo.png"], ["brightness"])
    picked = [decoded[i] for i in range(0, 31, 2)]  # 16 evenly spaced of 31: every other one
    expected = float(np.mean([im.mean() / 255 for im in picked]))
    assert report.per_image["long.mp4"]["brightness"] == pytest.approx(expected, rel=1e-6)
    assert math.isfinite(report.per_image["photo.png"]["brightness"])
    with pytest.raises(UsageError, match="flicker"):
        evaluate([clips], ["flicker"])  # the folder holds photo.png
