"""Appraisal results in chat through the real Application, the sandbox and a real database:
/myscore with its chart, /results for scoped admins and auditors, /appeal, /appeals and the
answer that reaches the cadre; and every refusal, each leaving the database unchanged.

Runs and results are written straight through the repositories, in the stored detail schema
(see analysis/results.py), so these tests do not depend on how scores are computed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from sandbox import SandboxClient, SandboxUser
from storage.models import (
    AdminDialogue,
    Appeal,
    AppealStatus,
    AppraisalRun,
    AppraisalStatus,
    AuditEvent,
    Contact,
    Person,
    Role,
    Unit,
)
from storage.uow import Database
from surveys.people.roles import grant_role
from tests.e2e.conftest import Bot
from tests.e2e.fieldwork import make_cadre

pytestmark = pytest.mark.e2e

CADRE, OTHER_CADRE, RESIDENT = 9301, 9302, 9303
ADMIN_T1, ADMIN_V2, AUDITOR = 9311, 9312, 9313
PNG = b"\x89PNG\r\n\x1a\n"
FOR_CADRES = "This is for cadres"
FOR_STAFF = "this command is for admins and auditors"
REASON = "The inspection of the road was before the repair finished"
# The units' names in Chinese (the test units have none of their own).
CHINESE = {"C1": "河畔县", "T1": "北镇", "V1": "柳村", "V2": "松村"}
# As the scorer writes it: every component "Label (id)", long enough to be shortened in chat.
EXPLANATION = " ".join(
    ["Score 72.5 of 100: good, rank 3 of 12 cadres."]
    + ["Resident satisfaction (satisfaction): 72.5 from 40 answers, shrunk toward the average"
       " of 65.0 as if 10 more answers were there. Verified key tasks (key_tasks): 80.0 from"
       " 3 inspections."] * 6)
CODE = re.compile(r"\b(C1|T1|V1|V2)\b")


def no_code(text: str) -> None:
    """Units are named, never given by their codes."""
    assert CODE.search(text) is None, CODE.findall(text)


def cut_at_a_word(text: str, whole: str) -> None:
    """``text`` ends in the start of ``whole`` cut between two words, with "…"."""
    start = whole[:40]
    assert start in text, start
    kept = text[text.index(start):].split("\n")[0]
    assert kept.endswith("…"), kept
    kept = kept.removesuffix("…")
    assert whole.startswith(kept) and not whole[len(kept)].isalnum(), kept[-30:]


async def chinese_unit_names(db: Database) -> None:
    async with db.transaction() as uow:
        for code, name in CHINESE.items():
            await uow.session.execute(update(Unit).where(Unit.code == code).values(name_zh=name))


class Drawn:
    """What the charts were asked to draw (the words on them), in place of drawing."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[dict[str, Any]] = []
        from analysis import charts

        for name in ("score_chart", "ranking_chart"):
            real = getattr(charts, name)
            monkeypatch.setattr(charts, name, self._spy(real))

    def _spy(self, real: Any) -> Any:
        def drawn(*args: Any, **kwargs: Any) -> bytes:
            self.calls.append(kwargs)
            return bytes(real(*args, **kwargs))
        return drawn

    def labels(self) -> list[str]:
        """The title, the bars' labels and notes and every word of the chart."""
        [call] = self.calls
        bars = call.get("components") or call.get("bars") or []
        return [call["title"], *(b.label for b in bars), *(b.note for b in bars),
                call["texts"].components, call["texts"].axis]


# --- seeding --------------------------------------------------------------------------------


def component(ident: str, label: str, source: str, weight: float, score: float | None,
              n: int, note: str | None = None) -> dict[str, Any]:
    interval = None if score is None else [max(0.0, score - 8), min(100.0, score + 8)]
    return {"id": ident, "label": label, "source": source, "weight": weight,
            "used_weight": weight if score is not None else 0.0, "n": n,
            "raw_mean": None, "score": score, "interval": interval, "note": note}


