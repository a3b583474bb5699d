"""Deck files: the pydantic models of the YAML format, and loading and dumping them.

The format is described in the project's deck-format spec. This module never imports
sqlalchemy, click or genanki: checking a deck file is cheap and has no side effects.
"""

from quizzer.deckfile.models import (
    QUESTION_TYPES,
    SLUG_PATTERN,
    Deck,
    Question,
    QuestionType,
    json_schema,
    validate_slug,
)
from quizzer.deckfile.reader import (
    MAX_FILE_BYTES,
    load_deck,
    load_decks,
    load_questions_or_deck,
    parse_deck,
    refuse_missing_answers,
    strict_load,
)
from quizzer.deckfile.writer import dump_deck, dump_question

__all__ = [
    "MAX_FILE_BYTES",
    "QUESTION_TYPES",
    "SLUG_PATTERN",
    "Deck",
    "Question",
    "QuestionType",
    "dump_deck",
    "dump_question",
    "json_schema",
    "load_deck",
    "load_decks",
    "load_questions_or_deck",
    "parse_deck",
    "refuse_missing_answers",
    "strict_load",
    "validate_slug",
]
