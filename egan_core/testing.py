"""pytest fixtures and helpers for testing egan and egan plugins.

Enable them in a ``conftest.py``::

    pytest_plugins = ["egan_core.testing"]

Fixtures:
    plugin_manager: a factory of fresh :class:`~egan_core.plugins.PluginManager` objects.
    registries: fresh registries filled by the installed plugins (the built-ins included).
    tiny_batch: a small :class:`~egan_core.losses.LossContext` for loss tests.

Helpers:
    make_plugin_package: write a throwaway plugin distribution (pyproject + module).
    install_plugin_packages: ``pip install --target`` such distributions; the returned
        :class:`PluginInstall` runs ``python -m egan_core`` in a subprocess that sees them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from egan_core import plugins as _plugins
from egan_core.checkpoint import save_checkpoint
from egan_core.generator_io import attention_map
from egan_core.hookspecs import hookimpl
from egan_core.losses import LossContext
from egan_core.plugins import PluginManager
from egan_core.registry import Registries

PluginManagerFactory = Callable[..., PluginManager]


def _native_bf16_reason() -> str:
    from egan_core.hardware import native_bf16

    ok, why = native_bf16("cpu")
    return "" if ok else f"needs native bf16 (AVX512-BF16 or AMX): {why}"


#: Marks a test that forces bf16 on the CPU: it runs where bf16 is native and is skipped,
#: with the reason, where PyTorch would emulate it (or refuse it) instead.
requires_native_bf16 = pytest.mark.skipif(bool(_native_bf16_reason()), reason=_native_bf16_reason()
                                          or "native bf16")


@pytest.fixture
def plugin_manager(monkeypatch: pytest.MonkeyPatch) -> PluginManagerFactory:
    """Build fresh plugin managers: ``plugin_manager(extra=[("my-dist", my_module)])``.

    The factory takes ``entry_points`` (default ``True``: load the installed plugins, the
    built-ins included), ``extra`` (``(provider_name, module_or_object)`` pairs registered
    after them) and ``activate`` (default ``False``): when true the manager becomes the
    process-wide one that ``egan_core.get_registries()``, ``load_recipe`` and the CLI use,
    until the test ends.
    """

    def make(
        *,
        entry_points: bool = True,
        extra: Iterable[tuple[str, Any]] | None = None,
        activate: bool = False,
    ) -> PluginManager:
        pm = PluginManager(entry_points=entry_points, extra=list(extra or []))
        if activate:
            monkeypatch.setattr(_plugins, "_MANAGER", pm)
        return pm

    return make


def make_plugin(register: Callable[[Registries], None]) -> Any:
    """An in-process plugin whose ``egan_register`` hook calls ``register(registries)``.

    For ``plugin_manager(extra=[("my-dist", make_plugin(fn))])``: a plugin defined by one
    function, without writing a module.
    """

    class Plugin:
        @hookimpl
        def egan_register(self, registries: Registries) -> None:
            register(registries)

    return Plugin()


@pytest.fixture
def registries(plugin_manager: PluginManagerFactory) -> Registries:
    """Fresh registries filled by every installed plugin (the built-ins through their entry point)."""
    return plugin_manager(entry_points=True).registries


def make_tiny_batch(
    batch: int = 2, size: int = 32, patch_size: int = 16, seed: int = 0
) -> LossContext:
    """A small :class:`LossContext`: images ``(batch, 3, size, size)`` in [-1, 1].

    ``latent`` is a leaf tensor with ``requires_grad=True`` and ``enhanced = input + latent``,
    so ``loss(ctx).backward()`` fills ``ctx.latent.grad``. There are two patches of
    ``patch_size`` (patch-major, ``(2 * batch, 3, s, s)``) at the same corners in
    ``enhanced``, ``normal`` and ``low``. ``aux`` holds a Zero-DCE-style ``curves`` map and an
    SCI-style ``illumination``, both computed from ``latent``, so losses that read
    ``ctx.aux`` are exercised (and reach ``latent.grad``) too.
    """
    gen = torch.Generator().manual_seed(seed)

    def image() -> torch.Tensor:
        return torch.rand(batch, 3, size, size, generator=gen) * 2 - 1

    low, normal = image(), image()
    darken = torch.rand(batch, 1, 1, 1, generator=gen) * 0.5 + 0.5
    inp = (low + 1) * darken * 0.9 - 0.95  # darker, in [-0.95, 0.85]
    # a small residual, so enhanced = input + latent stays in [-1, 1] too
    latent = (torch.rand(batch, 3, size, size, generator=gen) * 0.1 - 0.05).requires_grad_(True)
    enhanced = inp + latent
    corners = [(0, 0), (size - patch_size, size - patch_size)]

    def crop(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x[:, :, y : y + patch_size, x0 : x0 + patch_size] for y, x0 in corners])

    return LossContext(
        low=low,
        input=inp,
        enhanced=enhanced,
        normal=normal,
        attention=attention_map(inp),
        latent=latent,
        enhanced_patches=crop(enhanced),
        normal_patches=crop(normal),
        low_patches=crop(low),
        num_patches=len(corners),
        aux={"curves": torch.tanh(latent * 10),
             "illumination": ((inp + 1) / 2 + latent).clamp(1e-4, 1.0)},
    )


@pytest.fixture
def tiny_batch() -> LossContext:
    """A seeded 2x3x32x32 :class:`LossContext` (see :func:`make_tiny_batch`)."""
    return make_tiny_batch()


def make_plugin_package(
    tmp_path: Path, dist_name: str, module_source: str, entry_name: str = "plugin"
) -> Path:
    """Write a throwaway plugin distribution and return its folder (pip-installable).

    Args:
        tmp_path: parent folder; the package goes to ``tmp_path / dist_name``.
        dist_name: distribution name (``egan-test-good``); the module is its snake_case.
        module_source: the plugin module's code (dedented), implementing ``egan_register``.
        entry_name: the name of its ``egan.plugins`` entry point.
    """
    module = dist_name.replace("-", "_").replace(".", "_")
    folder = tmp_path / dist_name
    folder.mkdir(parents=True)
    (folder / f"{module}.py").write_text(textwrap.dedent(module_source), encoding="utf-8")
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist_name}"
            version = "0.0.1"

            [project.entry-points."egan.plugins"]
            {entry_name} = "{module}"

            [tool.setuptools]
            py-modules = ["{module}"]
            """
        ),
        encoding="utf-8",
    )
    return folder


