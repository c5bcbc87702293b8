"""Reading and writing images: formats, EXIF, 16-bit, odd modes, corrupt files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from egan_core.enhance import io
from egan_core.errors import InputError


@pytest.mark.parametrize("ext", ["png", "bmp", "tiff", "webp", "jpg"])
def test_formats_read_as_float_rgb(write_image, dark, ext: str) -> None:
    array = dark()
    options = {"lossless": True} if ext == "webp" else {}
    path = write_image(f"a.{ext}", array, **options)
    out = io.read_image(path)
    assert out.dtype == np.float32 and out.shape == (48, 64, 3)
    assert 0.0 <= out.min() and out.max() <= 1.0
    if ext == "jpg":  # lossy: compare with PIL's own decoding
        array = np.asarray(Image.open(path).convert("RGB"))
    assert np.abs(out * 255 - array).max() < 1e-3


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation(tmp_path: Path, dark, orientation: int) -> None:
    array = dark(30, 50)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    Image.fromarray(array).save(path, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    assert np.array_equal(io.to_uint8(io.read_image(path)), expected)
    assert np.array_equal(io.orient_array(array, orientation), expected)
    if orientation in (5, 6, 7, 8):
        assert expected.shape[:2] == (50, 30)


def _png_with_exif(png: bytes, orientation: int) -> bytes:
    """Insert an eXIf chunk (orientation) after IHDR of an encoded PNG."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()
    chunk = struct.pack(">I", len(data)) + b"eXIf" + data
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + data) & 0xFFFFFFFF)
    end_of_ihdr = 8 + 4 + 4 + 13 + 4
    return png[:end_of_ihdr] + chunk + png[end_of_ihdr:]


def test_16bit_rgb_keeps_precision_and_orientation(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 65536, (20, 30, 3), dtype=np.uint16)
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    for ext in ("png", "tif"):
        cv2.imwrite(str(tmp_path / f"c.{ext}"), bgr)
        out = io.read_image(tmp_path / f"c.{ext}")
        assert np.abs(out * 65535 - rgb).max() < 0.05  # no 8-bit truncation
    ok, png = cv2.imencode(".png", bgr)
    (tmp_path / "rot.png").write_bytes(_png_with_exif(png.tobytes(), 6))
    rotated = io.read_image(tmp_path / "rot.png")
    assert np.allclose(rotated, np.rot90(rgb, -1) / 65535.0, atol=1e-6)


def test_16bit_gray(tmp_path: Path) -> None:
    gray = np.arange(0, 65535, 97, dtype=np.uint16)[:600].reshape(20, 30)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    out = io.read_image(tmp_path / "g.png")
    assert out.shape == (20, 30, 3)
    assert np.allclose(out[..., 1], gray / 65535.0, atol=1e-6)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "1", "I;16", "F"])
def test_modes_become_rgb(tmp_path: Path, dark, mode: str) -> None:
    if mode == "I;16":
        image = Image.fromarray(dark()[..., 0].astype(np.uint16) * 257)
    else:
        image = Image.fromarray(dark()).convert(mode if mode != "F" else "L").convert(mode)
    ext = "tiff" if mode in ("CMYK", "F") else "png"
    path = tmp_path / f"m.{ext}"
    image.save(path)
    out = io.read_image(path)
    assert out.shape == (48, 64, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_corrupt_empty_and_foreign_files(tmp_path: Path, write_image) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("not an image at all")
    good = write_image("good.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(good[: len(good) // 3])
    for name, reason in [("empty.png", "empty"), ("notes.png", "not an image"),
                         ("cut.jpg", "corrupt"), ("gone.png", "no such file")]:
        with pytest.raises(InputError, match=reason) as err:
            io.read_image(tmp_path / name)
        assert name in str(err.value)


def test_decompression_bomb_is_an_input_error(write_image, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_image("big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(InputError, match="decompression bomb"):
        io.read_image(path)


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp", "tiff", "bmp"])
def test_write_is_atomic_and_readable(tmp_path: Path, dark, fmt: str) -> None:
    array = dark()
    target = tmp_path / "out" / f"x{io.FORMATS[fmt][1]}"
    io.write_image(target, array, fmt)
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temp file left
    back = np.asarray(Image.open(target).convert("RGB")).astype(int)
    assert back.shape == array.shape
    if fmt in ("png", "tiff", "bmp"):
        assert np.array_equal(back, array)
    else:  # lossy, at quality 95
        assert np.abs(back - array).mean() < 8


def test_to_uint8_rounds() -> None:
    values = np.array([0.0, 0.5 / 255, 1.49 / 255, 1.51 / 255, 0.999, 1.5, -0.2], np.float32)
    assert io.to_uint8(values).tolist() == [0, 1, 1, 2, 255, 255, 0]
