"""The chat summaries at their fullest: /campaign with every line it can have and many entry
points, /cases with every sign, stay within 12 lines (the e2e tests show them as sent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from handlers.admin_render import SUMMARY_LINES, campaign_report
from handlers.cases_render import case_list
from handlers.render import at_most
from storage.models import Campaign, CampaignStatus, CaseStatus
from surveys.campaigns.admin import CampaignReport
from surveys.campaigns.commands import CampaignStatusView, EntryPointView
from surveys.cases.views import CaseLine, CaseList

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _campaign(status: CampaignStatus = CampaignStatus.OPEN) -> Campaign:
    return Campaign(code="willow", status=status, audience="residents", timezone="UTC",
                    opens_at=NOW - timedelta(days=3), closes_at=NOW + timedelta(days=7),
                    closed_at=NOW if status == CampaignStatus.CLOSED else None,
                    target_responses=300)


@pytest.mark.parametrize("entries", [0, 1, 2, 3, 30])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_fullest_campaign_summary_is_at_most_twelve_lines(entries: int, lang: str) -> None:
    report = CampaignReport(
        _campaign(), started=120, completed=100, margin_of_error=0.098,
        time_left=timedelta(days=7),
        deliveries={"invitations": {"sent": 900, "pending": 20, "failed": 3},
                    "reminders": {"sent": 400, "skipped": 2}},
        entry_points={None: 40, "invitation": 30, "window1": 30})
    points = [EntryPointView(f"window{i}", f"Service window {i}") for i in range(entries)]
    view = CampaignStatusView(lang=lang, report=report, unit_path="河畔县 › 北乡 › 柳村",
                              survey="resident_satisfaction", survey_version=2,
                              survey_title="How was your service today?",
                              entry_points=points, can_manage=True)
    links = {p.name: f"https://t.me/civicpulse_bot?start=willow--{p.name}" for p in points}
    text = campaign_report(view, "https://t.me/civicpulse_bot?start=willow", links).text
    lines = text.split("\n")
    assert len(lines) <= SUMMARY_LINES, text
    assert "resident_satisfaction" not in text
    shown = sum(1 for line in lines if "willow--" in line)
    if entries > shown:
        assert f"{entries - shown} " in lines[-1], "how many more there are"
    else:
        assert shown == entries


def test_the_fullest_cases_page_is_at_most_twelve_lines() -> None:
    lines = [CaseLine(number=f"C-ABCDE{i}", unit="Willow Village Residents Committee of the "
                      "Upper North Township", category="roads", status=status,
                      reports=3, due_at=NOW - timedelta(days=1),
                      answer_due_at=NOW + timedelta(days=2), taken_by="Wang Fang",
                      request="transfer", similar=("C-XYZ234",))
             for i, status in enumerate([CaseStatus.OPEN, CaseStatus.TAKEN, CaseStatus.RESOLVED]
                                        * 3)][:8]
    for read_only in (False, True):
        text, keyboard = case_list(CaseList("en", lines, 0, 3, 20, read_only, NOW, 5))
        shown = text.split("\n")
        assert len(shown) <= SUMMARY_LINES, text
        assert sum(1 for line in shown if line.startswith("<b>C-")) == 8
        assert "Willow Village Residents…" in text, "cut between words"
        assert shown[-1].startswith("✋ a transfer or rejection awaits an admin · 🔗")
        assert keyboard is not None and len(keyboard.inline_keyboard) == 3


def test_at_most_drops_blank_lines_from_the_bottom_first() -> None:
    assert at_most(["a", "", "b", "", "c"], 4) == ["a", "", "b", "c"]
    assert at_most(["a", "", "b", "", "c"], 3) == ["a", "b", "c"]
    assert at_most(["a", "b", "c"], 2) == ["a", "b", "c"], "never drops what it says"
