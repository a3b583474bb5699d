"""Text from decks, snippets and file names made visible: shown, never interpreted.

A snippet's output, an answer, a deck's text and a file's name come from anywhere. Printed
raw, an escape sequence in them clears the screen (to fake "all passed"), sets the
window title or writes the clipboard (OSC 52), and a bidi override reorders what a line
seems to say. Every place the CLI prints such text passes it through :func:`visible`,
which spells each control character out (``\\x1b``, ``\\u009b``, ``\\u202e``) and keeps
the rest, new lines and tabs included. The stored text keeps its exact characters; only
what reaches the terminal is changed.

Standard library only, and nothing at import time: ``--help`` and ``review`` load it.
"""

from __future__ import annotations

import re

import click

__all__ = ["echo", "markup", "visible"]


def _spelled(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character spelled out (``\\x1b``), the rest as it is.

    A carriage return is spelled out too (``\\x0d``): on a terminal it rewrites the line.
    """
    # Looked up here: quizzer.questions (json, dataclasses) is not for --help's start-up.
    from quizzer.questions import TERMINAL_CONTROL

    return TERMINAL_CONTROL.sub(_spelled, text)


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of ``message`` made :func:`visible`."""
    click.echo(visible(str(message)), err=err, nl=nl)


def markup(text: str) -> str:
    """``text`` made :func:`visible` and escaped for rich's markup (``[bold]`` stays text)."""
    from rich.markup import escape

    return escape(visible(text))
