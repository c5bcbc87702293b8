"""Property tests: hand-edited recipes and damaged images only ever raise egan's own errors.

- ``load_recipe`` with random overrides (real dotted keys and junk ones, random YAML
  scalars, lists and mappings) returns a Recipe or raises an :class:`EganError`, nothing
  else; wrong keys, types and ranges are errors naming the key.
- Both image readers (enhancement and training) given random or mutated PNG/JPEG bytes
  return a valid image or raise :class:`InputError`, nothing else.
"""

from __future__ import annotations

import copy
import io
import math
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from egan_core.enhance.io import read_image as read_for_enhance
from egan_core.errors import EganError, InputError, RecipeError
from egan_core.plugins import get_registries
from egan_core.recipe import Recipe, load_recipe
from egan_core.testing import make_tiny_recipe, mutate_bytes
from egan_core.training.build import build_parts
from egan_plugins.data.io import read_image as read_for_training

FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

BASE: dict[str, Any] = {**make_tiny_recipe(), "name": "fuzz"}


def _dotted(tree: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in tree.items():
        keys.append(prefix + key)
        if isinstance(value, dict):
            keys += _dotted(value, f"{prefix}{key}.")
    return keys


#: Every key of the resolved base recipe (every default filled in), sections included.
REAL_KEYS = sorted(_dotted(load_recipe(copy.deepcopy(BASE)).as_dict()))
#: Sections whose unknown keys are reported under their full dotted name.
SECTIONS = ["", "data.", "model.", "model.generator.", "model.discriminator.", "adversarial.",
            "vgg.", "train.", "losses.relu5_1."]

_junk_part = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789-", min_size=1, max_size=12)
_junk_key = st.lists(_junk_part, min_size=1, max_size=3).map(".".join)
_keys = st.one_of(st.sampled_from(REAL_KEYS), _junk_key,
                  st.builds(lambda a, b: f"{a}.{b}", st.sampled_from(REAL_KEYS), _junk_part))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                     st.sampled_from(["synthetic", "paired", "attention_unet", "global_local",
                                      "relu5_1", "ralsgan", "fp16", "car", "none", "1e-4", "../x"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def _load(overrides: Any) -> Recipe:
    return load_recipe(copy.deepcopy(BASE), overrides)


# ---- any override: a Recipe or an EganError -----------------------------------------------


@FUZZ
@given(overrides=st.dictionaries(_keys, _values, min_size=1, max_size=4))
def test_any_override_gives_a_recipe_or_an_egan_error(overrides: dict[str, Any]) -> None:
    try:
        recipe = _load(overrides)
    except EganError as exc:
        assert " ".join(str(exc).split())  # a message the CLI shows on one line
    else:
        assert isinstance(recipe, Recipe)
        assert load_recipe(recipe.as_dict()).as_dict() == recipe.as_dict()  # round trip


#: What the YAML payload below would create if a recipe value could run a command.
_PWNED = Path(tempfile.gettempdir()) / "egan-fuzz-PWNED"


@FUZZ
@given(key=_keys, text=st.text(max_size=40))
@example(key="name", text=f"!!python/object/apply:os.system ['touch {_PWNED.as_posix()}']")
@example(key="train.lr", text="{a: [1, {b: }")
@example(key="data", text="&a [*a]")
def test_any_command_line_override_gives_a_recipe_or_an_egan_error(key: str, text: str) -> None:
    try:
        _load([f"{key}={text}"])
    except EganError:
        pass
    assert not _PWNED.exists()  # YAML tags never construct objects


# ---- wrong keys, types and ranges name the key ----------------------------------------------


@FUZZ
@given(section=st.sampled_from(SECTIONS), junk=_junk_part)
@example(section="data.", junk="section")  # a parameter egan injects: its own message
def test_an_unknown_key_is_named(section: str, junk: str) -> None:
    key = section + junk
    if key in REAL_KEYS or junk in ("name", "init", "dataset", "batch_size", "workers", "weight"):
        return
    with pytest.raises(RecipeError) as err:
        _load({key: 1})
    message = str(err.value)
    assert (f"unknown recipe key '{key}'" in message
            or f"recipe key '{key}' is set by egan itself" in message), message


#: Integer keys and their lowest valid value.
INT_KEYS = {"seed": 0, "data.batch_size": 1, "data.workers": 0, "data.length": None,
            "train.epochs": 0, "train.decay_epochs": 0, "train.accumulate": 1,
            "train.save_every": 0, "train.sample_every": 0, "train.log_every": 1,
            "train.max_steps": 1, "model.generator.base_channels": None,
            "model.discriminator.patches": None, "model.discriminator.ndf": None}


@FUZZ
@given(key=st.sampled_from(sorted(k for k, low in INT_KEYS.items() if low is not None)),
       data=st.data())
def test_an_integer_below_its_range_is_named(key: str, data: Any) -> None:
    low = INT_KEYS[key]
    value = data.draw(st.integers(max_value=low - 1, min_value=-10**9))
    with pytest.raises(RecipeError, match=f"^{key} must be >= {low}"):
        _load({key: value})


@FUZZ
@given(key=st.sampled_from(sorted(INT_KEYS)),
       value=st.one_of(st.text(max_size=5).filter(lambda t: not t.strip().lstrip("-").isdigit()),
                       st.booleans(), st.floats().filter(lambda f: not float(f).is_integer()),
                       st.lists(st.integers(), max_size=2)))
def test_a_wrong_type_is_named(key: str, value: Any) -> None:
    with pytest.raises(RecipeError) as err:
        _load({key: value})
    assert key in str(err.value)


@pytest.mark.parametrize(("key", "value"), [
    ("train.lr", -1.0), ("train.lr", 0), ("train.lr", math.nan), ("train.lr", math.inf),
    ("train.lr", "fast"), ("train.beta1", 1.0), ("train.beta2", -0.1), ("train.beta1", math.nan),
    ("train.precision", "fp64"), ("data.batch_size", 0), ("data.batch_size", 2.5),
    ("losses.relu5_1.weight", math.nan), ("losses.relu5_1.weight", "heavy"),
    ("model.generator.align_corners", "yes"), ("model.generator.init", 3),
    ("vgg.weights", 1), ("adversarial.global", "relu5_1"), ("name", 3),
])
def test_a_wrong_value_is_one_line_naming_the_key(key: str, value: Any) -> None:
    with pytest.raises(EganError) as err:
        _load({key: value})
    message = str(err.value)
    assert "\n" not in message and key in message, message


@FUZZ
@given(size=st.integers(8, 80), patch=st.integers(1, 80))
def test_data_size_must_exceed_the_patch_size(size: int, patch: int) -> None:
    overrides = {"data.size": size, "model.discriminator.patch_size": patch}
    if size > patch:
        recipe = _load(overrides)
        assert recipe.data.dataset.kwargs["size"] == size
        return
    with pytest.raises(RecipeError) as err:
        _load(overrides)
    assert "data.size" in str(err.value) and "model.discriminator.patch_size" in str(err.value)


@pytest.mark.parametrize(("key", "value"), [
    ("model.generator.base_channels", 0), ("model.generator.base_channels", -3),
    ("model.discriminator.ndf", 0), ("model.discriminator.patches", -1),
    ("model.discriminator.local_layers", -2),
])
def test_a_component_value_out_of_range_is_named_when_built(key: str, value: int) -> None:
    recipe = _load({key: value})  # ranges inside components are theirs to check
    with pytest.raises(EganError) as err:
        build_parts(recipe, get_registries(), torch.device("cpu"))
    message = str(err.value)
    assert "\n" not in message and key.rsplit(".", 1)[0] in message, message
    assert key.rsplit(".", 1)[1] in message, message


# ---- image decoding ------------------------------------------------------------------------


def _encoded(fmt: str) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray((rng.random((12, 10, 3)) * 255).astype(np.uint8)).save(buf, format=fmt)
    return buf.getvalue()


SEEDS = {"png": _encoded("PNG"), "jpg": _encoded("JPEG")}


def _broken_dds() -> bytes:
    data = bytearray(_encoded("DDS"))
    data[80:84] = struct.pack("<I", 0x200000)  # unknown pixel format flags
    return bytes(data)


def _read_both(path: Path) -> None:
    for read in (read_for_enhance, read_for_training):
        try:
            image = read(path)
        except InputError as exc:
            assert path.name in str(exc)
            continue
        array = image.numpy() if isinstance(image, torch.Tensor) else image
        assert array.ndim == 3 and 3 in (array.shape[0], array.shape[-1])
        assert np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1


@FUZZ
@given(blob=st.binary(max_size=512), ext=st.sampled_from(["png", "jpg", "tiff", "webp"]))
@example(blob=_broken_dds(), ext="png")  # PIL's DDS reader raised NotImplementedError
@example(blob=b"", ext="png")
def test_random_bytes_read_or_raise_input_error(tmp_path: Path, blob: bytes, ext: str) -> None:
    path = tmp_path / f"random.{ext}"
    path.write_bytes(blob)
    _read_both(path)


@FUZZ
@given(fmt=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_mutated_images_read_or_raise_input_error(tmp_path: Path, fmt: str, data: Any) -> None:
    blob = mutate_bytes(SEEDS[fmt], data, edits=5, max_cut=40, max_insert=16)
    path = tmp_path / f"mutated.{fmt}"
    path.write_bytes(blob)
    _read_both(path)
