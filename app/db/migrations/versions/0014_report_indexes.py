"""indexes for the reports: tickets by creation, first response and resolution with what the figures read
(covering), and the history's bot lines (partial: only those lines)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
BOT_LINES = "kind IN ('bot.answer', 'bot.clarify', 'handoff')"


def upgrade() -> None:
    op.create_index("ix_ticket_created", "tickets", ["created_at", "queue_id", "channel"])
    op.create_index(
        "ix_ticket_first_response_report",
        "tickets",
        ["first_response_at", "created_at", "queue_id", "channel"],
    )
    op.create_index(
        "ix_ticket_resolved_report", "tickets", ["resolved_at", "created_at", "queue_id", "channel"]
    )
    op.create_index(
        "ix_history_bot",
        "history",
        ["at", "ticket_id", "kind", "author"],
        sqlite_where=sa.text(BOT_LINES),
        postgresql_where=sa.text(BOT_LINES),
    )


def downgrade() -> None:
    op.drop_index("ix_history_bot", table_name="history")
    op.drop_index("ix_ticket_resolved_report", table_name="tickets")
    op.drop_index("ix_ticket_first_response_report", table_name="tickets")
    op.drop_index("ix_ticket_created", table_name="tickets")
