"""Writing or checking a file generated into the package (``bundled_html.py``,
``direct_sql.py``): one command line for both."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_or_check(
    target: Path, wanted: Callable[[], str], argv: list[str], usage: str, script: str
) -> int:
    """Write ``wanted()`` to ``target``; with ``--check``, exit 1 unless it holds that
    already (``script`` is the command that rewrites it)."""
    if argv not in ([], ["--check"]):
        print(usage, file=sys.stderr)
        return 2
    text = wanted()
    if argv == ["--check"]:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target.name} is stale: run python bench/{script}", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0
