"""Mechanical variants of a snippet, found with ``ast``: the raw material of ``quizzer vary``.

Each proposal is one small edit that keeps what the snippet is about while (often)
changing what it prints: swap two stacked decorators, change an integer literal, reverse
two independent statements, turn a generator's ``yield`` into ``return`` or back. The
edits are made on the text at the positions ``ast`` reports, so the rest of the snippet
(comments, spacing) stays as the author wrote it. Nothing here runs code: whether a
proposal is worth having is for the sandbox to prove (``varying.prove``). Plain Python.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Proposal", "propose"]

#: Statements whose order can be reversed when they share no names (no compound ones).
_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)


@dataclass(frozen=True, slots=True)
class Proposal:
    """One mechanical edit of a snippet: what kind, what it does, and the new code."""

    kind: str
    description: str
    code: str


class _Text:
    """The snippet's text, addressed as ``ast`` addresses it (lines from 1, UTF-8 columns)."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.data = code.encode("utf-8")
        self.starts = [0]
        for line in self.data.split(b"\n")[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.data[start:end].decode("utf-8")

    def edited(self, edits: list[tuple[int, int, str]]) -> str:
        data = self.data
        for start, end, text in sorted(edits, reverse=True):
            data = data[:start] + text.encode("utf-8") + data[end:]
        return data.decode("utf-8")


def propose(code: str, *, limit: int = 12) -> list[Proposal]:
    """Up to ``limit`` distinct edits of ``code`` that still compile; none if it does not."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    text = _Text(code)
    found: list[Proposal] = []
    seen = {code}
    for proposal in _all(tree, text):
        if proposal.code in seen:
            continue
        try:
            ast.parse(proposal.code)
        except (SyntaxError, ValueError):
            continue
        seen.add(proposal.code)
        found.append(proposal)
        if len(found) >= limit:
            break
    return found


def _all(tree: ast.Module, text: _Text) -> Iterator[Proposal]:
    # The likeliest to keep the concept first: decorator order and generator returns
    # are what such questions are about; numbers and statement order come after.
    yield from _swap_decorators(tree, text)
    yield from _yield_return(tree, text)
    yield from _reverse_statements(tree, text)
    yield from _integers(tree, text)


def _swap_decorators(tree: ast.Module, text: _Text) -> Iterator[Proposal]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        decorators = node.decorator_list
        for upper, lower in itertools.pairwise(decorators):
            a, b = text.segment(upper), text.segment(lower)
            yield Proposal(
                "swap decorators",
                f"swap @{a} and @{b} on {node.name} (line {upper.lineno})",
                text.edited([(*text.span(upper), b), (*text.span(lower), a)]),
            )


def _own_nodes(function: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function's body, not those of functions or classes inside it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))


def _yield_return(tree: ast.Module, text: _Text) -> Iterator[Proposal]:
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef):
            continue
        own = list(_own_nodes(function))
        if not any(isinstance(node, ast.Yield) for node in own):
            continue
        for node in own:
            if isinstance(node, ast.Return) and node.value is not None:
                start, _ = text.span(node)
                yield Proposal(
                    "yield/return",
                    f"'return' becomes 'yield' in {function.name} (line {node.lineno})",
                    text.edited([(start, start + len("return"), "yield")]),
                )
            elif (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Yield)
                and node.value.value is not None
                and text.segment(node).startswith("yield ")
            ):
                start, _ = text.span(node)
                yield Proposal(
                    "yield/return",
                    f"'yield' becomes 'return' in {function.name} (line {node.lineno})",
                    text.edited([(start, start + len("yield"), "return")]),
                )


def _names(node: ast.AST) -> tuple[set[str], set[str]]:
    """(names read, names written) anywhere in ``node``; attributes and subscripts count as
    writes to their object, so ``a.x = 1`` and ``print(a)`` are not independent."""
    read: set[str] = set()
    written: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (written if isinstance(sub.ctx, ast.Store | ast.Del) else read).add(sub.id)
        elif isinstance(sub, ast.Attribute | ast.Subscript) and isinstance(
            sub.ctx, ast.Store | ast.Del
        ):
            base = sub.value
            while isinstance(base, ast.Attribute | ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                written.add(base.id)
        elif isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute):
            base = sub.func.value
            if isinstance(base, ast.Name):
                written.add(base.id)  # a method call may change its object
    return read, written


def _independent(a: ast.stmt, b: ast.stmt) -> bool:
    read_a, wrote_a = _names(a)
    read_b, wrote_b = _names(b)
    return not (wrote_a & (read_b | wrote_b)) and not (wrote_b & read_a)


def _bodies(tree: ast.Module) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                yield body


def _reverse_statements(tree: ast.Module, text: _Text) -> Iterator[Proposal]:
    for body in _bodies(tree):
        for a, b in itertools.pairwise(body):
            if not (isinstance(a, _SIMPLE) and isinstance(b, _SIMPLE)):
                continue
            a_start, a_end = text.span(a)
            b_start, b_end = text.span(b)
            between = text.data[a_end:b_start]
            # One statement per line, nothing but the line break and indentation between.
            if between.strip() or b"\n" not in between or not _independent(a, b):
                continue
            yield Proposal(
                "reverse statements",
                f"lines {a.lineno} and {b.lineno} change places",
                text.edited([(a_start, a_end, text.segment(b)), (b_start, b_end, text.segment(a))]),
            )


def _integers(tree: ast.Module, text: _Text) -> Iterator[Proposal]:
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Constant)
            and type(node.value) is int
            and text.segment(node).isdigit()
        ):
            continue
        value = node.value
        for new in (value + 1, value - 1) if value > 1 else (value + 1,):
            yield Proposal(
                "integer literal",
                f"{value} becomes {new} (line {node.lineno})",
                text.edited([(*text.span(node), str(new))]),
            )
