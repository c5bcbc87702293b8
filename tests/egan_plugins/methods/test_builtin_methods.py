"""The built-in methods through the recipe: which method a recipe trains with, what its
defaults fill in, and the errors a wrong choice gives."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from egan_core.errors import RecipeError, UnknownNameError
from egan_core.plugins import get_registries
from egan_core.recipe import load_recipe, packaged_recipes, parse_recipe

EXPECTED = {
    "car_relu5_3": "enlightengan", "car_style": "enlightengan", "enlightengan": "enlightengan",
    "finetune": "enlightengan", "distill_fast": "supervised", "distill_fast_official": "supervised",
    "distill_official": "supervised", "distill_official_mse": "supervised",
    "distill_official_polish": "supervised", "distill_official_refine": "supervised",
    "quickstart": "zero_reference", "sci": "zero_reference", "zero_dce": "zero_reference",
    "zero_dce_pp": "zero_reference", "pairlie": "pairlie", "pairlie_cpu": "pairlie",
}


def test_every_shipped_recipe_gets_its_method() -> None:
    got = {}
    for file in packaged_recipes():
        recipe = load_recipe(f"recipes/{file}")
        assert recipe.method is not None
        got[file.removesuffix(".yaml")] = recipe.method.name
    assert got == EXPECTED


def test_a_recipe_naming_nothing_gets_enlightengans_defaults() -> None:
    recipe = load_recipe({"data": {"dataset": "unpaired"}})
    assert recipe.method is not None and recipe.method.name == "enlightengan"
    assert recipe.generator.name == "attention_unet"
    assert recipe.discriminator is not None and recipe.discriminator.name == "global_local"
    assert dict(recipe.adversarial) == {"global": "ralsgan", "local": "lsgan"}
    assert [(loss.name, loss.weight) for loss in recipe.losses] == [("relu5_1", 1.0)]
    assert recipe.vgg_weights == "imagenet"


def test_a_named_method_fills_its_own_defaults() -> None:
    recipe = load_recipe({"method": "zero_reference", "data": {"dataset": "synthetic"}})
    assert recipe.generator.name == "zero_dce" and recipe.discriminator is None
    assert [loss.name for loss in recipe.losses] == [
        "illumination_smoothness", "spatial_consistency", "color_constancy", "exposure"]
    supervised = load_recipe({"method": {"name": "supervised"}, "data": {"dataset": "synthetic"}})
    assert supervised.generator.name == "attention_unet"
    assert [loss.name for loss in supervised.losses] == ["l1"]


def test_what_the_recipe_writes_wins_over_the_method() -> None:
    recipe = load_recipe({"method": "zero_reference", "data": {"dataset": "synthetic"},
                          "model": {"generator": {"channels": 16}}, "losses": {"exposure": 10.0}})
    assert recipe.generator.name == "zero_dce" and recipe.generator.kwargs["channels"] == 16
    assert [loss.name for loss in recipe.losses] == ["exposure"]


def test_set_losses_adds_to_the_methods_default_losses() -> None:
    recipe = load_recipe({"data": {"dataset": "synthetic"}}, ["losses.l1.weight=0.5"])
    assert [loss.name for loss in recipe.losses] == ["relu5_1", "l1"]


def test_the_resolved_recipe_reads_back_the_same() -> None:
    for file in ("enlightengan.yaml", "quickstart.yaml", "pairlie.yaml"):
        recipe = load_recipe(f"recipes/{file}")
        again = parse_recipe(yaml.safe_load(recipe.to_yaml()), get_registries(),
                             source=recipe.source, default_name=recipe.name)
        assert again == recipe


def test_wrong_method_choices_fail_with_one_line() -> None:
    with pytest.raises(UnknownNameError) as err:
        load_recipe({"method": "nope", "data": {"dataset": "synthetic"}})
    assert "enlightengan" in str(err.value) and "pairlie" in str(err.value)
    with pytest.raises(RecipeError, match="method 'zero_reference' trains no discriminator"):
        load_recipe({"method": "zero_reference", "data": {"dataset": "synthetic"},
                     "model": {"discriminator": {"name": "global_local", "patch_size": 16}}})
    with pytest.raises(RecipeError, match="method 'enlightengan' trains a discriminator"):
        load_recipe({"method": "enlightengan", "data": {"dataset": "synthetic"},
                     "model": {"discriminator": None}})
    with pytest.raises(RecipeError, match="method must be a method name"):
        load_recipe({"method": 3, "data": {"dataset": "synthetic"}})
    with pytest.raises(RecipeError, match=r"method.name must name a registered method"):
        load_recipe({"method": {"consistency": 1.0}, "data": {"dataset": "synthetic"}})


def test_cli_unknown_method_exits_2_naming_the_registered_ones() -> None:
    proc = subprocess.run([sys.executable, "-m", "egan_core", "recipe", "show", "recipes/quickstart.yaml",
                           "--set", "method=nope"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "zero_reference" in lines[0] and "nope" in lines[0], proc.stderr


def test_cli_recipe_keys_documents_the_method_key() -> None:
    proc = subprocess.run([sys.executable, "-m", "egan_core", "recipe", "keys"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert any(line.split()[:1] == ["method"] for line in proc.stdout.splitlines()), proc.stdout
