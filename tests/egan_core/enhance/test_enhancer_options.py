"""Enhancer options on the command line (``--enhancer clahe:clip_limit=3,tiles=4``) and a
plugin enhancer chained between built-ins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import egan_core
from egan_core.cli.main import cli
from egan_core.enhance.specs import parse_spec, split_chain
from egan_core.errors import UsageError
from egan_core.registry import Registries
from egan_core.testing import PluginManagerFactory, make_plugin, save_tiny_checkpoint


def _egan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "egan_core", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _png(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_parse_spec_reads_yaml_scalars() -> None:
    assert parse_spec("clahe") == ("clahe", {})
    assert parse_spec("clahe:clip_limit=3,tiles=4") == ("clahe", {"clip_limit": 3, "tiles": 4})
    assert parse_spec("x: a=1.5 , b=true,c=null,d=word,e=1e-3") == (
        "x", {"a": 1.5, "b": True, "c": None, "d": "word", "e": "1e-3"})  # floats: see signature
    assert split_chain("gan:checkpoint=a.pt+denoise:h=1e+1") == ["gan:checkpoint=a.pt",
                                                                  "denoise:h=1e+1"]
    for bad, words in [(":h=1", "no name"), ("clahe:", "no options"),
                       ("clahe:clip_limit", "not KEY=VALUE"), ("clahe:a=1,a=2", "twice"),
                       ("clahe:a=[1", "not valid YAML")]:
        with pytest.raises(UsageError, match=words):
            parse_spec(bad)


def test_api_options_per_enhancer(dark) -> None:
    image = dark(64, 80)
    by_spec = egan_core.load_enhancer("clahe:clip_limit=3,tiles=4", device="cpu")(image)
    by_kwargs = egan_core.load_enhancer("clahe", clip_limit=3.0, tiles=4, device="cpu")(image)
    assert np.array_equal(by_spec, by_kwargs)
    assert not np.array_equal(by_spec, egan_core.load_enhancer("clahe", device="cpu")(image))
    with pytest.raises(UsageError, match=r"unknown option 'clahe:clip_limt' for enhancer "
                                         r"'clahe'; did you mean 'clip_limit'\? valid keys: "
                                         r"clip_limit, tiles$"):
        egan_core.load_enhancer("clahe:clip_limt=3", device="cpu")
    with pytest.raises(UsageError, match="^clahe:tiles must be an integer, got 'many'$"):
        egan_core.load_enhancer("clahe:tiles=many", device="cpu")
    with pytest.raises(UsageError, match="'gan:device' is set by egan itself"):
        egan_core.load_enhancer("gan:device=cpu", device="cpu")
    with pytest.raises(UsageError, match="h is given twice"):
        egan_core.load_enhancer("denoise:h=3", h=4.0, device="cpu")


def test_cli_options_as_subprocess(tmp_path: Path, write_image, dark) -> None:
    image = dark(64, 80)
    write_image("in/a.png", image)
    done = _egan("enhance", "in", "--out", "out", "--device", "cpu",
                 "--enhancer", "clahe:clip_limit=3,tiles=4", "--enhancer", "denoise:h=6,h_color=2",
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    expected = egan_core.load_enhancer(["clahe", "denoise"], clip_limit=3.0, tiles=4, h=6.0,
                                       h_color=2.0, device="cpu")(image)
    assert np.array_equal(_png(tmp_path / "out" / "a.png"), expected)

    for spec, words in [("clahe:clip_limt=3", "unknown option 'clahe:clip_limt' for enhancer "
                                               "'clahe'; did you mean 'clip_limit'?"),
                        ("denoise:h=strong", "denoise:h must be a number or null, got 'strong'")]:
        bad = _egan("enhance", "in", "--out", "bad", "--enhancer", spec, cwd=tmp_path)
        assert bad.returncode == 2, bad.stderr
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {words}")
        assert "Traceback" not in bad.stderr and not (tmp_path / "bad").exists()
    bad = _egan("compare", "in", "--out", "cmp", "--enhancer", "clahe:tiles=two", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: clahe:tiles must be an integer, got 'two'")


def test_help_documents_the_syntax() -> None:
    for command in ("enhance", "compare"):
        result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
        assert result.exit_code == 0
        assert "NAME[:KEY=VALUE,...]" in result.output
        assert "clahe:clip_limit=3,tiles=4" in result.output


class _Gain:
    """A plugin enhancer that multiplies by ``gain`` and records what it was given."""

    seen: list[torch.Tensor] = []

    def __init__(self, gain: float = 1.0, device: torch.device | None = None) -> None:
        self.gain = gain

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _Gain.seen.append(x.clone())
        return x * self.gain


def _register_gain(registries: Registries) -> None:
    registries.enhancers.register("gain", _Gain)


@pytest.fixture
def gain_plugin(plugin_manager: PluginManagerFactory) -> list[torch.Tensor]:
    """The ``gain`` enhancer registered through make_plugin for this test (CLI included)."""
    plugin_manager(extra=[("egan-test-gain", make_plugin(_register_gain))], activate=True)
    _Gain.seen = []
    return _Gain.seen


def test_plugin_enhancer_chains_between_gan_and_denoise(tmp_path: Path, dark,
                                                        gain_plugin: list[torch.Tensor]) -> None:
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pt", seed=1)
    image = dark(64, 80)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    chain = egan_core.load_enhancer(["gan", "gain:gain=1.5", "denoise"], checkpoint=ckpt,
                                    device="cpu", precision="fp32")
    assert chain.names == ["gan", "gain", "denoise"]
    out = chain(x)

    # denoise, after an enhancer, cleaned the chain's input first (CleansChainInput); gan
    # brightened that, and gain ran second, on exactly what gan made
    cleaned = chain.stages[2].clean_input(x)
    assert not torch.equal(cleaned, x)
    gan_out = egan_core.load_enhancer("gan", checkpoint=ckpt, device="cpu", precision="fp32")(cleaned)
    (seen,) = gain_plugin
    assert not torch.equal(gan_out, cleaned) and torch.equal(seen, gan_out)
    assert torch.equal(out, (gan_out * 1.5).clamp(0, 1))

    # the same chain from the command line, with the plugin's option set there
    Image.fromarray(image).save(tmp_path / "a.png")
    result = CliRunner().invoke(cli, [
        "enhance", str(tmp_path / "a.png"), "--out", str(tmp_path / "out"), "--device", "cpu",
        "--checkpoint", str(ckpt), "--precision", "fp32",
        "--enhancer", "gan", "--enhancer", "gain:gain=1.5", "--enhancer", "denoise"])
    assert result.exit_code == 0, result.output
    assert torch.equal(gain_plugin[1], seen)
    assert np.array_equal(_png(tmp_path / "out" / "a.png"), chain(image))
    wrong = CliRunner().invoke(cli, ["enhance", str(tmp_path / "a.png"), "--out",
                                     str(tmp_path / "o2"), "--enhancer", "gain:gian=2"])
    assert wrong.exit_code == 2
    assert "unknown option 'gain:gian' for enhancer 'gain'; did you mean 'gain'?" in wrong.output
