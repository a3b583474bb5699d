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

    _no_nul = field_validator("prompt", "code", "answer", "choices", "explanation")(_refuse_nul)

    @field_validator("python")
    @classmethod
    def _valid_specifier(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                SpecifierSet(value)
            except InvalidSpecifier:
                raise ValueError(f"not a version range like '>=3.12': {value!r}") from None
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
        return self

    def applies_to(self, version: str) -> bool:
        """Whether the stored answer holds for Python ``version`` (e.g. ``"3.11.7"``)."""
        return self.python is None or SpecifierSet(self.python).contains(version)


class Deck(BaseModel):
    """A whole deck file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    deck: Slug
    title: Text
    description: str | None = None
    tags: list[Tag] = Field(default_factory=list)
    questions: list[Question]

    _no_nul = field_validator("title", "description")(_refuse_nul)

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


def json_schema() -> dict[str, Any]:
    """The JSON Schema of deck files, made from the same models that validate them."""
    schema = Deck.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "quizzer deck file"
    return schema
