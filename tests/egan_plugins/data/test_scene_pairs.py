"""``scene_pairs``: scenes from sub-folders, a list or content; two shots sharing one crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from egan_core.errors import EganError, RecipeError
from egan_core.recipe.schema import INJECTED
from egan_core.registry import Registries
from egan_core.signature import component_kwargs
from egan_plugins.data import ScenePairsDataset, register
from egan_plugins.data.scene_pairs import group_by_content, natural_key
from egan_plugins.data.scenes import render_scene

#: Exposure gains of the synthetic shots: three dark ones and one bright (mean ~0.45).
GAINS = (0.08, 0.15, 0.25, 0.9)


def _scene(seed: int, size: int = 96) -> np.ndarray:
    """A textured synthetic scene, scaled to a mean of 0.5 (so scenes differ only in content)."""
    base = render_scene(np.random.default_rng(seed), size)
    return np.clip(base * (0.5 / base.mean()), 0.0, 1.0)


def _save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((np.clip(array, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)).save(path, quality=92)
    return path


def _flat(folder: Path, seeds: list[int], gains: tuple[float, ...] = GAINS,
          ext: str = "jpg") -> list[list[str]]:
    """Each scene's shots numbered 1, 2, ... in one flat folder, numbering running on across
    scenes; returns each scene's file names."""
    names: list[list[str]] = []
    number = 1
    for seed in seeds:
        base = _scene(seed)
        names.append([])
        for gain in gains:
            name = f"{number}.{ext}"
            _save(folder / name, base * gain)
            names[-1].append(name)
            number += 1
    return names


def _names(groups: list[list[Path]]) -> list[list[str]]:
    return [[p.name for p in g] for g in groups]


def _noise_scene(root: Path, gains: dict[str, float], size: int = 72) -> None:
    """``root/<name>.png``: one noise texture (values 0.3..1) at each gain: PNG, so a shot
    divided by its gain gives the texture back, and a crop one pixel off does not."""
    texture = 0.3 + 0.7 * np.random.default_rng(7).random((size, size, 3))
    for name, gain in gains.items():
        _save(root / f"{name}.png", texture * gain)


# --- grouping by content -------------------------------------------------------------------

def test_content_grouping_recovers_the_scenes_and_drops_bright_shots(tmp_path: Path) -> None:
    names = _flat(tmp_path, [0, 1, 2])  # 1..12.jpg: natural order puts 10..12 last
    ds = ScenePairsDataset(root=str(tmp_path), size=32)
    assert ds.source == "content"
    assert _names(ds.groups) == names
    assert _names(ds.scenes) == [n[:3] for n in names]  # the 0.9-gain shot is too bright
    assert len(ds) == 3 and ds.pair_count == 9
    bright = [ds.brightness[tmp_path / n[3]] for n in names]
    assert all(b > 0.35 for b in bright)
    assert all(ds.brightness[tmp_path / n[0]] < 0.06 for n in names)


def test_neighbouring_scenes_of_equal_brightness_split_by_content(tmp_path: Path) -> None:
    # every shot of both scenes has the same mean: only the content tells them apart
    names = _flat(tmp_path, [3, 4], gains=(0.12, 0.2, 0.28), ext="png")
    ds = ScenePairsDataset(root=str(tmp_path), group="content", size=None)
    means = [round(ds.brightness[tmp_path / n[0]], 2) for n in names]
    assert means[0] == pytest.approx(means[1], abs=0.01)
    assert _names(ds.groups) == names


def test_match_threshold_decides(tmp_path: Path) -> None:
    _flat(tmp_path, [0, 1], gains=(0.1, 0.2, 0.3))
    assert len(ScenePairsDataset(root=str(tmp_path), size=None).groups) == 2
    # a threshold every pair of files passes merges the two scenes into one
    assert len(ScenePairsDataset(root=str(tmp_path), match=-1.0, size=None).groups) == 1
    # one no pair of files reaches leaves no scene at all
    with pytest.raises(EganError, match="data.max_brightness"):
        ScenePairsDataset(root=str(tmp_path), match=1.0, size=None)


