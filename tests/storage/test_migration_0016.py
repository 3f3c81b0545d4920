"""Migration 0016: a campaign's progress counted from one index (campaign, status,
completion time, entry point, in place of campaign and status), and the campaigns' list
paged from two more; down again gives back the index it replaced. Rows are untouched both
ways. On SQLite, and on PostgreSQL when configured."""

from __future__ import annotations

from storage.migrate import downgrade, upgrade
from tests.storage.test_migration_0008 import _rows, _run

NEW = {"ix_responses_campaign_progress", "ix_campaigns_status_opens_at",
       "ix_campaigns_unit_status"}


def _indexes(url: str) -> set[str]:
    if url.startswith("sqlite"):
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_%'"
    return {row[0] for row in _rows(url, query)}


def test_0016_swaps_the_progress_index_and_back(empty_url: str) -> None:
    url = empty_url
    upgrade(url, "0015")
    assert "ix_responses_campaign_status" in _indexes(url) and not NEW & _indexes(url)
    _run(url, [
        ("INSERT INTO units (id, code, name, type) VALUES (1, 'V2', 'Pine Village', 'village')",
         {}),
        ("INSERT INTO surveys (id, slug, version, checksum, definition) "
         "VALUES (1, 's', 1, 'c', '{}')", {}),
        ("INSERT INTO campaigns (id, code, survey_id, unit_id, status, opens_at, audience, "
         "timezone, reminders) VALUES (1, 'pine', 1, 1, 'open', '2026-12-01 00:00:00', "
         "'residents', 'UTC', '[]')", {}),
        ("INSERT INTO responses (id, campaign_id, survey_id, respondent_key, status, step, "
         "language, started_at, shuffled) VALUES (7, 1, 1, 'k', 'in_progress', 0, 'en', "
         "'2026-12-01 00:00:00', false)", {}),
    ])
    upgrade(url)
    indexes = _indexes(url)
    assert indexes >= NEW and "ix_responses_campaign_status" not in indexes
    downgrade(url, "0015")
    indexes = _indexes(url)
    assert "ix_responses_campaign_status" in indexes and not NEW & indexes
    assert _rows(url, "SELECT id, status FROM responses") == [(7, "in_progress")]
    assert _rows(url, "SELECT code FROM campaigns") == [("pine",)]
    upgrade(url)
    assert _indexes(url) >= NEW
