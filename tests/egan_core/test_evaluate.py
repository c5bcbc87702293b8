"""``egan eval`` / ``egan compare`` and the modules behind them."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from egan_core.cli.main import cli
from egan_core.compare import CELL, compare, plan_methods, sheet_size
from egan_core.errors import UsageError
from egan_core.evaluate import evaluate


def _image(seed: int, size: tuple[int, int] = (144, 112)) -> np.ndarray:
    """A textured RGB uint8 image (h, w) big enough for NIQE."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = 120 + 60 * np.sin(xx / (5 + seed)) * np.cos(yy / 7) + rng.normal(0, 8, (h, w))
    rgb = np.stack([base, base * 0.9 + 10, base * 0.7 + 30], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """``enhanced/`` (a.png, b.png, c.png) and ``ref/`` (a.bmp, b.png; no c)."""
    enh, ref = tmp_path / "enhanced", tmp_path / "ref"
    for i, stem in enumerate("abc"):
        _save(enh / f"{stem}.png", _image(i))
    _save(ref / "a.bmp", _image(0))  # identical to a.png
    noisy = _image(1).astype(int) + np.random.default_rng(9).integers(-12, 13, (144, 112, 3))
    _save(ref / "b.png", np.clip(noisy, 0, 255).astype(np.uint8))
    return enh, ref


def _egan(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="egan")


# ---- egan_core.evaluate ------------------------------------------------------------------


def test_evaluate_matches_by_stem_and_fails_alone(folders: tuple[Path, Path]) -> None:
    enh, ref = folders
    (enh / "broken.png").write_bytes(b"not an image")
    report = evaluate([enh], ["psnr", "ssim", "niqe"], reference=ref)
    assert sorted(report.per_image) == ["a.png", "b.png"]
    assert report.per_image["a.png"]["psnr"] == math.inf
    assert report.per_image["a.png"]["ssim"] == pytest.approx(1.0)
    assert 20 < report.per_image["b.png"]["psnr"] < 40
    failed = {f.name: f.reason for f in report.failures}
    assert set(failed) == {"broken.png", "c.png"}
    assert "no reference image named 'c.*'" in failed["c.png"]
    assert report.mean["ssim"] == pytest.approx(np.mean([s["ssim"] for s in
                                                         report.per_image.values()]))


def test_evaluate_without_reference_is_a_usage_error(folders: tuple[Path, Path]) -> None:
    with pytest.raises(UsageError, match="--reference"):
        evaluate([folders[0]], ["niqe", "ssim"])


def test_niqe_needs_no_reference_and_y_channel_differs(folders: tuple[Path, Path]) -> None:
    enh, ref = folders
    report = evaluate([enh / "a.png", enh / "b.png"], ["niqe"])
    assert set(report.to_dict()) == {"per_image", "mean"}
    assert all(math.isfinite(s["niqe"]) for s in report.per_image.values())
    rgb = evaluate([enh / "b.png"], ["psnr"], reference=ref).per_image["b.png"]["psnr"]
    y = evaluate([enh / "b.png"], ["psnr"], reference=ref, channel="y").per_image["b.png"]["psnr"]
    assert rgb != pytest.approx(y)


# ---- egan eval ---------------------------------------------------------------------------


def test_eval_json_shape_as_subprocess(folders: tuple[Path, Path]) -> None:
    enh, ref = folders
    (enh / "c.png").unlink()
    done = subprocess.run(
        [sys.executable, "-m", "egan_core", "eval", str(enh), "--metric", "niqe",
         "--metric", "ssim", "--reference", str(ref), "--json"],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"per_image", "mean"}
    assert set(out["per_image"]) == {"a.png", "b.png"}
    assert all(set(v) == {"niqe", "ssim"} for v in out["per_image"].values())
    assert set(out["mean"]) == {"niqe", "ssim"}
    assert out["mean"]["ssim"] == pytest.approx(
        (out["per_image"]["a.png"]["ssim"] + out["per_image"]["b.png"]["ssim"]) / 2)


def test_eval_missing_reference_fails_that_image_exit_1(folders: tuple[Path, Path]) -> None:
    enh, ref = folders
    result = _egan("eval", str(enh), "--metric", "psnr", "--reference", str(ref), "--json")
    assert result.exit_code == 1
    assert set(json.loads(result.stdout)["per_image"]) == {"a.png", "b.png"}
    errors = result.stderr.strip().splitlines()
    assert errors[0].startswith("error: c.png: no reference image")
    assert errors[-1] == "error: 1 of 3 images failed (named above)"


def test_eval_psnr_without_reference_exit_2(folders: tuple[Path, Path]) -> None:
    result = _egan("eval", str(folders[0]), "--metric", "psnr")
    assert result.exit_code == 2
    assert "--reference" in result.stderr and "Traceback" not in result.output


def test_eval_table(folders: tuple[Path, Path]) -> None:
    enh, ref = folders
    result = _egan("eval", str(enh / "a.png"), "--metric", "psnr", "--reference", str(ref),
                   "--channel", "y")
    assert result.exit_code == 0, result.output
    assert "a.png" in result.stdout and "inf" in result.stdout and "mean" in result.stdout


# ---- egan compare ------------------------------------------------------------------------


class _Invert:
    def __call__(self, image: Image.Image) -> Image.Image:
        return Image.fromarray(255 - np.asarray(image))


def _fake_loader(names: Any, *, checkpoint: str | None = None, device: str = "auto") -> Any:
    assert checkpoint is None and device == "auto"
    return _Invert() if names == "invert" else (lambda im: im.transpose(Image.FLIP_LEFT_RIGHT))


def test_plan_methods_rules() -> None:
    takes = {"gan": True, "clahe": False, "denoise": False}.__getitem__
    assert [m.label for m in plan_methods(["clahe", "denoise"], [], takes)] == ["clahe", "denoise"]
    assert [(m.names, m.checkpoint) for m in plan_methods([], ["a.pth", "b.pth"], takes)] == [
        (("gan",), "a.pth"), (("gan",), "b.pth")]
    assert [m.label for m in plan_methods(["gan"], ["x/a.pth", "y/a.pth"], takes)] == [
        "gan:a", "gan:a#2"]
    mixed = plan_methods(["clahe", "gan+denoise", "gan"], ["a.pth", "b.pth"], takes)
    assert [(m.label, m.checkpoint) for m in mixed] == [
        ("clahe", None), ("gan+denoise:a", "a.pth"), ("gan:b", "b.pth")]
    with pytest.raises(UsageError, match="--checkpoint"):
        plan_methods(["clahe", "denoise"], ["a.pth"], takes)


def test_compare_writes_sheet_page_and_csv(tmp_path: Path) -> None:
    src = tmp_path / "in"
    _save(src / "one.png", _image(0, (120, 160)))
    _save(src / "two.png", _image(1, (200, 100)))
    (src / "bad.png").write_bytes(b"nope")
    result = compare(src, ["invert", "flip"], [], tmp_path / "out", loader=_fake_loader)
    out = tmp_path / "out"
    assert [m.label for m in result.methods] == ["invert", "flip"]
    assert [f.name for f in result.failures] == ["bad.png"]
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.size == sheet_size(2, 3) == (4 + 3 * (CELL + 4), 4 + 2 * (16 + CELL + 4))
    for sub in ("input", "invert", "flip"):
        for stem in ("one", "two"):
            with Image.open(out / "images" / sub / f"{stem}.png") as im:
                assert im.size == ((160, 120) if stem == "one" else (100, 200))
    page = (out / "index.html").read_text()
    assert "images/flip/two.png" in page and "contact_sheet.png" in page
    rows = list(csv.reader((out / "metrics.csv").open()))
    assert rows[0] == ["image", "input", "invert", "flip"]
    assert [r[0] for r in rows[1:]] == ["one.png", "two.png", "mean"]
    assert all(float(v) > 0 for r in rows[1:] for v in r[1:])


def test_compare_cli_with_clahe(tmp_path: Path) -> None:
    from egan_core.plugins import get_registries

    if "clahe" not in [e.name for e in get_registries().enhancers]:
        pytest.skip("the clahe enhancer is not registered")
    _save(tmp_path / "in" / "x.png", _image(2, (100, 130)))
    result = _egan("compare", str(tmp_path / "in"), "--enhancer", "clahe",
                   "--out", str(tmp_path / "out"), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "x.png" in result.stdout
    for name in ("contact_sheet.png", "index.html", "metrics.csv", "images/clahe/x.png"):
        assert (tmp_path / "out" / name).is_file()
    with Image.open(tmp_path / "out" / "contact_sheet.png") as sheet:
        assert sheet.size == sheet_size(1, 2)
