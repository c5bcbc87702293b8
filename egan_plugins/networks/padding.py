"""``attention_unet``'s padding multiple; the padding itself is :mod:`egan_core.padding`."""

from __future__ import annotations

from egan_core.padding import Pads, crop, pad, pads_for

#: Spatial sizes are padded to a multiple of this (four 2x poolings).
DIVISOR = 16

__all__ = ["DIVISOR", "Pads", "crop", "pad", "pads_for"]
