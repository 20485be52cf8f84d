"""phone channels: agents' numbers for calls, customers' SMS opt-out

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch:
        batch.add_column(sa.Column("phone", sa.String(length=32), nullable=True))
    with op.batch_alter_table("customers", schema=None) as batch:
        batch.add_column(
            sa.Column("sms_opt_out", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch:
        batch.drop_column("sms_opt_out")
    with op.batch_alter_table("agents", schema=None) as batch:
        batch.drop_column("phone")
