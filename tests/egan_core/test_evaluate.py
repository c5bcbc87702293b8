"""``egan eval`` / ``egan compare`` and the modules behind them."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from egan_core import load_enhancer
from egan_core.cli.main import cli
from egan_core.compare import CELL, compare, plan_methods, sheet_size
from egan_core.errors import UsageError
from egan_core.evaluate import evaluate
from egan_core.testing import save_tiny_checkpoint


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
    assert set(report.to_dict()) == {"per_image", "mean", "mean_per_input"}
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
    assert set(out) == {"per_image", "mean", "mean_per_input"}
    assert out["mean_per_input"] == {str(enh): out["mean"]}
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


def test_eval_of_two_folders_reports_a_mean_per_folder(tmp_path: Path) -> None:
    """``egan eval before/ after/`` compares the folders: one mean each, and the overall one."""
    dark, bright = tmp_path / "before", tmp_path / "after"
    for i in range(2):
        _save(dark / f"{i}.png", (_image(i) * 0.2).astype(np.uint8))
        _save(bright / f"{i}.png", _image(i + 5))
    report = evaluate([dark, bright], ["brightness"])
    per = report.mean_per_input
    assert list(per) == [str(dark), str(bright)]
    assert per[str(dark)]["brightness"] < 0.2 < per[str(bright)]["brightness"]
    overall = report.mean["brightness"]
    assert overall == pytest.approx((per[str(dark)]["brightness"] + per[str(bright)]["brightness"]) / 2)
    table = _egan("eval", str(dark), str(bright), "--metric", "brightness")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert any("mean of before" in line for line in lines)
    assert any("mean of after" in line for line in lines)
    assert any("mean of all" in line for line in lines)


# ---- egan compare ------------------------------------------------------------------------


def test_plan_methods_rules() -> None:
    assert [m.label for m in plan_methods(["clahe", "denoise"], [])] == ["clahe", "denoise"]
    assert [(m.names, m.checkpoint) for m in plan_methods([], ["a.pth", "b.pth"])] == [
        (("gan",), "a.pth"), (("gan",), "b.pth")]
    assert [m.label for m in plan_methods(["gan"], ["x/a.pth", "y/a.pth"])] == [
        "gan", "gan:a", "gan:a#2"]
    # enhancers and checkpoints are columns of their own, whatever their counts
    mixed = plan_methods(["clahe", "gan+denoise:h=8", "clahe:clip_limit=1e+1"], ["a.pth", "b.pth"])
    assert [(m.label, m.names, m.checkpoint) for m in mixed] == [
        ("clahe", ("clahe",), None), ("gan+denoise:h=8", ("gan", "denoise:h=8"), None),
        ("clahe:clip_limit=1e+1", ("clahe:clip_limit=1e+1",), None),
        ("gan:a", ("gan",), "a.pth"), ("gan:b", ("gan",), "b.pth")]
    with pytest.raises(UsageError, match="nothing to compare"):
        plan_methods([], [])
    with pytest.raises(UsageError, match="empty --enhancer"):
        plan_methods(["gan+"], [])


def test_compare_writes_sheet_page_and_csv(tmp_path: Path) -> None:
    src = tmp_path / "in"
    _save(src / "one.png", _image(0, (120, 160)))
    _save(src / "two.png", _image(1, (200, 100)))
    (src / "bad.png").write_bytes(b"nope")
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pt", seed=1)
    chain = f"gan:checkpoint={ckpt}+denoise:h=4"
    result = compare(src, ["clahe:clip_limit=4", chain], [], tmp_path / "out", device="cpu")
    out = tmp_path / "out"
    assert [m.label for m in result.methods] == ["clahe:clip_limit=4", chain]
    assert [f.name for f in result.failures] == ["bad.png"]
    with Image.open(out / "contact_sheet.png") as sheet:
        assert sheet.size == sheet_size(2, 3) == (4 + 3 * (CELL + 4), 4 + 2 * (16 + CELL + 4))
    folders = {"input": "input", "clahe": "clahe_clip_limit_4", "chain": result.methods[1].slug}
    for sub in folders.values():
        for stem in ("one", "two"):
            with Image.open(out / "images" / sub / f"{stem}.png") as im:
                assert im.size == ((160, 120) if stem == "one" else (100, 200))
    # the real enhancers ran, each with its own options
    one = _image(0, (120, 160))
    with Image.open(out / "images" / folders["clahe"] / "one.png") as im:
        assert np.array_equal(np.asarray(im), load_enhancer("clahe", clip_limit=4.0,
                                                            device="cpu")(one))
    with Image.open(out / "images" / folders["chain"] / "one.png") as im:
        expected = load_enhancer(["gan", "denoise"], checkpoint=ckpt, h=4.0, device="cpu",
                                 precision="fp32")(one)
        assert _psnr(np.asarray(im), expected) > 40
    page = (out / "index.html").read_text()
    assert f"images/{folders['clahe']}/two.png" in page and "contact_sheet.png" in page
    rows = list(csv.reader((out / "metrics.csv").open()))
    assert rows[0] == ["image", "input", "clahe:clip_limit=4", chain]
    assert [r[0] for r in rows[1:]] == ["one.png", "two.png", "mean"]
    assert all(float(v) > 0 for r in rows[1:] for v in r[1:])


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(float) - b.astype(float)) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def test_compare_enhancer_and_checkpoints_are_columns_as_subprocess(tmp_path: Path) -> None:
    """The README's `egan compare photos/ --enhancer clahe --checkpoint a.pt --checkpoint
    b.pt --out cmp/`, with two real (tiny) GAN checkpoints."""
    photo = _image(3, (96, 128))
    _save(tmp_path / "photos" / "x.png", photo)
    save_tiny_checkpoint(tmp_path / "a.pt", seed=1)
    save_tiny_checkpoint(tmp_path / "b.pt", seed=2)
    done = subprocess.run(
        [sys.executable, "-m", "egan_core", "compare", "photos/", "--enhancer", "clahe",
         "--checkpoint", "a.pt", "--checkpoint", "b.pt", "--out", "cmp/", "--device", "cpu"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader((tmp_path / "cmp" / "metrics.csv").open()))
    assert rows[0] == ["image", "input", "clahe", "gan:a", "gan:b"]
    images = tmp_path / "cmp" / "images"
    outputs = {}
    for folder in ("clahe", "gan_a", "gan_b"):
        with Image.open(images / folder / "x.png") as im:
            outputs[folder] = np.asarray(im)
    assert np.array_equal(outputs["clahe"], load_enhancer("clahe", device="cpu")(photo))
    for folder, name in (("gan_a", "a.pt"), ("gan_b", "b.pt")):
        expected = load_enhancer("gan", checkpoint=tmp_path / name, device="cpu",
                                 precision="fp32")(photo)
        assert _psnr(outputs[folder], expected) > 40
    assert _psnr(outputs["gan_a"], outputs["gan_b"]) < 35  # two different models
    with Image.open(tmp_path / "cmp" / "contact_sheet.png") as sheet:
        assert sheet.size == sheet_size(1, 4)


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


def test_compare_and_eval_agree_on_the_same_pixels(tmp_path: Path) -> None:
    """On a JPEG input, ``egan enhance`` writes a JPEG (the input's format), so ``egan eval``
    of it scores a compressed copy; ``egan compare`` scores the output itself (and saves it
    as PNG). Enhanced with ``--format png``, both score the same pixels and agree."""
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(_image(4, (120, 160))).save(photos / "shot.jpg", quality=90)
    assert _egan("compare", str(photos), "--enhancer", "clahe", "--out", str(tmp_path / "cmp"),
                 "--device", "cpu").exit_code == 0
    compared = {r[0]: r for r in csv.reader((tmp_path / "cmp" / "metrics.csv").open())}
    by_compare = float(compared["shot.jpg"][2])
    for fmt in ("png", None):
        out = tmp_path / f"out_{fmt}"
        args = ["enhance", str(photos / "shot.jpg"), "--out", str(out), "--enhancer", "clahe"]
        assert _egan(*args, *(["--format", fmt] if fmt else [])).exit_code == 0
        (written,) = list(out.iterdir())
        by_eval = evaluate([written], ["niqe"]).mean["niqe"]
        if fmt == "png":  # metrics.csv holds 4 decimals
            assert by_eval == pytest.approx(by_compare, abs=5e-5)
        else:
            assert written.suffix == ".jpg" and abs(by_eval - by_compare) > 1e-3
