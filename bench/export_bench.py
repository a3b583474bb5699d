"""Benchmark: quizzer's Anki export against a bare genanki script writing the same notes.

    python bench/export_bench.py [--notes 10000] [--repeat 3] [--profile]

Both sides write the same notes with the same fields and templates; the bare script escapes
the code into a <pre> instead of highlighting it, stamps every note with one timestamp and
writes the package with genanki's own Package.write_to_file. Prints the best of --repeat
runs of each and the ratio (target: at most 1.3).
"""

from __future__ import annotations

import argparse
import cProfile
import html
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import genanki
from pygments import highlight
from pygments.formatters.html import HtmlFormatter
from pygments.lexers.python import PythonLexer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from quizzer import anki

_SNIPPETS = (
    "def {name}(items=[]):\n    items.append({n})\n    return items\n\n{name}()\nprint({name}())\n",
    "class {cls}:\n    count = {n}\n\n    def __init__(self):\n        self.count += 1\n\n"
    "a, b = {cls}(), {cls}()\nprint(a.count, b.count, {cls}.count)\n",
    "import functools\n\n\ndef loud(f):\n    @functools.wraps(f)\n    def wrapper(*args, **kw):\n"
    '        print("calling", f.__name__)\n        return f(*args, **kw)\n    return wrapper\n\n'
    '@loud\ndef {name}(x: int) -> str:\n    """Doc."""\n    return f"{{x!r:>{n}}}"\n\n'
    "print({name}({n}))\n",
    "xs = [i * {n} for i in range(5) if i % 2]\nd = {{k: v for k, v in zip('abc', xs)}}\n"
    "print(xs, d.get('a', None), sum(xs) // 3, 1 < 2 & 3)  # comment {n}\n",
    "try:\n    {name} = 1 / 0\nexcept ZeroDivisionError as exc:\n    print(type(exc).__name__)\n"
    "finally:\n    print('done {n}')\n",
)


def make_questions(count: int) -> list[anki.ExportQuestion]:
    """``count`` questions, all different, in 20 decks: 60% predict_output, 25% MC, 15% recall."""
    rng = random.Random(1234)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    questions = []
    for i in range(count):
        deck = i % 20
        code = rng.choice(_SNIPPETS).format(name=f"f{i}", cls=f"C{i}", n=i)
        roll = rng.random()
        common = {
            "deck_slug": f"deck-{deck}",
            "deck_title": f"Deck number {deck}",
            "qid": f"q-{i}",
            "explanation": f"Because of rule {i} & the <GIL>.",
            "tags": ("bench", f"t{i % 7}"),
            "changed_at": start + timedelta(seconds=i),
        }
        if roll < 0.6:
            question = anki.ExportQuestion(
                type="predict_output",
                prompt=f"What does snippet {i} print?",
                code=code,
                answer=f"[{i}]\n" if i % 2 else f"line {i}\nline two\n",
                choices=None,
                **common,  # type: ignore[arg-type]
            )
        elif roll < 0.85:
            question = anki.ExportQuestion(
                type="multiple_choice",
                prompt=f"Which is true about case {i}?",
                code=code if i % 3 == 0 else None,
                answer=f"choice {i} a",
                choices=(f"choice {i} a", f"choice {i} b", f"choice {i} c"),
                **common,  # type: ignore[arg-type]
            )
        else:
            question = anki.ExportQuestion(
                type="recall",
                prompt=f"Explain idea {i}.",
                code=None,
                answer=f"Idea {i} means the variable, not the value.",
                choices=None,
                **common,  # type: ignore[arg-type]
            )
        questions.append(question)
    return questions


def bare_genanki(questions: list[anki.ExportQuestion], path: Path) -> None:
    """The same notes through plain genanki: no highlighting, no per-note times."""
    models = {
        kind: genanki.Model(
            anki.MODEL_IDS[kind],
            anki.MODEL_NAMES[kind],
            fields=[{"name": name} for name in anki.FIELDS],
            templates=[{"name": name, "qfmt": front, "afmt": back}],
            css=anki.CSS,
            sort_field_index=anki.SORT_FIELD,
        )
        for kind, (name, front, back) in anki.TEMPLATES.items()
    }
    decks: dict[str, genanki.Deck] = {}
    for q in questions:
        deck = decks.get(q.deck_slug)
        if deck is None:
            deck = decks[q.deck_slug] = genanki.Deck(
                anki.deck_id(q.deck_slug), f"quizzer::{q.deck_title}"
            )
        esc = html.escape
        choices = "".join(f"<li>{esc(c)}</li>" for c in q.choices or ())
        fields = [
            esc(f"{q.deck_slug}/{q.qid}"),
            esc(q.prompt),
            f'<pre class="quizzer-code"><code>{esc(q.code)}</code></pre>' if q.code else "",
            f"<pre>{esc(q.answer)}</pre>",
            esc(q.answer.strip()) if q.type == "predict_output" else "",
            f"<ol>{choices}</ol>" if choices else "",
            f"<ol>{choices}</ol>" if choices else "",
            esc(q.explanation or ""),
            "",
        ]
        tags = [f"quizzer::{q.deck_slug}::{t}" for t in q.tags]
        deck.add_note(
            genanki.Note(
                model=models[q.type],
                fields=fields,
                tags=tags,
                guid=genanki.guid_for(q.deck_slug, q.qid),
            )
        )
    genanki.Package(list(decks.values())).write_to_file(str(path), timestamp=1_767_225_600)


def best_of(repeat: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile one quizzer export")
    args = parser.parse_args()

    questions = make_questions(args.notes)
    with tempfile.TemporaryDirectory() as tmp:
        ours_path, bare_path = Path(tmp, "quizzer.apkg"), Path(tmp, "bare.apkg")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.runcall(anki.export_apkg, questions, ours_path)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
            return
        bare = best_of(args.repeat, lambda: bare_genanki(questions, bare_path))
        ours = best_of(args.repeat, lambda: anki.export_apkg(questions, ours_path))
        print(f"notes:              {args.notes}")
        print(f"bare genanki:       {bare:.3f} s  ({bare_path.stat().st_size / 1e6:.1f} MB)")
        print(f"quizzer export:     {ours:.3f} s  ({ours_path.stat().st_size / 1e6:.1f} MB)")
        print(f"ratio:              {ours / bare:.2f}x (target <= 1.3x)")
        codes = [q.code for q in questions if q.code]
        reference = PythonLexer(stripnl=False, ensurenl=False)
        formatter = HtmlFormatter(nowrap=True)
        stock = best_of(1, lambda: [highlight(code, reference, formatter) for code in codes])
        fast = best_of(1, lambda: [anki._highlight(code) for code in codes])
        used = anki._LEXER._joined.values()
        joined = sum(entry is not None for entry in used)
        print(f"highlighting:       {len(codes)} snippets, {fast:.3f} s here, {stock:.3f} s with")
        print(f"                    stock PythonLexer + HtmlFormatter ({stock / fast:.1f}x slower)")
        print(f"lexer states joined: {joined} of the {len(used)} used")


if __name__ == "__main__":
    main()
