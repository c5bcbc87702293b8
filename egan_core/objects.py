"""Object classes for object-context training (the fork's one-GAN-per-object setup)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ObjectSpec:
    """An object class: its name plus the folder names and labels that count as it.

    Args:
        name: the canonical snake_case name (``"car"``).
        aliases: other folder names / annotation labels meaning the same class
            (``ObjectSpec("people", aliases=("person",))``).
    """

    name: str
    aliases: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "aliases", tuple(self.aliases))

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling that counts as this object, canonical name first."""
        return (self.name, *self.aliases)

    def matches(self, label: str) -> bool:
        """Whether a folder name or annotation label means this object (case-insensitive)."""
        norm = label.strip().lower().replace("_", " ")
        return any(norm == n.lower().replace("_", " ") for n in self.names)
