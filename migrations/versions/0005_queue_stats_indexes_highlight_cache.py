"""indexes for the kept queue and stats, and the cache of highlighted code

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_STARTED = "kind = 'graded' AND last_graded_before IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        # Covering: stats' counts per day and per question, the drill and the review's
        # check for other processes' answers read the index alone, never the table.
        batch_op.drop_index("ix_reviews_day_question_id")
        batch_op.create_index(
            "ix_reviews_day_question_id_kind_quality",
            ["day", "question_id", "kind", "quality"],
            unique=False,
        )
        # The new cards first answered on a day (the daily new-card limit).
        batch_op.create_index(
            "ix_reviews_new_started",
            ["day"],
            unique=False,
            sqlite_where=sa.text(NEW_STARTED),
            postgresql_where=sa.text(NEW_STARTED),
        )

    with op.batch_alter_table("card_states", schema=None) as batch_op:
        # The new cards (never graded): whether there are any is one look, not a scan of
        # every card of a collection that has learned them all.
        batch_op.create_index(
            "ix_card_states_due_new",
            ["due"],
            unique=False,
            sqlite_where=sa.text("last_graded IS NULL"),
            postgresql_where=sa.text("last_graded IS NULL"),
        )

    with op.batch_alter_table("questions", schema=None) as batch_op:
        # Covering: the active questions of each deck (stats' forecast, `decks`) from the
        # index, not from the questions' rows, which hold their whole text.
        batch_op.create_index("ix_questions_deck_id_retired", ["deck_id", "retired"], unique=False)

    op.create_table(
        "highlight_cache",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_highlight_cache")),
    )


def downgrade() -> None:
    op.drop_table("highlight_cache")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_index("ix_questions_deck_id_retired")
    with op.batch_alter_table("card_states", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_card_states_due_new",
            sqlite_where=sa.text("last_graded IS NULL"),
            postgresql_where=sa.text("last_graded IS NULL"),
        )
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_reviews_new_started",
            sqlite_where=sa.text(NEW_STARTED),
            postgresql_where=sa.text(NEW_STARTED),
        )
        batch_op.drop_index("ix_reviews_day_question_id_kind_quality")
        batch_op.create_index("ix_reviews_day_question_id", ["day", "question_id"], unique=False)
