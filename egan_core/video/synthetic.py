"""Small synthetic night clips: a dark textured scene panning under sensor noise.

Tests, the video benchmark and ``egan demo`` make their clips with :func:`write_clip`, so
none of them needs a video file from elsewhere. The scene moves by whole pixels per frame
(optical flow can follow it), its noise is new in every frame (what enhancement amplifies
into flicker), and a clip can carry a sine audio track, a rotation tag, irregular
timestamps (variable frame rate) and a scene cut.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from egan_core.video.io import _av


def scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A dark ``(H, W, 3)`` float32 scene in [0, 1]: lit blobs, edges and texture (mean 0.15 to 0.2)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.zeros((height, width, 3), np.float32)
    for _ in range(6):  # lamps: soft coloured blobs
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        r = rng.uniform(0.08, 0.25) * max(height, width)
        img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))[..., None] * rng.uniform(0.05, 0.3, 3)
    stripes = 0.5 + 0.5 * np.sin(xx / rng.uniform(3, 9) + yy / rng.uniform(5, 15))
    img *= 0.6 + 0.4 * stripes[..., None]
    for _ in range(5):  # boxes with hard edges
        y0, x0 = int(rng.uniform(0, height * 0.8)), int(rng.uniform(0, width * 0.8))
        img[y0:y0 + height // 6, x0:x0 + width // 6] += rng.uniform(0.02, 0.12, 3)
    return np.clip(img, 0, 1)


def frames(count: int, height: int, width: int, *, noise: float = 0.01, speed: int = 2,
           cut_at: int | None = None, seed: int = 0) -> list[np.ndarray]:
    """``count`` uint8 frames of :func:`scene` panning ``speed`` pixels a frame (to a new
    scene at frame ``cut_at``), with Gaussian noise of ``noise`` (in [0, 1] units)."""
    rng = np.random.default_rng(seed + 1)
    pad = speed * count + 1
    worlds = [scene(height, width + pad, seed), scene(height, width + pad, seed + 7)]
    out = []
    for i in range(count):
        world = worlds[1] if cut_at is not None and i >= cut_at else worlds[0]
        view = world[:, speed * i:speed * i + width]
        noisy = view + rng.normal(0, noise, view.shape).astype(np.float32)
        out.append((np.clip(noisy, 0, 1) * 255 + 0.5).astype(np.uint8))
    return out


def pan(photo: np.ndarray, count: int, height: int, width: int, *, speed: float = 1.5,
        peak: float = 300.0, read_noise: float = 0.004, seed: int = 0) -> list[np.ndarray]:
    """``count`` uint8 frames of a window panning across a real dark ``photo`` (uint8 RGB)
    by ``speed`` pixels a frame (sub-pixel, as a hand-held camera moves), each with fresh
    Poisson-Gaussian sensor noise: ``peak`` photo-electrons at white, ``read_noise`` in [0, 1]."""
    img = photo.astype(np.float32) / 255.0
    ph, pw = img.shape[:2]
    scale = min(ph / height, (pw - speed * count) / width)
    if scale <= 0:
        raise ValueError(f"a {pw}x{ph} photo is too small to pan {count} frames of {width}x{height}")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        shift = np.float32([[1, 0, -speed * i], [0, 1, 0]])
        view = cv2.warpAffine(img, shift, (pw, ph), flags=cv2.INTER_LINEAR)[:int(height * scale),
                                                                           :int(width * scale)]
        view = cv2.resize(view, (width, height), interpolation=cv2.INTER_AREA)
        noisy = rng.poisson(np.clip(view, 0, 1) * peak) / peak + rng.normal(0, read_noise, view.shape)
        out.append((np.clip(noisy, 0, 1) * 255 + 0.5).astype(np.uint8))
    return out


def write_clip(path: str | Path, images: list[np.ndarray], *, fps: int = 25, audio: bool = False,
               rotation: int = 0, variable: bool = False, codec: str = "libx264",
               pix_fmt: str = "yuv420p", audio_codec: str = "aac", crf: int = 12,
               bit_rate: int | None = None) -> list[int]:
    """Encode ``images`` into ``path`` and return their timestamps (in 1/``fps``/100 s units).

    Args:
        audio: add a 440 Hz sine track lasting as long as the video.
        rotation: counter-clockwise degrees written as the stream's display rotation.
        variable: irregular frame durations (variable frame rate): frames last 1/fps, 2/fps
            or 1.5/fps in turn.
        codec, pix_fmt: the video encoder and its pixel format (``mjpeg``/``yuvj420p``,
            ``libx264rgb``/``rgb24``, ``mpeg4`` for old AVI files).
        audio_codec: encoder of the sine track (``aac``, ``pcm_s16le``, ``libopus``).
        crf: quality of H.264 clips.
        bit_rate: bits per second instead of ``crf`` (a camera's rate, for benchmarks).

    H.264 in 4:2:0 needs even sizes: odd ones take ``codec="libx264rgb", pix_fmt="rgb24"``
    (or ``mjpeg``).
    """
    av = _av()
    time_base = Fraction(1, fps * 100)
    steps = [100, 200, 150] if variable else [100]
    pts, t = [], 0
    for i in range(len(images)):
        pts.append(t)
        t += steps[i % len(steps)]
    h, w = images[0].shape[:2]
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = w, h, pix_fmt
        video.time_base = time_base
        video.codec_context.time_base = time_base
        if codec.startswith("libx264"):
            video.options = {"crf": str(crf), "preset": "ultrafast"}
            if bit_rate is not None:
                video.options = {"preset": "veryfast"}
                video.bit_rate = bit_rate
        if rotation:
            video.set_display_rotation(rotation)
        sound = None
        if audio:
            sound = container.add_stream(audio_codec, rate=48000)
            sound.layout = "mono"
        for image, stamp in zip(images, pts, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if pix_fmt != "rgb24":
                frame = frame.reformat(format=pix_fmt, dst_colorspace="itu709" if h >= 720 else "itu601",
                                       dst_color_range=2 if pix_fmt.startswith("yuvj") else 1)
            frame.pts, frame.time_base = stamp, time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            seconds = t / (fps * 100)
            samples = int(round(seconds * 48000))
            wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
            fmt = "s16" if audio_codec.startswith("pcm_s16") else "fltp"
            for start in range(0, samples, 1024):
                chunk = wave[start:start + 1024]
                data = (chunk * 32767).astype(np.int16)[None] if fmt == "s16" else chunk[None]
                frame = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
                frame.sample_rate, frame.pts = 48000, start
                frame.time_base = Fraction(1, 48000)
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return pts
