"""The public video API (``egan_core.enhance_video``, videos in ``enhance_files``), its option
checks, damaged inputs in process, and memory that stays flat however long the video."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import egan_core
from egan_core.errors import InputError, UsageError
from egan_core.video import synthetic
from egan_core.video.enhance import VideoReport, partial_name
from egan_core.video.enhance import enhance_video as enhance_with
from egan_core.video.io import Frame, VideoReader

COUNT, HEIGHT, WIDTH = 10, 96, 128


def frame_count(path: Path) -> int:
    with VideoReader(path) as reader:
        return sum(isinstance(item, Frame) for item in reader.items())


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``clip.mp4``: COUNT frames of a night scene with a sine track."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    synthetic.write_clip(path, synthetic.frames(COUNT, HEIGHT, WIDTH), audio=True)
    return path


def test_enhance_video_returns_what_it_wrote(clip: Path, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "clip.mp4"
    seen: list[tuple[int, int | None]] = []
    report = egan_core.enhance_video(clip, target, "clahe", temporal=0)
    assert isinstance(report, VideoReport)
    assert (report.target, report.frames, report.audio_streams, report.padded) == (target, COUNT, 1, False)
    assert report.seconds == pytest.approx((COUNT - 1) / 25)
    assert frame_count(target) == COUNT
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.mp4"]
    stages = egan_core.load_enhancer("clahe")  # an Enhancer is taken as it is
    assert egan_core.enhance_video(clip, tmp_path / "again.mkv", stages).frames == COUNT
    enhance_with(stages, clip, tmp_path / "third.mp4", on_frame=lambda n, total: seen.append((n, total)))
    assert [n for n, _ in seen] == list(range(1, COUNT + 1))
    assert {total for _, total in seen} == {COUNT}


def test_enhance_files_writes_videos_in_the_chosen_container(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = egan_core.enhance_files([clip], out, "clahe", video_format="mkv", temporal=0.5,
                                     crf=23, preset="ultrafast")
    assert [p.name for p in report.written] == ["clip.mkv"]
    assert sorted(p.name for p in out.iterdir()) == ["clip.mkv"]
    assert b"matroska" in (out / "clip.mkv").read_bytes()[:64]
    assert frame_count(out / "clip.mkv") == COUNT


@pytest.mark.parametrize("bad", [{"temporal": 1.0}, {"temporal": -0.1}, {"crf": 60}, {"crf": 18.5},
                                 {"preset": "turbo"}, {"video_format": "flv"}])
def test_bad_video_options_are_refused_before_any_work(clip: Path, tmp_path: Path,
                                                       bad: dict[str, Any]) -> None:
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=str(next(iter(bad.values())))):
        egan_core.enhance_files([clip], out, "clahe", **bad)
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(("bad", "target"), [({"temporal": 1.0}, "x.mp4"), ({"crf": -1}, "x.mp4"),
                                             ({"preset": "turbo"}, "x.mp4"), ({}, "x.flv")])
def test_enhance_video_refuses_bad_options_before_making_anything(
        clip: Path, tmp_path: Path, bad: dict[str, Any], target: str) -> None:
    with pytest.raises(UsageError):
        egan_core.enhance_video(clip, tmp_path / "out" / target, "clahe", **bad)
    assert not (tmp_path / "out").exists()


def test_a_video_cut_short_keeps_its_frames_in_the_partial_file(tmp_path: Path) -> None:
    full = tmp_path / "full.mkv"  # Matroska: its header (and duration) comes first
    synthetic.write_clip(full, synthetic.frames(100, HEIGHT, WIDTH))
    data = full.read_bytes()
    source = tmp_path / "cut.mkv"
    source.write_bytes(data[:len(data) * 6 // 10])
    target = tmp_path / "out" / "cut.mp4"
    with pytest.raises(InputError, match=r"cut\.mkv'.* at 00:00:0\d\.\d\d .*cut\.partial\.mp4") as caught:
        egan_core.enhance_video(source, target, "clahe", temporal=0)
    assert "\n" not in str(caught.value)
    assert not target.exists()
    kept = frame_count(partial_name(target))
    assert 0 < kept < 100
    assert sorted(p.name for p in target.parent.iterdir()) == ["cut.partial.mp4"]


#: Run in a fresh interpreter: enhances each named clip and prints the peak RSS after each.
#: Its first import is the video module alone, which must not need egan_core.enhance first.
MEMORY_SCRIPT = textwrap.dedent("""
    from egan_core.video.enhance import enhance_video
    import json, resource, sys
    from egan_core.enhance.api import load_enhancer
    stages = load_enhancer("clahe", strength=0.0)  # the cheapest: the video path is measured
    peaks = []
    for source in sys.argv[1:]:
        report = enhance_video(stages, source, source + ".out.mp4", temporal=0.8)
        peaks.append((report.frames, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    print(json.dumps(peaks))
""")


def test_memory_stays_flat_however_long_the_video(tmp_path: Path) -> None:
    """Bounded queues, frames streamed: 1000 frames peak where 250 did (within 16 MB; a copy
    of each frame kept would add about 40 MB)."""
    images = synthetic.frames(1000, HEIGHT, WIDTH, noise=0.01)
    short, long = tmp_path / "short.mp4", tmp_path / "long.mp4"
    synthetic.write_clip(short, images[:250], audio=True)
    synthetic.write_clip(long, images, audio=True)
    del images
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(short), str(long)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    (frames_short, peak_short), (frames_long, peak_long) = json.loads(result.stdout.splitlines()[-1])
    assert (frames_short, frames_long) == (250, 1000)
    per_mb = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes there, else kB
    growth_mb = (peak_long - peak_short) / per_mb
    assert growth_mb < 16, f"peak RSS {peak_short / per_mb:.0f} MB -> {peak_long / per_mb:.0f} MB"


def test_a_failure_in_the_blending_thread_keeps_the_frames_before_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The blend runs on a thread of its own: when it fails, the frames it passed on are
    finished into the partial file, the error names them, and no thread is left waiting."""
    import threading

    from egan_core.video import temporal

    real = temporal.FlowBlender.__call__
    blended: list[int] = []

    def failing(self: temporal.FlowBlender, planes: Any, gray: Any, cut: bool) -> None:
        if len(blended) == 6:
            raise RuntimeError("blend broke")
        blended.append(1)
        real(self, planes, gray, cut)

    monkeypatch.setattr(temporal.FlowBlender, "__call__", failing)
    source = tmp_path / "long.mp4"
    synthetic.write_clip(source, synthetic.frames(60, HEIGHT, WIDTH))
    target = tmp_path / "out.mp4"
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            egan_core.enhance_video(source, target, "clahe", temporal=0.8)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "enhance_video hung after the blending thread failed"
    assert len(outcome) == 1 and "blend broke" in str(outcome[0])
    assert "the first 6 frames" in str(outcome[0]) and "out.partial.mp4" in str(outcome[0])
    assert not target.exists() and frame_count(partial_name(target)) == 6
