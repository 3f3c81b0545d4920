"""The dashboard's campaign pages, through the real Application, the sandbox and a real
database, read over HTTP as a browser would: the list and a campaign's progress in the
admin's scope (another township's campaign, its close action, its poster and QR code by URL
are 404, and nothing is closed), creation with the form (bad input said on the form, units
outside the scope refused), closing only after the confirmation's form with its CSRF token,
and an auditor who reads but neither creates nor closes."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from sandbox import SandboxClient
from storage.models import (
    AuditEvent,
    Campaign,
    CampaignStatus,
    Contact,
    EntryPoint,
    OutboxMessage,
    OutboxStatus,
    PersonRole,
    Response,
    ResponseStatus,
    Role,
)
from storage.uow import Database
from surveys.campaigns.admin import create_campaign
from surveys.people.units import UnitRow, import_units
from surveys.questionnaire.loader import load_template
from tests.conftest import TEST_UNITS
from tests.e2e.conftest import Bot
from tests.e2e.test_admin_chat import subscribe
from tests.e2e.test_campaign_operations import leading
from tests.e2e.test_results_chat import staff
from tests.e2e.web import WebClient, csrf_of, shows_number

pytestmark = pytest.mark.e2e

ADMIN_T1, AUDITOR, RESIDENT = 9611, 9612, 9614
PNG = b"\x89PNG\r\n\x1a\n"
SOUTH = [UnitRow("T2", "South Township", "C1", "township", 15_000, 5),
         UnitRow("V3", "Oak Village", "T2", "village", 900, 6)]


@pytest.fixture
async def browser_of(web_bot: Bot) -> AsyncIterator[WebClient]:
    client = WebClient(web_bot.web_url)
    try:
        yield client
    finally:
        await client.close()


async def south_campaign(db: Database, bot: Bot, code: str = "oak") -> None:
    """Another township, with a campaign of its own."""
    async with db.transaction() as uow:
        await import_units(uow, [*TEST_UNITS, *SOUTH], actor="test")
        now = bot.clock()
        await create_campaign(uow, survey=load_template("resident_satisfaction"),
                              unit_code="V3", code=code, opens_at=now - timedelta(minutes=1),
                              closes_at=now + timedelta(days=10), now=now, actor="test")


async def campaign_with_progress(db: Database, bot: Bot, code: str = "willow-q4") -> None:
    """A campaign of Willow Village opened 12 days ago: completed responses on most days
    (through the main link, the invitations and a service window's poster), some left
    unfinished, and its invitations sent, failed and dropped."""
    now = bot.clock()
    opened = now - timedelta(days=12)
    async with db.transaction() as uow:
        await create_campaign(uow, survey=load_template("resident_satisfaction"),
                              unit_code="V1", code=code, opens_at=opened,
                              closes_at=now + timedelta(days=9), now=now, actor="test")
        campaign = await uow.campaigns.by_code(code)
        assert campaign is not None
        uow.session.add(EntryPoint(campaign_id=campaign.id, name="window2",
                                   label="Service window 2"))
        per_day = [2, 5, 9, 7, 4, 0, 3, 6, 11, 8, 5, 2, 1]
        n = 0
        for day, count in enumerate(per_day):
            for i in range(count):
                entry = ("window2", None, "invite")[i % 3]
                uow.session.add(Response(
                    campaign_id=campaign.id, survey_id=campaign.survey_id,
                    respondent_key=f"{n:064d}", status=ResponseStatus.COMPLETED,
                    language="en", started_at=opened + timedelta(days=day),
                    completed_at=opened + timedelta(days=day), entry_point=entry))
                n += 1
        for i in range(9):
            uow.session.add(Response(
                campaign_id=campaign.id, survey_id=campaign.survey_id,
                respondent_key=f"{1000 + i:064d}", status=ResponseStatus.IN_PROGRESS,
                language="en", started_at=now - timedelta(hours=2), completed_at=None))
        for i, status in enumerate([OutboxStatus.SENT] * 40 + [OutboxStatus.FAILED] * 2
                                   + [OutboxStatus.SKIPPED] * 3):
            contact = Contact(telegram_user_id=880_000 + i, chat_id=880_000 + i, language="en")
            uow.session.add(contact)
            await uow.session.flush()
            uow.session.add(OutboxMessage(campaign_id=campaign.id, contact_id=contact.id,
                                          kind="invite", status=status, due_at=opened,
                                          sent_at=opened if status == OutboxStatus.SENT
                                          else None))


async def signed_in(client: SandboxClient, db: Database, browser: WebClient, user_id: int,
                    role: Role, unit: str | None, name: str, lang: str = "en") -> str:
    """The person, given the role, signs in with a /dashboard link; their home page."""
    user, _ = await staff(client, db, user_id, role, unit, name)
    if lang != "en":
        user = await client.user(user_id, name, language_code=lang)
    await user.send("/dashboard")
    reply = await user.wait_for_message("/signin/")
    found = re.search(r"https?://\S+/signin/[A-Za-z0-9_-]+", reply.text)
    assert found is not None, reply.text
    home = await browser.sign_in_with_link(found.group(0))
    assert browser.status == 200 and name in home
    return home


async def status_of(db: Database, code: str) -> CampaignStatus | None:
    async with db.reading() as uow:
        campaign = await uow.campaigns.by_code(code)
        return None if campaign is None else campaign.status


async def test_an_admin_sees_the_campaigns_of_the_township_and_nothing_else(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await south_campaign(db, web_bot)
    home = await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    assert 'href="/campaigns"' in home

    listing = await browser_of.get("/campaigns")
    assert browser_of.status == 200
    assert "willow" in listing and "Willow Village" in listing and "open" in listing
    assert "oak" not in listing and "Oak Village" not in listing

    page = await browser_of.get("/campaign/willow")
    assert browser_of.status == 200
    for part in ("Campaign willow", "Riverside County › North Township › Willow Village",
                 "Completed", "Completion rate", "Margin of error at 95%",
                 "not yet (no completed responses)", "Invitations: none queued yet",
                 "main link", "https://t.me/", "<svg", "Close campaign…"):
        assert part in page, part
    assert not shows_number(page, ADMIN_T1)

    # Another township's campaign by URL: every page and action is "not found".
    for path in ("/campaign/oak", "/campaign/oak/close", "/campaign/oak/poster",
                 "/campaign/oak/qr.png", "/campaign/nope", "/campaign/bad!code",
                 "/campaign/willow/poster?entry=nope", "/campaign/willow/qr.png?entry=a.b"):
        page = await browser_of.get(path)
        assert browser_of.status == 404, path
        assert "Not found" in page and "Oak Village" not in page, path
    token = csrf_of(await browser_of.get("/campaigns"))
    page = await browser_of.post("/campaign/oak/close", {"csrf": token})
    assert browser_of.status == 404 and "Oak Village" not in page
    assert await status_of(db, "oak") == CampaignStatus.OPEN, "nothing was closed"


async def test_the_progress_counts_responses_by_day_and_entry_point(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    now = web_bot.clock()
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("willow")
        assert campaign is not None
        uow.session.add(EntryPoint(campaign_id=campaign.id, name="window2",
                                   label="Service window 2"))
        for i, (entry, status) in enumerate([("window2", ResponseStatus.COMPLETED)] * 3 + [
                (None, ResponseStatus.COMPLETED), (None, ResponseStatus.IN_PROGRESS)]):
            uow.session.add(Response(
                campaign_id=campaign.id, survey_id=campaign.survey_id,
                respondent_key=f"{i:064d}", status=status, language="en", started_at=now,
                completed_at=now if status == ResponseStatus.COMPLETED else None,
                entry_point=entry))
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    page = await browser_of.get("/campaign/willow")
    assert browser_of.status == 200
    assert re.search(r'<b class="big">4</b>', page), "4 completed"
    assert "80%" in page, "4 of 5 started were completed"
    assert "±" in page and "percentage points" in page
    assert f"{now:%Y-%m-%d}: 4</title>" in page, "today's bar"
    assert "Service window 2" in page and "?start=willow--window2" in page
    assert 'href="/campaign/willow/qr.png?entry=window2"' in page

    png = await browser_of.session.get(browser_of.base_url + "/campaign/willow/qr.png?entry="
                                       "window2")
    assert png.status == 200 and (await png.read()).startswith(PNG)
    assert png.headers["Content-Disposition"] == 'attachment; filename="willow--window2.png"'
    poster = await browser_of.get("/campaign/willow/poster?entry=window2")
    assert browser_of.status == 200
    assert "Service window 2" in poster and "/campaign/willow/qr.png?entry=window2" in poster
    assert "Scan with your phone" in poster


async def test_an_admin_creates_a_campaign_with_the_form_and_closes_it_after_confirming(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await south_campaign(db, web_bot)
    await subscribe(db, RESIDENT, "V2")
    resident = await client.user(RESIDENT, "Mei")
    await leading(web_bot)
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    form = await browser_of.get("/campaigns/new")
    assert browser_of.status == 200
    assert "North Township › Pine Village" in form and "South Township" not in form
    token = csrf_of(form)
    fields = {"csrf": token, "survey": "resident_satisfaction", "unit": "V2", "code": "pine-dec",
              "closes": "14d", "timezone": "Asia/Shanghai"}

    # Bad input is said on the form, which keeps what was typed; nothing is created.
    for change, said in (({"unit": "V3"}, "There is no unit “V3” among the units you"),
                         ({"unit": "C1"}, "There is no unit “C1”"),
                         ({"closes": "soon"}, "I cannot read the closing time “soon”"),
                         ({"closes": "2020-01-01"}, "is in the past"),
                         ({"timezone": "Mars/Base"}, "I do not know the time zone “Mars/Base”"),
                         ({"timezone": "America/Argentina"}, "the time zone “America/Argentina”"),
                         ({"code": "willow"}, "The code “willow” is already taken"),
                         ({"code": "a b"}, "cannot be used"),
                         ({"survey": "nope"}, "Please choose one of the surveys")):
        page = await browser_of.post("/campaigns/new", {**fields, **change})
        assert browser_of.status == 400 and said in page, (change, page[-2000:])
        assert 'value="pine-dec"' in page or change.get("code")
    assert await status_of(db, "pine-dec") is None

    page = await browser_of.post("/campaigns/new", fields)
    assert browser_of.status == 200 and browser_of.url.endswith("/campaign/pine-dec?done=created")
    assert "Campaign pine-dec is created" in page and "Pine Village" in page
    assert "Asia/Shanghai" in page
    async with db.reading() as uow:
        created = await uow.campaigns.by_code("pine-dec")
        assert created is not None and created.status == CampaignStatus.OPEN
        assert created.timezone == "Asia/Shanghai"
        assert created.closes_at is not None
        assert timedelta(days=13, hours=23) < created.closes_at - web_bot.clock() <= timedelta(
            days=14)
        events = (await uow.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "campaign.create", AuditEvent.entity_id == "pine-dec"))).all()
        assert len(events) == 1 and events[0].actor.startswith("person:")

    # The scheduler is told at once: the resident who chose Pine Village is invited.
    invitation = await resident.wait_for_message("would like your opinion")
    assert "Pine Village" in invitation.text

    # An empty code is suggested from the unit and the date.
    page = await browser_of.post("/campaigns/new", {**fields, "code": "", "closes": ""})
    assert browser_of.status == 200 and "/campaign/v2-" in browser_of.url

    # Closing: the page asks first; the form without its token changes nothing.
    confirm = await browser_of.get("/campaign/pine-dec/close")
    assert browser_of.status == 200 and "Close campaign pine-dec?" in confirm
    assert "stops taking answers at once" in confirm
    await browser_of.post("/campaign/pine-dec/close", {})
    assert browser_of.status == 403
    assert await status_of(db, "pine-dec") == CampaignStatus.OPEN
    page = await browser_of.post("/campaign/pine-dec/close", {"csrf": csrf_of(confirm)})
    assert browser_of.status == 200 and "Campaign pine-dec is closed" in page
    assert await status_of(db, "pine-dec") == CampaignStatus.CLOSED
    assert "Close campaign…" not in page
    page = await browser_of.post("/campaign/pine-dec/close", {"csrf": csrf_of(confirm)})
    assert browser_of.status == 409 and "already closed" in page


async def test_an_auditor_reads_campaigns_but_neither_creates_nor_closes(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await signed_in(client, db, browser_of, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")
    listing = await browser_of.get("/campaigns")
    assert browser_of.status == 200 and "willow" in listing and "/campaigns/new" not in listing
    page = await browser_of.get("/campaign/willow")
    assert browser_of.status == 200 and "Close campaign…" not in page
    for path in ("/campaigns/new", "/campaign/willow/close"):
        await browser_of.get(path)
        assert browser_of.status == 404, path
    await browser_of.post("/campaign/willow/close", {"csrf": csrf_of(listing)})
    assert browser_of.status == 404
    await browser_of.post("/campaigns/new", {"csrf": csrf_of(listing), "survey":
                                             "resident_satisfaction", "unit": "V1",
                                             "code": "by-auditor", "closes": "",
                                             "timezone": "UTC"})
    assert browser_of.status == 404
    assert await status_of(db, "willow") == CampaignStatus.OPEN
    assert await status_of(db, "by-auditor") is None


async def test_a_cadre_and_nobody_signed_in_see_no_campaign(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await browser_of.get("/campaigns")
    assert browser_of.status == 401
    await browser_of.get("/campaign/willow")
    assert browser_of.status == 401
    from tests.e2e.fieldwork import make_cadre

    await make_cadre(db, 9613, "V1", "Cadre Wang")
    cadre = await client.user(9613, "Wang")
    await cadre.send("/dashboard")
    reply = await cadre.wait_for_message("/signin/")
    found = re.search(r"https?://\S+/signin/[A-Za-z0-9_-]+", reply.text)
    assert found is not None
    await browser_of.sign_in_with_link(found.group(0))
    for path in ("/campaigns", "/campaign/willow", "/campaigns/new",
                 "/campaign/willow/qr.png", "/cadres"):
        await browser_of.get(path)
        assert browser_of.status == 404, path


async def test_a_campaign_with_progress_shows_its_figures(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await campaign_with_progress(db, web_bot)
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    page = await browser_of.get("/campaign/willow-q4")
    assert browser_of.status == 200
    assert '<b class="big">63</b>' in page and "88%" in page, "63 of 72 started"
    assert "Tallest bar: 11 responses" in page
    assert page.count('<rect class="bar"') == 13, "a bar a day since the opening"
    for part in ("40 sent</span>, <span class=\"delivery delivery-failed\">2 failed", "3 dropped",
                 "invitations", "Service window 2"):
        assert part in page, part


async def test_the_cadres_page_lists_the_profiles_of_the_admins_units_only(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    from tests.e2e.fieldwork import make_cadre

    await south_campaign(db, web_bot)
    await make_cadre(db, 9621, "V1", "Cadre Wang", tasks=["Repair the Willow bridge"])
    await make_cadre(db, 9622, "V3", "Cadre Zhou", tasks=["Oak well"])
    home = await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    assert 'href="/cadres"' in home
    page = await browser_of.get("/cadres")
    assert browser_of.status == 200
    for part in ("Cadre Wang", "Willow Village", "Repair the Willow bridge", "✅ linked",
                 "1 shown of 1"):
        assert part in page, part
    assert "Cadre Zhou" not in page and "Oak well" not in page
    assert "9621" not in page, "no Telegram id"


async def test_the_campaign_pages_in_chinese(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await campaign_with_progress(db, web_bot)
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu", "zh")
    page = await browser_of.get("/campaign/willow-q4")
    assert browser_of.status == 200
    for part in ("调查活动 willow-q4", "已完成", "95% 置信度下的误差范围", "最高的柱：11 份答卷",
                 "参与入口", "海报"):
        assert part in page, part
    form = await browser_of.get("/campaigns/new")
    assert "新建调查活动" in form and "结束时间" in form


async def test_campaign_in_chat_opens_its_page_in_the_mini_app(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    """``/campaign CODE`` keeps its short summary and its buttons, with "📊 Open the full
    report" on top, which opens that campaign's page, signed in by the Mini App's initData."""
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    await admin.send("/campaign willow")
    summary = await admin.wait_for_message("willow")
    assert len(summary.text.splitlines()) <= 12, summary.text
    rows = [[label for label, _ in row] for row in summary.buttons]
    assert rows[0] == ["📊 Open the full report"] and len(rows) > 1, rows
    page = await browser_of.open_mini_app(await admin.open_web_app("📊 Open the full report"))
    assert browser_of.status == 200
    assert "Campaign willow" in page and "Margin of error at 95%" in page
    assert not shows_number(page, ADMIN_T1)


# --- long lists: a page at a time, narrowed by status and a unit a level at a time -----------

COUNTY_ADMIN = 9615
_ROW = re.compile(r'<td data-label="[^"]*"><a href="/campaign/([^"]+)">')
_HREF = re.compile(r'href="(/(?:campaigns|cadres)[^"]*)"')


def rows_of(page: str) -> list[str]:
    return _ROW.findall(page)


def links_of(page: str) -> set[str]:
    return {html.unescape(link) for link in _HREF.findall(page)}


async def many_campaigns(db: Database, bot: Bot, closed: int) -> None:
    """South Township too; ``closed`` closed campaigns alternating between Pine Village and
    Oak Village, opened an hour apart, newest first by code."""
    survey = load_template("resident_satisfaction")
    async with db.transaction() as uow:
        await import_units(uow, [*TEST_UNITS, *SOUTH], actor="test")
        now = bot.clock()
        for i in range(closed):
            opens = now - timedelta(days=1, hours=i)
            await create_campaign(uow, survey=survey, unit_code=("V2", "V3")[i % 2],
                                  code=f"old-{i:03d}", opens_at=opens,
                                  closes_at=now + timedelta(days=1), now=opens, actor="test")
        await uow.session.execute(
            update(Campaign).where(Campaign.code.like("old-%"))
            .values(status=CampaignStatus.CLOSED, closed_at=now - timedelta(hours=1)))


async def test_the_campaigns_come_a_page_at_a_time_open_ones_first(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await many_campaigns(db, web_bot, 60)
    await signed_in(client, db, browser_of, COUNTY_ADMIN, Role.ADMIN, None, "Admin Ma")
    first = await browser_of.get("/campaigns")
    assert browser_of.status == 200
    assert rows_of(first)[:3] == ["willow", "old-000", "old-001"], "open first, then newest"
    assert len(rows_of(first)) == 50
    for part in ("50 shown of 61", "Page 1 of 2 · 1–50 of 61", "All (61)", "open (1)",
                 "closed (60)", "scheduled (0)"):
        assert part in first, part
    assert "/campaigns?page=2" in links_of(first) and "← Previous" not in first

    second = await browser_of.get("/campaigns?page=2")
    assert browser_of.status == 200
    assert rows_of(second) == [f"old-{i:03d}" for i in range(49, 60)]
    assert "Page 2 of 2 · 51–61 of 61" in second and "Next →" not in second
    assert 'rel="prev" href="/campaigns"' in second
    # Past the end (the list shrank since the link was made): the last page.
    assert rows_of(await browser_of.get("/campaigns?page=9")) == rows_of(second)

    closed = await browser_of.get("/campaigns?status=closed")
    assert rows_of(closed)[0] == "old-000" and "willow" not in rows_of(closed)
    assert "<b>closed (60)</b>" in closed and "/campaigns?status=closed&page=2" in links_of(closed)
    scheduled = await browser_of.get("/campaigns?status=scheduled")
    assert rows_of(scheduled) == [] and "Nothing to show with this choice." in scheduled

    for wrong in ("?page=0", "?page=two", "?status=finished", "?unit=abc", "?unit=999999"):
        await browser_of.get("/campaigns" + wrong)
        assert browser_of.status == 404, wrong


async def test_the_campaigns_narrow_to_a_unit_a_level_at_a_time(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await many_campaigns(db, web_bot, 6)
    async with db.reading() as uow:
        units = {u.code: u.id for u in await uow.units.all()}
    await signed_in(client, db, browser_of, COUNTY_ADMIN, Role.ADMIN, None, "Admin Ma")
    county = await browser_of.get("/campaigns?status=closed")
    south = f"/campaigns?status=closed&unit={units['T2']}"
    assert "Units below" in county and south in links_of(county)
    assert f"/campaigns?status=closed&unit={units['T1']}" in links_of(county)

    page = await browser_of.get(south)
    assert browser_of.status == 200
    assert rows_of(page) == ["old-001", "old-003", "old-005"], "Oak Village's only"
    assert "Within Riverside County › South Township" in page and "↑ Up a level" in page
    assert f"/campaigns?status=closed&unit={units['C1']}" in links_of(page)
    assert f"/campaigns?unit={units['T2']}" in links_of(page), "the status filter lifts"
    assert f"/campaigns?status=closed&unit={units['V3']}" in links_of(page)
    oak = await browser_of.get(f"/campaigns?unit={units['V3']}")
    assert rows_of(oak) == ["old-001", "old-003", "old-005"] and "Units below" not in oak


async def test_a_township_admin_cannot_widen_the_list_past_the_township(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await many_campaigns(db, web_bot, 6)
    async with db.reading() as uow:
        units = {u.code: u.id for u in await uow.units.all()}
    await signed_in(client, db, browser_of, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    page = await browser_of.get("/campaigns")
    assert rows_of(page) == ["willow", "old-000", "old-002", "old-004"]
    assert "↑ Up a level" not in page and "Within" not in page
    assert f"/campaigns?unit={units['V2']}" in links_of(page)
    for unit in ("C1", "T2", "V3"):
        page = await browser_of.get(f"/campaigns?unit={units[unit]}")
        assert browser_of.status == 404 and "Oak Village" not in page, unit
    pine = await browser_of.get(f"/campaigns?unit={units['V2']}")
    assert rows_of(pine) == ["old-000", "old-002", "old-004"]
    assert f"/campaigns?unit={units['T1']}" in links_of(pine), "up to the township"


async def test_the_cadres_come_a_page_at_a_time_and_narrow_to_a_unit(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await many_campaigns(db, web_bot, 0)
    async with db.transaction() as uow:
        units = {u.code: u.id for u in await uow.units.all()}
        for i in range(55):
            person = await uow.cadres.create(f"Cadre {i:02d}", "Village head")
            uow.session.add(PersonRole(person_id=person.id, role=Role.CADRE,
                                       unit_id=units[("V1", "V3")[i % 2]]))
    await signed_in(client, db, browser_of, COUNTY_ADMIN, Role.ADMIN, None, "Admin Ma")
    first = await browser_of.get("/cadres")
    assert browser_of.status == 200
    names = re.findall(r"<b>(Cadre \d+)</b>", first)
    assert names == [f"Cadre {i:02d}" for i in range(50)]
    assert "50 shown of 55" in first and "Page 1 of 2 · 1–50 of 55" in first
    second = await browser_of.get("/cadres?page=2")
    assert re.findall(r"<b>(Cadre \d+)</b>", second) == [f"Cadre {i}" for i in range(50, 55)]
    assert 'rel="prev" href="/cadres"' in second
    assert f"/cadres?unit={units['T2']}" in links_of(first)
    oak = await browser_of.get(f"/cadres?unit={units['V3']}")
    assert re.findall(r"<b>(Cadre \d+)</b>", oak) == [f"Cadre {i:02d}" for i in range(1, 55, 2)]
    assert "Within Riverside County › South Township › Oak Village" in oak
    assert "Page" not in oak, "one page: no pager"
    for wrong in ("?page=x", "?unit=0", "?unit=999999"):
        await browser_of.get("/cadres" + wrong)
        assert browser_of.status == 404, wrong

    await browser_of.close()
    township = WebClient(web_bot.web_url)
    try:
        await signed_in(client, db, township, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
        page = await township.get("/cadres")
        assert "28 shown of 28" in page and "Cadre 01" not in page
        await township.get(f"/cadres?unit={units['V3']}")
        assert township.status == 404
    finally:
        await township.close()


async def test_the_long_lists_in_chinese(
    web_bot: Bot, client: SandboxClient, db: Database, browser_of: WebClient,
) -> None:
    await many_campaigns(db, web_bot, 60)
    await signed_in(client, db, browser_of, COUNTY_ADMIN, Role.ADMIN, None, "Admin Ma", "zh")
    page = await browser_of.get("/campaigns?page=2")
    for part in ("第 2 页，共 2 页", "← 上一页", "全部 (61)", "已结束 (60)", "下级单位"):
        assert part in page, part
