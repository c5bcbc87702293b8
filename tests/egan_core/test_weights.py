"""Weights records: the shipped-or-given choice, writing a record's file, the record's checks,
and the model cards, table and JSON made from a record."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from torch import nn

from egan_core.errors import EganError, UnknownNameError
from egan_core.model_loading import load_generator
from egan_core.registry import Registries
from egan_core.weights import (
    Figure,
    Speed,
    WeightsRecord,
    card_markdown,
    checkpoint_or_shipped,
    file_sha256,
    package_path,
    record_dict,
    save_weights,
    table_markdown,
)


class Tiny(nn.Module):
    """A generator of the test's own: one 1x1 convolution, ``width`` wide."""

    def __init__(self, width: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 1)


def _record(file: Path, **changes: object) -> WeightsRecord:
    fields = {"name": "tiny", "file": file, "generator": "tiny", "kwargs": {"width": 5},
              "method": "made by the test", "licence": "test only", "data": "none (random weights)",
              "source": "tests/egan_core/test_weights.py", "sha256": "0" * 64, **changes}
    return WeightsRecord(**fields)  # type: ignore[arg-type]


def _registries() -> Registries:
    regs = Registries()
    regs.generators.register("tiny", Tiny)
    return regs


def test_a_given_checkpoint_wins_over_the_shipped_file(tmp_path: Path) -> None:
    shipped = tmp_path / "tiny.safetensors"
    shipped.write_bytes(b"x")
    record = _record(shipped)
    assert checkpoint_or_shipped(None, record) == shipped
    assert checkpoint_or_shipped("other.pt", record) == Path("other.pt")
    assert checkpoint_or_shipped(tmp_path / "gone.pt", _record(tmp_path / "absent")) == tmp_path / "gone.pt"


def test_a_missing_shipped_file_is_one_line_saying_to_pass_checkpoint(tmp_path: Path) -> None:
    absent = tmp_path / "absent.safetensors"
    with pytest.raises(EganError) as caught:
        checkpoint_or_shipped(None, _record(absent))
    message = str(caught.value)
    assert message == f"the tiny model's weights are missing ({absent}); pass --checkpoint"
    worded = _record(absent, missing="no tiny model here ({file}); pass --checkpoint FILE")
    with pytest.raises(EganError) as caught:
        checkpoint_or_shipped(None, worded)
    assert str(caught.value) == f"no tiny model here ({absent}); pass --checkpoint FILE"


def test_save_weights_writes_what_load_generator_rebuilds(tmp_path: Path) -> None:
    model = Tiny(width=5)
    record = _record(tmp_path / "tiny.safetensors")
    path = save_weights(record, model.state_dict(), metadata={"step": "12"})
    assert path == record.file
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
    assert meta["name"] == "tiny" and json.loads(meta["kwargs"]) == {"width": 5}
    assert meta["source"] == record.source and meta["step"] == "12"
    loaded = load_generator(path, _registries())
    assert isinstance(loaded, Tiny) and loaded.conv.out_channels == 5
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in loaded.state_dict().items())
    elsewhere = save_weights(record, model.state_dict(), tmp_path / "copy.safetensors")
    assert elsewhere == tmp_path / "copy.safetensors" and elsewhere.is_file()


def test_file_sha256_is_the_hex_digest_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"weights" * 1000)
    assert file_sha256(path) == hashlib.sha256(b"weights" * 1000).hexdigest()
    _record(path, sha256=file_sha256(path))


