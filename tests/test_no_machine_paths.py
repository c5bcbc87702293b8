"""No file of the repository names a folder of the machine it was written on.

Such a path works for its author only: a user's checkout, CI and the docs site have other
home folders and no such project folders. Files are what git tracks plus new files it
does not ignore (``git ls-files --cached --others --exclude-standard``). Generic system
paths (``/dev/null``, ``/usr/bin/env``, ``/tmp`` alone) are fine; so is ``~``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Each pattern starts where a path starts: not inside a word, a relative path or a URL path.
_START = r"(?<![\w.~$-])"
MACHINE_PATHS = {
    "a development machine's work folder": re.compile(_START + r"/work/"),
    "a project folder under /tmp": re.compile(_START + r"/tmp/[\w.$-]"),
    "root's home folder": re.compile(_START + r"/root(?:/|\b)"),
    "a home folder": re.compile(_START + r"/home/[\w.$-]+"),
    "a macOS home folder": re.compile(_START + r"/Users/[\w.$-]+"),
    "a macOS temporary folder": re.compile(_START + r"/(?:private/)?var/folders/"),
    "a mounted drive": re.compile(_START + r"/mnt/[\w.$-]"),
    "a Windows user folder": re.compile(r"\b[A-Za-z]:(?:\\\\?|/)Users\b", re.I),
}

#: (file, exact text): absolute paths that are test data, not a place on a machine.
ALLOWED = {
    # a run name that must be refused because it is absolute
    ("tests/reliability/test_output_confinement.py", "/tmp/abs"),
}


def repository_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the repository's file list is unknown")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    return [ROOT / name for name in sorted(set(listed.split("\0"))) if name and (ROOT / name).is_file()]


def machine_paths(name: str, text: str) -> list[str]:
    """``line: text (why)`` for each machine path in ``text``, the file ``name``'s contents."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for why, pattern in MACHINE_PATHS.items():
            for match in pattern.finditer(line):
                path = re.match(r"[^\s'\"`)\]>,;]*", line[match.start():])
                shown = (path.group() if path else match.group()).rstrip(".:")
                if not any(name == allowed and shown.startswith(text_) for allowed, text_ in ALLOWED):
                    found.append(f"{name}:{number}: {shown} ({why})")
    return found


def test_no_file_names_a_machine_path() -> None:
    offenders = []
    for path in repository_files():
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        name = path.relative_to(ROOT).as_posix()
        if name == "tests/test_no_machine_paths.py":  # its own patterns and examples
            continue
        offenders += machine_paths(name, data.decode("utf-8", errors="replace"))
    assert not offenders, ("absolute paths of a particular machine (write a relative path, ~, an "
                           "environment variable or a placeholder):\n" + "\n".join(offenders))


@pytest.mark.parametrize("text", [
    "data root: /work/shared/data/low", "cd /tmp/egan_gan && egan run", "open /root/.cache",
    "see /home/alice/egan", "cp /Users/bob/x .", r"C:\Users\carol\egan", "C:/Users/carol",
    "ln -s /mnt/data/low train_A", "file:///work/x", "TMPDIR=/var/folders/xy/T",
])
def test_machine_paths_are_found(text: str) -> None:
    assert machine_paths("any.md", text)


@pytest.mark.parametrize("text", [
    "#!/usr/bin/env bash", "cmd > /dev/null 2>&1", "mktemp -d -p /tmp", "~/.cache/egan",
    "../shared/data/low", "https://github.com/user/work/tree", "data.root: DIR", "egan/home/x",
    "$HOME/work/x", "runs/quickstart/checkpoints", "--out out/",
])
def test_generic_paths_pass(text: str) -> None:
    assert not machine_paths("any.md", text)
