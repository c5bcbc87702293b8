"""``paired``: stems matched, the same geometry for input and target, holdout split, resize."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from egan_core import train
from egan_core.errors import EganError, InputError, RecipeError
from egan_core.testing import make_tiny_recipe
from egan_plugins.data import PairedDataset
from egan_plugins.data.transforms import resize


def _pairs(root: Path, stems: list[str], width: int = 40, height: int = 30,
           sizes: list[tuple[int, int]] | None = None) -> Path:
    """low/<stem>.png random; high/<stem>.png its colour inverse (255 - x).

    ``sizes``: each pair's own (height, width) instead of ``height`` x ``width``.
    """
    (root / "low").mkdir(parents=True)
    (root / "high").mkdir(parents=True)
    for i, stem in enumerate(stems):
        h, w = sizes[i] if sizes is not None else (height, width)
        rgb = np.random.default_rng(i).integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(root / "low" / f"{stem}.png")
        Image.fromarray(255 - rgb).save(root / "high" / f"{stem}.png")
    return root


@pytest.mark.parametrize("zoom", [False, True])
def test_input_and_target_get_the_same_crop_and_flips(tmp_path: Path, zoom: bool) -> None:
    ds = PairedDataset(root=str(_pairs(tmp_path, ["a", "b", "c"])), size=24, zoom=zoom, seed=4)
    assert len(ds) == 3
    for epoch in range(3):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            assert torch.equal(item["low"], item["input"])  # never darkened
            low, target = (item["low"] + 1) / 2, (item["normal"] + 1) / 2
            assert item["low"].shape == item["normal"].shape == (3, 24, 24)
            assert torch.allclose(target, 1 - low, atol=1e-5)
            assert Path(item["low_path"]).stem == Path(item["normal_path"]).stem


def test_pairs_match_by_stem_and_unmatched_warn(tmp_path: Path) -> None:
    root = _pairs(tmp_path, ["x1", "x2"])
    Image.new("RGB", (40, 30)).save(root / "low" / "only_low.png")
    with pytest.warns(UserWarning, match="1 images"):
        ds = PairedDataset(root=str(root), size=16)
    assert [p.stem for p, _ in ds.pairs] == ["x1", "x2"]


def test_holdout_split(tmp_path: Path) -> None:
    root = str(_pairs(tmp_path, ["a", "b", "c", "d"]))
    train = PairedDataset(root=root, size=16, holdout=("b", "d"))
    held = PairedDataset(root=root, size=16, holdout=("b", "d"), split="holdout")
    assert [p.stem for p, _ in train.pairs] == ["a", "c"]
    assert [p.stem for p, _ in held.pairs] == ["b", "d"]
    with pytest.raises(EganError, match="data.split must be one of train, holdout"):
        PairedDataset(root=root, split="test")
    with pytest.raises(InputError, match="no holdout pairs"):
        PairedDataset(root=root, split="holdout")


def test_missing_folder_is_named(tmp_path: Path) -> None:
    (tmp_path / "low").mkdir()
    with pytest.raises(InputError, match=r"needs '.*high'"):
        PairedDataset(root=str(tmp_path))


def _read(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path))).permute(2, 0, 1).float() / 255


def test_size_none_keeps_whole_images_with_the_same_flips(tmp_path: Path) -> None:
    root = _pairs(tmp_path, ["a", "b"], width=37, height=23)
    ds = PairedDataset(root=str(root), size=None, flip=True, seed=1)
    plain, seen_flips = _read(root / "low" / "a.png"), set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        item = ds[0]
        assert item["input"].shape == item["normal"].shape == (3, 23, 37)
        low, target = (item["low"] + 1) / 2, (item["normal"] + 1) / 2
        assert torch.allclose(target, 1 - low, atol=1e-5)
        seen_flips.add(next(flips for flips in ((), (2,), (1,), (1, 2))
                            if torch.allclose(low, torch.flip(plain, flips), atol=1e-5)))
    assert len(seen_flips) > 1
    still = PairedDataset(root=str(root), size=None, flip=False)
    assert torch.allclose((still[1]["low"] + 1) / 2, _read(root / "low" / "b.png"), atol=1e-5)


@pytest.mark.filterwarnings("ignore:vgg.weights. none")
@pytest.mark.parametrize("key, value, words", [
    ("size", 0, "validation.size must be at least 1, got 0"),
    ("split", "test", "validation.split must be one of train, holdout, got 'test'"),
    ("root", "nowhere", "set validation.root to it"),
    ("input_dir", "dark", "set validation.input_dir / validation.target_dir"),
])
def test_validation_errors_name_the_key_the_recipe_wrote(tmp_path: Path, key: str, value: object,
                                                         words: str) -> None:
    """A ``paired`` dataset under ``validation:`` names ``validation.<key>``, not ``data.<key>``."""
    recipe = make_tiny_recipe(max_steps=1)
    recipe["validation"] = {"dataset": "paired", "root": str(_pairs(tmp_path / "pairs", ["a"])),
                            "size": 16, key: value}
    with pytest.raises(EganError) as err:
        train(recipe, out=tmp_path / "runs", device="cpu", quiet=True)
    assert words in str(err.value) and "data." not in str(err.value)


def test_validation_error_from_egan_run_is_one_line(tmp_path: Path) -> None:
    recipe = make_tiny_recipe(max_steps=1)
    recipe["validation"] = {"dataset": "paired", "root": str(_pairs(tmp_path / "pairs", ["a"])),
                            "size": 0}
    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
    done = subprocess.run([sys.executable, "-m", "egan_core", "run", "r.yaml", "--out", "runs",
                           "--device", "cpu"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "error: validation.size must be at least 1, got 0")
    assert "Traceback" not in done.stderr


# ``resize: true``: whole pairs squashed to size x size, nothing cropped.


@pytest.mark.parametrize("cache", [False, True])
def test_whole_pairs_are_resized_not_cropped(tmp_path: Path, cache: bool) -> None:
    root = _pairs(tmp_path, ["0", "1"], sizes=[(30, 70), (90, 40)])
    ds = PairedDataset(root=str(root), size=32, resize=True, flip=False, cache=cache)
    assert ds.num_upscaled == 0  # no crop, so no "smaller than the crop" warning
    for i in range(len(ds)):
        for _ in range(2):  # the second read comes from the cache when enabled
            item = ds[i]
            assert item["input"].shape == item["normal"].shape == (3, 32, 32)
            low = torch.from_numpy(np.asarray(Image.open(root / "low" / f"{i}.png")).copy())
            expected = resize(low.permute(2, 0, 1).float() / 255, 32, 32) * 2 - 1
            torch.testing.assert_close(item["input"], expected, atol=2 / 255, rtol=0)
            # target resized the same way: still the inverse of the input
            torch.testing.assert_close(item["normal"], -item["input"], atol=3 / 255, rtol=0)


def test_flips_are_shared_and_resize_excludes_zoom(tmp_path: Path) -> None:
    root = _pairs(tmp_path, ["0"], sizes=[(30, 70)])
    ds = PairedDataset(root=str(root), size=16, resize=True, seed=3)
    for epoch in range(4):
        ds.set_epoch(epoch)
        item = ds[0]
        torch.testing.assert_close(item["normal"], -item["input"], atol=3 / 255, rtol=0)
    with pytest.raises(RecipeError, match="zoom"):
        PairedDataset(root=str(root), size=16, resize=True, zoom=True)


# ``repeat``: a sub-folder's pairs listed more often per epoch.


def _nested(root: Path) -> Path:
    """low/ and high/ with pairs in two sub-folders: official/ (1 pair) and labelled/ (3)."""
    for i, (sub, stem) in enumerate([("official", "o"), ("labelled", "a"), ("labelled", "b"),
                                     ("labelled", "c")]):
        rgb = np.random.default_rng(i).integers(0, 256, (30, 40, 3), dtype=np.uint8)
        for side, image in (("low", rgb), ("high", 255 - rgb)):
            (root / side / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(root / side / sub / f"{stem}.png")
    return root


def test_repeat_lists_a_sub_folder_more_often_and_decodes_it_once(tmp_path: Path) -> None:
    root = _nested(tmp_path)
    plain = PairedDataset(root=str(root), size=16, resize=True)
    assert len(plain) == 4
    ds = PairedDataset(root=str(root), size=16, resize=True, cache=True, repeat={"official/": 3})
    assert len(ds) == 6
    assert sorted(p.stem for p, _ in ds.pairs) == ["a", "b", "c", "o", "o", "o"]
    for i in range(len(ds)):
        item = ds[i]
        torch.testing.assert_close(item["normal"], -item["input"], atol=3 / 255, rtol=0)
    assert len(ds._decoded) == 4  # the repeated pair was decoded once


@pytest.mark.parametrize("repeat, words", [
    ({"nowhere": 2}, "data.repeat names 'nowhere', but no data pair is in a sub-folder"),
    ({"official": 0}, "data.repeat.official must be a whole number >= 1, got 0"),
    ({"official": 1.5}, "data.repeat.official must be a whole number >= 1, got 1.5"),
    (["official"], "data.repeat must be a mapping"),
])
def test_repeat_errors_name_the_key(tmp_path: Path, repeat: object, words: str) -> None:
    with pytest.raises(RecipeError, match=words.replace(".", r"\.").replace("(", r"\(")):
        PairedDataset(root=str(_nested(tmp_path)), size=16, repeat=repeat)  # type: ignore[arg-type]
