"""indexes for the supervisor board: active tickets, today's resolutions and first responses

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ticket_active", "tickets", ["status", "assignee_id", "queue_id", "queued_at"])
    op.create_index("ix_ticket_resolved", "tickets", ["resolved_at", "queue_id"])
    op.create_index("ix_ticket_first_response", "tickets", ["first_response_at"])


def downgrade() -> None:
    op.drop_index("ix_ticket_first_response", table_name="tickets")
    op.drop_index("ix_ticket_resolved", table_name="tickets")
    op.drop_index("ix_ticket_active", table_name="tickets")
