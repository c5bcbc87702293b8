"""Records of shipped weights: one frozen :class:`WeightsRecord` per model a package ships.

Modelled on torchvision's ``Weights`` and timm's ``PretrainedCfg``: the file, the network it
fits, how and from what it was made, under which licence, how good and how fast it is (each
figure with the protocol, command and CPU it holds for), are stated once, where the enhancer
that uses it, ``model.generator.init: default``, the script that writes the file, ``egan
models``, the generated model cards and the tests all read them. The records themselves live
with the plugins that ship the files; the engine names no model here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from egan_core.checkpoint import generator_metadata, save_safetensors
from egan_core.errors import EganError

if TYPE_CHECKING:
    import torch

__all__ = ["TABLE_COLUMNS", "Figure", "Speed", "WeightsRecord", "card_markdown", "checkpoint_or_shipped",
           "file_sha256", "package_path", "record_dict", "save_weights", "table_markdown", "table_row"]

_SHA256 = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: The error :func:`checkpoint_or_shipped` raises for a record that words none of its own.
_MISSING = "the {name} model's weights are missing ({file}); pass --checkpoint"


def _number(value: Decimal | str | int, owner: str) -> Decimal:
    """``value`` as a Decimal that keeps its digits as measured ("0.850" stays 0.850).

    Raises:
        TypeError: a float, whose digits are already lost.
        ValueError: not a finite number.
    """
    if isinstance(value, float):
        raise TypeError(f"{owner}: give the value as a string (e.g. '0.850'), so its digits stay as measured")
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"{owner}: value {value!r} is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"{owner}: value {value!r} is not a finite number")
    return number


def _require(owner: str, date: str, **texts: str) -> None:
    """Refuse a figure whose stated facts are blank or whose date is not YYYY-MM-DD: a figure
    without its protocol compares with nothing."""
    blank = [name for name, text in texts.items() if not text.strip()]
    if blank:
        raise ValueError(f"{owner}: {', '.join(blank)} must be stated")
    if date and not _DATE.fullmatch(date):
        raise ValueError(f"{owner}: date must be YYYY-MM-DD, got {date!r}")


@dataclass(frozen=True)
class Figure:
    """One quality figure of a model and the protocol it was measured under.

    Attributes:
        metric: what was measured, e.g. "PSNR to the official EnlightenGAN outputs".
        value: the number as measured; give it as a string ("0.850") so its digits stay.
        unit: its unit ("dB"), or "" for a bare score.
        protocol: on which images and how, short enough for a table cell.
        command: the command that measured it.
        date: when, as YYYY-MM-DD ("" where it was not recorded).
        note: detail for the card: per-image values, what others score the same way.
    """

    metric: str
    value: Decimal
    unit: str
    protocol: str
    command: str = ""
    date: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        """Keep ``value`` as a Decimal; refuse a figure without metric or protocol."""
        object.__setattr__(self, "value", _number(self.value, f"figure '{self.metric}'"))
        _require(f"figure '{self.metric}'", self.date, metric=self.metric, protocol=self.protocol)

    def amount(self) -> str:
        """The value with its unit, e.g. "27.09 dB"."""
        return f"{self.value} {self.unit}".strip()


@dataclass(frozen=True)
class Speed:
    """One speed figure of a model: a speed holds for one CPU, path and command only.

    Attributes:
        value: the number as measured (a string, so its digits stay).
        unit: e.g. "MP/s".
        cpu: the CPU it was measured on, named as the measurement names it.
        protocol: image size, path, threads, load: short enough for a table cell.
        command: the command that measured it.
        date: when, as YYYY-MM-DD ("" where it was not recorded).
        note: detail for the card: other paths in the same run, ratios.
    """

    value: Decimal
    unit: str
    cpu: str
    protocol: str
    command: str
    date: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        """Keep ``value`` as a Decimal; refuse a speed without unit, CPU, protocol or command."""
        object.__setattr__(self, "value", _number(self.value, "speed"))
        _require("speed", self.date, unit=self.unit, cpu=self.cpu, protocol=self.protocol,
                 command=self.command)

    def amount(self) -> str:
        """The value with its unit, e.g. "0.52 MP/s"."""
        return f"{self.value} {self.unit}"


@dataclass(frozen=True)
class WeightsRecord:
    """The facts of one shipped weights file.

    Attributes:
        name: the model's name (as users know it, e.g. the enhancer that runs it).
        file: the ``.safetensors`` file (it may be absent in a development checkout).
        generator: the registered generator the weights fit.
        kwargs: that generator's constructor kwargs (read-only).
        method: how the weights were obtained (distillation, training, ...).
        licence: the terms the weights may be used under.
        data: the training data and its licence.
        source: the recipe or script and the command that made the file.
        sha256: the file's SHA-256, lowercase hex.
        missing: the one-line error when ``file`` is absent and no checkpoint is given
            (``{file}`` becomes the path); empty: "the NAME model's weights are missing
            (FILE); pass --checkpoint".
        enhancer: the registered enhancer that runs the model without a checkpoint.
        title: what the model is, in a few words (the model table's method column).
        summary: what it is, in a sentence or two: network, size, what it is for.
        usage: the command that uses it.
        quality: how good it is, each :class:`Figure` with its protocol; the first is the
            headline the model table shows.
        speed: how fast it is, each :class:`Speed` with its CPU; the first is the headline.
        compute: what making it took: time, cores, date.
    """

    name: str
    file: Path
    generator: str
    kwargs: Mapping[str, Any] = field(hash=False)
    method: str
    licence: str
    data: str
    source: str
    sha256: str
    missing: str = ""
    enhancer: str = ""
    title: str = ""
    summary: str = ""
    usage: str = ""
    quality: tuple[Figure, ...] = ()
    speed: tuple[Speed, ...] = ()
    compute: str = ""

    def __post_init__(self) -> None:
        """Normalise ``file``, ``kwargs`` and the figures; refuse a malformed hash, a
        multi-line error or a figure of the wrong type."""
        object.__setattr__(self, "file", Path(self.file))
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))
        object.__setattr__(self, "quality", tuple(self.quality))
        object.__setattr__(self, "speed", tuple(self.speed))
        if not all(isinstance(f, Figure) for f in self.quality):
            raise TypeError(f"weights record '{self.name}': quality must hold Figure objects")
        if not all(isinstance(s, Speed) for s in self.speed):
            raise TypeError(f"weights record '{self.name}': speed must hold Speed objects")
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"weights record '{self.name}': sha256 must be 64 lowercase hex digits")
        if "\n" in self.missing:
            raise ValueError(f"weights record '{self.name}': missing must be one line")

    def missing_message(self) -> str:
        """The one-line error for an absent ``file``, naming it."""
        template = self.missing or _MISSING.replace("{name}", self.name)
        return template.replace("{file}", str(self.file))


def checkpoint_or_shipped(checkpoint: str | Path | None, record: WeightsRecord) -> Path:
    """``checkpoint`` as a path, or ``record``'s shipped file when it is None: how every
    enhancer that ships a model picks its weights, so all fail alike when the file is absent.

    Raises:
        EganError: no checkpoint given and the shipped file is missing (one line, saying to
            pass --checkpoint).
    """
    if checkpoint is not None:
        return Path(checkpoint)
    if not record.file.is_file():
        raise EganError(record.missing_message())
    return record.file


def save_weights(record: WeightsRecord, tensors: Mapping[str, torch.Tensor],
                 path: str | Path | None = None, metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``tensors`` as ``record``'s weights file (at ``path``, default ``record.file``).

    The header names the record's generator and kwargs (what ``load_generator`` rebuilds it
    from, with no code from the file) and its ``source``; ``metadata`` adds entries (e.g.
    the training step). The record's ``sha256`` describes the file it ships, so a new file
    needs :func:`file_sha256` copied into the record.
    """
    meta = {**(metadata or {}), "source": record.source,
            **generator_metadata(record.generator, record.kwargs)}
    return save_safetensors(record.file if path is None else path, tensors, metadata=meta)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, lowercase hex (as :attr:`WeightsRecord.sha256` holds it)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_path(path: str | Path) -> str:
    """``path`` relative to the folder holding its top-level package (e.g.
    ``egan_plugins/weights/fast.safetensors``), or its bare name outside any package: how
    cards and ``egan models --json`` name a shipped file the same on every machine."""
    path = Path(path)
    top = None
    for parent in path.parents:
        if (parent / "__init__.py").is_file():
            top = parent
        elif top is not None:
            break
    return path.relative_to(top.parent).as_posix() if top is not None else path.name


def _figure_dict(figure: Figure | Speed) -> dict[str, Any]:
    out = {f.name: getattr(figure, f.name) for f in fields(figure)}
    out["value"] = float(figure.value)
    return out


def record_dict(record: WeightsRecord) -> dict[str, Any]:
    """``record`` as plain JSON-ready data, its file relative to its package (no path of
    this machine)."""
    out = {f.name: getattr(record, f.name) for f in fields(record)}
    out.update(file=package_path(record.file), kwargs=dict(record.kwargs),
               quality=[_figure_dict(f) for f in record.quality],
               speed=[_figure_dict(s) for s in record.speed])
    return out


def _cell(text: str) -> str:
    """``text`` fit for one Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _measured(command: str, date: str) -> str:
    return ", ".join(part for part in (_code(command), date) if part)


def _sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop."""
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "." if text else ""


def _shell(command: str, width: int = 96) -> list[str]:
    """``command`` as shell lines of about ``width`` characters, broken before options."""
    pieces = re.split(r" (?=--)", command.strip())
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) > width:
            lines[-1] += " \\"
            lines.append("    " + piece)
        else:
            lines[-1] += " " + piece
    return lines