def test_group_by_content_bridges_one_odd_shot() -> None:
    a, z, b = np.eye(3, dtype=np.float32)
    # a blown-out shot (z) between two shots of one scene does not split it
    assert group_by_content([a, a, z, a, b, b], match=0.5) == [[0, 1, 3], [2], [4, 5]]
    # beyond the window it does
    assert group_by_content([a, z, z, z, a], match=0.5, window=3) == [[0], [1, 2, 3], [4]]
    assert group_by_content([], match=0.5) == []


def test_natural_order() -> None:
    names = ["10.jpg", "2.jpg", "1.jpg", "b.png", "a10.png", "a9.png"]
    assert sorted(names, key=natural_key) == ["1.jpg", "2.jpg", "10.jpg", "a9.png", "a10.png", "b.png"]


def test_unreadable_image_is_left_out_with_a_warning(tmp_path: Path) -> None:
    names = _flat(tmp_path, [0], gains=(0.1, 0.2, 0.3))
    (tmp_path / "4.jpg").write_bytes(b"not a jpeg")
    with pytest.warns(UserWarning, match="1 unreadable"):
        ds = ScenePairsDataset(root=str(tmp_path), size=None)
    assert _names(ds.scenes) == names


# --- sub-folders and pair lists ------------------------------------------------------------

def test_subfolders_are_scenes(tmp_path: Path) -> None:
    for scene, seed in (("1", 0), ("2", 1), ("10", 2)):
        for k, gain in enumerate((0.1, 0.2, 0.9)):
            _save(tmp_path / scene / f"{k}.jpg", _scene(seed, 48) * gain)
    _save(tmp_path / "3" / "0.jpg", _scene(5, 48) * 0.1)  # one shot: no pair
    ds = ScenePairsDataset(root=str(tmp_path), size=None)
    assert ds.source == "folders"
    assert [[f"{p.parent.name}/{p.name}" for p in s] for s in ds.scenes] == [
        ["1/0.jpg", "1/1.jpg"], ["2/0.jpg", "2/1.jpg"], ["10/0.jpg", "10/1.jpg"]]
    assert len(ds.groups) == 4


def test_loose_images_beside_scene_folders_need_group(tmp_path: Path) -> None:
    _flat(tmp_path, [0], gains=(0.1, 0.2))
    _flat(tmp_path / "1", [1], gains=(0.1, 0.2))
    with pytest.raises(RecipeError, match="data.group"):
        ScenePairsDataset(root=str(tmp_path))
    assert ScenePairsDataset(root=str(tmp_path), group="folders", size=None).source == "folders"
    ds = ScenePairsDataset(root=str(tmp_path), group="content", size=None)
    assert ds.source == "content" and _names(ds.scenes) == [["1.jpg", "2.jpg"]]


