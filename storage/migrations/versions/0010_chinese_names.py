"""units and people get a Chinese name, name_zh (optional)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

A Chinese interface showed the names as entered ("Pine Village工作人员"): a unit or a person
may now also have a Chinese name, shown to people who read Chinese. NULL means none: the
name is shown as entered, as before.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('units', 'people'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('name_zh', sa.String(length=200), nullable=True))


def downgrade() -> None:
    for table in ('people', 'units'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('name_zh')
