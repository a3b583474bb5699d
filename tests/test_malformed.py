"""Hostile deck files: each is refused with one line naming file, question and field.

The corpus lives in ``tests/data/malformed/``: one file per problem, named after it,
whose first line is ``# expect: <fragment of the error>`` (the two UTF-16 files cannot
carry an ASCII comment; their fragments are in ``MALFORMED_NOT_IN_FILE`` below). Every case is
imported through the real CLI into a real SQLite file that already holds a deck, and
the database must come out identical.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import (
    MALFORMED_NOT_IN_FILE,
    SMALL_DECK,
    Invoke,
    dump_db,
    expected_error,
    malformed_cases,
    write,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizzer import deckfile
from quizzer.cli import main
from quizzer.deckfile import MAX_FILE_BYTES, dump_deck, load_deck, parse_deck, reader
from quizzer.errors import DeckFileError


def test_the_corpus_is_big_and_every_case_says_what_it_expects() -> None:
    cases = malformed_cases()
    assert len(cases) >= 30
    assert all(expected_error(path) for path in cases)
    assert set(MALFORMED_NOT_IN_FILE) <= {path.name for path in cases}


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A database with SMALL_DECK imported, made once and copied by each case."""
    folder = tmp_path_factory.mktemp("seeded")
    deck = write(folder / "closures.yaml", SMALL_DECK)
    path = folder / "quizzer.db"
    runner = CliRunner()
    result = runner.invoke(main, ["--db", str(path), "--today", "2026-01-05", "import", str(deck)])
    assert result.exit_code == 0, result.output
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    yield path


@pytest.mark.parametrize("case", malformed_cases(), ids=lambda path: path.stem)
def test_malformed_deck_is_refused_in_one_line_and_changes_nothing(
    case: Path, seeded_db: Path, db_path: Path, invoke: Invoke, tmp_path: Path
) -> None:
    shutil.copyfile(seeded_db, db_path)
    before = dump_db(db_path)
    # A valid, changed deck goes first: were the import not all-or-nothing, its
    # changes would show in the database.
    edited = write(
        tmp_path / "edited.yaml", SMALL_DECK.replace("What prints?", "What does this print?")
    )
    result = invoke("import", str(edited), str(case))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(f"Error: {case}: "), lines[0]
    assert expected_error(case) in lines[0]
    assert "Traceback" not in result.output
    assert dump_db(db_path) == before


