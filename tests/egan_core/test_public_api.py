"""The public API is ``egan_core.__all__``: every name resolves, to the real object."""

from __future__ import annotations

import inspect
import subprocess
import sys

import egan_core
from egan_core.enhance.api import load_enhancer
from egan_core.enhance.pipeline import Enhancer
from egan_core.training.trainer import train


def test_every_exported_name_resolves() -> None:
    missing = [name for name in egan_core.__all__ if getattr(egan_core, name, None) is None]
    assert not missing
    assert set(egan_core.__all__) <= set(dir(egan_core))


def test_the_entry_points_are_the_real_functions_with_their_signatures() -> None:
    assert egan_core.train is train and egan_core.load_enhancer is load_enhancer
    assert egan_core.Enhancer is Enhancer
    assert inspect.signature(egan_core.load_enhancer).return_annotation in ("Enhancer", Enhancer)
    assert "tuple[Path" in str(inspect.signature(egan_core.train).return_annotation)


def test_plugin_authors_find_their_contracts_at_the_top() -> None:
    for name in ("LossContext", "AdversarialLoss", "attention_map", "Generator", "Discriminator",
                 "hookimpl", "Registries", "ObjectSpec"):
        assert name in egan_core.__all__


def test_importing_egan_core_does_not_import_torch() -> None:
    code = "import sys, egan_core; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
