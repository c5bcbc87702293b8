"""Video speed: ``egan enhance clip.mp4 --enhancer fast`` end to end at 1080p and 4K, and
what bounds it.

For each size it makes a synthetic night clip (a dark textured scene panning under sensor
noise, with a sine audio track; :mod:`egan_core.video.synthetic`), then prints in one run:

- the end-to-end rate of :func:`egan_core.enhance_video` (decode, enhance, temporal pass,
  encode, on their threads) with the default options, and with ``--temporal 0``;
- the same through the real command line, wall clock including start-up;
- the work of each of the pipeline's threads alone on the same frames (frames per second,
  and CPU milliseconds per frame): reading (decoding, the small gray of the flow and the
  cut detection, the chroma upsampled for ``fast``), enhancing (``fast`` on the Y'CbCr
  planes, its transform smoothed), blending, and writing (x264). Their sum over the cores
  is about the most the pipeline can do (measured apart from the end-to-end runs, on a
  machine whose speed drifts, so not to the percent).

    python benchmarks/bench_video.py                  # 1080p (240 frames) and 4K (48)
    python benchmarks/bench_video.py --sizes 1080 --frames 120
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _shared import cpu_name

from egan_core import enhance_video, load_enhancer
from egan_core.enhance.pipeline import Enhancer
from egan_core.video import enhance as video_enhance
from egan_core.video.enhance import WORKER_NICE
from egan_core.video.io import (
    DEFAULT_CRF,
    DEFAULT_PRESET,
    Frame,
    VideoReader,
    VideoWriter,
    codec_threads,
    i420_planes,
    upsample_chroma,
    ycc_matrices,
)
from egan_core.video.synthetic import frames, write_clip
from egan_core.video.temporal import DEFAULT_TEMPORAL, CutDetector, FlowBlender, TransformSmoother, small_gray

SIZES = {1080: (1080, 1920), 2160: (2160, 3840)}
TARGET_FPS = 24.0


#: Bit rate of the input clips: what a phone records 1080p at (16 Mbit/s), 4K at 4x.
INPUT_MBITS = {1080: 16, 2160: 64}


def make_clip(path: Path, height: int, width: int, count: int, mbits: int) -> float:
    """``count`` frames panning over 24 distinct noisy renders (each is slow to make at 4K),
    encoded at about ``mbits`` Mbit/s; returns the bit rate it got."""
    distinct = frames(min(count, 24), height, width, noise=0.012, speed=3)
    write_clip(path, [distinct[i % len(distinct)] for i in range(count)], fps=25, audio=True,
               bit_rate=mbits * 1_000_000)
    return path.stat().st_size * 8 / (count / 25) / 1e6


def timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of the whole process) of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


class RgbOnly:
    """``fast``'s stage without its Y'CbCr path: what the pipeline did before it (frames
    converted to RGB after decoding and back to YUV before encoding)."""

    def __init__(self, stage: Any) -> None:
        self.stage = stage

    def __call__(self, x: Any) -> Any:
        return self.stage(x)

    def __getattr__(self, name: str) -> Any:
        if name in ("enhance_ycc", "predict_transform_ycc"):
            raise AttributeError(name)
        return getattr(self.stage, name)


def stages(clip: Path, out_dir: Path, enhancer, count: int) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Each stage alone over ``count`` frames: ``{stage: (frames per second, CPU ms per frame)}``.

    Decoding streams the clip; the other stages cycle through its first 24 frames, so no
    stage pays for holding a whole clip in memory (which the pipeline never does either).
    Codecs run with the thread count the pipeline gives them.
    """
    results = {}
    kept: list[Frame] = []
    grays: list[tuple[np.ndarray, bool]] = []
    chromas: list[np.ndarray] = []
    cuts = CutDetector()

    def read() -> None:
        with VideoReader(clip) as reader:
            for item in reader.items():
                if isinstance(item, Frame):
                    gray = small_gray(item.luma)
                    cut = cuts(gray)
                    chroma = upsample_chroma(i420_planes(item.i420))
                    if len(kept) < 24:
                        kept.append(item)
                        grays.append((gray, cut))
                        chromas.append(chroma)

    wall, cpu = timed(read)
    results["read: decode; small gray, cuts; chroma upsampled"] = (count / wall, 1000 * cpu / count)
    smoother = TransformSmoother(DEFAULT_TEMPORAL)
    enhanced: list[np.ndarray] = []
    to_rgb, from_rgb = ycc_matrices(kept[0].matrix, kept[0].full_range)

    def enhance() -> None:
        for i in range(count):
            k = i % len(kept)
            planes = i420_planes(kept[k].i420)
            out = enhancer.enhance_frame_ycc(planes, to_rgb, from_rgb, smoother, chromas[k])
            if len(enhanced) < len(kept):
                enhanced.append(out)

    wall, cpu = timed(enhance)
    results["enhance: fast on the planes, smoothed"] = (count / wall, 1000 * cpu / count)
    with VideoReader(clip) as reader:
        blender = FlowBlender(DEFAULT_TEMPORAL, nearest_chroma=enhancer.reads_ycc)

        def blend() -> None:
            for i in range(count):
                gray, cut = grays[i % len(grays)]
                i420 = enhanced[i % len(enhanced)].copy()  # the pipeline blends a new frame each time
                blender(list(i420_planes(i420)), gray, cut or i % len(grays) == 0)

        wall, cpu = timed(blend)
        results["blend"] = (count / wall, 1000 * cpu / count)
        plain = VideoWriter(out_dir / "stage.mp4", reader)

        def encode() -> None:
            first, step = kept[0].pts or 0, (kept[1].pts or 1) - (kept[0].pts or 0)
            seconds = float(reader.info.time_base)
            for i in range(count):  # cycled frames, with timestamps that keep going
                stamp = Frame(None, first + i * step, i * step * seconds, i420=kept[0].i420)
                plain.write(stamp, enhanced[i % len(enhanced)])
            plain.close()

        wall, cpu = timed(encode)
        results["write: encode (x264)"] = (count / wall, 1000 * cpu / count)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1080, 2160], choices=sorted(SIZES))
    parser.add_argument("--frames", type=int, default=240, help="frames of the 1080p clip (4K: a fifth)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="end-to-end runs of each variant (the median is shown)")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical cores); preset {DEFAULT_PRESET}, crf {DEFAULT_CRF}, "
          f"temporal {DEFAULT_TEMPORAL}, codec threads {codec_threads() or 'automatic'}")
    enhancer = load_enhancer("fast", device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for size in args.sizes:
            height, width = SIZES[size]
            count = args.frames if size == 1080 else max(24, args.frames // 5)
            clip = work / f"clip{size}.mp4"
            mbits = make_clip(clip, height, width, count, INPUT_MBITS[size])
            print(f"\n{width}x{height}, {count} frames (25 fps, H.264 at {mbits:.0f} Mbit/s, with audio)")
            rgb = Enhancer([RgbOnly(enhancer.stages[0])], names=["fast"], device="cpu")
            variants = [("defaults", enhancer, DEFAULT_TEMPORAL, WORKER_NICE),
                        ("--temporal 0", enhancer, 0.0, WORKER_NICE),
                        ("defaults, through RGB frames", rgb, DEFAULT_TEMPORAL, WORKER_NICE),
                        ("defaults, threads at equal priority", enhancer, DEFAULT_TEMPORAL, 0)]
            runs: dict[str, list[float]] = {name: [] for name, *_ in variants}
            for _ in range(args.repeat):  # interleaved, so a slow spell of the machine hits all alike
                for name, chain, temporal, nice in variants:
                    video_enhance.WORKER_NICE = nice
                    try:
                        report = enhance_video(clip, work / f"out{size}.mp4", chain, temporal=temporal)
                    finally:
                        video_enhance.WORKER_NICE = WORKER_NICE
                    runs[name].append(report.fps)
            rates = {name: float(np.median(values)) for name, values in runs.items()}
            for name, value in rates.items():
                print(f"  enhance_video, {name:36s} {value:6.1f} fps end to end (median of "
                      f"{', '.join(f'{v:.1f}' for v in runs[name])})")
            gain = rates["defaults"] / rates["defaults, through RGB frames"]
            first = rates["defaults"] / rates["defaults, threads at equal priority"]
            print(f"  the Y'CbCr path against RGB frames: {gain:.2f}x; the enhancing thread first "
                  f"against equal priority: {first:.2f}x")
            start = time.perf_counter()
            command = [sys.executable, "-m", "egan_core", "enhance", str(clip), "--enhancer", "fast",
                       "--out", str(work / f"cli{size}"), "--device", "cpu"]
            done = subprocess.run(command, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"egan enhance failed: {done.stderr.strip()}")
            print(f"  egan enhance (command line, wall clock with start-up): {count / wall:6.1f} fps "
                  f"({wall:.1f} s)")
            table = stages(clip, work, enhancer, count)
            total_cpu = sum(cpu for _, cpu in table.values())
            for name, (fps, cpu) in table.items():
                print(f"  alone: {name:50s} {fps:7.1f} fps  {cpu:6.1f} CPU ms/frame")
            bound = max(table, key=lambda k: table[k][1])
            cores = os.cpu_count() or 1
            print(f"  CPU per frame, all threads' work measured alone: {total_cpu:.1f} ms "
                  f"({1000 * cores / total_cpu:.1f} fps on {cores} cores always busy); "
                  f"the largest share: {bound}")
            if size == 1080:
                verdict = "met" if rates["defaults"] >= TARGET_FPS else "MISSED"
                print(f"  target >= {TARGET_FPS:.0f} fps at 1080p with the defaults: {verdict} "
                      f"({rates['defaults']:.1f} fps; temporal pass costs "
                      f"{rates['--temporal 0'] / rates['defaults']:.2f}x)")


if __name__ == "__main__":
    main()
