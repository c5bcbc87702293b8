"""``egan enhance`` on videos: the options, bad and damaged inputs, and Ctrl-C.

Bad inputs and Ctrl-C run the real program in subprocesses (the bad inputs all at once:
they spend their time importing torch); the options go through click's CliRunner.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from egan_core.cli.main import cli
from egan_core.enhance.api import load_enhancer
from egan_core.video import synthetic
from egan_core.video.enhance import enhance_video
from egan_core.video.io import Frame, VideoReader

HEIGHT, WIDTH = 96, 128
#: Frames of the clips damaged below (at 10 fps: a cut loses more than the second tolerated).
FULL = 40
EGAN = [sys.executable, "-m", "egan_core"]


def frame_count(path: Path) -> int:
    with VideoReader(path) as reader:
        return sum(isinstance(item, Frame) for item in reader.items())


def decoded(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [item.image for item in reader.items() if isinstance(item, Frame)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse) if mse > 0 else float("inf")


def x264_options(path: Path) -> dict[str, str]:
    """The settings x264 writes into its stream (``crf=18.0``, ``subme=1``...)."""
    found = re.search(rb"options: ([^\x00]*)", path.read_bytes())
    assert found, f"no x264 settings in {path}"
    return dict(item.split("=", 1) for item in found.group(1).decode().split() if "=" in item)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``clip.mp4``: 10 noisy frames with a sine track."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    synthetic.write_clip(path, synthetic.frames(10, HEIGHT, WIDTH, noise=0.03), audio=True)
    return path


def run_cli(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, prog_name="egan")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


# ---- options --------------------------------------------------------------------------------

def test_video_format_picks_the_container(clip: Path, tmp_path: Path) -> None:
    code, output = run_cli(["enhance", str(clip), "--out", str(tmp_path / "o"), "--enhancer", "clahe",
                            "--video-format", "mkv"])
    assert code == 0, output
    assert files_in(tmp_path / "o") == ["clip.mkv"]
    assert b"matroska" in (tmp_path / "o" / "clip.mkv").read_bytes()[:64]
    assert frame_count(tmp_path / "o" / "clip.mkv") == 10


def test_crf_and_preset_reach_the_encoder(clip: Path, tmp_path: Path) -> None:
    code, output = run_cli(["enhance", str(clip), "--out", str(tmp_path / "d"), "--enhancer", "clahe"])
    assert code == 0, output
    default = x264_options(tmp_path / "d" / "clip.mp4")
    assert (default["crf"], default["subme"]) == ("18.0", "0")  # crf 18, ultrafast
    code, output = run_cli(["enhance", str(clip), "--out", str(tmp_path / "m"), "--enhancer", "clahe",
                            "--crf", "23", "--preset", "medium"])
    assert code == 0, output
    chosen = x264_options(tmp_path / "m" / "clip.mp4")
    assert (chosen["crf"], chosen["subme"]) == ("23.0", "7")


def test_temporal_0_leaves_the_frames_alone(clip: Path, tmp_path: Path) -> None:
    """With the identity (strength 0) and lossless encoding, --temporal 0 gives the input
    back; the default blend smooths the noise of the clip away from it."""
    source = decoded(clip)
    quality = {}
    for temporal in ("0", "0.8"):
        out = tmp_path / temporal
        code, output = run_cli(["enhance", str(clip), "--out", str(out), "--enhancer", "clahe",
                                "--strength", "0", "--crf", "0", "--temporal", temporal])
        assert code == 0, output
        quality[temporal] = min(psnr(a, b) for a, b in zip(source, decoded(out / "clip.mp4"), strict=True))
    assert quality["0"] > 48 > quality["0.8"], quality


@pytest.mark.parametrize(("option", "value"), [("--temporal", "1"), ("--temporal", "-0.5"),
                                               ("--crf", "60"), ("--preset", "turbo"),
                                               ("--video-format", "flv")])
def test_bad_video_options_exit_2_having_done_nothing(clip: Path, tmp_path: Path, option: str,
                                                      value: str) -> None:
    code, output = run_cli(["enhance", str(clip), "--out", str(tmp_path / "o"), "--enhancer", "clahe",
                            option, value])
    assert code == 2, output
    assert option in output and "Traceback" not in output
    assert not (tmp_path / "o").exists()


# ---- bad and damaged inputs, as users run them ----------------------------------------------

def _no_video_frames(path: Path) -> None:
    """A Matroska file with a video stream that holds no packet, and an audio track."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        sound = container.add_stream("aac", rate=48000)
        sound.layout = "mono"
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, i * 1024
            container.mux(sound.encode(frame))
        container.mux(sound.encode(None))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of bad videos: ``text.mp4`` (text), ``empty.mp4`` (0 bytes), ``novideo.mkv``
    (no video frame), ``clip.mp4`` (4 s, cut at 60% of its bytes) and ``noise.mp4``
    (a block of random bytes in the middle)."""
    folder = tmp_path_factory.mktemp("damaged")
    (folder / "text.mp4").write_text("this is not a video\n")
    (folder / "empty.mp4").write_bytes(b"")
    _no_video_frames(folder / "novideo.mkv")
    synthetic.write_clip(folder / "full.mkv", synthetic.frames(FULL, HEIGHT, WIDTH), fps=10, audio=True)
    # through egan's writer: an MP4 with its index first, so that the header survives a cut
    enhance_video(load_enhancer("clahe", strength=0.0), folder / "full.mkv", folder / "full.mp4", temporal=0)
    data = (folder / "full.mp4").read_bytes()
    assert data[4:8] == b"ftyp" and data.find(b"moov") < data.find(b"mdat")
    (folder / "clip.mp4").write_bytes(data[:len(data) * 6 // 10])
    noisy = bytearray(data)
    middle = len(noisy) // 2
    noisy[middle:middle + 4096] = np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes()
    (folder / "noise.mp4").write_bytes(bytes(noisy))
    return folder


@pytest.fixture(scope="module")
def runs(damaged: Path) -> dict[str, tuple[int, str, Path]]:
    """``egan enhance NAME --out out_STEM`` on each damaged file, all at once: name ->
    (exit status, stderr, output folder)."""
    names = ["text.mp4", "empty.mp4", "novideo.mkv", "clip.mp4", "noise.mp4"]
    procs = {name: subprocess.Popen([*EGAN, "enhance", name, "--out", f"out_{Path(name).stem}",
                                     "--enhancer", "clahe"], cwd=damaged, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for name in names}
    done = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        done[name] = (proc.returncode, err, damaged / f"out_{Path(name).stem}")
    return done


def error_lines(err: str, name: str) -> list[str]:
    """The ``error:`` lines of stderr, after checking that the others are progress lines
    (``clip.mp4 44/100 frames 4.4 fps``: one every 10 s on a slow machine)."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    others = [line for line in lines if not line.startswith("error:")]
    assert all(re.match(rf"{re.escape(name)} \d+/\S+ frames", line) for line in others), err
    return [line for line in lines if line.startswith("error:")]


