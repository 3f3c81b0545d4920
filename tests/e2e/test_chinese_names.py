"""Units with a Chinese name: a resident who reads Chinese sees it (the poll's intro, the place
picker, what was saved), one who reads English the name as entered. Through the real
Application and the sandbox."""

from __future__ import annotations

import dataclasses

import pytest

from sandbox import SandboxClient
from storage.uow import Database
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS
from tests.e2e.conftest import Bot

pytestmark = pytest.mark.e2e

CHINESE = {"C1": "河畔县", "V1": "柳村"}


async def _name_units_in_chinese(db: Database) -> None:
    rows = [dataclasses.replace(row, name_zh=CHINESE.get(row.code)) for row in TEST_UNITS]
    async with db.transaction() as uow:
        await import_units(uow, rows, actor="test")


async def test_a_chinese_reader_sees_the_chinese_unit_name(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await _name_units_in_chinese(db)
    reader = await client.user(7301, "Fang", language_code="zh-hans")
    await reader.send("/start willow")
    intro = await reader.wait_for_message("1/5")
    assert "匿名" in intro.text
    assert "柳村工作人员" in intro.text and "Willow Village" not in intro.text

    english = await client.user(7302, "Ann", language_code="en")
    await english.send("/start willow")
    intro = await english.wait_for_message("anonymous")
    assert "Willow Village" in intro.text and "柳村" not in intro.text

    await reader.send("/units")
    picker = await reader.wait_for_message("您希望接收哪些地方")
    assert picker.button_texts[:2] == ["河畔县", "›"]
    await reader.tap("›")
    inside = await reader.wait_for_message("您希望接收哪些地方")
    assert "North Township" in inside.button_texts, "no Chinese name: as entered"
    await reader.tap("›", message_id=inside.message_id)
    villages = await reader.wait_for_message("您希望接收哪些地方")
    assert {"柳村", "Pine Village"} <= set(villages.button_texts)
    await reader.tap("柳村")
    await reader.wait_for_message("您希望接收哪些地方")
    await reader.tap("完成 ✓")
    saved = await reader.wait_for_message("已保存")
    assert "河畔县 › North Township › 柳村" in saved.text