def detail(name: str, unit: tuple[str, str], *, score: float | None, grade: str | None,
           status: str = "graded", rank: int | None = 1, ranked: int = 2, responses: int = 40,
           themes_note: str | None = None, exaggeration: bool = False,
           recognition: bool = False) -> dict[str, Any]:
    return {
        "name": name, "unit_code": unit[0], "unit_name": unit[1],
        "unit_name_zh": CHINESE.get(unit[0]), "unit_type": "village",
        "score": score, "grade": grade, "status": status, "rank": rank, "ranked": ranked,
        "responses": responses, "min_responses": 10,
        "components": [
            component("satisfaction", "Resident satisfaction", "residents", 0.6, score, responses,
                      None),
            component("key_tasks", "Verified key tasks", "inspections", 0.3,
                      None if score is None else 80.0, 3, "3 inspections"),
            component("self_view", "Self-assessment", "self_assessment", 0.1, None, 0,
                      "no self-assessment this period"),
        ],
        "excluded": {"too_fast": 2, "duplicate_comment": 1}, "excluded_total": 3,
        "others_view": None if score is None else score - 2.0,
        "self_view": None if score is None else score + 20.0,
        "exaggeration": exaggeration, "recognition": recognition,
        "training": [{"id": "residents", "en": "Working with residents", "zh": "群众工作方法"}],
        "themes": [{"topic": "road", "count": 12, "share": 0.3},
                   {"topic": "water", "count": 7, "share": 0.175}],
        "themes_note": themes_note,
        "explanation": EXPLANATION,
    }


async def unit_id(db: Database, code: str) -> int:
    async with db.reading() as uow:
        unit = await uow.units.by_code(code)
        assert unit is not None
        return unit.id


async def seed_run(db: Database, period: str, status: AppraisalStatus,
                   rows: list[dict[str, Any]], version: int = 1) -> int:
    """A run of ``period`` with result ``rows`` (kind, unit, person, detail...)."""
    at = datetime.now(UTC) - timedelta(days=1)
    async with db.transaction() as uow:
        run = await uow.appraisal.add_run(AppraisalRun(
            period=period, version=version, status=status, computed_at=at, computed_by="test",
            published_at=at if status != AppraisalStatus.DRAFT else None,
            published_by="test" if status != AppraisalStatus.DRAFT else None,
            config_hash="c" * 64, results_hash="r" * 64, summary={}))
        stored = []
        for row in rows:
            data = row["detail"]
            stored.append({
                "run_id": run.id, "kind": row["kind"], "unit_id": row["unit_id"],
                "person_id": row.get("person_id"), "status": data["status"],
                "score": data["score"], "grade": data["grade"], "rank": data["rank"],
                "responses": data["responses"], "recognition": data["recognition"],
                "exaggeration": data["exaggeration"], "detail": data})
        await uow.appraisal.add_results(stored)
        return run.id


async def cadre_result(db: Database, period: str, run_status: AppraisalStatus, person_id: int,
                       score: float | None, grade: str | None, version: int = 1,
                       **extra: Any) -> int:
    return await seed_run(db, period, run_status, [{
        "kind": "cadre", "unit_id": await unit_id(db, "V1"), "person_id": person_id,
        "detail": detail("Cadre Wang", ("V1", "Willow Village"), score=score, grade=grade,
                         **extra)}], version=version)


async def ranking(db: Database, period: str = "2026-Q3", cadre_id: int | None = None) -> int:
    """Unit results for every test unit (V2 without enough responses) and a cadre's."""
    rows: list[dict[str, Any]] = []
    units = [("C1", "Riverside County", 66.0, "fair", 3), ("T1", "North Township", 74.0,
                                                          "good", 2),
             ("V1", "Willow Village", 81.5, "good", 1)]
    for code, name, score, grade, rank in units:
        rows.append({"kind": "unit", "unit_id": await unit_id(db, code),
                     "detail": detail(name, (code, name), score=score, grade=grade, rank=rank,
                                      ranked=3, recognition=rank == 1)})
    rows.append({"kind": "unit", "unit_id": await unit_id(db, "V2"),
                 "detail": detail("Pine Village", ("V2", "Pine Village"), score=None,
                                  grade=None, status="not_enough_responses", rank=None,
                                  responses=4)})
    if cadre_id is not None:
        rows.append({"kind": "cadre", "unit_id": await unit_id(db, "V1"), "person_id": cadre_id,
                     "detail": detail("Cadre Wang", ("V1", "Willow Village"), score=79.0,
                                      grade="good", rank=1, ranked=1)})
    return await seed_run(db, period, AppraisalStatus.PUBLISHED, rows)