#: Above the commands that made a model: the docs tests run every other ``bash`` block.
_NOT_RUN = "<!-- not run: makes the model, which needs its training data and hours of CPU time -->"

_COMMAND = re.compile(r"(?:egan|python)\s|[A-Z_]+=\S+\s")


def _source_parts(source: str) -> tuple[list[str], list[str]]:
    """``source``'s ``;``-separated parts: the prose, and the commands (in order)."""
    prose: list[str] = []
    commands: list[str] = []
    for part in (p.strip() for p in source.split(";")):
        if part:
            (commands if _COMMAND.match(part) else prose).append(part)
    return prose, commands


#: The columns of :func:`table_markdown` (and of ``egan models``), one :func:`table_row` each.
TABLE_COLUMNS = ("model", "enhancer", "method", "speed (CPU)", "quality (protocol)", "licence")


def table_row(record: WeightsRecord) -> tuple[str, ...]:
    """``record``'s cells under :data:`TABLE_COLUMNS`: its headline speed with the CPU and its
    headline quality figure with the protocol (the first of each)."""
    speed = (f"{record.speed[0].amount()} ({record.speed[0].protocol}; {record.speed[0].cpu})"
             if record.speed else "not measured")
    quality = (f"{record.quality[0].metric}: {record.quality[0].amount()} ({record.quality[0].protocol})"
               if record.quality else "not measured")
    return (record.name, record.enhancer, record.title or record.method, speed, quality, record.licence)


