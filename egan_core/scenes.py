"""A synthetic low-light photo that needs no file: the demo's samples, tests, benchmarks.

One maker, so every place that needs "a dark, noisy photo-like image" feeds the same kind
of pixels (the training data's synthetic scenes, which come in well-exposed / degraded
pairs, are :mod:`egan_plugins.data.scenes`).
"""

from __future__ import annotations

import cv2
import numpy as np

from egan_core.imageio import to_uint8

__all__ = ["dark_scene"]


def dark_scene(width: int = 640, height: int = 480, seed: int = 0) -> np.ndarray:
    """A procedural night street (buildings, lit windows, street lamps), dark and noisy.

    Returns an HxWx3 uint8 image with a mean around 15/255: a stand-in for a real
    low-light photo that needs no file, for the app's samples and for tests.
    """
    rng = np.random.default_rng(seed)
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    top, horizon = np.array([0.10, 0.14, 0.32], np.float32), np.array([0.55, 0.45, 0.50], np.float32)
    img = np.broadcast_to(top + (horizon - top) * ys**1.5, (height, width, 3)).copy()
    ground = int(height * rng.uniform(0.72, 0.8))
    x = 0
    while x < width:  # a skyline of buildings with window grids, some windows lit
        bw = int(width * rng.uniform(0.08, 0.2))
        top_y = int(height * rng.uniform(0.12, 0.55))
        wall = rng.uniform(0.25, 0.6) * np.array(rng.choice([[1.0, 0.75, 0.6], [0.8, 0.8, 0.85],
                                                              [0.9, 0.85, 0.7]]), np.float32)
        img[top_y:ground, x:x + bw] = wall
        step_x, step_y = max(6, bw // 5), max(8, height // 24)
        for wy in range(top_y + step_y // 2, ground - step_y, step_y):
            for wx in range(x + step_x // 3, x + bw - step_x // 2, step_x):
                lit = rng.random() < 0.4
                colour = [1.0, 0.85, 0.5] if lit else [0.15, 0.18, 0.24]
                img[wy:wy + step_y // 2, wx:wx + step_x // 2] = colour
        x += bw + int(width * rng.uniform(0.0, 0.03))
    img[ground:] = np.array([0.35, 0.35, 0.38], np.float32)  # road with a dashed centre line
    line_y = ground + (height - ground) // 2
    for lx in range(0, width, max(8, width // 12)):
        img[line_y:line_y + max(2, height // 120), lx:lx + width // 24] = [0.9, 0.9, 0.8]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for lamp_x in rng.uniform(0.1, 0.9, 3) * width:  # lamps: a pole and a warm glow
        lamp_y = ground - height * 0.28
        img[int(lamp_y):ground, int(lamp_x) - 1:int(lamp_x) + 2] = [0.2, 0.2, 0.2]
        glow = np.exp(-((xx - lamp_x) ** 2 + (yy - lamp_y) ** 2) / (2 * (0.06 * height) ** 2))
        img += glow[..., None] * np.array([0.9, 0.7, 0.35], np.float32)
    texture = cv2.GaussianBlur(rng.random((height, width), dtype=np.float32), (0, 0), 1.5)
    img *= (0.85 + 0.3 * texture)[..., None]
    img = np.clip(img, 0.0, 1.0) ** 1.6 * 0.22  # underexposed, darker shadows
    img += rng.normal(0.0, 0.008, img.shape).astype(np.float32)  # sensor noise
    return to_uint8(img)
