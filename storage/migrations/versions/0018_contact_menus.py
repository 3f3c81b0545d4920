"""contact menus: the command menu last set in each chat, kept across restarts

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

contacts gets menu: the roles whose command menu the bot last set in the chat (comma-joined,
empty for the residents' menu), NULL when it never set one. Before, every start set the menu
of every chat with a role again (a call each, paced with everything else the bot sends).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('menu', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('menu')