async def staff(client: SandboxClient, db: Database, user_id: int, role: Role,
                unit: str | None, name: str) -> tuple[SandboxUser, int]:
    async with db.transaction() as uow:
        person, _ = await grant_role(uow, telegram_user_id=user_id, role=role, unit_code=unit,
                                     name=name, actor="test")
    return await client.user(user_id, name), person.id


async def appeals(db: Database) -> list[Appeal]:
    async with db.reading() as uow:
        return list((await uow.session.scalars(select(Appeal).order_by(Appeal.id))).all())


async def audit(db: Database, action: str) -> list[AuditEvent]:
    async with db.reading() as uow:
        rows = await uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return list(rows.all())


async def dialogue_of(db: Database, person_id: int) -> AdminDialogue | None:
    async with db.reading() as uow:
        return await uow.session.get(AdminDialogue, person_id)


# --- /myscore -------------------------------------------------------------------------------


async def test_myscore_shows_the_latest_published_result_with_a_chart_and_the_trend(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q2", AppraisalStatus.PUBLISHED, person_id, 61.0, "fair")
    await cadre_result(db, "2026-Q3", AppraisalStatus.SUPERSEDED, person_id, 50.0, "poor")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 72.5, "good",
                       version=2, rank=3, ranked=12, exaggeration=True, recognition=True)
    # A draft of a later period is never shown.
    await cadre_result(db, "2026-Q4", AppraisalStatus.DRAFT, person_id, 99.0, "excellent")
    cadre = await client.user(CADRE, "Wang")

    await cadre.send("/myscore")
    photo = await cadre.wait_for_message("2026-Q3")
    assert photo.photo, "the chart arrives as a photo"
    assert photo.caption is not None and "72.5 (good)" in photo.caption
    assert (await cadre.download(photo)).startswith(PNG)
    text = await cadre.wait_for_message("Your appraisal")
    body = text.text
    for part in ("Your appraisal · 2026-Q3", "version 2", "Score: 72.5 / 100 · grade: good",
                 "Rank: 3 of 12", "Recognised",
                 "Resident satisfaction: 60% · 72.5 · n=40 · [64.5–80.5]",
                 "Verified key tasks: 30% · 80.0 · n=3 · [72.0–88.0] (3 inspections)",
                 "Self-assessment: 10% → 0% · no score · n=0 · no interval",
                 "Residents and inspectors: 70.5 · your self-assessment: 92.5",
                 "higher than what residents and inspectors report",
                 "road: 12 (30%)", "Working with residents",
                 "Excluded from the score: 3 responses", "answered too fast: 2",
                 "Trend: 2026-Q2 61.0 → 2026-Q3 72.5", "/appeal"):
        assert part in body, part
    assert "99" not in body and "2026-Q4" not in body, "drafts are never shown"
    assert "50.0" not in body, "superseded versions are never shown"
    assert len(body) <= 4096
    assert "Cadre Wang · Willow Village" in body
    no_code(body)
    # The explanation: its indicators by label only, shortened between two words.
    assert "(satisfaction)" not in body and "(key_tasks)" not in body
    cut_at_a_word(body, EXPLANATION.replace(" (satisfaction)", "").replace(" (key_tasks)", ""))


