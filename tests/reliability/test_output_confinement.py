"""Outputs stay under ``--out``: crafted file names, run names and suffixes cannot escape.

Each test snapshots the whole temporary tree before and after, so anything written
outside the output folder (or a file outside changed through a link) is caught.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from egan_core.enhance.files import plan_jobs
from egan_core.errors import RecipeError, UsageError
from egan_core.recipe import load_recipe


def _snapshot(root: Path) -> dict[Path, bytes | str]:
    """Every file below ``root``: its bytes, or for a link, where it points."""
    out: dict[Path, bytes | str] = {}
    for path in root.rglob("*"):
        if path.is_symlink():
            out[path] = os.readlink(path)
        elif path.is_file():
            out[path] = path.read_bytes()
    return out


def _new_or_changed(before: dict[Path, bytes | str], after: dict[Path, bytes | str]) -> set[Path]:
    return {p for p, v in after.items() if before.get(p) != v}


def _png(path: Path, size: tuple[int, int] = (10, 6)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (40, 30, 20)).save(path, format="PNG")
    return path


#: Names a photo collection can hold; every one must come out under the same name.
CRAFTED = ["café.png", "new\nline.png", "日本語.png", "..png", "...png", " space .png",
           "-dash.png", "tab\t.png", "😀.png", "a'quote\".png", "back\\slash.png"]


def test_crafted_input_names_stay_inside_out(tmp_path: Path, egan: Any) -> None:
    inputs = tmp_path / "photos" / "in"
    for name in CRAFTED:
        _png(inputs / name)
    raw = os.fsencode(inputs) + b"/bad\xffbyte.png"  # not valid UTF-8: a surrogate-escaped name
    Image.new("RGB", (10, 6)).save(raw, format="PNG")
    out = tmp_path / "work" / "out"
    before = _snapshot(tmp_path)
    # a folder, and a glob whose path climbs with '..' before coming back down
    glob = str(tmp_path / "photos" / "in" / ".." / "in" / "*.png")
    done = egan("enhance", inputs, glob, "--out", out, "--enhancer", "clahe")
    assert done.returncode == 0, done.stderr
    changed = _new_or_changed(before, _snapshot(tmp_path))
    assert changed and all(out in p.parents for p in changed), sorted(map(str, changed))
    written = {os.fsencode(p.name) for p in changed}
    assert written == {os.fsencode(n) for n in CRAFTED} | {b"bad\xffbyte.png"}
    assert all(Image.open(p).size == (10, 6) for p in changed)


def test_a_link_in_out_cannot_redirect_a_write(tmp_path: Path, egan_cli: Any) -> None:
    photo = _png(tmp_path / "in" / "photo.png")
    precious = tmp_path / "precious.png"
    precious.write_bytes(b"keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.png").symlink_to(precious)  # planted where the output will go
    before = _snapshot(tmp_path)
    done = egan_cli("enhance", photo, "--out", out, "--enhancer", "clahe", "--overwrite")
    done.assert_clean_failure(2)
    assert precious.read_bytes() == b"keep me"
    assert _new_or_changed(before, _snapshot(tmp_path)) == set()


@pytest.mark.parametrize("name", ["../escape", "..", ".", "a/b", "/tmp/abs", "a\\b", "x\0y",
                                  "c:evil", ""])
def test_run_names_that_leave_the_runs_folder_are_refused(name: str,
                                                          tiny_recipe: dict[str, Any]) -> None:
    tiny_recipe["name"] = name
    if name == "":  # an empty name falls back to the file stem: fine, not an escape
        assert load_recipe(tiny_recipe).name == "recipe"
        return
    with pytest.raises(RecipeError, match="^name must be a plain folder name"):
        load_recipe(tiny_recipe)
    with pytest.raises(RecipeError, match="^name must be a plain folder name"):
        load_recipe({**tiny_recipe, "name": "fine"}, [f"name={name}"] if "\0" not in name else
                    {"name": name})


def test_egan_run_refuses_escaping_names(tmp_path: Path, egan: Any, egan_cli: Any,
                                         tiny_recipe: dict[str, Any]) -> None:
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    tiny_recipe["name"] = "../escape"
    recipe = work / "escape.yaml"
    recipe.write_text(yaml.safe_dump(tiny_recipe))
    tiny_recipe["name"] = "fine"
    fine = work / "fine.yaml"
    fine.write_text(yaml.safe_dump(tiny_recipe))
    before = _snapshot(tmp_path)
    runs = [egan("run", fine, "--set", "name=../../x", "--out", "runs", "--device", "cpu", "-q",
                 cwd=work),
            egan_cli("run", recipe, "--out", "runs", "--device", "cpu", "-q", cwd=work)]
    for done in runs:
        line = done.one_error(2)
        assert line.startswith("error: name must be a plain folder name"), line
    assert _new_or_changed(before, _snapshot(tmp_path)) == set()
    assert not any(p.name in ("escape", "x", "runs") for p in tmp_path.rglob("*"))


@pytest.mark.parametrize("suffix", ["/x", "/../../x", "..", "_..", "../", "\\x", ".", "a/../b"])
def test_suffixes_with_paths_are_refused(tmp_path: Path, suffix: str) -> None:
    _png(tmp_path / "in" / "a.png")
    with pytest.raises(UsageError, match="--suffix"):
        plan_jobs([str(tmp_path / "in")], tmp_path / "out", suffix=suffix)


def test_egan_enhance_refuses_a_suffix_with_a_path(tmp_path: Path, egan_cli: Any) -> None:
    photo = _png(tmp_path / "deep" / "in" / "a.png")
    before = _snapshot(tmp_path)
    done = egan_cli("enhance", photo, "--out", tmp_path / "deep" / "out", "--enhancer", "clahe",
                    "--suffix", "/../../../escaped")
    line = done.one_error(2)
    assert "--suffix" in line
    assert _new_or_changed(before, _snapshot(tmp_path)) == set()
    assert not (tmp_path / "deep" / "out").exists()
