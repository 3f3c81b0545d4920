"""Publishing under four eyes, and the audit log's head kept with each publication, on a real
database (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from storage.audit import Anchor
from storage.models import AppraisalStatus, AuditEvent, PublicationStatus, Role
from storage.uow import Database
from surveys.appraisal.publication import (
    PublicationRefused,
    Published,
    Requested,
    announced,
    approve_publication,
    awaiting_approval,
    publish,
    refuse_publication,
    unannounced,
)
from surveys.appraisal.run import run_appraisal
from surveys.people.roles import grant_role
from tests.storage.test_appraisal_run import MID, PERIOD, options, respond, two_villages

# Telegram ids of the people below.
ADMIN, AUDITOR, SECOND_AUDITOR, ADMIN_AUDITOR, TOWN_AUDITOR, INSPECTOR = (
    5101, 5102, 5103, 5104, 5105, 5106)


async def staff(db: Database) -> None:
    """An admin, two auditors for all units, one person who is both, an auditor scoped to a
    township and an inspector."""
    async with db.transaction() as uow:
        for user, roles, unit in ((ADMIN, (Role.ADMIN,), None),
                                  (AUDITOR, (Role.AUDITOR,), None),
                                  (SECOND_AUDITOR, (Role.AUDITOR,), None),
                                  (ADMIN_AUDITOR, (Role.ADMIN, Role.AUDITOR), None),
                                  (TOWN_AUDITOR, (Role.AUDITOR,), "T1"),
                                  (INSPECTOR, (Role.INSPECTOR,), None)):
            for role in roles:
                await grant_role(uow, telegram_user_id=user, role=role, unit_code=unit,
                                 name=f"person {user}", actor="test")


async def person_label(db: Database, telegram_user_id: int) -> str:
    async with db.reading() as uow:
        person = await uow.people.by_user(telegram_user_id)
    assert person is not None
    return f"person:{person.id}"


async def a_draft(db: Database, computed_by: int | None = None) -> None:
    """The units, the staff, and version 1 of the period, a draft computed by ``computed_by``
    (a Telegram id) or by "test"."""
    willow, _ = await two_villages(db)
    await staff(db)
    for i in range(12):
        await respond(db, willow, (4, 4, 5), at=MID + timedelta(hours=i))
    by = await person_label(db, computed_by) if computed_by is not None else "test"
    await run_appraisal(db, PERIOD, options(), actor=by)


async def test_a_request_awaits_an_auditor_and_the_approval_publishes(db: Database) -> None:
    await a_draft(db)
    asked = await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    assert isinstance(asked, Requested)
    assert asked.run.status == AppraisalStatus.DRAFT
    # Every auditor for all units with a chat is told (not the township's, not the admin).
    assert sorted(chat for chat, _ in asked.auditors) == [AUDITOR, SECOND_AUDITOR,
                                                          ADMIN_AUDITOR]
    async with db.reading() as uow:
        [waiting] = await awaiting_approval(uow, AUDITOR)
        [mine] = await awaiting_approval(uow, ADMIN)
    assert (waiting.period, waiting.version, waiting.own) == (PERIOD, 1, False)
    assert waiting.requested_by == f"person {ADMIN}" and mine.own

    done = await approve_publication(db, PERIOD, by=AUDITOR)
    assert done.run.status == AppraisalStatus.PUBLISHED
    admin, auditor = await person_label(db, ADMIN), await person_label(db, AUDITOR)
    assert (done.run.published_by, done.run.approved_by) == (admin, auditor)
    async with db.reading() as uow:
        events = list(await uow.audit.of("appraisal_run"))
        count = await uow.session.scalar(select(func.count()).select_from(AuditEvent))
        [request] = await uow.appraisal.requests([done.run.id])
        assert await awaiting_approval(uow) == []
    assert [(e.action, e.actor) for e in events[-3:]] == [
        ("appraisal.publish_request", admin), ("appraisal.approve", auditor),
        ("appraisal.publish", auditor)]
    # The head recorded is the publication's own event, the newest at the time.
    assert done.run.audit_head_hash == events[-1].hash and done.run.audit_head_events == count
    assert (request.status, request.decided_by) == (PublicationStatus.APPROVED, auditor)


async def test_nobody_approves_their_own_request_or_run(db: Database) -> None:
    await a_draft(db, computed_by=SECOND_AUDITOR)
    await publish(db, PERIOD, by=ADMIN_AUDITOR, requires_approval=True)
    with pytest.raises(PublicationRefused, match="asked for version 1 of 2026-Q4, so cannot "
                       "approve it") as asked:
        await approve_publication(db, PERIOD, by=ADMIN_AUDITOR)
    assert asked.value.key == "own"
    with pytest.raises(PublicationRefused, match="computed version 1") as computed:
        await approve_publication(db, PERIOD, by=SECOND_AUDITOR)
    assert computed.value.key == "own"
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs(PERIOD)
        actions = [e.action for e in await uow.audit.of("appraisal_run")]
    assert run.status == AppraisalStatus.DRAFT and "appraisal.approve" not in actions
    done = await approve_publication(db, PERIOD, by=AUDITOR)
    assert done.run.status == AppraisalStatus.PUBLISHED


@pytest.mark.parametrize("who", [ADMIN, TOWN_AUDITOR, INSPECTOR, 999_999, -1])
async def test_only_an_auditor_for_all_units_approves(db: Database, who: int) -> None:
    await a_draft(db)
    await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    with pytest.raises(PublicationRefused, match="is not auditor for all units") as refused:
        await approve_publication(db, PERIOD, by=who)
    assert refused.value.key == "not_auditor"
    with pytest.raises(PublicationRefused, match="is not auditor for all units"):
        await refuse_publication(db, PERIOD, by=who, reason="looks wrong")


async def test_only_an_admin_for_all_units_asks_and_says_who_they_are(db: Database) -> None:
    await a_draft(db)
    with pytest.raises(PublicationRefused, match="--by") as anonymous:
        await publish(db, PERIOD, by=None, requires_approval=True)
    assert anonymous.value.key == "who"
    with pytest.raises(PublicationRefused, match="is not admin for all units"):
        await publish(db, PERIOD, by=AUDITOR, requires_approval=True)
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs(PERIOD)
        assert await uow.appraisal.requests([run.id]) == []


async def test_a_published_or_superseded_draft_cannot_be_approved(db: Database) -> None:
    await a_draft(db)
    await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    with pytest.raises(PublicationRefused, match="already awaits") as twice:
        await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    assert twice.value.key == "already_pending"
    # Version 2 is computed and published at once (approval switched off): version 1's
    # request lapses, and version 1 is superseded.
    await run_appraisal(db, PERIOD, options(), actor="test")
    done = await publish(db, PERIOD, by=ADMIN, requires_approval=False)
    assert isinstance(done, Published) and done.run.version == 2
    assert done.run.approved_by is None and done.run.audit_head_hash is not None
    with pytest.raises(PublicationRefused, match="version 1 of 2026-Q4 is superseded; there "
                       "is nothing to approve") as superseded:
        await approve_publication(db, PERIOD, by=AUDITOR, version=1)
    assert superseded.value.key == "not_draft"
    with pytest.raises(PublicationRefused, match="version 2 of 2026-Q4 is published"):
        await approve_publication(db, PERIOD, by=AUDITOR, version=2)
    with pytest.raises(PublicationRefused, match="nothing awaits approval") as nothing:
        await approve_publication(db, PERIOD, by=AUDITOR)
    assert nothing.value.key == "nothing_pending"
    with pytest.raises(PublicationRefused, match="has no version 7"):
        await approve_publication(db, PERIOD, by=AUDITOR, version=7)
    async with db.reading() as uow:
        runs = await uow.appraisal.runs(PERIOD)
        [request] = await uow.appraisal.requests([runs[0].id])
    assert request.status == PublicationStatus.LAPSED
    assert [r.status for r in runs] == [AppraisalStatus.SUPERSEDED, AppraisalStatus.PUBLISHED]


async def test_a_refusal_keeps_the_draft_and_a_new_request_may_follow(db: Database) -> None:
    await a_draft(db)
    await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    with pytest.raises(PublicationRefused, match="say why"):
        await refuse_publication(db, PERIOD, by=AUDITOR, reason="  \n ")
    run, request = await refuse_publication(db, PERIOD, by=AUDITOR,
                                            reason="Willow's KPI file is last year's")
    assert run.status == AppraisalStatus.DRAFT and request.status == PublicationStatus.REFUSED
    with pytest.raises(PublicationRefused, match="nothing awaits approval"):
        await approve_publication(db, PERIOD, by=SECOND_AUDITOR)
    again = await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    assert isinstance(again, Requested)
    done = await approve_publication(db, PERIOD, by=SECOND_AUDITOR)
    assert done.run.status == AppraisalStatus.PUBLISHED
    async with db.reading() as uow:
        [refusal] = [e for e in await uow.audit.of("appraisal_run")
                     if e.action == "appraisal.refuse"]
    assert refusal.after is not None and refusal.after["why"] == "Willow's KPI file is last year's"


async def anchors(db: Database) -> list[Anchor]:
    async with db.reading() as uow:
        return [Anchor(f"{r.period} v{r.version}", r.audit_head_hash or "",
                       r.audit_head_events or 0) for r in await uow.appraisal.anchored()]


@pytest.mark.parametrize("deleted", ["last", "all", "none"])
async def test_deleting_the_newest_events_is_seen_against_the_recorded_head(
        db: Database, deleted: str) -> None:
    await a_draft(db)
    await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    await approve_publication(db, PERIOD, by=AUDITOR)
    async with db.transaction() as uow:
        newest = await uow.session.scalar(select(func.max(AuditEvent.id)))
        if deleted == "last":
            await uow.session.execute(delete(AuditEvent).where(AuditEvent.id == newest))
        elif deleted == "all":
            await uow.session.execute(delete(AuditEvent))
    async with db.reading() as uow:
        # What the chain alone says: intact, whatever was cut off its end.
        assert await uow.audit.verify() is None
        check = await uow.audit.check(await anchors(db))
    assert check.broken_at is None and check.anchors == 1
    if deleted == "none":
        assert check.intact and not check.missing
        return
    [(anchor, now_at)] = check.missing
    assert not check.intact and now_at is None
    assert check.events == (anchor.events - 1 if deleted == "last" else 0)


async def test_the_auditors_to_tell_are_those_who_may_approve_and_once(db: Database) -> None:
    await a_draft(db, computed_by=SECOND_AUDITOR)
    await publish(db, PERIOD, by=ADMIN_AUDITOR, requires_approval=True)
    async with db.reading() as uow:
        [notice] = await unannounced(uow)
    # Neither the requester (an admin and auditor) nor the auditor who computed the version,
    # nor the township's auditor: only the one who may approve it.
    assert (notice.period, notice.version, notice.requested_by) == (PERIOD, 1,
                                                                    f"person {ADMIN_AUDITOR}")
    assert [chat for chat, _ in notice.auditors] == [AUDITOR]
    async with db.transaction() as uow:
        await announced(uow, [notice.request_id], uow.clock())
    async with db.reading() as uow:
        assert await unannounced(uow) == []
        [waiting] = await awaiting_approval(uow)
    assert waiting.request_id == notice.request_id, "told or not, it still awaits approval"


async def test_publishing_without_approval_settles_the_versions_own_request(
        db: Database) -> None:
    await a_draft(db)
    await publish(db, PERIOD, by=ADMIN, requires_approval=True)
    # The switch is turned off meanwhile: publishing takes effect, and the request lapses.
    done = await publish(db, PERIOD, by=ADMIN, requires_approval=False)
    assert isinstance(done, Published) and done.run.status == AppraisalStatus.PUBLISHED
    async with db.reading() as uow:
        assert await awaiting_approval(uow) == []
        [request] = await uow.appraisal.requests([done.run.id])
    assert request.status == PublicationStatus.LAPSED
    with pytest.raises(PublicationRefused, match="nothing awaits approval"):
        await approve_publication(db, PERIOD, by=AUDITOR)
