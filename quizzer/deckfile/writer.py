"""Writing decks and questions as YAML in the deck-file style."""

from __future__ import annotations

import yaml

from quizzer.deckfile.models import Deck, Question

#: The file name of the deck-file JSON Schema (in the repository's schema/ folder, and
#: beside decks written by ``export --format yaml``).
SCHEMA_FILE = "quizzer-deck.schema.json"


def schema_modeline(location: str) -> str:
    """The comment that lets an editor (yaml-language-server) validate a deck file."""
    return f"# yaml-language-server: $schema={location}\n"


def dump_deck(deck: Deck, *, schema: str | None = None) -> str:
    """Write ``deck`` as YAML in the deck-file style: key order kept, code as literal blocks.

    With ``schema`` (where the JSON Schema is, relative to the file) the first line is
    the modeline that points an editor at it.
    """
    data = deck.model_dump(exclude_none=True, exclude_defaults=False)
    if not data.get("tags"):
        data.pop("tags", None)
    for question in data["questions"]:
        if not question.get("tags"):
            question.pop("tags", None)
    text = yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
    return text if schema is None else schema_modeline(schema) + text


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(mark in value for mark in _OTHER_LINE_BREAKS):
        # Written raw, NEL is read back as a line break (and folded to a space): escaped.
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value and all(line == line.rstrip() for line in value.split("\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


#: What YAML counts as a line break besides \n and \r.
_OTHER_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


_BlockDumper.add_representer(str, _str_presenter)


def dump_question(question: Question) -> str:
    """One question as a YAML mapping in the deck-file style (what ``quizzer edit`` shows)."""
    data = question.model_dump(exclude_none=True)
    if not data.get("tags"):
        data.pop("tags", None)
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
