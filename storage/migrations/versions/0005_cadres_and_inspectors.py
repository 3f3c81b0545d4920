"""cadres and inspectors

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Cadres and inspectors: key tasks, one-time invite links, progress notes, on-the-spot
inspections, photo evidence kept under its SHA-256, unit centres for checking where evidence
was taken, and self-assessments tied to the cadre who answered.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cadre_invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_contact_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_cadre_invites_expires_after_created')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_cadre_invites_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['used_by_contact_id'], ['contacts.id'], name=op.f('fk_cadre_invites_used_by_contact_id_contacts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cadre_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_cadre_invites_token_hash'))
    )
    with op.batch_alter_table('cadre_invites', schema=None) as batch_op:
        batch_op.create_index('ix_cadre_invites_person_id', ['person_id'], unique=False)

    op.create_table('key_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('indicator', sa.String(length=32), nullable=True),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_key_tasks_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_key_tasks')),
    sa.UniqueConstraint('person_id', 'title', name='uq_key_tasks_person_title')
    )
    op.create_table('inspections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sa.Enum('achieved', 'partly', 'not_achieved', name='verdict', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('remark', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('distance_km', sa.Float(), nullable=True),
    sa.Column('far_from_unit', sa.Boolean(), nullable=True),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cadre_id'], ['people.id'], name=op.f('fk_inspections_cadre_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['inspector_id'], ['people.id'], name=op.f('fk_inspections_inspector_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['task_id'], ['key_tasks.id'], name=op.f('fk_inspections_task_id_key_tasks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_inspections_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspections'))
    )
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.create_index('ix_inspections_cadre_id', ['cadre_id'], unique=False)
        batch_op.create_index('ix_inspections_unit_inspected', ['unit_id', 'inspected_at'], unique=False)

    op.create_table('notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('distance_km', sa.Float(), nullable=True),
    sa.Column('far_from_unit', sa.Boolean(), nullable=True),
    sa.Column('status', sa.Enum('submitted', 'withdrawn', name='note_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_notes_person_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['task_id'], ['key_tasks.id'], name=op.f('fk_notes_task_id_key_tasks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_notes_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index('ix_notes_person_created', ['person_id', 'created_at'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=32), nullable=False),
    sa.Column('telegram_file_unique_id', sa.String(length=64), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=True),
    sa.Column('inspection_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('note_id IS NULL OR inspection_id IS NULL', name=op.f('ck_evidence_one_owner')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspections.id'], name=op.f('fk_evidence_inspection_id_inspections'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['note_id'], ['notes.id'], name=op.f('fk_evidence_note_id_notes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_evidence_person_id_people'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_inspection_id', ['inspection_id'], unique=False)
        batch_op.create_index('ix_evidence_note_id', ['note_id'], unique=False)

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_responses_person_id', ['person_id'], unique=False)
        batch_op.create_unique_constraint('uq_responses_campaign_person',
                                          ['campaign_id', 'person_id'])
        batch_op.create_foreign_key(batch_op.f('fk_responses_person_id_people'), 'people', ['person_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('radius_km', sa.Float(), nullable=True))
        batch_op.create_check_constraint(
            'latitude_range', 'latitude IS NULL OR (latitude >= -90 AND latitude <= 90)')
        batch_op.create_check_constraint(
            'longitude_range', 'longitude IS NULL OR (longitude >= -180 AND longitude <= 180)')
        batch_op.create_check_constraint('radius_positive', 'radius_km IS NULL OR radius_km > 0')



def downgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_units_radius_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_units_longitude_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_units_latitude_range'), type_='check')
        batch_op.drop_column('radius_km')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_responses_person_id_people'), type_='foreignkey')
        batch_op.drop_constraint('uq_responses_campaign_person', type_='unique')
        batch_op.drop_index('ix_responses_person_id')
        batch_op.drop_column('person_id')

    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_note_id')
        batch_op.drop_index('ix_evidence_inspection_id')

    op.drop_table('evidence')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index('ix_notes_person_created')

    op.drop_table('notes')
    with op.batch_alter_table('inspections', schema=None) as batch_op:
        batch_op.drop_index('ix_inspections_unit_inspected')
        batch_op.drop_index('ix_inspections_cadre_id')

    op.drop_table('inspections')
    op.drop_table('key_tasks')
    with op.batch_alter_table('cadre_invites', schema=None) as batch_op:
        batch_op.drop_index('ix_cadre_invites_person_id')

    op.drop_table('cadre_invites')
