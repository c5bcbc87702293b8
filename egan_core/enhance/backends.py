"""Former name of :mod:`egan_core.enhance.forward_paths`
(the ways a generator can run for enhancement), kept so old imports work."""

from egan_core.enhance.forward_paths import *  # noqa: F403