def card_markdown(record: WeightsRecord) -> str:
    """One model card in Markdown: what the model is and how to use it, its method, quality
    (each figure with its protocol and command), speed (with the CPU), training data and
    licence, how it was made, and its file: everything a user weighs before using it."""
    heading = f"## {record.name}" + (f": {record.title}" if record.title else "")
    out = [heading, ""]
    if record.summary:
        out += [record.summary, ""]
    if record.enhancer:
        use = f"; use it with `{record.usage}`" if record.usage else ""
        out += [f"Enhancer: `{record.enhancer}`{use}.", ""]
    out += ["### Method", "", _sentence(record.method), "", "### Quality", ""]
    out += _figure_table(
        ("metric", "value", "protocol", "measured with"), ("---", "---:", "---", "---"),
        [(f.metric, f.amount(), f.protocol, _measured(f.command, f.date)) for f in record.quality],
        [f"- {f.metric}, {f.amount()}: {f.note}" for f in record.quality if f.note],
        "No quality figure is recorded.")
    out += ["", "### Speed", ""]
    out += _figure_table(
        ("speed", "CPU", "protocol", "measured with"), ("---:", "---", "---", "---"),
        [(s.amount(), s.cpu, s.protocol, _measured(s.command, s.date)) for s in record.speed],
        [f"- {s.amount()} ({s.protocol}): {s.note}" for s in record.speed if s.note],
        "No speed figure is recorded.")
    out += ["", "### Training data and licence", "", f"- **Data:** {record.data}",
            f"- **Licence:** {record.licence}", "", "### How it was made", ""]
    prose, commands = _source_parts(record.source)
    out += [" ".join(_sentence(p) for p in prose), ""] if prose else []
    if commands:  # the marker keeps the docs tests from running hours of training
        out += [_NOT_RUN, "```bash", *(line for c in commands for line in _shell(c)), "```", ""]
    if record.compute:
        out += [f"Compute: {record.compute}.", ""]
    kwargs = ", ".join(f"{k}={v!r}" for k, v in record.kwargs.items())
    out += ["### File", "", f"- `{package_path(record.file)}`: generator `{record.generator}`"
            + (f" ({kwargs})" if kwargs else ""), f"- sha256 `{record.sha256}`", ""]
    return "\n".join(out)


def _figure_table(columns: tuple[str, ...], align: tuple[str, ...], rows: list[tuple[str, ...]],
                  notes: list[str], missing: str) -> list[str]:
    """A card's table of figures (quality or speed) and its notes, or ``missing``."""
    if not rows:
        return [missing]
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out + (["", *notes] if notes else [])


def table_markdown(records: Iterable[WeightsRecord]) -> str:
    """A Markdown table, one row per model: name and enhancer, method, headline speed with
    its CPU, headline quality with its protocol, licence: to choose a model at a glance."""
    out = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    for record in records:
        name, enhancer, *rest = table_row(record)
        cells = (_code(name), _code(enhancer), *rest)
        out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(out) + "\n"
