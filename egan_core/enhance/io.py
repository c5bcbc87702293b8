"""Reading and writing images for ``egan enhance``: atomic writes in the ``--format`` asked.

Reading is egan's one image reader, :mod:`egan_core.imageio` (EXIF orientation, 16-bit
precision, one-line :class:`~egan_core.errors.InputError`), re-exported here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from egan_core.fileio import save_image
from egan_core.imageio import orient_array, pil_to_float, read_image, read_pil, to_uint8

__all__ = ["FORMATS", "QUALITY", "format_of", "orient_array", "pil_to_float", "read_image",
           "read_pil", "to_uint8", "write_image"]

#: Output formats by ``--format`` name: (PIL format, file extension).
FORMATS: dict[str, tuple[str, str]] = {
    "png": ("PNG", ".png"),
    "jpg": ("JPEG", ".jpg"),
    "jpeg": ("JPEG", ".jpeg"),
    "webp": ("WEBP", ".webp"),
    "tiff": ("TIFF", ".tiff"),
    "tif": ("TIFF", ".tif"),
    "bmp": ("BMP", ".bmp"),
}
#: Lossy formats get this quality (PIL's ``quality`` option).
QUALITY = 95


def format_of(path: str | Path) -> str | None:
    """The ``FORMATS`` key for a file's extension, or None for other extensions."""
    ext = Path(path).suffix.lower().lstrip(".")
    return ext if ext in FORMATS else None


def write_image(path: str | Path, image: np.ndarray, fmt: str | None = None) -> Path:
    """Write an ``(H, W, 3)`` uint8 RGB array atomically (temp file + rename).

    Args:
        path: target file.
        image: uint8 RGB pixels (float arrays are rounded with :func:`to_uint8`).
        fmt: a ``FORMATS`` key; default: from the extension, PNG when unknown.
    """
    if image.dtype != np.uint8:
        image = to_uint8(image)
    pil_format = FORMATS[fmt or format_of(path) or "png"][0]
    options = {"quality": QUALITY} if pil_format in ("JPEG", "WEBP") else {}
    pil = Image.fromarray(image, "RGB")
    return save_image(path, pil, pil_format, **options)
