"""Video stability: flicker of the default video path against every frame enhanced alone,
and the per-frame quality (NIQE) both give, on the same clips, in one run.

Clips: a synthetic night scene panning under sensor noise, and (with ``--photos DIR``)
windows panning across real dark photos with Poisson-Gaussian sensor noise added in every
frame (:func:`egan_core.video.synthetic.pan`; the teacher photos of ``shared/data`` are
what docs/benchmarks.md reports). Flicker is the warping error of ``egan eval --metric
flicker`` with the input's flow; NIQE the mean over 16 frames. Targets (issue 32): the
default path's flicker at most half of per-frame enhancement, its NIQE at most 0.1 higher.

    python benchmarks/bench_video_quality.py --photos ../shared/data/teacher_pairs/low \\
        --names Madison Cave --enhancers fast gan
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np
from _shared import cpu_name
from PIL import Image

from egan_core import enhance_video, load_enhancer
from egan_core.evaluate import score_video
from egan_core.video.flicker import flicker
from egan_core.video.synthetic import frames, pan, write_clip
from egan_core.video.temporal import DEFAULT_TEMPORAL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, help="folder of dark photos to pan across")
    parser.add_argument("--names", nargs="*", default=["Madison", "Cave"], help="photo stems")
    parser.add_argument("--enhancers", nargs="+", default=["fast", "gan"])
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, nargs=2, default=[360, 640], metavar=("H", "W"))
    args = parser.parse_args()
    height, width = args.size
    print(f"CPU: {cpu_name()}; {args.frames} frames of {width}x{height}; temporal {DEFAULT_TEMPORAL}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clips = {"synthetic": frames(args.frames, height, width, noise=0.015, speed=2)}
        for name in args.names if args.photos else []:
            photo = np.asarray(Image.open(args.photos / f"{name}.png").convert("RGB"))
            clips[name] = pan(photo, args.frames, height, width)
        print(f"{'clip':12s} {'enhancer':8s} {'input':>6s} {'per-frame':>9s} {'default':>8s} {'ratio':>6s}"
              f" {'NIQE per-frame':>14s} {'NIQE default':>12s} {'dNIQE':>6s}")
        worst_ratio, worst_niqe = 0.0, -math.inf
        for enhancer_name in args.enhancers:
            enhancer = load_enhancer(enhancer_name, device="cpu")
            for clip_name, images in clips.items():
                src = work / f"{clip_name}.mp4"
                if not src.exists():
                    write_clip(src, images, crf=10)
                figures = {}
                for temporal in (0.0, DEFAULT_TEMPORAL):
                    out = work / f"{clip_name}_{enhancer_name}_{temporal}.mp4"
                    enhance_video(src, out, enhancer, temporal=temporal)
                    figures[temporal] = (flicker(out, src), score_video(out, ["niqe"])["niqe"])
                alone, default = figures[0.0], figures[DEFAULT_TEMPORAL]
                ratio = default[0]["flicker"] / alone[0]["flicker"]
                d_niqe = default[1] - alone[1]
                worst_ratio, worst_niqe = max(worst_ratio, ratio), max(worst_niqe, d_niqe)
                print(f"{clip_name:12s} {enhancer_name:8s} {alone[0]['flicker_source']:6.2f} "
                      f"{alone[0]['flicker']:9.2f} {default[0]['flicker']:8.2f} {ratio:6.2f} "
                      f"{alone[1]:14.3f} {default[1]:12.3f} {d_niqe:+6.3f}")
        flicker_ok = "met" if worst_ratio <= 0.5 else "MISSED"
        niqe_ok = "met" if worst_niqe <= 0.1 else "MISSED"
        print(f"worst flicker ratio {worst_ratio:.2f} (target <= 0.50: {flicker_ok}); "
              f"worst NIQE change {worst_niqe:+.3f} (target <= +0.10: {niqe_ok})")


if __name__ == "__main__":
    main()
