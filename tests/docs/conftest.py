"""Makes ``docs_markdown.py`` importable by this folder's tests.

pytest runs with ``--import-mode=importlib`` (pyproject.toml), which puts no test folder on
``sys.path``; this conftest loads the helper once, before the test modules are imported.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if "docs_markdown" not in sys.modules:
    _spec = importlib.util.spec_from_file_location("docs_markdown",
                                                   Path(__file__).with_name("docs_markdown.py"))
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules["docs_markdown"] = _module
    _spec.loader.exec_module(_module)
