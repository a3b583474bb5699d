"""Write (or check) quizzer/bundled_html.json: the bundled decks' snippets, highlighted.

    python bench/bundled_html.py           # write the file for the installed Pygments
    python bench/bundled_html.py --check   # exit 1 if the file is not what it would write

The first export of the bundled decks takes their highlighted HTML from this file
(``highlight.shipped_html``) instead of building a lexer and highlighting ~300 snippets.
Run it after changing a bundled deck or upgrading Pygments; tests/test_bundled_html.py fails
until then. The snippets are read the way the export reads them: the decks are imported into
a scratch database and every question's code and variant codes are taken from it.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "quizzer" / "bundled_html.json"


def bundled_snippets() -> set[str]:
    """Every snippet an export of the bundled decks can show: each active question's code
    and its variants' codes, as the export highlights them (trailing space stripped)."""
    from sqlalchemy import select

    from quizzer import importing
    from quizzer.db import open_database
    from quizzer.orm import Question

    with tempfile.TemporaryDirectory() as folder:
        database = open_database(str(Path(folder) / "bundled.db"))
        try:
            with database.transaction() as session:
                importing.import_decks(
                    session,
                    [importing.bundled_decks_dir()],
                    now=datetime(2026, 1, 1, tzinfo=UTC),
                    today=date(2026, 1, 1),
                )
            with database.reading() as session:
                rows = session.execute(
                    select(Question.code, Question.variants).where(Question.retired.is_(False))
                ).all()
        finally:
            database.dispose()
    codes = set()
    for code, variants in rows:
        codes.add(code or "")
        codes.update(variant["code"] for variant in variants or ())
    return {code.rstrip() for code in codes if code.strip()}


def contents() -> dict[str, Any]:
    """What the file should hold with the installed Pygments."""
    from quizzer.highlight import FORMAT, cache_key, highlight_html

    snippets = sorted(bundled_snippets())
    return {
        "format": FORMAT,
        "html": {cache_key(code): highlight_html(code) for code in snippets},
    }


def text(data: dict[str, Any]) -> str:
    # One entry a line, sorted: a deck change shows as a small diff.
    return json.dumps(data, indent=0, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    from generated import write_or_check

    return write_or_check(TARGET, lambda: text(contents()), argv, __doc__, "bundled_html.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
