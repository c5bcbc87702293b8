"""Run several enhancers on the same images side by side (the logic behind ``egan compare``).

Writes into the output folder:

- ``contact_sheet.png``: one row per input image, the input then each method's output,
  each fitted into a ``cell x cell`` box under a label (PIL's default font);
- ``index.html``: the same grid with the full-size images and their NIQE;
- ``metrics.csv``: NIQE per image (rows) for the input and each method (columns), then
  the mean;
- ``images/input/`` and ``images/<method>/``: the images the page shows, as PNG named
  after the input's stem.

The columns (:func:`plan_methods`): each ``--enhancer`` is a column of its own, then each
``--checkpoint`` is one more column, the ``gan`` enhancer with that checkpoint. ``a+b``
names a chain (``gan+denoise``); each enhancer may carry options
(``clahe:clip_limit=3``, ``gan:checkpoint=a.pt+denoise:h=8``), see
:mod:`egan_core.enhance.specs`.
"""

from __future__ import annotations

import csv
import html
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from egan_core.errors import EganError, InputError, UsageError
from egan_core.evaluate import Failure, list_images, load_rgb
from egan_core.fileio import save_image
from egan_core.metrics import niqe

#: side of the square box each image is fitted into on the contact sheet.
CELL = 256
#: height of the label strip above each image, and the gap between cells.
LABEL_H = 16
GAP = 4
BACKGROUND = (24, 24, 24)
TEXT = (235, 235, 235)
FAILED = (90, 20, 20)

Loader = Callable[..., Callable[[Image.Image], Any]]


@dataclass(frozen=True)
class Method:
    """One column of the comparison: an enhancer (chain) and its checkpoint."""

    label: str
    names: tuple[str, ...]
    checkpoint: str | None = None

    @property
    def slug(self) -> str:
        """The label as a safe folder name."""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.label).strip("._") or "method"


@dataclass
class CompareResult:
    """What :func:`compare` wrote and measured."""

    out: Path
    methods: list[Method]
    images: list[str] = field(default_factory=list)
    #: NIQE per image name, per column ("input" and each method label); NaN = not scored.
    niqe: dict[str, dict[str, float]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    sheet: Path | None = None
    html: Path | None = None
    csv: Path | None = None

    @property
    def columns(self) -> list[str]:
        """``input`` then each method's label."""
        return ["input"] + [m.label for m in self.methods]

    def mean(self) -> dict[str, float]:
        """Mean NIQE per column over the images where it could be computed."""
        out = {}
        for col in self.columns:
            vals = [v[col] for v in self.niqe.values() if not math.isnan(v.get(col, math.nan))]
            out[col] = math.fsum(vals) / len(vals) if vals else math.nan
        return out


def plan_methods(enhancers: Sequence[str], checkpoints: Sequence[str]) -> list[Method]:
    """The columns: one per ``--enhancer`` (chains split at ``+``), then ``gan`` once per
    ``--checkpoint``. Labels repeated get ``#2``, ``#3``..."""
    from egan_core.enhance.specs import split_chain

    chains = [tuple(split_chain(e)) for e in enhancers]
    if any(not all(c) for c in chains):
        raise UsageError("empty --enhancer name; write NAME, NAME:KEY=VALUE,... or a chain a+b")
    if not chains and not checkpoints:
        raise UsageError("nothing to compare: pass --enhancer NAME and/or --checkpoint FILE")
    pairs: list[tuple[tuple[str, ...], str | None]] = [(c, None) for c in chains]
    pairs += [(("gan",), str(c)) for c in checkpoints]
    methods: list[Method] = []
    seen: dict[str, int] = {}
    for names, ckpt in pairs:
        label = "+".join(names) + (f":{Path(ckpt).stem}" if ckpt else "")
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label}#{seen[label]}"
        methods.append(Method(label, names, ckpt))
    return methods


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """PIL's default font."""
    return ImageFont.load_default()


