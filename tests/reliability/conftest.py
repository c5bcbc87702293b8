"""Shared helpers of the reliability tests: egan as users run it (subprocesses), tiny models.

Every test here feeds egan something hostile or broken (a stranger's checkpoint, a crafted
file name, a corrupt photo, a crash mid-save) and checks the documented behaviour: a
one-line ``error: ...`` naming the thing, the documented exit status, no traceback, and
nothing lost or written where it should not be.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from egan_core.testing import make_tiny_recipe, save_tiny_checkpoint


def _tiny() -> dict[str, Any]:
    """The tiny recipe with 10 epochs and no extra checkpoints (interrupted-run tests)."""
    return make_tiny_recipe(epochs=5, decay_epochs=5, save_every=0)


def egan_env() -> dict[str, str]:
    """The environment of an ``egan`` subprocess: unbuffered, one BLAS thread."""
    env = dict(os.environ)
    env.update(PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


def egan_argv(*args: str | os.PathLike[str]) -> list[str]:
    """``python -m egan_core ARGS`` (the same program as the ``egan`` script)."""
    return [sys.executable, "-m", "egan_core", *map(str, args)]


@dataclass
class Done:
    """What an ``egan`` subprocess did."""

    returncode: int
    stdout: str
    stderr: str

    def error_lines(self) -> list[str]:
        """The ``error: ...`` lines on stderr (warnings of torch and friends left out)."""
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]

    def assert_clean_failure(self, code: int = 1) -> list[str]:
        """Exit status ``code``, no traceback anywhere, at least one ``error:`` line."""
        assert self.returncode == code, (self.returncode, self.stdout, self.stderr)
        assert "Traceback" not in self.stderr + self.stdout, self.stderr
        lines = self.error_lines()
        assert lines, self.stderr
        return lines

    def one_error(self, code: int = 1) -> str:
        """The single ``error:`` line of a failed command (exit status ``code``)."""
        lines = self.assert_clean_failure(code)
        assert len(lines) == 1, self.stderr
        return lines[0]


Runner = Callable[..., Done]
ManyRunner = Callable[..., list[Done]]


def _run_many(commands: Sequence[Sequence[str | os.PathLike[str]]], cwd: Path | None = None,
              timeout: float = 300, preexec_fn: Callable[[], None] | None = None) -> list[Done]:
    """Run several ``egan`` command lines at once (they spend most time importing torch)."""
    procs = [subprocess.Popen(egan_argv(*cmd), cwd=cwd, env=egan_env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=preexec_fn)
             for cmd in commands]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        done.append(Done(proc.returncode, out, err))
    return done


@pytest.fixture
def egan(tmp_path: Path) -> Runner:
    """``egan("enhance", "a.png", "--out", "o")``: run egan in a subprocess (cwd: tmp_path)."""

    def run(*args: str | os.PathLike[str], cwd: Path | None = None, timeout: float = 300,
            preexec_fn: Callable[[], None] | None = None) -> Done:
        return _run_many([args], cwd or tmp_path, timeout, preexec_fn)[0]

    return run


@pytest.fixture
def egan_many(tmp_path: Path) -> ManyRunner:
    """``egan_many([args1, args2, ...])``: several egan subprocesses run concurrently."""

    def run(commands: Sequence[Sequence[str | os.PathLike[str]]], cwd: Path | None = None,
            timeout: float = 300, preexec_fn: Callable[[], None] | None = None) -> list[Done]:
        return _run_many(commands, cwd or tmp_path, timeout, preexec_fn)

    return run


@pytest.fixture
def egan_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """The same command line in this process (click's CliRunner; cwd: tmp_path): much faster
    than a subprocess, for checks that happen before any real work. An exception other than
    the CLI's own exit would surface as a test failure, as a traceback would for a user."""
    from click.testing import CliRunner

    from egan_core.cli.main import cli

    def run(*args: str | os.PathLike[str], cwd: Path | None = None) -> Done:
        monkeypatch.chdir(cwd or tmp_path)
        result = CliRunner().invoke(cli, [str(a) for a in args], prog_name="egan")
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Done(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def tiny_recipe() -> dict[str, Any]:
    """A fresh copy of the tiny recipe."""
    return _tiny()


@pytest.fixture(scope="session")
def tiny_recipe_factory() -> Callable[[], dict[str, Any]]:
    """For wider-scoped fixtures: ``tiny_recipe_factory()`` gives a fresh copy of the recipe."""
    return _tiny


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An egan checkpoint of ``attention_unet`` at base width 4 (fast on any image)."""
    return save_tiny_checkpoint(tmp_path_factory.mktemp("tiny_ckpt") / "tiny.pt", seed=1)

