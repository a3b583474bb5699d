"""Pygments' PythonLexer giving the very same tokens with one regex call per token.

Split from ``highlight`` so that an export whose snippets are all cached (or shipped with
the bundled decks) imports none of Pygments' lexers: ``highlight`` loads this module when it
first has a snippet to highlight.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pygments.lexers.python import PythonLexer
from pygments.token import Error, Whitespace, _TokenType

# Pygments' RegexLexer tries a state's rules one by one, ~35 regex calls per Python token;
# that was 80% of a 10k-note export. FastPythonLexer joins each state's rules into one
# alternation, which picks the same rule (an alternation takes the first alternative that
# matches, as the rule loop does) in one call. A rule compiled with other flags than the
# lexer's (Pygments' "(?i)" prefix) gets them as a scoped group. States it cannot join safely
# (numbered backreferences, conditionals, other flags) keep the rule loop.
# tests/test_anki.py checks the tokens are identical to PythonLexer's.
_UNSAFE_TO_JOIN = re.compile(r"\\[1-9]|\(\?\(")
_LEADING_FLAGS = re.compile(r"\A\(\?[aiLmsux]+\)")
_SCOPED_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s", re.VERBOSE: "x"}


def _rule_source(pattern: re.Pattern[str], flags: int) -> str | None:
    """``pattern`` as a part of a pattern compiled with ``flags``, or None if it cannot be."""
    source = pattern.pattern
    if _UNSAFE_TO_JOIN.search(source):
        return None
    if pattern.flags == flags:
        return source
    added, removed = pattern.flags & ~flags, flags & ~pattern.flags
    if (added | removed) & ~sum(_SCOPED_FLAGS):
        return None
    on = "".join(c for flag, c in _SCOPED_FLAGS.items() if added & flag)
    off = "".join(c for flag, c in _SCOPED_FLAGS.items() if removed & flag)
    return f"(?{on}{'-' + off if off else ''}:{_LEADING_FLAGS.sub('', source)})"


def _join_rules(
    rules: list[tuple[Any, Any, Any]], flags: int
) -> tuple[re.Pattern[str], list[int]] | None:
    """One pattern for a state's rules, and the rule index of each of its groups."""
    patterns: list[re.Pattern[str]] = []
    sources: list[str] = []
    for rexmatch, _, _ in rules:
        pattern = getattr(rexmatch, "__self__", None)
        if not isinstance(pattern, re.Pattern):
            return None
        source = _rule_source(pattern, flags)
        if source is None:
            return None
        patterns.append(pattern)
        sources.append(source)
    try:
        joined = re.compile("|".join(f"({source})" for source in sources), flags)
    except re.error:
        return None
    # group number -> rule: each rule's wrapper group is followed by the rule's own groups.
    rule_of_group = [-1]
    for index, pattern in enumerate(patterns):
        rule_of_group += [index] * (1 + pattern.groups)
    return joined, rule_of_group


class FastPythonLexer(PythonLexer):  # type: ignore[misc]
    """PythonLexer giving the same tokens with one regex call per token."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._flags = re.compile("", self.flags).flags
        # Joined on first use: compiling them all would add 0.2 s to every export's start.
        self._joined: dict[str, tuple[re.Pattern[str], list[int]] | None] = {}

    def get_tokens_unprocessed(
        self, text: str, stack: tuple[str, ...] = ("root",)
    ) -> Iterator[tuple[int, Any, str]]:
        # The state machine below is RegexLexer.get_tokens_unprocessed's, rule choice aside.
        pos = 0
        tokendefs = self._tokens
        joined = self._joined
        statestack = list(stack)
        while True:
            state = statestack[-1]
            rules = tokendefs[state]
            if state not in joined:
                joined[state] = _join_rules(rules, self._flags)
            entry = joined[state]
            m = None
            if entry is None:
                for rule in rules:
                    m = rule[0](text, pos)
                    if m:
                        break
            else:
                m = entry[0].match(text, pos)
                if m is not None:
                    rule = rules[entry[1][m.lastindex or 0]]
            if m is None:
                if pos >= len(text):
                    break
                if text[pos] == "\n":
                    # at EOL, reset state to "root"
                    statestack = ["root"]
                    yield pos, Whitespace, "\n"
                else:
                    yield pos, Error, text[pos]
                pos += 1
                continue
            rexmatch, action, new_state = rule
            end = m.end()
            if action is not None:
                if type(action) is _TokenType:
                    yield pos, action, text[pos:end]
                else:
                    # Callbacks read the rule's own groups: match the rule alone.
                    yield from action(self, rexmatch(text, pos))
            pos = end
            if new_state is not None:
                if isinstance(new_state, tuple):
                    for item in new_state:
                        if item == "#pop":
                            if len(statestack) > 1:
                                statestack.pop()
                        elif item == "#push":
                            statestack.append(statestack[-1])
                        else:
                            statestack.append(item)
                elif isinstance(new_state, int):
                    if abs(new_state) >= len(statestack):
                        del statestack[1:]
                    else:
                        del statestack[new_state:]
                elif new_state == "#push":
                    statestack.append(statestack[-1])
                else:
                    raise AssertionError(f"wrong state def: {new_state!r}")
