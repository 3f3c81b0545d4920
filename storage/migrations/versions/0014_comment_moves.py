"""case_comment_moves: poll comments turned into reports, to be taken out of their responses

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

A new table only: each row holds, sealed, the answers a comment moved from, until the cases'
supervision sweep blanks them (docs/privacy.md, "Cases"). No case, no time.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_comment_moves',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_comment_moves'))
    )


def downgrade() -> None:
    op.drop_table('case_comment_moves')
