"""The auditors' use cases on a real database: scopes (a township's auditor sees and acts on
that township's flags only; the audit log is for auditors for all units), refusals with a
text key, and no Telegram id in what a page shows of the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event

from storage.appraisal import FlagLine
from storage.models import Role
from storage.uow import Database
from surveys.appraisal import supervision
from surveys.people.caller import Caller, Refused
from surveys.people.roles import grant_role
from tests.conftest import seed_campaign
from tests.e2e.supervision import PERIOD, flags

TOWN, EVERYWHERE, ADMIN = 9801, 9802, 9803
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


async def _people(db: Database) -> None:
    async with db.transaction() as uow:
        for user, role, unit, name in ((TOWN, Role.AUDITOR, "T1", "Town Auditor"),
                                       (EVERYWHERE, Role.AUDITOR, None, "Auditor Wang"),
                                       (ADMIN, Role.ADMIN, None, "Admin Li")):
            await grant_role(uow, telegram_user_id=user, role=role, unit_code=unit, name=name,
                             actor="test")


def _caller(user: int) -> Caller:
    return Caller(telegram_user_id=user, now=NOW)


async def test_a_township_auditor_sees_and_acts_on_their_township_only(db: Database) -> None:
    await seed_campaign(db)
    seeded = await flags(db)
    await _people(db)
    async with db.transaction() as uow:
        town = await supervision.flags_of_period(uow, _caller(TOWN), PERIOD)
        everywhere = await supervision.flags_of_period(uow, _caller(EVERYWHERE), PERIOD)
    assert [f.id for f in town.items] == [seeded.north]
    assert {f.id for f in everywhere.items} == {seeded.north, seeded.south}
    assert "Willow Village" in town.items[0].unit and town.items[0].entry == "window"

    for action in (supervision.dismiss, supervision.restore):
        with pytest.raises(Refused) as refused:
            async with db.transaction() as uow:
                await action(uow, _caller(TOWN), seeded.south, "a reason")
        assert refused.value.key == "flag_unknown"
    with pytest.raises(Refused) as refused:
        async with db.transaction() as uow:
            await supervision.flag_view(uow, _caller(TOWN), 10**30)
    assert refused.value.key == "flag_unknown"
    with pytest.raises(Refused) as refused:
        async with db.transaction() as uow:
            await supervision.flags_of_period(uow, _caller(ADMIN), PERIOD)
    assert refused.value.key == "not_auditor"

    async with db.transaction() as uow:
        view = await supervision.dismiss(uow, _caller(TOWN), seeded.north, "  a regular  ")
    assert view.flag.dismissed_by == "Town Auditor" and view.flag.dismiss_reason == "a regular"
    with pytest.raises(Refused) as refused:
        async with db.transaction() as uow:
            await supervision.restore(uow, _caller(TOWN), seeded.north, "x" * 301)
    assert refused.value.key == "reason_long"


async def test_the_audit_log_is_for_auditors_for_all_units(db: Database) -> None:
    await seed_campaign(db)
    await _people(db)
    with pytest.raises(Refused) as refused:
        async with db.transaction() as uow:
            await supervision.audit_log(uow, _caller(TOWN), "")
    assert refused.value.key == "audit_everywhere"
    async with db.transaction() as uow:
        log = await supervision.audit_log(uow, _caller(EVERYWHERE), "willow")
    assert log.check.intact and log.events
    assert all("willow" in f"{e.entity_id} {e.before} {e.after}".lower() for e in log.events)


def test_states_shown_never_hold_a_telegram_id() -> None:
    shown = supervision.state_text({"telegram_user_id": 123456789, "name": "Li",
                                    "holder": {"chat_id": 42, "unit": "T1"}})
    assert shown is not None and "123456789" not in shown and "42" not in shown
    assert "name: Li" in shown and "unit=T1" in shown


def _line(flag_id: int, unit_id: int, dismissed: bool = False) -> FlagLine:
    return FlagLine(flag_id, 1000 + flag_id, "too_fast", "answered in 2 s", NOW,
                    NOW if dismissed else None, "person:1" if dismissed else None,
                    "known" if dismissed else None, unit_id, None)


def test_a_periods_flags_are_paged_within_a_scope() -> None:
    # Units 1, 2, 3 in the list's order, 30, 40 and 35 flags; some dismissed in unit 2.
    lines = [_line(i, 1) for i in range(30)] + [
        _line(100 + i, 2, dismissed=i < 3) for i in range(40)] + [
        _line(200 + i, 3) for i in range(35)]
    flags = supervision.PeriodFlags.of(lines)
    shown, paging, dismissed = flags.page(None, 1)
    assert (paging.total, paging.pages, dismissed) == (105, 3, 3)
    assert [f.id for f in shown] == [f.id for f in lines[:50]]
    shown, paging, _ = flags.page(None, 3)
    assert [f.id for f in shown] == [f.id for f in lines[100:]]
    # Units 1 and 3 only: 65 flags, the second page from the middle of unit 3's.
    shown, paging, dismissed = flags.page({1, 3, 99}, 2)
    assert (paging.total, paging.number, dismissed) == (65, 2, 0)
    assert [f.id for f in shown] == [200 + i for i in range(20, 35)]
    shown, paging, dismissed = flags.page({2}, 9)
    assert paging.number == 1 and len(shown) == 40 and dismissed == 3, "the last page"
    shown, paging, _ = flags.page(set(), 1)
    assert shown == [] and paging.total == 0


async def test_a_periods_flags_are_read_again_only_once_one_changed(db: Database) -> None:
    await seed_campaign(db)
    seeded = await flags(db)
    await _people(db)
    kept = supervision.KeptFlags()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async def listed() -> tuple[supervision.FlagList, int]:
        statements.clear()
        async with db.reading() as uow:
            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            try:
                found = await supervision.flags_of_period(uow, _caller(EVERYWHERE), PERIOD,
                                                          kept=kept)
            finally:
                event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        return found, sum("JOIN responses" in s for s in statements)

    first, read = await listed()
    assert read == 1 and {f.id for f in first.items} == {seeded.north, seeded.south}
    again, read = await listed()
    assert read == 0 and again.items == first.items, "kept"
    async with db.transaction() as uow:
        await supervision.dismiss(uow, _caller(EVERYWHERE), seeded.north, "a regular")
    after, read = await listed()
    assert read == 1 and after.dismissed == 1, "a dismissal is an audited change"
    [north] = [f for f in after.items if f.id == seeded.north]
    assert north.dismissed_by == "Auditor Wang" and north.dismiss_reason == "a regular"


async def test_appeals_are_paged_and_a_results_unit_is_read_once(db: Database) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from storage.models import Appeal, AppealStatus, AppraisalResult, AppraisalStatus
    from surveys.appraisal import appeals
    from tests.e2e.fieldwork import make_cadre
    from tests.e2e.test_results_chat import detail, seed_run, unit_id

    await seed_campaign(db)
    await _people(db)
    cadre = await make_cadre(db, 9804, "V1", "Cadre Wang")
    run_id = await seed_run(db, "2026-Q3", AppraisalStatus.PUBLISHED, [
        {"kind": "cadre", "unit_id": await unit_id(db, "V1"), "person_id": cadre,
         "detail": detail("Cadre Wang", ("V1", "Willow Village"), score=60.0, grade="fair")}
        for _ in range(53)])
    async with db.transaction() as uow:
        results = (await uow.session.scalars(select(AppraisalResult.id).where(
            AppraisalResult.run_id == run_id))).all()
        for i, result_id in enumerate(results):
            uow.session.add(Appeal(result_id=result_id, person_id=cadre, reason=f"No {i}",
                                   status=AppealStatus.OPEN, created_at=NOW + timedelta(i)))
    kept = appeals.KeptUnitNames()
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async def history(page: int) -> appeals.AppealHistory:
        statements.clear()
        async with db.reading() as uow:
            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            try:
                return await appeals.appeal_history(uow, _caller(TOWN), page, kept=kept)
            finally:
                event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    first = await history(1)
    assert first.paging.total == 53 and len(first.records) == 50
    assert first.records[0].item.reason == "No 52", "the newest first"
    assert {r.item.result.unit_name for r in first.records} == {"Willow Village"}
    assert sum("appraisal_results.detail" in s for s in statements) == 1
    again = await history(1)
    assert again.records == first.records
    assert not any("appraisal_results.detail" in s for s in statements), "kept: never changes"
    second = await history(2)
    assert [r.item.reason for r in second.records] == ["No 2", "No 1", "No 0"]