def test_pair_list_relative_to_the_list_or_to_root(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    for name, gain in (("a.jpg", 0.1), ("b.jpg", 0.2), ("c d.jpg", 0.15), ("e.jpg", 0.3), ("f.jpg", 0.25)):
        _save(shots / name, _scene(0, 48) * gain)
    text = "# scene pairs\n\na.jpg b.jpg\n'c d.jpg' e.jpg f.jpg  # three shots of one scene\n"
    (shots / "pairs.txt").write_text(text)
    ds = ScenePairsDataset(pairs=str(shots / "pairs.txt"), size=None)
    assert ds.source == "pairs"
    assert _names(ds.scenes) == [["a.jpg", "b.jpg"], ["c d.jpg", "e.jpg", "f.jpg"]]
    assert ds.pair_count == 4
    (tmp_path / "list.txt").write_text(text)
    ds = ScenePairsDataset(root=str(shots), pairs=str(tmp_path / "list.txt"), size=None)
    assert _names(ds.scenes) == [["a.jpg", "b.jpg"], ["c d.jpg", "e.jpg", "f.jpg"]]


# --- items ---------------------------------------------------------------------------------

GAIN_OF = {"a": 0.25, "b": 0.35, "c": 0.45}


def test_two_different_shots_share_one_crop(tmp_path: Path) -> None:
    _noise_scene(tmp_path / "scene", GAIN_OF)
    ds = ScenePairsDataset(root=str(tmp_path), size=24, flip=True, max_brightness=0.4, seed=1)
    assert len(ds) == 1 and len(ds.scenes[0]) == 3
    texture = (np.asarray(Image.open(tmp_path / "scene" / "c.png"), np.float32) / 255) / GAIN_OF["c"]
    seen = set()
    for epoch in range(12):
        ds.set_epoch(epoch)
        item = ds[0]
        first, second = Path(item["low_path"]), Path(item["normal_path"])
        assert first != second and first.parent == second.parent
        seen.add((first.stem, second.stem))
        a = (item["low"] + 1) / 2 / GAIN_OF[first.stem]
        b = (item["pair"] + 1) / 2 / GAIN_OF[second.stem]
        assert torch.allclose(a, b, atol=0.03)  # the same crop and flips of one texture
        assert (a - b.roll(1, dims=2)).abs().mean() > 0.1  # one pixel off would show
        # and it is one place in the texture (a crop of it, possibly flipped)
        assert _places(texture, a) == 1
    assert len(seen) > 2  # epochs draw different pairs (and orders)


def _places(texture: np.ndarray, crop: torch.Tensor) -> int:
    """How many (offset, flips) of ``texture`` give ``crop`` back (to 8-bit rounding)."""
    size = crop.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(texture, (size, size), axis=(0, 1))
    found = 0
    for axes in ((), (1,), (2,), (1, 2)):  # none, vertical, horizontal, both flips
        want = crop.flip(axes).numpy() if axes else crop.numpy()
        error = np.abs(windows - want[None, None]).max(axis=(2, 3, 4))
        found += int((error < 0.03).sum())
    return found


def test_items_are_a_pure_function_of_seed_epoch_and_index(tmp_path: Path) -> None:
    _flat(tmp_path, [0, 1, 2])
    one = ScenePairsDataset(root=str(tmp_path), size=32, flip=True, seed=5)
    two = ScenePairsDataset(root=str(tmp_path), size=32, flip=True, seed=5)
    for epoch in (0, 3):
        one.set_epoch(epoch)
        two.set_epoch(epoch)
        for i in (2, 0, 1):
            x, y = one[i], two[i]
            assert x["low_path"] == y["low_path"] and x["normal_path"] == y["normal_path"]
            for key in ("low", "input", "normal", "pair"):
                assert torch.equal(x[key], y[key])
    draws = set()
    for epoch in range(20):
        one.set_epoch(epoch)
        draws.add((one[1]["low_path"], one[1]["normal_path"]))
    assert len(draws) > 2
    other = ScenePairsDataset(root=str(tmp_path), size=32, flip=True, seed=6)
    assert any(not torch.equal(other[i]["low"], one[i]["low"]) for i in range(3))


def test_sample_keys_ranges_and_default_collate(tmp_path: Path) -> None:
    names = _flat(tmp_path, [0, 1, 2])
    ds = ScenePairsDataset(root=str(tmp_path), size=40)
    item = ds[-1]
    assert set(item) == {"low", "input", "normal", "low_path", "normal_path", "pair"}
    assert torch.equal(item["low"], item["input"]) and torch.equal(item["low"], item["normal"])
    for key in ("low", "pair"):
        assert item[key].shape == (3, 40, 40) and item[key].dtype == torch.float32
        assert -1.0 <= item[key].min() and item[key].max() <= 1.0
    assert Path(item["low_path"]).name in names[2][:3]
    assert Path(item["normal_path"]).name in names[2][:3]
    batches = list(DataLoader(ds, batch_size=2, shuffle=False))
    assert batches[0]["pair"].shape == (2, 3, 40, 40)
    assert isinstance(batches[0]["low_path"], list) and len(batches[1]["normal_path"]) == 1
    with pytest.raises(IndexError):
        ds[3]


def test_whole_images_and_shots_of_different_sizes(tmp_path: Path) -> None:
    base = _scene(0, 64)
    _save(tmp_path / "s" / "1.png", base * 0.2)
    small = Image.fromarray((base * 0.3 * 255).astype(np.uint8)).resize((48, 48), Image.BICUBIC)
    small.save(tmp_path / "s" / "2.png")
    ds = ScenePairsDataset(root=str(tmp_path), size=None)
    for epoch in range(4):
        ds.set_epoch(epoch)
        item = ds[0]
        size = 64 if item["low_path"].endswith("1.png") else 48
        assert item["low"].shape == item["pair"].shape == (3, size, size)
    with pytest.warns(UserWarning, match="smaller than the 56px crop"):
        ds = ScenePairsDataset(root=str(tmp_path), size=56)  # the 48 px shot is upscaled first
    assert ds[0]["pair"].shape == (3, 56, 56)


# --- registration and errors ----------------------------------------------------------------

def test_registered_with_recipe_friendly_signature() -> None:
    registries = Registries()
    register(registries)
    assert "scene_pairs" in registries.datasets.names()
    assert registries.datasets.entry("scene_pairs").factory is ScenePairsDataset
    defaults = component_kwargs(ScenePairsDataset, {"root": "x"}, "data", "d", INJECTED)
    assert defaults == {"root": "x", "pairs": None, "group": "auto", "match": 0.4,
                        "max_brightness": 0.35, "min_brightness": 0.0, "size": 128, "flip": False}


def _one_line(exc: pytest.ExceptionInfo[BaseException], *words: str) -> None:
    text = str(exc.value)
    assert "\n" not in text
    for word in words:
        assert word in text, text


def test_construction_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(EganError) as exc:
        ScenePairsDataset(root=str(tmp_path / "missing"))
    _one_line(exc, "data.root", "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EganError) as exc:
        ScenePairsDataset(root=str(tmp_path / "empty"), section="validation")
    _one_line(exc, "validation.root", "no images")
    _flat(tmp_path / "bright", [0], gains=(0.8, 0.9))
    with pytest.raises(EganError) as exc:
        ScenePairsDataset(root=str(tmp_path / "bright"))
    _one_line(exc, "data.max_brightness", "data.root", "two shots")
    with pytest.raises(RecipeError) as exc:
        ScenePairsDataset()
    _one_line(exc, "data.root", "data.pairs")
    for bad, key in (({"group": "scenes"}, "data.group"), ({"match": 2.0}, "data.match"),
                     ({"max_brightness": 0.0}, "data.max_brightness"), ({"size": 0}, "data.size"),
                     ({"pairs": "x.txt", "group": "content"}, "data.group")):
        with pytest.raises(RecipeError) as exc:
            ScenePairsDataset(root=str(tmp_path / "bright"), **bad)
        _one_line(exc, key)


def test_pair_list_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(EganError) as exc:
        ScenePairsDataset(pairs=str(tmp_path / "nope.txt"))
    _one_line(exc, "data.pairs", "nope.txt")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(EganError) as exc:
        ScenePairsDataset(pairs=str(tmp_path / "binary.txt"))
    _one_line(exc, "data.pairs")
    _save(tmp_path / "a.jpg", _scene(0, 32) * 0.1)
    (tmp_path / "list.txt").write_text("# ok\na.jpg\n")
    with pytest.raises(EganError) as exc:
        ScenePairsDataset(pairs=str(tmp_path / "list.txt"))
    _one_line(exc, "data.pairs", "line 2", "one image")
    (tmp_path / "list.txt").write_text("a.jpg gone.jpg\n")
    with pytest.raises(EganError) as exc:
        ScenePairsDataset(pairs=str(tmp_path / "list.txt"))
    _one_line(exc, "data.pairs", "line 1", "gone.jpg", "not found")
    (tmp_path / "list.txt").write_text("# nothing\n\n")
    with pytest.raises(EganError) as exc:
        ScenePairsDataset(pairs=str(tmp_path / "list.txt"))
    _one_line(exc, "data.pairs", "no pairs")
