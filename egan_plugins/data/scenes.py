"""Procedural scenes and a camera-like low-light degradation (numpy, explicit generator)."""

from __future__ import annotations

import cv2
import numpy as np


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    return ys, xs


def _colour(rng: np.random.Generator, low: float = 0.15, high: float = 0.95) -> np.ndarray:
    return rng.uniform(low, high, 3).astype(np.float32)


def value_noise(rng: np.random.Generator, size: int, octaves: int = 3) -> np.ndarray:
    """Smooth fractal noise in [0, 1], ``(size, size)``: random grids upsampled bicubically."""
    total = np.zeros((size, size), np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cells = 3 * 2**octave
        grid = rng.random((cells, cells), dtype=np.float32)
        weight = 0.5**octave
        total += weight * cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
        weight_sum += weight
    return np.clip(total / weight_sum, 0.0, 1.0)


def _pattern(rng: np.random.Generator, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """A texture in [0, 1]: stripes, checks or flat."""
    kind = rng.integers(0, 3)
    freq = rng.uniform(6.0, 30.0)
    if kind == 0:
        angle = rng.uniform(0, np.pi)
        return 0.5 + 0.5 * np.sin(freq * (np.cos(angle) * xs + np.sin(angle) * ys))
    if kind == 1:
        return ((np.floor(xs * freq / 2) + np.floor(ys * freq / 2)) % 2).astype(np.float32)
    return np.ones_like(xs)


def _draw_shape(rng: np.random.Generator, img: np.ndarray, ys: np.ndarray, xs: np.ndarray,
                shading: np.ndarray) -> None:
    """Paint one textured disc, rectangle or rotated ellipse into ``img`` (in place)."""
    size = img.shape[0]
    cy, cx = rng.uniform(0, 1, 2)
    ry, rx = rng.uniform(0.05, 0.3, 2)
    kind = rng.integers(0, 3)
    reach = max(ry, rx)  # only touch the shape's bounding box
    y0, y1 = (int(np.clip(v * (size - 1), 0, size)) for v in (cy - reach, cy + reach + 0.02))
    x0, x1 = (int(np.clip(v * (size - 1), 0, size)) for v in (cx - reach, cx + reach + 0.02))
    box = (slice(y0, y1 + 1), slice(x0, x1 + 1))
    by, bx = ys[box] - cy, xs[box] - cx
    if kind == 0:
        mask = by**2 + bx**2 < ry**2
    elif kind == 1:
        mask = (np.abs(by) < ry) & (np.abs(bx) < rx)
    else:
        a = rng.uniform(0, np.pi)
        u, v = np.cos(a) * bx + np.sin(a) * by, -np.sin(a) * bx + np.cos(a) * by
        mask = (u / rx) ** 2 + (v / ry) ** 2 < 1
    shade = _colour(rng) * (0.7 + 0.3 * _pattern(rng, ys[box], xs[box]))[..., None]
    region = img[box]
    region[mask] = (shade * shading[box])[mask]


def render_scene(rng: np.random.Generator, size: int) -> np.ndarray:
    """A well-exposed synthetic scene, ``(size, size, 3)`` float32 in [0, 1].

    A two-colour gradient modulated by value noise, then 3 to 8 textured shapes
    (discs, rectangles, rotated ellipses) and a little grain.
    """
    ys, xs = _grid(size)
    angle = rng.uniform(0, 2 * np.pi)
    t = np.cos(angle) * xs + np.sin(angle) * ys
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    c0, c1 = _colour(rng), _colour(rng)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    img *= (0.7 + 0.6 * value_noise(rng, size))[..., None]
    shading = (0.8 + 0.4 * value_noise(rng, size, octaves=2))[..., None]
    for _ in range(int(rng.integers(3, 9))):
        _draw_shape(rng, img, ys, xs, shading)
    img += 0.01 * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def degrade_low_light(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A camera-like low-light version of ``img`` (HxWx3 in [0, 1]).

    Linearise (gamma 2.2), scale the exposure by 0.02..0.15, tint (a colour cast of up to
    ±15 % per channel), add shot (signal-dependent) and read noise, re-encode with a
    gamma of 2.0..2.4 and quantise to 8 bits.
    """
    linear = np.power(img, 2.2)
    exposure = float(np.exp(rng.uniform(np.log(0.02), np.log(0.15))))
    tint = (1.0 + rng.uniform(-0.15, 0.15, 3)).astype(np.float32)
    linear = linear * exposure * tint
    shot = rng.uniform(1e-4, 2e-3)
    read = rng.uniform(1e-3, 6e-3)
    sigma = np.sqrt(shot * linear + read**2)
    linear = linear + sigma * rng.standard_normal(linear.shape, dtype=np.float32)
    encoded = np.power(np.clip(linear, 0.0, 1.0), 1.0 / rng.uniform(2.0, 2.4))
    return (np.round(encoded * 255.0) / 255.0).astype(np.float32)
