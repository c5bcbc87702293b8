"""Registry: register / get / names, and the errors a plugin author or user meets."""

from __future__ import annotations

import pickle

import pytest
from torch import nn

from egan_core import DuplicateNameError, ObjectSpec, Registries, UnknownNameError
from egan_core.registry import KINDS


class StyleFeat(nn.Module):
    pass


class TV(nn.Module):
    pass


def test_register_get_names_and_provider() -> None:
    regs = Registries()
    with regs.providing("egan-extra"):
        regs.losses.register("tv", TV)
        regs.losses.register("stylefeat", StyleFeat)
    assert regs.losses.get("tv") is TV
    assert regs.losses.names() == ["stylefeat", "tv"]
    assert "tv" in regs.losses and "nope" not in regs.losses
    assert len(regs.losses) == 2
    assert regs.losses.entry("stylefeat").provider == "egan-extra"
    assert [e.name for e in regs.losses] == ["stylefeat", "tv"]
    assert [r.kind for r in regs] == list(KINDS)


def test_duplicate_registration_names_both_providers() -> None:
    regs = Registries()
    with regs.providing("egan"):
        regs.losses.register("tv", TV)
    with pytest.raises(DuplicateNameError) as err, regs.providing("egan-extra"):
        regs.losses.register("tv", StyleFeat)
    message = str(err.value)
    assert "loss 'tv'" in message and "'egan'" in message and "'egan-extra'" in message
    assert isinstance(err.value, ValueError)
    assert regs.losses.get("tv") is TV  # the first registration wins


def test_unknown_name_suggests_closest_and_lists_known() -> None:
    regs = Registries()
    for name, factory in (("stylefeat", StyleFeat), ("relu5_1", TV), ("relu5_3", TV)):
        regs.losses.register(name, factory)
    with pytest.raises(UnknownNameError) as err:
        regs.losses.get("styel_feat")
    message = str(err.value)
    assert message.startswith("unknown loss 'styel_feat'; did you mean 'stylefeat'? known: ")
    assert "relu5_1, relu5_3, stylefeat" in message
    assert "egan plugins" in message
    assert "\n" not in message
    assert isinstance(err.value, LookupError)
    assert err.value.suggestion == ["stylefeat"]


def test_unknown_name_without_close_match_still_reads_well() -> None:
    regs = Registries()
    regs.generators.register("attention_unet", TV)
    with pytest.raises(UnknownNameError, match=r"^unknown generator 'zzz'; known: attention_unet "):
        regs.generators.get("zzz")
    with pytest.raises(UnknownNameError, match=r"unknown enhancer 'gan'; known: \(none\)"):
        regs.enhancers.get("gan")


def test_unknown_name_error_survives_pickling() -> None:
    regs = Registries()
    regs.losses.register("stylefeat", StyleFeat)
    with pytest.raises(UnknownNameError) as err:
        regs.losses.get("styel_feat")
    copy = pickle.loads(pickle.dumps(err.value))
    assert str(copy) == str(err.value)


@pytest.mark.parametrize("bad", [3, "a string", ObjectSpec("car")])
def test_non_callable_registration_refused(bad: object) -> None:
    regs = Registries()
    with pytest.raises(TypeError, match="loss 'x' must be callable"):
        regs.losses.register("x", bad)
    assert "x" not in regs.losses


@pytest.mark.parametrize("name", ["", "two words", "a.b", "a=b", "a/b", None, 3])
def test_bad_names_refused(name: object) -> None:
    with pytest.raises(ValueError, match="name must be"):
        Registries().losses.register(name, TV)  # type: ignore[arg-type]


def test_objects_must_be_object_specs_under_their_name() -> None:
    regs = Registries()
    with pytest.raises(TypeError, match="ObjectSpec"):
        regs.objects.register("car", "car")
    with pytest.raises(ValueError, match="ObjectSpec name 'bus'"):
        regs.objects.register("car", ObjectSpec("bus"))


def test_find_object_resolves_aliases_case_insensitively() -> None:
    regs = Registries()
    people = ObjectSpec("people", aliases=("person",))
    table = ObjectSpec("table", aliases=("dining table",))
    regs.objects.register("people", people)
    regs.objects.register("table", table)
    assert regs.find_object("people") is people
    assert regs.find_object("Person") is people
    assert regs.find_object("dining_table") is table
    with pytest.raises(UnknownNameError, match="did you mean 'people'"):
        regs.find_object("peple")
    with pytest.raises(UnknownNameError):
        regs.find_object(3)  # type: ignore[arg-type]


def test_object_alias_clash_is_a_duplicate() -> None:
    regs = Registries()
    with regs.providing("egan"):
        regs.objects.register("people", ObjectSpec("people", aliases=("person",)))
    with pytest.raises(DuplicateNameError, match="'person' already means object 'people'.*'egan'"):
        with regs.providing("egan-extra"):
            regs.objects.register("person", ObjectSpec("person"))
    assert regs.objects.names() == ["people"]


def test_providing_rolls_back_only_its_own_block() -> None:
    regs = Registries()
    with regs.providing("acme"):
        regs.losses.register("first", TV)
    with pytest.raises(RuntimeError), regs.providing("acme"):  # same provider, later plugin
        regs.losses.register("second", TV)
        regs.generators.register("second_gen", TV)
        raise RuntimeError("boom")
    assert regs.losses.names() == ["first"]
    assert regs.generators.names() == []
    assert regs.current_provider == "<direct>"


def test_unknown_name_hint_names_broken_plugins() -> None:
    regs = Registries()
    regs.broken["egan-vgg19:plugin"] = "import of 'egan_vgg19' failed: ImportError: no torchvision"
    with pytest.raises(UnknownNameError) as err:
        regs.losses.get("vgg19")
    assert "plugin 'egan-vgg19:plugin' is broken: import of 'egan_vgg19' failed" in str(err.value)
