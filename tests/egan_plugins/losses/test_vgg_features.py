"""The shared VGG16: layer resolutions, weight kinds and their preprocessing, failures."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch
import torchvision.models.vgg as tv_vgg

from egan_core.errors import CheckpointError, EganError
from egan_plugins.losses import vgg as vgg_mod
from egan_plugins.losses.vgg import Preprocess, VGG16Features, build_vgg, shared_vgg


def _image(n: int, size: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.fixture(scope="module")
def torchvision_features() -> torch.nn.Sequential:
    """``torchvision.models.vgg16().features`` (random weights; no download)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return tv_vgg.make_layers(tv_vgg.cfgs["D"]).eval()


@pytest.fixture(scope="module")
def torchvision_file(torchvision_features: torch.nn.Sequential,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A torchvision-layout VGG16 state dict in the legacy format of the hub's file."""
    sd = {f"features.{k}": v for k, v in torchvision_features.state_dict().items()}
    sd["classifier.0.weight"] = torch.zeros(2, 2)  # the real file has a classifier too
    path = tmp_path_factory.mktemp("vgg") / "vgg16-397923af.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=False)
    return path


def test_relu5_is_at_one_eighth_no_pool_after_relu4_3() -> None:
    vgg = shared_vgg("none")
    with torch.no_grad():
        feats = vgg(_image(1, 64), ("relu3_3", "relu4_3", "relu5_1", "relu5_3"))
    assert [tuple(f.shape[1:]) for f in feats] == [(256, 16, 16), (512, 8, 8), (512, 8, 8),
                                                  (512, 8, 8)]


def test_matches_torchvision_with_pool4_skipped(torchvision_features: torch.nn.Sequential,
                                                torchvision_file: Path) -> None:
    vgg = build_vgg(str(torchvision_file))
    assert vgg.preprocess.kind == "imagenet"
    x = _image(2, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        h = torchvision_features[:23](((x + 1) / 2 - mean) / std)  # up to relu4_3
        want = torchvision_features[24:26](h)  # index 25 = relu5_1, pool4 (23) skipped
        (got,) = vgg(x, ("relu5_1",))
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_stops_after_the_deepest_tap() -> None:
    vgg = shared_vgg("none")
    calls = []
    handle = vgg.conv4_1.register_forward_hook(lambda *a: calls.append(1))
    try:
        with torch.no_grad():
            vgg(_image(1, 16), ("relu3_3",))
        assert not calls
    finally:
        handle.remove()


def test_preprocessing_follows_the_kind() -> None:
    x = _image(1, 4)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(Preprocess("imagenet")(x), ((x + 1) / 2 - mean) / std)
    bgr = torch.cat([x[:, 2:3], x[:, 1:2], x[:, 0:1]], 1)
    torch.testing.assert_close(Preprocess("caffe")(x), (bgr + 1) * 127.5)


def test_original_caffe_weights_load_with_their_preprocessing(tmp_path: Path) -> None:
    source = VGG16Features()
    sd = {f"module.{k}": v for k, v in source.state_dict().items()}  # conv1_1.weight ...
    torch.save(sd, tmp_path / "vgg16.weight")
    vgg = build_vgg(str(tmp_path / "vgg16.weight"))
    assert vgg.preprocess.kind == "caffe"
    assert torch.equal(vgg.conv5_3.weight, source.conv5_3.weight)


def test_weights_are_frozen_and_in_eval_mode(torchvision_file: Path) -> None:
    vgg = build_vgg(str(torchvision_file))
    assert not vgg.training
    assert not any(p.requires_grad for p in vgg.parameters())


def test_none_is_random_seeded_and_warns() -> None:
    with pytest.warns(UserWarning, match="tests only"):
        a = build_vgg("none")
    with pytest.warns(UserWarning):
        b = build_vgg("none")
    assert torch.equal(a.conv3_3.weight, b.conv3_3.weight)
    assert shared_vgg("none") is shared_vgg("none")


def test_shared_per_resolved_path(torchvision_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(torchvision_file.parent)
    assert shared_vgg(torchvision_file.name) is shared_vgg(str(torchvision_file))


def test_bad_files_name_the_recipe_key(tmp_path: Path) -> None:
    with pytest.raises(EganError, match="vgg.weights"):
        build_vgg(str(tmp_path / "missing.pth"))
    torch.save({"something.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="vgg.weights"):
        build_vgg(str(tmp_path / "other.pth"))
    sd = {k: torch.zeros(1) for k in VGG16Features().state_dict()}  # wrong shapes
    torch.save(sd, tmp_path / "shapes.pth")
    with pytest.raises(CheckpointError, match="vgg.weights"):
        build_vgg(str(tmp_path / "shapes.pth"))
    (tmp_path / "corrupt.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="vgg.weights"):
        build_vgg(str(tmp_path / "corrupt.pth"))


def test_imagenet_without_network_fails_fast_with_the_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    with pytest.raises(EganError) as err:
        build_vgg("imagenet")
    msg = str(err.value)
    assert "vgg.weights" in msg and "none" in msg and "\n" not in msg
    assert "imagenet" not in vgg_mod._CACHE


def test_imagenet_uses_the_hub_cache(torchvision_file: Path, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / torchvision_file.name).write_bytes(torchvision_file.read_bytes())
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", pytest.fail)
    vgg = build_vgg("imagenet")
    assert vgg.preprocess.kind == "imagenet"


def test_frozen_weights_follow_autocast_and_layout_and_are_remade_when_changed() -> None:
    vgg = VGG16Features("imagenet")
    with torch.no_grad():
        for name in ("conv1_1", "conv1_2", "conv2_1"):
            vgg.get_submodule(name).weight.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
    vgg.eval().requires_grad_(False)
    x = _image(2, 16).contiguous(memory_format=torch.channels_last)
    layers = ("relu2_1",)
    with torch.no_grad():
        plain = vgg(x.contiguous(), layers)[0]
        (cl,) = vgg(x, layers)
        assert cl.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(cl, plain, rtol=1e-4, atol=1e-4)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            (low,) = vgg(x, layers)
        assert low.dtype == torch.bfloat16
        torch.testing.assert_close(low.float(), plain, rtol=0.05, atol=0.05)
        vgg.conv1_1.weight.mul_(2.0)  # in place: the prepared copy must be remade
        (changed,) = vgg(x, layers)
        assert not torch.allclose(changed, cl)
    vgg.requires_grad_(True)  # trainable: the modules themselves run
    assert vgg._weights(x) is None