@dataclass(frozen=True)
class PluginInstall:
    """A ``pip install --target`` folder of plugins, and how to run egan that sees them."""

    target: Path

    def env(self) -> dict[str, str]:
        """``os.environ`` with :attr:`target` first on ``PYTHONPATH`` (and a wide terminal)."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.target), *filter(None, [env.get("PYTHONPATH")])])
        env["COLUMNS"] = "200"
        return env

    def egan(self, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``python -m egan_core ARGS`` in a subprocess that sees the plugins."""
        return subprocess.run(
            [sys.executable, "-m", "egan_core", *args], cwd=cwd, env=self.env(),
            capture_output=True, text=True, timeout=timeout, check=False,
        )


def install_plugin_packages(package_dirs: Iterable[Path], target: Path) -> PluginInstall:
    """``pip install --target`` the packages (no network, no build isolation).

    Nothing is installed into the running environment: :meth:`PluginInstall.egan` runs egan
    in a subprocess with ``target`` on ``PYTHONPATH``, where the plugins' entry points show.

    Raises:
        RuntimeError: pip failed (its output attached).
    """
    cmd = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
        "--no-index", "--disable-pip-version-check", "--target", str(target),
        *[str(p) for p in package_dirs],
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"pip install failed:\n{done.stdout}\n{done.stderr}")
    return PluginInstall(Path(target))


def save_tiny_checkpoint(path: Path, *, seed: int, base_channels: int = 4) -> Path:
    """Write an egan checkpoint of a seeded ``attention_unet`` (width 4: fast on any image)."""
    from egan_core.plugins import get_registries

    model = get_registries().generators.get("attention_unet")(base_channels=base_channels, seed=seed).eval()
    save_checkpoint(path, {"generator": {"name": "attention_unet",
                                         "kwargs": {"base_channels": base_channels},
                                         "state_dict": model.state_dict()}})
    return path


def make_tiny_recipe(**train: Any) -> dict[str, Any]:
    """A fresh recipe dict that really trains in well under a second per step on a CPU.

    Synthetic data at 48 px (4 steps per epoch at batch 2), ``attention_unet`` at width 4, a
    small ``global_local``, ``relu5_1`` on random VGG weights; ``train`` keys override the
    defaults (one constant and one decay epoch, a log line every step, no samples).
    """
    return {
        "name": "tiny",
        "seed": 3,
        "data": {"dataset": "synthetic", "size": 48, "length": 8, "batch_size": 2, "workers": 0},
        "model": {
            "generator": {"name": "attention_unet", "base_channels": 4},
            "discriminator": {"name": "global_local", "patches": 2, "patch_size": 16, "ndf": 8},
        },
        "losses": {"relu5_1": {"weight": 1.0}},
        "vgg": {"weights": "none"},
        "train": {"epochs": 1, "decay_epochs": 1, "log_every": 1, "sample_every": 0, **train},
    }


__all__ = [
    "PluginInstall",
    "install_plugin_packages",
    "make_plugin",
    "make_plugin_package",
    "make_tiny_recipe",
    "make_tiny_batch",
    "mutate_bytes",
    "plugin_manager",
    "registries",
    "save_tiny_checkpoint",
    "tiny_batch",
]


def mutate_bytes(blob: bytes, data: Any, *, edits: int, max_cut: int, max_insert: int) -> bytes:
    """``blob`` after 1..``edits`` random edits drawn from hypothesis ``data``: flip a byte,
    cut a run, insert bytes, or truncate (the ways files get damaged)."""
    from hypothesis import strategies as st

    out = bytearray(blob)
    for _ in range(data.draw(st.integers(1, edits))):
        if not out:
            break
        pos = data.draw(st.integers(0, len(out) - 1))
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
        if kind == "flip":
            out[pos] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del out[pos:pos + data.draw(st.integers(1, max_cut))]
        elif kind == "insert":
            out[pos:pos] = data.draw(st.binary(min_size=1, max_size=max_insert))
        else:
            del out[pos:]
    return bytes(out)
