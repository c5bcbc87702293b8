"""Unreadable images are named with egan's reason; Pillow's restatements are left out."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from egan_core.errors import InputError
from egan_core.imageio import image_size, read_image


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "BMP"])
def test_a_truncated_image_ends_at_egans_words(tmp_path: Path, fmt: str) -> None:
    pixels = np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InputError) as err:
        read_image(path)
    assert str(err.value) == f"'{path}': corrupt or truncated image"


def test_a_header_that_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "junk.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")  # PIL: "Truncated File Read"
    with pytest.raises(InputError) as err:
        image_size(path)
    assert str(err.value) == f"'{path}': cannot read the image header"
