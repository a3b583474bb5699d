"""How outputs are normalised, compared and diffed: one definition for review, check, add
and the Anki cards. Pure: the standard library only, nothing runs at import time (the
review screen imports it and must start fast; difflib is loaded by the functions that
diff, not by a review whose answers are right)."""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass

__all__ = [
    "EXCEPTION_SUFFIXES",
    "LineComparison",
    "answer_matches",
    "compare_outputs",
    "exception_type",
    "normalize_output",
    "output_diff",
    "outputs_match",
]


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
    import difflib

    diff = difflib.unified_diff(
        expected_lines, actual_lines, fromfile=expected_label, tofile=actual_label, lineterm=""
    )
    return "\n".join(diff) + "\n"


_EXCEPTION_LINE = re.compile(r"^(?P<name>[A-Za-z_][\w.]*)(?::(?: .*)?)?$")


def exception_type(line: str) -> str | None:
    """The exception's type if ``line`` is the last line Python prints for an uncaught
    exception (``TypeError: ...``, ``KeyError``, ``mod.MyError: ...``), else None."""
    match = _EXCEPTION_LINE.match(line)
    if match is None:
        return None
    name = match["name"]
    short = name.rsplit(".", 1)[-1]
    builtin = getattr(builtins, short, None)
    if isinstance(builtin, type) and issubclass(builtin, BaseException):
        return name
    return name if short.endswith(_EXCEPTION_SUFFIXES) else None


_EXCEPTION_SUFFIXES = ("Error", "Exception", "Warning", "Exit", "Interrupt", "Group", "Iteration")
#: How an exception's type name ends. Every built-in exception's does, so the Anki cards'
#: JavaScript, which cannot look into Python's builtins, decides on these alone.
EXCEPTION_SUFFIXES = _EXCEPTION_SUFFIXES


def answer_matches(expected: str, typed: str) -> bool:
    """Whether a typed answer is right: the same output (see outputs_match), or the same
    output with an uncaught exception's last line given as its type alone (``TypeError``
    for ``TypeError: f() missing 1 required positional argument: 'x'``): the wording of
    the message is the interpreter's, the type is what understanding predicts."""
    if outputs_match(expected, typed):
        return True
    want, got = normalize_output(expected).split("\n"), normalize_output(typed).split("\n")
    if len(want) != len(got) or want[:-1] != got[:-1]:
        return False
    kind = exception_type(want[-1])
    return kind is not None and want[-1] != kind and got[-1] == kind


#: Spans ``(start, end)`` of a line's characters that differ from the other side's.
Spans = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class LineComparison:
    """One line of an expected output beside the typed line it is compared with, the way
    Anki's type-in answers compare: the characters that differ are marked on each side.

    ``expected`` is None for a typed line too many, ``typed`` None for a line left out.
    """

    expected: str | None
    typed: str | None
    expected_marks: Spans = ()
    typed_marks: Spans = ()

    @property
    def same(self) -> bool:
        return self.expected == self.typed


def _whole(line: str | None) -> Spans:
    return ((0, len(line)),) if line else ()


#: Below this share of characters in common, two lines are told apart whole: marking the
#: odd letters the two happen to share only hides that they are different lines.
_ALIKE = 0.4


def _compare_line(expected: str, typed: str) -> LineComparison:
    kind = exception_type(expected)
    if kind is not None and kind != expected and exception_type(typed) == typed:
        # An exception's type alone stands for its whole line: only the types are compared.
        if kind == typed:
            return LineComparison(expected, typed)
        return LineComparison(expected, typed, ((0, len(kind)),), _whole(typed))
    import difflib

    matcher = difflib.SequenceMatcher(None, expected, typed, autojunk=False)
    if matcher.ratio() < _ALIKE:
        return LineComparison(expected, typed, _whole(expected), _whole(typed))
    want: list[tuple[int, int]] = []
    got: list[tuple[int, int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            want.append((i1, i2))
        if j2 > j1:
            got.append((j1, j2))
    return LineComparison(expected, typed, tuple(want), tuple(got))


def compare_outputs(expected: str, typed: str) -> list[LineComparison]:
    """The normalized outputs line by line, with the differing characters of each pair of
    lines marked (see LineComparison). Lines that match are kept, unmarked, for context.
    """
    want = normalize_output(expected).split("\n")
    got = normalize_output(typed).split("\n")
    rows: list[LineComparison] = []
    import difflib

    matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows += [LineComparison(line, line) for line in want[i1:i2]]
            continue
        pairs = min(i2 - i1, j2 - j1)
        rows += [_compare_line(want[i1 + k], got[j1 + k]) for k in range(pairs)]
        rows += [LineComparison(line, None, _whole(line)) for line in want[i1 + pairs : i2]]
        rows += [LineComparison(None, line, (), _whole(line)) for line in got[j1 + pairs : j2]]
    return rows
