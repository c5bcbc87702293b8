"""Shared test setup: egan's own pytest plugin (the fixtures plugin authors get too).

pytest runs with ``--import-mode=importlib`` (pyproject.toml), since the test folders mirror
the package names (tests/egan_core, tests/egan_plugins) and must not shadow them.
"""

pytest_plugins = ["egan_core.testing"]
