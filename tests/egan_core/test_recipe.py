"""Recipes: defaults, unknown keys, types and ranges, overrides, YAML, paths, names."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from egan_core import EganError, RecipeError, Registries, UnknownNameError, load_recipe
from egan_core.recipe import DEFAULTS, configs_dir, packaged_recipes, parse_recipe, resolve_recipe_path


def _load(raw: dict[str, Any], regs: Registries, overrides: Any = None) -> Any:
    return load_recipe(raw, overrides, registries=regs)


def _write(folder: Path, raw: dict[str, Any] | str, name: str = "recipe.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw if isinstance(raw, str) else yaml.safe_dump(raw), encoding="utf-8")
    return path


def _error(raw: dict[str, Any], regs: Registries, overrides: Any = None,
           kind: type[EganError] = RecipeError) -> str:
    with pytest.raises(kind) as err:
        _load(raw, regs, overrides)
    message = str(err.value)
    assert "\n" not in message, message
    return message


# ---- defaults ----------------------------------------------------------------------------


def test_every_default_is_filled_in(stub_recipe: dict[str, Any], stub_registries: Registries) -> None:
    out = _load(stub_recipe, stub_registries).as_dict()
    assert list(out) == list(DEFAULTS)
    assert set(out["train"]) == set(DEFAULTS["train"])
    assert out["train"]["lr"] == 1e-4 and out["train"]["precision"] == "auto"
    assert out["train"]["channels_last"] == "auto"
    assert out["data"] == {"dataset": "stub_data", "batch_size": 2, "workers": "auto", "max_bad_images": 10,
                           "root": "data",
                           "object": None, "size": 256, "zoom": [1.0]}
    assert out["model"]["generator"] == {"name": "stub_gen", "init": None, "width": 8,
                                         "align_corners": False}
    assert out["model"]["discriminator"] == {"name": "stub_disc", "patches": 5, "patch_size": 32,
                                             "sizes": [3, 4]}
    # injected parameters (seed, vgg_weights) are not recipe keys
    assert out["losses"] == {"stub_feat": {"weight": 1.0, "layer": "relu5_1", "scale": 1.0}}
    assert out["vgg"] == {"weights": "imagenet"} and out["seed"] == 0


def test_resolved_recipe_round_trips_and_is_frozen(
    stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    recipe = _load(stub_recipe, stub_registries)
    again = parse_recipe(yaml.safe_load(recipe.to_yaml()), stub_registries)
    assert again == recipe
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.seed = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        recipe.generator.kwargs["width"] = 3  # type: ignore[index]


def test_name_defaults_to_the_file_stem(
    tmp_path: Path, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    del stub_recipe["name"]
    path = _write(tmp_path, stub_recipe, "car_style.yaml")
    recipe = load_recipe(path, registries=stub_registries)
    assert recipe.name == "car_style" and recipe.source == str(path)


def test_loss_shorthand_null_sections_and_no_discriminator(
    stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    stub_recipe["losses"] = {"stub_feat": 0.5}
    stub_recipe["model"]["discriminator"] = None
    stub_recipe["vgg"] = None
    recipe = _load(stub_recipe, stub_registries)
    assert recipe.losses[0].weight == 0.5 and recipe.discriminator is None
    assert recipe.as_dict()["model"]["discriminator"] is None
    stub_recipe["losses"] = None
    assert _load(stub_recipe, stub_registries).losses == ()


# ---- unknown keys -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "listed"),
    [
        ("epochs", "valid keys here: name, seed, method, data, model, adversarial, losses, vgg,"
                   " validation, train"),
        ("train.epoch", "did you mean 'train.epochs'? valid keys here: train.epochs,"),
        ("model.gen", "valid keys here: model.generator, model.discriminator"),
        ("adversarial.globl", "did you mean 'adversarial.global'?"),
        ("vgg.weight", "valid keys here: vgg.weights"),
        ("data.sise", "for dataset 'stub_data'; did you mean 'size'? valid keys: batch_size,"),
        ("model.generator.widht", "for generator 'stub_gen'; did you mean 'width'?"),
        ("model.discriminator.patchs", "valid keys: name, patch_size, patches, sizes"),
        ("losses.stub_feat.scal", "for loss 'stub_feat'; did you mean 'scale'? valid keys: layer,"),
    ],
)
def test_unknown_keys_at_every_level(
    key: str, listed: str, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    message = _error(stub_recipe, stub_registries, {key: 1})
    assert f"unknown recipe key '{key}'" in message
    assert listed in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("train.lr", -0.1, "train.lr must be > 0, got -0.1"),
        ("train.lr", "fast", "train.lr must be a number, got 'fast'"),
        ("data.batch_size", 0, "data.batch_size must be >= 1, got 0"),
        ("data.batch_size", True, "data.batch_size must be an integer, got True"),
        ("data.workers", -1, "data.workers must be >= 0"),
        ("train.precision", "fp8", "train.precision must be one of auto, fp32, bf16, fp16, got 'fp8'"),
        ("train.beta1", 1.0, "train.beta1 must be in [0, 1)"),
        ("train.epochs", 2.5, "train.epochs must be an integer"),
        ("train.accumulate", 0, "train.accumulate must be >= 1"),
        ("train.max_steps", 0, "train.max_steps must be >= 1"),
        ("train.compile", "yes", "train.compile must be true or false"),
        ("seed", -1, "seed must be >= 0"),
        ("vgg.weights", 3, "vgg.weights must be a string"),
        ("model.generator.width", 2.5, "model.generator.width must be an integer, got 2.5"),
        ("model.generator.align_corners", 1, "must be true or false, got 1"),
        ("model.generator.init", 5, "model.generator.init must be a string"),
        ("losses.stub_feat.layer", "relu4_4", "must be one of 'relu5_1', 'relu5_3', got 'relu4_4'"),
        ("losses.stub_feat.weight", "heavy", "losses.stub_feat.weight must be a number"),
        ("data.zoom", ["big"], "data.zoom must be a list of a number, got ['big']"),
        ("data.zoom", 1.2, "data.zoom must be a list of a number"),
        ("model.discriminator.sizes", [1, 2, 3], "must be a list of 2: an integer, an integer"),
        ("data.object", 3, "data.object must be a string or null, got 3"),
        ("data", [1], "data must be a mapping"),
        ("seed", None, "seed must be an integer, got None"),
    ],
)
def test_wrong_types_and_ranges(
    key: str, value: Any, expected: str, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    assert expected in _error(stub_recipe, stub_registries, {key: value})


def test_values_are_widened_and_frozen(stub_recipe: dict[str, Any], stub_registries: Registries) -> None:
    recipe = _load(stub_recipe, stub_registries, {"train.lr": 1, "data.zoom": [1, 1.2],
                                                  "losses.stub_feat.scale": 2})
    assert recipe.train.lr == 1.0 and isinstance(recipe.train.lr, float)
    assert recipe.data.dataset.kwargs["zoom"] == (1.0, 1.2)
    assert recipe.losses[0].kwargs["scale"] == 2.0


@pytest.mark.parametrize(("key", "source"), [("data.seed", "seed"),
                                              ("losses.stub_feat.vgg_weights", "vgg.weights")])
def test_injected_parameters_are_not_recipe_keys(
    key: str, source: str, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    message = _error(stub_recipe, stub_registries, {key: "x"})
    assert f"'{key}' is set by egan itself (from the recipe's {source})" in message


def test_adversarial_and_generator_losses_are_not_swapped(
    stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    message = _error(stub_recipe, stub_registries, {"adversarial.global": "stub_feat"})
    assert "adversarial.global: loss 'stub_feat' is not an adversarial loss" in message
    assert "adversarial losses: stub_adv" in message
    stub_recipe["losses"] = {"stub_adv": {"weight": 1.0}}
    assert "losses.stub_adv is an adversarial loss" in _error(stub_recipe, stub_registries)


# ---- component and object names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("data.object", "caar", "unknown object 'caar'; did you mean 'car'? known: bicycle,"),
        ("model.generator.name", "stub_gne", "unknown generator 'stub_gne'; did you mean 'stub_gen'?"),
        ("data.dataset", "stub_dta", "unknown dataset 'stub_dta'; did you mean 'stub_data'?"),
        ("adversarial.local", "lsgna", "unknown loss 'lsgna'"),
    ],
)
def test_unknown_names_fail_at_load_time(
    key: str, value: str, expected: str, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    message = _error(stub_recipe, stub_registries, {key: value}, UnknownNameError)
    assert message.startswith(expected)
    assert "see 'egan plugins'" in message


def test_object_aliases_are_accepted(stub_recipe: dict[str, Any], stub_registries: Registries) -> None:
    recipe = _load(stub_recipe, stub_registries, {"data.object": "person"})
    assert recipe.data.dataset.kwargs["object"] == "person"


@pytest.mark.parametrize("name", ["runs/x", "..", ".", "a\\b", "c:d", 7])
def test_unsafe_run_names_refused(
    name: Any, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    stub_recipe["name"] = name
    assert "name must be a plain folder name" in _error(stub_recipe, stub_registries)


# ---- overrides ----------------------------------------------------------------------------


def test_set_overrides_are_typed_as_yaml(
    tmp_path: Path, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    stub_recipe["model"]["discriminator"] = None
    path = _write(tmp_path, stub_recipe)
    recipe = load_recipe(
        path,
        [
            "train.epochs=5",  # int
            "train.lr=2e-4",  # float without a dot (YAML 1.2 style)
            "train.beta1=0.9",
            "train.max_steps=null",
            "train.channels_last=true",
            "data.zoom=[1.0, 1.2, 1.4]",  # list
            "name=override run",
            "model.discriminator.name=stub_disc",  # nested new keys under a null section
            "model.discriminator.patches=3",
            "losses.stub_feat.scale=1e3",
        ],
        registries=stub_registries,
    )
    assert recipe.train.epochs == 5 and recipe.train.lr == 2e-4 and recipe.train.beta1 == 0.9
    assert recipe.train.max_steps is None and recipe.train.channels_last is True
    assert recipe.data.dataset.kwargs["zoom"] == (1.0, 1.2, 1.4)
    assert recipe.name == "override run"
    assert recipe.discriminator is not None and recipe.discriminator.kwargs["patches"] == 3
    assert recipe.losses[0].kwargs["scale"] == 1000.0


def test_yaml_files_read_exponent_floats_too(
    tmp_path: Path, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    text = yaml.safe_dump(stub_recipe) + "train: {lr: 1e-4, beta2: 9.99E-1}\n"
    recipe = load_recipe(_write(tmp_path, text), registries=stub_registries)
    assert recipe.train.lr == 1e-4 and recipe.train.beta2 == 0.999


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("train.lr", "override 'train.lr' must look like key.path=value"),
        ("=3", "override '=3' must look like key.path=value"),
        ("train..lr=3", "must look like key.path=value"),
        ("train.=3", "must look like key.path=value"),
        ("train.lr=[1,", "override 'train.lr=[1,': the value is not valid YAML"),
        ("name.x=1", "override 'name.x': 'name' is not a mapping"),
    ],
)
def test_bad_override_syntax(
    override: str, expected: str, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    assert expected in _error(stub_recipe, stub_registries, [override])


def test_override_values_are_never_evaluated(
    tmp_path: Path, stub_recipe: dict[str, Any], stub_registries: Registries
) -> None:
    marker = tmp_path / "ran"
    evil = f"name=!!python/object/apply:os.system ['touch {marker}']"
    _error(stub_recipe, stub_registries, [evil])
    assert not marker.exists()


# ---- files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data: [1, 2\n", "is not valid YAML at line 2: fix the syntax"),
        ("a: b: c\n", "is not valid YAML at line 1"),
        ("- 1\n- 2\n", "a recipe must be a mapping of keys, got list"),
        ("!!python/object/apply:os.system ['echo hi']\n", "is not valid YAML"),
    ],
)
def test_bad_recipe_files(tmp_path: Path, text: str, expected: str, stub_registries: Registries) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RecipeError) as err:
        load_recipe(path, registries=stub_registries)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_empty_file_means_all_defaults(tmp_path: Path, stub_registries: Registries) -> None:
    path = _write(tmp_path, "")
    overrides = ["data.dataset=stub_data", "model.generator.name=stub_gen",
                 "model.discriminator.name=stub_disc", "adversarial.global=stub_adv",
                 "adversarial.local=stub_adv", "losses={stub_feat: 1.0}"]
    recipe = load_recipe(path, overrides, registries=stub_registries)
    assert recipe.name == "recipe" and recipe.train.epochs == 100


def test_relative_path_resolves_from_cwd_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub_recipe: dict[str, Any],
    stub_registries: Registries,
) -> None:
    shipped = packaged_recipes()
    name = shipped[0] if shipped else "tiny_test_only.yaml"
    local = _write(tmp_path, stub_recipe, f"recipes/{name}")
    monkeypatch.chdir(tmp_path)
    assert resolve_recipe_path(f"recipes/{name}") == Path(f"recipes/{name}")
    recipe = load_recipe(f"recipes/{name}", registries=stub_registries)
    assert Path(recipe.source or "").resolve() == local.resolve()


def test_packaged_recipes_resolve_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing here: the installed configs/ folder answers
    shipped = packaged_recipes()
    for name in shipped:
        path = resolve_recipe_path(f"recipes/{name}")
        assert path.is_file() and path.name == name
        assert path.resolve().parent == Path(str(configs_dir().joinpath("recipes"))).resolve()
    with pytest.raises(RecipeError) as err:
        resolve_recipe_path("recipes/no_such_recipe.yaml")
    message = str(err.value)
    assert "recipe 'recipes/no_such_recipe.yaml' not found" in message
    assert f"the installed configs folder '{configs_dir()}'" in message
    for name in shipped:
        assert f"recipes/{name}" in message


def test_loss_override_adds_to_the_default_losses() -> None:
    from egan_core import load_recipe

    recipe = load_recipe({"name": "x"}, ["losses.exposure.weight=0.5"])
    assert [(s.name, s.weight) for s in recipe.losses] == [("relu5_1", 1.0), ("exposure", 0.5)]


def test_every_shipped_recipe_loads_with_the_installed_plugins() -> None:
    """Names, kwargs and types of every shipped recipe check out against the real registries."""
    from egan_core import load_recipe

    shipped = packaged_recipes()
    assert {"enlightengan.yaml", "car_style.yaml", "quickstart.yaml",
            "distill_official.yaml", "distill_official_refine.yaml",
            "distill_official_polish.yaml", "distill_official_mse.yaml"} <= set(shipped)
    for name in shipped:
        recipe = load_recipe(f"recipes/{name}")
        assert recipe.name == Path(name).stem
