"""The bundled decks' highlighted HTML shipped in the package (quizzer/bundled_html.json):
current, used by a first export in place of highlighting, and ignored where it does not
apply. (That it is faster is bench/'s business: no timing here.)"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import genanki
import pytest
from helpers import Invoke, cli_process, code_fields

from quizzer import highlight

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "run `python bench/bundled_html.py` (a bundled deck or Pygments changed)"


def _ok(result: object) -> None:
    assert getattr(result, "exit_code", 1) == 0, getattr(result, "output", result)


def _snippets(db_path: Path) -> set[str]:
    """Every code an export of the collection can show: questions' and their variants'."""
    with sqlite3.connect(db_path) as connection:
        rows = connection.execute("SELECT code, variants FROM questions WHERE NOT retired")
        codes: set[str] = set()
        for code, variants in rows:
            codes.add(code or "")
            codes.update(variant["code"] for variant in json.loads(variants or "[]"))
    connection.close()
    return {code.rstrip() for code in codes if code.strip()}


def _shipped_file() -> dict[str, object]:
    text = (resources.files("quizzer") / highlight.SHIPPED_FILE).read_text(encoding="utf-8")
    data = json.loads(text)
    assert isinstance(data, dict)
    return data


@pytest.fixture
def bundled(invoke: Invoke, db_path: Path) -> Iterator[Path]:
    """A collection holding the bundled decks, nothing exported yet."""
    _ok(invoke("import", "--bundled"))
    yield db_path


def test_the_shipped_html_is_every_bundled_snippet_highlighted_with_this_pygments(
    bundled: Path,
) -> None:
    data = _shipped_file()
    assert data["format"] == highlight.FORMAT, REGENERATE
    snippets = _snippets(bundled)
    assert len(snippets) > 300
    wanted = {highlight.cache_key(code): highlight.highlight_html(code) for code in snippets}
    shipped = data["html"]
    assert isinstance(shipped, dict)
    # Nothing missing, nothing left over from snippets that changed, and each one right.
    assert sorted(set(wanted) - set(shipped)) == [], REGENERATE
    assert sorted(set(shipped) - set(wanted)) == [], REGENERATE
    assert [key for key in wanted if shipped[key] != wanted[key]] == [], REGENERATE
    assert highlight.shipped_html() == wanted


def test_the_script_that_writes_the_file_finds_it_current() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bundled_html.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_a_first_export_of_the_bundled_decks_highlights_nothing(
    invoke: Invoke, bundled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "first.apkg"
    # No lexer; and nothing an Anki export has no use for: the deck-file side (pydantic,
    # PyYAML's use by quizzer.deckfile; genanki imports PyYAML itself), a hidden progress bar.
    watched = [
        "quizzer.pylexer",
        "pygments.lexers.python",
        "pygments.formatters.html",
        "quizzer.deckfile",
        "pydantic",
        "rich.progress",
    ]
    run = cli_process(
        ["--db", str(bundled), "--today", "2026-01-05", "export", "-o", str(out)], watched
    )
    assert run.loaded == []
    # Nothing was highlighted, so nothing was written to the database's cache.
    with sqlite3.connect(bundled) as connection:
        assert connection.execute("SELECT count(*) FROM highlight_cache").fetchone() == (0,)
    connection.close()
    # The same package as highlighting every snippet gives.
    monkeypatch.setattr(highlight, "shipped_html", dict)
    highlighted = tmp_path / "highlighted.apkg"
    _ok(invoke("export", "-o", str(highlighted)))
    assert out.read_bytes() == highlighted.read_bytes()
    # And its fields pass genanki's check for malformed tags, which the export skips.
    with zipfile.ZipFile(out) as archive:
        data = archive.read("collection.anki2")
    connection = sqlite3.connect(":memory:")
    connection.deserialize(data)
    fields = [
        f for (flds,) in connection.execute("SELECT flds FROM notes") for f in flds.split("\x1f")
    ]
    connection.close()
    assert len(fields) > 300 * 9
    assert [f for f in fields if genanki.Note._find_invalid_html_tags_in_field(f)] == []


def test_the_export_takes_the_shipped_html(
    invoke: Invoke, bundled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = tmp_path / "plain.apkg"
    _ok(invoke("export", "-o", str(plain)))
    marked = {
        key: value.replace("<span", '<span data-shipped="yes"', 1)
        for key, value in highlight.shipped_html().items()
    }
    monkeypatch.setattr(highlight, "shipped_html", lambda: marked)
    again = tmp_path / "marked.apkg"
    _ok(invoke("export", "-o", str(again)))
    before, after = code_fields(plain), code_fields(again)
    changed = [guid for guid in before if before[guid] != after[guid]]
    assert len(changed) > 200 and all('data-shipped="yes"' in after[guid] for guid in changed)


def test_html_shipped_for_another_pygments_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    highlight.shipped_html.cache_clear()
    monkeypatch.setattr(highlight, "FORMAT", "quizzer-highlight-1/pygments-0.0")
    try:
        assert highlight.shipped_html() == {}
    finally:
        highlight.shipped_html.cache_clear()
