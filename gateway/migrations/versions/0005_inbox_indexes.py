"""indexes for the agent inbox: the open tickets and the claimable ones, in queue order

Revision ID: 0005_inbox_indexes
Revises: 0004_inbox_ui
Create Date: 2026-11-23 18:00:00

Both are partial indexes in ``queue_order()`` (priority DESC, due_at, id): PostgreSQL reads the
first rows of the queue in order and stops, instead of sorting every open ticket (1 s at a
million tickets, see bench/inbox.py); an ascending column sorts NULLs last there, as the queue
does. PostgreSQL only: SQLite cannot sort NULLs last from an index, and Alembic cannot compare
a descending index there (it skips expression indexes SQLite does not have).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_inbox_indexes"
down_revision: str | None = "0004_inbox_ui"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_ticket_open_queue": "status IN ('new', 'open', 'waiting_citizen')",
    "ix_ticket_claimable": "assignee_id IS NULL AND status IN ('new', 'open')",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, where in INDEXES.items():
        op.create_index(
            name,
            "ticket",
            [sa.text("priority DESC"), "due_at", "id"],
            unique=False,
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.drop_index(name, table_name="ticket")
