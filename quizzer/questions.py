"""What a learner sees of a question, as one plain value: the type every layer passes around.

A deck file's question, a stored row and an exported note are three forms of it; each is
converted to and from :class:`Content` in one place (``Content.of`` reads any object with
the fields; ``columns`` gives what is stored). Pure: no database, no YAML, no terminal.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass, replace
from typing import Any, Protocol

#: The fields of what a learner sees, in the order the deck format lists them.
CONTENT_FIELDS = (
    "type",
    "prompt",
    "code",
    "answer",
    "choices",
    "explanation",
    "tags",
    "python",
    "variants",
)


class HasContent(Protocol):
    """Anything with a question's fields: a deck-file question, a stored row."""

    @property
    def type(self) -> str: ...
    @property
    def prompt(self) -> str: ...
    @property
    def code(self) -> str | None: ...
    @property
    def answer(self) -> str: ...
    @property
    def choices(self) -> Any: ...
    @property
    def explanation(self) -> str | None: ...
    @property
    def tags(self) -> Any: ...
    @property
    def python(self) -> str | None: ...


#: One variant of a predict_output question: ``(code, answer)``.
VariantPair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Content:
    """Everything a learner sees of a question (not its id, deck or position)."""

    type: str
    prompt: str
    code: str | None
    answer: str
    choices: tuple[str, ...] | None
    explanation: str | None
    tags: tuple[str, ...]
    python: str | None
    #: The variants after the first (whose code and answer are ``code`` and ``answer``).
    variants: tuple[VariantPair, ...] = ()
    #: predict_output answers that hold for some versions only, by PEP 440 range.
    answers_by_python: dict[str, str] | None = None

    @classmethod
    def of(cls, source: HasContent) -> Content:
        """The content of ``source``, whatever form it comes in.

        A source that varies has ``variant_list``: every variant as ``(code, answer)``,
        the first being what ``code`` and ``answer`` hold here (a deck file's template is
        filled in with the first combination of its values).
        """
        runs: tuple[VariantPair, ...] = getattr(source, "variant_list", None) or ()
        code, answer = runs[0] if runs else (source.code, source.answer)
        return cls(
            type=source.type,
            prompt=source.prompt,
            code=code,
            answer=answer,
            choices=tuple(source.choices) if source.choices is not None else None,
            explanation=source.explanation,
            tags=tuple(source.tags or ()),
            python=source.python,
            variants=tuple(runs[1:]),
            answers_by_python=getattr(source, "answers_by_python", None) or None,
        )

    @property
    def variant_count(self) -> int:
        """How many snippets the question has (1 for one that does not vary)."""
        return 1 + len(self.variants)

    def shown(self, variant: int) -> Content:
        """The content as shown with variant number ``variant`` (0 is the question's own)."""
        if variant == 0 or not self.variants:
            return self
        code, answer = self.variants[(variant - 1) % len(self.variants)]
        return replace(self, code=code, answer=answer)

    def columns(self) -> dict[str, Any]:
        """The stored (and deck-file) form: lists where the format has lists."""
        return {
            "type": self.type,
            "prompt": self.prompt,
            "code": self.code,
            "answer": self.answer,
            "choices": list(self.choices) if self.choices is not None else None,
            "explanation": self.explanation,
            "tags": list(self.tags),
            "python": self.python,
            "variants": (
                [{"code": code, "answer": answer} for code, answer in self.variants]
                if self.variants
                else None
            ),
            "answers_by_python": (
                dict(self.answers_by_python) if self.answers_by_python is not None else None
            ),
        }

    def answer_for(self, version: str) -> str:
        """The answer for Python ``version`` (see :func:`answer_for`)."""
        return answer_for(self.answer, self.answers_by_python, version)

    def digest(self) -> str:
        """A hash of the content: an edited question is one whose digest changed."""
        columns = self.columns()
        # Absent, not null, when unused: a question that does not use them keeps its digest.
        for optional in ("variants", "answers_by_python"):
            if columns[optional] is None:
                del columns[optional]
        blob = json.dumps(columns, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


#: Characters that control a terminal instead of showing: C0 controls but tab and new line,
#: DEL, the C1 controls (U+0080..U+009F: ``\u009b`` is an 8-bit CSI), the bidi embeddings,
#: overrides and isolates (U+202A..U+202E, U+2066..U+2069), the marks that steer them
#: (U+200E, U+200F, U+061C), and the line and paragraph separators (U+2028, U+2029).
#: The CLI spells them out wherever it prints text (``quizzer.cli.visible``).
TERMINAL_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]"
)
#: What deck text may not hold (but a predict_output answer, which is what the code
#: prints): the same, less the line breaks YAML itself knows (CR, NEL, U+2028, U+2029),
#: which move no cursor but to a new line (and are spelled out when shown all the same).
DECK_REFUSED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


#: The ``python`` setting's default: the interpreter running quizzer.
RUNNING_PYTHON = "running"


def python_version(setting: str) -> str:
    """The version the ``python`` setting names (``"3.12"``), the running one's for
    :data:`RUNNING_PYTHON` (``"3.12.1"``)."""
    if setting == RUNNING_PYTHON:
        return ".".join(map(str, sys.version_info[:3]))
    return setting


def answer_for(answer: str, answers_by_python: dict[str, str] | None, version: str) -> str:
    """The answer for Python ``version`` (``"3.12.1"``): the first range of
    ``answers_by_python`` holding it gives it, else ``answer``."""
    if answers_by_python:
        from packaging.specifiers import SpecifierSet

        for spec, specific in answers_by_python.items():
            if SpecifierSet(spec).contains(version):
                return specific
    return answer
