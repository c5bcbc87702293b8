"""Input expansion (files, folders, globs) and output naming for ``egan enhance``."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path

from egan_core.enhance.io import FORMATS, format_of
from egan_core.errors import UsageError
from egan_core.imageio import IMAGE_EXTENSIONS
from egan_core.video.io import READABLE, output_container

#: Video endings picked up from folders and globs, besides egan's one list of image endings
#: (``IMAGE_EXTENSIONS``); a file named explicitly is always tried.
VIDEO_EXTS = READABLE


@dataclass(frozen=True)
class Job:
    """One input file and where its enhanced version goes."""

    source: Path
    target: Path
    fmt: str | None  # a FORMATS key; None for videos

    @property
    def is_video(self) -> bool:
        """Whether the input is a video (enhanced frame by frame)."""
        return self.source.suffix.lower() in VIDEO_EXTS


@dataclass
class Plan:
    """What ``egan enhance`` will do: jobs to run, outputs kept, inputs not found."""

    jobs: list[Job] = field(default_factory=list)
    skipped: list[Job] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def expand_inputs(inputs: list[str], recursive: bool = False, exclude: Path | None = None
                  ) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Files named by ``inputs``, sorted and de-duplicated, each with its base folder.

    A folder contributes its images and videos (all levels below it with ``recursive``);
    anything else is a glob pattern. The base folder is where the output's relative
    path starts (the folder given, or the file's own folder). Files found in folders
    below ``exclude`` (the output folder) are left out, so a rerun does not pick up its
    own outputs.

    Returns:
        ``([(file, base), ...], [input that matched nothing, ...])``.
    """
    found: dict[Path, tuple[Path, Path]] = {}
    missing: list[str] = []
    wanted = IMAGE_EXTENSIONS | VIDEO_EXTS
    for given in inputs:
        path = Path(given)
        if path.is_file():
            hits = [(path, path.parent)]
        elif path.is_dir():
            walk = path.rglob("*") if recursive else path.iterdir()
            hits = [(p, path) for p in walk if p.is_file() and p.suffix.lower() in wanted
                    and not (exclude and p.resolve().is_relative_to(exclude))]
        else:
            matches = glob.glob(given, recursive=recursive)
            hits = [(Path(m), Path(m).parent) for m in matches
                    if Path(m).is_file() and Path(m).suffix.lower() in wanted]
            if not hits:
                missing.append(given)
        for file, base in hits:
            found.setdefault(file.resolve(), (file, base))
    return sorted(found.values(), key=lambda fb: str(fb[0])), missing


def output_name(source: Path, suffix: str = "", fmt: str | None = None,
                video_format: str | None = None) -> tuple[str, str | None]:
    """The output file name of ``source`` (stem kept) and its format key (None: video).

    A video keeps its ending where egan can write that container (else ``.mp4``), unless
    ``video_format`` names one.
    """
    ext = source.suffix
    if ext.lower() in VIDEO_EXTS:
        return f"{source.stem}{suffix}{output_container(source, video_format)}", None
    if fmt is not None:
        return f"{source.stem}{suffix}{FORMATS[fmt][1]}", fmt
    kept = format_of(source)
    if kept is None:
        return f"{source.stem}{suffix}.png", "png"
    return f"{source.stem}{suffix}{ext}", kept


def plan_jobs(inputs: list[str], out: str | Path, *, recursive: bool = False,
              fmt: str | None = None, suffix: str = "", overwrite: bool = False,
              video_format: str | None = None) -> Plan:
    """Expand ``inputs`` and name every output inside ``out``.

    Raises:
        UsageError: an unknown format, a suffix with path separators, or two inputs that
            would write the same output file.
    """
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown output format '{fmt}'; use one of {', '.join(FORMATS)}")
    if "/" in suffix or "\\" in suffix or ".." in suffix or suffix == "." or "\0" in suffix:
        raise UsageError(f"--suffix '{suffix}' must not contain path separators or '..'")
    if video_format is not None:
        output_container(Path("x.mp4"), video_format)  # an unknown container fails before any work
    root = Path(out).resolve()
    files, missing = expand_inputs(inputs, recursive, exclude=root)
    plan, owner = Plan(missing=missing), {}
    for file, base in files:
        name, job_fmt = output_name(file, suffix, fmt, video_format)
        rel = file.parent.resolve().relative_to(base.resolve())
        target = (root / rel / name).resolve()
        if name in (".", "..") or not target.is_relative_to(root):
            raise UsageError(f"output for '{file}' would land outside '{out}'")
        if target in owner:
            raise UsageError(f"'{owner[target]}' and '{file}' would both write '{target}';"
                             " use --suffix or --format, or enhance them separately")
        owner[target] = file
        job = Job(file, target, job_fmt)
        (plan.skipped if target.exists() and not overwrite else plan.jobs).append(job)
    return plan
