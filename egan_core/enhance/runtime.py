"""Former name of :mod:`egan_core.enhance.generator_runner`
(the runner that picks the fastest way a generator runs), kept so old imports work."""

from egan_core.enhance.generator_runner import *  # noqa: F403
