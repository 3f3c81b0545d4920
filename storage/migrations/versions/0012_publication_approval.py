"""publication approval: four eyes, and the audit log's head kept with each publication

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

A new table, publication_requests (a request to publish a draft, approved or refused by an
auditor), and four nullable columns on appraisal_runs: who approved the publication, and the
audit log's head when it was published (the newest event's hash and the number of events).
Versions published before this migration have no head: nothing can be said of the log then.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('appraisal_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('approved_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('audit_head_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('audit_head_events', sa.BigInteger(), nullable=True))
        batch_op.create_check_constraint(
            'audit_head_whole', '(audit_head_hash IS NULL) = (audit_head_events IS NULL)')

    op.create_table('publication_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'refused', 'lapsed', name='publication_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('announced_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['appraisal_runs.id'], name=op.f('fk_publication_requests_run_id_appraisal_runs'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publication_requests'))
    )
    with op.batch_alter_table('publication_requests', schema=None) as batch_op:
        batch_op.create_index('ix_publication_requests_run_id', ['run_id'], unique=False)
        batch_op.create_index('ix_publication_requests_status', ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('publication_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_publication_requests_status')
        batch_op.drop_index('ix_publication_requests_run_id')

    op.drop_table('publication_requests')
    with op.batch_alter_table('appraisal_runs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_appraisal_runs_audit_head_whole'), type_='check')
        batch_op.drop_column('audit_head_events')
        batch_op.drop_column('audit_head_hash')
        batch_op.drop_column('approved_by')
