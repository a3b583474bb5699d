"""Output is data, never terminal control (issue 19): every command that prints a snippet's
output, an answer, deck text or a file name shows control characters spelled out; deck
files holding them are refused with one located line; the stored answer keeps its bytes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from helpers import Invoke, write

from quizzer.cli.visible import visible

#: Clear the screen, the clipboard through OSC 52, an 8-bit CSI, a right-to-left override.
CLEAR = "\x1b[2J"
OSC52 = "\x1b]52;c;ZXZpbA==\x07"
CSI8 = "\x9b31m"
RLO = "\u202e"
NASTY = (CLEAR, OSC52, CSI8, RLO)
#: A snippet that prints all of them.
CODE = f"print({CLEAR!r} + {OSC52!r} + {CSI8!r} + 'gnp.' + {RLO!r} + 'exe')\n"


def assert_shown_not_sent(output: str) -> None:
    for raw in NASTY:
        assert raw not in output, repr(output)
    assert "\\x1b[2J" in output, output
    assert "\\x1b]52;c;ZXZpbA==\\x07" in output, output
    assert "\\u009b31m" in output, output


def test_visible_spells_out_controls_and_keeps_the_rest() -> None:
    assert visible("a\tb\nc") == "a\tb\nc"
    assert visible(CLEAR) == "\\x1b[2J"
    assert visible(CSI8) == "\\u009b31m"
    assert visible(RLO + "x") == "\\u202ex"
    assert visible("x\ry") == "x\\x0dy"
    assert visible("é 名 \\x1b") == "é 名 \\x1b"


def _add(invoke: Invoke) -> None:
    result = invoke(
        "add", "--deck", "mine", "--type", "predict_output", "--prompt", "P",
        "--id", "esc", "--code", CODE, "-y",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert_shown_not_sent(result.output)


def test_add_shows_the_output_and_stores_the_exact_bytes(invoke: Invoke, db_path: Path) -> None:
    _add(invoke)
    with sqlite3.connect(db_path) as connection:
        (answer,) = connection.execute("select answer from questions").fetchone()
    assert answer == CLEAR + OSC52 + CSI8 + "gnp." + RLO + "exe\n"


def test_show_and_cards_and_decks(invoke: Invoke, db_path: Path) -> None:
    _add(invoke)
    assert_shown_not_sent(invoke("show", "mine/esc").output)
    # `add` refuses such text as the deck reader does; a collection written before that
    # (or by another program) may hold it all the same.
    refused = invoke("add", "--deck", "mine", "--type", "recall", "--prompt", "Q" + RLO,
                     "--answer", "A")  # fmt: skip
    assert refused.exit_code == 1 and "U+202E" in refused.output
    with sqlite3.connect(db_path) as connection:
        connection.execute("update decks set title = ?", ("T" + CLEAR,))
        connection.execute("update questions set prompt = ?", ("Q" + RLO + OSC52,))
    decks = invoke("decks").output
    assert CLEAR not in decks and "T\\x1b[2J" in decks, decks
    cards = invoke("cards", "--deck", "mine").output
    assert RLO not in cards and OSC52 not in cards, cards
    shown = invoke("show", "mine/esc").output
    assert RLO not in shown and "Q\\u202e\\x1b]52" in shown, shown


def test_review_shows_the_answer_spelled_out(invoke: Invoke) -> None:
    _add(invoke)
    result = invoke("review", "--deck", "mine", input="wrong\n.\nq\n")
    assert result.exit_code == 0, result.output
    assert_shown_not_sent(result.output)


def test_check_shows_the_output_and_the_file_name_spelled_out(
    invoke: Invoke, tmp_path: Path
) -> None:
    name = tmp_path / f"deck{CLEAR}.yaml"
    write(
        name,
        "deck: esc\ntitle: Esc\nquestions:\n  - id: q\n    type: predict_output\n"
        "    prompt: P\n    code: |\n"
        + "".join(f"      {line}\n" for line in CODE.splitlines())
        + "    answer: |\n      nothing\n",
    )
    result = invoke("check", str(name))
    assert result.exit_code == 1
    assert_shown_not_sent(result.output)
    assert "deck\\x1b[2J.yaml" in result.output


def test_trace_shows_the_output_spelled_out(invoke: Invoke, tmp_path: Path) -> None:
    code = write(tmp_path / "c.py", CODE)
    result = invoke("trace", "--code-file", str(code))
    assert result.exit_code == 0, result.output
    for raw in NASTY:
        assert raw not in result.output
    assert "\\x1b" in result.output


def test_json_output_escapes_c1_and_bidi(invoke: Invoke) -> None:
    _add(invoke)
    import json

    output = invoke("show", "mine/esc", "--json").output
    for raw in NASTY:
        assert raw not in output
    assert json.loads(output)["answer"].startswith(CLEAR + OSC52 + CSI8)


def test_an_error_naming_a_file_spells_it_out(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("import", str(tmp_path / f"gone{OSC52}.yaml"))
    assert result.exit_code == 1
    assert OSC52 not in result.output and "gone\\x1b]52" in result.output


@pytest.mark.parametrize(
    ("field", "text", "code"),
    [
        ("prompt", '"\\e]52;c;ZXZpbA==\\a"', "U+001B"),
        ("prompt", '"Clear \\x1b[2J"', "U+001B"),
        ("explanation", '"csi \\u009b31m"', "U+009B"),
        ("prompt", '"abc\u202edef"', "U+202E"),
        ("code", '"print(1)  # \u2066"', "U+2066"),
    ],
)
def test_deck_text_with_controls_is_refused_where_it_is(
    invoke: Invoke, tmp_path: Path, db_path: Path, field: str, text: str, code: str
) -> None:
    fields = {"prompt": '"P"', "code": '"print(1)"', "explanation": '"E"'}
    fields[field] = text
    body = "".join(f"    {k}: {v}\n" for k, v in fields.items())
    deck = write(
        tmp_path / "evil.yaml",
        "deck: evil\ntitle: Evil\nquestions:\n  - id: q1\n    type: predict_output\n"
        + body
        + '    answer: "1\\n"\n',
    )
    result = invoke("import", str(deck))
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line
    assert line.startswith(f"Error: {deck}: question 'q1' (#1): field '{field}': ")
    assert f"control character {code}" in line and "(line " in line
    assert not db_path.exists() or "evil" not in invoke("decks").output


def test_a_predict_output_answer_may_hold_what_code_prints(tmp_path: Path) -> None:
    from quizzer import deckfile

    deck = deckfile.parse_deck(
        "deck: ok\ntitle: Ok\nquestions:\n  - id: q\n    type: predict_output\n"
        '    prompt: P\n    code: print(1)\n    answer: "\\e[31mred\\n"\n',
        source="ok.yaml",
    )
    assert deck.questions[0].answer == "\x1b[31mred\n"
