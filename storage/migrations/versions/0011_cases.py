"""cases: problems residents raise, handled, called back and appraised

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

New tables only (cases, case_messages, case_photos, case_seals, case_drafts); nothing that
exists changes. Ids are random and no column names a resident (see docs/privacy.md).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('case_drafts',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_case_drafts')),
    sqlite_with_rowid=False
    )
    op.create_table('cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('quotable', sa.Boolean(), nullable=False),
    sa.Column('wants_reply', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('open', 'taken', 'resolved', 'closed', 'merged', name='case_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('outcome', sa.Enum('confirmed', 'partly', 'not_solved', 'not_confirmed', 'unconfirmable', 'rejected', name='case_outcome', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_on_time', sa.Boolean(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('request', sa.String(length=16), nullable=True),
    sa.Column('request_reason', sa.Text(), nullable=True),
    sa.Column('request_unit_id', sa.Integer(), nullable=True),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation', sa.String(length=16), nullable=True),
    sa.Column('merged_into_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('distance_km', sa.Float(), nullable=True),
    sa.Column('far_from_unit', sa.Boolean(), nullable=True),
    sa.CheckConstraint("outcome NOT IN ('confirmed', 'partly', 'not_confirmed', 'unconfirmable', 'not_solved') OR resolution IS NOT NULL", name=op.f('ck_cases_closed_resolved_has_resolution')),
    sa.CheckConstraint("status NOT IN ('resolved') OR resolution IS NOT NULL", name=op.f('ck_cases_resolved_has_resolution')),
    sa.ForeignKeyConstraint(['handler_id'], ['people.id'], name=op.f('fk_cases_handler_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['merged_into_id'], ['cases.id'], name=op.f('fk_cases_merged_into_id_cases'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['request_unit_id'], ['units.id'], name=op.f('fk_cases_request_unit_id_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_cases_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cases_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_handler_id', ['handler_id'], unique=False)
        batch_op.create_index('ix_cases_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_cases_unit_status', ['unit_id', 'status'], unique=False)

    op.create_table('case_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), server_default='0', nullable=False),
    sa.Column('author', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('notify', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered', sa.Boolean(), nullable=False),
    sa.Column('audited', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_messages_case_id_cases'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_case_messages_person_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_messages'))
    )
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.create_index('ix_case_messages_case_id', ['case_id'], unique=False)
        batch_op.create_index('ix_case_messages_delivered', ['delivered'], unique=False)

    op.create_table('case_photos',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('part', sa.String(length=16), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_photos_case_id_cases'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_photos'))
    )
    with op.batch_alter_table('case_photos', schema=None) as batch_op:
        batch_op.create_index('ix_case_photos_case_id', ['case_id'], unique=False)

    op.create_table('case_seals',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sealed', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_seals_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_seals')),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('case_seals')
    with op.batch_alter_table('case_photos', schema=None) as batch_op:
        batch_op.drop_index('ix_case_photos_case_id')

    op.drop_table('case_photos')
    with op.batch_alter_table('case_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_case_messages_delivered')
        batch_op.drop_index('ix_case_messages_case_id')

    op.drop_table('case_messages')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_unit_status')
        batch_op.drop_index('ix_cases_status_due')
        batch_op.drop_index('ix_cases_handler_id')

    op.drop_table('cases')
    op.drop_table('case_drafts')
