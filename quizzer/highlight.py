"""Python code as HTML spans with Pygments' short CSS classes, fast enough for big exports.

Pygments' PythonLexer was 80% of the time of a 10k-note Anki export. The lexer used here
(``quizzer.pylexer``) gives its very tokens (a test compares them), only found with fewer
regex calls; Pygments' HtmlFormatter writes the HTML. Both are imported, and the lexer made
and its regular expressions compiled (0.2 s), on the first snippet to highlight: an export
whose snippets are all in the database's cache (``cache_key``) or shipped with the bundled
decks (``shipped_html``) loads neither.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import pygments

if TYPE_CHECKING:
    from quizzer.pylexer import FastPythonLexer

#: Changes when highlight_html's output would: cached HTML of another version is not used.
FORMAT = f"quizzer-highlight-1/pygments-{pygments.__version__}"

#: The bundled decks' snippets highlighted, shipped in the package (see shipped_html).
SHIPPED_FILE = "bundled_html.json"


@cache
def _lexer() -> FastPythonLexer:
    from quizzer.pylexer import FastPythonLexer

    # One lexer for the whole process, made on first use: building one (Pygments compiles
    # every rule) costs more than lexing a snippet, and a cached export needs none.
    # stripnl=False keeps leading blank lines, which are part of what the learner reads;
    # ensurenl=False adds no newline, which <pre> would show as an empty last line.
    return FastPythonLexer(stripnl=False, ensurenl=False)


def cache_key(code: str) -> str:
    """The key of ``code``'s highlighted HTML in a cache: a digest of it and of FORMAT."""
    return hashlib.sha256(f"{FORMAT}\0{code}".encode("utf-8", "surrogatepass")).hexdigest()


def highlight_html(code: str) -> str:
    """Python code as HTML spans with Pygments' short CSS classes; its text is ``code``.

    What ``pygments.highlight(code, PythonLexer(...), HtmlFormatter(nowrap=True))`` gives,
    only faster, and without the line break HtmlFormatter ends the last line with.
    """
    rendered = str(pygments.highlight(code, _lexer(), _formatter()))
    if not code.endswith(("\n", "\r")):  # the lexer reads "\r" as a line break
        rendered = rendered.removesuffix("\n")
    return rendered


@cache
def _formatter() -> Any:
    from pygments.formatters.html import HtmlFormatter

    return HtmlFormatter(nowrap=True)


@cache
def shipped_html() -> dict[str, str]:
    """The highlighted HTML of the bundled decks' snippets (and their variants) as shipped
    with quizzer, by ``cache_key``: a first export of the bundled decks highlights nothing.

    Empty when the file was written with another FORMAT (another Pygments): every key would
    miss anyway, and the export highlights as usual. ``bench/bundled_html.py`` writes the
    file; tests/test_bundled_html.py fails when it is stale.
    """
    try:
        text = (resources.files("quizzer") / SHIPPED_FILE).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return {}  # a missing or broken file costs the export only its highlighting
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return {}
    html = data.get("html")
    return dict(html) if isinstance(html, dict) else {}
