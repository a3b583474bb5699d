"""Deck files: the pydantic models of the YAML format, and loading and dumping them.

The format is described in the project's deck-format spec. This module never imports
sqlalchemy, click or genanki: checking a deck file is cheap and has no side effects.
"""

from __future__ import annotations

import codecs
import datetime
import os
import re
import reprlib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, cast

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
from yaml.constructor import SafeConstructor

from quizzer.bulk import gc_paused
from quizzer.errors import DeckFileError
from quizzer.files import MAX_FILE_BYTES as MAX_FILE_BYTES
from quizzer.files import deck_paths

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


# --- reading YAML safely ------------------------------------------------------------
#
# Deck files come from anywhere, so the YAML layer is hardened beyond PyYAML's safe
# loader: anchors and aliases are refused (a "billion laughs" file is a few hundred
# bytes of aliases that PyYAML shares but anything walking the result expands), nesting
# and the number of values are bounded, and every failure becomes one DeckFileError
# line naming the file, the question and the field.

#: Deepest nesting of values accepted; a deck needs five (deck, questions, question,
#: choices, choice).
MAX_DEPTH = 32
#: Most YAML values (scalars, lists and mappings) in one file. A question is about
#: fourteen, so this allows some 17,000 questions, and bounds the work a hostile file
#: of tiny values can cause (a few seconds and some 250 MB at this limit).
MAX_NODES = 250_000

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_BOM = "\ufeff"
# What YAML 1.1 (and so PyYAML) accepts in a stream; checked up front so the message
# can say where the offending character is instead of PyYAML's two-line report.
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ANCHORS_REFUSED = (
    "anchors and aliases (&name, *name) are not allowed in deck files; write the value out"
)

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxdict = 4
_repr.maxlevel = 2


def _short(value: object) -> str:
    """A repr of ``value`` short enough for a one-line message, however big it is."""
    return _repr.repr(value)


def _one_line(message: str) -> str:
    return message.replace("\r", " ").replace("\n", " ")


def _line_column(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


class _StrictComposer(yaml.composer.Composer):
    """PyYAML's composer, bounded in depth and size, noting the first anchor or alias."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._nodes = 0
        #: Where the first anchor or alias is. The file is refused once the node tree
        #: is whole, so the message can name the question; until then aliased nodes are
        #: shared, never copied, so composing stays as cheap as the text.
        self.anchor_mark: yaml.Mark | None = None
        #: The (parent, index) pairs down to where composing failed, to name the question;
        #: built while the error unwinds, so composing a good file pays nothing for it.
        self.error_path: list[tuple[yaml.Node | None, Any]] | None = None

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        try:
            event = cast(Any, self).peek_event()  # a mixin: the parser supplies the events
            if self.anchor_mark is None and (
                type(event) is yaml.AliasEvent or getattr(event, "anchor", None) is not None
            ):
                self.anchor_mark = event.start_mark
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"more than {MAX_NODES} values; split the deck into smaller files",
                    event.start_mark,
                )
            if self._depth >= MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark
                )
            self._depth += 1
            node = super().compose_node(parent, index)
        except yaml.MarkedYAMLError:
            if self.error_path is None:
                self.error_path = []
            self.error_path.insert(0, (parent, index))
            raise
        self._depth -= 1
        return node


class _ValueError(yaml.constructor.ConstructorError):
    """A value PyYAML cannot build, or one a deck file must not contain."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(None, None, problem, mark)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    # No flatten_mapping: merge keys are refused rather than merged, and a key given
    # twice is an error instead of PyYAML's silent "last one wins".
    mapping: dict[str, Any] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            raise _ValueError(
                "merge keys (<<) are not allowed in deck files; write the keys out",
                key_node.start_mark,
            )
        key = _construct(loader, key_node)
        if not isinstance(key, str):
            raise _ValueError(
                f"key {_short(key)} is not a field name (keys are text, like 'prompt')",
                key_node.start_mark,
            )
        if key in mapping:
            raise _ValueError("duplicate key (each key may appear once)", key_node.start_mark)
        mapping[key] = _construct(loader, value_node)
    return mapping


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, AttributeError, OverflowError, LookupError) as exc:
        # PyYAML's constructors fail in assorted ways on odd scalars ("!!timestamp x",
        # a 5000-digit integer, "!!binary" that is not base64); only a ValueError's
        # text is meant for people, and its advice after ";" is for programmers.
        kind = str(node.tag).rsplit(":", 1)[-1]
        reason = f" ({str(exc).split(';')[0]})" if isinstance(exc, ValueError) else ""
        raise _ValueError(f"cannot read this value as {kind}{reason}", node.start_mark) from None


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise _ValueError(
        f"unknown tag {_short(node.tag)}: deck files hold text, numbers, lists and mappings",
        node.start_mark,
    )


