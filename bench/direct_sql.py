"""Write (or check) quizzer/direct_sql.json: an export's statements in SQLite's SQL.

    python bench/direct_sql.py           # write the file for this schema and SQLAlchemy
    python bench/direct_sql.py --check   # exit 1 if the file is not what it would write

An Anki export of an up-to-date SQLite collection reads with the standard library
(``quizzer.sqlite_direct``), running the SQLite text of ``transfer.DIRECT_STATEMENTS``
compiled here, with the schema revision they were compiled for: a database at any other
revision is read through SQLAlchemy. Run it after a migration or a change to those
statements; tests/test_direct_export.py fails until then.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "quizzer" / "direct_sql.json"


def text() -> str:
    from quizzer.transfer import direct_statements

    return json.dumps(direct_statements(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    from generated import write_or_check

    return write_or_check(TARGET, text, argv, __doc__, "direct_sql.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
