"""Finding the low-light (A) and normal-light (B) folders, with one-line errors."""

from __future__ import annotations

from pathlib import Path

from egan_core.errors import InputError
from egan_core.objects import ObjectSpec
from egan_plugins.data.io import IMAGE_EXTENSIONS, list_images

#: Accepted spellings of each side, preferred first.
SIDE_NAMES = {"A": ("train_A", "trainA"), "B": ("train_B", "trainB")}
_SIDE_WORDS = {"A": "low-light", "B": "normal-light"}


class DatasetFolderError(InputError):
    """A dataset folder is missing, empty or lacks a side."""


def _looked(names: tuple[str, ...]) -> str:
    return ", ".join(f"{n}/" for n in names)


def check_root(root: str | Path, wanted: str, section: str = "data") -> Path:
    """``root`` as a Path, or an error saying it is missing and what it should hold.

    ``section`` is the recipe block the dataset sits in (``data``, ``validation``).
    """
    path = Path(root)
    if not path.is_dir():
        raise DatasetFolderError(
            f"dataset root '{path}' does not exist or is not a folder (it should hold {wanted});"
            f" set {section}.root to it"
        )
    return path


def find_sides(root: Path) -> dict[str, Path]:
    """The side folders (``A`` and ``B``) present under ``root``, by either spelling.

    Raises:
        DatasetFolderError: a side is missing (the message names the spellings looked for).
    """
    found = {}
    for side, names in SIDE_NAMES.items():
        for name in names:
            if (root / name).is_dir():
                found[side] = root / name
                break
    if not found:
        raise DatasetFolderError(
            f"no training folders in '{root}': looked for {_looked(SIDE_NAMES['A'])}"
            f" (low light) and {_looked(SIDE_NAMES['B'])} (normal light)"
        )
    if "B" not in found:
        raise DatasetFolderError(
            f"the normal-light side train_B/ is needed; it need not be paired with"
            f" {found['A'].name}/ (looked in '{root}' for {_looked(SIDE_NAMES['B'])})"
        )
    if "A" not in found:
        raise DatasetFolderError(
            f"the low-light side train_A/ is needed beside {found['B'].name}/"
            f" (looked in '{root}' for {_looked(SIDE_NAMES['A'])})"
        )
    return found


def find_object_dirs(side_dir: Path, spec: ObjectSpec) -> list[Path]:
    """Sub-folders of ``side_dir`` named by any spelling of ``spec`` (case-insensitive).

    Raises:
        DatasetFolderError: none found; the message lists the spellings and what is there.
    """
    subdirs = sorted(p for p in side_dir.iterdir() if p.is_dir())
    hits = [p for p in subdirs if spec.matches(p.name)]
    if not hits:
        there = ", ".join(p.name for p in subdirs) or "no sub-folders"
        raise DatasetFolderError(
            f"no folder for object '{spec.name}' in '{side_dir}': looked for"
            f" {_looked(spec.names)} (case-insensitive); found: {there}"
        )
    return hits


def images_of(folders: list[Path], side: str, section: str = "data") -> list[Path]:
    """Every image under ``folders``, or an error naming the empty folders (and the recipe
    block, ``section``, whose root to fix)."""
    paths = list_images(folders)
    if not paths:
        where = ", ".join(f"'{f}'" for f in folders)
        raise DatasetFolderError(
            f"the {_SIDE_WORDS.get(side, side)} side {where} holds no images"
            f" ({' '.join(sorted(IMAGE_EXTENSIONS))}); add images or fix {section}.root"
        )
    return paths
