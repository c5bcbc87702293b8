"""Input expansion and output naming of ``egan enhance``."""

from __future__ import annotations

from pathlib import Path

import pytest

from egan_core.enhance.files import expand_inputs, output_name, plan_jobs
from egan_core.errors import UsageError


@pytest.fixture
def tree(tmp_path: Path, write_image) -> Path:
    for name in ["in/b.png", "in/a.jpg", "in/sub/c.png", "in/sub/deep/d.bmp", "other/e.webp"]:
        write_image(name)
    (tmp_path / "in" / "notes.txt").write_text("ignored in folders")
    return tmp_path


def test_folders_globs_and_files_sorted_and_deduplicated(tree: Path) -> None:
    flat, missing = expand_inputs([str(tree / "in"), str(tree / "in" / "a.jpg"),
                                   str(tree / "other" / "*.webp")])
    assert [p.name for p, _ in flat] == ["a.jpg", "b.png", "e.webp"]
    assert missing == []
    deep, _ = expand_inputs([str(tree / "in")], recursive=True)
    assert [p.name for p, _ in deep] == ["a.jpg", "b.png", "c.png", "d.bmp"]
    _, missing = expand_inputs([str(tree / "nothing*.png")])
    assert missing == [str(tree / "nothing*.png")]


def test_output_names_keep_the_stem() -> None:
    assert output_name(Path("x/photo.JPG")) == ("photo.JPG", "jpg")
    assert output_name(Path("a.png"), "_enh", "webp") == ("a_enh.webp", "webp")
    assert output_name(Path("a.gif")) == ("a.png", "png")
    assert output_name(Path("clip.mp4"), "_e", "png") == ("clip_e.mp4", None)


def test_plan_mirrors_subfolders_and_skips_existing(tree: Path) -> None:
    out = tree / "out"
    plan = plan_jobs([str(tree / "in")], out, recursive=True, fmt="png")
    targets = sorted(str(j.target.relative_to(out.resolve())) for j in plan.jobs)
    assert targets == ["a.png", "b.png", "sub/c.png", "sub/deep/d.png"]
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "c.png").write_bytes(b"old")
    plan = plan_jobs([str(tree / "in")], out, recursive=True, fmt="png")
    assert [j.source.name for j in plan.skipped] == ["c.png"] and len(plan.jobs) == 3
    plan = plan_jobs([str(tree / "in")], out, recursive=True, fmt="png", overwrite=True)
    assert len(plan.jobs) == 4 and not plan.skipped


def test_outputs_inside_the_input_folder_are_not_inputs(tree: Path) -> None:
    out = tree / "in" / "enhanced"
    (out).mkdir()
    (out / "b.png").write_bytes((tree / "in" / "b.png").read_bytes())
    plan = plan_jobs([str(tree / "in")], out, recursive=True, overwrite=True)
    assert all(out.resolve() not in j.source.resolve().parents for j in plan.jobs)


def test_usage_errors(tree: Path) -> None:
    with pytest.raises(UsageError, match="path separators"):
        plan_jobs([str(tree / "in")], tree / "out", suffix="/../../x")
    with pytest.raises(UsageError, match="unknown output format"):
        plan_jobs([str(tree / "in")], tree / "out", fmt="gif")
    (tree / "in" / "sub" / "b.jpg").write_bytes((tree / "in" / "a.jpg").read_bytes())
    with pytest.raises(UsageError, match="would both write"):
        plan_jobs([str(tree / "in" / "b.png"), str(tree / "in" / "sub" / "b.jpg")],
                  tree / "out", fmt="png")
