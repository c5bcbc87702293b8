"""Former name of :mod:`egan_core.generator_io`
(how images go into and come out of a generator), kept so old imports work."""

from egan_core.generator_io import *  # noqa: F403
