"""The wheel holds what a non-editable install needs: recipes, default weights, NIQE data.

The wheel is built from copies of the package folders alone (symlinks kept as links), so data
that lives outside them, reached through a link, shows up as missing here, not after a release.
``.ci/wheel_smoke`` goes further: a fresh venv, training and enhancing from another folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel`` (no network, no isolation) of a copy of the project's packaging inputs."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for package in ("egan_core", "egan_plugins"):
        shutil.copytree(REPO / package, src / package, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
           "--no-index", "--disable-pip-version-check", "-w", str(dist), str(src)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = dist.glob("egan-*.whl")
    return built


def _expected(folder: str, pattern: str) -> set[str]:
    found = {p.relative_to(REPO).as_posix() for p in (REPO / folder).glob(pattern) if p.is_file()}
    assert found, f"nothing matches {folder}/{pattern} in the checkout"
    return found


def test_wheel_holds_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = (_expected("egan_core/configs/recipes", "*.yaml")
                | _expected("egan_plugins/weights", "*")
                | _expected("egan_core/metrics", "*.npz")
                | {"egan_core/configs/__init__.py"})
    assert expected <= names, sorted(expected - names)
    assert "egan_core/configs/recipes/quickstart.yaml" in names
    assert not [n for n in names if n.startswith(("tests/", "configs/", "examples/"))]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "egan = egan_core.cli:main" in text and "egan_plugins.hooks" in text


def test_installed_wheel_lists_and_resolves_recipes(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
               "--disable-pip-version-check", "--target", str(target), str(wheel)]
    done = subprocess.run(install, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    user = tmp_path / "elsewhere"
    user.mkdir()
    code = ("import egan_core\nfrom egan_core.recipe import resolve_recipe_path\n"
            "print(egan_core.__file__)\nprint(resolve_recipe_path('recipes/quickstart.yaml'))")
    shown = subprocess.run([sys.executable, "-c", code], cwd=user, env=env, capture_output=True,
                           text=True, timeout=120, check=False)
    assert shown.returncode == 0, shown.stderr
    module, recipe = shown.stdout.split()
    assert Path(module).is_relative_to(target) and Path(recipe).is_relative_to(target)
    listed = subprocess.run([sys.executable, "-m", "egan_core", "recipe", "list"], cwd=user, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert listed.returncode == 0, listed.stderr
    assert "recipes/quickstart.yaml" in listed.stdout.splitlines()
