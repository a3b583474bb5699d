"""FSRS memory state on cards, and in the review log before and after each answer

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 13:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Only nullable columns are added: every existing row, and the history, stays as it is
    # (a NULL scheduler is an answer SM-2 graded, as every answer before 0004 was).
    with op.batch_alter_table("card_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stability", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("difficulty", sa.Float(), nullable=True))

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheduler", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("stability_before", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("difficulty_before", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("stability_after", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("difficulty_after", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("difficulty_after")
        batch_op.drop_column("stability_after")
        batch_op.drop_column("difficulty_before")
        batch_op.drop_column("stability_before")
        batch_op.drop_column("scheduler")

    with op.batch_alter_table("card_states", schema=None) as batch_op:
        batch_op.drop_column("difficulty")
        batch_op.drop_column("stability")
