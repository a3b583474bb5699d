"""Deck files: the pydantic models of the YAML format, and loading and dumping them.

The format is described in the project's deck-format spec. This module never imports
sqlalchemy, click or genanki: checking a deck file is cheap and has no side effects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
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

#: Largest deck file quizzer reads; a bigger one is refused before it is parsed.
MAX_FILE_BYTES = 20 * 1024 * 1024
DECK_SUFFIXES = (".yaml", ".yml")


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
    python: str | None = None

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

    @model_validator(mode="after")
    def _unique_ids(self) -> Deck:
        seen: set[str] = set()
        for index, question in enumerate(self.questions, start=1):
            if question.id in seen:
                raise _DuplicateId(index, question.id)
            seen.add(question.id)
        return self


class _DuplicateId(ValueError):
    def __init__(self, index: int, qid: str) -> None:
        super().__init__(f"duplicate id {qid!r}")
        self.index = index
        self.qid = qid


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that refuses a mapping with the same key twice (PyYAML keeps the last)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in mapping
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _where(data: Any, loc: tuple[int | str, ...]) -> tuple[str, str]:
    """Turn a pydantic error location into ('question X (#n)', 'field') for the message."""
    if len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int):
        index = loc[1]
        qid = None
        if isinstance(data, dict) and isinstance(data.get("questions"), list):
            questions = data["questions"]
            if 0 <= index < len(questions) and isinstance(questions[index], dict):
                raw = questions[index].get("id")
                qid = raw if isinstance(raw, str) else None
        label = f"question {qid!r} (#{index + 1})" if qid else f"question #{index + 1}"
        field = ".".join(str(part) for part in loc[2:] if not str(part).startswith("function-"))
        return label, field
    return "deck", ".".join(str(part) for part in loc)


def _first_error(data: Any, error: ValidationError) -> str:
    details = error.errors(include_url=False)
    first = details[0]
    label, field = _where(data, tuple(first["loc"]))
    message = str(first["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    # Model validators name the field at the start of their message: "answer: ...".
    match = re.match(r"^(\w+): (.*)$", message)
    if match and (not field or field == "questions"):
        field, message = match.group(1), match.group(2)
    ctx = first.get("ctx") or {}
    duplicate = ctx.get("error")
    if isinstance(duplicate, _DuplicateId):
        label = f"question {duplicate.qid!r} (#{duplicate.index})"
        field, message = "id", "duplicate id within the deck"
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "missing":
        message = "required key is missing"
    field_part = f"field {field!r}: " if field else ""
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return f"{label}: {field_part}{message}{more}"


def parse_deck(text: str, *, source: str) -> Deck:
    """Validate deck-file ``text``; errors name ``source``, the question and the field."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise DeckFileError(f"{source}: invalid YAML{where}: {problem}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).strip()
        raise DeckFileError(f"{source}: invalid YAML: {reason}") from None
    if data is None:
        raise DeckFileError(
            f"{source}: the file is empty; a deck needs 'deck', 'title', 'questions'"
        )
    if not isinstance(data, dict):
        raise DeckFileError(
            f"{source}: a deck file is a mapping with 'deck', 'title' and 'questions', "
            f"not a {type(data).__name__}"
        )
    try:
        return Deck.model_validate(data)
    except ValidationError as exc:
        raise DeckFileError(f"{source}: {_first_error(data, exc)}") from None
    except RecursionError:
        raise DeckFileError(f"{source}: nested too deeply") from None


def load_deck(path: Path) -> Deck:
    """Read and validate one deck file."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DeckFileError(
                f"{path}: the file is {size // (1024 * 1024)} MiB; deck files are limited to "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MiB"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise DeckFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if b"\0" in raw:
        raise DeckFileError(f"{path}: not a text file (it contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DeckFileError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    return parse_deck(text, source=str(path))


def deck_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand files and folders into the deck files they name, folders sorted by name."""
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in DECK_SUFFIXES and p.is_file())
            if not found:
                raise DeckFileError(f"{path}: no deck files (*.yaml) in this folder")
            yield from found
        elif path.exists():
            yield path
        else:
            raise DeckFileError(f"{path}: no such file or folder")


def load_decks(paths: Iterable[Path]) -> list[tuple[Path, Deck]]:
    """Load every deck file named by ``paths``; a deck slug may appear in only one file."""
    loaded: list[tuple[Path, Deck]] = []
    owners: dict[str, Path] = {}
    for path in deck_paths(paths):
        deck = load_deck(path)
        if deck.deck in owners and owners[deck.deck].resolve() != path.resolve():
            raise DeckFileError(
                f"{path}: field 'deck': slug {deck.deck!r} is already used by {owners[deck.deck]}"
            )
        if deck.deck not in owners:
            owners[deck.deck] = path
            loaded.append((path, deck))
    return loaded


def dump_deck(deck: Deck) -> str:
    """Write ``deck`` as YAML in the deck-file style: key order kept, code as literal blocks."""
    data = deck.model_dump(exclude_none=True, exclude_defaults=False)
    if not data.get("tags"):
        data.pop("tags", None)
    for question in data["questions"]:
        if not question.get("tags"):
            question.pop("tags", None)
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)


class _BlockDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value and all(line == line.rstrip() for line in value.split("\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_BlockDumper.add_representer(str, _str_presenter)
