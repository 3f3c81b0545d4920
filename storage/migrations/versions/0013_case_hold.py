"""residents' case entries held for staff until their window's end

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A resident's report, reply or answer (and what their answer causes) is shown to staff, and
relayed to them, only from ``held_until`` on: the end of the clock-aligned hold window after
the entry's own privacy window (surveys.cases.holding). The case row carries its report's, so
a case that staff may not see yet is left out of their lists. NULL: never held (staff's own
entries, and everything written before this revision).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_until', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.drop_column('held_until')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('held_until')
