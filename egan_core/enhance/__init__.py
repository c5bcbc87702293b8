"""Enhancement: reading, tiling, strength, chaining and writing around enhancer stages.

- :mod:`~egan_core.enhance.api`: :func:`load_enhancer` (also ``egan_core.load_enhancer``)
  and :func:`enhance_files`, ``egan enhance`` as a function (also
  ``egan_core.enhance_files``), returning an :class:`EnhanceReport`.
- :mod:`~egan_core.enhance.pipeline`: the callable :class:`Enhancer`.
- :mod:`~egan_core.enhance.generator_runner`: running a generator (precision, channels_last).
- :mod:`~egan_core.enhance.tiling`: overlapping tiles, blended without seams.
- :mod:`~egan_core.enhance.io`, :mod:`~egan_core.enhance.video`: files in and out.
- :mod:`~egan_core.enhance.files`, :mod:`~egan_core.enhance.runner`: the parts of
  :func:`enhance_files` (inputs and output names; batching, sharding and reports).
"""

from __future__ import annotations

from egan_core.enhance.api import EnhanceReport, enhance_files, load_enhancer
from egan_core.enhance.pipeline import Enhancer

__all__ = ["EnhanceReport", "Enhancer", "enhance_files", "load_enhancer"]
