"""Every ``bash`` and ``python`` block of README.md and docs/*.md runs, or says why it does not.

Each block runs on its own in a fresh sandbox folder (what it holds: ``sandbox_template``),
``bash`` with ``bash -e``, ``python`` with this interpreter, ``egan`` on ``PATH``. A block
is skipped only under a ``<!-- not run: REASON -->`` line right above its fence, and then
shows up as skipped with that reason. docs/contributing.md is the convention for writers.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

import docs_markdown as md
import numpy as np
import pytest
from PIL import Image

from egan_core.scenes import dark_scene
from egan_core.testing import save_tiny_checkpoint
from egan_core.video.synthetic import frames, write_clip

BLOCK_TIMEOUT_S = 180
API_PAGE = md.DOCS / "api.md"
#: Runs every python block of docs/api.md in order, in one namespace (names carry over).
API_TEST = Path(__file__).resolve().parents[1] / "egan_core" / "test_api.py"
API_REASON = "run by tests/egan_core/test_api.py (in order, sharing one namespace)"
MACHINE_PATHS_TEST = Path(__file__).resolve().parents[1] / "test_no_machine_paths.py"


def all_fences() -> list[md.Fence]:
    return [block for page in md.pages() for block in md.fences(page)]


def runnable() -> list[md.Fence]:
    return [block for block in all_fences() if block.language in md.RUN_LANGUAGES]


@functools.cache
def _test_module(path: Path) -> ModuleType:
    """Another test file, loaded once, to share its logic rather than copy it."""
    spec = importlib.util.spec_from_file_location(f"docs_examples_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def api_test_blocks() -> list[str]:
    """The docs/api.md blocks that tests/egan_core/test_api.py runs, as it finds them."""
    return [block.strip() for block in _test_module(API_TEST).docs_blocks()]


def machine_paths(name: str, code: str) -> list[str]:
    """The machine paths ``code`` names, found as tests/test_no_machine_paths.py finds them."""
    return _test_module(MACHINE_PATHS_TEST).machine_paths(name, code)


@pytest.fixture(scope="session")
def sandbox_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What every block finds in its folder: dark photos, a night clip, small egan checkpoints."""
    root = tmp_path_factory.mktemp("docs-sandbox")
    Image.fromarray(dark_scene(320, 240, seed=0)).save(root / "photo.jpg")
    # names differ across the folders, so enhancing both into one folder is fine
    for folder, seed, names in (("my_dark_photos", 1, ("street", "alley")), ("photos", 3, ("yard", "lane"))):
        (root / folder).mkdir()
        Image.fromarray(dark_scene(320, 240, seed=seed)).save(root / folder / f"{names[0]}.jpg")
        Image.fromarray(dark_scene(240, 320, seed=seed + 1)).save(root / folder / f"{names[1]}.png")
    for seed, name in enumerate(("model.pt", "a.pt", "b.pt")):
        save_tiny_checkpoint(root / name, seed=seed)
    write_clip(root / "night.mp4", frames(24, 240, 320, noise=0.015), audio=True)
    return root


@pytest.fixture
def sandbox(sandbox_template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "sandbox"
    shutil.copytree(sandbox_template, folder)
    return folder


def installed() -> set[str]:
    """The distributions and modules of the environment the tests run in."""
    folders = {sysconfig.get_paths()[kind] for kind in ("purelib", "platlib")}
    return {name for folder in folders if os.path.isdir(folder) for name in os.listdir(folder)
            if name != "__pycache__"}


def run_block(block: md.Fence, sandbox: Path, scratch: Path) -> tuple[int | None, str]:
    """Run ``block`` in ``sandbox``: (exit status, or None on timeout; its output)."""
    temp = scratch / "tmp"
    temp.mkdir()
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
           # the session's own cache (tests/conftest.py), never the user's
           "EGAN_CACHE_DIR": os.environ.get("EGAN_CACHE_DIR") or str(scratch / "cache"),
           "TMPDIR": str(temp),  # mktemp and tempfile inside the test's folder
           "PIP_NO_INDEX": "1"}  # pip installs only what is on this machine (the tests have no network)
    if block.language == "bash":
        script = scratch / "block.sh"
        script.write_text(block.code, encoding="utf-8")
        argv = ["bash", "-e", str(script)]
    else:
        argv = [sys.executable, "-c", block.code]
    # a session of its own, so a timeout stops what the block started too
    proc = subprocess.Popen(argv, cwd=sandbox, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # let what it started clean up after itself
        try:
            output, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        return None, output
    return proc.returncode, output


@pytest.mark.parametrize("block", runnable(), ids=lambda block: block.name)
def test_block_runs(block: md.Fence, sandbox: Path, tmp_path: Path) -> None:
    if block.path == API_PAGE and block.language == "python":
        assert block.marker is None, (f"{block.name}: test_api.py runs every python block of "
                                      "docs/api.md; a not-run marker there has no effect")
        assert block.code.strip() in api_test_blocks(), f"{block.name}: test_api.py does not find it"
        pytest.skip(API_REASON)
    if block.marker == "":
        pytest.fail(f"{block.name}: a not-run marker needs a reason: <!-- not run: REASON -->")
    if block.marker is not None:
        pytest.skip(f"not run: {block.marker}")
    named = machine_paths(block.name, block.code)
    assert not named, f"not run, since it would write or read outside its sandbox: {named}"
    before = installed()
    status, output = run_block(block, sandbox, tmp_path)
    changed = sorted(installed() ^ before)
    assert not changed, f"{block.name} changed the environment the tests run in (mark it): {changed}"
    outcome = f"timed out after {BLOCK_TIMEOUT_S} s" if status is None else f"exit status {status}"
    assert status == 0, (f"{block.name} ({block.language}): {outcome}\n--- block ---\n{block.code}"
                         f"--- output (last 4000 characters) ---\n{output[-4000:]}")


def test_the_pages_have_blocks_to_run() -> None:
    assert {block.language for block in runnable()} == md.RUN_LANGUAGES


def test_no_block_hides_code_under_another_name() -> None:
    hidden = [f"{block.name} ({block.language})" for block in all_fences()
              if block.language in md.AMBIGUOUS_LANGUAGES]
    assert not hidden, f"fence these as bash or python (they run) or text (they do not): {hidden}"


def test_not_run_markers_sit_right_above_a_fence() -> None:
    stray = [f"{md.rel(page)}:{line}" for page in md.pages() for line in md.stray_markers(page)]
    assert not stray, f"not-run markers with no opening fence on the next line: {stray}"


def test_sandbox_holds_what_the_convention_promises(sandbox: Path) -> None:
    names = {path.relative_to(sandbox).as_posix() for path in sandbox.rglob("*")}
    assert {"photo.jpg", "night.mp4", "model.pt", "a.pt", "b.pt", "my_dark_photos", "photos"} <= names
    for folder in ("my_dark_photos", "photos"):
        photos = sorted((sandbox / folder).iterdir())
        assert sorted(p.suffix for p in photos) == [".jpg", ".png"]
        assert all(np.asarray(Image.open(p)).mean() < 60 for p in photos)  # dark, as promised
    with Image.open(sandbox / "photo.jpg") as photo:
        assert photo.size == (320, 240)
