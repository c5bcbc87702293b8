"""A folder of odd and broken photos: each one enhances, or fails alone, named, with a reason.

The run always goes on to the next file; the exit status is 1 with a summary count when
anything failed. Checked with the CLAHE enhancer and a tiny GAN (attention_unet at base
width 4), both through ``egan enhance`` in subprocesses, as users run it.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

#: Files that must enhance: name -> (width, height) of the output.
GOOD: dict[str, tuple[int, int]] = {
    "gray.png": (28, 20), "cmyk.jpg": (28, 20), "rgba.png": (28, 20), "palette.png": (28, 20),
    "gray16.png": (28, 20), "rgb16.png": (28, 20), "rgb16.tiff": (28, 20), "one_pixel.png": (1, 1),
    "two_by_three.png": (2, 3), "exif_rotated.jpg": (20, 28),
}
#: Files that must fail alone: name -> words the reason must hold.
BAD: dict[str, tuple[str, ...]] = {
    "corrupt.png": ("not an image",),
    "half.jpg": ("truncated",),
    "half.png": ("truncated",),
    "empty.png": ("empty",),
    "text.jpg": ("not an image",),
    "bomb.png": ("decompression bomb",),
    "exotic.png": ("corrupt",),  # a DDS file with unknown flags: PIL raised NotImplementedError
}


def _bytes(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **options)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A ~1 kB PNG whose header claims ``width`` x ``height`` RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\0" * (1 << 20), 9)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))


def broken_dds(rgb: Image.Image) -> bytes:
    """A DDS file whose pixel format flags no decoder knows."""
    data = bytearray(_bytes(rgb, "DDS"))
    data[80:84] = struct.pack("<I", 0x200000)  # DDS_PIXELFORMAT.dwFlags
    return bytes(data)


def make_folder(folder: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = (rng.random((20, 28, 3)) * 255).astype(np.uint8)
    rgb = Image.fromarray(pixels)
    folder.mkdir(parents=True)
    jpeg, png = _bytes(rgb, "JPEG"), _bytes(rgb, "PNG")
    files = {
        "corrupt.png": b"\x89PNG\r\n\x1a\n" + rng.bytes(300),
        "half.jpg": jpeg[: len(jpeg) // 2],
        "half.png": png[: len(png) // 2],
        "empty.png": b"",
        "text.jpg": b"this is a text file, not a photo\n",
        "bomb.png": bomb_png(),
        "exotic.png": broken_dds(rgb),
        "gray.png": _bytes(rgb.convert("L"), "PNG"),
        "cmyk.jpg": _bytes(rgb.convert("CMYK"), "JPEG"),
        "rgba.png": _bytes(rgb.convert("RGBA"), "PNG"),
        "palette.png": _bytes(rgb.convert("P"), "PNG"),
        "gray16.png": _bytes(Image.fromarray((rng.random((20, 28)) * 65535).astype(np.uint16)), "PNG"),
        "one_pixel.png": _bytes(Image.new("RGB", (1, 1), (9, 8, 7)), "PNG"),
        "two_by_three.png": _bytes(Image.fromarray(pixels[:3, :2]), "PNG"),
    }
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: stored 28x20, shown 20x28
    files["exif_rotated.jpg"] = _bytes(rgb, "JPEG", exif=exif.tobytes())
    deep = (rng.random((20, 28, 3)) * 65535).astype(np.uint16)
    for name, ext in (("rgb16.png", ".png"), ("rgb16.tiff", ".tiff")):
        ok, encoded = cv2.imencode(ext, deep)
        assert ok
        files[name] = encoded.tobytes()
    assert set(files) == set(GOOD) | set(BAD)
    for name, content in files.items():
        (folder / name).write_bytes(content)


def test_the_crafted_files_are_what_they_claim(tmp_path: Path) -> None:
    make_folder(tmp_path / "in")
    with Image.open(tmp_path / "in" / "cmyk.jpg") as im:
        assert im.mode == "CMYK"
    with Image.open(tmp_path / "in" / "gray16.png") as im:
        assert im.mode.startswith("I")
    assert cv2.imread(str(tmp_path / "in" / "rgb16.tiff"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    assert (tmp_path / "in" / "bomb.png").stat().st_size < 4096


def _check(done: Any, out: Path, source: Path) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    errors = done.error_lines()
    summary = errors[-1]
    assert re.match(rf"error: {len(BAD)} of {len(GOOD) + len(BAD)} failed\b", summary), summary
    per_file = errors[:-1]
    assert len(per_file) == len(BAD), done.stderr
    for name, words in BAD.items():
        (line,) = [line for line in per_file if f"{name}'" in line]
        assert all(w in line for w in words), line
        assert not (out / name).exists()
    assert f"wrote {len(GOOD)} file(s)" in done.stdout
    for name, size in GOOD.items():
        with Image.open(out / name) as im:
            assert im.size == size, name
            assert im.mode == "RGB"
            im.load()
    assert {p.name for p in out.iterdir()} == set(GOOD)  # no temp files left behind
    assert sorted(p.name for p in source.iterdir()) == sorted(set(GOOD) | set(BAD))


def test_each_bad_file_fails_alone_and_the_rest_is_enhanced(tmp_path: Path, egan_many: Any,
                                                            tiny_checkpoint: Path) -> None:
    source = tmp_path / "in"
    make_folder(source)
    clahe, gan = egan_many([
        ("enhance", source, "--out", tmp_path / "clahe", "--enhancer", "clahe"),
        ("enhance", source, "--out", tmp_path / "gan", "--checkpoint", tiny_checkpoint, "--batch-size", "3"),
    ])
    _check(clahe, tmp_path / "clahe", source)
    _check(gan, tmp_path / "gan", source)


def test_error_lines_stay_single_lines_for_names_with_newlines(tmp_path: Path) -> None:
    import subprocess
    import sys

    src = tmp_path / "in"
    src.mkdir()
    (src / "bad\nname.png").write_bytes(b"not an image at all")
    (src / "fine.png").write_bytes(_bytes(Image.new("RGB", (40, 30), (20, 30, 40)), "PNG"))
    proc = subprocess.run([sys.executable, "-m", "egan_core", "enhance", str(src), "--out",
                           str(tmp_path / "out"), "--enhancer", "clahe"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines and all(line.startswith("error:") for line in lines), proc.stderr
    assert any("bad\\nname.png" in line for line in lines)
    assert (tmp_path / "out" / "fine.png").is_file()
