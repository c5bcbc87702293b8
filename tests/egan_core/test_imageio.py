"""The one image reader: EXIF orientation honoured by every entry point.

Each entry point gets the same files: stored pixels plus an EXIF orientation tag (6: turned
90 degrees clockwise, 2: mirrored), and must see the upright picture PIL's
``ImageOps.exif_transpose`` shows: ``egan eval``, ``egan compare``, ``egan enhance``, the
Python API on a ``PIL.Image`` and the training datasets.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

import egan_core
from egan_core.imageio import IMAGE_EXTENSIONS, read_image, read_image_uint8
from egan_plugins.data.io import read_image as read_for_training
from egan_plugins.data.paired import PairedDataset

#: orientation tag -> file stem
TAGS = {6: "rot6", 2: "flip2"}


def _stored(seed: int = 0, height: int = 40, width: int = 56) -> np.ndarray:
    """A textured image whose every turn and mirror differs (uint8, H != W)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx * 3, yy * 4, (xx + 2 * yy) * 1.5], axis=2) + 20
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


def _save_tagged(path: Path, pixels: np.ndarray, orientation: int) -> Path:
    """Write ``pixels`` as stored with an EXIF orientation tag (PIL's ``Image.Exif``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif)
    return path


def _upright(path: Path) -> np.ndarray:
    """What a photo viewer shows: PIL's own EXIF transpose (independent of egan's table)."""
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


def _tagged_folder(folder: Path) -> dict[str, np.ndarray]:
    """One file per tag in ``folder``; returns stem -> upright pixels."""
    upright = {}
    for orientation, stem in TAGS.items():
        path = _save_tagged(folder / f"{stem}.png", _stored(orientation), orientation)
        upright[stem] = _upright(path)
        assert not np.array_equal(upright[stem], _stored(orientation)[: upright[stem].shape[0]])
    return upright


def _egan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "egan_core", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _clahe(pixels: np.ndarray) -> np.ndarray:
    return egan_core.load_enhancer("clahe", device="cpu")(pixels)


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_reader_matches_pil_for_every_orientation(tmp_path: Path, orientation: int) -> None:
    path = _save_tagged(tmp_path / "x.png", _stored(), orientation)
    assert np.array_equal(read_image_uint8(path), _upright(path))
    assert read_image(path).dtype == np.float32


def test_one_extension_list_everywhere() -> None:
    from egan_core import evaluate, exdark
    from egan_core.enhance import files
    from egan_plugins.data import io

    assert evaluate.IMAGE_EXTENSIONS is IMAGE_EXTENSIONS
    assert exdark.IMAGE_EXTENSIONS is IMAGE_EXTENSIONS
    assert files.IMAGE_EXTENSIONS is IMAGE_EXTENSIONS
    assert io.IMAGE_EXTENSIONS is IMAGE_EXTENSIONS


def test_eval_honours_exif(tmp_path: Path) -> None:
    upright = _tagged_folder(tmp_path / "enhanced")
    for stem, pixels in upright.items():  # the ground truth is stored upright, untagged
        (tmp_path / "ref").mkdir(exist_ok=True)
        Image.fromarray(pixels).save(tmp_path / "ref" / f"{stem}.png")
    done = _egan("eval", "enhanced", "--metric", "psnr", "--reference", "ref", "--json",
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)["per_image"]
    assert scores == {"rot6.png": {"psnr": float("inf")}, "flip2.png": {"psnr": float("inf")}}


def test_compare_honours_exif(tmp_path: Path) -> None:
    upright = _tagged_folder(tmp_path / "in")
    done = _egan("compare", "in", "--enhancer", "clahe", "--out", "out", "--device", "cpu",
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for stem, pixels in upright.items():
        assert np.array_equal(_png(tmp_path / "out" / "images" / "input" / f"{stem}.png"), pixels)
        assert np.array_equal(_png(tmp_path / "out" / "images" / "clahe" / f"{stem}.png"),
                              _clahe(pixels))


def test_enhance_honours_exif(tmp_path: Path) -> None:
    upright = _tagged_folder(tmp_path / "in")
    done = _egan("enhance", "in", "--out", "out", "--enhancer", "clahe", "--device", "cpu",
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for stem, pixels in upright.items():
        assert np.array_equal(_png(tmp_path / "out" / f"{stem}.png"), _clahe(pixels))


def test_api_honours_exif_of_a_pil_image(tmp_path: Path) -> None:
    upright = _tagged_folder(tmp_path)
    enhance = egan_core.load_enhancer("clahe", device="cpu")
    for stem, pixels in upright.items():
        with Image.open(tmp_path / f"{stem}.png") as photo:
            out = enhance(photo)
        assert out.size == (pixels.shape[1], pixels.shape[0])  # the upright size
        assert np.array_equal(np.asarray(out), _clahe(pixels))
        # an image the caller already turned upright is not turned again
        with Image.open(tmp_path / f"{stem}.png") as photo:
            assert np.array_equal(np.asarray(enhance(ImageOps.exif_transpose(photo))),
                                  _clahe(pixels))


def test_training_reads_honour_exif(tmp_path: Path) -> None:
    upright = _tagged_folder(tmp_path / "data" / "low")
    _tagged_folder(tmp_path / "data" / "high")
    dataset = PairedDataset(root=str(tmp_path / "data"), size=None, flip=False)
    for i, (low_path, _) in enumerate(dataset.pairs):
        pixels = upright[low_path.stem]
        expected = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255
        assert torch.allclose(read_for_training(low_path), expected, atol=1e-6)
        item = dataset[i]
        assert torch.allclose((item["input"] + 1) / 2, expected, atol=1e-5)
        assert torch.allclose((item["normal"] + 1) / 2, expected, atol=1e-5)


def test_pillows_decompression_bomb_warning_becomes_one_line_of_egans(tmp_path: Path) -> None:
    """Between Pillow's pixel limit and twice it Pillow only warns, in its own words and
    without the file's name; egan says it in one line naming the file, and reads the image.
    The limit is lowered here (in a subprocess) so that a small image crosses it."""
    path = tmp_path / "huge.png"
    Image.fromarray(_stored(height=60, width=60)).save(path)
    code = ("import warnings; warnings.simplefilter('default')\n"
            "from PIL import Image; Image.MAX_IMAGE_PIXELS = 2000\n"
            "from egan_core.imageio import read_image\n"
            f"print(read_image({str(path)!r}).shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "(60, 60, 3)"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("notice: '") and "huge.png" in lines[0] and "decompression" in lines[0]
    assert "DecompressionBombWarning" not in done.stderr
