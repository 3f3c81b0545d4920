"""appraisal

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

From answers to appraisal: sentiment scores per text and analyser version, anomaly flags
(kept, excluded from scores), imported KPI values, versioned appraisal runs with their
results, and appeals against published results.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('appraisal_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'superseded', name='appraisal_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_by', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.String(length=64), nullable=True),
    sa.Column('config_hash', sa.String(length=64), nullable=False),
    sa.Column('results_hash', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_runs')),
    sa.UniqueConstraint('period', 'version', name='uq_appraisal_runs_period_version')
    )
    op.create_table('text_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('analyser', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('polarity', sa.Float(), nullable=False),
    sa.Column('label', sa.String(length=8), nullable=False),
    sa.Column('contradicts', sa.Boolean(), nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('polarity >= -1 AND polarity <= 1', name=op.f('ck_text_scores_polarity_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_text_scores')),
    sa.UniqueConstraint('source', 'source_id', 'analyser', name='uq_text_scores_source_analyser')
    )
    op.create_table('kpi_values',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('kpi', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=300), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_kpi_values_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_values')),
    sa.UniqueConstraint('unit_id', 'period', 'kpi', name='uq_kpi_values_unit_period_kpi')
    )
    with op.batch_alter_table('kpi_values', schema=None) as batch_op:
        batch_op.create_index('ix_kpi_values_period', ['period'], unique=False)

    op.create_table('appraisal_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('grade', sa.String(length=32), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('recognition', sa.Boolean(), nullable=False),
    sa.Column('exaggeration', sa.Boolean(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('unit', 'cadre')", name=op.f('ck_appraisal_results_kind_known')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_appraisal_results_person_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['run_id'], ['appraisal_runs.id'], name=op.f('fk_appraisal_results_run_id_appraisal_runs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_appraisal_results_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appraisal_results'))
    )
    with op.batch_alter_table('appraisal_results', schema=None) as batch_op:
        batch_op.create_index('ix_appraisal_results_person_id', ['person_id'], unique=False)
        batch_op.create_index('ix_appraisal_results_run_id', ['run_id'], unique=False)
        batch_op.create_index('ix_appraisal_results_unit_id', ['unit_id'], unique=False)

    op.create_table('anomaly_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_anomaly_flags_response_id_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anomaly_flags')),
    sa.UniqueConstraint('response_id', 'kind', name='uq_anomaly_flags_response_kind')
    )
    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'upheld', 'rejected', name='appeal_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['answered_by'], ['people.id'], name=op.f('fk_appeals_answered_by_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_appeals_person_id_people'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['result_id'], ['appraisal_results.id'], name=op.f('fk_appeals_result_id_appraisal_results'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('result_id', 'person_id', name='uq_appeals_result_person')
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_person_id', ['person_id'], unique=False)
        batch_op.create_index('ix_appeals_status', ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_appeals_status')
        batch_op.drop_index('ix_appeals_person_id')

    op.drop_table('appeals')
    op.drop_table('anomaly_flags')
    with op.batch_alter_table('appraisal_results', schema=None) as batch_op:
        batch_op.drop_index('ix_appraisal_results_unit_id')
        batch_op.drop_index('ix_appraisal_results_run_id')
        batch_op.drop_index('ix_appraisal_results_person_id')

    op.drop_table('appraisal_results')
    with op.batch_alter_table('kpi_values', schema=None) as batch_op:
        batch_op.drop_index('ix_kpi_values_period')

    op.drop_table('kpi_values')
    op.drop_table('text_scores')
    op.drop_table('appraisal_runs')
