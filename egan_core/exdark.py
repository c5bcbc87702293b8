"""The ExDark object cropper: object crops out of annotated low-light photos (``egan data crop``).

``crop_objects`` builds the fork's object-context tree (``OUT/train_A/<object>/``) from
ExDark per-image bbGt ``.txt`` files or a COCO-style JSON file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from egan_core.errors import InputError, UnknownNameError, UsageError
from egan_core.fileio import save_image
from egan_core.imageio import IMAGE_EXTENSIONS, orient_array, read_raw, to_uint8
from egan_core.objects import ObjectSpec
from egan_core.registry import Registries


@dataclass(frozen=True)
class Box:
    """One annotated object: label and ``left, top, width, height`` in pixels."""

    label: str
    left: float
    top: float
    width: float
    height: float


@dataclass
class AnnotatedImage:
    """An image (``None`` when not found) with its boxes and any declared ``(w, h)``."""

    name: str
    path: Path | None
    boxes: list[Box]
    size: tuple[int, int] | None = None


@dataclass
class ObjectCount:
    """Per-object tally: crops written, skipped (already there), too small."""

    written: int = 0
    skipped: int = 0
    small: int = 0


@dataclass
class CropSummary:
    """What :func:`crop_objects` did."""

    counts: dict[str, ObjectCount] = field(default_factory=dict)
    images: int = 0
    missing: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    unknown_labels: set[str] = field(default_factory=set)


def read_bbgt(path: Path) -> list[Box]:
    """Boxes of an ExDark/Piotr-toolbox ``bbGt`` file (``label l t w h ...`` per line)."""
    boxes = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 5 or line.lstrip().startswith("%"):
            continue
        try:
            boxes.append(Box(parts[0], *(float(v) for v in parts[1:5])))
        except ValueError as exc:
            raise InputError(f"annotation '{path}' has a malformed line: {line.strip()!r}") from exc
    return boxes


def read_coco(path: Path) -> dict[str, tuple[list[Box], tuple[int, int] | None]]:
    """``file_name -> (boxes, (width, height))`` of a COCO-style JSON file (crowds skipped)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = {c["id"]: c["name"] for c in data["categories"]}
        images = {i["id"]: i for i in data["images"]}
        out: dict[str, tuple[list[Box], tuple[int, int] | None]] = {
            i["file_name"]: ([], (int(i["width"]), int(i["height"])) if "width" in i else None)
            for i in images.values()}
        for ann in data.get("annotations", []):
            if ann.get("iscrowd", 0):
                continue
            info = images[ann["image_id"]]
            out[info["file_name"]][0].append(Box(names[ann["category_id"]], *map(float, ann["bbox"][:4])))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read COCO annotations '{path}': {type(exc).__name__}: {exc};"
                         " expected images, annotations and categories") from exc
    return out


def load_annotations(images: Path, annotations: Path) -> list[AnnotatedImage]:
    """Pair every annotation with its image under ``images`` (by path, name, then stem)."""
    index: dict[str, Path] = {}
    for p in sorted(images.rglob("*")):
        if p.suffix.lower() in IMAGE_EXTENSIONS:
            index.setdefault(p.name.lower(), p)
            index.setdefault(p.stem.lower(), p)

    def find(rel: str) -> Path | None:
        direct = images / rel
        if direct.is_file():
            return direct
        name = Path(rel).name.lower()
        return index.get(name) or index.get(Path(name).stem) or index.get(name.split(".")[0])

    if annotations.is_file() and annotations.suffix.lower() == ".json":
        return [AnnotatedImage(name, find(name), boxes, size)
                for name, (boxes, size) in sorted(read_coco(annotations).items())]
    files = [annotations] if annotations.is_file() else sorted(annotations.rglob("*.txt"))
    out = []
    for txt in files:
        rel = txt.relative_to(annotations).with_suffix("") if annotations.is_dir() else Path(txt.stem)
        out.append(AnnotatedImage(rel.as_posix(), find(rel.as_posix()), read_bbgt(txt)))
    return out


