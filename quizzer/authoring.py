"""People's own questions: add, edit and delete them in decks of their own.

Questions are validated by the same pydantic models as deck files, so a question added
from the command line obeys exactly the rules of one imported from YAML. Running code to
compute or verify an answer is the caller's explicit step (quizzer.checking); these
functions take a Session and never commit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from quizzer import deckfile, store, transfer
from quizzer.errors import QuizzerError
from quizzer.orm import Deck, Question, Review
from quizzer.questions import Content


def slugify(text: str, *, max_words: int = 6, max_length: int = 60) -> str:
    """A question id made from ``text``: lower-case words joined by hyphens."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:max_words]
    slug = "-".join(words)[:max_length].strip("-")
    return slug or "question"


def unique_qid(taken: Iterable[str], base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever is not taken."""
    used = set(taken)
    if base not in used:
        return base
    n = 2
    while f"{base}-{n}" in used:
        n += 1
    return f"{base}-{n}"


def validate_questions(
    items: Sequence[Any], *, source: str, single: bool = False
) -> list[deckfile.Question]:
    """Validate question mappings with the deck-file models.

    Errors name ``source``, the question (unless ``single``) and the field, in one line.
    """
    questions: list[deckfile.Question] = []
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        qid = item.get("id") if isinstance(item, dict) else None
        where = source if single else f"{source}: question {qid or ''!r} (#{index})"
        if not isinstance(item, dict):
            raise QuizzerError(f"{where}: a question is a mapping of fields")
        try:
            question = deckfile.Question.model_validate(item)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            field = ".".join(str(part) for part in first["loc"])
            message = str(first["msg"]).removeprefix("Value error, ")
            if not field and ": " in message:
                field, message = message.split(": ", 1)
            if first["type"] == "extra_forbidden":
                message = "unknown field"
            raise QuizzerError(f"{where}: field {field!r}: {message}") from None
        if question.id in seen:
            raise QuizzerError(f"{where}: field 'id': duplicate id")
        seen.add(question.id)
        questions.append(question)
    return questions


def custom_deck(session: Session, slug: str, *, now: datetime, title: str | None = None) -> Deck:
    """The user's own deck ``slug``, made if it does not exist.

    Decks loaded from a deck file are refused: the next import of that file would retire a
    question that is not in it, so such questions belong in the file.
    """
    deck = session.scalars(select(Deck).where(Deck.slug == slug)).one_or_none()
    if deck is None:
        deckfile.validate_slug(slug, what="deck")
        deck = Deck(slug=slug, title=title or slug, tags=[], created_at=now, changed_at=now)
        session.add(deck)
        session.flush()
        return deck
    refuse_file_deck(
        deck,
        advice="add the question to that file and import it, or add it to a deck of your own "
        "(e.g. --deck my-notes)",
    )
    return deck


def with_answer(question: deckfile.Question, answer: str, *, source: str) -> deckfile.Question:
    """``question`` with ``answer``, validated again: an output (from the sandbox) can hold
    what no answer may, such as a NUL character."""
    (changed,) = validate_questions(
        [{**question.model_dump(exclude_none=True), "answer": answer}],
        source=source,
        single=True,
    )
    return changed


def refuse_file_deck(deck: Deck, *, advice: str) -> None:
    """Raise if ``deck`` is loaded from a deck file: its questions are changed in the file.

    ``advice`` ends the one-line message, saying what to do instead.
    """
    if deck.source is not None:
        raise QuizzerError(f"{deck.slug}: this deck is loaded from {deck.source}; {advice}")


def existing_qids(session: Session, deck: Deck) -> set[str]:
    """The ids already used in ``deck`` (retired ones included)."""
    return set(session.scalars(select(Question.qid).where(Question.deck_id == deck.id)))


def add_questions(
    session: Session,
    deck: Deck,
    questions: Sequence[deckfile.Question],
    *,
    now: datetime,
    today: date,
) -> list[Question]:
    """Add validated questions to the custom ``deck`` as new cards; ids must be unused."""
    taken = existing_qids(session, deck)
    position = session.scalar(
        select(func.coalesce(func.max(Question.position), -1)).where(Question.deck_id == deck.id)
    )
    added: list[Question] = []
    for offset, question in enumerate(questions, start=1):
        if question.id in taken:
            raise QuizzerError(
                f"{deck.slug}/{question.id}: a question with this id exists already "
                "(choose another --id, or `quizzer edit` it)"
            )
        taken.add(question.id)
        row = store.new_question_row(
            deck,
            question.id,
            Content.of(question),
            position=int(position or 0) + offset,
            now=now,
            today=today,
        )
        session.add(row)
        added.append(row)
    session.flush()
    return added


def question_yaml(question: Question) -> str:
    """The YAML a user edits for ``question`` (deck-file question form)."""
    return deckfile.dump_question(transfer.question_file(question))


def parse_edited(text: str, *, name: str, original: Question) -> deckfile.Question:
    """Validate the edited YAML of ``original``; its id cannot change."""
    import yaml

    try:
        data = deckfile.strict_load(text)  # the deck-file rules: no aliases, no duplicate keys
    except yaml.YAMLError as exc:
        raise QuizzerError(
            f"{name}: the edited text is not valid YAML: {_yaml_problem(exc)}"
        ) from None
    if not isinstance(data, dict):
        raise QuizzerError(f"{name}: the edited text must be one question (a YAML mapping)")
    if data.get("id", original.qid) != original.qid:
        raise QuizzerError(
            f"{name}: field 'id': the id cannot change (it identifies the card and its history)"
        )
    data["id"] = original.qid
    (edited,) = validate_questions([data], source=name, single=True)
    return edited


def _yaml_problem(exc: Exception) -> str:
    """PyYAML's problem and where it is, in one line (its own report spans several, with
    the context and a copy of the offending line)."""
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"{' '.join(exc.problem.split())} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(exc).split())


def apply_edit(
    session: Session, question: Question, edited: deckfile.Question, *, now: datetime
) -> bool:
    """Store ``edited`` over ``question``, keeping schedule and history; True if it changed.

    An edited card is unsuspended: rewriting a leech is the cure for it.
    """
    content = Content.of(edited)
    store.forget_source_digest(question.deck)
    question.state.suspended = False
    question.state.leech = False
    if content.digest() == question.content_hash:
        return False
    store.write_content(question, content)
    # The note's time in Anki is the later of the question's and its deck's.
    question.changed_at = store.changed_now(max(question.changed_at, question.deck.changed_at), now)
    session.flush()
    return True


def retire(session: Session, question: Question) -> None:
    """Retire ``question``: kept with its history, never asked."""
    store.forget_source_digest(question.deck)
    question.retired = True
    session.flush()


def restore(session: Session, question: Question) -> bool:
    """Bring a retired question of the user's own deck back, with its schedule and history;
    False when it is not retired. A deck file's question comes back by the file, not here."""
    if not question.retired:
        return False
    refuse_file_deck(
        question.deck,
        advice="put the question back in that file and import it again",
    )
    question.retired = False
    session.flush()
    return True


def purge(session: Session, question: Question) -> int:
    """Delete ``question`` with its state and whole review history; returns the reviews removed."""
    count = session.scalar(
        select(func.count()).select_from(Review).where(Review.question_id == question.id)
    )
    session.execute(delete(Review).where(Review.question_id == question.id))
    store.forget_source_digest(question.deck)
    session.delete(question)
    session.flush()
    return int(count or 0)
