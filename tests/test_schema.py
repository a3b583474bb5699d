"""The deck-file JSON Schema: as strict as JSON Schema can be, shipped, and where editors look."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from helpers import Invoke

from quizzer.db import resource_dir

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schema" / "quizzer-deck.schema.json"
MALFORMED = Path(__file__).parent / "data" / "malformed"

#: Malformed files whose problem a JSON Schema cannot see, and why.
BEYOND_JSON_SCHEMA = {
    "alias-reused-value.yaml": "aliases are YAML syntax: a schema sees the expanded value",
    "merge-key.yaml": "a merge key is YAML syntax: a schema sees the merged mapping",
    "duplicate-key-at-top-level.yaml": "YAML parsers keep one of the keys; a schema sees one",
    "duplicate-key-in-question.yaml": "YAML parsers keep one of the keys; a schema sees one",
    "bom-in-the-middle.yaml": "a byte in the file, not a value",
    "utf16-with-bom.yaml": "the file's encoding, not its values",
    "answer-not-among-choices.yaml": "one field's value depends on another's (no $data)",
    "duplicate-question-id.yaml": "uniqueItems compares whole questions, not one field",
}


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def _is_yaml_data(path: Path) -> bool:
    """Whether a YAML library reads ``path`` as data a schema could validate."""
    try:
        yaml.safe_load(path.read_bytes())
    except (yaml.YAMLError, ValueError, AttributeError, RecursionError):
        return False
    return True


CASES = sorted(MALFORMED.glob("*.yaml"))
#: Files no YAML library reads as data (a syntax error, bytes that are not text, a tag it
#: cannot build): an editor reports those itself, before any schema. Written out, not
#: worked out at collection (the 100,000 brackets take a second to refuse, in every
#: worker): the test below works it out once and holds the list to it.
NOT_YAML_DATA = [
    "bad-timestamp-tag.yaml", "binary-garbage-invalid-utf8.yaml",
    "binary-garbage-with-nul.yaml", "control-character.yaml",
    "deep-nesting-100000-brackets.yaml", "huge-integer.yaml",
    "invalid-yaml-bad-indentation.yaml", "invalid-yaml-unclosed-bracket.yaml",
    "key-is-a-list.yaml", "latin1-not-utf8.yaml", "python-object-tag.yaml",
    "tab-indentation.yaml", "two-documents.yaml", "undefined-alias.yaml",
    "utf16-without-bom.yaml",
]  # fmt: skip


def test_the_shipped_schema_is_what_quizzer_schema_prints(invoke: Invoke) -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    assert SCHEMA.read_text(encoding="utf-8") == result.output
    jsonschema.Draft202012Validator.check_schema(json.loads(result.output))
    schema = json.loads(result.output)
    assert schema["$id"] == "urn:quizzer:deck-file:1"
    question = schema["$defs"]["Question"]["properties"]
    assert all(field.get("description") for field in question.values())
    assert all(field.get("description") for field in schema["properties"].values())


def test_only_broken_yaml_is_beyond_any_schema() -> None:
    assert sorted(case.name for case in CASES if not _is_yaml_data(case)) == NOT_YAML_DATA


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.name not in NOT_YAML_DATA], ids=lambda p: p.stem
)
def test_the_schema_refuses_what_quizzer_refuses(case: Path) -> None:
    errors = list(_validator().iter_errors(yaml.safe_load(case.read_bytes())))
    if case.name in BEYOND_JSON_SCHEMA:
        assert errors == [], f"{case.name} is listed as beyond JSON Schema but is refused"
    else:
        assert errors, f"{case.name}: the schema accepts a file quizzer refuses"


def test_every_bundled_deck_is_valid_and_names_the_schema() -> None:
    validator = _validator()
    files = sorted(resource_dir("decks").glob("*.yaml"))
    assert len(files) >= 6
    for path in files:
        text = path.read_text(encoding="utf-8")
        first = text.split("\n", 1)[0]
        assert first == "# yaml-language-server: $schema=../schema/quizzer-deck.schema.json"
        assert (path.parent / "../schema/quizzer-deck.schema.json").resolve().is_file()
        assert list(validator.iter_errors(yaml.safe_load(text))) == [], path.name


def test_exported_decks_name_a_schema_written_beside_them(
    invoke: Invoke, deck_file: Path, tmp_path: Path
) -> None:
    assert invoke("import", str(deck_file)).exit_code == 0
    out = tmp_path / "out"
    assert invoke("export", "--format", "yaml", "-o", str(out)).exit_code == 0
    written = out / "test-closures.yaml"
    assert written.read_text().startswith(
        "# yaml-language-server: $schema=./quizzer-deck.schema.json\n"
    )
    schema = json.loads((out / "quizzer-deck.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(yaml.safe_load(written.read_text()))) == []