async def test_myscore_with_only_a_draft_says_nothing_is_published(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q4", AppraisalStatus.DRAFT, person_id, 88.0, "excellent")
    cadre = await client.user(CADRE, "Wang")

    await cadre.send("/myscore")
    reply = await cadre.wait_for_message("No published appraisal yet")
    assert "88" not in reply.text
    await cadre.expect_no_message()


async def test_myscore_not_enough_responses_is_not_graded_and_hides_themes(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, None, None,
                       status="not_enough_responses", rank=None, responses=4,
                       themes_note="fewer than 5 responses: themes hidden")
    cadre = await client.user(CADRE, "Wang")

    await cadre.send("/myscore")
    photo = await cadre.wait_for_message("2026-Q3")
    assert photo.photo and "not graded" in (photo.caption or "")
    text = await cadre.wait_for_message("Your appraisal")
    assert "not enough responses (4 of 10 needed)" in text.text
    assert "Residents' themes are not shown" in text.text
    assert "road" not in text.text and "Score:" not in text.text
    assert "Trend: this is your first published period" in text.text


async def test_myscore_for_a_resident_or_stranger_is_for_cadres(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    resident = await client.user(RESIDENT, "Resident")
    await resident.send("/myscore")
    await resident.wait_for_message(FOR_CADRES)
    await resident.send("/appeal " + REASON)
    await resident.wait_for_message(FOR_CADRES)
    assert await appeals(db) == []


async def test_myscore_in_chinese(bot: Bot, client: SandboxClient, db: Database,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = Drawn(monkeypatch)
    await chinese_unit_names(db)
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 86.0, "excellent")
    cadre = await client.user(CADRE, "Wang", language_code="zh")
    await cadre.send("/myscore")
    photo = await cadre.wait_for_message("2026-Q3")
    assert photo.photo and (await cadre.download(photo)).startswith(PNG)
    text = await cadre.wait_for_message("您的考核结果")
    assert "优秀" in text.text and "群众工作方法" in text.text
    assert "Cadre Wang · 柳村" in text.text and "Willow" not in text.text
    no_code(text.text)
    cut_at_a_word(text.text,
                  EXPLANATION.replace(" (satisfaction)", "").replace(" (key_tasks)", ""))
    # The chart speaks Chinese: its headings, and the components by their labels.
    words = drawn.labels()
    assert "Cadre Wang 2026-Q3" in words and "各项指标" in words
    assert "Resident satisfaction" in words and "satisfaction" not in words
    assert not {"Components", "Score"} & set(words)


# --- /results -------------------------------------------------------------------------------


async def test_results_for_a_scoped_admin_and_an_auditor(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await ranking(db, "2026-Q2")
    await ranking(db, "2026-Q3", cadre_id=person_id)
    await seed_run(db, "2026-Q4", AppraisalStatus.DRAFT, [])
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    auditor, _ = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")

    await admin.send("/results")
    chart = await admin.wait_for_message("2026-Q3")
    assert chart.photo and (await admin.download(chart)).startswith(PNG)
    table = await admin.wait_for_message("Units")
    body = table.text
    assert "Scope: North Township" in body
    assert "1. Willow Village — 81.5 good · n=40 🏅" in body
    assert "2. North Township — 74.0 good" in body
    assert "Pine Village — not enough responses (4 of 10)" in body
    assert "Riverside County" not in body, "outside the admin's scope"
    assert "Cadre Wang (Willow Village) — 79.0 good" in body
    assert "2026-Q4" not in body, "a draft period is not published"
    assert "Another one: /results PERIOD" in body
    no_code(body)

    await admin.send("/results C1")
    outside = await admin.wait_for_message("outside the area you oversee")
    assert "Sorry, Riverside County is outside" in outside.text
    await admin.send("/results NOPE")
    await admin.wait_for_message("There is no unit with the code “NOPE”")
    await admin.send("/results V1 2026-Q9")
    await admin.wait_for_message("I cannot read the period")
    await admin.send("/results V1 2025-Q1")
    await admin.wait_for_message("No appraisal was published for 2025-Q1")
    await admin.send("/results V2 2026-Q2")
    await admin.wait_for_message("2026-Q2")
    narrowed = await admin.wait_for_message("Units")
    assert "Pine Village" in narrowed.text and "Willow" not in narrowed.text

    await auditor.send("/results")
    await auditor.wait_for_message("2026-Q3")
    everything = await auditor.wait_for_message("Units")
    assert "Scope: all units" in everything.text
    assert "3. Riverside County — 66.0 fair" in everything.text
    no_code(everything.text)

    resident = await client.user(RESIDENT, "Resident")
    await resident.send("/results")
    await resident.wait_for_message(FOR_STAFF)


async def test_results_in_chinese_name_the_units_in_chinese_on_the_chart_too(
    bot: Bot, client: SandboxClient, db: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = Drawn(monkeypatch)
    await chinese_unit_names(db)
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await ranking(db, "2026-Q3", cadre_id=person_id)
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    admin = await client.user(ADMIN_T1, "Admin Liu", language_code="zh")

    await admin.send("/results")
    chart = await admin.wait_for_message("2026-Q3")
    assert chart.photo and (await admin.download(chart)).startswith(PNG)
    table = await admin.wait_for_message("考核结果")
    body = table.text
    assert "范围：北镇" in body
    assert "1. 柳村 — 81.5" in body and "2. 北镇 — 74.0" in body and "松村" in body
    assert "Cadre Wang（柳村）" in body or "Cadre Wang (柳村)" in body
    assert "Willow" not in body and "Pine" not in body
    no_code(body)
    words = drawn.labels()
    assert words[0] == "各单位 2026-Q3"
    assert {"柳村", "北镇", "松村", "回答不足"} <= set(words), words
    assert not any(CODE.search(word) for word in words)
    assert not {"Units 2026-Q3", "not enough responses"} & set(words)

    await admin.send("/results C1")
    outside = await admin.wait_for_message("不在您的管理范围内")
    assert "河畔县" in outside.text
    no_code(outside.text)


async def test_results_without_any_published_run(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await seed_run(db, "2026-Q4", AppraisalStatus.DRAFT, [])
    admin, _ = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    await admin.send("/results")
    await admin.wait_for_message("No appraisal has been published yet")


# --- /appeal --------------------------------------------------------------------------------


async def test_appeal_with_and_without_a_reason_and_only_once(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    result_run = await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 64.0,
                                    "fair")
    await make_cadre(db, OTHER_CADRE, "V2", "Cadre Li")
    auditor, _ = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")
    await staff(client, db, ADMIN_V2, Role.ADMIN, "V2", "Admin Sun")  # not for V1
    cadre = await client.user(CADRE, "Wang")

    # Without a reason: asked for it; the state is in the database.
    await cadre.send("/appeal")
    await cadre.wait_for_message("Send your reason as one message (10 to 1000 characters)")
    dialogue = await dialogue_of(db, person_id)
    assert dialogue is not None and dialogue.kind == "appeal"
    await cadre.send("Wrong")
    await cadre.wait_for_message("That reason is too short (5 characters)")
    assert await appeals(db) == []
    await cadre.send("x" * 1001)
    await cadre.wait_for_message("That reason is too long (1001 characters)")
    await cadre.send(REASON)
    filed = await cadre.wait_for_message("Appeal #")
    assert "against your result for 2026-Q3 (version 1, 64.0, fair)" in filed.text
    assert "answered by an admin or auditor responsible for Willow Village " \
           "(Auditor Zhao)" in filed.text
    no_code(filed.text)
    assert "Admin Sun" not in filed.text
    [appeal] = await appeals(db)
    assert appeal.reason == REASON and appeal.status == AppealStatus.OPEN
    assert appeal.person_id == person_id
    assert await dialogue_of(db, person_id) is None
    [event] = await audit(db, "appeal.file")
    assert event.entity_id == str(appeal.id) and event.after is not None
    assert event.after["reason"] == REASON and event.after["period"] == "2026-Q3"
    notified = await auditor.wait_for_message("New appeal")
    assert REASON in notified.text and "/appeals" in notified.text
    assert "Cadre Wang (Willow Village)" in notified.text
    no_code(notified.text)

    # Twice: refused with the first one's status, nothing added.
    await cadre.send("/appeal " + REASON + " again")
    await cadre.wait_for_message("You have already appealed this result")
    await cadre.send("/appeal")
    await cadre.wait_for_message("status: open")
    assert len(await appeals(db)) == 1 and len(await audit(db, "appeal.file")) == 1

    # A cadre with nothing published has nothing to contest.
    other = await client.user(OTHER_CADRE, "Li")
    await other.send("/appeal " + REASON)
    await other.wait_for_message("no published appraisal result of yours to contest")
    assert len(await appeals(db)) == 1
    assert result_run > 0


async def test_appeal_reason_dialogue_can_be_cancelled(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 64.0, "fair")
    cadre = await client.user(CADRE, "Wang")
    await cadre.send("/appeal")
    await cadre.wait_for_message("Send your reason")
    await cadre.send("/cancel")
    await cadre.wait_for_message("Cancelled: no appeal was filed")
    assert await dialogue_of(db, person_id) is None and await appeals(db) == []


# --- /appeals and answers -------------------------------------------------------------------


async def file(db: Database, client: SandboxClient, person_id: int) -> SandboxUser:
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 64.0, "fair")
    cadre = await client.user(CADRE, "Wang")
    await cadre.send("/appeal " + REASON)
    await cadre.wait_for_message("Appeal #")
    return cadre


async def test_auditor_upholds_an_appeal_and_the_cadre_is_told(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    auditor, auditor_id = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")
    cadre = await file(db, client, person_id)
    [appeal] = await appeals(db)
    await auditor.wait_for_message("New appeal")

    await auditor.send("/appeals")
    listing = await auditor.wait_for_message("Open appeals")
    assert f"#{appeal.id}" in listing.text and "Cadre Wang" in listing.text
    assert "2026-Q3" in listing.text and REASON in listing.text
    assert "Willow Village" in listing.text
    no_code(listing.text)
    uphold = f"✔ Uphold #{appeal.id}"
    assert listing.button_texts == [uphold, f"✖ Reject #{appeal.id}"]
    assert all(len((data or "").encode()) <= 64 for row in listing.buttons for _, data in row)

    await auditor.tap(uphold)
    asked = await auditor.wait_for_message("you chose to uphold it")
    assert "(Willow Village, 2026-Q3)" in asked.text
    no_code(asked.text)
    # The question survives a restart: the answer typed after it still lands.
    await bot.restart()
    await auditor.send("The road was inspected before the repair was finished.")
    done = await auditor.wait_for_message(f"Appeal #{appeal.id} upheld")
    assert "Cadre Wang has been sent your answer" in done.text
    told = await cadre.wait_for_message("was upheld")
    assert "The road was inspected before the repair was finished." in told.text
    assert "Auditor Zhao" in told.text

    [answered] = await appeals(db)
    assert answered.status == AppealStatus.UPHELD and answered.answered_by == auditor_id
    assert answered.answer == "The road was inspected before the repair was finished."
    [event] = await audit(db, "appeal.answer")
    assert event.before == {"status": "open", "answer": None, "answered_by": None}
    assert event.after is not None and event.after["status"] == "upheld"
    assert await dialogue_of(db, auditor_id) is None

    # The cadre's /myscore now shows the outcome.
    await cadre.send("/myscore")
    shown = await cadre.wait_for_message("Your appraisal")
    assert f"Your appeal #{appeal.id} was upheld" in shown.text

    # A stale button (the appeal is answered), a second answer and forged data: refused.
    await auditor.tap(f"✖ Reject #{appeal.id}", message_id=listing.message_id)
    stale = await auditor.wait_for_answer()
    assert f"Appeal #{appeal.id} has already been answered (upheld)" in stale.text
    await auditor.send(f"/answer {appeal.id} reject Changed my mind")
    await auditor.wait_for_message("has already been answered")
    await auditor.tap_data(listing.message_id, "ap:x:1")
    assert "not valid" in (await auditor.wait_for_answer()).text
    await auditor.tap_data(listing.message_id, "ap:u:99999")
    assert "no appeal #99999" in (await auditor.wait_for_answer()).text
    [still] = await appeals(db)
    assert still.status == AppealStatus.UPHELD and len(await audit(db, "appeal.answer")) == 1


async def test_a_chinese_reviewer_reads_the_appeal_with_the_unit_named_in_chinese(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await chinese_unit_names(db)
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    _, auditor_id = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")
    auditor = await client.user(AUDITOR, "Auditor Zhao", language_code="zh")
    async with db.transaction() as uow:  # as chosen with /language
        person = await uow.session.get(Person, auditor_id)
        assert person is not None and person.contact_id is not None
        await uow.session.execute(
            update(Contact).where(Contact.id == person.contact_id).values(language="zh"))
    cadre = await file(db, client, person_id)
    [appeal] = await appeals(db)
    notified = await auditor.wait_for_message("新申诉")
    assert "Cadre Wang（柳村）" in notified.text and "Willow" not in notified.text
    no_code(notified.text)

    await auditor.send("/appeals")
    listing = await auditor.wait_for_message("待答复的申诉")
    assert "柳村" in listing.text and "Willow" not in listing.text
    no_code(listing.text)
    await auditor.tap(f"✔ 支持 #{appeal.id}")
    asked = await auditor.wait_for_message(f"第 {appeal.id} 号申诉")
    assert "（柳村，2026-Q3）" in asked.text
    no_code(asked.text)
    # The cadre reads in English: the unit's name as entered.
    await cadre.send("/myscore")
    shown = await cadre.wait_for_message("Your appraisal")
    assert "Cadre Wang · Willow Village" in shown.text and "柳村" not in shown.text


async def test_answer_command_rejects_and_a_scoped_admin_sees_only_their_units(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    outside, _ = await staff(client, db, ADMIN_V2, Role.ADMIN, "V2", "Admin Sun")
    admin, admin_id = await staff(client, db, ADMIN_T1, Role.ADMIN, "T1", "Admin Liu")
    cadre = await file(db, client, person_id)
    [appeal] = await appeals(db)

    await outside.send("/appeals")
    await outside.wait_for_message("No open appeals in your scope")
    await outside.send(f"/answer {appeal.id} reject Not yours to answer")
    await outside.wait_for_message(f"There is no appeal #{appeal.id} that you can answer")

    await admin.send("/answer")
    await admin.wait_for_message("Usage: /answer ID uphold|reject")
    await admin.send(f"/answer {appeal.id} maybe Something")
    await admin.wait_for_message("Usage: /answer ID uphold|reject")
    await admin.send(f"/answer {appeal.id} reject")
    await admin.wait_for_message("Please write the answer the cadre will read")
    assert (await appeals(db))[0].status == AppealStatus.OPEN

    await admin.send(f"/answer {appeal.id} reject The survey closed after the repair.\n"
                     "The score stands.")
    await admin.wait_for_message(f"Appeal #{appeal.id} rejected")
    told = await cadre.wait_for_message("was rejected")
    assert "The score stands." in told.text and "The published result stands." in told.text
    [answered] = await appeals(db)
    assert answered.status == AppealStatus.REJECTED and answered.answered_by == admin_id


async def test_a_cadre_cannot_answer_their_own_appeal_nor_a_resident_any(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    # The cadre is also an auditor: they see their appeal but may not answer it.
    await staff(client, db, CADRE, Role.AUDITOR, None, "Cadre Wang")
    cadre = await file(db, client, person_id)
    [appeal] = await appeals(db)

    await cadre.send("/appeals")
    listing = await cadre.wait_for_message("Open appeals")
    assert "your own appeal" in listing.text and listing.buttons == []
    await cadre.tap_data(listing.message_id, f"ap:u:{appeal.id}")
    assert "is your own" in (await cadre.wait_for_answer()).text
    await cadre.send(f"/answer {appeal.id} uphold I agree with myself")
    await cadre.wait_for_message("is your own")

    resident = await client.user(RESIDENT, "Resident")
    await resident.send("/appeals")
    await resident.wait_for_message(FOR_STAFF)
    await resident.send(f"/answer {appeal.id} uphold Looks right")
    await resident.wait_for_message(FOR_STAFF)
    await resident.send("/answer")
    await resident.wait_for_message(FOR_STAFF)
    await resident.tap_data(listing.message_id, f"ap:u:{appeal.id}")
    assert FOR_STAFF in (await resident.wait_for_answer()).text

    [still] = await appeals(db)
    assert still.status == AppealStatus.OPEN and still.answer is None
    assert await audit(db, "appeal.answer") == []
    assert await dialogue_of(db, person_id) is None


async def test_cancelling_an_answer_keeps_the_appeal_open(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang")
    auditor, auditor_id = await staff(client, db, AUDITOR, Role.AUDITOR, None, "Auditor Zhao")
    await file(db, client, person_id)
    [appeal] = await appeals(db)
    await auditor.send("/appeals")
    await auditor.wait_for_message("Open appeals")
    await auditor.tap(f"✖ Reject #{appeal.id}")
    await auditor.wait_for_message("you chose to reject it")
    await auditor.send("/cancel")
    await auditor.wait_for_message(f"Answer dropped; appeal #{appeal.id} stays open")
    assert await dialogue_of(db, auditor_id) is None
    assert (await appeals(db))[0].status == AppealStatus.OPEN
    # Text now is nobody's dialogue: it goes on to the resident journey.
    await auditor.send("hello")
    reply = await auditor.wait_for_message()
    assert "Appeal" not in reply.text


async def test_appeal_does_not_throw_away_a_note_in_progress(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang", ["Road repair"])
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 64.0, "fair")
    cadre = await client.user(CADRE, "Wang")
    await cadre.send("/note Culvert cleared on the east road")
    await cadre.wait_for_message("Progress note")
    await cadre.send("/appeal")
    busy = await cadre.wait_for_message("You have a progress note in progress")
    assert "/appeal again" in busy.text
    dialogue = await dialogue_of(db, person_id)
    assert dialogue is not None and dialogue.kind == "note"
    assert dialogue.data.get("text") == "Culvert cleared on the east road"
    # A reason given in the command needs no dialogue: it is filed, and the draft kept.
    await cadre.send("/appeal " + REASON)
    await cadre.wait_for_message("Appeal #")
    kept = await dialogue_of(db, person_id)
    assert kept is not None and kept.kind == "note"


async def test_a_note_does_not_throw_away_an_appeal_being_written(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    person_id = await make_cadre(db, CADRE, "V1", "Cadre Wang", ["Road repair"])
    await cadre_result(db, "2026-Q3", AppraisalStatus.PUBLISHED, person_id, 64.0, "fair")
    cadre = await client.user(CADRE, "Wang")
    await cadre.send("/appeal")
    await cadre.wait_for_message("Send your reason")
    await cadre.send("/note Culvert cleared on the east road")
    busy = await cadre.wait_for_message("You are writing an appeal")
    assert "/note again" in busy.text
    dialogue = await dialogue_of(db, person_id)
    assert dialogue is not None and dialogue.kind == "appeal"
    # The reason still goes to the appeal.
    await cadre.send(REASON)
    await cadre.wait_for_message("Appeal #")
    assert len(await appeals(db)) == 1


# --- /help by role --------------------------------------------------------------------------


async def test_help_lists_the_commands_of_each_role_the_person_holds(
    bot: Bot, client: SandboxClient, db: Database,
) -> None:
    await make_cadre(db, CADRE, "V1", "Cadre Wang")
    cadre = await client.user(CADRE, "Cadre Wang")
    await cadre.send("/help")
    text = (await cadre.wait_for_message("/myscore")).text
    assert "anonymous polls" in text and "As a cadre" in text and "/appeal REASON" in text
    assert "As an admin" not in text and "/inspect" not in text

    auditor, _ = await staff(client, db, 9471, Role.AUDITOR, None, "Auditor Zhou")
    await auditor.send("/help")
    text = (await auditor.wait_for_message("As an auditor")).text
    assert "/results [UNIT] [PERIOD]" in text and "/appeals" in text and "/myscore" not in text

    resident = await client.user(9472, "Resident")
    await resident.send("/help")
    text = (await resident.wait_for_message("/units")).text
    assert "As a" not in text and "/results" not in text and "/myscore" not in text
