"""Modules renamed to say what they hold still import under their former names."""

from __future__ import annotations

import importlib

import pytest

RENAMED = [
    ("egan_core.tensors", "egan_core.generator_io", ["enhance_with", "attention_map", "check_image"]),
    ("egan_core.enhance.runtime", "egan_core.enhance.generator_runner", ["GeneratorRunner", "BACKENDS"]),
    ("egan_core.enhance.backends", "egan_core.enhance.forward_paths", ["candidates", "PRECISIONS"]),
    ("egan_core.export_formats", "egan_core.export_files", ["write_onnx", "load_runner"]),
    ("egan_core.demo_app", "egan_core.demo_page", ["serve"]),
    ("egan_core.data_tools", "egan_core.exdark", ["crop_objects", "read_bbgt"]),
    ("egan_plugins.networks.padding", "egan_core.padding", ["pad", "pads_for", "crop"]),
]


@pytest.mark.parametrize(("old", "new", "names"), RENAMED, ids=[r[0] for r in RENAMED])
def test_former_module_names_import_the_same_objects(old: str, new: str, names: list[str]) -> None:
    former, current = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        assert getattr(former, name) is getattr(current, name), name
