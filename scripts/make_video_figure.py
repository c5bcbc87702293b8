"""docs/video_frames.png: one frame of a night clip, as it came, enhanced alone, and enhanced
on egan's default video path, with each clip's flicker.

The clip pans across a real dark photo with fresh Poisson-Gaussian sensor noise in every
frame (:func:`egan_core.video.synthetic.pan`), so flicker comes from the noise brightening
amplifies, as in real night video.

    python scripts/make_video_figure.py --photo ../shared/data/teacher_pairs/low/Madison.png
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from egan_core import enhance_video, load_enhancer
from egan_core.video.flicker import flicker
from egan_core.video.io import Frame, VideoReader
from egan_core.video.synthetic import pan, write_clip
from egan_core.video.temporal import DEFAULT_TEMPORAL


def frame_at(path: Path, index: int) -> np.ndarray:
    """Frame ``index`` of a video, RGB uint8."""
    with VideoReader(path) as reader:
        for n, item in enumerate(x for x in reader.items() if isinstance(x, Frame)):
            if n == index:
                return item.image
    raise ValueError(f"{path} has no frame {index}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", type=Path, required=True, help="a dark photo to pan across")
    parser.add_argument("--enhancer", default="fast")
    parser.add_argument("--out", type=Path, default=Path("docs/video_frames.png"))
    parser.add_argument("--frames", type=int, default=36)
    args = parser.parse_args()
    photo = np.asarray(Image.open(args.photo).convert("RGB"))
    enhancer = load_enhancer(args.enhancer, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "clip.mp4"
        write_clip(src, pan(photo, args.frames, 360, 640), crf=10)
        panels = [("input", src, flicker(src)["flicker"])]
        for label, temporal in ((f"{args.enhancer}, every frame alone", 0.0),
                                (f"{args.enhancer}, egan's video path", DEFAULT_TEMPORAL)):
            out = work / f"{temporal}.mp4"
            enhance_video(src, out, enhancer, temporal=temporal)
            panels.append((label, out, flicker(out, src)["flicker"]))
        middle = args.frames // 2
        crop = (slice(60, 300), slice(200, 520))  # 320x240: large enough to see the noise
        tiles = [Image.fromarray(frame_at(path, middle)[crop]) for _, path, _ in panels]
    w, h = tiles[0].size
    sheet = Image.new("RGB", (3 * w + 20, h + 34), "white")
    draw = ImageDraw.Draw(sheet)
    for k, ((label, _, value), tile) in enumerate(zip(panels, tiles, strict=True)):
        sheet.paste(tile, (k * (w + 10), 34))
        draw.text((k * (w + 10) + 2, 2), label, fill="black")
        draw.text((k * (w + 10) + 2, 16), f"flicker {value:.2f}", fill="black")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}: " + ", ".join(f"{label} {value:.2f}" for label, _, value in panels))


if __name__ == "__main__":
    main()
