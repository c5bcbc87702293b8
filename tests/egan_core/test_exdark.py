"""``egan data crop-objects`` (ExDark bbGt and COCO) and the example third-party plugin."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import egan_core.plugins
from egan_core.cli.main import cli
from egan_core.errors import UnknownNameError
from egan_core.exdark import crop_objects, read_bbgt
from egan_core.registry import Registries
from egan_plugins import objects as builtin_objects

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "egan-plugin-example"


@pytest.fixture
def registries(monkeypatch: pytest.MonkeyPatch) -> Registries:
    """Only the built-in objects (what crop-objects needs), also for the CLI."""
    regs = Registries()
    builtin_objects.register(regs)
    monkeypatch.setattr(egan_core.plugins, "get_registries", lambda: regs)
    return regs


def _image(path: Path, width: int = 200, height: int = 150, seed: int = 0) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(path)
    return rgb


def _exdark(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """ExDark layout: images/Car/x.png + annotations/Car/x.png.txt (bbGt v3)."""
    images, ann = tmp_path / "images", tmp_path / "ann"
    rgb = _image(images / "Car" / "2015_00001.png")
    _image(images / "People" / "2015_00002.png", seed=1)
    (ann / "Car").mkdir(parents=True)
    (ann / "People").mkdir(parents=True)
    (ann / "Car" / "2015_00001.png.txt").write_text(
        "% bbGt version=3\n"
        "Car 10 20 80 60 0 0 0 0 0 0 0\n"
        "People 100 10 70 90 0 0 0 0 0 0 0\n"
        "Bicycle 5 5 20 20 0 0 0 0 0 0 0\n"
        "Car 150 100 64 40 0 0 0 0 0 0 0\n"
    )
    (ann / "People" / "2015_00002.txt").write_text("% bbGt version=3\nperson 0 0 100 100 0\n")
    (ann / "Car" / "missing.jpg.txt").write_text("% bbGt version=3\nCar 0 0 90 90 0\n")
    return images, ann, rgb


def test_read_bbgt(tmp_path: Path) -> None:
    _, ann, _ = _exdark(tmp_path)
    boxes = read_bbgt(ann / "Car" / "2015_00001.png.txt")
    assert [b.label for b in boxes] == ["Car", "People", "Bicycle", "Car"]
    assert (boxes[0].left, boxes[0].top, boxes[0].width, boxes[0].height) == (10, 20, 80, 60)


def test_exdark_crops_with_margin_and_min_size(tmp_path: Path, registries: Registries) -> None:
    images, ann, rgb = _exdark(tmp_path)
    out = tmp_path / "out"
    summary = crop_objects(images, ann, out, ["car", "person"], margin=0.25, min_size=32,
                           registries=registries)
    crop = np.asarray(Image.open(out / "train_A" / "car" / "2015_00001_0.png"))
    assert np.array_equal(crop, rgb[5:95, 0:110])  # box widened by 25 %, clipped at 0
    assert (out / "train_A" / "car" / "2015_00001_1.png").is_file()
    assert sorted(p.name for p in (out / "train_A" / "people").iterdir()) == [
        "2015_00001_0.png", "2015_00002_0.png"]
    assert summary.counts["car"].written == 2 and summary.counts["people"].written == 2
    assert summary.missing == ["Car/missing.jpg"]
    assert "bicycle" not in summary.counts  # not asked for
    small = crop_objects(images, ann, tmp_path / "o2", ["car"], min_size=50,
                         registries=registries)
    assert small.counts["car"].written == 1 and small.counts["car"].small == 1


def test_idempotent_rerun_skips(tmp_path: Path, registries: Registries) -> None:
    images, ann, _ = _exdark(tmp_path)
    first = crop_objects(images, ann, tmp_path / "out", registries=registries, min_size=16)
    again = crop_objects(images, ann, tmp_path / "out", registries=registries, min_size=16)
    written = {k: c.written for k, c in first.counts.items() if c.written}
    assert written == {"bicycle": 1, "car": 2, "people": 2}
    assert all(c.written == 0 for c in again.counts.values())
    assert {k: c.skipped for k, c in again.counts.items() if c.skipped} == written
    assert not list((tmp_path / "out").rglob("*.tmp"))


def test_coco_json_split_b_and_aliases(tmp_path: Path, registries: Registries) -> None:
    images = tmp_path / "imgs"
    rgb = _image(images / "sub" / "a.png", 120, 100)
    _image(images / "b.png", 120, 100, seed=2)
    coco = {
        "images": [{"id": 1, "file_name": "sub/a.png", "width": 120, "height": 100},
                   {"id": 2, "file_name": "b.png", "width": 120, "height": 100}],
        "categories": [{"id": 3, "name": "car"}, {"id": 62, "name": "dining table"},
                       {"id": 90, "name": "toothbrush"}],
        "annotations": [
            {"image_id": 1, "category_id": 62, "bbox": [20, 10, 40, 40], "iscrowd": 0},
            {"image_id": 2, "category_id": 3, "bbox": [0, 0, 100, 80]},
            {"image_id": 2, "category_id": 3, "bbox": [0, 0, 100, 80], "iscrowd": 1},
            {"image_id": 2, "category_id": 90, "bbox": [0, 0, 50, 50]},
        ],
    }
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    summary = crop_objects(images, tmp_path / "coco.json", tmp_path / "out", split="B",
                           margin=0.0, min_size=8, registries=registries)
    table = np.asarray(Image.open(tmp_path / "out" / "train_B" / "table" / "a_0.png"))
    assert np.array_equal(table, rgb[10:50, 20:60])
    assert (tmp_path / "out" / "train_B" / "car" / "b_0.png").is_file()
    assert summary.counts["car"].written == 1  # the crowd box is skipped
    assert summary.unknown_labels == {"toothbrush"}


def test_exif_rotated_image_gives_upright_crops(tmp_path: Path, registries: Registries) -> None:
    im = Image.new("RGB", (80, 60), (0, 0, 255))
    exif = im.getexif()
    exif[0x0112] = 6
    (tmp_path / "i").mkdir()
    im.save(tmp_path / "i" / "r.jpg", exif=exif)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "r.txt").write_text("% bbGt version=3\ncar 0 0 80 40 0\n")
    crop_objects(tmp_path / "i", tmp_path / "a", tmp_path / "o", margin=0, min_size=1,
                 registries=registries)
    assert Image.open(tmp_path / "o" / "train_A" / "car" / "r_0.png").size == (40, 80)


def test_unknown_object_lists_known_names(tmp_path: Path, registries: Registries) -> None:
    images, ann, _ = _exdark(tmp_path)
    with pytest.raises(UnknownNameError, match="did you mean 'car'"):
        crop_objects(images, ann, tmp_path / "o", ["kar"], registries=registries)


def _row(output: str, name: str) -> list[str]:
    """The numbers in the summary table's row for ``name``."""
    line = next(ln for ln in output.splitlines() if re.search(rf"\b{name}\b", ln))
    return re.findall(r"\b\d+\b", line)


