"""The deck-file format as pydantic models: what a deck and a question may hold."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from quizzer.errors import DeckFileError
from quizzer.questions import DECK_REFUSED, answer_for

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=100)]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]+$", max_length=100)]
Text = Annotated[str, StringConstraints(min_length=1)]
QuestionType = Literal["predict_output", "multiple_choice", "recall"]
QUESTION_TYPES: tuple[QuestionType, ...] = ("predict_output", "multiple_choice", "recall")


def _refuse_nul(cls: type, value: Any) -> Any:
    """Text holds no NUL character: PostgreSQL cannot store one, so no collection could
    move to a server, and SQLite's tools cut strings at it."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and "\x00" in text:
            raise ValueError("contains a NUL character (\\0), which quizzer cannot store")
    return value


def _refuse_control(cls: type, value: Any) -> Any:
    """Text holds no terminal control character (an escape sequence written ``"\\e]52;..."``
    or ``"\\x1b"`` in YAML, a C1 control, a bidi override): a downloaded deck must not be
    able to clear the screen, write the clipboard or reorder what a line seems to say."""
    for text in value if isinstance(value, list) else [value]:
        found = DECK_REFUSED.search(text) if isinstance(text, str) else None
        if found:
            code = ord(found.group())
            raise ValueError(
                f"contains the control character U+{code:04X} at character {found.start() + 1} "
                "(terminal escapes and bidi overrides are not allowed in deck text)"
            )
    return value


class Question(BaseModel):
    """One question of a deck file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    id: Slug
    type: QuestionType
    prompt: Text
    code: str | None = None
    answer: str
    choices: list[Text] | None = None
    explanation: str | None = None
    tags: list[Tag] = Field(default_factory=list)
    #: As long as the database's column (a longer range is no use either).
    python: Annotated[str, StringConstraints(max_length=100)] | None = None
    #: predict_output: answers that hold for some versions only, by PEP 440 range; the
    #: first range holding a version gives its answer, ``answer`` the rest's.
    answers_by_python: dict[Annotated[str, StringConstraints(max_length=100)], str] | None = None

    _no_nul = field_validator("prompt", "code", "answer", "choices", "explanation")(_refuse_nul)
    # Not a predict_output's answer: it is what the code prints, shown made visible.
    _no_control = field_validator("prompt", "code", "choices", "explanation")(_refuse_control)

    @field_validator("python")
    @classmethod
    def _valid_specifier(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                SpecifierSet(value)
            except InvalidSpecifier:
                raise ValueError(f"not a version range like '>=3.12': {value!r}") from None
        return value

    @field_validator("answers_by_python")
    @classmethod
    def _valid_version_answers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("give at least one range and its answer, or leave the field out")
        for spec, answer in value.items():
            try:
                SpecifierSet(spec)
            except InvalidSpecifier:
                raise ValueError(f"not a version range like '>=3.13': {spec!r}") from None
            _refuse_nul(cls, answer)
        return value

    @model_validator(mode="after")
    def _fits_its_type(self) -> Question:
        if self.type == "predict_output" and (not self.code or not self.code.strip()):
            raise ValueError("code: a predict_output question needs code to run")
        if self.type == "multiple_choice":
            if self.choices is None or len(self.choices) < 2:
                raise ValueError("choices: a multiple_choice question needs at least two")
            if len(set(self.choices)) != len(self.choices):
                raise ValueError("choices: the choices must be distinct")
            if self.answer not in self.choices:
                raise ValueError("answer: must be the exact text of one of the choices")
        elif self.choices is not None:
            raise ValueError(
                f"choices: only multiple_choice questions have choices, not {self.type}"
            )
        if self.type != "predict_output" and not self.answer.strip():
            raise ValueError("answer: must not be empty")
        if self.answers_by_python is not None and self.type != "predict_output":
            raise ValueError(
                "answers_by_python: only predict_output questions have answers by version"
            )
        if self.type != "predict_output":
            try:
                _refuse_control(type(self), self.answer)
            except ValueError as exc:
                raise ValueError(f"answer: {exc}") from None
        return self

    def applies_to(self, version: str) -> bool:
        """Whether the stored answer holds for Python ``version`` (e.g. ``"3.11.7"``)."""
        return self.python is None or SpecifierSet(self.python).contains(version)

    def answer_for(self, version: str) -> str:
        """The answer for Python ``version``: see :func:`quizzer.questions.answer_for`."""
        return answer_for(self.answer, self.answers_by_python, version)


class Deck(BaseModel):
    """A whole deck file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    deck: Slug
    title: Text
    description: str | None = None
    tags: list[Tag] = Field(default_factory=list)
    questions: list[Question]

    _no_nul = field_validator("title", "description")(_refuse_nul)
    _no_control = field_validator("title", "description")(_refuse_control)

    @model_validator(mode="after")
    def _unique_ids(self) -> Deck:
        _refuse_duplicate_ids(self.questions)
        return self