def test_a_record_is_frozen_and_checked(tmp_path: Path) -> None:
    record = _record(str(tmp_path / "tiny.safetensors"))  # a str becomes a Path
    assert isinstance(record.file, Path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.sha256 = "1" * 64  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.kwargs["width"] = 6  # type: ignore[index]
    kwargs = {"width": 5}
    assert _record(tmp_path, kwargs=kwargs).kwargs == kwargs
    for bad in ("0" * 63, "G" * 64, "A" * 64, ""):
        with pytest.raises(ValueError, match="sha256"):
            _record(tmp_path, sha256=bad)
    with pytest.raises(ValueError, match="one line"):
        _record(tmp_path, missing="two\nlines")


_PSNR = Figure("PSNR to the teacher", "27.10", "dB", "mean of 4 held-out photos",
               "egan eval ho --metric psnr", "2026-01-02", "per photo 26 | 28")
_SPEED = Speed("0.50", "MP/s", "a 2-core test CPU", "1 MP, 2 threads", "python bench.py", "2026-01-03",
               "eager 0.2 MP/s")


def _carded(file: Path, **changes: object) -> WeightsRecord:
    return _record(file, enhancer="tiny_enhancer", title="a tiny test model", summary="One convolution.",
                   usage="egan enhance x.png --out out/ --enhancer tiny_enhancer", quality=[_PSNR],
                   speed=[_SPEED], compute="no time at all",
                   source=("the test's recipe; egan run recipes/tiny.yaml --out runs; "
                           "python scripts/make_tiny.py"),
                   **changes)


def test_figures_keep_their_digits_and_refuse_what_cannot_be_compared() -> None:
    assert _PSNR.value == Decimal("27.10") and str(_PSNR.value) == "27.10"
    assert _PSNR.amount() == "27.10 dB" and _SPEED.amount() == "0.50 MP/s"
    assert Figure("SSIM", "0.850", "", "4 photos").amount() == "0.850"
    with pytest.raises(TypeError, match="string"):
        Figure("SSIM", 0.85, "", "4 photos")  # type: ignore[arg-type]
    for bad in ("n/a", "nan", "inf"):
        with pytest.raises(ValueError, match="number"):
            Figure("SSIM", bad, "", "4 photos")
    with pytest.raises(ValueError, match="protocol"):
        Figure("SSIM", "0.9", "", " ")
    with pytest.raises(ValueError, match="cpu"):
        Speed("1", "MP/s", "", "1 MP", "python bench.py")
    with pytest.raises(ValueError, match="command"):
        Speed("1", "MP/s", "a CPU", "1 MP", "")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        Figure("SSIM", "0.9", "", "4 photos", date="30 Nov 2026")
    with pytest.raises(dataclasses.FrozenInstanceError):
        _PSNR.value = Decimal(1)  # type: ignore[misc]


def test_a_record_holds_its_figures_as_tuples_of_their_type(tmp_path: Path) -> None:
    record = _carded(tmp_path / "tiny.safetensors")
    assert record.quality == (_PSNR,) and record.speed == (_SPEED,)
    with pytest.raises(TypeError, match="quality"):
        _record(tmp_path, quality=[_SPEED])
    with pytest.raises(TypeError, match="speed"):
        _record(tmp_path, speed=[_PSNR])


def test_package_path_names_a_file_from_its_top_level_package(tmp_path: Path) -> None:
    package = tmp_path / "pkg" / "sub"
    (package / "weights").mkdir(parents=True)
    for folder in (tmp_path / "pkg", package):
        (folder / "__init__.py").write_text("")
    assert package_path(package / "weights" / "w.safetensors") == "pkg/sub/weights/w.safetensors"
    assert package_path(tmp_path / "loose.safetensors") == "loose.safetensors"


def test_the_card_states_every_fact_of_the_record(tmp_path: Path) -> None:
    record = _carded(tmp_path / "tiny.safetensors")
    card = card_markdown(record)
    assert card.startswith("## tiny: a tiny test model\n")
    for fact in ("One convolution.", "`tiny_enhancer`", record.usage, "Made by the test.", "27.10 dB",
                 _PSNR.metric, _PSNR.protocol, f"`{_PSNR.command}`, 2026-01-02",
                 "- PSNR to the teacher, 27.10 dB: per photo 26 | 28",
                 "0.50 MP/s", _SPEED.cpu, _SPEED.protocol, f"`{_SPEED.command}`", "eager 0.2 MP/s",
                 record.data, record.licence, "The test's recipe.", "Compute: no time at all.",
                 "`tiny.safetensors`: generator `tiny` (width=5)", record.sha256):
        assert fact in card, fact
    assert ("-->\n```bash\negan run recipes/tiny.yaml --out runs\npython scripts/make_tiny.py\n```"
            in card)
    assert card.split("```bash")[0].splitlines()[-1].startswith("<!-- not run: ")
    assert str(tmp_path) not in card
    bare = card_markdown(_record(tmp_path / "tiny.safetensors"))
    assert "No quality figure is recorded." in bare and "No speed figure is recorded." in bare


def test_long_commands_break_before_options() -> None:
    long = "egan run r.yaml " + " ".join(f"--set key{i}=value{i}" for i in range(12))
    card = card_markdown(_record(Path("t.safetensors"), source=long))
    lines = card.split("```bash\n")[1].split("\n```")[0].splitlines()
    assert len(lines) > 1 and all(len(line) <= 100 for line in lines)
    assert all(line.endswith(" \\") for line in lines[:-1]) and lines[1].startswith("    --set")
    assert " ".join(line.rstrip(" \\").strip() for line in lines) == long


def test_the_table_has_one_row_per_model_with_headline_figures(tmp_path: Path) -> None:
    plain = _record(tmp_path / "b", name="plain", licence="test | only")
    table = table_markdown([_carded(tmp_path / "a"), plain])
    header, rule, first, second = table.strip().splitlines()
    assert header == "| model | enhancer | method | speed (CPU) | quality (protocol) | licence |"
    assert rule == "|---|---|---|---|---|---|"
    assert first == ("| `tiny` | `tiny_enhancer` | a tiny test model | 0.50 MP/s (1 MP, 2 threads; a 2-core "
                     "test CPU) | PSNR to the teacher: 27.10 dB (mean of 4 held-out photos) | test only |")
    assert second == "| `plain` |  | made by the test | not measured | not measured | test \\| only |"


def test_record_dict_is_json_with_no_path_of_this_machine(tmp_path: Path) -> None:
    record = _carded(tmp_path / "tiny.safetensors")
    text = json.dumps(record_dict(record))
    assert str(tmp_path) not in text
    data = json.loads(text)
    assert data["file"] == "tiny.safetensors" and data["kwargs"] == {"width": 5}
    assert data["quality"][0] == {"metric": _PSNR.metric, "value": 27.1, "unit": "dB",
                                  "protocol": _PSNR.protocol, "command": _PSNR.command,
                                  "date": "2026-01-02", "note": _PSNR.note}
    assert data["speed"][0]["cpu"] == _SPEED.cpu and data["enhancer"] == "tiny_enhancer"


def test_the_models_registry_takes_records_only(tmp_path: Path) -> None:
    regs = Registries()
    record = _carded(tmp_path / "tiny.safetensors")
    with regs.providing("egan-tiny"):
        regs.models.register("tiny", record)
    assert regs.models.get("tiny") is record and regs.models.entry("tiny").provider == "egan-tiny"
    with pytest.raises(TypeError, match="WeightsRecord"):
        regs.models.register("other", Tiny)
    with pytest.raises(ValueError, match="WeightsRecord name 'tiny'"):
        regs.models.register("other", record)
    with pytest.raises(UnknownNameError, match=r"^unknown model 'tinny'; did you mean 'tiny'\? known: tiny"):
        regs.models.get("tinny")
