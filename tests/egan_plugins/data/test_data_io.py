"""Reading images: modes, bit depths, EXIF orientation, corrupt files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from egan_core.errors import InputError
from egan_plugins.data.io import list_images, read_image


def test_rgb_png_is_float_in_unit_range(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    path = write_image(tmp_path / "a.png", 30, 20)
    img = read_image(path)
    assert img.shape == (3, 20, 30) and img.dtype == torch.float32
    expected = np.asarray(Image.open(path), dtype=np.float32) / 255
    assert torch.allclose(img, torch.from_numpy(expected).permute(2, 0, 1))


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "1"])
def test_any_mode_becomes_rgb(tmp_path: Path, mode: str, write_image: Callable[..., Path]) -> None:
    fmt, suffix = ("JPEG", ".jpg") if mode == "CMYK" else ("PNG", ".png")
    img = read_image(write_image(tmp_path / f"x{suffix}", 16, 12, mode=mode, fmt=fmt))
    assert img.shape == (3, 12, 16)
    assert 0.0 <= img.min() and img.max() <= 1.0
    if mode in ("L", "LA", "1"):
        assert torch.equal(img[0], img[1]) and torch.equal(img[1], img[2])


def test_16bit_grayscale_png_keeps_precision(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    values = (np.arange(12 * 16).reshape(12, 16) * 331).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    img = read_image(tmp_path / "g16.png")
    assert img.shape == (3, 12, 16)
    assert torch.allclose(img[1], torch.from_numpy(values / 65535.0).float(), atol=1e-6)


def test_16bit_colour_png_keeps_precision(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    rgb = np.random.default_rng(0).integers(0, 65536, (10, 14, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), rgb[:, :, ::-1])  # OpenCV writes BGR
    img = read_image(tmp_path / "c16.png")
    assert torch.allclose(img.permute(1, 2, 0), torch.from_numpy(rgb / 65535.0).float(),
                          atol=1e-6)


def test_exif_orientation_is_applied(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    array = np.zeros((20, 40, 3), np.uint8)
    array[:, :20] = (255, 0, 0)  # stored left half red, right half blue
    array[:, 20:] = (0, 0, 255)
    im = Image.fromarray(array)
    exif = im.getexif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    im.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    img = read_image(tmp_path / "rot.jpg")
    assert img.shape == (3, 40, 20)  # portrait once oriented
    top, bottom = img[:, :18].mean((1, 2)), img[:, 22:].mean((1, 2))
    assert top[0] > 0.8 and top[2] < 0.2  # the red half is now on top
    assert bottom[2] > 0.8 and bottom[0] < 0.2


def test_corrupt_file_names_the_file(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image at all")
    with pytest.raises(InputError, match="broken.jpg"):
        read_image(bad)
    good = write_image(tmp_path / "trunc.jpg", 64, 64, fmt="JPEG")
    good.write_bytes(good.read_bytes()[:200])
    with pytest.raises(InputError, match="trunc.jpg"):
        read_image(good)


def test_list_images_recursive_and_filtered(tmp_path: Path, write_image: Callable[..., Path]) -> None:
    write_image(tmp_path / "b" / "one.PNG")
    write_image(tmp_path / "a.jpg")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / ".hidden.png").write_bytes(b"")
    names = [p.name for p in list_images([tmp_path])]
    assert names == ["a.jpg", "one.PNG"]
