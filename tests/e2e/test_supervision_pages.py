"""The auditors' pages over HTTP through the running bot and a real database: a period's
anomaly flags in the auditor's scope, dismissed and restored with reasons (audit-logged, as
the command line does), another township's flag by URL (404), appeals with their answers,
the audit log searched by record with the chain's check (and the publication heads' check),
and four-eyes approval: confirm and approve, self-approval refused, refuse with a reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, func, select, update

from sandbox import SandboxClient
from storage.models import AnomalyFlag, AppraisalStatus, AuditEvent, Role
from storage.uow import Database
from tests.e2e.conftest import Bot
from tests.e2e.supervision import PERIOD, awaiting, flags
from tests.e2e.test_dashboard import _link
from tests.e2e.test_results_chat import audit, staff
from tests.e2e.web import WebClient, csrf_of, shows_number

pytestmark = pytest.mark.e2e

AUDITOR, TOWN_AUDITOR, ADMIN, COMPUTER, CADRE = 9601, 9602, 9603, 9604, 9605


@pytest.fixture
async def browser_of(web_bot: Bot) -> AsyncIterator[WebClient]:
    client = WebClient(web_bot.web_url)
    try:
        yield client
    finally:
        await client.close()


async def _signed_in(client: SandboxClient, db: Database, web: WebClient, user_id: int,
                     role: Role | None, unit: str | None, name: str) -> int:
    person_id = 0
    if role is not None:
        _, person_id = await staff(client, db, user_id, role, unit, name)
    home = await web.sign_in_with_link(await _link(client, user_id, name))
    assert f"Hello, {name}" in home, home
    return person_id


async def _flag(db: Database, flag_id: int) -> AnomalyFlag:
    async with db.reading() as uow:
        flag = await uow.session.get(AnomalyFlag, flag_id)
    assert flag is not None
    return flag


async def test_a_township_auditor_sees_and_dismisses_only_their_townships_flags(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    seeded = await flags(db)
    person_id = await _signed_in(client, db, browser_of, TOWN_AUDITOR, Role.AUDITOR, "T1",
                                 "Town Auditor")
    home = await browser_of.get("/")
    for link in ("/audit/flags", "/audit/approvals", "/audit/log", "/audit/appeals"):
        assert f'href="{link}"' in home, link

    listed = await browser_of.get(f"/audit/flags?period={PERIOD}")
    assert browser_of.status == 200, listed
    assert "Willow Village" in listed and "Birch Village" not in listed
    assert f"/audit/flags/{seeded.north}" in listed and f"/audit/flags/{seeded.south}" not in \
        listed
    assert "1 flag(s) in your scope" in listed

    # The other township's flag by URL: the same 404 as no flag at all, to read or to act on.
    theirs = await browser_of.get(f"/audit/flags/{seeded.south}")
    assert browser_of.status == 404 and "Birch" not in theirs
    await browser_of.get("/audit/flags/999999")
    assert browser_of.status == 404
    page = await browser_of.get(f"/audit/flags/{seeded.north}")
    await browser_of.post(f"/audit/flags/{seeded.south}/dismiss",
                          {"csrf": csrf_of(page), "reason": "looks fine"})
    assert browser_of.status == 404
    assert (await _flag(db, seeded.south)).dismissed_at is None

    # No reason: refused with a clear message, nothing changes.
    refused = await browser_of.post(f"/audit/flags/{seeded.north}/dismiss",
                                    {"csrf": csrf_of(page), "reason": "   "})
    assert browser_of.status == 400 and "Say why, for the audit log." in refused
    assert (await _flag(db, seeded.north)).dismissed_at is None

    done = await browser_of.post(f"/audit/flags/{seeded.north}/dismiss",
                                 {"csrf": csrf_of(page), "reason": "a regular, known to staff"})
    assert browser_of.status == 200 and browser_of.url.endswith(f"/audit/flags/{seeded.north}")
    assert "Dismissed by Town Auditor" in done and "a regular, known to staff" in done
    assert "counts in scores from the next appraisal run" in done
    flag = await _flag(db, seeded.north)
    assert flag.dismissed_by == f"person:{person_id}"
    [event] = await audit(db, "anomaly.dismiss")
    assert event.actor == f"person:{person_id}" and event.after == {
        "dismissed": True, "why": "a regular, known to staff"}

    again = await browser_of.post(f"/audit/flags/{seeded.north}/dismiss",
                                  {"csrf": csrf_of(done), "reason": "twice"})
    assert browser_of.status == 400 and "dismissed already" in again
    restored = await browser_of.post(f"/audit/flags/{seeded.north}/restore",
                                     {"csrf": csrf_of(done), "reason": "seen again at the window"})
    assert browser_of.status == 200 and "Excludes its response from scores" in restored
    assert (await _flag(db, seeded.north)).dismissed_at is None
    [event] = await audit(db, "anomaly.restore")
    assert event.after == {"dismissed": False, "why": "seen again at the window"}
    assert not shows_number(restored, TOWN_AUDITOR)


async def test_the_auditors_pages_are_not_found_for_others(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    seeded = await flags(db)
    await _signed_in(client, db, browser_of, ADMIN, Role.ADMIN, None, "Admin Li")
    for path in (f"/audit/flags?period={PERIOD}", f"/audit/flags/{seeded.north}"):
        await browser_of.get(path)
        assert browser_of.status == 404, path
    await browser_of.get("/audit/appeals")
    assert browser_of.status == 200
    await browser_of.get("/audit/approvals")
    assert browser_of.status == 403
    bad = await browser_of.get("/audit/flags?period=2026-Q9")
    assert browser_of.status == 404 or "is not a period" in bad


async def test_the_audit_log_is_searched_by_record_and_checks_the_publication_heads(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    _, computer_id = await staff(client, db, COMPUTER, Role.AUDITOR, None, "Zhao Calc")
    await staff(client, db, ADMIN, Role.ADMIN, None, "Admin Li")
    await _signed_in(client, db, browser_of, AUDITOR, Role.AUDITOR, None, "Auditor Wang")
    asked = await awaiting(db, ADMIN, f"person:{computer_id}")

    # The confirmation step, then the approval: published, with the log's head.
    review = await browser_of.get("/audit/approvals")
    assert "Appraisal 2026-Q4, version 1" in review and "Asked for by Admin Li" in review
    confirm = await browser_of.get(f"/audit/approvals/{asked.request.id}")
    assert "Approve and publish this version now?" in confirm
    done = await browser_of.post(f"/audit/approvals/{asked.request.id}/approve",
                                 {"csrf": csrf_of(confirm)})
    assert browser_of.status == 200 and "is published" in done
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs(PERIOD)
    assert run.status == AppraisalStatus.PUBLISHED

    log = await browser_of.get("/audit/log")
    assert "Chain intact" in log and "reaching all 1 head(s)" in log
    found = await browser_of.get("/audit/log?q=2026-Q4")
    assert "appraisal.approve" in found and "appraisal.publish_request" in found
    assert "role.grant" not in found
    by_name = await browser_of.get("/audit/log?q=Zhao")
    assert "appraisal.run" in by_name and "Zhao Calc" in by_name
    assert not shows_number(log + found + by_name, AUDITOR)

    # The newest events deleted: the chain alone still verifies, the head does not.
    async with db.transaction() as uow:
        newest = await uow.session.scalar(select(func.max(AuditEvent.id)))
        await uow.session.execute(delete(AuditEvent).where(AuditEvent.id == newest))
    tampered = await browser_of.get("/audit/log")
    assert "Chain intact" not in tampered and "no longer reaches that head" in tampered


async def test_an_auditor_cannot_approve_their_own_run_and_may_refuse_with_a_reason(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    computer_id = await _signed_in(client, db, browser_of, COMPUTER, Role.AUDITOR, None,
                                   "Zhao Calc")
    await staff(client, db, ADMIN, Role.ADMIN, None, "Admin Li")
    asked = await awaiting(db, ADMIN, f"person:{computer_id}")
    review = await browser_of.get("/audit/approvals")
    assert "You asked for it or computed it" in review
    assert f"/audit/approvals/{asked.request.id}" not in review
    own = await browser_of.get(f"/audit/approvals/{asked.request.id}")
    assert browser_of.status == 403 and "you cannot approve it" in own
    await browser_of.post(f"/audit/approvals/{asked.request.id}/approve",
                          {"csrf": csrf_of(review)})
    assert browser_of.status == 403
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs(PERIOD)
    assert run.status == AppraisalStatus.DRAFT

    # A township's auditor cannot vouch for every unit.
    town = WebClient(web_bot.web_url)
    try:
        await _signed_in(client, db, town, TOWN_AUDITOR, Role.AUDITOR, "T1", "Town Auditor")
        await town.get("/audit/approvals")
        assert town.status == 403
        await town.get("/audit/log")
        assert town.status == 403
    finally:
        await town.close()

    other = WebClient(web_bot.web_url)
    try:
        await _signed_in(client, db, other, AUDITOR, Role.AUDITOR, None, "Auditor Wang")
        page = await other.get(f"/audit/approvals/{asked.request.id}")
        empty = await other.post(f"/audit/approvals/{asked.request.id}/refuse",
                                 {"csrf": csrf_of(page), "reason": ""})
        assert other.status == 403 and "Say why the publication is refused" in empty
        refused = await other.post(f"/audit/approvals/{asked.request.id}/refuse",
                                   {"csrf": csrf_of(page), "reason": "the KPI file is late"})
        assert other.status == 200 and "stays a draft" in refused
    finally:
        await other.close()
    [event] = await audit(db, "appraisal.refuse")
    assert event.after is not None and event.after["why"] == "the KPI file is late"


async def test_an_admin_asks_for_the_publication_of_a_draft(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    from surveys.appraisal.run import run_appraisal
    from tests.storage.test_appraisal_run import options

    await _signed_in(client, db, browser_of, ADMIN, Role.ADMIN, None, "Admin Li")
    home = await browser_of.get("/")
    assert 'href="/audit/drafts"' in home and 'href="/audit/flags"' not in home
    empty = await browser_of.get("/audit/drafts")
    assert "No draft awaits a request for publication" in empty
    await run_appraisal(db, PERIOD, options(), actor="test")
    page = await browser_of.get("/audit/drafts")
    assert "Appraisal 2026-Q4, version 1" in page and "four eyes" in page
    async with db.reading() as uow:
        [run] = await uow.appraisal.runs(PERIOD)
    asked = await browser_of.post(f"/audit/drafts/{run.id}/ask", {"csrf": csrf_of(page)})
    assert browser_of.status == 200 and "awaits an auditor's approval" in asked
    async with db.reading() as uow:
        pending = await uow.appraisal.pending_requests()
    assert [r.id for r, _ in pending] == [run.id]
    assert "Appraisal 2026-Q4" not in await browser_of.get("/audit/drafts")
    again = await browser_of.post(f"/audit/drafts/{run.id}/ask", {"csrf": csrf_of(page)})
    assert browser_of.status == 403 and "already awaits an auditor's approval" in again

    # A township's admin cannot ask for it (a publication covers every unit).
    town = WebClient(web_bot.web_url)
    try:
        await _signed_in(client, db, town, ADMIN + 10, Role.ADMIN, "T1", "Town Admin")
        refused = await town.get("/audit/drafts")
        assert town.status == 403 and "Only an admin for all units" in refused
    finally:
        await town.close()


async def test_the_flags_page_in_chinese(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await flags(db)
    await staff(client, db, AUDITOR, Role.AUDITOR, None, "王审计")
    home = await browser_of.sign_in_with_link(await _link(client, AUDITOR, "王审计", "zh"))
    assert "异常标记" in home and "审计日志" in home
    page = await browser_of.get(f"/audit/flags?period={PERIOD}")
    assert "异常标记 · 2026-Q4" in page and "您范围内共 2 个标记" in page
    log = await browser_of.get("/audit/log")
    assert "链完整" in log


async def test_appeals_are_listed_with_their_answers_within_the_scope(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    from datetime import UTC, datetime

    from storage.models import Appeal, AppealStatus, AppraisalResult
    from tests.e2e.fieldwork import make_cadre
    from tests.e2e.supervision import south_township
    from tests.e2e.test_results_chat import cadre_result

    await south_township(db)
    cadre = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, cadre, 61.0, "fair")
    _, reviewer = await staff(client, db, ADMIN, Role.ADMIN, None, "Admin Li")
    at = datetime(2026, 10, 2, 9, 0, tzinfo=UTC)
    async with db.transaction() as uow:
        result_id = await uow.session.scalar(select(AppraisalResult.id))
        assert result_id is not None
        uow.session.add(Appeal(
            result_id=result_id, person_id=cadre, reason="The road survey missed our repairs",
            status=AppealStatus.REJECTED, created_at=at, answer="The repairs came after Q3",
            answered_by=reviewer, answered_at=at))

    await _signed_in(client, db, browser_of, TOWN_AUDITOR, Role.AUDITOR, "T1", "Town Auditor")
    page = await browser_of.get("/audit/appeals")
    assert browser_of.status == 200
    for part in ("Cadre Wang", "2026-Q3", "The road survey missed our repairs",
                 "Rejected by Admin Li on 2026-10-02: The repairs came after Q3"):
        assert part in page, part
    assert not shows_number(page, CADRE)

    south = WebClient(web_bot.web_url)
    try:
        await _signed_in(client, db, south, AUDITOR, Role.AUDITOR, "T2", "South Auditor")
        theirs = await south.get("/audit/appeals")
        assert "No appeals in your scope." in theirs and "Cadre Wang" not in theirs
    finally:
        await south.close()


async def test_the_flags_come_a_page_at_a_time(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    from tests.storage.test_appraisal_run import MID

    seeded = await flags(db)
    async with db.transaction() as uow:
        # More kinds of flag on the north response: 56 flags in all, two pages.
        for i in range(54):
            uow.session.add(AnomalyFlag(response_id=seeded.north_response, kind=f"kind{i:02d}",
                                        reason=f"made up {i:02d}", detected_at=MID))
    await _signed_in(client, db, browser_of, AUDITOR, Role.AUDITOR, None, "Auditor Wang")
    first = await browser_of.get(f"/audit/flags?period={PERIOD}")
    assert browser_of.status == 200
    assert "56 flag(s) in your scope" in first and "1–50 of 56 (page 1 of 2)" in first
    assert first.count('<a href="/audit/flags/') == 2 * 50, "a response link and Review each"
    assert f'href="/audit/flags?period={PERIOD}&amp;page=2"' in first
    assert "‹ Previous" not in first
    second = await browser_of.get(f"/audit/flags?period={PERIOD}&page=2")
    assert browser_of.status == 200 and "51–56 of 56 (page 2 of 2)" in second
    assert second.count('<a href="/audit/flags/') == 2 * 6
    assert f'href="/audit/flags?period={PERIOD}"' in second and "Next ›" not in second
    # By unit: Willow Village's 55 first, then Birch Village's.
    assert f'href="/audit/flags/{seeded.south}"' in second and "Birch Village" not in first
    # Past the end: the last page; not a page number: not found.
    past = await browser_of.get(f"/audit/flags?period={PERIOD}&page=9")
    assert browser_of.status == 200 and "51–56 of 56" in past
    await browser_of.get(f"/audit/flags?period={PERIOD}&page=two")
    assert browser_of.status == 404


async def test_the_appeals_come_a_page_at_a_time_newest_first(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.models import Appeal, AppealStatus, AppraisalResult
    from tests.e2e.fieldwork import make_cadre
    from tests.e2e.test_results_chat import detail, seed_run, unit_id

    cadre = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    willow = await unit_id(db, "V1")
    run_id = await seed_run(db, "2026-Q3", AppraisalStatus.PUBLISHED, [
        {"kind": "cadre", "unit_id": willow, "person_id": cadre,
         "detail": detail("Cadre Wang", ("V1", "Willow Village"), score=60.0 + i,
                          grade="fair")} for i in range(55)])
    at = datetime(2026, 10, 2, 9, 0, tzinfo=UTC)
    async with db.transaction() as uow:
        results = (await uow.session.scalars(select(AppraisalResult.id).where(
            AppraisalResult.run_id == run_id).order_by(AppraisalResult.id))).all()
        for i, result_id in enumerate(results):
            uow.session.add(Appeal(result_id=result_id, person_id=cadre,
                                   reason=f"Appeal number {i:02d} of the cadre",
                                   status=AppealStatus.OPEN, created_at=at + timedelta(hours=i)))
    await _signed_in(client, db, browser_of, TOWN_AUDITOR, Role.AUDITOR, "T1", "Town Auditor")
    first = await browser_of.get("/audit/appeals")
    assert browser_of.status == 200
    assert "55 appeal(s) in your scope" in first and "1–50 of 55" in first
    assert "Appeal number 54 of the cadre" in first, "the newest first"
    assert "Appeal number 04 of the cadre" not in first
    assert 'href="/audit/appeals?page=2"' in first and "Willow Village" in first
    second = await browser_of.get("/audit/appeals?page=2")
    assert browser_of.status == 200 and "51–55 of 55" in second
    for i in range(5):
        assert f"Appeal number {i:02d} of the cadre" in second
    assert "Appeal number 05 of the cadre" not in second
    assert not shows_number(first + second, CADRE)

    south = WebClient(web_bot.web_url)
    try:
        from tests.e2e.supervision import south_township

        await south_township(db)
        await _signed_in(client, db, south, AUDITOR, Role.AUDITOR, "T2", "South Auditor")
        theirs = await south.get("/audit/appeals")
        assert "No appeals in your scope." in theirs and "Appeal number" not in theirs
    finally:
        await south.close()


async def test_the_audit_log_pages_back_and_checks_only_what_is_new(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    """Older events a page at a time; the chain's check goes on from the last one (the page
    reads only the events added since), and sees one of them edited."""
    await _signed_in(client, db, browser_of, AUDITOR, Role.AUDITOR, None, "Auditor Wang")
    async with db.transaction() as uow:
        for i in range(60):
            await uow.audit.record("test", "test.step", "step", i, after={"step": i})
    log = await browser_of.get("/audit/log")
    assert "Chain intact" in log and "The 50 newest events." in log
    assert "test.step" in log and "Older events ›" in log
    async with db.reading() as uow:
        events = await uow.audit.recent(200)
    total = len(events)
    assert f"Chain intact: {total} event(s)" in log
    oldest_shown = events[49].id
    older = await browser_of.get(f"/audit/log?before={oldest_shown}")
    assert browser_of.status == 200
    assert f"older than #{oldest_shown}" in older and "← The newest events" in older
    assert "Chain intact" in older
    await browser_of.get("/audit/log?before=x")
    assert browser_of.status == 404

    # New events are checked as they come: one edited before the page saw it breaks the chain.
    async with db.transaction() as uow:
        late = await uow.audit.record("test", "test.step", "step", "late", after={"step": 1})
    again = await browser_of.get("/audit/log")
    assert f"Chain intact: {total + 1} event(s)" in again
    async with db.transaction() as uow:
        edited = await uow.audit.record("test", "test.step", "step", "edited", after={"n": 2})
        await uow.session.flush()
        await uow.session.execute(update(AuditEvent).where(AuditEvent.id == edited.id)
                                  .values(actor="someone-else"))
    tampered = await browser_of.get("/audit/log")
    assert "Chain intact" not in tampered
    assert f"The chain breaks at event {edited.id}" in tampered and late.id < edited.id
