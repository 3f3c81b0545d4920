"""board indexes: the dashboard's cases page, appeals and flags read from an index

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

Indexes only, no data changes. cases gets (status, closed_at): the cases page counts and
lists those closed in the last 30 days among every case ever closed (the statuses still being
worked on come from (status, due_at)). appeals gets (created_at, id): the auditors' list reads
a page of them newest first in that order. audit_events gets (entity, id): the newest
event about the anomaly flags (or the appraisal runs that replace them), under which the
auditors' list of a period's flags is kept, is one step back along it.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_status_closed', 'cases', ['status', 'closed_at'], unique=False)
    op.create_index('ix_appeals_created', 'appeals', ['created_at', 'id'], unique=False)
    op.create_index('ix_audit_events_entity_newest', 'audit_events', ['entity', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_events_entity_newest', table_name='audit_events')
    op.drop_index('ix_appeals_created', table_name='appeals')
    op.drop_index('ix_cases_status_closed', table_name='cases')
