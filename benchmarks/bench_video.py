"""Video speed: ``egan enhance clip.mp4 --enhancer fast`` end to end at 1080p and 4K, and
what bounds it.

For each size it makes a synthetic night clip (a dark textured scene panning under sensor
noise, with a sine audio track; :mod:`egan_core.video.synthetic`), then prints in one run:

- the end-to-end rate of :func:`egan_core.enhance_video` (decode, enhance, temporal pass,
  encode, on their threads) with the default options, and with ``--temporal 0``;
- the same through the real command line, wall clock including start-up;
- each stage alone on the same frames (frames per second, and CPU milliseconds per frame
  across all its threads): decoding to RGB, ``fast``'s enhancement (with the transform
  smoothing), the temporal blend, and RGB-to-YUV plus x264 encoding. The stage with the
  most CPU time per frame bounds the pipeline once every core is busy.

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

import numpy as np
from _shared import cpu_name

from egan_core import enhance_video, load_enhancer
from egan_core.video.io import DEFAULT_CRF, DEFAULT_PRESET, Frame, VideoReader, VideoWriter, rgb_to_i420
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


def stages(clip: Path, out_dir: Path, enhancer, count: int) -> dict[str, tuple[float, float]]:  # type: ignore[no-untyped-def]
    """Each stage alone over ``count`` frames: ``{stage: (frames per second, CPU ms per frame)}``.

    Decoding streams the clip; the other stages cycle through its first 24 frames, so no
    stage pays for holding a whole clip in memory (which the pipeline never does either).
    """
    results = {}
    kept: list[Frame] = []

    def decode() -> None:
        with VideoReader(clip) as reader:
            for item in reader.items():
                if isinstance(item, Frame) and len(kept) < 24:
                    kept.append(item)

    wall, cpu = timed(decode)
    results["decode (to RGB)"] = (count / wall, 1000 * cpu / count)
    smoother, cuts = TransformSmoother(DEFAULT_TEMPORAL), CutDetector()
    enhanced: list[np.ndarray] = []
    grays: list[tuple[np.ndarray, bool]] = []

    def enhance() -> None:
        for i in range(count):
            frame = kept[i % len(kept)]
            gray = small_gray(frame.image, luma=frame.luma)
            cut = cuts(gray)
            out = enhancer.enhance_frame(frame.image, smoother)
            if len(enhanced) < len(kept):
                enhanced.append(out)
                grays.append((gray, cut))

    wall, cpu = timed(enhance)
    results["enhance (fast, smoothed; cuts)"] = (count / wall, 1000 * cpu / count)
    h = kept[0].image.shape[0]
    with VideoReader(clip) as reader:
        blender = FlowBlender(DEFAULT_TEMPORAL)

        def blend() -> None:
            for i in range(count):
                gray, cut = grays[i % len(grays)]
                i420 = rgb_to_i420(enhanced[i % len(enhanced)], reader.info.matrix)
                chroma = i420[h:].reshape(2, h // 2, -1)
                blender([i420[:h], chroma[0], chroma[1]], gray, cut or i % len(grays) == 0)

        wall, cpu = timed(blend)
        results["temporal blend (with RGB to YUV)"] = (count / wall, 1000 * cpu / count)
        plain = VideoWriter(out_dir / "stage.mp4", reader)

        def encode() -> None:
            first, step = kept[0].pts or 0, (kept[1].pts or 1) - (kept[0].pts or 0)
            seconds = float(reader.info.time_base)
            for i in range(count):  # cycled frames, with timestamps that keep going
                stamp = Frame(kept[0].image, first + i * step, i * step * seconds)
                plain.write(stamp, enhanced[i % len(enhanced)])
            plain.close()

        wall, cpu = timed(encode)
        results["encode (RGB to YUV + x264)"] = (count / wall, 1000 * cpu / count)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1080, 2160], choices=sorted(SIZES))
    parser.add_argument("--frames", type=int, default=240, help="frames of the 1080p clip (4K: a fifth)")
    args = parser.parse_args()
    print(f"CPU: {cpu_name()} ({os.cpu_count()} logical cores); preset {DEFAULT_PRESET}, crf {DEFAULT_CRF}, "
          f"temporal {DEFAULT_TEMPORAL}")
    enhancer = load_enhancer("fast", device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for size in args.sizes:
            height, width = SIZES[size]
            count = args.frames if size == 1080 else max(24, args.frames // 5)
            clip = work / f"clip{size}.mp4"
            mbits = make_clip(clip, height, width, count, INPUT_MBITS[size])
            print(f"\n{width}x{height}, {count} frames (25 fps, H.264 at {mbits:.0f} Mbit/s, with audio)")
            runs = {}
            for temporal in (DEFAULT_TEMPORAL, 0.0):
                report = enhance_video(clip, work / f"out{size}_{temporal}.mp4", enhancer, temporal=temporal)
                runs[temporal] = report.fps
                print(f"  enhance_video, temporal {temporal}: {report.fps:6.1f} fps end to end "
                      f"({report.frames} frames in {report.elapsed:.1f} s)")
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
                print(f"  stage alone: {name:34s} {fps:7.1f} fps  {cpu:6.1f} CPU ms/frame")
            bound = max(table, key=lambda k: table[k][1])
            cores = os.cpu_count() or 1
            print(f"  CPU per frame, all stages: {total_cpu:.1f} ms -> at most "
                  f"{1000 * cores / total_cpu:.1f} fps on {cores} cores; the largest share: {bound}")
            if size == 1080:
                verdict = "met" if runs[DEFAULT_TEMPORAL] >= TARGET_FPS else "MISSED"
                print(f"  target >= {TARGET_FPS:.0f} fps at 1080p with the defaults: {verdict} "
                      f"({runs[DEFAULT_TEMPORAL]:.1f} fps; temporal pass costs "
                      f"{runs[0.0] / runs[DEFAULT_TEMPORAL]:.2f}x)")


if __name__ == "__main__":
    main()
