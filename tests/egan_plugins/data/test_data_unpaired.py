"""``unpaired`` and ``object_paired``: folders, aliases, errors, augmentation, determinism."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from egan_core.errors import EganError, InputError, UnknownNameError
from egan_core.recipe import INJECTED
from egan_core.registry import Registries
from egan_core.signature import component_kwargs
from egan_plugins.data import (
    ObjectPairedDataset,
    PairedDataset,
    SyntheticDataset,
    UnpairedDataset,
    register,
)

KEYS = {"low", "input", "normal", "low_path", "normal_path"}


def _all(dataset: torch.utils.data.Dataset, **loader: object) -> list[dict]:
    return list(DataLoader(dataset, batch_size=2, shuffle=False, **loader))


def test_registered_with_recipe_friendly_signatures() -> None:
    registries = Registries()
    register(registries)
    assert registries.datasets.names() == ["lowlight", "noref", "object_paired", "paired", "scene_pairs",
                                           "synthetic", "unpaired"]
    defaults = component_kwargs(UnpairedDataset, {}, "data", "dataset", INJECTED)
    assert defaults == {"root": "data", "size": 320, "zoom": False, "darken": True, "flip": True}
    assert component_kwargs(ObjectPairedDataset, {}, "data", "d", INJECTED)["object"] == "car"
    assert component_kwargs(PairedDataset, {"holdout": ["a"]}, "data", "d", INJECTED)[
        "holdout"] == ("a",)
    assert component_kwargs(SyntheticDataset, {}, "data", "d", INJECTED)["length"] == 256


@pytest.mark.parametrize("names", [("train_A", "train_B"), ("trainA", "trainB")])
def test_both_folder_spellings(tmp_path: Path, make_tree: Callable, names: tuple) -> None:
    root = make_tree(tmp_path, *names, n_a=5, n_b=3)
    ds = UnpairedDataset(root=str(root), size=32)
    assert len(ds) == 5
    item = ds[0]
    assert set(item) == KEYS
    for key in ("low", "input", "normal"):
        assert item[key].shape == (3, 32, 32) and item[key].dtype == torch.float32
        assert -1.0 <= item[key].min() and item[key].max() <= 1.0
    assert Path(item["low_path"]).parent.name == names[0]
    assert Path(item["normal_path"]).parent.name == names[1]


def test_random_b_per_item_and_a_in_order(tmp_path: Path, make_tree: Callable) -> None:
    ds = UnpairedDataset(root=str(make_tree(tmp_path, n_a=2, n_b=6)), size=16)
    assert len(ds) == 6  # the larger side
    assert [Path(ds[i]["low_path"]).name for i in range(4)] == ["low_0.png", "low_1.png"] * 2
    assert len({ds[i]["normal_path"] for i in range(6)}) > 1


def test_errors_name_the_folders(tmp_path: Path, make_tree: Callable) -> None:
    with pytest.raises(InputError, match="does not exist"):
        UnpairedDataset(root=str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="looked for train_A/, trainA/"):
        UnpairedDataset(root=str(tmp_path))
    make_tree(tmp_path, n_a=2, n_b=0)
    (tmp_path / "train_B").mkdir(exist_ok=True)
    with pytest.raises(InputError, match=r"normal-light side .*train_B.* holds no images"):
        UnpairedDataset(root=str(tmp_path))
    (tmp_path / "train_B").rmdir()
    with pytest.raises(EganError) as err:
        UnpairedDataset(root=str(tmp_path))
    msg = str(err.value)
    assert "the normal-light side train_B/ is needed; it need not be paired with train_A/" in msg
    assert "trainB/" in msg and "\n" not in msg


def test_one_warning_with_the_count_for_small_images(tmp_path: Path, make_tree: Callable,
                                                     write_image: Callable) -> None:
    root = make_tree(tmp_path, n_a=3, n_b=2, width=40, height=40)
    write_image(root / "train_A" / "tiny_0.png", 12, 20)
    write_image(root / "train_B" / "tiny_1.png", 30, 8)
    with pytest.warns(UserWarning) as record:
        ds = UnpairedDataset(root=str(root), size=32)
    assert len(record) == 1 and "2 of 7 images" in str(record[0].message)
    assert ds.num_upscaled == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        items = [ds[i] for i in range(len(ds))]  # reading warns no more
    assert all(it["low"].shape == (3, 32, 32) for it in items)


def test_darkening(tmp_path: Path, make_tree: Callable) -> None:
    root = make_tree(tmp_path, n_a=12, n_b=2)
    dark = UnpairedDataset(root=str(root), size=24, darken=True, seed=3)
    darkened = 0
    for i in range(len(dark)):
        item = dark[i]
        low, inp = (item["low"] + 1) / 2, (item["input"] + 1) / 2
        if torch.equal(low, inp):
            continue
        darkened += 1
        assert inp.mean() < low.mean()
        ratio = low.sum() / inp.sum()
        assert 2.0 - 1e-4 <= ratio <= 4.0 + 1e-4
    assert 0 < darkened < len(dark)
    plain = UnpairedDataset(root=str(root), size=24, darken=False, seed=3)
    assert all(torch.equal(plain[i]["low"], plain[i]["input"]) for i in range(len(plain)))


def test_zoom_resizes_before_the_crop(tmp_path: Path, make_tree: Callable) -> None:
    root = make_tree(tmp_path, n_a=2, n_b=1, width=30, height=20)
    ds = UnpairedDataset(root=str(root), size=64, zoom=True)
    assert ds.num_upscaled == 0  # 400 x 600 covers the crop, however small the file
    assert ds[0]["low"].shape == (3, 64, 64)


def test_pure_function_of_seed_epoch_index(tmp_path: Path, make_tree: Callable) -> None:
    ds = UnpairedDataset(root=str(make_tree(tmp_path)), size=24, seed=1)
    first = ds[2]
    assert torch.equal(ds[4]["normal"], ds[4]["normal"])
    assert torch.equal(UnpairedDataset(root=str(tmp_path), size=24, seed=1)[2]["low"],
                       first["low"])
    ds.set_epoch(1)
    assert not torch.equal(ds[2]["low"], first["low"])
    ds.set_epoch(0)
    assert torch.equal(ds[2]["low"], first["low"])
    other_seed = UnpairedDataset(root=str(tmp_path), size=24, seed=2)
    assert not torch.equal(other_seed[2]["low"], first["low"])


def test_same_samples_with_any_workers_and_spawn(tmp_path: Path, make_tree: Callable) -> None:
    ds = UnpairedDataset(root=str(make_tree(tmp_path, n_a=6, n_b=3)), size=24, seed=5)
    ds.set_epoch(2)
    ref = _all(ds, num_workers=0)
    runs = [_all(ds, num_workers=2),
            _all(ds, num_workers=2, multiprocessing_context="spawn")]
    for run in runs:
        assert len(run) == len(ref)
        for a, b in zip(ref, run, strict=True):
            for key in ("low", "input", "normal"):
                assert torch.equal(a[key], b[key])
            assert a["normal_path"] == b["normal_path"]


def test_object_folders_by_alias_any_case(tmp_path: Path, make_tree: Callable,
                                          object_registries: Registries) -> None:
    make_tree(tmp_path, "trainA/Person", "trainB/people", n_a=3, n_b=2)
    make_tree(tmp_path, "trainA/car", "trainB/car", n_a=1, n_b=1)
    for name in ("people", "person", "PEDESTRIAN"):
        ds = ObjectPairedDataset(root=str(tmp_path), object=name, size=16)
        assert ds.object == "people" and len(ds) == 3
        assert Path(ds[0]["low_path"]).parent.name == "Person"
        assert Path(ds[0]["normal_path"]).parent.name == "people"


def test_object_errors(tmp_path: Path, make_tree: Callable,
                       object_registries: Registries) -> None:
    make_tree(tmp_path, "train_A/dog", "train_B/dog", n_a=1, n_b=1)
    with pytest.raises(InputError) as err:
        ObjectPairedDataset(root=str(tmp_path), object="car", size=16)
    msg = str(err.value)
    assert "object 'car'" in msg and "car/, cars/, automobile/" in msg and "found: dog" in msg
    assert "train_A" in msg
    with pytest.raises(UnknownNameError, match="did you mean 'people'"):
        ObjectPairedDataset(root=str(tmp_path), object="peple")
    (tmp_path / "train_B" / "cat").mkdir()
    (tmp_path / "train_A" / "cat").mkdir()
    make_tree(tmp_path, "train_A/cat", "x", n_a=1, n_b=0)
    with pytest.raises(InputError, match=r"normal-light side .*cat.* holds no images"):
        ObjectPairedDataset(root=str(tmp_path), object="cat", size=16)
