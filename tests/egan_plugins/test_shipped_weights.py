"""Every shipped weights record states the truth about its file, and the enhancers read it."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from safetensors import safe_open

from egan_core.checkpoint import load_file
from egan_core.contracts import ShipsWeights
from egan_core.errors import EganError
from egan_core.model_loading import load_generator
from egan_core.plugins import get_registries
from egan_core.weights import WeightsRecord, file_sha256
from egan_plugins.enhancers import fast, gan, zoo
from egan_plugins.shipped import (
    DEFAULT_MODEL,
    FAST_DETAIL_MODEL,
    FAST_MODEL,
    PAIRLIE_MODEL,
    SHIPPED,
    WEIGHTS_DIR,
    ZERO_DCE_PP_MODEL,
)

RECORDS = pytest.mark.parametrize("record", SHIPPED, ids=[r.name for r in SHIPPED])


def test_every_shipped_file_has_one_record() -> None:
    assert sorted(r.file for r in SHIPPED) == sorted(WEIGHTS_DIR.glob("*.safetensors"))
    assert len({r.name for r in SHIPPED}) == len(SHIPPED)


@RECORDS
def test_the_file_is_the_recorded_one(record: WeightsRecord) -> None:
    assert record.file.is_file()
    assert file_sha256(record.file) == record.sha256


@RECORDS
def test_the_file_names_the_recorded_generator_and_kwargs(record: WeightsRecord) -> None:
    with safe_open(str(record.file), framework="pt") as fh:
        meta = fh.metadata()
    assert meta["name"] == record.generator
    assert json.loads(meta["kwargs"]) == dict(record.kwargs)


@RECORDS
def test_the_recorded_generator_builds_and_takes_the_weights(record: WeightsRecord) -> None:
    factory = get_registries().generators.get(record.generator)
    model = factory(**record.kwargs)
    model.load_state_dict(load_file(record.file), strict=True)
    assert type(load_generator(record.file)) is type(model)


@RECORDS
def test_the_record_states_its_terms_and_origin(record: WeightsRecord) -> None:
    for fact in (record.licence, record.data, record.method, record.source):
        assert fact.strip()
    assert "python scripts/make_" in record.source  # the script that wrote the file


def test_every_record_is_registered_as_a_model_of_egan_and_names_its_enhancer() -> None:
    registries = get_registries()
    assert [registries.models.get(r.name) for r in SHIPPED] == list(SHIPPED)
    assert {registries.models.entry(r.name).provider for r in SHIPPED} == {"egan"}
    assert [r.enhancer for r in SHIPPED] == ["gan", "fast", "fast", "zero_dce_pp", "pairlie"]
    assert all(r.enhancer in registries.enhancers for r in SHIPPED)


def test_research_only_data_makes_research_only_weights() -> None:
    for record in (FAST_MODEL, FAST_DETAIL_MODEL, ZERO_DCE_PP_MODEL, PAIRLIE_MODEL):
        assert "CC BY-NC 4.0" in record.data and "research" in record.licence


def test_the_enhancers_and_init_default_read_the_records() -> None:
    assert gan.default_record() == DEFAULT_MODEL and gan.default_checkpoint() == DEFAULT_MODEL.file
    assert gan.DEFAULT_WEIGHTS == DEFAULT_MODEL.file
    assert fast.FAST_WEIGHTS == FAST_MODEL.file and zoo.ZERO_DCE_PP_WEIGHTS == ZERO_DCE_PP_MODEL.file
    unet = get_registries().generators.get(DEFAULT_MODEL.generator)
    assert isinstance(unet, ShipsWeights) and unet.shipped_weights() == DEFAULT_MODEL


def test_missing_shipped_files_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    absent = tmp_path / "absent.safetensors"
    monkeypatch.setattr(gan, "DEFAULT_WEIGHTS", absent)
    monkeypatch.setattr(fast, "FAST_MODEL", dataclasses.replace(FAST_MODEL, file=absent))
    monkeypatch.setattr(fast, "FAST_DETAIL_MODEL", dataclasses.replace(FAST_DETAIL_MODEL, file=absent))
    monkeypatch.setattr(zoo, "ZERO_DCE_PP_MODEL", dataclasses.replace(ZERO_DCE_PP_MODEL, file=absent))
    monkeypatch.setattr(zoo, "PAIRLIE_MODEL", dataclasses.replace(PAIRLIE_MODEL, file=absent))
    for make, message in (
        (gan.gan_enhancer, "no default model is shipped yet; pass --checkpoint FILE (an egan checkpoint"
                           " or an original EnlightenGAN *_net_G_A.pth) or --recipe RECIPE"),
        (fast.fast_enhancer, f"the fast model's weights are missing ({absent}); pass --checkpoint"),
        (lambda: fast.fast_enhancer(detail=True), f"the fast v2 weights are missing ({absent}); use fast "
                                                  "without detail, or pass --checkpoint"),
        (zoo.zero_dce_pp_enhancer, f"the zero_dce_pp weights are missing ({absent}); pass --checkpoint"),
        (zoo.pairlie_enhancer, f"the pairlie weights are missing ({absent}); pass --checkpoint (e.g. the"
                               " released PairLIE.pth)"),
    ):
        with pytest.raises(EganError) as caught:
            make()
        assert str(caught.value) == message