@pytest.mark.parametrize("case", malformed_cases(), ids=lambda path: path.stem)
def test_pure_python_yaml_refuses_the_corpus_too(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where PyYAML lacks libyaml, parse_deck falls back to the pure-Python parser; the
    # guards (aliases, depth, size, tags) are in the shared composer and constructors.
    monkeypatch.setattr(reader, "_LOADERS", reader._LOADERS[-1:])
    with pytest.raises(DeckFileError) as caught:
        load_deck(case)
    message = str(caught.value)
    assert message.startswith(f"{case}: ") and "\n" not in message
    if "invalid YAML" not in message:  # parsers word syntax errors differently
        assert expected_error(case) in message


def test_bom_at_the_start_is_accepted(invoke: Invoke, tmp_path: Path) -> None:
    # Windows editors write a UTF-8 BOM; it carries no meaning, so it is skipped.
    plain = write(tmp_path / "plain.yaml", SMALL_DECK)
    with_bom = tmp_path / "bom.yaml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + SMALL_DECK.encode("utf-8"))
    assert load_deck(with_bom) == load_deck(plain)
    result = invoke("import", str(with_bom))
    assert result.exit_code == 0, result.output
    assert "test-closures: 3 added" in result.output


def test_two_boms_are_one_too_many(tmp_path: Path) -> None:
    path = tmp_path / "two-boms.yaml"
    path.write_bytes(b"\xef\xbb\xbf" * 2 + SMALL_DECK.encode("utf-8"))
    with pytest.raises(DeckFileError, match=r"byte-order mark \(U\+FEFF\) at line 1, column 1"):
        load_deck(path)


def test_a_50_mb_file_is_refused_before_parsing(
    invoke: Invoke, db_path: Path, tmp_path: Path
) -> None:
    assert invoke("import", str(write(tmp_path / "ok.yaml", SMALL_DECK))).exit_code == 0
    before = dump_db(db_path)
    # A valid deck padded with comments: parsing it would succeed, slowly.
    path = tmp_path / "huge.yaml"
    padding = b"# padding " + b"x" * 1013 + b"\n"
    with path.open("wb") as handle:
        handle.write(SMALL_DECK.replace("test-closures", "huge-deck").encode())
        for _ in range(50 * 1024):
            handle.write(padding)
    assert path.stat().st_size >= 50 * 1024 * 1024 > MAX_FILE_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(DeckFileError, match="the file is 50 MiB; deck files are limited to"):
            load_deck(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024, peak  # refused by its size: not read
    result = invoke("import", str(path))
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {path}: the file is 50 MiB; deck files are limited to 20 MiB"
    )
    assert dump_db(db_path) == before


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_device_whose_size_lies_is_refused_unread() -> None:
    # A device reports size 0; reading it whole would never end. The check runs in a
    # child with capped memory, so a regression fails here instead of eating the host.
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from pathlib import Path\n"
        "from quizzer.deckfile import load_deck\n"
        "from quizzer.errors import DeckFileError\n"
        "try:\n"
        "    load_deck(Path('/dev/zero'))\n"
        "except DeckFileError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    # A device is no deck file: refused before a byte is read (issue 19).
    assert (
        result.stdout.strip() == "/dev/zero: not a regular file (a device); name a file or folder"
    )


def _billion_laughs(levels: int) -> str:
    lines = ['a0: &a0 "lol"']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_in_bounded_memory() -> None:
    text = _billion_laughs(12)  # 10**11 strings if anything expanded it
    tracemalloc.start()
    try:
        with pytest.raises(DeckFileError, match="anchors and aliases"):
            parse_deck(text, source="laughs.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024, peak  # nothing expanded


def test_an_alias_names_the_question_and_field_where_it_is_used() -> None:
    text = SMALL_DECK.replace(
        "    answer: nonlocal\n", "    answer: nonlocal\n    explanation: *why\n"
    ).replace("    explanation: The lambdas", "    explanation: &why The lambdas")
    with pytest.raises(DeckFileError) as caught:
        parse_deck(text, source="d.yaml")
    # The anchor comes first in the file, so that is where the message points.
    assert str(caught.value).startswith(
        "d.yaml: question 'late-binding' (#1): field 'explanation': anchors and aliases"
    )


def test_too_many_values_are_refused() -> None:
    # How long the refusal takes is a figure of bench/run.py (deck_refusal).
    tags = ", ".join(["t"] * (reader.MAX_NODES + 1))
    text = f"deck: many\ntitle: Many\ntags: [{tags}]\nquestions: []\n"
    with pytest.raises(DeckFileError, match=f"more than {reader.MAX_NODES} values"):
        parse_deck(text, source="many.yaml")


@pytest.mark.parametrize(
    "value", [" " + "[" * 100_000, " " + "{a: " * 100_000, "\n" + "- " * 100_000 + "x"]
)
def test_deep_nesting_is_refused_without_recursion_errors(value: str) -> None:
    text = f"deck: deep\ntitle:{value}\n"
    with pytest.raises(DeckFileError, match="nest"):
        parse_deck(text, source="deep.yaml")


def test_bundled_decks_load() -> None:
    # How long it takes is a figure of bench/run.py (deck_load).
    from quizzer.db import resource_dir

    paths = sorted(resource_dir("decks").glob("*.yaml"))
    assert paths
    decks = [load_deck(path) for path in paths]
    assert all(deck.questions for deck in decks)


# --- fuzzing: anything either loads or raises DeckFileError, in one line ------------

FUZZ = settings(
    max_examples=200,
    deadline=None,  # no timing here: the reader's bounds are figures of bench/run.py
    suppress_health_check=[HealthCheck.too_slow],
)


def _refused_cleanly(text: str, source: str = "fuzz.yaml") -> None:
    try:
        parse_deck(text, source=source)
    except DeckFileError as exc:
        message = str(exc)
        assert message.startswith(f"{source}: ")
        assert "\n" not in message and "\r" not in message


@FUZZ
@given(st.text())
def test_fuzz_any_text(text: str) -> None:
    _refused_cleanly(text)


YAMLISH = st.text(alphabet=list("-:?[]{},&*!|>'\"#%@`<= \t\n\r\\\ufeff\x85aZ09.~"), max_size=200)


@FUZZ
@given(YAMLISH)
def test_fuzz_yaml_punctuation(text: str) -> None:
    _refused_cleanly(text)


@FUZZ
@given(data=st.binary(max_size=400))
def test_fuzz_any_bytes_from_a_file(data: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    path.write_bytes(data)
    try:
        load_deck(path)
    except DeckFileError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["recall", "multiple_choice", "predict_output", "a-slug", ">=3.11"])
    | st.dates()
)
FIELD_NAMES = ["deck", "title", "description", "questions", *deckfile.Question.model_fields]
KEYS = st.sampled_from([*FIELD_NAMES, "x"]) | st.text(max_size=8)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)


@FUZZ
@given(VALUES)
def test_fuzz_yaml_structures(value: object) -> None:
    _refused_cleanly(yaml.safe_dump(value, allow_unicode=True))


BASE = yaml.safe_load(SMALL_DECK)


@FUZZ
@given(
    st.sampled_from([None, 0, 1, 2]),
    st.sampled_from(["deck", "title", "questions", "tags", *BASE["questions"][1]]),
    VALUES,
)
def test_fuzz_one_field_of_a_valid_deck(where: int | None, key: str, value: object) -> None:
    data = yaml.safe_load(SMALL_DECK)
    target = data if where is None else data["questions"][where]
    target[key] = value
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    try:
        deck = parse_deck(text, source="mutant.yaml")
    except DeckFileError as exc:
        message = str(exc)
        assert message.startswith("mutant.yaml: ") and "\n" not in message
        if where is not None:
            assert "question" in message
        return
    # What loads also survives the way back through dump_deck.
    assert parse_deck(dump_deck(deck), source="again.yaml") == deck
