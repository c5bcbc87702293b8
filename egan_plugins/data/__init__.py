"""Built-in datasets: ``unpaired``, ``object_paired``, ``paired``, ``lowlight``, ``synthetic``,
``noref`` and ``scene_pairs`` (two low-light shots of one scene, for PairLIE).

Each is a ``torch.utils.data.Dataset`` following the datasets contract in
``docs/architecture.md`` (a dict of ``low``, ``input``, ``normal``, ``low_path``,
``normal_path``; ``set_epoch``; sample ``i`` of epoch ``e`` a pure function of the seed).
"""

from __future__ import annotations

from egan_core.registry import Registries
from egan_plugins.data.lowlight import LowLightDataset
from egan_plugins.data.noref import NoRefDataset
from egan_plugins.data.paired import PairedDataset
from egan_plugins.data.scene_pairs import ScenePairsDataset
from egan_plugins.data.synthetic import SyntheticDataset
from egan_plugins.data.unpaired import ObjectPairedDataset, UnpairedDataset

__all__ = ["LowLightDataset", "NoRefDataset", "ObjectPairedDataset", "PairedDataset", "ScenePairsDataset",
           "SyntheticDataset", "UnpairedDataset", "register"]


def register(registries: Registries) -> None:
    """Register the built-in datasets."""
    registries.datasets.register("unpaired", UnpairedDataset)
    registries.datasets.register("object_paired", ObjectPairedDataset)
    registries.datasets.register("paired", PairedDataset)
    registries.datasets.register("lowlight", LowLightDataset)
    registries.datasets.register("synthetic", SyntheticDataset)
    registries.datasets.register("noref", NoRefDataset)
    registries.datasets.register("scene_pairs", ScenePairsDataset)