def _fit(image: Image.Image, box: int) -> Image.Image:
    """``image`` scaled to fit a ``box x box`` square (aspect kept; as is if it fits)."""
    if max(image.width, image.height) == box:
        return image
    scale = min(box / image.width, box / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def sheet_size(rows: int, columns: int, cell: int = CELL) -> tuple[int, int]:
    """``(width, height)`` of a contact sheet with ``rows`` images and ``columns`` cells."""
    return (GAP + columns * (cell + GAP), GAP + rows * (LABEL_H + cell + GAP))


def contact_sheet(rows: Sequence[Sequence[tuple[str, Image.Image | None]]],
                  cell: int = CELL) -> Image.Image:
    """Lay out labelled images: one row per sequence of ``(label, image or None)``.

    ``None`` draws a dark red "failed" box. Every cell is ``cell`` square plus its label.
    """
    columns = max((len(r) for r in rows), default=0)
    sheet = Image.new("RGB", sheet_size(len(rows), columns, cell), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = _font()
    max_chars = max(4, cell // 6)
    for r, row in enumerate(rows):
        y = GAP + r * (LABEL_H + cell + GAP)
        for c, (label, image) in enumerate(row):
            x = GAP + c * (cell + GAP)
            text = label if len(label) <= max_chars else label[:max_chars - 1] + "~"
            draw.text((x + 2, y + 2), text, fill=TEXT, font=font)
            top = y + LABEL_H
            if image is None:
                draw.rectangle([x, top, x + cell - 1, top + cell - 1], fill=FAILED)
                draw.text((x + 4, top + 4), "failed", fill=TEXT, font=font)
                continue
            thumb = _fit(image.convert("RGB"), cell)
            sheet.paste(thumb, (x + (cell - thumb.width) // 2, top + (cell - thumb.height) // 2))
    return sheet


def _niqe_or_nan(image: Image.Image) -> float:
    """NIQE of a PIL image; NaN when it is undefined (too small, no texture)."""
    try:
        return niqe(np.asarray(image.convert("RGB")))
    except InputError:
        return math.nan


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.4f}"


def _write_html(result: CompareResult, paths: dict[tuple[str, str], str]) -> Path:
    """``index.html``: the image grid with NIQE under each image."""
    cols = result.columns
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for name in result.images:
        cells = []
        for col in cols:
            rel = paths.get((name, col))
            score = _fmt(result.niqe.get(name, {}).get(col, math.nan)) or "n/a"
            if rel is None:
                cells.append("<td class='failed'>failed</td>")
                continue
            src = html.escape(quote(rel))
            cells.append(f"<td><a href='{src}'><img src='{src}' loading='lazy' alt='"
                         f"{html.escape(col)}'></a><br>NIQE {score}</td>")
        body.append(f"<tr><th>{html.escape(name)}</th>{''.join(cells)}</tr>")
    means = result.mean()
    mean_row = "".join(f"<td>{_fmt(means[c]) or 'n/a'}</td>" for c in cols)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>egan compare</title>
<style>
body {{ font-family: sans-serif; background: #181818; color: #eee; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 4px; text-align: center; }}
img {{ max-width: {CELL}px; max-height: {CELL}px; }} .failed {{ background: #5a1414; }}
</style></head><body>
<h1>egan compare</h1>
<p>NIQE: lower is better. <a href="contact_sheet.png">Contact sheet</a>,
<a href="metrics.csv">metrics.csv</a>.</p>
<table>
<tr><th>image</th>{head}</tr>
{chr(10).join(body)}
<tr><th>mean NIQE</th>{mean_row}</tr>
</table></body></html>
"""
    target = result.out / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def _write_csv(result: CompareResult) -> Path:
    """``metrics.csv``: NIQE per image per column, then the mean."""
    target = result.out / "metrics.csv"
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", *result.columns])
        for name in result.images:
            scores = result.niqe.get(name, {})
            writer.writerow([name, *(_fmt(scores.get(c, math.nan)) for c in result.columns)])
        means = result.mean()
        writer.writerow(["mean", *(_fmt(means[c]) for c in result.columns)])
    return target


def compare(input_dir: str | Path, enhancers: Sequence[str] = (), checkpoints: Sequence[str] = (),
            out: str | Path = "compare", *, device: str = "auto", cell: int = CELL,
            loader: Loader | None = None) -> CompareResult:
    """Run every method on every image of ``input_dir`` and write sheet, page and CSV.

    ``loader`` builds an enhancer (default :func:`egan_core.load_enhancer`) and is called
    as ``loader(names, checkpoint=..., device=...)``. Enhancers are all loaded first, so
    a wrong name or checkpoint stops before any work; an unreadable image, or a method
    failing on one image, fails alone and is listed in ``failures``.
    """
    methods = plan_methods(enhancers, checkpoints)
    files = list_images(input_dir)
    if not files:
        raise InputError(f"{input_dir}: no images found")
    if loader is None:
        from egan_core.enhance.api import load_enhancer as loader
    loaded = []
    for m in methods:
        names: str | list[str] = m.names[0] if len(m.names) == 1 else list(m.names)
        loaded.append(loader(names, checkpoint=m.checkpoint, device=device))

    result = CompareResult(out=Path(out), methods=methods)
    folders: dict[str, str] = {"input": "input"}
    for i, m in enumerate(methods):
        folders[m.label] = m.slug if m.slug not in folders.values() else f"{m.slug}_{i + 1}"
    for folder in folders.values():
        (result.out / "images" / folder).mkdir(parents=True, exist_ok=True)

    rows: list[list[tuple[str, Image.Image | None]]] = []
    paths: dict[tuple[str, str], str] = {}
    stems = Counter(f.stem for f in files)
    for path in files:
        name = path.name
        key = path.stem if stems[path.stem] == 1 else path.name.replace(".", "_")
        try:
            source = Image.fromarray(load_rgb(path), "RGB")
        except EganError as exc:
            result.failures.append(Failure(name, str(exc)))
            continue
        result.images.append(name)
        rel = f"images/input/{key}.png"
        save_image(result.out / rel, source)
        paths[(name, "input")] = rel
        scores = {"input": _niqe_or_nan(source)}
        row: list[tuple[str, Image.Image | None]] = [(f"input: {name}", _fit(source, cell))]
        for m, enhancer in zip(methods, loaded, strict=True):
            try:
                output = enhancer(source)
                if not isinstance(output, Image.Image):
                    output = Image.fromarray(np.asarray(output), "RGB")
            except (EganError, RuntimeError) as exc:  # RuntimeError: e.g. out of memory
                result.failures.append(Failure(f"{name} ({m.label})", str(exc)))
                scores[m.label] = math.nan
                row.append((m.label, None))
                continue
            rel = f"images/{folders[m.label]}/{key}.png"
            save_image(result.out / rel, output)
            paths[(name, m.label)] = rel
            scores[m.label] = _niqe_or_nan(output)
            row.append((m.label, _fit(output.convert("RGB"), cell)))  # thumbnails only
        result.niqe[name] = scores
        rows.append(row)

    result.sheet = result.out / "contact_sheet.png"
    save_image(result.sheet, contact_sheet(rows, cell))
    result.html = _write_html(result, paths)
    result.csv = _write_csv(result)
    return result
