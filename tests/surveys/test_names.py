"""Names as a reader of a language sees them (surveys.people.names), in the views that carry
them past the database: published results and a cadre's Chinese name set from the CLI's use
case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import AppraisalResult, AuditEvent, Unit
from storage.uow import Database
from surveys.appraisal.results import Breakdown
from surveys.fieldwork import cadres
from surveys.fieldwork.cadres import CadreError
from surveys.people.names import Names, display_name
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS

NOW = datetime(2026, 12, 20, tzinfo=UTC)


@pytest.mark.parametrize(("lang", "name_zh", "shown"), [
    ("zh", "松树村", "松树村"),
    ("zh", None, "Pine Village"),
    ("zh", "", "Pine Village"),
    ("en", "松树村", "Pine Village"),
    ("fr", "松树村", "Pine Village"),
])
def test_the_chinese_name_is_for_chinese_readers_where_there_is_one(
    lang: str, name_zh: str | None, shown: str,
) -> None:
    assert display_name(Names("Pine Village", name_zh), lang) == shown
    assert display_name(Unit(name="Pine Village", name_zh=name_zh), lang) == shown


def _result(detail: dict[str, Any]) -> AppraisalResult:
    return AppraisalResult(id=1, run_id=1, kind="cadre", unit_id=None, person_id=None,
                           status="graded", score=70.0, grade="good", rank=1, responses=12,
                           recognition=False, exaggeration=False, detail=detail)


def test_a_result_names_its_cadre_and_unit_in_the_readers_language() -> None:
    stored = _result({"name": "Wang Fang", "name_zh": "王芳", "unit_code": "V2",
                      "unit_name": "Pine Village", "unit_name_zh": "松树村"})
    zh = Breakdown.read(stored, min_cell=5, lang="zh")
    assert (zh.name, zh.unit_name, zh.unit_code) == ("王芳", "松树村", "V2")
    en = Breakdown.read(stored, min_cell=5, lang="en")
    assert (en.name, en.unit_name) == ("Wang Fang", "Pine Village")
    # Stored before names had a Chinese form: as entered, in every language.
    old = _result({"name": "Wang Fang", "unit_code": "V2", "unit_name": "Pine Village"})
    assert Breakdown.read(old, min_cell=5, lang="zh").unit_name == "Pine Village"
    # No stored name at all: the unit's own names, now.
    unit = Unit(code="V2", name="Pine Village", name_zh="松树村")
    assert Breakdown.read(_result({}), min_cell=5, unit=unit, lang="zh").unit_name == "松树村"


async def test_a_cadre_gets_a_chinese_name_and_loses_it_audited(db: Database) -> None:
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
        draft = cadres.check_profile("Wang Fang", "Village head", ["V2"], name_zh=" 王芳 ")
        issued = await cadres.create_profile(uow, draft, actor="test", now=NOW,
                                             valid_for=timedelta(days=7))
    person_id = issued.profile.person_id
    assert issued.profile.name_zh == "王芳"
    async with db.transaction() as uow:
        cleared = await cadres.set_name_zh(uow, person_id, "  ", actor="test", now=NOW)
        assert cleared.name_zh is None and cleared.name == "Wang Fang"
        again = await cadres.set_name_zh(uow, person_id, "王 芳", actor="test", now=NOW)
        assert again.name_zh == "王 芳"
        unchanged = await cadres.set_name_zh(uow, person_id, "王 芳", actor="test", now=NOW)
        assert unchanged.name_zh == "王 芳"
    async with db.reading() as uow:
        events = (await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cadre.update")
            .order_by(AuditEvent.id))).all()
        [created] = (await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "cadre.create"))).all()
    assert [(e.before, e.after) for e in events] == [
        ({"name_zh": "王芳"}, {"name_zh": None}), ({"name_zh": None}, {"name_zh": "王 芳"})]
    assert created.after is not None and created.after["name_zh"] == "王芳"
    with pytest.raises(CadreError, match="Chinese name is longer"):
        cadres.check_name_zh("王" * 201)
