"""A unit's public page (/p/SLUG) through the running bot, read over HTTP with no sign-in: the
published results of the unit and the units below it, groups under the privacy minimum
said to be "fewer than N responses" and never counted, no cadre and no Telegram id, only
published versions, English and Chinese, cacheable and without a cookie; and the link to it
in the thanks after a poll, when web.public_url is set."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import pytest
import qrcode
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from bot.app import web_server_of
from bot.settings import WebSection
from sandbox import BotApiSandbox, SandboxClient
from storage.models import AppraisalStatus, CaseOutcome, CaseStatus
from storage.uow import Database
from surveys.appraisal.public import SAID_KEPT
from tests.cases.factories import add_case
from tests.conftest import seed_campaign
from tests.e2e.conftest import Bot, Clock
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_admin_chat import assert_printable_qr, photo
from tests.e2e.test_admin_chat import staff as admin_staff
from tests.e2e.test_resident_journey import answer_all, tap_and_wait
from tests.e2e.test_results_chat import cadre_result, detail, ranking, seed_run, unit_id
from tests.e2e.test_you_said_we_did import DAY, PAST, PRIVATE, QUOTED, seed_cases
from tests.e2e.web import WebClient, shows_number

pytestmark = pytest.mark.e2e

CADRE, RESIDENT = 9601, 9602
PUBLIC = "https://pulse.example.org"


@pytest.fixture
async def visitor(web_bot: Bot) -> AsyncIterator[WebClient]:
    client = WebClient(web_bot.web_url)
    try:
        yield client
    finally:
        await client.close()


def row_of(page: str, name: str) -> str:
    """The table row of the unit ``name`` on the page, its tags stripped."""
    found = re.search(r"<tr[^>]*>(?:(?!</tr>).)*?" + re.escape(name) + r".*?</tr>", page, re.S)
    assert found is not None, f"no row for {name}"
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


async def published(db: Database) -> int:
    """Two published quarters (the cadre's results among them) and a draft of a third."""
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await ranking(db, "2026-Q2", cadre_id=person_id)
    await ranking(db, "2026-Q3", cadre_id=person_id)
    await cadre_result(db, "2026-Q4", AppraisalStatus.DRAFT, person_id, 99.0, "excellent")
    return person_id


QUARTERS = {  # period: (North Township, Willow Village)
    "2025-Q4": (63.0, 70.5), "2026-Q1": (66.5, 74.0), "2026-Q2": (70.0, 78.5),
    "2026-Q3": (74.0, 81.5)}


NAMES_ZH = {"C1": "河滨县", "T1": "北镇", "V1": "柳村", "V2": "松村"}


async def seed_quarters(db: Database) -> None:
    """Four published quarters of the township T1 and its villages (Pine Village, V2, always
    under the privacy minimum with 4 responses), a cadre's result in each, and the cases of
    2026-Q3 (tests/e2e/test_you_said_we_did.py)."""
    await seed_cases(db)
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Zhao")
    async with db.transaction() as uow:  # the Chinese names a county would give its units
        for code, name_zh in NAMES_ZH.items():
            unit = await uow.units.by_code(code)
            assert unit is not None
            unit.name_zh = name_zh
    for period, (township, village) in QUARTERS.items():
        rows = [
            {"kind": "unit", "unit_id": await unit_id(db, "T1"),
             "detail": detail("North Township", ("T1", "North Township"), score=township,
                              grade="good" if township >= 70 else "fair", rank=2, ranked=3)},
            {"kind": "unit", "unit_id": await unit_id(db, "V1"),
             "detail": detail("Willow Village", ("V1", "Willow Village"), score=village,
                              grade="good", rank=1, ranked=3, recognition=village > 80)},
            {"kind": "unit", "unit_id": await unit_id(db, "V2"),
             "detail": detail("Pine Village", ("V2", "Pine Village"), score=None, grade=None,
                              status="not_enough_responses", rank=None, responses=4)},
            {"kind": "cadre", "unit_id": await unit_id(db, "V1"), "person_id": person_id,
             "detail": detail("Cadre Zhao", ("V1", "Willow Village"), score=village,
                              grade="good", rank=1, ranked=1)}]
        await seed_run(db, period, AppraisalStatus.PUBLISHED, rows)


async def test_you_said_we_did_and_the_trend_over_four_quarters(
    web_bot: Bot, db: Database, visitor: WebClient,
) -> None:
    await seed_quarters(db)
    page = await visitor.get("/p/t1")
    assert visitor.status == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
    for part in ("You said, we did · 2026-Q3", "Cases raised: 8",
                 "Solved on time: 5 of 7 (71%)", "By category: Roads and lighting 7 · Other 1",
                 f"You said: “{QUOTED}”", "We did: Replaced the lamp by the school gate",
                 "We did: Repainted the crossing"):
        assert part in text, part
    assert PRIVATE not in text, "a resident's words only where they agreed to be quoted"
    assert "County-only work" not in text, "the county's own cases are not the township's"
    assert "/results CODE" not in text
    assert "Cadre Zhao" not in text and "Cadre Wang" not in text
    for period in QUARTERS:
        assert period in text
    assert page.count('<circle class="dot"') == 4


def text_of(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page).split())


