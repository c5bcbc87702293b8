"""The one image reader of egan: every command, the Python API and training read through it.

Images come back as ``(H, W, 3)`` float32 RGB arrays in [0, 1], upright per their EXIF
orientation (as photo viewers show them), with 16-bit PNG/TIFF precision kept. Every
problem a user can cause (missing, empty, corrupt, not an image, too large) is an
:class:`~egan_core.errors.InputError` naming the file and the reason. This module holds
the one EXIF orientation table and the one list of image file extensions; it needs only
numpy and PIL (OpenCV only for 16-bit colour).
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from egan_core.errors import InputError

#: File endings (lower case) treated as images when a folder or glob is listed.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".bmp", ".gif", ".jpeg", ".jpg", ".pgm", ".png", ".pnm", ".ppm", ".tif", ".tiff", ".webp"}
)

#: Pillow's wordings that only restate "corrupt or truncated" ("image file is truncated (76
#: bytes not processed)", "broken data stream when reading image file"): left out of messages.
PIL_NOISE = re.compile(r"truncated|bytes not processed|when reading image file", re.IGNORECASE)

#: The EXIF tag holding the orientation (1-8).
ORIENTATION_TAG = 0x0112

#: EXIF orientation -> transform of an ``(H, W, C)`` array into the upright image (the
#: same as PIL's ``ImageOps.exif_transpose``); 1 and unknown values mean "as stored".
EXIF_ORIENTATION: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def is_image(path: str | Path) -> bool:
    """Whether ``path`` has an image file ending (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def orient_array(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation value (1-8) to an ``(H, W, C)`` array (contiguous result)."""
    fn = EXIF_ORIENTATION.get(orientation)
    return np.ascontiguousarray(fn(array)) if fn else array


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation of an opened PIL image; 1 when absent or unreadable."""
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
        return int(value) if int(value) in EXIF_ORIENTATION else 1
    except Exception:  # a damaged EXIF block must not make the pixels unreadable
        return 1


def pil_to_float(image: Image.Image) -> np.ndarray:
    """A PIL image (any mode) as stored: ``(H, W, 3)`` float32 RGB in [0, 1], no EXIF applied."""
    if image.mode.startswith("I"):  # 16-bit (or 32-bit int) grayscale
        arr = np.clip(np.asarray(image).astype(np.float32) / 65535.0, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2)
    if image.mode == "F":
        arr = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2)
    if image.mode in ("P", "PA", "LA"):  # via RGBA, so palette transparency is handled
        image = image.convert("RGBA")
    if image.mode != "RGB":
        image = image.convert("RGB")
    out = np.asarray(image).astype(np.float32)
    out /= 255.0  # in place: one float copy of a possibly huge image
    return out


def read_pil(image: Image.Image) -> np.ndarray:
    """An opened PIL image as ``(H, W, 3)`` float32 RGB in [0, 1], upright per its EXIF.

    What the Python API does with a ``PIL.Image`` (``Image.open`` keeps the stored pixels
    and the orientation tag; ``ImageOps.exif_transpose`` drops the tag, so no image is
    turned twice).
    """
    return orient_array(pil_to_float(image), exif_orientation(image))


def read_raw(path: str | Path) -> tuple[np.ndarray, int]:
    """The stored pixels of an image file (float32 RGB in [0, 1]) and its EXIF orientation.

    For tools that work in the stored frame (annotation boxes); everything else wants
    :func:`read_image`.

    Raises:
        InputError: missing, empty, corrupt, not an image, or above PIL's pixel limit.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"'{path}': no such file")
    if path.stat().st_size == 0:
        raise InputError(f"'{path}': the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings(record=True) as caught, Image.open(path) as im:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            deep = _is_rgb16(im)  # before anything loads the pixels, which drops im.tile
            orientation = exif_orientation(im)
            if deep:
                pixels = _read_rgb16(path)
            else:
                im.load()
                pixels = pil_to_float(im)
        _pass_on(caught, path)
        return pixels, orientation
    except Image.DecompressionBombError as exc:
        raise InputError(f"'{path}': refused as a possible decompression bomb ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"'{path}': not an image (unknown or unsupported format)") from exc
    except InputError:
        raise
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"'{path}': corrupt or truncated image{_detail(exc)}") from exc
    except Exception as exc:  # decoders of crafted files raise anything (NotImplementedError...)
        first = (str(exc).splitlines() or [""])[0][:160]
        raise InputError(f"'{path}': corrupt or unsupported image ({type(exc).__name__}: {first})"
                         ) from exc


def _pass_on(caught: list[warnings.WarningMessage], path: Path) -> None:
    """Re-issue what reading ``path`` warned of, Pillow's decompression-bomb warning as one
    line of egan's own (Pillow's names no file and reads as an attack)."""
    for w in caught:
        if issubclass(w.category, Image.DecompressionBombWarning):
            limit = (Image.MAX_IMAGE_PIXELS or 0) / 1e6
            print(f"notice: '{path}' is larger than {limit:.0f} MP, where Pillow warns of "
                  f"decompression bombs; read anyway (refused from {2 * limit:.0f} MP)",
                  file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` float32 RGB in [0, 1], upright per its EXIF.

    16-bit PNG/TIFF keep their precision; grayscale, alpha, palette and CMYK images are
    converted to RGB (alpha is dropped).

    Raises:
        InputError: missing, empty, corrupt, not an image, or above PIL's pixel limit.
    """
    return orient_array(*read_raw(path))


def read_image_uint8(path: str | Path) -> np.ndarray:
    """:func:`read_image` as ``(H, W, 3)`` uint8 (rounded), for 8-bit metrics and pages."""
    return to_uint8(read_image(path))


def image_size(path: str | Path) -> tuple[int, int]:
    """``(height, width)`` of the stored pixels, from the header only (EXIF ignored).

    Raises:
        InputError: the file is not a readable image.
    """
    try:
        with Image.open(path) as im:
            width, height = im.size
    except Exception as exc:
        raise InputError(f"'{path}': cannot read the image header{_detail(exc)}") from exc
    return height, width


def to_uint8(array: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8 by clipping and rounding half up (the original truncated)."""
    out = np.clip(array, 0.0, 1.0, dtype=np.float32)  # one temporary, then in place
    out *= 255.0
    out += 0.5
    return np.floor(out, out=out).astype(np.uint8)


def _detail(exc: BaseException) -> str:
    """`` (Pillow's reason)`` to append to egan's message; empty when Pillow's text adds
    nothing a user can act on (see :data:`PIL_NOISE`)."""
    lines = str(exc).splitlines()
    first = lines[0].strip()[:160] if lines else ""
    if PIL_NOISE.search(first):
        return ""
    return f" ({first or type(exc).__name__})"


def _is_rgb16(im: Image.Image) -> bool:
    """True for 16-bit-per-channel colour images, which PIL would reduce to 8 bits."""
    if im.mode not in ("RGB", "RGBA") or not im.tile:
        return False
    args = im.tile[0].args
    rawmode = args if isinstance(args, str) else (args[0] if args else "")
    return isinstance(rawmode, str) and ";16" in rawmode


def _read_rgb16(path: Path) -> np.ndarray:
    """Decode a 16-bit colour PNG/TIFF with OpenCV (stored frame: no EXIF applied)."""
    import cv2

    arr = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3:
        raise InputError(f"'{path}': corrupt or truncated 16-bit image")
    arr = cv2.cvtColor(arr[..., :3], cv2.COLOR_BGR2RGB)
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    return arr.astype(np.float32) / scale
