"""One rule for exit codes across every command (see :mod:`egan_core.errors`).

What the user typed is wrong (an unknown key, name or option, a path that does not exist)
-> exit 2 and one ``error:`` line naming the thing; the inputs or the work failed -> exit 1.
In process through click's CliRunner, and a few commands as real subprocesses.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from egan_core.cli.main import cli
from egan_core.testing import make_tiny_recipe

#: Files every case may name, made by the ``work`` fixture in the current folder.
PHOTO, CORRUPT, RECIPE, TYPO_RECIPE, JUNK = "photo.png", "bad/corrupt.png", "r.yaml", "typo.yaml", "junk.pt"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a photo, a corrupt image (with a good one), recipes, a junk checkpoint
    and an ExDark-style annotated folder; the current directory for the test."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 90, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / PHOTO)
    (tmp_path / "bad").mkdir()
    Image.fromarray(pixels).save(tmp_path / "bad" / "good.png")
    (tmp_path / CORRUPT).write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (tmp_path / RECIPE).write_text(yaml.safe_dump(make_tiny_recipe(max_steps=1)))
    (tmp_path / TYPO_RECIPE).write_text(yaml.safe_dump({**make_tiny_recipe(), "trian": {}}))
    (tmp_path / JUNK).write_bytes(b"this is not a checkpoint")
    for folder in ("images/Car", "ann/Car"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "images" / "Car" / "x.png").write_bytes(b"garbage")
    (tmp_path / "ann" / "Car" / "x.png.txt").write_text("% bbGt version=3\nCar 0 0 90 90 0\n")
    return tmp_path


def error_lines(output: str) -> list[str]:
    """The ``error: ...`` lines (click's own usage errors say ``Error: ...``)."""
    return [line for line in output.splitlines() if line.lower().startswith("error:")]


#: (command line, what the one error line must name). Each must exit 2, having done nothing.
TYPED_WRONG = {
    "run key typo in --set": (["run", RECIPE, "--set", "data.lenght=3"], "data.lenght"),
    "run key typo in the file": (["run", TYPO_RECIPE], "trian"),
    "run unknown component": (["run", RECIPE, "--set", "model.generator.name=unett"], "unett"),
    "run bad value": (["run", RECIPE, "--set", "train.lr=-1"], "train.lr"),
    "run missing recipe": (["run", "nope.yaml"], "nope.yaml"),
    "run unknown option": (["run", RECIPE, "--bogus"], "--bogus"),
    "enhance unknown enhancer": (["enhance", PHOTO, "--out", "o", "--enhancer", "cllahe"], "cllahe"),
    "enhance wrong option": (["enhance", PHOTO, "--out", "o", "--enhancer", "clahe:nope=1"], "nope"),
    "enhance missing folder": (["enhance", "missing_dir/", "--out", "o", "--enhancer", "clahe"],
                               "'missing_dir/': no such file"),
    "enhance one missing of two": (["enhance", PHOTO, "gone.png", "--out", "o", "--enhancer", "clahe"],
                                   "'gone.png': no such file"),
    "enhance glob matching nothing": (["enhance", "none*.png", "--out", "o", "--enhancer", "clahe"],
                                      "'none*.png'"),
    "enhance missing checkpoint": (["enhance", PHOTO, "--out", "o", "--checkpoint", "nope.pt"],
                                   "nope.pt"),
    "eval missing folder": (["eval", "missing/", "--metric", "niqe"], "missing/"),
    "eval unknown metric": (["eval", "bad", "--metric", "lpips"], "lpips"),
    "compare missing folder": (["compare", "missing/", "--enhancer", "clahe", "--out", "c"], "missing/"),
    "compare unknown enhancer": (["compare", "bad", "--enhancer", "cllahe", "--out", "c"], "cllahe"),
    "compare wrong option": (["compare", "bad", "--enhancer", "clahe:nope=1", "--out", "c"], "nope"),
    "export missing checkpoint": (["export", "--checkpoint", "nope.pt", "--format", "onnx",
                                   "--out", "x.onnx"], "nope.pt"),
    "export missing recipe": (["export", "--recipe", "nope.yaml", "--format", "onnx",
                               "--out", "x.onnx"], "nope.yaml"),
    "recipe show key typo in --set": (["recipe", "show", RECIPE, "--set", "data.lenght=3"], "data.lenght"),
    "recipe show key typo in the file": (["recipe", "show", TYPO_RECIPE], "trian"),
    "recipe show unknown loss": (["recipe", "show", RECIPE, "--set", "losses.tvv.weight=1"], "tvv"),
    "recipe show bad override": (["recipe", "show", RECIPE, "--set", "oops"], "oops"),
    "recipe show missing recipe": (["recipe", "show", "nope.yaml"], "nope.yaml"),
    "demo missing checkpoint": (["demo", "--checkpoint", "nope.pt"], "nope.pt"),
    "doctor missing recipe": (["doctor", "--recipe", "nope.yaml"], "nope.yaml"),
    "doctor key typo": (["doctor", "--recipe", TYPO_RECIPE], "trian"),
    "data missing images": (["data", "crop-objects", "nope", "--annotations", "ann", "--out", "d"],
                            "nope"),
    "data unknown object": (["data", "crop-objects", "images", "--annotations", "ann", "--out", "d",
                             "--object", "kar"], "kar"),
    "unknown command": (["enhanse", PHOTO], "enhanse"),
}

#: (command line, what the one error line must name). Each must exit 1.
FAILED = {
    "run corrupt init checkpoint": (["run", RECIPE, "--set", f"model.generator.init={JUNK}",
                                     "--out", "runs", "--device", "cpu", "-q"], JUNK),
    "enhance corrupt image": (["enhance", CORRUPT, "--out", "o", "--enhancer", "clahe"],
                              "1 of 1 failed"),
    "enhance corrupt checkpoint": (["enhance", PHOTO, "--out", "o", "--checkpoint", JUNK], JUNK),
    "eval corrupt image": (["eval", "bad", "--metric", "brightness"], "corrupt.png"),
    "compare corrupt image": (["compare", "bad", "--enhancer", "clahe", "--out", "c"], "corrupt.png"),
    "export corrupt checkpoint": (["export", "--checkpoint", JUNK, "--format", "torchscript",
                                   "--out", "x.pt"], JUNK),
    "data corrupt image": (["data", "crop-objects", "images", "--annotations", "ann", "--out", "d"],
                           "could not be read"),
}


def invoke(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, prog_name="egan")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("case", list(TYPED_WRONG))
def test_what_the_user_typed_wrong_exits_2(work: Path, case: str) -> None:
    args, named = TYPED_WRONG[case]
    code, output = invoke(args)
    assert code == 2, output
    assert "Traceback" not in output
    (line,) = error_lines(output)
    assert named in line, line
    assert not any((work / folder).exists() for folder in ("o", "c", "d", "runs", "x.onnx"))


@pytest.mark.parametrize("case", list(FAILED))
def test_failed_inputs_exit_1(work: Path, case: str) -> None:
    args, named = FAILED[case]
    code, output = invoke(args)
    assert code == 1, output
    assert "Traceback" not in output
    lines = error_lines(output)
    assert lines and any(named in line for line in lines), output


def test_an_existing_folder_without_images_is_a_failed_input(work: Path) -> None:
    (work / "empty").mkdir()
    code, output = invoke(["enhance", "empty", "--out", "o", "--enhancer", "clahe"])
    assert code == 1, output
    (line,) = error_lines(output)
    assert line == "error: no images or videos found in empty"


def test_as_users_run_them(work: Path) -> None:
    """The same rule through the real program: a typo'd recipe key and a missing folder exit
    2, a corrupt image 1 (three processes at once: they spend their time importing torch)."""
    argv = [sys.executable, "-m", "egan_core"]
    runs = [
        (2, [*argv, "run", RECIPE, "--set", "data.lenght=3"], "error: unknown recipe key 'data.lenght'"),
        (2, [*argv, "enhance", "missing_dir/", "--out", "o", "--enhancer", "clahe"],
         "error: 'missing_dir/': no such file, folder or matching image"),
        (1, [*argv, "enhance", CORRUPT, "--out", "o", "--enhancer", "clahe"],
         f"error: 1 of 1 failed: {CORRUPT}"),
    ]
    procs = [subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _, cmd, _ in runs]
    for (code, cmd, last), proc in zip(runs, procs, strict=True):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == code, (cmd, err)
        assert "Traceback" not in err
        assert error_lines(err)[-1].startswith(last), err
        if code == 2:
            assert err.strip().splitlines() == error_lines(err), err  # that one line only
