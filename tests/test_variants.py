"""Questions that vary: the deck format, check, import, review's rotation, the log."""

from __future__ import annotations

import hashlib
import html
import json
import re
import sqlite3
from pathlib import Path

import pytest
from helpers import Invoke, anki_import, dump_db

from quizzer.deckfile import load_deck
from quizzer.importing import bundled_decks_dir
from quizzer.mutations import propose
from quizzer.questions import Content

BUNDLED = bundled_decks_dir()
OLD_FIELDS = ("type", "prompt", "code", "answer", "choices", "explanation", "tags", "python")

VARYING = """\
deck: vary
title: Varying
questions:
  - id: late
    type: predict_output
    prompt: What does it print?
    code: |
      fs = [lambda: i for i in range($n)]
      print([f() for f in fs])
    vary: {n: [3, 2, 4]}
    answer: |
      [2, 2, 2]
    variants:
      - values: {n: 2}
        answer: |
          [1, 1]
      - values: {n: 4}
        answer: |
          [3, 3, 3, 3]
"""


def _variants_log(db_path: Path) -> list[tuple[str, int | None, str | None, int]]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(
            "SELECT day, variant, typed, quality FROM reviews ORDER BY id"
        ).fetchall()


@pytest.fixture
def varying(invoke: Invoke, tmp_path: Path) -> Invoke:
    path = tmp_path / "vary.yaml"
    path.write_text(VARYING, encoding="utf-8")
    result = invoke("import", str(path))
    assert result.exit_code == 0, result.output
    return invoke


def test_three_days_three_variants_each_graded_against_its_own_answer(
    varying: Invoke, db_path: Path
) -> None:
    # Day 1, a new card: the question's own code (n=3).
    day1 = varying("review", input="[2, 2, 2]\n.\n\n", today="2026-01-05")
    assert day1.exit_code == 0, day1.output
    assert "range(3)" in day1.output and "Correct." in day1.output

    # Day 2: the next variant (n=2). Day 1's answer is wrong for it: graded against [1, 1].
    day2 = varying("review", input="[2, 2, 2]\n.\nq\n", today="2026-01-06")
    assert day2.exit_code == 0, day2.output
    assert "range(2)" in day2.output and "range(3)" not in day2.output
    assert "Correct." not in day2.output
    assert "+[2, 2, 2]" in day2.output or "[1, 1]" in day2.output

    # Day 3 (due again after the lapse): the third variant (n=4), right against its answer.
    day3 = varying("review", input="[3, 3, 3, 3]\n.\n\nq\n", today="2026-01-07")
    assert day3.exit_code == 0, day3.output
    assert "range(4)" in day3.output and "Correct." in day3.output
    log = _variants_log(db_path)
    assert [(day, variant) for day, variant, _, _ in log] == [
        ("2026-01-05", 0),
        ("2026-01-06", 1),
        ("2026-01-07", 2),
    ]
    assert [quality >= 3 for *_, quality in log] == [True, False, True]

    # Undo takes the answer back, and the rotation with it: the same variant again.
    again = varying("undo", today="2026-01-07")
    assert again.exit_code == 0, again.output
    day3_again = varying("review", input="[2, 2, 2]\n.\nq\n", today="2026-01-07")
    assert "range(4)" in day3_again.output and "Correct." not in day3_again.output
    assert [variant for _, variant, _, _ in _variants_log(db_path)] == [0, 1, 2]


def test_show_tells_how_each_variant_went(varying: Invoke) -> None:
    varying("review", input="[2, 2, 2]\n.\n\n", today="2026-01-05")
    varying("review", input="[2, 2, 2]\n.\nq\n", today="2026-01-06")
    shown = varying("show", "vary/late", today="2026-01-06")
    assert shown.exit_code == 0, shown.output
    assert "variant 2:\n  fs = [lambda: i for i in range(2)]" in shown.output
    assert "  variant 1: 1 answer, 1 right, last shown 2026-01-05" in shown.output
    assert "  variant 2: 1 answer, 0 right, last shown 2026-01-06" in shown.output
    assert "  variant 3: 0 answers, 0 right, not shown yet" in shown.output
    data = json.loads(varying("show", "vary/late", "--json").output)
    assert [row["answers"] for row in data["by_variant"]] == [1, 1, 0]
    assert [entry["variant"] for entry in data["history"]] == [0, 1]


# --- located errors: the file, the question, the field, the line --------------------


