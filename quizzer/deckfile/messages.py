"""Where a problem in a deck file is (which question, which field) and one line saying it."""

from __future__ import annotations

import datetime
import difflib
import re
import reprlib
from typing import Any

import yaml
from pydantic import ValidationError

from quizzer.deckfile.models import SLUG_PATTERN, Deck, DuplicateId, Question, VariantError
from quizzer.errors import DeckFileError

STR_TAG = "tag:yaml.org,2002:str"

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxdict = 4
_repr.maxlevel = 2


def short(value: object) -> str:
    """A repr of ``value`` short enough for a one-line message, however big it is."""
    return _repr.repr(value)


def one_line(message: str) -> str:
    return message.replace("\r", " ").replace("\n", " ")


def line_column(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


# --- locating a problem: which question, which field --------------------------------


def _key_text(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == STR_TAG:
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
    return f"question {short(qid)} (#{index + 1})" if qid else f"question #{index + 1}"


def _spans(start: yaml.Mark, end: yaml.Mark | None, mark: yaml.Mark) -> bool:
    # The end is where the next thing starts (a block list ends at the next key): not in.
    here = (mark.line, mark.column)
    return (start.line, start.column) <= here and (end is None or here < (end.line, end.column))


def locate(root: yaml.Node, mark: yaml.Mark) -> tuple[str, str | None]:
    """The question (or 'deck') and the field that the text at ``mark`` belongs to."""
    if isinstance(root, yaml.SequenceNode):
        # A list of questions (``add --from``) stands where a deck's questions stand.
        root = questions_root(root)
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


def node_at(root: yaml.Node, loc: tuple[int | str, ...]) -> yaml.Node:
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


def questions_root(questions: yaml.SequenceNode) -> yaml.MappingNode:
    """A deck-shaped node tree around a bare list of questions, to locate problems in it."""
    start, end = questions.start_mark, questions.end_mark
    key = yaml.ScalarNode(STR_TAG, "questions", start, start)
    return yaml.MappingNode("tag:yaml.org,2002:map", [(key, questions)], start, end)


# --- turning a validation error into one line ---------------------------------------

_QUESTION_KEYS = ", ".join(Question.model_fields)
_DECK_KEYS = ", ".join(Deck.model_fields)


def got(value: object) -> str:
    """What a wrong value is, in the words of a YAML writer."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "an empty value (null)"
    if isinstance(value, int | float):
        return f"the number {short(value)}"
    if isinstance(value, datetime.date):
        return f"the date {value.isoformat()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bytes):
        return "binary data"
    return short(value)


def _explain(detail: Any, in_question: bool) -> str:
    kind = detail["type"]
    value = detail.get("input")
    message = str(detail["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind == "extra_forbidden":
        known = list(Question.model_fields if in_question else Deck.model_fields)
        typed = str(detail["loc"][-1]) if detail.get("loc") else ""
        close = difflib.get_close_matches(typed, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown key{hint}; known keys are " + ", ".join(known)
    if kind == "missing":
        return "required key is missing"
    if kind == "string_type":
        scalar = isinstance(value, int | float | datetime.date)
        hint = "; put quotes around it" if scalar else ""
        return f"{message}, got {got(value)}{hint}"
    if kind in ("list_type", "literal_error"):
        return f"{message}, got {got(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        what = "a question" if in_question else "it"
        keys = _QUESTION_KEYS if in_question else _DECK_KEYS
        return f"{what} must be a mapping of keys ({keys}), got {got(value)}"
    if kind == "string_pattern_mismatch":
        if (detail.get("ctx") or {}).get("pattern") == SLUG_PATTERN:
            return (
                f"{short(value)} is not a slug "
                "(lowercase letters and digits, joined by single hyphens, like 'late-binding')"
            )
        return f"{short(value)} is not a tag (letters, digits and _ . : - only)"
    return message


def first_error(root: yaml.Node, error: ValidationError) -> str:
    # An unknown key first: a misspelt one is also why a required key seems missing.
    details = sorted(
        error.errors(include_url=False), key=lambda detail: detail["type"] != "extra_forbidden"
    )
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
    if isinstance(duplicate, DuplicateId):
        label = f"question {short(duplicate.qid)} (#{duplicate.index})"
        field, message = "id", "duplicate id within the deck"
        loc, item = ("questions", duplicate.index - 1, "id"), None
    elif isinstance(duplicate, VariantError):
        field, message, item = duplicate.field, duplicate.text, duplicate.item
        loc = (*loc[:2], field) if item is None else (*loc[:2], field, item)
    elif field is not None and field not in rest:
        loc = (*loc, field)
    node = node_at(root, loc)
    field_part = f"field {field!r}: " if field else ""
    item_part = f"item #{item + 1}: " if item is not None else ""
    extra = len(details) - 1
    more = f"; and {extra} more problem{'s' if extra != 1 else ''}" if extra else ""
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
                    label = f"question {short(ids[0])} (#{number})"
        return f" in {label}" + (f", field {field!r}" if field else "")
    return f" in field {field!r}" if field else ""


def yaml_error(
    source: str, exc: yaml.MarkedYAMLError, path: list[tuple[yaml.Node | None, Any]] | None
) -> DeckFileError:
    mark = exc.problem_mark or exc.context_mark
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    parts = [part for part in (exc.context, exc.problem) if part]
    problem = ", ".join(parts) if parts else "invalid YAML"
    label = _path_label(path) if path else ""
    return DeckFileError(one_line(f"{source}: invalid YAML{where}{label}: {problem}"))
