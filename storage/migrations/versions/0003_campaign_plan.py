"""campaign plan

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

A campaign's audience, time zone, reminder plan, recurrence and response target.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=16), server_default='residents', nullable=False))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
        batch_op.add_column(sa.Column('reminders', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('recurrence', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('target_responses', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            'audience_known', "audience IN ('residents', 'cadres')")
        batch_op.create_check_constraint(
            'target_positive', 'target_responses IS NULL OR target_responses > 0')



def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_campaigns_target_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_campaigns_audience_known'), type_='check')
        batch_op.drop_column('target_responses')
        batch_op.drop_column('recurrence')
        batch_op.drop_column('reminders')
        batch_op.drop_column('timezone')
        batch_op.drop_column('audience')

