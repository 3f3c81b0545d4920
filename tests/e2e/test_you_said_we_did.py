""""You said, we did" in /results through the real Application, the sandbox and a real
database: the residents' cases of the admin's units for the published period, small cells
hidden, the handlers' public summaries, a resident's words only where they agreed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sandbox import SandboxClient
from storage.models import CaseOutcome, CaseStatus, Role
from storage.uow import Database
from surveys.people.roles import grant_role
from tests.cases.factories import add_case
from tests.e2e.conftest import Bot
from tests.e2e.fieldwork import make_cadre
from tests.e2e.test_results_chat import chinese_unit_names, no_code, ranking, staff

pytestmark = pytest.mark.e2e

ADMIN_T1, ADMIN_ZH, CADRE = 9411, 9412, 9401
DAY = date(2026, 8, 3)
PAST = datetime(2026, 9, 10, tzinfo=UTC)
AHEAD = datetime(2099, 1, 1, tzinfo=UTC)
CLOSED = CaseStatus.CLOSED
QUOTED = "The lamp by the school gate has been dark for a month"
PRIVATE = "My neighbour at No. 5 keeps dumping rubbish"


async def seed_cases(db: Database) -> None:
    """Willow (V1), 2026-Q3: 6 roads cases (5 settled, 4 on time; 5 answers) and 1
    overdue sanitation case; Pine (V2): 1 roads case; the county itself (outside the township
    admin's scope): 1."""
    wang = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await add_case(db, "V1", opened_on=DAY, due_at=PAST, status=CLOSED, handler_id=wang,
                   outcome=CaseOutcome.CONFIRMED, on_time=True, text=QUOTED, quotable=True,
                   summary="Replaced the lamp by the school gate", reports=3)
    await add_case(db, "V1", opened_on=DAY, due_at=PAST, status=CLOSED, handler_id=wang,
                   outcome=CaseOutcome.CONFIRMED, on_time=True, text=PRIVATE,
                   summary="Filled the potholes on Mill Road")
    await add_case(db, "V1", opened_on=DAY, due_at=PAST, status=CLOSED, handler_id=wang,
                   outcome=CaseOutcome.CONFIRMED, on_time=True)
    await add_case(db, "V1", opened_on=DAY, due_at=PAST, status=CLOSED, handler_id=wang,
                   outcome=CaseOutcome.PARTLY, on_time=True, summary="Patched the bridge rail")
    await add_case(db, "V1", opened_on=DAY, due_at=PAST, status=CLOSED, handler_id=wang,
                   outcome=CaseOutcome.NOT_SOLVED, on_time=False, reopened=1,
                   summary="Cleared the culvert")
    await add_case(db, "V1", opened_on=DAY, due_at=AHEAD)  # still within its deadline
    await add_case(db, "V1", opened_on=DAY, due_at=PAST, category="sanitation")  # overdue
    await add_case(db, "V2", opened_on=DAY, due_at=PAST, status=CLOSED,
                   outcome=CaseOutcome.UNCONFIRMABLE, on_time=True,
                   summary="Repainted the crossing")
    await add_case(db, "C1", opened_on=DAY, due_at=PAST, status=CLOSED,
                   outcome=CaseOutcome.CONFIRMED, on_time=True, summary="County-only work")


async def test_results_shows_you_said_we_did_for_the_admins_units(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await seed_cases(db)
    await ranking(db, "2026-Q3")
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")

    await admin.send("/results")
    body = (await admin.wait_for_message("You said, we did")).text
    for part in ("You said, we did · 2026-Q3",
                 "Cases raised: 8 (1 still within their deadline)",
                 "Solved on time: 5 of 7 (71%)",
                 "Confirmed solved by residents: 3.5 of 5 (70%; “partly” counts as half)",
                 "By category: Roads and lighting 7 · Other 1",
                 f"You said: “{QUOTED}”",
                 "We did: Replaced the lamp by the school gate (on time, the resident"
                 " confirmed it)",
                 "3 residents reported it",
                 "We did: Filled the potholes on Mill Road (on time, the resident confirmed it)",
                 "We did: Patched the bridge rail (on time, the resident says partly)",
                 "We did: Repainted the crossing (on time, no reply was asked for)",
                 "One place only: /results CODE 2026-Q3"):
        assert part in body, part
    assert PRIVATE not in body, "the resident did not agree to be quoted"
    assert "Cleared the culvert" not in body, "the resident said it was not solved"
    assert "County-only work" not in body, "outside the admin's scope"
    assert "· Roads and lighting · Willow Village" in body, "each case's unit by name"
    assert "· Roads and lighting · Pine Village" in body
    no_code(body)

    # One village: too few cases to break down or to show the answers.
    await admin.send("/results V2 2026-Q3")
    one = (await admin.wait_for_message("You said, we did")).text
    for part in ("Cases raised: 1", "Solved on time: 1 of 1 (100%)",
                 "fewer than 5 answered, so not shown",
                 "By category: not shown for fewer than 5 cases",
                 "We did: Repainted the crossing"):
        assert part in one, part
    assert "Replaced the lamp" not in one and "One place only" not in one


async def test_you_said_we_did_in_chinese_and_for_a_period_without_cases(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await seed_cases(db)
    await chinese_unit_names(db)
    await ranking(db, "2026-Q2")
    await ranking(db, "2026-Q3")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN_ZH, role=Role.ADMIN, unit_code="T1",
                         name="Admin Zhou", actor="test")
    admin = await client.user(ADMIN_ZH, "Zhou", language_code="zh")

    await admin.send("/results")
    body = (await admin.wait_for_message("您反映·我们办")).text
    for part in ("群众反映问题：8 件", "按期办结：5/7（71%）", "按类别：道路和照明 7 · 其他 1",
                 f"您说：“{QUOTED}”", "我们做：Replaced the lamp by the school gate（按期，"
                 "群众确认已解决）", "· 道路和照明 · 柳村", "· 道路和照明 · 松村"):
        assert part in body, part
    assert "Willow" not in body and "Pine" not in body
    no_code(body)

    await admin.send("/results T1 2026-Q2")
    earlier = (await admin.wait_for_message("2026-Q2 这里没有群众反映的问题")).text
    assert "Replaced the lamp" not in earlier


async def test_odd_texts_are_shown_as_text_and_cut_short(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    """Summaries and quotes are typed by people: markup is shown as typed, never run, and a
    long text is cut, so the section stays short and every message within Telegram's limit."""
    long_words = "The lamp post by the gate leans over the road. " * 40
    for _ in range(6):
        await add_case(db, "V1", opened_on=DAY, due_at=PAST, status=CLOSED,
                       outcome=CaseOutcome.CONFIRMED, on_time=True, quotable=True,
                       text=long_words, summary="<b>Fixed</b> & checked " + "x" * 2000)
    await ranking(db, "2026-Q3")
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")

    await admin.send("/results V1")
    body = (await admin.wait_for_message("You said, we did")).text
    assert body.count("We did: <b>Fixed</b> & checked…") == 5, "at most five, as typed, cut " \
        "between words (the run of x's is one word, left out whole)"
    assert body.count("…") >= 10, "each summary and quote cut short"
    quotes = [line.split("“", 1)[1].removesuffix("”") for line in body.split("\n")
              if "You said: “" in line]
    assert len(quotes) == 5
    for quote in quotes:
        kept = quote.removesuffix("…")
        assert quote.endswith("…") and long_words.startswith(kept)
        assert not long_words[len(kept)].isalnum(), f"cut inside a word: {kept[-20:]!r}"
    assert len(body) <= 4096
