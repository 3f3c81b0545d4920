"""revisions: a token per kind of rows that changes whenever those rows do

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

revisions (name, token): every transaction that writes units sets the ``units`` row to a new
random token. A process keeps the unit tree it read while the token is unchanged: before, every
staff action that checks a scope read every unit (1.7 s of CPU for a province's 100,000).
No row yet means token 0: the first change writes it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'revisions',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('token', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_revisions')),
    )


def downgrade() -> None:
    op.drop_table('revisions')
