"""Video files in and out: codec and container, audio, timestamps, rotation, colour, odd sizes.

Every clip is made here by :mod:`egan_core.video.synthetic` and goes through the whole video
path (:func:`egan_core.video.enhance.enhance_video`) with an identity enhancer (strength 0)
and no temporal pass, so the output should be the input re-encoded; the files are then
opened with PyAV directly, or decoded back with :class:`VideoReader`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from egan_core.enhance.api import load_enhancer
from egan_core.enhance.pipeline import Enhancer
from egan_core.video import synthetic
from egan_core.video.enhance import VideoReport, enhance_video
from egan_core.video.io import Frame, VideoReader

COUNT, HEIGHT, WIDTH = 12, 96, 128
#: The length of one AAC frame (the coarsest audio packet these clips hold), in seconds.
AAC_FRAME = 1024 / 48000


@pytest.fixture(scope="module")
def identity() -> Enhancer:
    """An enhancer that returns its input (strength 0): the output is the input re-encoded."""
    return load_enhancer("clahe", strength=0.0)


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return synthetic.frames(COUNT, HEIGHT, WIDTH)


def run(identity: Enhancer, source: Path, target: Path, **options: Any) -> VideoReport:
    return enhance_video(identity, source, target, temporal=0.0, **options)


def decoded(path: Path) -> list[Frame]:
    with VideoReader(path) as reader:
        return [item for item in reader.items() if isinstance(item, Frame)]


def audio_track(path: Path) -> tuple[str, float]:
    """The first audio stream's codec and how long its packets last (seconds)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        packets = [p for p in container.demux(stream) if p.pts is not None]
        start = min(p.pts for p in packets)
        end = max(p.pts + (p.duration or 0) for p in packets)
        return stream.codec_context.name, float((end - start) * stream.time_base)


def video_stream(path: Path) -> tuple[str, str, str, int, int]:
    """(container format, codec, pixel format, width, height) of the first video stream."""
    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        return container.format.name, ctx.name, ctx.pix_fmt, ctx.width, ctx.height


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0**2 / mse) if mse > 0 else float("inf")


def test_mp4_is_h264_yuv420p_with_the_audio_copied(tmp_path: Path, identity: Enhancer,
                                                    images: list[np.ndarray]) -> None:
    source, target = tmp_path / "clip.mp4", tmp_path / "out" / "clip.mp4"
    synthetic.write_clip(source, images, audio=True)
    report = run(identity, source, target)
    assert (report.frames, report.audio_streams, report.padded) == (COUNT, 1, False)
    fmt, codec, pix_fmt, width, height = video_stream(target)
    assert "mp4" in fmt.split(",")
    assert (codec, pix_fmt, width, height) == ("h264", "yuv420p", WIDTH, HEIGHT)
    codec_in, seconds_in = audio_track(source)
    codec_out, seconds_out = audio_track(target)
    assert codec_out == codec_in == "aac"
    assert abs(seconds_out - seconds_in) <= AAC_FRAME, (seconds_in, seconds_out)
    with av.open(str(source)) as a, av.open(str(target)) as b:  # copied: the same packets
        before = [bytes(p) for p in a.demux(audio=0) if p.size]
        after = [bytes(p) for p in b.demux(audio=0) if p.size]
    assert after == before
    assert len(decoded(target)) == COUNT
    assert sorted(p.name for p in target.parent.iterdir()) == ["clip.mp4"]  # no temporary file left


@pytest.mark.parametrize(("ending", "doctype", "codec", "audio"), [
    (".mkv", b"matroska", "h264", "aac"),
    (".webm", b"webm", "vp9", "opus"),  # WebM holds no AAC: re-encoded
    (".mov", b"qt  ", "h264", "aac"),
])
def test_the_container_follows_the_ending(tmp_path: Path, identity: Enhancer, images: list[np.ndarray],
                                          ending: str, doctype: bytes, codec: str, audio: str) -> None:
    source, target = tmp_path / "clip.mp4", tmp_path / f"clip{ending}"
    synthetic.write_clip(source, images, audio=True)
    run(identity, source, target)
    assert doctype in target.read_bytes()[:64]  # Matroska's DocType, QuickTime's ftyp brand
    assert video_stream(target)[1:3] == (codec, "yuv420p")
    audio_codec, seconds = audio_track(target)
    assert audio_codec == audio
    assert abs(seconds - audio_track(source)[1]) <= AAC_FRAME
    assert len(decoded(target)) == COUNT