def _loader_classes() -> list[type[Any]]:
    """The deck loaders: on libyaml's parser when PyYAML has it, else pure Python."""
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.resolver import Resolver
    from yaml.scanner import Scanner

    made: list[type[Any]] = []

    class _PyDeckLoader(Reader, Scanner, Parser, _StrictComposer, SafeConstructor, Resolver):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            _StrictComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    made.append(_PyDeckLoader)
    if getattr(yaml, "__with_libyaml__", False):
        from yaml._yaml import CParser

        # The composer comes first so its Python methods win over CParser's C ones.
        class _CDeckLoader(_StrictComposer, CParser, SafeConstructor, Resolver):
            def __init__(self, stream: str) -> None:
                CParser.__init__(self, stream)
                _StrictComposer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)

        made.insert(0, _CDeckLoader)
    for loader in made:
        loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
        loader.add_constructor(None, _refuse_tag)
    return made


#: The loaders parse_deck may use, the preferred (fastest) first.
_LOADERS = _loader_classes()


# --- the fast path: a well-formed file read straight from libyaml's events ----------
#
# Composing a node tree in Python and constructing values from it was 80% of importing a
# 10k-question file. Most files are plain: no anchors, no tags, no duplicate keys. For
# those, _plain_data builds the same dicts, lists and scalars straight from the events;
# anything else (including every error) gives None, and the full loader above does the
# work and names the question and field. It never accepts what the full loader refuses:
# tests/test_import_fast_paths.py checks that both agree.

#: The implicit scalar types the fast path builds itself; any other (a timestamp, a merge
#: key) goes to the full loader.
_PLAIN_SCALARS: dict[str, Any] = {
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in (
        "tag:yaml.org,2002:null",
        "tag:yaml.org,2002:bool",
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
    )
}


class _NotPlain(Exception):
    """The file needs the full loader."""


def _plain_data(text: str) -> Any | None:
    """The data of a plain one-document YAML ``text``, or None if the full loader must read it."""
    if not getattr(yaml, "__with_libyaml__", False):
        return None
    from yaml._yaml import CParser

    parser = CParser(text)
    try:
        return _data_from_events(parser)
    except (_NotPlain, yaml.YAMLError, ValueError, OverflowError):
        return None
    finally:
        parser.dispose()


def _data_from_events(parser: Any) -> Any:
    resolver: Any = yaml.resolver.Resolver()
    constructor = SafeConstructor()
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    mapping_start, sequence_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
    collection_end = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    document_start, stream_end = yaml.DocumentStartEvent, yaml.StreamEndEvent
    # The open collections, and for each mapping the key waiting for its value.
    stack: list[Any] = []
    keys: list[Any] = []
    documents = 0
    values = 0
    root: Any = None
    get_event = parser.get_event
    while True:
        event = get_event()
        kind = type(event)
        if kind is scalar_event or kind is mapping_start or kind is sequence_start:
            values += 1
            if event.anchor is not None or event.tag is not None:
                raise _NotPlain
            if len(stack) >= MAX_DEPTH or values > MAX_NODES:
                raise _NotPlain
            if kind is not scalar_event:
                stack.append({} if kind is mapping_start else [])
                keys.append(None)
                continue
            value = event.value
            if event.implicit[0]:  # plain: its type depends on how it looks
                tag = resolver.resolve(yaml.ScalarNode, value, event.implicit)
                if tag != _STR_TAG:
                    construct = _PLAIN_SCALARS.get(tag)
                    if construct is None:
                        raise _NotPlain
                    value = construct(constructor, yaml.ScalarNode(tag, value))
        elif kind in collection_end:
            value = stack.pop()
            keys.pop()
        elif kind is alias_event:
            raise _NotPlain
        elif kind is document_start:
            documents += 1
            if documents > 1:
                raise _NotPlain
            continue
        elif kind is stream_end:
            return root
        else:  # the stream's start, a document's end
            continue
        if not stack:
            root = value
            continue
        top = stack[-1]
        if type(top) is list:
            top.append(value)
        elif keys[-1] is None:
            if type(value) is not str or value in top:
                raise _NotPlain
            keys[-1] = value
        else:
            top[keys[-1]] = value
            keys[-1] = None


