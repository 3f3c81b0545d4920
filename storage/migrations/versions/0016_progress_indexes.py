"""progress indexes: a campaign's progress counted from an index, the campaign list paged

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Indexes only, no data changes. responses' (campaign_id, status) index becomes (campaign_id,
status, completed_at, entry_point): a campaign's page counts its responses by status, day
and entry point from the index alone (never reading the rows, which are scattered by the
reshuffle), and anything that used the old index uses its first two columns. campaigns gets
(status, opens_at), which the dashboard's list reads a page of one status from in order, and
(unit_id, status), which counts the campaigns of a scope's units.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_responses_campaign_progress', 'responses',
                    ['campaign_id', 'status', 'completed_at', 'entry_point'], unique=False)
    op.drop_index('ix_responses_campaign_status', table_name='responses')
    op.create_index('ix_campaigns_status_opens_at', 'campaigns', ['status', 'opens_at'],
                    unique=False)
    op.create_index('ix_campaigns_unit_status', 'campaigns', ['unit_id', 'status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_campaigns_unit_status', table_name='campaigns')
    op.drop_index('ix_campaigns_status_opens_at', table_name='campaigns')
    op.create_index('ix_responses_campaign_status', 'responses', ['campaign_id', 'status'],
                    unique=False)
    op.drop_index('ix_responses_campaign_progress', table_name='responses')
