"""The export figure's floor, timed as a whole process against ``quizzer export``.

    python bench/bench_child.py export-bare DB OUT.apkg MODELS.json [--no-highlight]

It reads the notes from a quizzer database with the standard library's sqlite3 and writes
them with plain genanki, the code highlighted with stock Pygments (``pygments.highlight``
with PythonLexer and HtmlFormatter), as the export must: the Code fields are the same as
quizzer's, which run.py checks. Nothing of quizzer is imported: the note types (ids, fields,
templates, CSS) come from MODELS.json, which run.py writes from ``quizzer.anki``.
``--no-highlight`` escapes the code instead: a lower bound no exporter of the same notes
can reach, reported beside the figure.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

_QUERY = """
SELECT d.slug, d.title, q.qid, q.type, q.prompt, q.code, q.answer, q.choices,
       q.explanation, q.tags, q.changed_at, q.python
FROM questions q JOIN decks d ON d.id = q.deck_id
WHERE NOT q.retired
ORDER BY d.slug, q.position, q.id
"""


def read_notes(db: str) -> list[tuple[Any, ...]]:
    """Every active question of the database, deck by deck in file order."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute(_QUERY).fetchall()
    connection.close()
    return rows


def export_bare(db: str, out: str, models_path: str, *options: str) -> None:
    import html

    import genanki

    esc = html.escape
    if "--no-highlight" in options:

        def code_html(code: str) -> str:
            return esc(code, quote=False)
    else:
        from pygments import highlight
        from pygments.formatters.html import HtmlFormatter
        from pygments.lexers.python import PythonLexer

        lexer = PythonLexer(stripnl=False, ensurenl=False)
        formatter = HtmlFormatter(nowrap=True)

        def code_html(code: str) -> str:
            return str(highlight(code, lexer, formatter)).removesuffix("\n")

    spec = json.loads(Path(models_path).read_text(encoding="utf-8"))
    models = {
        kind: genanki.Model(
            m["id"],
            m["name"],
            fields=[{"name": name} for name in spec["fields"]],
            templates=[{"name": m["template"], "qfmt": m["front"], "afmt": m["back"]}],
            css=spec["css"],
            sort_field_index=spec["sort_field"],
        )
        for kind, m in spec["models"].items()
    }
    decks: dict[str, genanki.Deck] = {}
    for (
        slug,
        title,
        qid,
        kind,
        prompt,
        code,
        answer,
        choices,
        explanation,
        tags,
        _,
        _,
    ) in read_notes(db):
        deck = decks.get(slug)
        if deck is None:
            deck = decks[slug] = genanki.Deck(spec["deck_ids"][slug], f"quizzer::{title}")
        items = "".join(f"<li>{esc(c)}</li>" for c in json.loads(choices or "null") or ())
        fields = [
            esc(f"{slug}/{qid}"),
            esc(prompt),
            f'<pre class="quizzer-code"><code>{code_html(code.rstrip())}</code></pre>'
            if code and code.strip()
            else "",
            f"<pre>{esc(answer)}</pre>",
            esc(answer.strip()) if kind == "predict_output" else "",
            f"<ol>{items}</ol>" if items else "",
            f"<ol>{items}</ol>" if items else "",
            esc(explanation or ""),
            "",
        ][: len(spec["fields"])]
        fields += [""] * (len(spec["fields"]) - len(fields))
        note_tags = [f"quizzer::{slug}"] + [
            f"quizzer::{slug}::{t}" for t in json.loads(tags or "null") or ()
        ]
        deck.add_note(
            genanki.Note(
                model=models[kind], fields=fields, tags=note_tags, guid=genanki.guid_for(slug, qid)
            )
        )
    genanki.Package(list(decks.values())).write_to_file(out, timestamp=1_767_225_600)


def write_models(path: Path, slugs: list[str]) -> Path:
    """MODELS.json for ``export-bare``: quizzer's note types and deck ids, as plain data."""
    from quizzer import anki

    spec = {
        "fields": list(anki.FIELDS),
        "css": anki.CSS,
        "sort_field": anki.SORT_FIELD,
        "models": {
            kind: {
                "id": anki.MODEL_IDS[kind],
                "name": anki.MODEL_NAMES[kind],
                "template": name,
                "front": front,
                "back": back,
            }
            for kind, (name, front, back) in anki.TEMPLATES.items()
        },
        "deck_ids": {slug: anki.deck_id(slug) for slug in slugs},
    }
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def main() -> None:
    mode, *args = sys.argv[1:]
    if mode == "export-bare":
        export_bare(*args)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
