"""processed updates keyed on the update id and a digest of the update

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Update ids restart (Telegram: at a random number after a week without updates; the sandbox:
at 1000 after a restart), so the id alone cannot tell a redelivery from a new update that
reuses an id. A redelivery is the same update, byte for byte: the key is now the id plus a
keyed digest (HMAC with the bot's secret) of the update's content. processed_at only serves
pruning, so it is kept to the hour: it must not help pair a contact with a response by time.

Rows written before this revision get an empty digest, which no update matches: an update
handled just before the upgrade and delivered again just after it is handled again (a tap's
step check still refuses to apply it twice).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=32), nullable=False,
                                      server_default=''))
        batch_op.drop_constraint('pk_processed_updates', type_='primary')
        batch_op.create_primary_key('pk_processed_updates', ['update_id', 'digest'])
    processed = sa.table('processed_updates', sa.column('processed_at', sa.DateTime(True)))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(processed.update().values(
            processed_at=sa.func.date_trunc('hour', processed.c.processed_at)))
    else:
        # SQLite keeps the timestamp as text; the hour is its first 13 characters.
        op.execute(sa.text(
            "UPDATE processed_updates SET processed_at = "
            "substr(processed_at, 1, 13) || ':00:00.000000'"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM processed_updates WHERE digest <> ''"))
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_constraint('pk_processed_updates', type_='primary')
        batch_op.create_primary_key('pk_processed_updates', ['update_id'])
        batch_op.drop_column('digest')
