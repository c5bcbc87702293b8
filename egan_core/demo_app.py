"""Former name of :mod:`egan_core.demo_page`
(the Gradio page of ``egan demo``), kept so old imports work."""

from egan_core.demo_page import *  # noqa: F403
