"""Enhancement: reading, tiling, strength, chaining and writing around enhancer stages.

- :mod:`~egan_core.enhance.api`: :func:`load_enhancer` (also ``egan_core.load_enhancer``).
- :mod:`~egan_core.enhance.pipeline`: the callable :class:`Enhancer`.
- :mod:`~egan_core.enhance.runtime`: running a generator (precision, channels_last).
- :mod:`~egan_core.enhance.tiling`: overlapping tiles, blended without seams.
- :mod:`~egan_core.enhance.io`, :mod:`~egan_core.enhance.video`: files in and out.
- :mod:`~egan_core.enhance.files`, :mod:`~egan_core.enhance.runner`: what ``egan enhance``
  does with its inputs.
"""

from __future__ import annotations

from egan_core.enhance.api import load_enhancer
from egan_core.enhance.pipeline import Enhancer

__all__ = ["Enhancer", "load_enhancer"]
