"""What /campaign CODE and /cases show in chat, through the real Application and the sandbox:
short summaries (at most 12 lines), names cut only between words, units by their names in
the reader's language (never their codes), a survey by its title (never its slug), and
Chinese throughout for a Chinese reader."""

from __future__ import annotations

import dataclasses
import re

import pytest

from sandbox import SandboxClient
from sandbox.client import Message
from storage.models import Role
from storage.uow import Database
from surveys.people.units import import_units
from tests.cases.staff_factory import days_ago, make_staff, open_case
from tests.conftest import TEST_UNITS
from tests.e2e.conftest import Bot

pytestmark = pytest.mark.e2e

ADMIN, CHINESE_ADMIN, CADRE, CHINESE_CADRE = 7401, 7402, 7403, 7404
LONG = "Willow Village Residents Committee of the Upper North Township"
NAMES = {"C1": ("Riverside County", "河畔县"), "T1": ("North Township", "北乡"),
         "V1": (LONG, "柳村"), "V2": ("Pine Village", "松村")}
CODES = re.compile(r"\b(C1|T1|V1|V2)\b")
ENTRIES = 15


async def _name_units(db: Database) -> None:
    rows = [dataclasses.replace(row, name=NAMES[row.code][0], name_zh=NAMES[row.code][1])
            for row in TEST_UNITS]
    async with db.transaction() as uow:
        await import_units(uow, rows, actor="test")


async def _add_entries(db: Database, code: str, count: int) -> None:
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code(code)
        assert campaign is not None
        for index in range(count):
            assert await uow.entry_points.add(campaign.id, f"window{index + 1}",
                                              f"Service window {index + 1}")


def assert_summary(message: Message) -> list[str]:
    """At most 12 lines, no unit code, nothing cut inside a word; the lines."""
    lines = message.text.split("\n")
    assert len(lines) <= 12, message.text
    assert not CODES.search(message.text), message.text
    for cut in re.findall(r"(\S+)…", message.text):
        # What precedes "…" ends a word of a name we gave (or is all of a short word).
        assert any(cut in name.split() for pair in NAMES.values() for name in pair) \
            or not cut.isalpha(), (cut, message.text)
    return lines


async def test_campaign_is_a_short_summary_with_its_links_as_room_allows(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await _name_units(db)
    await _add_entries(db, "willow", ENTRIES)
    await make_staff(db, ADMIN, Role.ADMIN, None, "Admin Liu")
    admin = await client.user(ADMIN, "Admin Liu")
    await admin.send("/campaign willow")
    report = await admin.wait_for_message("Responses")
    lines = assert_summary(report)
    assert lines[0] == "willow · open · for residents"
    assert lines[1] == f"Riverside County › North Township › {LONG}"
    assert lines[2] == "Survey: How was your service today? (version 1)"
    assert "resident_satisfaction" not in report.text, "the title, not the slug"
    assert "Margin of error at 95%: not yet" in report.text
    assert "Link: https://t.me/" in report.text and "?start=willow" in report.text
    shown = [line for line in lines if line.startswith("• window")]
    assert shown and lines[-1] == f"… and {ENTRIES - len(shown)} more entry points"
    assert report.button_texts == ["🔳 QR code", "🔔 Remind", "⏹ Close"]


async def test_campaign_in_chinese_for_a_chinese_admin(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await _name_units(db)
    await make_staff(db, CHINESE_ADMIN, Role.ADMIN, None, "刘管理员")
    admin = await client.user(CHINESE_ADMIN, "刘", language_code="zh-hans")
    await admin.send("/campaign willow")
    report = await admin.wait_for_message("回答")
    lines = assert_summary(report)
    assert lines[0] == "willow · 进行中 · 对象：居民"
    assert lines[1] == "河畔县 › 北乡 › 柳村"
    assert lines[2] == "问卷：今天的办事体验怎么样？（第 1 版）"
    assert "Willow" not in report.text and "Survey" not in report.text
    assert "95% 置信水平下的误差范围" in report.text and "剩余时间" in report.text


async def test_cases_is_a_page_of_one_line_per_case(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await _name_units(db)
    await make_staff(db, CADRE, Role.CADRE, "V1", "Wang Fang")
    overdue = await open_case(db, opened_on=days_ago(10))
    for _ in range(9):
        await open_case(db, category="waiting")
    cadre = await client.user(CADRE, "Wang Fang")
    await cadre.send("/cases")
    listing = await cadre.wait_for_message("Active cases")
    lines = assert_summary(listing)
    assert lines[0] == ("Active cases: 10, 1 overdue · nearest deadline first · "
                        "Page 1 of 2")
    cases = [line for line in lines if line.startswith("C-")]
    assert len(cases) == 8 and cases[0].startswith(overdue)
    assert "Willow Village Residents…" in cases[0], "the long name cut between words"
    assert "⚠️ overdue by" in cases[0] and "🔗" in cases[1]
    assert lines[-1] == "🔗 possibly the same problem as another case"
    assert len(listing.button_texts) == 8 + 1, "each case opens in full; the next page"
    await cadre.tap("Next ›")
    second = await cadre.wait_for_message("Page 2 of 2")
    assert len([line for line in assert_summary(second) if line.startswith("C-")]) == 2


async def test_cases_in_chinese_for_a_chinese_cadre(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await _name_units(db)
    await make_staff(db, CHINESE_CADRE, Role.CADRE, "V1", "王芳")
    await open_case(db, opened_on=days_ago(10))
    await open_case(db, unit="V2")
    cadre = await client.user(CHINESE_CADRE, "王芳", language_code="zh-hans")
    await cadre.send("/cases")
    listing = await cadre.wait_for_message("办理中的问题")
    lines = assert_summary(listing)
    assert lines[0] == "办理中的问题：1 件，1 件逾期 · 按期限先后排列"
    [line] = [line for line in lines if line.startswith("C-")]
    assert " 柳村 · " in line and " · 新 · " in line and "已超期" in line
    assert "Willow" not in listing.text and "松村" not in listing.text
