"""The 12 ExDark object classes with their usual aliases."""

from __future__ import annotations

from egan_core.objects import ObjectSpec
from egan_core.registry import Registries

EXDARK_OBJECTS = (
    ObjectSpec("bicycle", aliases=("bike",)),
    ObjectSpec("boat", aliases=("ship",)),
    ObjectSpec("bottle"),
    ObjectSpec("bus"),
    ObjectSpec("car", aliases=("cars", "automobile")),
    ObjectSpec("cat"),
    ObjectSpec("chair"),
    ObjectSpec("cup", aliases=("mug",)),
    ObjectSpec("dog"),
    ObjectSpec("motorbike", aliases=("motorcycle",)),
    ObjectSpec("people", aliases=("person", "pedestrian")),
    ObjectSpec("table", aliases=("dining table", "diningtable", "dining_table")),
)


def register(registries: Registries) -> None:
    """Register every ExDark class under its canonical name."""
    for spec in EXDARK_OBJECTS:
        registries.objects.register(spec.name, spec)
