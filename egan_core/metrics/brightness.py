"""Mean brightness: whether an enhancer lifted a dark photo to a normal exposure.

NIQE alone rewards natural-looking statistics, which a still-dark photo can have; the mean
pixel value says how far the exposure moved (compare it with well-lit photos' range).
"""

from __future__ import annotations

import numpy as np


def brightness(image: np.ndarray) -> float:
    """Mean of all pixels and channels of an image on the 0..255 scale, as a fraction in [0, 1]."""
    return float(np.asarray(image, dtype=np.float64).mean()) / 255.0
