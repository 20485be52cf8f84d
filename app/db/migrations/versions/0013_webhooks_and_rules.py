"""outgoing webhooks with their deliveries, automation rules, business-hours calendars for queues, SLAs,
CSAT surveys

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
SLA_COLUMNS = (
    "first_response_due_at",
    "resolution_due_at",
    "first_response_breached_at",
    "resolution_breached_at",
)


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    # no table rebuild (batch mode would copy `queues` and drop it, which SQLite refuses while tickets
    # point at it): SQLite takes the reference inline in ADD COLUMN, PostgreSQL as a constraint
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE queues ADD COLUMN calendar_id INTEGER REFERENCES calendars (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("queues", sa.Column("calendar_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_queues_calendar_id", "queues", "calendars", ["calendar_id"], ["id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "webhook_id", sa.Integer(), sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries", "webhook_deliveries", ["webhook_id", "id"])
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )

    op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), sa.ForeignKey("queues.id", ondelete="CASCADE"), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("first_response_s", sa.Integer(), nullable=True),
        sa.Column("resolution_s", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("queue_id", "priority", name="uq_sla_policy"),
    )
    with op.batch_alter_table("tickets") as batch:
        for column in SLA_COLUMNS:
            batch.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_ticket_first_response_due", "tickets", ["first_response_due_at"])
    op.create_index("ix_ticket_resolution_due", "tickets", ["resolution_due_at"])
    op.create_table(
        "csat_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("queue_id", sa.Integer(), sa.ForeignKey("queues.id"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_index("ix_csat_answered", "csat_surveys", ["answered_at", "queue_id"])


def downgrade() -> None:
    op.drop_table("csat_surveys")
    op.drop_index("ix_ticket_resolution_due", table_name="tickets")
    op.drop_index("ix_ticket_first_response_due", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        for column in reversed(SLA_COLUMNS):
            batch.drop_column(column)
    op.drop_table("sla_policies")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE queues DROP COLUMN calendar_id")
    else:
        op.drop_constraint("fk_queues_calendar_id", "queues", type_="foreignkey")
        op.drop_column("queues", "calendar_id")
    op.drop_table("calendars")
    op.drop_table("rules")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