# --- locating a problem: which question, which field --------------------------------


def _key_text(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == _STR_TAG:
        return str(node.value)
    return None


def _question_nodes(root: yaml.Node) -> list[yaml.Node]:
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if _key_text(key) == "questions" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []


def _question_label(root: yaml.Node, index: int) -> str:
    """``question 'id' (#n)``, or ``question #n`` when it has no usable id."""
    qid = None
    questions = _question_nodes(root)
    if 0 <= index < len(questions) and isinstance(questions[index], yaml.MappingNode):
        for key, value in questions[index].value:
            if _key_text(key) == "id" and _key_text(value):
                qid = _key_text(value)
    return f"question {_short(qid)} (#{index + 1})" if qid else f"question #{index + 1}"


def _spans(start: yaml.Mark, end: yaml.Mark | None, mark: yaml.Mark) -> bool:
    # The end is where the next thing starts (a block list ends at the next key): not in.
    here = (mark.line, mark.column)
    return (start.line, start.column) <= here and (end is None or here < (end.line, end.column))


def _locate(root: yaml.Node, mark: yaml.Mark) -> tuple[str, str | None]:
    """The question (or 'deck') and the field that the text at ``mark`` belongs to."""
    if not isinstance(root, yaml.MappingNode):
        return "deck", None
    for key, value in root.value:
        if not _spans(key.start_mark, value.end_mark, mark):
            continue
        field = _key_text(key)
        if field == "questions" and isinstance(value, yaml.SequenceNode):
            for index, item in enumerate(value.value):
                if _spans(item.start_mark, item.end_mark, mark):
                    sub_field = None
                    if isinstance(item, yaml.MappingNode):
                        for sub_key, sub_value in item.value:
                            if _spans(sub_key.start_mark, sub_value.end_mark, mark):
                                sub_field = _key_text(sub_key)
                                break
                    return _question_label(root, index), sub_field
        return "deck", field
    return "deck", None


def _node_at(root: yaml.Node, loc: tuple[int | str, ...]) -> yaml.Node:
    """The node at pydantic location ``loc``, or the deepest one that exists."""
    node = root
    for part in loc:
        if isinstance(part, int) and isinstance(node, yaml.SequenceNode):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
        elif isinstance(part, str) and isinstance(node, yaml.MappingNode):
            found = [value for key, value in node.value if _key_text(key) == part]
            if not found:
                break
            node = found[0]
        else:
            break
    return node


# --- turning a validation error into one line ---------------------------------------

_QUESTION_KEYS = ", ".join(Question.model_fields)
_DECK_KEYS = ", ".join(Deck.model_fields)


def _got(value: object) -> str:
    """What a wrong value is, in the words of a YAML writer."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "an empty value (null)"
    if isinstance(value, int | float):
        return f"the number {_short(value)}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bytes):
        return "binary data"
    return _short(value)


def _explain(detail: Any, in_question: bool) -> str:
    kind = detail["type"]
    value = detail.get("input")
    message = str(detail["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "extra_forbidden":
        return "unknown key; known keys are " + (_QUESTION_KEYS if in_question else _DECK_KEYS)
    if kind == "missing":
        return "required key is missing"
    if kind == "string_type":
        scalar = isinstance(value, int | float | datetime.date)
        hint = "; put quotes around it" if scalar else ""
        return f"{message}, got {_got(value)}{hint}"
    if kind in ("list_type", "literal_error"):
        return f"{message}, got {_got(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        what = "a question" if in_question else "it"
        keys = _QUESTION_KEYS if in_question else _DECK_KEYS
        return f"{what} must be a mapping of keys ({keys}), got {_got(value)}"
    if kind == "string_pattern_mismatch":
        if (detail.get("ctx") or {}).get("pattern") == SLUG_PATTERN:
            return (
                f"{_short(value)} is not a slug "
                "(lowercase letters and digits, joined by single hyphens, like 'late-binding')"
            )
        return f"{_short(value)} is not a tag (letters, digits and _ . : - only)"
    return message


def _first_error(root: yaml.Node, error: ValidationError) -> str:
    details = error.errors(include_url=False)
    first = details[0]
    loc = tuple(part for part in first["loc"] if not str(part).startswith("function-"))
    in_question = len(loc) >= 2 and loc[0] == "questions" and isinstance(loc[1], int)
    label = "deck"
    rest: tuple[int | str, ...] = loc
    if in_question:
        index = loc[1]
        assert isinstance(index, int)
        label = _question_label(root, index)
        rest = loc[2:]
    message = _explain(first, in_question)
    field = next((part for part in rest if isinstance(part, str)), None)
    item = next((part for part in rest[1:] if isinstance(part, int)), None)
    # Model validators name the field at the start of their message: "answer: ...".
    match = re.match(r"^(\w+): (.*)$", message)
    if match and field is None:
        field, message = match.group(1), match.group(2)
    ctx = first.get("ctx") or {}
    duplicate = ctx.get("error")
    if isinstance(duplicate, _DuplicateId):
        label = f"question {_short(duplicate.qid)} (#{duplicate.index})"
        field, message = "id", "duplicate id within the deck"
        loc, item = ("questions", duplicate.index - 1, "id"), None
    elif field is not None and field not in rest:
        loc = (*loc, field)
    node = _node_at(root, loc)
    field_part = f"field {field!r}: " if field else ""
    item_part = f"item #{item + 1}: " if item is not None else ""
    more = f"; and {len(details) - 1} more problems" if len(details) > 1 else ""
    return f"{label}: {field_part}{item_part}{message} (line {node.start_mark.line + 1}{more})"


def _path_label(path: list[tuple[yaml.Node | None, Any]]) -> str:
    """`` in question 'id' (#n), field 'f'`` for where composing stopped, or ''."""
    # path[1] is the root mapping's entry, path[2] a question, path[3] its entry; an
    # index that is a key node means its value was being composed.
    field = _key_text(path[1][1]) if len(path) > 1 and isinstance(path[1][1], yaml.Node) else None
    if field == "questions" and len(path) > 2 and isinstance(path[2][1], int):
        number = path[2][1] + 1
        label, field = f"question #{number}", None
        if len(path) > 3:
            question, key = path[3]
            if isinstance(key, yaml.Node):
                field = _key_text(key)
            if isinstance(question, yaml.MappingNode):
                ids = [_key_text(v) for k, v in question.value if _key_text(k) == "id"]
                if ids and ids[0]:
                    label = f"question {_short(ids[0])} (#{number})"
        return f" in {label}" + (f", field {field!r}" if field else "")
    return f" in field {field!r}" if field else ""


def _yaml_error(
    source: str, exc: yaml.MarkedYAMLError, path: list[tuple[yaml.Node | None, Any]] | None
) -> DeckFileError:
    mark = exc.problem_mark or exc.context_mark
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    parts = [part for part in (exc.context, exc.problem) if part]
    problem = ", ".join(parts) if parts else "invalid YAML"
    label = _path_label(path) if path else ""
    return DeckFileError(_one_line(f"{source}: invalid YAML{where}{label}: {problem}"))


def parse_deck(text: str, *, source: str) -> Deck:
    """Validate deck-file ``text``; errors name ``source``, the question and the field.

    Every failure is a DeckFileError with a one-line message; anchors and aliases are
    refused, and nesting depth and the number of values are bounded.
    """
    text = text.removeprefix(_BOM)  # a UTF-8 BOM is harmless at the very start
    stray = text.find(_BOM)
    if stray >= 0:
        raise DeckFileError(
            f"{source}: a byte-order mark (U+FEFF) at {_line_column(text, stray)}; "
            "only the very start of a file may have one"
        )
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        raise DeckFileError(
            f"{source}: character U+{ord(bad.group()):04X} at {_line_column(text, bad.start())} "
            "is not allowed in a YAML file (control characters and lone surrogates are not text)"
        )
    data = _plain_data(text)
    if isinstance(data, dict):
        try:
            return Deck.model_validate(data)
        except ValidationError:
            pass  # the full loader below says which question and field
    root, data = _load_fully(text, source=source)
    if not isinstance(data, dict):
        raise DeckFileError(
            f"{source}: a deck file is a mapping with 'deck', 'title' and 'questions', "
            f"not {_got(data)}"
        )
    try:
        return Deck.model_validate(data)
    except ValidationError as exc:
        raise DeckFileError(_one_line(f"{source}: {_first_error(root, exc)}")) from None


def _load_fully(text: str, *, source: str) -> tuple[yaml.Node, Any]:
    """The node tree of ``text`` and the data built from it, or a located DeckFileError."""
    loader = _LOADERS[0](text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _yaml_error(source, exc, loader.error_path) from None
        except (yaml.YAMLError, RecursionError) as exc:  # unmarked: should not happen
            raise DeckFileError(_one_line(f"{source}: invalid YAML: {exc}")) from None
        if root is None:
            raise DeckFileError(
                f"{source}: the file is empty; a deck needs 'deck', 'title', 'questions'"
            )
        if loader.anchor_mark is not None:
            raise _located(source, root, loader.anchor_mark, _ANCHORS_REFUSED)
        try:
            return root, loader.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if mark is None:
                raise DeckFileError(_one_line(f"{source}: invalid YAML: {problem}")) from None
            raise _located(source, root, mark, problem) from None
        except (yaml.YAMLError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            # A scalar at the top level that PyYAML cannot build (mappings say where).
            raise DeckFileError(_one_line(f"{source}: invalid YAML: {exc}")) from None
    finally:
        loader.dispose()


def _located(source: str, root: yaml.Node, mark: yaml.Mark, problem: str) -> DeckFileError:
    label, field = _locate(root, mark)
    field_part = f"field {field!r}: " if field else ""
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    return DeckFileError(_one_line(f"{source}: {label}: {field_part}{problem} ({where})"))


@gc_paused()
def load_deck(path: Path) -> Deck:
    """Read and validate one deck file (UTF-8, an optional BOM, at most MAX_FILE_BYTES)."""
    limit = f"deck files are limited to {MAX_FILE_BYTES // (1024 * 1024)} MiB"
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise DeckFileError(f"{path}: the file is {size // (1024 * 1024)} MiB; {limit}")
            # Bounded even when the size lies (a device or a pipe reports 0).
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise DeckFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise DeckFileError(f"{path}: the file is too big; {limit}")
    return parse_deck(_decode(path, raw), source=str(path))


def _decode(path: Path, raw: bytes) -> str:
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if raw.startswith(bom):
            raise DeckFileError(f"{path}: the file is {name} text; save it as UTF-8")
    if b"\0" in raw:
        raise DeckFileError(
            f"{path}: not a text file: it contains NUL bytes "
            "(binary data, or UTF-16 text; deck files are UTF-8)"
        )
    try:
        return raw.decode("utf-8")  # parse_deck drops one leading BOM, and only one
    except UnicodeDecodeError as exc:
        text = raw[: exc.start].decode("utf-8").removeprefix(_BOM)
        raise DeckFileError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02X} at "
            f"{_line_column(text, len(text))} (save the file as UTF-8)"
        ) from None


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