def test_cli_summary_idempotency_and_errors(tmp_path: Path, registries: Registries) -> None:
    images, ann, _ = _exdark(tmp_path)
    args = ["data", "crop-objects", str(images), "--annotations", str(ann),
            "--out", str(tmp_path / "out"), "--object", "car", "--object", "people",
            "--min-size", "32"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "written" in first.output and "skipped" in first.output
    assert "missing.jpg" in first.output
    assert _row(first.output, "car") == ["2", "0", "0"]
    second = CliRunner().invoke(cli, args)
    assert _row(second.output, "car") == ["0", "2", "0"]
    assert _row(second.output, "total") == ["0", "4", "0"]
    bad = CliRunner().invoke(cli, [*args[:7], "--object", "kar"])
    assert bad.exit_code == 2
    assert "unknown object 'kar'; did you mean 'car'?" in bad.output
    assert "Traceback" not in bad.output
    (images / "Car" / "2015_00001.png").write_bytes(b"garbage")
    broken = CliRunner().invoke(cli, [*args[:5], "--out", str(tmp_path / "o3")])
    assert broken.exit_code == 1 and "2015_00001.png" in broken.output
    assert (tmp_path / "o3" / "train_A" / "people" / "2015_00002_0.png").is_file()


def _installed() -> bool:
    try:
        metadata.distribution("egan-plugin-example")
    except metadata.PackageNotFoundError:
        return False
    return True


def test_example_plugin_installs_and_trains(tmp_path: Path) -> None:
    """The example package, installed like any third party, adds a loss and an object that a
    real `egan run` uses (object folder named by the alias, loss named in the recipe)."""
    if not _installed():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--no-build-isolation", "-e", str(EXAMPLE)], check=True,
                       capture_output=True, timeout=300)
    run = subprocess.run([sys.executable, "-m", "egan_core", "plugins", "--json"],
                         capture_output=True, text=True, check=True, timeout=120)
    listing = json.loads(run.stdout)
    assert listing["registries"]["losses"]["tv"] == "egan-plugin-example"
    assert listing["registries"]["objects"]["scooter"] == "egan-plugin-example"
    plugin = next(p for p in listing["plugins"] if p["dist"] == "egan-plugin-example")
    assert plugin["error"] is None
    for side, count in (("train_A", 3), ("train_B", 2)):
        for i in range(count):
            _image(tmp_path / "data" / side / "Moped" / f"{side}_{i}.png", 70, 60)
    recipe = {
        "name": "scooter_tv",
        "data": {"dataset": "object_paired", "root": str(tmp_path / "data"), "object": "scooter",
                 "size": 48, "batch_size": 1, "workers": 0},
        "model": {"generator": {"name": "attention_unet", "base_channels": 4},
                  "discriminator": {"name": "global_local", "patches": 1, "patch_size": 16,
                                    "ndf": 8}},
        "losses": {"relu5_1": {"weight": 1.0}, "tv": {"weight": 0.5, "power": 2.0}},
        "vgg": {"weights": "none"},
        "train": {"max_steps": 2, "sample_every": 0},
    }
    (tmp_path / "r.yaml").write_text(json.dumps(recipe))
    run = subprocess.run([sys.executable, "-m", "egan_core", "run", str(tmp_path / "r.yaml"),
                          "--out", str(tmp_path / "runs"), "--device", "cpu", "-q"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    log = (tmp_path / "runs" / "scooter_tv" / "metrics.jsonl").read_text().splitlines()
    assert "tv" in json.loads(log[-1]) and json.loads(log[-1])["step"] == 2


def test_the_former_module_name_still_imports() -> None:
    from egan_core import data_tools, exdark

    assert data_tools.crop_objects is exdark.crop_objects and data_tools.read_bbgt is exdark.read_bbgt
