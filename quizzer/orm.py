"""SQLAlchemy 2.0 typed models. The schema itself is owned by the Alembic revisions.

A change here comes with a new revision in ``migrations/versions``; a test fails when the
two drift apart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite drops tzinfo)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


#: The partial indexes and their conditions; see _partial_index.
_PARTIAL_INDEXES: list[tuple[Index, str]] = []


def _partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of the rows where ``where`` holds (the migrations create it so on both backends).

    SQLite's condition is set here and PostgreSQL's by use_postgresql(): naming a dialect's
    option loads that dialect, and loading PostgreSQL's (with asyncio) cost every command
    60 ms at start-up.
    """
    index = Index(name, *columns, unique=unique, sqlite_where=text(where))
    _PARTIAL_INDEXES.append((index, where))
    return index


def use_postgresql() -> None:
    """Describe the PostgreSQL side of the schema too (once a PostgreSQL engine is made)."""
    for index, where in _PARTIAL_INDEXES:
        index.dialect_kwargs["postgresql_where"] = text(where)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Deck(Base):
    __tablename__ = "decks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The deck file it was last imported from; None for decks made with ``add``.
    source: Mapped[str | None] = mapped_column(Text)
    #: SHA-256 of that file's bytes, so an unchanged file is not parsed again; cleared
    #: when the deck's questions are changed outside an import.
    source_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    questions: Mapped[list[Question]] = relationship(
        back_populates="deck", cascade="all, delete-orphan", passive_deletes=True
    )


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        UniqueConstraint("deck_id", "qid", name="uq_questions_deck_id_qid"),
        # New cards are asked deck by deck in file order.
        Index("ix_questions_deck_id_position", "deck_id", "position"),
        # Which questions of a deck are active, read from the index alone (stats, decks).
        Index("ix_questions_deck_id_retired", "deck_id", "retired"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deck_id: Mapped[int] = mapped_column(ForeignKey("decks.id", ondelete="CASCADE"))
    qid: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(20))
    prompt: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str] | None] = mapped_column(JSON)
    explanation: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    python: Mapped[str | None] = mapped_column(String(100))
    #: The variants after the first, as ``[{"code": ..., "answer": ...}]``; NULL: no variants.
    #: SQL NULL, not JSON null, for none: nothing to encode for a question that does not vary.
    variants: Mapped[list[dict[str, str]] | None] = mapped_column(JSON(none_as_null=True))
    #: predict_output answers that hold for some Python versions only, by PEP 440 range.
    answers_by_python: Mapped[dict[str, str] | None] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    deck: Mapped[Deck] = relationship(back_populates="questions")
    state: Mapped[Card] = relationship(
        back_populates="question", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def name(self) -> str:
        """The question's name as users type it: ``DECK/ID``."""
        return f"{self.deck.slug}/{self.qid}"

    @property
    def variant_list(self) -> tuple[tuple[str, str], ...]:
        """Every variant as ``(code, answer)``, its own first; empty when it does not vary."""
        if not self.variants:
            return ()
        own = (self.code or "", self.answer)
        return (own, *((item["code"], item["answer"]) for item in self.variants))


class Card(Base):
    """A question's card: its SM-2 state, FSRS memory state and flags.

    Ease is in integer hundredths, kept exact. ``due`` is the due date under the scheduler
    in use; SM-2's own is ``last_graded + interval`` (``due`` for a new card).
    ``stability`` and ``difficulty`` are FSRS's memory state as of ``last_graded``: kept
    current while FSRS schedules, computed again from the review log on switching to it.
    """

    __tablename__ = "card_states"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    ease: Mapped[int] = mapped_column(Integer)
    repetitions: Mapped[int] = mapped_column(Integer)
    interval: Mapped[int] = mapped_column(Integer)
    due: Mapped[date] = mapped_column(Date)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    last_graded: Mapped[date | None] = mapped_column(Date)
    #: Failed so often (the leech threshold) that it was set aside; see review.is_leech_lapse.
    leech: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Not asked in reviews until unsuspended (``quizzer unsuspend`` or ``edit``).
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    stability: Mapped[float | None] = mapped_column(Float)
    difficulty: Mapped[float | None] = mapped_column(Float)

    question: Mapped[Question] = relationship(back_populates="state")

    __table_args__ = (
        # Due cards are learned ones; a new card's due date is only the day it was added.
        _partial_index("ix_card_states_due_learned", "due", where="last_graded IS NOT NULL"),
        # New cards: few or none in a collection of long standing.
        _partial_index("ix_card_states_due_new", "due", where="last_graded IS NULL"),
    )


class Review(Base):
    """One answer as it was given: enough to recompute every state, and to fit FSRS later."""

    __tablename__ = "reviews"
    __table_args__ = (
        Index("ix_reviews_question_id_id", "question_id", "id"),
        # Today's answers (the drill, other processes' answers) and answers per day and
        # question (stats), read from the index alone.
        Index("ix_reviews_day_question_id_kind_quality", "day", "question_id", "kind", "quality"),
        # New cards first answered on a day (the daily limit).
        _partial_index(
            "ix_reviews_new_started", "day", where="kind = 'graded' AND last_graded_before IS NULL"
        ),
        # One graded answer per card per day, enforced by the database itself.
        _partial_index(
            "uq_reviews_graded_per_day", "question_id", "day", unique=True, where="kind = 'graded'"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)
    quality: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    typed: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None] = mapped_column(Float)

    ease_before: Mapped[int] = mapped_column(Integer)
    repetitions_before: Mapped[int] = mapped_column(Integer)
    interval_before: Mapped[int] = mapped_column(Integer)
    due_before: Mapped[date] = mapped_column(Date)
    lapses_before: Mapped[int] = mapped_column(Integer)
    last_graded_before: Mapped[date | None] = mapped_column(Date)
    #: Leech flags before the answer, so undo restores them (None: logged before 0002).
    leech_before: Mapped[bool | None] = mapped_column(Boolean)
    suspended_before: Mapped[bool | None] = mapped_column(Boolean)

    ease_after: Mapped[int] = mapped_column(Integer)
    repetitions_after: Mapped[int] = mapped_column(Integer)
    interval_after: Mapped[int] = mapped_column(Integer)
    due_after: Mapped[date] = mapped_column(Date)
    lapses_after: Mapped[int] = mapped_column(Integer)

    #: The scheduler that graded it, "sm2" or "fsrs" (None: logged before 0004, SM-2).
    scheduler: Mapped[str | None] = mapped_column(String(10))
    #: FSRS's memory state before and after, when FSRS graded it (``due_*`` are its dues).
    stability_before: Mapped[float | None] = mapped_column(Float)
    difficulty_before: Mapped[float | None] = mapped_column(Float)
    stability_after: Mapped[float | None] = mapped_column(Float)
    difficulty_after: Mapped[float | None] = mapped_column(Float)
    #: Which variant was shown (0: the question's own code); NULL for a question that
    #: did not vary. The next showing picks the one after it (``review.next_variant``).
    variant: Mapped[int | None] = mapped_column(Integer)

    question: Mapped[Question] = relationship()


class Setting(Base):
    """User settings that persist (e.g. the daily new-card limit)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class HighlightCache(Base):
    """Highlighted HTML of a code snippet, by a digest of the code and the highlighter
    (``highlight.cache_key``): an export highlights each snippet once, ever."""

    __tablename__ = "highlight_cache"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    html: Mapped[str] = mapped_column(Text)


class ReviewDay(Base):
    """The answers of one deck on one day, kept by the database's own triggers (migration
    0010) on every insert, update and delete of ``reviews`` and delete of ``questions``:
    ``stats`` reads days, not answers. A deck and day without answers has no row."""

    __tablename__ = "review_days"

    deck_id: Mapped[int] = mapped_column(
        ForeignKey("decks.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: Every answer (graded and drill), the graded ones, the graded ones passing (>= 3).
    reviews: Mapped[int] = mapped_column(Integer)
    graded: Mapped[int] = mapped_column(Integer)
    correct: Mapped[int] = mapped_column(Integer)
    #: Answers on varying questions (``Review.variant`` set; migration 0011), and of the
    #: graded ones those that showed the question's own code (variant 0) or another
    #: variant, and how many of each passed.
    varied: Mapped[int] = mapped_column(Integer, server_default="0")
    own_graded: Mapped[int] = mapped_column(Integer, server_default="0")
    own_correct: Mapped[int] = mapped_column(Integer, server_default="0")
    other_graded: Mapped[int] = mapped_column(Integer, server_default="0")
    other_correct: Mapped[int] = mapped_column(Integer, server_default="0")


class DeckCards(Base):
    """A deck's questions, retired questions and learned active questions, kept by the
    database's triggers (migration 0011) on ``questions`` and ``card_states``: ``stats``
    and ``decks`` read one row per deck, not every card. An active question that is not
    learned is new: new = questions - retired - learned."""

    __tablename__ = "deck_cards"
    __table_args__ = ({"sqlite_with_rowid": False},)

    deck_id: Mapped[int] = mapped_column(
        ForeignKey("decks.id", ondelete="CASCADE"), primary_key=True
    )
    questions: Mapped[int] = mapped_column(Integer)
    retired: Mapped[int] = mapped_column(Integer)
    learned: Mapped[int] = mapped_column(Integer)


class DueDay(Base):
    """How many of a deck's active, learned, unsuspended cards are due on a day, kept by
    the same triggers as ``DeckCards``; a deck and day with none has no row."""

    __tablename__ = "due_days"
    __table_args__ = (
        Index("ix_due_days_day_cards", "day", "cards"),
        {"sqlite_with_rowid": False},
    )

    deck_id: Mapped[int] = mapped_column(
        ForeignKey("decks.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    cards: Mapped[int] = mapped_column(Integer)