async def publish(db: Database, period: str, township: float, version: int = 1,
                  superseding: int | None = None) -> int:
    """A version of ``period`` with the township's result, published as the use case does
    it: audited in the same transaction (and the version it replaces superseded)."""
    rows = [{"kind": "unit", "unit_id": await unit_id(db, "T1"),
             "detail": detail("North Township", ("T1", "North Township"), score=township,
                              grade="good", rank=1, ranked=1)}]
    run_id = await seed_run(db, period, AppraisalStatus.DRAFT, rows, version=version)
    async with db.transaction() as uow:
        if superseding is not None:
            await uow.appraisal.set_status(superseding, AppraisalStatus.SUPERSEDED)
        await uow.appraisal.set_status(run_id, AppraisalStatus.PUBLISHED,
                                       published_at=uow.clock(), published_by="test")
        await uow.audit.record("test", "appraisal.publish", "appraisal_run", run_id, after={})
    return run_id


async def test_a_new_publication_shows_at_once_though_pages_are_kept(
    web_bot: Bot, db: Database, visitor: WebClient,
) -> None:
    await published(db)
    for _ in range(2):  # the second is the kept page
        page = text_of(await visitor.get("/p/t1"))
        assert "2026-Q3 · version 1" in page and "74.0" in page
    first = await publish(db, "2027-Q1", 88.5)
    page = text_of(await visitor.get("/p/t1"))
    assert visitor.status == 200
    assert "2027-Q1 · version 1" in page and "88.5" in page, "published: shown at once"
    assert "2026-Q3" in page, "the earlier periods still linked"
    # A correction (version 2) supersedes version 1: only the new one shows, at once.
    await publish(db, "2027-Q1", 61.0, version=2, superseding=first)
    page = text_of(await visitor.get("/p/t1"))
    assert "2027-Q1 · version 2" in page and "61.0" in page and "88.5" not in page
    await visitor.get("/p/t1?period=2026-Q2")
    assert visitor.status == 200, "another period's page is still there"


async def test_cases_on_the_public_page_are_at_most_a_minute_old(
    web_bot: Bot, db: Database, clock: Clock, visitor: WebClient,
) -> None:
    await seed_quarters(db)
    assert "Cases raised: 8" in text_of(await visitor.get("/p/t1"))
    await add_case(db, "V1", opened_on=DAY, due_at=PAST, status=CaseStatus.CLOSED,
                   outcome=CaseOutcome.CONFIRMED, on_time=True, summary="Fixed the well pump")
    # Within the minute the page is kept as it was (browsers may keep it five minutes).
    assert "Cases raised: 8" in text_of(await visitor.get("/p/t1"))
    clock.offset_s += SAID_KEPT.total_seconds()
    page = text_of(await visitor.get("/p/t1"))
    assert "Cases raised: 9" in page and "Solved on time: 6 of 8" in page
    assert "North Township: public results" in page and "81.5" in page, "the rest as it was"
    chinese = text_of(await visitor.get("/p/t1?lang=zh"))
    assert "结果公示" in chinese and "群众反映问题：9 件" in chinese


async def test_the_public_page_shows_published_results_and_hides_small_groups(
    web_bot: Bot, db: Database, visitor: WebClient,
) -> None:
    await published(db)

    page = await visitor.get("/p/t1")
    assert visitor.status == 200
    assert "North Township: public results" in page
    assert "2026-Q3" in page and "2026-Q4" not in page, "a draft is never shown"
    assert "74.0" in page
    assert "Willow Village 81.5 good" in row_of(page, "Willow Village")
    # Pine Village has 4 responses, under the minimum of 5: neither the count nor a score.
    pine = row_of(page, "Pine Village")
    assert "not shown" in pine and "fewer than 5 responses" in pine
    assert not re.search(r"\b4\b", pine), pine
    # Nobody is named: not the cadre (the chat shows cadres to staff only), no Telegram id.
    assert "Cadre Wang" not in page and not shows_number(page, CADRE)
    # The self-assessment is a cadre's own rating: not public.
    assert "Self-assessment" not in page and "Resident satisfaction" in page
    # The trend over the two published quarters, drawn on the server.
    assert '<svg class="trend-chart"' in page and "<polyline" in page
    assert "<script" not in page

    assert visitor.headers["Cache-Control"] == "public, max-age=300"
    assert visitor.headers["Vary"] == "Accept-Language"
    assert "Set-Cookie" not in visitor.headers, "a cached public page carries no cookie"
    assert "script-src 'self'" in visitor.headers["Content-Security-Policy"]


