"""Question variants: the snippets of a question that varies, and which one a review showed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 15:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns only: a question without variants, and every answer given before,
    # stays exactly as it was (NULL: no variants; a NULL variant: the question's own code).
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variants", sa.JSON(), nullable=True))

    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variant", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_column("variant")

    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_column("variants")
