"""Reading training images: any format PIL reads, EXIF orientation, 16-bit, any mode."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps

from egan_core.errors import InputError

#: File endings (lower case) treated as images when a folder is listed.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")

#: Decoders of crafted or damaged files raise far more than OSError (NotImplementedError,
#: struct.error, IndexError...): every one of them means "this file cannot be read".
_READ_ERRORS = (Exception,)


def is_image(path: Path) -> bool:
    """Whether ``path`` has an image file ending (case-insensitive)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def list_images(folders: Iterable[Path]) -> list[Path]:
    """Image files under ``folders`` (recursively, hidden files skipped), sorted, unique."""
    found: set[Path] = set()
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and is_image(path) and not path.name.startswith("."):
                found.add(path)
    return sorted(found)


def image_size(path: Path) -> tuple[int, int]:
    """``(height, width)`` of the stored pixels, from the header only (EXIF ignored).

    Raises:
        InputError: the file is not a readable image.
    """
    try:
        with Image.open(path) as im:
            width, height = im.size
    except _READ_ERRORS as exc:
        raise _unreadable(path, exc) from None
    return height, width


def read_image(path: Path | str) -> torch.Tensor:
    """Read an image file as a ``(3, H, W)`` float32 RGB tensor in [0, 1].

    EXIF orientation is applied; grayscale, palette, RGBA (alpha dropped), CMYK and
    16-bit files (grayscale and colour PNG/TIFF keep their full precision) all work.

    Raises:
        InputError: the file is missing, truncated or not an image; the message names it.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            deep_colour = im.mode in ("RGB", "RGBA") and any(
                ";16" in str(tile.args) for tile in (im.tile or [])
            )
            if deep_colour:
                array = _read_deep_colour(path, im)
            else:
                im.load()
                array = _to_array(ImageOps.exif_transpose(im))
    except InputError:
        raise
    except _READ_ERRORS as exc:
        raise _unreadable(path, exc) from None
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).contiguous()


def _to_array(im: Image.Image) -> np.ndarray:
    """HxWx3 float32 in [0, 1] of a loaded PIL image of any mode."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        gray = np.asarray(im).astype(np.float32)
        scale = 65535.0 if im.mode.startswith("I;16") or gray.max(initial=0) > 255 else 255.0
        gray = np.clip(gray / scale, 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if im.mode == "F":
        gray = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im, dtype=np.float32) / 255.0


def _read_deep_colour(path: Path, im: Image.Image) -> np.ndarray:
    """16-bit-per-channel colour, which PIL would truncate to 8 bits: read with OpenCV."""
    orientation = im.getexif().get(0x0112, 1)
    raw = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.ndim != 3:
        raise InputError(f"cannot read image '{path}': OpenCV could not decode it;"
                         " remove or replace the file")
    rgb = cv2.cvtColor(raw[:, :, :3], cv2.COLOR_BGR2RGB)
    array = rgb.astype(np.float32) / (65535.0 if rgb.dtype == np.uint16 else 255.0)
    return _orient(array, orientation)


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation tag (1-8) to an HxWxC array."""
    ops = {2: "h", 3: "r2", 4: "v", 5: "t", 6: "r3", 7: "tv", 8: "r1"}
    op = ops.get(int(orientation), "")
    if op == "h":
        return array[:, ::-1]
    if op == "v":
        return array[::-1]
    if op.startswith("r"):  # counter-clockwise quarter turns
        return np.rot90(array, int(op[1]))
    if op == "t":
        return array.transpose(1, 0, 2)
    if op == "tv":
        return np.rot90(array, 2).transpose(1, 0, 2)
    return array


def _unreadable(path: Path, exc: BaseException) -> InputError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InputError(f"cannot read image '{path}': {reason}; remove or replace the file")
