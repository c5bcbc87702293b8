"""What a run writes besides checkpoints: metrics log, sample grids, loss curves."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from egan_core.fileio import atomic_write
from egan_core.generator_io import attention_map, from_model_range


class MetricsLog:
    """Append-only JSON-lines log (one object per logged step)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def read(self) -> list[dict[str, Any]]:
        """The records; a line torn by a crash or a full disk mid-write is skipped."""
        if not self.path.is_file():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def truncate_after(self, step: int) -> None:
        """Drop records past ``step`` (a resumed run rewrites them)."""
        kept = [r for r in self.read() if r.get("step", 0) <= step]
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write(self.path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    """(3|1, H, W) in [0, 1] -> HxWx3 uint8."""
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return (x.clamp(0, 1).permute(1, 2, 0).float().cpu().numpy() * 255 + 0.5).astype(np.uint8)


def sample_grid(inp: torch.Tensor, enhanced: torch.Tensor, rows: int = 4) -> Image.Image:
    """A grid with one row per image: input | enhanced | attention map."""
    n = min(rows, inp.shape[0])
    att = attention_map(inp[:n])
    tiles = []
    for i in range(n):
        row = [from_model_range(inp[i]), from_model_range(enhanced[i]), att[i]]
        tiles.append(np.concatenate([_to_uint8(t) for t in row], axis=1))
    return Image.fromarray(np.concatenate(tiles, axis=0))


#: Record fields that are not losses (the run's settings, counters, speed).
NOT_PLOTTED = frozenset({"step", "epoch", "lr", "images_per_s", "time", "channels_last", "winograd",
                         "bad_images"})
_COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127)]


def _is_validation(key: str) -> bool:
    return key.startswith("val_")


def _validation_group(key: str) -> str:
    """The panel a validation metric goes to: its name without ``val_`` / ``val_input_``."""
    return key.removeprefix("val_").removeprefix("input_")


def loss_curve(records: list[dict[str, Any]], width: int = 900, height: int = 500) -> Image.Image:
    """Plot the metrics log against the step: the losses in one panel, then one smaller panel
    per validation metric (``val_niqe`` with ``val_input_niqe``, ``val_brightness``...), since
    their scales differ from the losses' and from each other."""
    keys = sorted({k for r in records for k in r if k not in NOT_PLOTTED and not k.startswith("precision")
                   and not isinstance(r[k], bool)})
    pts = {k: [(r["step"], r[k]) for r in records if isinstance(r.get(k), (int, float))
               and math.isfinite(r[k])] for k in keys}
    keys = [k for k in keys if pts[k]]
    groups: dict[str, list[str]] = {}
    for key in keys:
        if _is_validation(key):
            groups.setdefault(_validation_group(key), []).append(key)
    panel_h = height // 2
    img = Image.new("RGB", (width, height + panel_h * len(groups)), "white")
    draw = ImageDraw.Draw(img)
    steps = [s for p in pts.values() for s, _ in p]
    span = (min(steps), max(max(steps), min(steps) + 1)) if steps else (0, 1)
    _panel(draw, (0, 0, width, height), pts, [k for k in keys if not _is_validation(k)], span,
           "no metrics yet")
    for i, group in enumerate(sorted(groups)):
        box = (0, height + i * panel_h, width, height + (i + 1) * panel_h)
        ordered = sorted(groups[group], key=lambda k: k.startswith("val_input_"))  # outputs first
        _panel(draw, box, pts, ordered, span, "", title=f"validation: {group}")
    return img


def _panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int],
           pts: dict[str, list[tuple[float, float]]], keys: list[str], span: tuple[float, float],
           empty: str, title: str = "") -> None:
    """Draw ``keys`` of ``pts`` as lines in ``box`` (x0, y0, x1, y1), steps ``span`` on x."""
    x0, y0, x1, y1 = box
    left, top, right, bottom = x0 + 70, y0 + 20, x1 - 180, y1 - 40
    draw.rectangle([left, top, right, bottom], outline="black")
    if title:
        draw.text((left + 5, y0 + 4), title, fill="black")
    values = [v for k in keys for _, v in pts[k]]
    if not values:
        draw.text((left + 10, top + 10), empty, fill="black")
        return
    s0, s1 = span
    v0, v1 = min(values), max(values)
    v1 = v1 if v1 > v0 else v0 + 1.0

    def xy(s: float, v: float) -> tuple[float, float]:
        return (left + (s - s0) / (s1 - s0) * (right - left),
                bottom - (v - v0) / (v1 - v0) * (bottom - top))

    for frac in (0.0, 0.5, 1.0):
        v = v0 + frac * (v1 - v0)
        _, y = xy(s0, v)
        draw.text((x0 + 5, y - 6), f"{v:.3g}", fill="black")
    draw.text((left, bottom + 8), f"step {s0}", fill="black")
    draw.text((right - 60, bottom + 8), f"step {s1}", fill="black")
    for i, key in enumerate(keys):
        color = _COLORS[i % len(_COLORS)]
        line = [xy(s, v) for s, v in pts[key]]
        if len(line) > 1:
            draw.line(line, fill=color, width=2)
        elif line:
            draw.ellipse([line[0][0] - 2, line[0][1] - 2, line[0][0] + 2, line[0][1] + 2], fill=color)
        draw.text((right + 10, top + 16 * i), key, fill=color)


class TensorBoard:
    """Optional TensorBoard scalars (only when the tensorboard package is installed)."""

    def __init__(self, folder: Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except Exception:  # tensorboard not installed: stay silent
            self.writer = None
        else:
            self.writer = SummaryWriter(str(folder))

    def write(self, record: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for key, value in record.items():
            if key != "step" and isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, record["step"])

    def image(self, tag: str, image: Image.Image, step: int) -> None:
        """An RGB image (a validation grid), so TensorBoard shows the outputs beside the curves."""
        if self.writer is not None:
            self.writer.add_image(tag, np.asarray(image.convert("RGB")), step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