@pytest.mark.parametrize(("source_name", "audio_codec", "ending", "allowed"), [
    ("pcm.mkv", "pcm_s16le", ".mp4", {"pcm_s16le", "aac"}),  # MP4 may copy PCM
    ("pcm.mkv", "pcm_s16le", ".webm", {"opus"}),  # WebM cannot hold PCM
    ("opus.mkv", "libopus", ".mov", {"aac"}),  # FFmpeg's mov muxer refuses Opus (MP4 only)
])
def test_audio_a_container_cannot_hold_is_re_encoded_as_long(
        tmp_path: Path, identity: Enhancer, images: list[np.ndarray], source_name: str,
        audio_codec: str, ending: str, allowed: set[str]) -> None:
    source, target = tmp_path / source_name, tmp_path / f"out{ending}"
    synthetic.write_clip(source, images, audio=True, audio_codec=audio_codec)
    report = run(identity, source, target)
    assert report.audio_streams == 1
    codec, seconds = audio_track(target)
    assert codec in allowed
    assert abs(seconds - audio_track(source)[1]) <= AAC_FRAME, (seconds, audio_track(source))
    assert len(decoded(target)) == COUNT


@pytest.mark.parametrize("ending", [".mp4", ".mkv"])
def test_variable_frame_rate_timestamps_are_kept(tmp_path: Path, identity: Enhancer,
                                                 images: list[np.ndarray], ending: str) -> None:
    source, target = tmp_path / "vfr.mp4", tmp_path / f"out{ending}"
    stamps = synthetic.write_clip(source, images, variable=True, fps=25)
    run(identity, source, target)
    expected = [float(Fraction(s, 25 * 100)) for s in stamps]
    assert len(set(np.diff(expected).round(6))) == 3  # really variable: three frame durations
    assert [f.time for f in decoded(source)] == pytest.approx(expected, abs=1e-9)
    assert [f.time for f in decoded(target)] == pytest.approx(expected, abs=1e-9)


def test_frames_without_timestamps_get_one_frame_apart(tmp_path: Path, identity: Enhancer,
                                                       images: list[np.ndarray]) -> None:
    """A raw H.264 stream has no timestamps: the frames are placed at the stream's rate."""
    source, target = tmp_path / "camera.h264", tmp_path / "camera.mp4"
    with av.open(str(source), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    assert [f.time for f in decoded(source)] == pytest.approx([i / 25 for i in range(COUNT)])
    run(identity, source, target)
    assert [f.time for f in decoded(target)] == pytest.approx([i / 25 for i in range(COUNT)])


def test_an_avi_with_b_frames_reads_in_order(tmp_path: Path, identity: Enhancer,
                                             images: list[np.ndarray]) -> None:
    """AVI stores no pts: frames reordered past B-frames come with stamps out of order, which
    the reader puts back in order (else the encoder refuses them); egan's own AVIs have none."""
    source = tmp_path / "old.avi"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"preset": "superfast", "bf": "3"}
        for image in images:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    with av.open(str(source)) as container:
        assert container.streams.video[0].codec_context.has_b_frames
        raw = [frame.pts for frame in container.decode(video=0)]
    assert raw != sorted(raw)  # what FFmpeg hands over
    times = [f.time for f in decoded(source)]
    assert all(b > a for a, b in zip(times, times[1:], strict=False)), times
    report = run(identity, source, tmp_path / "new.mp4")
    assert report.frames == COUNT
    run(identity, tmp_path / "new.mp4", tmp_path / "again.avi")
    with av.open(str(tmp_path / "again.avi")) as container:
        assert not container.streams.video[0].codec_context.has_b_frames
    frames = decoded(tmp_path / "again.avi")
    assert len(frames) == COUNT
    assert all(b.time > a.time for a, b in zip(frames, frames[1:], strict=False))
    # the frames themselves come back in their order
    originals = [f.image for f in decoded(source)]
    order = [int(np.argmin([np.abs(f.image.astype(int) - o).mean() for o in originals])) for f in frames]
    assert order == list(range(COUNT))


def test_the_rotation_tag_is_kept(tmp_path: Path, identity: Enhancer, images: list[np.ndarray]) -> None:
    source, target = tmp_path / "phone.mp4", tmp_path / "out.mp4"
    synthetic.write_clip(source, images[:4], rotation=90)
    assert {f.rotation for f in decoded(source)} == {90}
    run(identity, source, target)
    frames = decoded(target)
    assert {f.rotation for f in frames} == {90}
    assert frames[0].image.shape == (HEIGHT, WIDTH, 3)  # stored as it was: players turn it


#: name -> (frames, height, width, write_clip options, ending, colour matrix tag, PSNR of the
#: decoded input against the frames written). A range read wrongly costs about 10 dB.
CLIPS: dict[str, tuple[int, int, int, dict[str, Any], str, int, float]] = {
    "sd": (8, HEIGHT, WIDTH, {}, ".mp4", 6, 36.0),  # BT.601 (smpte170m)
    "hd": (3, 720, 1280, {}, ".mp4", 1, 36.0),  # BT.709
    "mjpeg": (8, HEIGHT, WIDTH, {"codec": "mjpeg", "pix_fmt": "yuvj420p"}, ".avi", 6, 32.0),  # full range
}
#: (clip, crf) -> the least PSNR (dB) of any frame, output against input, both decoded.
#: Measured on 2 CPU cores: sd 54.3 / 40.5, hd 58.0 / 40.5, mjpeg 49.8 / 41.0 (crf 0 / 18).
ROUND_TRIP = {("sd", 0): 51.0, ("sd", 18): 37.5, ("hd", 0): 54.0, ("hd", 18): 37.5,
              ("mjpeg", 0): 46.0, ("mjpeg", 18): 38.0}


