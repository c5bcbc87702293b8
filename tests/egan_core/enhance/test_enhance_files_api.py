"""``enhance_files``: ``egan enhance`` as a function, returning an ``EnhanceReport``."""

from __future__ import annotations

from pathlib import Path

import pytest

import egan_core
from egan_core.enhance import EnhanceReport, enhance_files
from egan_core.errors import InputError, UnknownNameError, UsageError


def test_enhances_skips_and_reports(tmp_path: Path, write_image) -> None:
    write_image("in/a.png")
    write_image("in/sub/b.png")
    (tmp_path / "in" / "bad.png").write_bytes(b"not an image")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    report = enhance_files(tmp_path / "in", out, "clahe", recursive=True)
    assert isinstance(report, EnhanceReport) and report.main and report.world == 1
    assert report.total == 3 and report.attempted == 2 and report.out == out.resolve()
    assert report.written == [(out / "sub" / "b.png").resolve()]
    assert report.skipped == [(out / "a.png").resolve()]
    assert [src for src, _ in report.failed] == [str(tmp_path / "in" / "bad.png")]
    assert report.summary() == f"1 of 3 failed: {tmp_path / 'in' / 'bad.png'}"
    assert (out / "a.png").read_bytes() == b"keep me"


def test_refuses_before_any_work(tmp_path: Path, write_image) -> None:
    photo = write_image("a.png")
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=r"^'.*gone\.png': no such file, folder or matching image$"):
        enhance_files([photo, tmp_path / "gone.png"], out, "clahe")
    with pytest.raises(UnknownNameError, match="did you mean 'clahe'"):
        enhance_files([photo], out, "clahr")
    with pytest.raises(UsageError, match="not both"):
        enhance_files([photo], out, checkpoint="a.pt", recipe="r.yaml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images or videos found"):
        enhance_files(tmp_path / "empty", out, "clahe")
    assert not out.exists()


def test_is_public() -> None:
    assert egan_core.enhance_files is enhance_files
    assert egan_core.EnhanceReport is EnhanceReport
