"""answers per deck and day, kept by triggers, for stats

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-04 16:40:00.000000

``review_days`` holds, per deck and day, the answers given, the graded ones and the
graded ones passing (quality >= 3): what ``stats`` shows, read by day instead of by
answer. The database keeps it itself, so every path that writes answers keeps it exact
(an answer, undo, rerating, purging a question or deleting a deck through their
cascades, ``db copy``, importing history, another program's SQL): a trigger on
``reviews`` for each inserted, updated or deleted answer, and one before a question is
deleted (its answers' cascade no longer finds their deck). The upgrade counts the
answers already logged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _graded(row: str) -> str:
    return f"CASE WHEN {row}.kind = 'graded' THEN 1 ELSE 0 END"


def _correct(row: str) -> str:
    return f"CASE WHEN {row}.kind = 'graded' AND {row}.quality >= 3 THEN 1 ELSE 0 END"


def _deck_of(row: str) -> str:
    return f"(SELECT q.deck_id FROM questions AS q WHERE q.id = {row}.question_id)"


def _add(row: str) -> str:
    """Count the answer ``row`` (NEW) in its deck's day."""
    return f"""
        INSERT INTO review_days (deck_id, day, reviews, graded, correct)
        SELECT q.deck_id, {row}.day, 1, {_graded(row)}, {_correct(row)}
        FROM questions AS q WHERE q.id = {row}.question_id
        ON CONFLICT (deck_id, day) DO UPDATE SET
            reviews = review_days.reviews + excluded.reviews,
            graded = review_days.graded + excluded.graded,
            correct = review_days.correct + excluded.correct;
    """


def _remove(row: str) -> str:
    """Take the answer ``row`` (OLD) away from its deck's day; a day left empty goes."""
    return f"""
        UPDATE review_days SET
            reviews = reviews - 1,
            graded = graded - {_graded(row)},
            correct = correct - {_correct(row)}
        WHERE deck_id = {_deck_of(row)} AND day = {row}.day;
        DELETE FROM review_days
        WHERE deck_id = {_deck_of(row)} AND day = {row}.day AND reviews = 0;
    """


#: Before a question goes: its answers leave their days (the cascade that deletes them
#: then finds no question, so its own trigger takes nothing away twice).
_REMOVE_QUESTION = """
    UPDATE review_days SET
        reviews = reviews - (
            SELECT count(*) FROM reviews AS r
            WHERE r.question_id = OLD.id AND r.day = review_days.day),
        graded = graded - (
            SELECT count(*) FROM reviews AS r
            WHERE r.question_id = OLD.id AND r.day = review_days.day AND r.kind = 'graded'),
        correct = correct - (
            SELECT count(*) FROM reviews AS r
            WHERE r.question_id = OLD.id AND r.day = review_days.day AND r.kind = 'graded'
              AND r.quality >= 3)
    WHERE deck_id = OLD.deck_id
      AND day IN (SELECT r.day FROM reviews AS r WHERE r.question_id = OLD.id);
    DELETE FROM review_days WHERE deck_id = OLD.deck_id AND reviews = 0;
"""

_FILL = """
    INSERT INTO review_days (deck_id, day, reviews, graded, correct)
    SELECT q.deck_id, r.day, count(*),
           sum(CASE WHEN r.kind = 'graded' THEN 1 ELSE 0 END),
           sum(CASE WHEN r.kind = 'graded' AND r.quality >= 3 THEN 1 ELSE 0 END)
    FROM reviews AS r JOIN questions AS q ON q.id = r.question_id
    GROUP BY q.deck_id, r.day
"""

_COUNTED = "question_id, day, kind, quality"


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER review_days_insert AFTER INSERT ON reviews BEGIN {_add('NEW')} END",
        f"CREATE TRIGGER review_days_delete AFTER DELETE ON reviews BEGIN {_remove('OLD')} END",
        f"CREATE TRIGGER review_days_update AFTER UPDATE OF {_COUNTED} ON reviews "
        f"BEGIN {_remove('OLD')} {_add('NEW')} END",
        f"CREATE TRIGGER review_days_question BEFORE DELETE ON questions "
        f"BEGIN {_REMOVE_QUESTION} END",
    ]


def _postgresql_triggers() -> list[str]:
    return [
        f"""CREATE FUNCTION review_days_count() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN {_remove("OLD")} END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN {_add("NEW")} END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE FUNCTION review_days_question() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {_REMOVE_QUESTION} RETURN OLD; END $$""",
        f"CREATE TRIGGER review_days_count AFTER INSERT OR DELETE OR UPDATE OF {_COUNTED} "
        "ON reviews FOR EACH ROW EXECUTE FUNCTION review_days_count()",
        "CREATE TRIGGER review_days_question BEFORE DELETE ON questions "
        "FOR EACH ROW EXECUTE FUNCTION review_days_question()",
    ]


def upgrade() -> None:
    op.create_table(
        "review_days",
        sa.Column("deck_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reviews", sa.Integer(), nullable=False),
        sa.Column("graded", sa.Integer(), nullable=False),
        sa.Column("correct", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deck_id"],
            ["decks.id"],
            name=op.f("fk_review_days_deck_id_decks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("deck_id", "day", name=op.f("pk_review_days")),
    )
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _postgresql_triggers() if postgresql else _sqlite_triggers():
        op.execute(statement)
    op.execute(_FILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER review_days_question ON questions")
        op.execute("DROP TRIGGER review_days_count ON reviews")
        op.execute("DROP FUNCTION review_days_question()")
        op.execute("DROP FUNCTION review_days_count()")
    else:
        for name in ("question", "update", "delete", "insert"):
            op.execute(f"DROP TRIGGER review_days_{name}")
    op.drop_table("review_days")
