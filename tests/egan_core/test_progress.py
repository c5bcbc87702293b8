"""The one progress display: a bar on a terminal, plain lines otherwise, text printed as is."""

from __future__ import annotations

import io

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn

from egan_core.progress import ProgressDisplay
from egan_core.training.progress import ProgressReporter


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=terminal, width=60), buffer


def test_plain_lines_without_a_terminal() -> None:
    console, buffer = _console(terminal=False)
    with ProgressDisplay(TextColumn("x"), total=3, console=console) as display:
        assert not display.live
        display.advance()
        display.update(completed=2, plain="two of three")
        display.print("error: 'a[/b].png': [bold]kept as is[/bold]")
    assert buffer.getvalue() == "two of three\nerror: 'a[/b].png': [bold]kept as is[/bold]\n"


def test_a_bar_on_a_terminal_instead_of_the_plain_lines() -> None:
    console, buffer = _console(terminal=True)
    with ProgressDisplay(TextColumn("cropping"), BarColumn(), MofNCompleteColumn(), total=4,
                         console=console) as display:
        assert display.live
        display.update(completed=3, plain="not shown")
    assert "cropping" in buffer.getvalue() and "3/4" in buffer.getvalue()
    assert "not shown" not in buffer.getvalue()


def test_disabled_shows_nothing() -> None:
    console, buffer = _console(terminal=True)
    with ProgressDisplay(TextColumn("x"), total=1, console=console, enabled=False) as display:
        display.update(completed=1, plain="line")
        display.print("message")
    assert buffer.getvalue() == ""


def test_training_log_lines_keep_their_format() -> None:
    reporter = ProgressReporter(10, quiet=True)
    buffer = io.StringIO()
    reporter.display.console = Console(file=buffer, width=200)
    reporter.on_start(0)
    reporter.update(3, {"step": 3, "epoch": 1, "lr": 2e-4, "g_total": 0.123456, "d_a": 1.5,
                        "images_per_s": 5.04, "time": 1.0})
    reporter.message("checkpoint: runs/tiny/checkpoints/latest.pt")
    reporter.on_end(failed=False)
    assert buffer.getvalue().splitlines() == [
        "epoch 1 step 3/10 g_total=0.1235 d_a=1.5000 lr=2.00e-04 5.0 img/s",
        "checkpoint: runs/tiny/checkpoints/latest.pt",
    ]
