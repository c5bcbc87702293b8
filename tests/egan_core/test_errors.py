"""The two ways egan makes one line of an error: its first line, or all of it folded."""

from __future__ import annotations

from egan_core.errors import first_line, folded


def test_folded_keeps_every_line_first_line_only_the_first() -> None:
    exc = RuntimeError("Error(s) in loading state_dict:\n\tMissing key(s): a.weight,\n  b.bias")
    assert folded(exc) == "Error(s) in loading state_dict: Missing key(s): a.weight, b.bias"
    assert folded(exc, 14) == "Error(s) in lo"
    assert first_line(exc) == "Error(s) in loading state_dict:"
    assert first_line(RuntimeError("")) == "RuntimeError"
