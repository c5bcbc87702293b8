"""Videos (.mp4, .avi, .mov, .mkv via OpenCV), enhanced frame by frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import torch

from egan_core.enhance.io import to_uint8
from egan_core.enhance.pipeline import Enhancer
from egan_core.errors import InputError
from egan_core.fileio import atomic_write

#: Codec written for each container (what OpenCV's bundled FFmpeg can encode).
FOURCC = {".avi": "MJPG", ".mkv": "MJPG", ".mp4": "mp4v", ".mov": "mp4v"}
DEFAULT_FPS = 25.0


def _frames(cap: cv2.VideoCapture, batch_size: int) -> Iterator[np.ndarray]:
    """Batches ``(B, H, W, 3)`` of RGB uint8 frames."""
    batch: list[np.ndarray] = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        batch.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def enhance_video(enhancer: Enhancer, source: str | Path, target: str | Path,
                  batch_size: int = 4) -> int:
    """Enhance every frame of ``source`` into ``target`` (same frame rate and size).

    The container follows ``target``'s extension; the file appears atomically.

    Returns:
        The number of frames written.

    Raises:
        InputError: the video cannot be opened or has no frames.
    """
    source, target = Path(source), Path(target)
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise InputError(f"'{source}': not a readable video")
    fps = cap.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
    count = 0

    def write(tmp: str) -> None:  # tmp ends in the target's extension: OpenCV picks the container by it
        nonlocal count
        writer: cv2.VideoWriter | None = None
        try:
            for frames in _frames(cap, max(1, batch_size)):
                x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255.0
                out = to_uint8(enhancer.process(x).permute(0, 2, 3, 1).numpy())
                if writer is None:
                    h, w = out.shape[1:3]
                    code = FOURCC.get(target.suffix.lower(), "MJPG")
                    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*code), fps, (w, h))
                    if not writer.isOpened():
                        raise OSError(f"OpenCV cannot encode {code} into '{target.suffix}'")
                for frame in out:
                    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
                    count += 1
        finally:
            if writer is not None:
                writer.release()
        if count == 0:
            raise InputError(f"'{source}': no frames could be read (corrupt or unsupported video)")

    try:
        atomic_write(target, write, suffix=target.suffix.lower())
    finally:
        cap.release()
    return count
