"""The band size of ``fast_grid``'s full-resolution pass, shared by its PyTorch form
(:mod:`egan_plugins.networks.fast_grid`) and its ONNX form
(:mod:`egan_plugins.networks.fast_grid_onnx`), which must cut the image the same way."""

from __future__ import annotations

#: Pixels per band of the full-resolution pass (band buffers stay in the CPU caches).
BAND_PIXELS = 1 << 16
