"""Enhancer specs: how a command line names an enhancer together with its options.

``NAME[:KEY=VALUE[,KEY=VALUE...]]``, e.g. ``clahe:clip_limit=3,tiles=4`` or
``denoise:h=8``: each value is read as a YAML scalar (``3`` an int, ``3.5`` a float,
``true`` a bool, ``null`` None, anything else a string), as ``--set`` reads recipe values.
The options are then checked against the enhancer factory's signature like recipe kwargs
(:func:`egan_core.signature.check_options`). ``egan compare`` also chains specs with
``+`` (``gan+denoise:h=8``).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from egan_core.errors import UsageError

#: How a spec with options looks, for error messages.
EXAMPLE = "clahe:clip_limit=3,tiles=4"
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: A '+' that starts the next stage of a chain (not the sign of an exponent as in 1e+3).
_CHAIN = re.compile(r"(?<![0-9.][eE])\+")


def parse_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``"clahe:clip_limit=3,tiles=4"`` -> ``("clahe", {"clip_limit": 3, "tiles": 4})``.

    Raises:
        UsageError: an empty name, an option that is not ``KEY=VALUE``, a key given twice,
            or a value that is not a single YAML scalar.
    """
    name, colon, rest = text.partition(":")
    name = name.strip()
    if not name:
        raise UsageError(f"enhancer '{text}' has no name; write NAME or NAME:KEY=VALUE,... "
                         f"(e.g. {EXAMPLE})")
    options: dict[str, Any] = {}
    if not colon:
        return name, options
    if not rest.strip():
        raise UsageError(f"enhancer '{text}' has no options after ':'; write e.g. {EXAMPLE}")
    for item in rest.split(","):
        key, eq, raw = item.partition("=")
        key = key.strip()
        if not eq or not _KEY.fullmatch(key):
            raise UsageError(f"option '{item.strip()}' of enhancer '{text}' is not KEY=VALUE; "
                             f"write e.g. {EXAMPLE}")
        if key in options:
            raise UsageError(f"option '{key}' is given twice in enhancer '{text}'; give it once")
        options[key] = _scalar(raw, f"{name}:{key}")
    return name, options


def split_chain(text: str) -> list[str]:
    """``"gan+denoise:h=8"`` -> ``["gan", "denoise:h=8"]`` (``1e+3`` stays one value)."""
    return [part.strip() for part in _CHAIN.split(text)]


def _scalar(raw: str, key: str) -> Any:
    """A YAML scalar (empty: None)."""
    if not raw.strip():
        return None
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise UsageError(f"option '{key}={raw}': the value is not valid YAML; quote it or fix "
                         "the syntax") from exc
    if isinstance(value, (dict, list)):
        raise UsageError(f"option '{key}={raw}' must be a single value (a number, a word, "
                         "true/false or null)")
    return value
