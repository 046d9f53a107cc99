"""an e-mail's sanitized HTML with its remote images, stored by the pipeline

Revision ID: 0007_message_html_remote
Revises: 0006_queue_covering_indexes
Create Date: 2026-12-02 20:00:00

The ticket page used to parse the journaled raw mail again when an agent asked to see remote
images; the pipeline now stores that version beside ``html`` (only when it differs). Messages
received before this revision show their images as before only if they had none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_message_html_remote"
down_revision: str | None = "0006_queue_covering_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("html_remote", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("html_remote")
