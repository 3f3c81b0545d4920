"""anomaly dismissal

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

Auditors may dismiss an anomaly flag (the response was genuine): the flag stays, with who
dismissed it, when and why, and no longer excludes the response from scores.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('anomaly_flags', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dismissed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('dismiss_reason', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('anomaly_flags', schema=None) as batch_op:
        batch_op.drop_column('dismiss_reason')
        batch_op.drop_column('dismissed_by')
        batch_op.drop_column('dismissed_at')
