"""What a learner sees of a question, as one plain value: the type every layer passes around.

A deck file's question, a stored row and an exported note are three forms of it; each is
converted to and from :class:`Content` in one place (``Content.of`` reads any object with
the fields; ``columns`` gives what is stored). Pure: no database, no YAML, no terminal.
"""

from __future__ import annotations

import hashlib
import json
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
        }

    def digest(self) -> str:
        """A hash of the content: an edited question is one whose digest changed."""
        columns = self.columns()
        if columns["variants"] is None:
            del columns["variants"]  # so a question that does not vary keeps its old digest
        blob = json.dumps(columns, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()
