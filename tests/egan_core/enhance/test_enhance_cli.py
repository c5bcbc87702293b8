"""``egan enhance``: a real subprocess once, the rest in-process through click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from egan_core.cli.main import cli


def egan(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_corrupt_file_fails_alone_subprocess(tmp_path: Path, write_image,
                                             small_checkpoint: Path) -> None:
    for name in ("a.png", "b.jpg", "c.png"):
        write_image(f"in/{name}")
    (tmp_path / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    done = subprocess.run(
        [sys.executable, "-m", "egan_core", "enhance", str(tmp_path / "in"), "--out",
         str(tmp_path / "out"), "--checkpoint", str(small_checkpoint), "--device", "cpu"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 1, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.jpg", "c.png"]
    assert "broken.png" in done.stderr and "1 of 4 failed" in done.stderr
    assert "Traceback" not in done.stderr
    assert f"wrote 3 file(s) to {(tmp_path / 'out').resolve()}" in done.stdout
    with Image.open(tmp_path / "out" / "a.png") as out:
        assert out.size == (64, 48)


def test_skip_existing_unless_overwrite(tmp_path: Path, write_image) -> None:
    src = write_image("in/a.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    code, text = egan("enhance", str(src), "--out", str(out), "--enhancer", "clahe")
    assert code == 0 and "skipping 1 existing" in text
    assert (out / "a.png").read_bytes() == b"keep me"
    code, text = egan("enhance", str(src), "--out", str(out), "--enhancer", "clahe", "--overwrite")
    assert code == 0 and "wrote 1 file(s)" in text
    assert Image.open(out / "a.png").size == (64, 48)


def test_chain_format_suffix_and_strength_zero(tmp_path: Path, write_image, dark) -> None:
    array = dark()
    write_image("in/a.png", array)
    write_image("in/sub/b.bmp", array)
    code, text = egan("enhance", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                      "--recursive", "--format", "png", "--suffix", "_e", "--enhancer", "clahe",
                      "--enhancer", "denoise", "--strength", "0")
    assert code == 0, text
    assert (tmp_path / "out" / "sub" / "b_e.png").is_file()
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "a_e.png")), array)


def test_usage_errors(tmp_path: Path, write_image) -> None:
    src = str(write_image("a.png"))
    code, text = egan("enhance", src, "--out", str(tmp_path / "o"), "--checkpoint", src,
                      "--recipe", "x.yaml")
    assert code == 2 and "not both" in text
    code, text = egan("enhance", str(tmp_path / "none*.png"), "--out", str(tmp_path / "o"),
                      "--enhancer", "clahe")
    assert code == 2 and "none*.png': no such file, folder or matching image" in text
    code, text = egan("enhance", src, "--out", str(tmp_path / "o"), "--enhancer", "clahr")
    assert code == 2 and "did you mean 'clahe'" in text


@pytest.mark.parametrize("ext,fourcc", [(".avi", "MJPG")])
def test_video_round_trip(tmp_path: Path, dark, ext: str, fourcc: str) -> None:
    src = tmp_path / f"clip{ext}"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*fourcc), 12.0, (64, 48))
    for i in range(5):
        writer.write(dark(seed=i))
    writer.release()
    code, text = egan("enhance", str(src), "--out", str(tmp_path / "out"), "--enhancer", "clahe",
                      "--batch-size", "2")
    assert code == 0, text
    cap = cv2.VideoCapture(str(tmp_path / "out" / f"clip{ext}"))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(12.0)
    cap.release()
    assert len(frames) == 5 and frames[0].shape == (48, 64, 3)
    assert np.mean(frames[0]) > np.mean(dark(seed=0)) + 5  # CLAHE brightened the dark frames
