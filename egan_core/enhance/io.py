"""Reading and writing images: EXIF orientation, 16-bit precision, atomic writes.

Every image comes back as a ``(H, W, 3)`` float32 array in [0, 1] (RGB); every problem a
user can cause (missing, empty, corrupt, not an image, too large) is an
:class:`~egan_core.errors.InputError` naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from egan_core.checkpoint import atomic_write
from egan_core.errors import InputError

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

# EXIF orientation -> numpy transform of an (H, W, C) array (mirrors PIL's exif_transpose).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def format_of(path: str | Path) -> str | None:
    """The ``FORMATS`` key for a file's extension, or None for other extensions."""
    ext = Path(path).suffix.lower().lstrip(".")
    return ext if ext in FORMATS else None


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` float32 RGB in [0, 1], upright per its EXIF.

    16-bit PNG/TIFF keep their precision; grayscale, alpha, palette and CMYK images are
    converted to RGB (alpha is dropped).

    Raises:
        InputError: missing, empty, corrupt, not an image, or above PIL's pixel limit.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"'{path}': no such file")
    if path.stat().st_size == 0:
        raise InputError(f"'{path}': the file is empty (0 bytes)")
    try:
        with Image.open(path) as im:
            if _is_rgb16(im):
                return _read_rgb16(path, im)
            im.load()
            return pil_to_float(ImageOps.exif_transpose(im))
    except Image.DecompressionBombError as exc:
        raise InputError(f"'{path}': refused as a possible decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise InputError(f"'{path}': not an image (unknown or unsupported format)") from None
    except (OSError, SyntaxError, ValueError, cv2.error) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:160]
        raise InputError(f"'{path}': corrupt or truncated image ({first})") from None
    except InputError:
        raise
    except Exception as exc:  # decoders of crafted files raise anything (NotImplementedError...)
        first = (str(exc).splitlines() or [""])[0][:160]
        raise InputError(f"'{path}': corrupt or unsupported image ({type(exc).__name__}: {first})"
                         ) from None


def pil_to_float(im: Image.Image) -> np.ndarray:
    """A PIL image (any mode) as ``(H, W, 3)`` float32 RGB in [0, 1]."""
    if im.mode.startswith("I"):  # 16-bit (or 32-bit int) grayscale
        arr = np.clip(np.asarray(im).astype(np.float32) / 65535.0, 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2)
    if im.mode == "F":
        arr = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return np.repeat(arr[..., None], 3, axis=2)
    if im.mode in ("P", "PA", "LA"):  # via RGBA, so palette transparency is handled
        im = im.convert("RGBA")
    if im.mode != "RGB":
        im = im.convert("RGB")
    out = np.asarray(im).astype(np.float32)
    out /= 255.0  # in place: one float copy of a possibly huge image
    return out


def _is_rgb16(im: Image.Image) -> bool:
    """True for 16-bit-per-channel colour images, which PIL would reduce to 8 bits."""
    if im.mode not in ("RGB", "RGBA") or not im.tile:
        return False
    args = im.tile[0].args
    rawmode = args if isinstance(args, str) else (args[0] if args else "")
    return isinstance(rawmode, str) and ";16" in rawmode


def _read_rgb16(path: Path, im: Image.Image) -> np.ndarray:
    """Decode a 16-bit colour PNG/TIFF with OpenCV, then apply the EXIF orientation."""
    data = np.fromfile(str(path), dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3:
        raise InputError(f"'{path}': corrupt or truncated 16-bit image")
    arr = cv2.cvtColor(arr[..., :3], cv2.COLOR_BGR2RGB)
    scale = 65535.0 if arr.dtype == np.uint16 else 255.0
    return orient_array(arr.astype(np.float32) / scale, im.getexif().get(0x0112, 1))


def orient_array(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation value (1-8) to an ``(H, W, C)`` array."""
    fn = _ORIENT.get(orientation)
    return np.ascontiguousarray(fn(arr)) if fn else arr


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """[0, 1] float -> uint8 by clipping and rounding half up (the original truncated)."""
    out = np.clip(arr, 0.0, 1.0, dtype=np.float32)  # one temporary, then in place
    out *= 255.0
    out += 0.5
    return np.floor(out, out=out).astype(np.uint8)


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
    return atomic_write(path, lambda tmp: pil.save(tmp, format=pil_format, **options))
