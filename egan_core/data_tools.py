"""Former name of :mod:`egan_core.exdark` (the ExDark object cropper), kept so old imports work."""

from egan_core.exdark import (
    IMAGE_EXTENSIONS,
    AnnotatedImage,
    Box,
    CropSummary,
    ObjectCount,
    crop_objects,
    load_annotations,
    read_bbgt,
    read_coco,
)

__all__ = ["IMAGE_EXTENSIONS", "AnnotatedImage", "Box", "CropSummary", "ObjectCount", "crop_objects",
           "load_annotations", "read_bbgt", "read_coco"]