def _import_refused(invoke: Invoke, db_path: Path, path: Path, text: str) -> str:
    invoke("import", "--bundled")
    before = dump_db(db_path)
    path.write_text(text, encoding="utf-8")
    result = invoke("import", str(path))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert dump_db(db_path) == before
    (line,) = result.output.strip().splitlines()
    return line


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("range($n)", "range($n + $m)"),
            "question 'late' (#1): field 'code': placeholder $m has no value in 'vary' (line 7)",
        ),
        (
            ("vary: {n: [3, 2, 4]}", "vary: {n: 3}"),
            "question 'late' (#1): field 'vary': the values of 'n' must be a list of numbers "
            "or texts, like [2, 3, 4], got 3 (line 10)",
        ),
        (
            ("vary: {n: [3, 2, 4]}", "vary: {n: [3, [2], 4]}"),
            "question 'late' (#1): field 'vary': value #2 of 'n' must be a number or a text, "
            "got a list (line 10)",
        ),
        (
            ("- values: {n: 4}", "- values: {n: 2}"),
            "question 'late' (#1): field 'variants': item #2: duplicate variant: values n=2 "
            "as in variant #1 (line 17)",
        ),
        (
            ("print([f() for f in fs])", "print([f() for f in fs], '$')"),
            "question 'late' (#1): field 'code': a '$' that is not a placeholder; write '$$'",
        ),
    ],
)
def test_located_errors(
    invoke: Invoke, db_path: Path, tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    old, new = edit
    assert old in VARYING
    path = tmp_path / "vary.yaml"
    line = _import_refused(invoke, db_path, path, VARYING.replace(old, new))
    assert line.startswith(f"Error: {path}: {expected}")


def test_a_duplicate_snippet_is_located(invoke: Invoke, db_path: Path, tmp_path: Path) -> None:
    text = PLAIN.replace("print(2)", "print(1)  # one")
    path = tmp_path / "plain.yaml"
    line = _import_refused(invoke, db_path, path, text)
    assert (
        f"{path}: question 'plain' (#1): field 'variants': item #1: duplicate variant: "
        "the same code as the question's own code (line 11)"
    ) in line


def test_import_refuses_variants_without_answers(
    invoke: Invoke, db_path: Path, tmp_path: Path
) -> None:
    text = VARYING.replace(
        "      - values: {n: 4}\n        answer: |\n          [3, 3, 3, 3]\n", ""
    )
    path = tmp_path / "vary.yaml"
    line = _import_refused(invoke, db_path, path, text)
    assert line.endswith(
        f"{path}: question 'late' (#1): field 'variants': variant n=4 has no answer (line 14); "
        f"run `quizzer check --update {path}` to write every variant's answer"
    )
    # check --update writes it, keeping the rest of the file, and import then takes it.
    updated = invoke("check", "--update", str(path))
    assert updated.exit_code == 0, updated.output
    assert f"{path}: 1 variant answer updated" in updated.output
    assert path.read_text(encoding="utf-8") == VARYING
    assert invoke("import", str(path)).exit_code == 0


PLAIN = """\
deck: plain
title: Plain
questions:
  - id: plain
    type: predict_output
    prompt: What does it print?
    code: |
      print(1)  # one
    answer: "1\\n"
    variants:
      - code: |
          print(2)
      - code: print(3)
  - id: other
    type: recall
    prompt: Kept as it is?
    answer: sure   # a comment
"""


# --- check --------------------------------------------------------------------------


def test_check_runs_every_variant_and_update_writes_each_answer(
    invoke: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(PLAIN, encoding="utf-8")
    first = invoke("check", str(path))
    assert first.exit_code == 1
    assert f"FAIL {path}: plain [#2]: no answer yet" in first.output
    assert f"FAIL {path}: plain [#3]: no answer yet" in first.output
    assert "1 passed, 2 failed" in first.output
    assert invoke("check", "--update", str(path)).exit_code == 0
    text = path.read_text(encoding="utf-8")
    assert text == PLAIN.replace(
        "          print(2)\n      - code: print(3)\n",
        "          print(2)\n        answer: |\n          2\n"
        "      - code: print(3)\n        answer: |\n          3\n",
    )
    again = invoke("check", str(path))
    assert again.exit_code == 0 and "3 passed, 0 failed" in again.output


def test_a_variant_printing_what_another_prints_is_reported(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(PLAIN.replace("print(3)", "print(3 - 2)"), encoding="utf-8")
    invoke("check", "--update", str(path))
    result = invoke("check", str(path))
    assert result.exit_code == 0, result.output
    assert (
        f"note: {path}: plain [#3]: prints what {path}: plain [#1] prints; it teaches nothing new"
    ) in result.output
    assert "1 variant print what another prints" in result.output


def test_a_variant_stopped_by_a_limit_fails(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(PLAIN.replace("print(3)", "'while True: pass'"), encoding="utf-8")
    invoke("check", "--update", "--timeout", "1", str(path))
    result = invoke("check", "--timeout", "1", str(path))
    assert result.exit_code == 1
    assert f"FAIL {path}: plain [#3]:" in result.output
    assert "not updated" in invoke("check", "--update", "--timeout", "1", str(path)).output


def test_bundled_questions_that_do_not_vary_keep_their_digest() -> None:
    # The digest before variants existed, written out again: no variants, no new key.
    for path in sorted(BUNDLED.glob("*.yaml")):
        for question in load_deck(path).questions:
            content = Content.of(question)
            if content.variants or content.answers_by_python:
                continue  # these have a key of their own in the digest
            old = {name: content.columns()[name] for name in OLD_FIELDS}
            blob = json.dumps(old, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            assert content.digest() == hashlib.sha256(blob.encode()).hexdigest()


def test_bundled_decks_have_forty_questions_with_three_variants() -> None:
    varied = [
        question.id
        for path in sorted(BUNDLED.glob("*.yaml"))
        for question in load_deck(path).questions
        if Content.of(question).variant_count >= 3
    ]
    assert len(varied) >= 40


# --- vary ---------------------------------------------------------------------------


def test_vary_proposes_the_swapped_decorators_with_their_output(invoke: Invoke) -> None:
    assert invoke("import", "--bundled").exit_code == 0
    result = invoke("vary", "python-decorators/stacking-order-decoration-time")
    assert result.exit_code == 0, result.output
    assert "1. swap decorators: swap @top and @bottom on greet (line 9)" in result.output
    assert "     @bottom\n     @top\n     def greet():" in result.output
    # The bundled question has that variant already: proposed, proven, and said so.
    assert (
        "   prints (output differs; a variant of this question already):\n"
        "     applying top\n     applying bottom"
    ) in result.output
    assert "applying bottom\n     applying top" in result.output  # its own code's output


def test_vary_write_adds_the_picked_proposal_to_the_file(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(
        PLAIN.replace(
            "    variants:\n      - code: |\n          print(2)\n      - code: print(3)\n", ""
        ),
        encoding="utf-8",
    )
    assert invoke("import", str(path)).exit_code == 0
    listed = invoke("vary", "plain/plain")
    assert "1. integer literal: 1 becomes 2 (line 1)" in listed.output
    written = invoke("vary", "plain/plain", "--write", "--pick", "1")
    assert written.exit_code == 0, written.output
    assert f"{path}: 1 variant added (1)." in written.output
    assert path.read_text(encoding="utf-8").endswith("    answer: sure   # a comment\n")
    assert (
        "    variants:\n      - code: |\n          print(2)  # one\n"
        "        answer: |\n          2\n" in (path.read_text(encoding="utf-8"))
    )
    assert invoke("check", str(path)).exit_code == 0
    assert invoke("import", str(path)).exit_code == 0


def test_add_vary_stores_the_proven_variants(invoke: Invoke) -> None:
    result = invoke(
        "add",
        "--deck",
        "mine",
        "--type",
        "predict_output",
        "--prompt",
        "What?",
        "--code",
        "for i in range(3):\n    print(i)\n",
        "--vary",
        "--yes",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(invoke("show", "mine/what", "--json").output)
    assert data["answer"] == "0\n1\n2\n"
    assert {variant["answer"] for variant in data["variants"]} == {"0\n1\n2\n3\n", "0\n1\n"}
    checked = invoke("check", "--deck", "mine")
    assert checked.exit_code == 0 and "3 passed, 0 failed" in checked.output


def test_mutations_each_kind() -> None:
    code = (
        "def gen():\n    yield 1\n    return 2\n\n"
        "@a\n@b\ndef f():\n    pass\n\nx = 1\ny = 2\nprint(x, y)\n"
    )
    kinds = {(p.kind, p.description) for p in propose(code, limit=50)}
    assert ("swap decorators", "swap @a and @b on f (line 5)") in kinds
    assert ("yield/return", "'return' becomes 'yield' in gen (line 3)") in kinds
    assert ("yield/return", "'yield' becomes 'return' in gen (line 2)") in kinds
    assert ("reverse statements", "lines 10 and 11 change places") in kinds
    assert ("reverse statements", "lines 11 and 12 change places") not in kinds  # y is read
    assert ("integer literal", "2 becomes 3 (line 11)") in kinds
    assert propose("def broken(:\n") == []


# --- export -------------------------------------------------------------------------


def test_export_yaml_keeps_every_variant(varying: Invoke, tmp_path: Path) -> None:
    assert varying("export", "--format", "yaml", "-o", str(tmp_path / "out")).exit_code == 0
    exported = load_deck(tmp_path / "out" / "vary.yaml")
    original = load_deck(tmp_path / "vary.yaml")
    assert Content.of(exported.questions[0]) == Content.of(original.questions[0])
    assert Content.of(exported.questions[0]).variant_count == 3


def test_anki_gets_one_variant_per_note_revision(varying: Invoke, tmp_path: Path) -> None:
    from anki.collection import Collection

    col = Collection(str(tmp_path / "c.anki2"))
    try:
        seen = []
        # Days after the import (a note's revision is dated no earlier than its day).
        for day in ("2030-01-05", "2030-01-06", "2030-01-06", "2030-01-07"):
            package = tmp_path / f"{day}.apkg"
            assert varying("export", "-o", str(package), today=day).exit_code == 0
            anki_import(col, package)
            (nid,) = col.find_notes('"QuizzerId:vary/late"')
            note = col.get_note(nid)
            (card,) = note.cards()
            seen.append((note["Code"], note["Answer"], card.id))
    finally:
        col.close()
    codes = [html.unescape(re.sub(r"<[^>]+>", "", code)) for code, _, _ in seen]
    # Each day's package is a newer revision of the same note (same card), showing the
    # day's variant with its own answer; a second export on the same day changes nothing.
    assert len({card for *_, card in seen}) == 1
    assert codes[1] == codes[2] and len({codes[0], codes[1], codes[3]}) == 3
    answers = {"range(3)": "[2, 2, 2]", "range(2)": "[1, 1]", "range(4)": "[3, 3, 3, 3]"}
    for code, (_, answer, _) in zip(codes, seen, strict=True):
        (shown,) = [key for key in answers if key in code]
        assert answers[shown] in html.unescape(answer)


def test_stats_tell_own_code_from_other_variants(varying: Invoke) -> None:
    varying("review", input="[2, 2, 2]\n.\n\n", today="2026-01-05")
    varying("review", input="[2, 2, 2]\n.\nq\n", today="2026-01-06")
    shown = varying("stats", today="2026-01-06")
    assert shown.exit_code == 0, shown.output
    assert (
        "Questions that vary, 30 days: own code 100% (1 of 1), other variants 0% (0 of 1)"
    ) in shown.output
    data = json.loads(varying("stats", "--json", today="2026-01-06").output)
    assert data["variants"]["own"]["graded"] == 1 and data["variants"]["other"]["correct"] == 0


def test_check_update_stores_a_stored_variant_answer(invoke: Invoke, tmp_path: Path) -> None:
    own = tmp_path / "own.yaml"
    own.write_text(
        "- id: own\n  type: predict_output\n  prompt: What?\n  code: print(1)\n  answer: '1\n\n'\n"
        "  variants:\n    - code: print(2)\n      answer: '5\n\n'\n",
        encoding="utf-8",
    )
    assert invoke("add", "--from", str(own), "--deck", "mine", "--force", "-y").exit_code == 0
    assert "1 passed, 1 failed" in invoke("check", "--deck", "mine").output
    updated = invoke("check", "--deck", "mine", "--update")
    assert "mine/own: answer updated" in updated.output
    assert "2 passed, 0 failed" in invoke("check", "--deck", "mine").output
    data = json.loads(invoke("show", "mine/own", "--json").output)
    assert data["variants"] == [{"code": "print(2)", "answer": "2\n"}]


def test_add_from_refuses_a_variant_without_an_answer(
    invoke: Invoke, db_path: Path, tmp_path: Path
) -> None:
    own = tmp_path / "own.yaml"
    own.write_text(
        "- id: own\n  type: predict_output\n  prompt: What?\n  code: print(1)\n  answer: '1\n\n'\n"
        "  variants:\n    - code: print(2)\n",
        encoding="utf-8",
    )
    result = invoke("add", "--from", str(own), "--deck", "mine")
    assert result.exit_code == 1
    assert f"{own}: question 'own': field 'variants': variant #2 has no answer" in result.output