def _failed(err: str, name: str) -> str:
    """The one line on ``name``, after checking stderr holds it and the summary only."""
    lines = error_lines(err, name)
    assert len(lines) == 2 and lines[1] == f"error: 1 of 1 failed: {name}", err
    assert lines[0].startswith(f"error: '{name}': "), err
    return lines[0]


@pytest.mark.parametrize(("name", "reason"), [("text.mp4", "not a video FFmpeg can read"),
                                              ("empty.mp4", "empty file (0 bytes)"),
                                              ("novideo.mkv", "no frames could be decoded")])
def test_a_file_without_video_fails_alone_leaving_nothing(runs: dict[str, tuple[int, str, Path]],
                                                          name: str, reason: str) -> None:
    code, err, out = runs[name]
    assert code == 1, err
    assert reason in _failed(err, name)
    assert files_in(out) == []


def test_a_clip_cut_short_keeps_its_first_frames_in_the_partial_file(
        runs: dict[str, tuple[int, str, Path]]) -> None:
    code, err, out = runs["clip.mp4"]
    assert code == 1, err
    line = _failed(err, "clip.mp4")
    assert re.search(r"damaged or cut short at 00:00:0\d\.\d\d ", line), line
    assert "clip.partial.mp4" in line
    assert files_in(out) == ["clip.partial.mp4"]  # no final name, no temporary file
    assert 0 < frame_count(out / "clip.partial.mp4") < FULL


def test_random_bytes_in_the_middle_fail_cleanly_or_are_concealed(
        runs: dict[str, tuple[int, str, Path]]) -> None:
    """FFmpeg conceals most damage inside frames and goes on: then the output is complete."""
    code, err, out = runs["noise.mp4"]
    assert "Traceback" not in err, err
    if code == 0:
        assert err == ""
        assert files_in(out) == ["noise.mp4"]
        assert frame_count(out / "noise.mp4") >= FULL - 5
    else:
        assert code == 1
        _failed(err, "noise.mp4")
        assert "noise.mp4" not in files_in(out)


# ---- Ctrl-C ---------------------------------------------------------------------------------

def _writing(out: Path) -> bool:
    """Whether a temporary output in ``out`` has data in it (frames went through)."""
    for path in out.glob(".*.tmp.*"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size > 0:
                return True
    return False


def test_ctrl_c_keeps_the_frames_done_and_exits_130(tmp_path: Path) -> None:
    source, out = tmp_path / "long.mp4", tmp_path / "out"
    synthetic.write_clip(source, synthetic.frames(750, HEIGHT, WIDTH), audio=True)
    proc = subprocess.Popen([*EGAN, "enhance", str(source), "--enhancer", "fast", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:  # frames are being written
            if _writing(out):
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    lines = error_lines(err, "long.mp4")
    assert len(lines) == 1 and lines[0].startswith("error: interrupted"), err
    assert "long.partial.mp4" in lines[0]
    assert files_in(out) == ["long.partial.mp4"]  # no final name, no temporary file
    assert 0 < frame_count(out / "long.partial.mp4") < 750
