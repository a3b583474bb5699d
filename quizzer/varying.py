"""``quizzer vary``: propose mechanical variants of a question and prove each by running it.

The proposals come from :mod:`quizzer.mutations`; each is run in the sandbox beside the
question's own code, and is worth having only when its output differs from every
variant the question already has. Chosen ones go to the deck file the question came
from (``deckfile.rewrite.add_variants``), or, for a deck of your own, into the stored
question (``authoring.apply_edit``). Never prints, never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from quizzer.answers import normalize_output
from quizzer.errors import QuizzerError
from quizzer.mutations import Proposal, propose
from quizzer.sandbox import DEFAULT_LIMITS, Limits, RunResult, run_many

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from quizzer import deckfile
    from quizzer.orm import Question

__all__ = ["Proofs", "Proven", "add_to_stored", "prove"]


@dataclass(frozen=True, slots=True)
class Proven:
    """A proposal and what running it showed."""

    number: int
    proposal: Proposal
    run: RunResult
    #: The question has this very snippet as a variant already.
    existing: bool = False

    @property
    def answer(self) -> str:
        """The output in the deck format's answer form."""
        text = normalize_output(self.run.output)
        return f"{text}\n" if text else ""

    @property
    def stopped(self) -> bool:
        """The sandbox stopped it: its output is no answer."""
        return self.run.stopped or self.run.limit is not None


@dataclass(frozen=True, slots=True)
class Proofs:
    """The question's own output and every proposal, proven."""

    original: RunResult
    #: The outputs the question's variants already print (normalized).
    known: frozenset[str]
    proposals: tuple[Proven, ...]

    def differs(self, proven: Proven) -> bool:
        """Whether ``proven`` ran to the end and prints what no variant prints yet."""
        return (
            not proven.stopped
            and not proven.existing
            and normalize_output(proven.run.output) not in self.known
        )

    def worth_having(self, picked: Sequence[int] = ()) -> list[Proven]:
        """The proposals numbered ``picked`` (all that differ when none), one per output."""
        chosen = [p for p in self.proposals if not picked or p.number in picked]
        unknown = sorted(set(picked) - {p.number for p in self.proposals})
        if unknown:
            raise QuizzerError(
                f"no proposal numbered {', '.join(map(str, unknown))} "
                f"(there are {len(self.proposals)})"
            )
        kept: list[Proven] = []
        outputs: set[str] = set()
        for proven in chosen:
            output = normalize_output(proven.run.output)
            if not self.differs(proven):
                if picked:
                    why = (
                        "was stopped"
                        if proven.stopped
                        else "is a variant already"
                        if proven.existing
                        else "prints what a variant prints"
                    )
                    raise QuizzerError(f"proposal {proven.number} {why}; it teaches nothing new")
                continue
            if output not in outputs:
                outputs.add(output)
                kept.append(proven)
        return kept


def prove(
    question: deckfile.Question,
    *,
    label: str,
    python: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    limit: int = 12,
) -> Proofs:
    """Propose up to ``limit`` variants of ``question``'s code and run each (and the code)."""
    if question.type != "predict_output" or not question.code:
        raise QuizzerError(f"{label}: only predict_output questions have code to vary")
    runs = question.variant_runs()
    own = runs[0][1] if runs else question.code
    proposals = propose(own, limit=limit)
    known_codes = {code for _, code, _ in runs} | {own}
    others = [code for _, code, _ in runs[1:]]
    results = run_many([own, *others, *(p.code for p in proposals)], python=python, limits=limits)
    original, rest = results[0], results[1:]
    known = {normalize_output(run.output) for run in [original, *rest[: len(others)]]}
    proven = tuple(
        Proven(number, proposal, run, proposal.code in known_codes)
        for number, (proposal, run) in enumerate(
            zip(proposals, rest[len(others) :], strict=True), start=1
        )
    )
    return Proofs(original, frozenset(known), proven)


def add_to_stored(
    session: Session, question: Question, chosen: Sequence[Proven], *, now: datetime
) -> int:
    """Add ``chosen`` as variants of a stored question of your own; returns how many."""
    from quizzer import authoring, transfer
    from quizzer.deckfile.models import Variant

    authoring.refuse_file_deck(
        question.deck,
        advice=f"vary it in the file instead: quizzer vary {question.name} --write",
    )
    current = transfer.question_file(question)
    new = [Variant(code=p.proposal.code, answer=p.answer) for p in chosen]
    edited = current.model_copy(update={"variants": [*(current.variants or []), *new]})
    authoring.custom_deck(session, question.deck.slug, now=now)
    authoring.apply_edit(session, question, edited, now=now)
    return len(new)


def source_file(question: Question) -> Path | None:
    """The deck file a stored question was imported from, if any."""
    return Path(question.deck.source) if question.deck.source else None