class QuestionList(BaseModel):
    """A YAML list of questions (``quizzer add --from``): a deck's questions on their own."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    questions: list[Question]

    @model_validator(mode="after")
    def _unique_ids(self) -> QuestionList:
        _refuse_duplicate_ids(self.questions)
        return self


def _refuse_duplicate_ids(questions: list[Question]) -> None:
    seen: set[str] = set()
    for index, question in enumerate(questions, start=1):
        if question.id in seen:
            raise DuplicateId(index, question.id)
        seen.add(question.id)


class DuplicateId(ValueError):
    def __init__(self, index: int, qid: str) -> None:
        super().__init__(f"duplicate id {qid!r}")
        self.index = index
        self.qid = qid


def validate_slug(value: str, *, what: str) -> str:
    """Return ``value`` if it is a slug ([a-z0-9-]+), else raise DeckFileError naming ``what``."""
    if not re.fullmatch(SLUG_PATTERN, value) or len(value) > 100:
        raise DeckFileError(
            f"{what} {value!r}: not a slug (lower-case letters, digits and single hyphens, "
            "e.g. my-notes)"
        )
    return value


#: Where editors find the schema; stable across releases that keep the format.
SCHEMA_ID = "urn:quizzer:deck-file:1"
#: A PEP 440 version range (``>=3.12``, ``>=3.11,<3.13``), as far as a pattern can say it.
_SPECIFIER = r"(~=|===|==|!=|<=|>=|<|>)\s*[0-9][0-9A-Za-z.*+!-]*"
SPECIFIER_PATTERN = rf"^\s*{_SPECIFIER}\s*(,\s*{_SPECIFIER}\s*)*$"
#: Text that is not only whitespace.
_NOT_BLANK = r"\S"

_DESCRIPTIONS = {
    "Deck": {
        "deck": "The deck's slug: its identity (lower-case words joined by hyphens).",
        "title": "The deck's name as people read it (the Anki subdeck's name).",
        "description": "What the deck is about (optional).",
        "tags": "Tags added to every question of the deck.",
        "questions": "The questions, in the order new cards are introduced.",
    },
    "Question": {
        "id": "The question's id within its deck (a slug); it keeps the card's history.",
        "type": "predict_output (type what the code prints), multiple_choice or recall.",
        "prompt": "The question as shown.",
        "code": "Python shown with the question; for predict_output, the code that is run.",
        "answer": (
            "predict_output: exactly what the code prints (checked by `quizzer check`); "
            "multiple_choice: the text of the right choice; recall: the answer."
        ),
        "choices": "multiple_choice only: at least two distinct choices, one the answer.",
        "explanation": "Why the answer is what it is: shown after the answer.",
        "tags": "Tags of this question (letters, digits and _ . : -).",
        "python": "Python versions the answer holds for, a PEP 440 range such as '>=3.12'.",
        "answers_by_python": (
            "predict_output only: answers that hold for some Python versions, by PEP 440 "
            "range (e.g. {'<3.13': 'None', '>=3.13': 'done'}); the first range holding a "
            "version gives its answer, 'answer' is the answer of the others."
        ),
    },
}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of deck files, made from the same models that validate them.

    What JSON Schema can say is said: the per-type rules (code for predict_output, two
    or more distinct choices for multiple_choice and for it only, a non-blank answer),
    the version-range pattern, and a description of every field for editors. What it
    cannot (an answer among the choices, unique ids, YAML's own rules) quizzer checks.
    """
    schema = Deck.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "quizzer deck file"
    for model, texts in _DESCRIPTIONS.items():
        properties = (schema if model == "Deck" else schema["$defs"][model])["properties"]
        for name, text in texts.items():
            properties[name]["description"] = text
    question = schema["$defs"]["Question"]
    properties = question["properties"]
    properties["python"]["anyOf"][0]["pattern"] = SPECIFIER_PATTERN
    choices = properties["choices"]["anyOf"][0]
    choices["uniqueItems"] = True
    question["allOf"] = [
        {
            "if": {"properties": {"type": {"const": "predict_output"}}},
            "then": {
                "required": ["code"],
                "properties": {"code": {"type": "string", "pattern": _NOT_BLANK}},
            },
            "else": {"properties": {"answer": {"pattern": _NOT_BLANK}}},
        },
        {
            "if": {"properties": {"type": {"const": "multiple_choice"}}},
            "then": {
                "required": ["choices"],
                "properties": {"choices": {"type": "array", "minItems": 2}},
            },
            "else": {"properties": {"choices": {"type": "null"}}},
        },
    ]
    return schema
