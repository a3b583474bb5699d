"""How outputs are normalised, compared and diffed: one definition for review, check, add
and the Anki cards. Pure: the standard library only, nothing runs at import time (the
review screen imports it and must start fast)."""

from __future__ import annotations

import difflib

__all__ = ["normalize_output", "output_diff", "outputs_match"]


def normalize_output(text: str) -> str:
    r"""The form in which two outputs are compared.

    ``\r\n`` counts as ``\n``; trailing spaces on each line and trailing blank lines are
    dropped, as the deck format says. Nothing else changes: case, tabs, leading spaces
    and blank lines inside the text all count. The result has no final newline.
    """
    lines = [line.rstrip(" ") for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def outputs_match(expected: str, actual: str) -> bool:
    """Whether ``actual`` counts as the same output as ``expected`` (see normalize_output)."""
    return normalize_output(expected) == normalize_output(actual)


def output_diff(
    expected: str, actual: str, *, expected_label: str = "expected", actual_label: str = "actual"
) -> str:
    """A unified diff of the normalized outputs; empty when they match."""
    expected_lines = normalize_output(expected).split("\n")
    actual_lines = normalize_output(actual).split("\n")
    if expected_lines == actual_lines:
        return ""
    diff = difflib.unified_diff(
        expected_lines, actual_lines, fromfile=expected_label, tofile=actual_label, lineterm=""
    )
    return "\n".join(diff) + "\n"