@pytest.mark.parametrize(("clip", "crf"), list(ROUND_TRIP))
def test_round_trip_of_the_identity_keeps_the_pixels(tmp_path: Path, identity: Enhancer,
                                                     clip: str, crf: int) -> None:
    count, height, width, options, ending, matrix, source_psnr = CLIPS[clip]
    originals = synthetic.frames(count, height, width)
    source, target = tmp_path / f"in{ending}", tmp_path / "out.mp4"
    synthetic.write_clip(source, originals, **options)
    run(identity, source, target, crf=crf)
    before, after = decoded(source), decoded(target)
    assert len(after) == len(before) == count
    # the input is read with its own matrix and range
    assert min(psnr(f.image, o) for f, o in zip(before, originals, strict=True)) >= source_psnr
    worst = min(psnr(a.image, b.image) for a, b in zip(before, after, strict=True))
    assert worst >= ROUND_TRIP[clip, crf], f"{clip} crf {crf}: {worst:.1f} dB"
    with av.open(str(target)) as container:
        ctx = container.streams.video[0].codec_context
        assert (ctx.pix_fmt, int(ctx.colorspace), int(ctx.color_range)) == ("yuv420p", matrix, 1)


@pytest.mark.parametrize(("codec", "pix_fmt"), [("libx264rgb", "rgb24"), ("mjpeg", "yuvj444p")])
def test_odd_sizes_are_written_even_with_the_edge_repeated(tmp_path: Path, identity: Enhancer,
                                                           codec: str, pix_fmt: str) -> None:
    height, width = 97, 129
    source, target = tmp_path / "odd.mkv", tmp_path / "odd.mp4"
    synthetic.write_clip(source, synthetic.frames(4, height, width), codec=codec, pix_fmt=pix_fmt)
    before = decoded(source)
    assert before[0].image.shape == (height, width, 3)
    report = run(identity, source, target, crf=0)
    assert report.padded and report.frames == 4
    assert video_stream(target)[3:] == (width + 1, height + 1)
    with av.open(str(target)) as container:  # the luma plane as encoded (lossless at crf 0)
        lumas = [f.to_ndarray()[:height + 1].astype(np.int16) for f in container.decode(video=0)]
    assert len(lumas) == 4
    for y in lumas:
        assert np.abs(y[height] - y[height - 1]).max() <= 1  # the last row, repeated
        assert np.abs(y[:, width] - y[:, width - 1]).max() <= 1  # the last column, repeated
    for original, frame in zip(before, decoded(target), strict=True):
        assert np.abs(frame.image[:height, :width].astype(np.int16) - original.image).mean() < 4.0


@pytest.mark.parametrize("matrix", ["itu601", "itu709", "bt2020"])
def test_the_colour_matrices_invert_each_other(matrix: str) -> None:
    from egan_core.video.io import ycc_matrices

    to_rgb, from_rgb = ycc_matrices(matrix)
    rgb = np.random.default_rng(0).uniform(0, 255, (3, 500))
    ycc = from_rgb[:, :3] @ rgb + from_rgb[:, 3:]
    assert ycc[0].min() >= 16 - 1e-9 and ycc[0].max() <= 235 + 1e-9  # limited range out
    assert np.allclose(to_rgb[:, :3] @ ycc + to_rgb[:, 3:], rgb, atol=1e-9)
    full, _ = ycc_matrices(matrix, full_range=True)
    assert np.allclose(full @ np.array([255.0, 128, 128, 1]), 255)  # full-range white


def test_decoded_frames_keep_their_planes_and_make_rgb_only_when_asked(tmp_path: Path) -> None:
    from egan_core.video.io import i420_to_rgb

    clip = tmp_path / "c.mp4"
    synthetic.write_clip(clip, synthetic.frames(2, 64, 96), fps=10)
    with VideoReader(clip) as reader:
        frame = next(item for item in reader.items() if isinstance(item, Frame))
    assert frame.i420 is not None and frame.size == (64, 96) and frame._image is None
    assert np.array_equal(frame.luma, frame.i420[:64])
    assert np.array_equal(frame.image, i420_to_rgb(frame.i420, frame.matrix, frame.full_range))
    with pytest.raises(ValueError, match="needs"):
        Frame(None, 0, 0.0)


def test_codecs_run_on_one_thread_where_the_pipeline_fills_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from egan_core.video import io

    monkeypatch.setattr(io.os, "sched_getaffinity", lambda _: set(range(2)), raising=False)
    assert io.codec_threads() == 1
    monkeypatch.setattr(io.os, "sched_getaffinity", lambda _: set(range(16)), raising=False)
    assert io.codec_threads() == 0
