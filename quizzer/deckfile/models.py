"""The deck-file format as pydantic models: what a deck and a question may hold."""

from __future__ import annotations

import itertools
import re
from string import Template
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


#: A value a ``vary:`` parameter takes: a number or a text (substituted as written).
VaryValue = int | str
#: The most variants a question may have: each is run by ``quizzer check``.
MAX_VARIANTS = 50


class Variant(BaseModel):
    """One more snippet of a predict_output question: whole ``code``, or the ``values`` of
    its ``vary:`` parameters; ``answer`` is what it prints (``check --update`` writes it)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    code: str | None = None
    values: dict[str, VaryValue] | None = None
    answer: str | None = None

    _no_nul = field_validator("code", "answer")(_refuse_nul)

    @model_validator(mode="after")
    def _code_or_values(self) -> Variant:
        if (self.code is None) == (self.values is None):
            raise ValueError("a variant has either 'code' (a whole snippet) or 'values'")
        if self.code is not None and not self.code.strip():
            raise ValueError("code: must not be empty")
        return self


class VariantError(ValueError):
    """A problem with a question's variants, naming the field and the variant."""

    def __init__(self, field: str, message: str, item: int | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.item = item
        self.text = message


def substitute(code: str, values: dict[str, VaryValue]) -> str:
    """``code`` with each ``$name`` / ``${name}`` replaced by its value (``$$`` is one ``$``)."""
    return Template(code).substitute({name: str(value) for name, value in values.items()})


def combinations(vary: dict[str, list[VaryValue]]) -> list[dict[str, VaryValue]]:
    """Every combination of the ``vary:`` values, the first value of each first."""
    names = list(vary)
    return [dict(zip(names, chosen, strict=True)) for chosen in itertools.product(*vary.values())]


def values_label(values: dict[str, VaryValue]) -> str:
    """``n=3, k=10``: how a combination is named in messages and reports."""
    return ", ".join(f"{name}={value}" for name, value in values.items())


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
    #: Parameters substituted into ``code`` (``$name``); each combination is a variant.
    vary: dict[str, Any] | None = None
    #: More snippets (or ``vary:`` combinations) with their own answers.
    variants: list[Variant] | None = None
    #: predict_output: answers that hold for some versions only, by PEP 440 range; the
    #: first range holding a version gives its answer, ``answer`` the rest's.
    answers_by_python: dict[Annotated[str, StringConstraints(max_length=100)], str] | None = None

    _no_nul = field_validator("prompt", "code", "answer", "choices", "explanation")(_refuse_nul)
    # Not a predict_output's answer: it is what the code prints, shown made visible.
    _no_control = field_validator("prompt", "code", "choices", "explanation")(_refuse_control)

    @field_validator("vary")
    @classmethod
    def _vary_values(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("give at least one parameter, like {n: [2, 3, 4]}")
        for name, values in value.items():
            if not name.isidentifier() or not name.isascii():
                raise ValueError(f"{short_name(name)} is not a placeholder name (like n)")
            if not isinstance(values, list) or not values:
                raise ValueError(
                    f"the values of {name!r} must be a list of numbers or texts, "
                    f"like [2, 3, 4], got {_what(values)}"
                )
            for number, item in enumerate(values, start=1):
                if isinstance(item, bool) or not isinstance(item, int | str):
                    raise ValueError(
                        f"value #{number} of {name!r} must be a number or a text, got {_what(item)}"
                    )
            if len(set(map(str, values))) != len(values):
                raise ValueError(f"the values of {name!r} repeat; each gives one variant")
        return value

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
        if self.vary is not None or self.variants is not None:
            self._check_variants()
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

    def _check_variants(self) -> None:
        field = "vary" if self.vary is not None else "variants"
        if self.type != "predict_output":
            raise VariantError(field, f"only predict_output questions vary, not {self.type}")
        combos = combinations(self.vary) if self.vary is not None else [{}]
        if len(combos) + len(self.variants or []) > MAX_VARIANTS:
            raise VariantError(field, f"more than {MAX_VARIANTS} variants; vary fewer values")
        codes: dict[str, str] = {}
        if self.vary is not None:
            template = Template(self.code or "")
            if not template.is_valid():
                raise VariantError(
                    "code",
                    "a '$' that is not a placeholder; write '$$' for a dollar sign "
                    "(the code is a template: $name takes a value from 'vary')",
                )
            used = set(template.get_identifiers())
            for name in sorted(used - set(self.vary)):
                raise VariantError("code", f"placeholder ${name} has no value in 'vary'")
            for name in self.vary:
                if name not in used:
                    raise VariantError("vary", f"{name!r} is not used in the code (${name})")
            codes[substitute(self.code or "", combos[0])] = "the question's own code"
        elif self.code is not None:
            codes[self.code] = "the question's own code"
        seen_values: dict[str, int] = {}
        for number, variant in enumerate(self.variants or [], start=1):
            index = number - 1
            if variant.values is not None:
                if self.vary is None:
                    raise VariantError(
                        "variants", "'values' needs parameters in 'vary' to fill in", index
                    )
                if list(variant.values) != list(self.vary) or any(
                    value not in self.vary[name] for name, value in variant.values.items()
                ):
                    raise VariantError(
                        "variants",
                        f"values {values_label(variant.values)} are not a combination of 'vary'",
                        index,
                    )
                key = values_label(variant.values)
                if variant.values == combos[0]:
                    raise VariantError(
                        "variants",
                        f"duplicate variant: {key} is the question's own code, whose "
                        "answer is 'answer'",
                        index,
                    )
                if key in seen_values:
                    raise VariantError(
                        "variants",
                        f"duplicate variant: values {key} as in variant #{seen_values[key]}",
                        index,
                    )
                seen_values[key] = number
                continue
            code = variant.code or ""
            if code in codes:
                raise VariantError(
                    "variants", f"duplicate variant: the same code as {codes[code]}", index
                )
            codes[code] = f"variant #{number}"

    def variant_runs(self) -> list[tuple[str, str, str | None]]:
        """Every variant as ``(label, code to run, stored answer or None)``, the question's
        own code first; empty for a question that does not vary."""
        if self.vary is None and self.variants is None:
            return []
        combos = combinations(self.vary) if self.vary is not None else []
        given = {
            values_label(variant.values): variant.answer
            for variant in self.variants or []
            if variant.values is not None
        }
        runs: list[tuple[str, str, str | None]] = []
        if combos:
            runs.append(
                (values_label(combos[0]), substitute(self.code or "", combos[0]), self.answer)
            )
            for combo in combos[1:]:
                key = values_label(combo)
                runs.append((key, substitute(self.code or "", combo), given.get(key)))
        else:
            runs.append(("#1", self.code or "", self.answer))
        number = len(runs)
        for variant in self.variants or []:
            if variant.code is not None:
                number += 1
                runs.append((f"#{number}", variant.code, variant.answer))
        return runs

    @property
    def variant_list(self) -> tuple[tuple[str, str], ...]:
        """Every variant as ``(code, answer)``, the question's own first (``questions.Content``
        reads it); empty for a question that does not vary or lacks an answer."""
        runs = self.variant_runs()
        if any(answer is None for _, _, answer in runs):
            return ()
        return tuple((code, answer or "") for _, code, answer in runs)

    def with_variant_answers(self, answers: dict[int, str]) -> Question:
        """This question with the answers of its variants set, by their number in
        :meth:`variant_runs` (0 is ``answer``); a ``vary:`` combination with no entry in
        ``variants`` gets one."""
        combos = combinations(self.vary) if self.vary is not None else [{}]
        items = list(self.variants or [])
        update: dict[str, Any] = {}
        code_items = [i for i, item in enumerate(items) if item.code is not None]
        for number, answer in sorted(answers.items()):
            if number == 0:
                update["answer"] = answer
            elif number < len(combos):
                combo = combos[number]
                found = [i for i, item in enumerate(items) if item.values == combo]
                if found:
                    items[found[0]] = items[found[0]].model_copy(update={"answer": answer})
                else:
                    items.append(Variant(values=combo, answer=answer))
            else:
                at = code_items[number - len(combos)]
                items[at] = items[at].model_copy(update={"answer": answer})
        if len(answers) > ("answer" in update):
            update["variants"] = items
        return self.model_copy(update=update)

    def missing_answers(self) -> list[str]:
        """The labels of the variants that have no stored answer yet."""
        return [label for label, _, answer in self.variant_runs() if answer is None]

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


def short_name(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _what(value: object) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return short_name(value)


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
        "vary": (
            "predict_output only: parameters substituted into the code, each a list of "
            "values ({n: [2, 3, 4]}); the code then is a template where $n or ${n} takes a "
            "value and $$ is a dollar sign. Every combination is a variant; the first "
            "combination's answer is 'answer'."
        ),
        "variants": (
            "predict_output only: more snippets of the same concept, each with its own "
            "answer (written by `quizzer check --update`); a review shows one the learner "
            "did not see last time."
        ),
    },
    "Variant": {
        "code": "A whole alternative snippet (no placeholders are filled in).",
        "values": "One combination of the 'vary' values (every parameter named).",
        "answer": "Exactly what this variant prints (`quizzer check --update` writes it).",
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
    vary = properties["vary"]["anyOf"][0]
    vary["minProperties"] = 1
    vary["propertyNames"] = {"pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}
    vary["additionalProperties"] = {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": {"type": ["integer", "string"]},
    }
    variant = schema["$defs"]["Variant"]
    variant["oneOf"] = [{"required": ["code"]}, {"required": ["values"]}]
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
