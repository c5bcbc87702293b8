"""An example egan plugin that adds a training method, ``two_phase``.

It uses only egan's plugin hook (``hookimpl`` and the registries handed to
``egan_register``) and the method contract of :mod:`egan_core.training.method`, exactly as
any third-party package would; nothing from ``egan_plugins`` (the built-ins) is imported.
"""

from __future__ import annotations

from egan_core import Registries, hookimpl
from egan_method_example.two_phase import TwoPhase, phase_of

__all__ = ["TwoPhase", "egan_register", "phase_of"]


@hookimpl
def egan_register(registries: Registries) -> None:
    """Add the ``two_phase`` method (a recipe picks it with ``method: two_phase``)."""
    registries.methods.register("two_phase", TwoPhase)