async def test_the_public_page_of_a_suppressed_unit_and_its_periods(
    web_bot: Bot, db: Database, visitor: WebClient,
) -> None:
    await published(db)
    page = await visitor.get("/p/v2")
    assert visitor.status == 200
    assert "Pine Village: public results" in page
    assert "North Township" in page, "the places above link back"
    assert "fewer than 5 responses" in page and "Resident satisfaction" not in page
    assert "<polyline" not in page, "no trend is drawn from groups under the minimum"

    older = await visitor.get("/p/V1?period=2026-Q2")
    assert visitor.status == 200 and "2026-Q2 · version 1" in older

    for path in ("/p/nowhere", "/p/v1?period=2026-Q4", "/p/v1?period=junk!", "/p/a%20b"):
        await visitor.get(path)
        assert visitor.status == 404, path


async def test_the_public_page_in_chinese(
    web_bot: Bot, db: Database, visitor: WebClient,
) -> None:
    await published(db)
    async with visitor.session.get(visitor.base_url + "/p/t1",
                                   headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as response:
        page = await response.text()
    assert "North Township" in page and "结果公示" in page and "少于 5 份答卷" in page
    switched = await visitor.get("/p/t1?lang=en")
    assert "public results" in switched
    chosen = await visitor.get("/p/t1?lang=zh")
    assert "结果公示" in chosen and 'href="?lang=en"' in chosen


async def test_nothing_published_yet(web_bot: Bot, visitor: WebClient) -> None:
    page = await visitor.get("/p/v1")
    assert visitor.status == 200
    assert "No results have been published for this place yet." in page


# --- the link in the thanks -----------------------------------------------------------------


@pytest.fixture
async def public_bot(sandbox: BotApiSandbox, db: Database, clock: Clock) -> AsyncIterator[Bot]:
    """The bot with its dashboard, reached by residents at a public https address."""
    await seed_campaign(db)
    harness = Bot(sandbox, db, clock, web=True)
    harness.settings = harness.settings.model_copy(
        update={"web": WebSection(port=0, public_url=PUBLIC)})
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test_the_thanks_after_a_poll_link_to_the_units_public_page(
    public_bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await published(db)
    resident = await client.user(RESIDENT, "Li", language_code="en")
    await answer_all(resident)
    thanks = await tap_and_wait(resident, "✅ Submit", "Thank you")
    assert "Published results for Willow Village" in thanks.text
    assert f"{PUBLIC}/p/v1" in thanks.text

    # The linked page is there (read at the address the bot listens on; the public one is
    # the proxy's in front of it).
    assert public_bot.application is not None
    server = web_server_of(public_bot.application)
    assert server is not None and server._runner is not None
    host, port = server._runner.addresses[0][:2]
    visitor = WebClient(f"http://{host}:{port}")
    try:
        page = await visitor.get(thanks.text.split(PUBLIC, 1)[1].split()[0])
        assert visitor.status == 200 and "Willow Village: public results" in page
    finally:
        await visitor.close()


async def test_no_link_without_a_public_address(
    web_bot: Bot, client: SandboxClient,
) -> None:
    resident = await client.user(RESIDENT, "Li", language_code="en")
    await answer_all(resident)
    thanks = await tap_and_wait(resident, "✅ Submit", "Thank you")
    assert "/p/" not in thanks.text and "Published results" not in thanks.text


async def test_the_chat_poster_gets_a_second_code_for_the_public_page(
    public_bot: Bot, client: SandboxClient, db: Database,
) -> None:
    admin, _ = await admin_staff(client, db, unit="T1", name="Township admin")
    await admin.send("/campaign willow")
    report = await admin.wait_for_message("Responses")
    assert "🔳 QR code" in report.button_texts
    await admin.tap("🔳 QR code")
    assert_printable_qr(await photo(admin, "?start=willow"))
    second = await photo(admin, f"{PUBLIC}/p/v1")
    assert_printable_qr(second)
    with Image.open(io.BytesIO(second)) as image:
        assert read_qr(image) == f"{PUBLIC}/p/v1"


def read_qr(image: Image.Image) -> str:
    """The text of a QR code drawn by analysis.qr (12-pixel modules, a 4-module margin),
    read back by comparing its modules with the code of each candidate address."""
    grey = image.convert("L")
    size = grey.width // 12 - 8
    seen = [[grey.getpixel(((4 + x) * 12 + 6, (4 + y) * 12 + 6)) < 128  # type: ignore[operator]
             for x in range(size)] for y in range(size)]
    for candidate in (f"{PUBLIC}/p/v1", f"{PUBLIC}/p/t1"):
        code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
        code.add_data(candidate)
        code.make(fit=True)
        if code.get_matrix() == seen:
            return candidate
    return ""
