"""The campaign page's pure parts: the rows per entry point and the survey's title."""

from __future__ import annotations

from typing import Any, cast

from storage.models import Campaign
from surveys.campaigns.admin import CampaignReport
from surveys.campaigns.commands import CampaignStatusView, EntryPointView
from surveys.campaigns.dashboard import EntryRow, entry_rows, survey_title


def _view(counts: dict[str | None, int], entries: list[EntryPointView]) -> CampaignStatusView:
    report = CampaignReport(campaign=cast(Campaign, None), started=0, completed=0,
                            margin_of_error=None, time_left=None, entry_points=counts)
    return CampaignStatusView(lang="en", report=report, unit_path="", survey="s",
                              survey_version=1, survey_title="Satisfaction",
                              entry_points=entries, can_manage=True)


def test_the_main_link_comes_first_then_invitations_then_every_named_entry() -> None:
    rows = entry_rows(_view({None: 4, "invite": 2, "window2": 3, "gone": 1},
                            [EntryPointView("fair", "Autumn fair"),
                             EntryPointView("window2", None)]))
    assert rows == [
        EntryRow(None, None, 4, named=False),
        EntryRow("invite", None, 2, named=False),
        EntryRow("fair", "Autumn fair", 0, named=True),  # no answers yet, still listed
        EntryRow("window2", None, 3, named=True),
        EntryRow("gone", None, 1, named=False),  # counted, but no longer an entry point
    ]


def test_no_answers_yet_is_the_main_link_at_zero() -> None:
    assert entry_rows(_view({}, [])) == [EntryRow(None, None, 0, named=False)]


def test_the_title_in_the_readers_language_else_english_else_the_slug() -> None:
    definition: dict[str, Any] = {"title": {"en": "Service", "zh": "服务"}}
    assert survey_title(definition, "zh", "slug") == "服务"
    assert survey_title({"title": {"en": "Service"}}, "zh", "slug") == "Service"
    assert survey_title({}, "en", "slug") == "slug"
