"""agent inbox: ticket category, first response time, index on updated_at

Revision ID: 0004_inbox_ui
Revises: 54b6e4532bcd
Create Date: 2026-11-23 17:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004_inbox_ui"
down_revision: str | None = "54b6e4532bcd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "category",
                sqlmodel.sql.sqltypes.AutoString(length=50),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("first_response_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_ticket_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_updated_at"))
        batch_op.drop_index(batch_op.f("ix_ticket_category"))
        batch_op.drop_column("first_response_at")
        batch_op.drop_column("category")
