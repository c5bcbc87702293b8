"""Former name of :mod:`egan_core.export_files`
(writing and loading the exported ONNX and TorchScript files), kept so old imports work."""

from egan_core.export_files import *  # noqa: F403