def crop_objects(
    images: str | Path, annotations: str | Path, out: str | Path, objects: Iterable[str] = (),
    margin: float = 0.25, min_size: int = 64, split: str = "A",
    registries: Registries | None = None, on_image: Callable[[int, int], None] | None = None,
) -> CropSummary:
    """Crop every annotated object of the asked classes into ``out/train_<split>/<object>/``.

    Args:
        images: folder of images (searched recursively).
        annotations: folder of ExDark ``.txt`` files, one such file, or a COCO ``.json``.
        out: output root; crops go to ``train_A`` (``split="A"``) or ``train_B``.
        objects: object names or aliases (default: every registered object).
        margin: context added on each side, as a fraction of the box's width / height.
        min_size: boxes whose shorter side is below this are skipped.
        registries: where objects are looked up (default: the installed plugins').
        on_image: called as ``on_image(done, total)`` after each image.

    Existing crops are skipped, so re-running resumes. Unreadable images are recorded in
    ``failed`` and the rest still processed.
    """
    if registries is None:
        from egan_core.plugins import get_registries
        registries = get_registries()
    images, annotations, out = Path(images), Path(annotations), Path(out)
    if split not in ("A", "B"):
        raise UsageError(f"--split must be A or B, got '{split}'")
    if margin < 0 or min_size < 0:
        raise UsageError("--margin and --min-size must not be negative")
    if not images.is_dir():
        raise InputError(f"images folder '{images}' does not exist or is not a folder")
    if not annotations.exists():
        raise InputError(f"annotations '{annotations}' do not exist (give a folder of .txt"
                         " files or a COCO .json file)")
    wanted = [registries.find_object(o) for o in objects] or [e.factory for e in registries.objects]
    summary = CropSummary(counts={spec.name: ObjectCount() for spec in wanted})
    items = load_annotations(images, annotations)
    for done, item in enumerate(items, 1):
        _crop_image(item, wanted, registries, out / f"train_{split}", margin, min_size, summary)
        if on_image is not None:
            on_image(done, len(items))
    summary.images = len(items)
    return summary


def _crop_image(item: AnnotatedImage, wanted: list[ObjectSpec], registries: Registries,
                out: Path, margin: float, min_size: int, summary: CropSummary) -> None:
    jobs, seen = [], {}
    for box in item.boxes:
        try:
            spec = registries.find_object(box.label)
        except UnknownNameError:
            summary.unknown_labels.add(box.label)
            continue
        if spec not in wanted:
            continue
        k = seen[spec.name] = seen.get(spec.name, -1) + 1
        if min(box.width, box.height) < min_size:
            summary.counts[spec.name].small += 1
            continue
        stem = Path(item.path.name if item.path else item.name).stem
        jobs.append((spec.name, box, out / spec.name / f"{stem}_{k}.png"))
    todo = []
    for job in jobs:
        if job[2].exists():
            summary.counts[job[0]].skipped += 1
        else:
            todo.append(job)
    if not todo:
        return
    if item.path is None:
        summary.missing.append(item.name)
        return
    try:
        pixels, orientation = read_raw(item.path)
    except InputError as exc:  # the reason without the reader's leading file name
        summary.failed.append((str(item.path), str(exc).removeprefix(f"'{item.path}': ")))
        return
    _write_crops(pixels, orientation, item.size, todo, margin, summary)


def _write_crops(pixels: np.ndarray, orientation: int, declared: tuple[int, int] | None,
                 jobs: list[tuple[str, Box, Path]], margin: float, summary: CropSummary) -> None:
    """Crop in the annotation's frame (the stored pixels unless the declared size is the
    EXIF-rotated one), then turn each crop upright."""
    stored = (pixels.shape[1], pixels.shape[0])
    if orientation != 1 and declared == stored[::-1] != stored:
        pixels, orientation = orient_array(pixels, orientation), 1
    height, width = pixels.shape[:2]
    for name, box, target in jobs:
        dx, dy = box.width * margin, box.height * margin
        left, top = max(0, round(box.left - dx)), max(0, round(box.top - dy))
        right = min(width, round(box.left + box.width + dx))
        bottom = min(height, round(box.top + box.height + dy))
        if right <= left or bottom <= top:
            summary.counts[name].small += 1
            continue
        crop = orient_array(pixels[top:bottom, left:right], orientation)
        image = Image.fromarray(to_uint8(crop), "RGB")
        save_image(target, image)
        summary.counts[name].written += 1
