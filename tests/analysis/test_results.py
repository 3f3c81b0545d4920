"""The use cases behind results in chat (surveys.appraisal.results) and how their text is split for
Telegram (handlers.results.pack): stored results read defensively, themes kept from small
cells, the latest period chosen by period, scopes, and appeals answered once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.results import my_score_blocks, pack, refusal_text
from storage.models import AppealStatus, AppraisalResult, AppraisalRun, AppraisalStatus, Role
from storage.uow import Database
from surveys.appraisal import appeals, results
from surveys.appraisal.appeals import parse_answer
from surveys.appraisal.published_rows import PublishedRows, Snapshot
from surveys.appraisal.results import Breakdown
from surveys.people.caller import Caller, Refused
from surveys.people.roles import grant_role
from surveys.people.units import import_units
from tests.conftest import TEST_UNITS
from tests.e2e.fieldwork import make_cadre

NOW = datetime(2026, 12, 20, tzinfo=UTC)
CADRE, ADMIN, AUDITOR = 501, 502, 503


def result_row(detail: dict[str, Any] | None = None, **values: Any) -> AppraisalResult:
    row = AppraisalResult(id=1, run_id=1, kind="cadre", unit_id=None, person_id=None,
                          status="graded", score=70.0, grade="good", rank=1, responses=12,
                          recognition=False, exaggeration=False, detail=detail or {})
    for key, value in values.items():
        setattr(row, key, value)
    return row


# --- reading stored results -----------------------------------------------------------------


def test_an_empty_or_odd_detail_reads_with_defaults() -> None:
    shown = Breakdown.read(result_row(), min_cell=5)
    assert shown.graded and shown.score == 70.0 and shown.components == ()
    assert shown.excluded == {} and shown.excluded_total == 0 and shown.training == ()
    odd = Breakdown.read(result_row({
        "components": [{"id": "x", "interval": [1], "score": "high", "n": None}, "junk"],
        "excluded": {"too_fast": "2", "straight_lining": 0, "entry_burst": 3},
        "others_view": float("nan"), "ranked": True, "themes": "none",
    }), min_cell=5)
    [component] = odd.components
    assert component.label == "x" and component.score is None and component.low is None
    assert odd.excluded == {"entry_burst": 3} and odd.excluded_total == 3
    assert odd.others_view is None and odd.ranked is None


def test_the_row_not_the_detail_says_what_was_published() -> None:
    shown = Breakdown.read(result_row({"score": 99.0, "grade": "excellent"}), min_cell=5)
    assert shown.score == 70.0 and shown.grade == "good"


def test_ranked_among_is_read_when_ranked_is_missing() -> None:
    assert Breakdown.read(result_row({"ranked_among": 7}), min_cell=5).ranked == 7
    assert Breakdown.read(result_row({"ranked": 3, "ranked_among": 7}), min_cell=5).ranked == 3


def test_themes_are_hidden_for_small_cells_even_without_a_note() -> None:
    themes = {"themes": [{"topic": "road", "count": 6, "share": 0.5},
                         {"topic": "water", "count": 3, "share": 0.25}], "themes_note": None}
    shown = Breakdown.read(result_row(themes, responses=12), min_cell=5)
    assert [th.topic for th in shown.themes] == ["road"] and shown.themes_hidden
    small = Breakdown.read(result_row(themes, responses=4), min_cell=5)
    assert small.themes == () and small.themes_hidden
    plain = Breakdown.read(result_row({"themes": themes["themes"][:1]}), min_cell=5)
    assert plain.themes and not plain.themes_hidden
    # A note from the computation (some topics left out) keeps the themes it did show.
    noted = Breakdown.read(result_row({**themes, "themes_note": "1 topic(s) not shown"},
                                      responses=50), min_cell=5)
    assert [th.topic for th in noted.themes] == ["road"] and noted.themes_hidden
    assert not Breakdown.read(result_row({}), min_cell=5).themes_hidden


def test_parse_answer() -> None:
    assert parse_answer(["12", "uphold", "Fair point"]) == (12, "uphold", "Fair point")
    assert parse_answer(["#7", "REJECT"]) == (7, "reject", "")
    assert parse_answer(["x", "uphold", "t"]) is None
    assert parse_answer(["12", "maybe", "t"]) is None
    assert parse_answer(["12"]) is None
    # Any number is an appeal id: one that no appeal can have is "no such appeal" later.
    assert parse_answer(["1" * 30, "uphold", "t"]) == (int("1" * 30), "uphold", "t")
    for not_a_number in ("-1", "²", "٣", "1_0", "+5"):
        assert parse_answer([not_a_number, "uphold", "t"]) is None, not_a_number


# --- splitting for Telegram -----------------------------------------------------------------


def test_pack_keeps_every_message_within_the_limit() -> None:
    blocks = ["<b>Title</b>", "\n".join(f"• line {i} &amp; more" for i in range(400)),
              "x" * 5000 + " &amp;", "short"]
    messages = pack(blocks, limit=1000)
    assert all(len(m) <= 1000 for m in messages)
    assert messages[0].startswith("<b>Title</b>")
    assert messages[-1].endswith("short")
    joined = "\n".join(messages)
    assert "• line 399 &amp; more" in joined
    assert pack(["a", "b"], limit=10) == ["a\n\nb"]
    assert pack([]) == []


def test_pack_never_leaves_a_tag_open_or_an_entity_cut() -> None:
    line = "<b>" + "é" * 30 + "</b> " + "a" * 20 + "&amp;" + "b" * 50
    [cut] = pack([line], limit=60)
    assert "<b>" not in cut and len(cut) <= 60 and not cut.rstrip("…").endswith("&am")


def test_a_line_too_long_for_a_message_is_cut_at_a_word() -> None:
    line = "<i>" + " ".join(["averaging"] * 20) + "</i> &amp; more"
    [cut] = pack([line], limit=60)
    assert len(cut) <= 60 and cut.endswith("averaging…"), cut


def test_the_long_myscore_never_cuts_a_word_nor_shows_ids_or_codes() -> None:
    sentence = ("Resident satisfaction (satisfaction): 72.0, shrunk toward the average of"
                " 65.0 as if 10 more answers were there. ")
    detail = {"name": "Wang", "name_zh": "王芳", "unit_code": "RIVER-N-WILLOW",
              "unit_name": "Willow Village", "unit_name_zh": "柳村",
              "components": [{"id": "satisfaction", "label": "Resident satisfaction",
                              "score": 72.0, "n": 30, "weight": 1.0}],
              "explanation": sentence * 20}
    for lang in ("en", "zh"):
        shown = Breakdown.read(result_row(detail), min_cell=5, lang=lang)
        view = results.MyScore(lang, "Wang", "2026-Q4", 1, NOW, breakdown=shown)
        text = "\n".join(my_score_blocks(view))
        assert "RIVER-N-WILLOW" not in text and "(satisfaction)" not in text
        assert ("柳村" if lang == "zh" else "Willow Village") in text
        explained = next(line for line in text.split("\n") if "shrunk" in line)
        kept = explained.removesuffix("…").split("</i>", 1)[1].lstrip()
        whole = (sentence * 20).replace(" (satisfaction)", "")
        assert explained.endswith("…") and whole.startswith(kept)
        assert not whole[len(kept)].isalnum(), f"cut inside a word: {kept[-20:]!r}"


# --- the use cases --------------------------------------------------------------------------


def caller(user_id: int, lang: str = "en") -> Caller:
    return Caller(telegram_user_id=user_id, now=NOW, client_language=lang)


async def setup(db: Database) -> dict[str, int]:
    async with db.transaction() as uow:
        await import_units(uow, TEST_UNITS, actor="test")
    ids = {}
    async with db.reading() as uow:
        for unit in await uow.units.all():
            ids[unit.code] = unit.id
    return ids


async def add_run(db: Database, period: str, status: AppraisalStatus,
                  rows: list[dict[str, Any]], published_days_ago: int = 1,
                  version: int = 1) -> int:
    at = NOW - timedelta(days=published_days_ago)
    async with db.transaction() as uow:
        run = await uow.appraisal.add_run(AppraisalRun(
            period=period, version=version, status=status, computed_at=at, computed_by="t",
            published_at=at if status == AppraisalStatus.PUBLISHED else None,
            published_by="t", config_hash="c", results_hash="r", summary={}))
        await uow.appraisal.add_results([{
            "run_id": run.id, "kind": "cadre", "status": "graded", "grade": "good",
            "rank": 1, "responses": 20, "recognition": False, "exaggeration": False,
            "detail": {"name": "Wang"}, **row} for row in rows])
        return run.id


async def test_myscore_takes_the_latest_period_not_the_latest_publication(
    db: Database,
) -> None:
    units = await setup(db)
    person = await make_cadre(db, CADRE, "V1", "Wang")
    async with db.transaction() as uow:  # a second unit: its result is not the one shown
        found = await uow.cadres.get(person)
        v2 = await uow.units.by_code("V2")
        assert found is not None and v2 is not None
        await uow.people.grant(found, Role.CADRE, v2)
    rows = [{"unit_id": units["V2"], "person_id": person, "score": 10.0},
            {"unit_id": units["V1"], "person_id": person, "score": 60.0}]
    await add_run(db, "2026-Q4", AppraisalStatus.PUBLISHED, rows, published_days_ago=30)
    # Q3 republished later (a correction) must not pass for the latest period.
    await add_run(db, "2026-Q3", AppraisalStatus.PUBLISHED,
                  [{"unit_id": units["V1"], "person_id": person, "score": 50.0}],
                  published_days_ago=1, version=2)
    await add_run(db, "2026-11", AppraisalStatus.PUBLISHED,
                  [{"unit_id": units["V1"], "person_id": person, "score": 99.0}])
    await add_run(db, "2027-Q1", AppraisalStatus.DRAFT,
                  [{"unit_id": units["V1"], "person_id": person, "score": 1.0}])
    async with db.transaction() as uow:
        view = await results.my_score(uow, caller(CADRE))
    assert view.period == "2026-Q4" and view.breakdown is not None
    assert view.breakdown.score == 60.0, "the cadre's first unit"
    assert [(p.period, p.score) for p in view.trend] == [("2026-Q3", 50.0), ("2026-Q4", 60.0)]
    text = "\n".join(my_score_blocks(view))
    assert "99.0" not in text, "a month is not part of a quarterly trend"


async def test_refusals_are_clear_and_change_nothing(db: Database) -> None:
    await setup(db)
    async with db.transaction() as uow:
        with pytest.raises(Refused) as refused:
            await results.my_score(uow, caller(999, "zh"))
    assert refused.value.key == "not_cadre" and refused.value.lang == "zh"
    assert "仅供干部" in refusal_text(refused.value)
    async with db.transaction() as uow:
        with pytest.raises(Refused) as refused:
            await results.results_table(uow, caller(999))
    assert refused.value.key == "not_staff"


async def test_results_table_scope_and_arguments(db: Database) -> None:
    units = await setup(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code="V1",
                         name="Admin", actor="t")
    await add_run(db, "2026-Q4", AppraisalStatus.PUBLISHED, [
        {"kind": "unit", "unit_id": units[code], "score": score, "rank": rank,
         "detail": {"unit_code": code}}
        for code, score, rank in (("V1", 80.0, 1), ("V2", 70.0, 2), ("C1", 60.0, 3))])
    async with db.transaction() as uow:
        table = await results.results_table(uow, caller(ADMIN))
        assert [r.unit_code for r in table.units] == ["V1"] and table.scope == ("V1",)
        lone_period = await results.results_table(uow, caller(ADMIN), ["2026-Q4"])
        assert lone_period.period == "2026-Q4"
        lowercase = await results.results_table(uow, caller(ADMIN), ["v1"])
        assert [r.unit_code for r in lowercase.units] == ["V1"]
        for args, key in ((["V2"], "out_of_scope"), (["ZZ"], "unknown_unit"),
                          (["V1", "2026-13"], "bad_period"), (["V1", "2026"],
                                                              "no_published_period"),
                          (["V1", "2026-Q4", "x"], "usage_results")):
            with pytest.raises(Refused) as refused:
                await results.results_table(uow, caller(ADMIN), args)
            assert refused.value.key == key, args


async def test_a_published_versions_rows_are_read_once_and_a_drafts_never_kept(
        db: Database) -> None:
    units = await setup(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code=None,
                         name="Admin", actor="t")
    rows = [{"kind": "unit", "unit_id": units[code], "score": score, "rank": rank,
             "detail": {"unit_code": code, "unit_name": f"Unit {code}",
                        "unit_name_zh": f"单位{code}"}}
            for code, score, rank in (("V1", 80.0, 1), ("V2", 70.0, 2))]
    run_id = await add_run(db, "2026-Q4", AppraisalStatus.PUBLISHED, rows)
    kept = PublishedRows()
    async with db.transaction() as uow:
        fresh = await results.results_table(uow, caller(ADMIN))
        first = await results.results_table(uow, caller(ADMIN), published=kept)
        again = await results.results_table(uow, caller(ADMIN), published=kept)
        chinese = await results.results_table(uow, caller(ADMIN, "zh"), published=kept)
    assert first == fresh and again == fresh, "the same table, read once or every time"
    assert [r.unit_name for r in chinese.units] == ["单位V1", "单位V2"], "kept per language"
    assert len(kept._kept) == 2
    # A draft (its results can still be replaced) is read afresh every time, never kept.
    draft = AppraisalRun(id=run_id, period="2026-Q4", status=AppraisalStatus.DRAFT)
    async with db.reading() as uow:
        read = await kept.rows(uow, draft, "fr", lambda result: result.id)
    assert len(read) == 2 and ("fr" not in {lang for _run, lang in kept._kept})


async def test_the_kept_unit_tree_is_read_again_after_units_change(db: Database) -> None:
    await setup(db)
    kept = PublishedRows()
    async with db.reading() as uow:
        first = await kept.tree(uow)
        assert await kept.tree(uow) is first, "nothing audited since: the same tree"
    renamed = [replace(row, name="Willow Town") if row.code == "V1" else row
               for row in TEST_UNITS]
    async with db.transaction() as uow:
        await import_units(uow, renamed, actor="test")  # audited, as every change to units
    async with db.reading() as uow:
        again = await kept.tree(uow)
    assert again is not first and again.by_code["V1"].name == "Willow Town"


async def test_the_snapshots_key_moves_with_the_units_and_the_versions_only(
        db: Database) -> None:
    units = await setup(db)
    kept = PublishedRows()

    async def snapshot() -> Snapshot:
        async with db.reading() as uow:
            return await kept.snapshot(uow)

    first = await snapshot()
    async with db.transaction() as uow:  # audited, but neither a unit nor a version
        await uow.audit.record("t", "case.resolve", "case", "C-1", after={})
    again = await snapshot()
    assert again is not first and again.key == first.key, "read again, the same content"
    run_id = await add_run(db, "2026-Q4", AppraisalStatus.PUBLISHED, _unit_rows(units, "V1"))
    async with db.transaction() as uow:
        await uow.audit.record("t", "appraisal.publish", "appraisal_run", run_id, after={})
    published = await snapshot()
    assert published.key != first.key
    renamed = [replace(row, name="Willow Town") if row.code == "V1" else row
               for row in TEST_UNITS]
    async with db.transaction() as uow:
        await import_units(uow, renamed, actor="test")
    assert (await snapshot()).key not in {first.key, published.key}


def _unit_rows(units: dict[str, int], *codes: str) -> list[dict[str, Any]]:
    return [{"kind": "unit", "unit_id": units[code], "score": 90.0 - i, "rank": i + 1,
             "detail": {"unit_code": code, "unit_name": f"Unit {code}"}}
            for i, code in enumerate(codes)]


async def test_one_level_shows_the_scope_and_the_units_right_below_it(db: Database) -> None:
    units = await setup(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code=None,
                         name="Admin", actor="t")
    cadre = {"kind": "cadre", "unit_id": units["V1"], "score": 75.0,
             "detail": {"name": "Wang", "unit_code": "V1", "unit_name": "Unit V1"}}
    await add_run(db, "2026-Q4", AppraisalStatus.PUBLISHED,
                  [*_unit_rows(units, "C1", "T1", "V1", "V2"), cadre])
    kept = PublishedRows()
    async with db.reading() as uow:
        whole = await results.results_table(uow, caller(ADMIN), published=kept)
        top = await results.results_table(uow, caller(ADMIN), published=kept, one_level=True)
        township = await results.results_table(uow, caller(ADMIN), published=kept,
                                               unit_id=units["T1"], one_level=True)
    assert [r.unit_name for r in whole.units] == ["Unit C1", "Unit T1", "Unit V1", "Unit V2"]
    assert [r.unit_name for r in top.units] == ["Unit C1", "Unit T1"] and not top.cadres
    assert set(top.unit_of.values()) == {units["C1"], units["T1"]}, "each opens its level"
    assert [r.unit_name for r in township.units] == ["Unit T1", "Unit V1", "Unit V2"]
    assert [r.name for r in township.cadres] == ["Wang"]


async def test_a_new_publication_is_seen_at_once_though_versions_are_kept(
        db: Database) -> None:
    units = await setup(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code=None,
                         name="Admin", actor="t")
    await add_run(db, "2026-Q3", AppraisalStatus.PUBLISHED, _unit_rows(units, "V1"))
    kept = PublishedRows()
    async with db.reading() as uow:
        assert (await results.results_table(uow, caller(ADMIN), published=kept)).period \
            == "2026-Q3"
    # Publishing is audited in its own transaction, which is what tells the kept list is old.
    run_id = await add_run(db, "2026-Q4", AppraisalStatus.PUBLISHED, _unit_rows(units, "V2"),
                           published_days_ago=0)
    async with db.transaction() as uow:
        await uow.audit.record("t", "appraisal.publish", "appraisal_run", run_id, after={})
    async with db.reading() as uow:
        table = await results.results_table(uow, caller(ADMIN), published=kept)
    assert table.period == "2026-Q4" and table.periods == ("2026-Q3", "2026-Q4")


async def test_a_kept_result_is_shown_only_while_its_version_is_published(
        db: Database) -> None:
    units = await setup(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code="T1",
                         name="Admin", actor="t")
    old_run = await add_run(db, "2026-Q4", AppraisalStatus.PUBLISHED, _unit_rows(units, "V1"))
    draft_run = await add_run(db, "2026-Q4", AppraisalStatus.DRAFT, _unit_rows(units, "V1"),
                              version=2)
    async with db.reading() as uow:
        old_id, draft_id = [(await uow.appraisal.results(run))[0].id
                            for run in (old_run, draft_run)]
    kept = PublishedRows()

    async def view(result_id: int) -> str:
        async with db.reading() as uow:
            try:
                shown = await results.result_view(uow, caller(ADMIN), result_id,
                                                  published=kept)
            except Refused as refused:
                return refused.key
            assert shown.breakdown is not None
            return f"{shown.breakdown.unit_name} v{shown.version}"

    assert await view(old_id) == "Unit V1 v1"
    assert await view(old_id) == "Unit V1 v1", "kept, and still published"
    assert await view(draft_id) == "not_found"
    assert await view(10**9) == "not_found"
    # Version 2 published (audited, superseding version 1): the kept result of version 1
    # is no longer shown, and version 2's is.
    async with db.transaction() as uow:
        await uow.appraisal.set_status(old_run, AppraisalStatus.SUPERSEDED)
        await uow.appraisal.set_status(draft_run, AppraisalStatus.PUBLISHED, published_at=NOW)
        await uow.audit.record("t", "appraisal.publish", "appraisal_run", draft_run, after={})
    assert await view(old_id) == "not_found"
    assert await view(draft_id) == "Unit V1 v2"


async def test_a_page_finds_its_viewer_once(db: Database) -> None:
    """The dashboard's session read notes the person, so the page's use case does not ask
    the database for them again (a page's round trips are most of its cost)."""
    from sqlalchemy import event

    from surveys.people import sign_in
    from surveys.people.access import VIEW_ROLES
    from surveys.people.caller import acting_as

    await setup(db)
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code="T1",
                         name="Admin", actor="t")
        person = await uow.people.by_user(ADMIN)
        assert person is not None
        from storage.models import WebSession
        await uow.web.add_session(WebSession(
            token_hash=sign_in.digest("token-" + "x" * 30), person_id=person.id, via="link",
            client_language="en", expires_at=NOW + timedelta(hours=1)))
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async with db.reading() as uow:
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            viewer = await sign_in.viewer(uow, "token-" + "x" * 30, NOW)
            assert viewer is not None and len(statements) == 1, statements
            actor, lang = await acting_as(uow, viewer.caller, VIEW_ROLES, "not_staff")
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert actor.scopes(VIEW_ROLES) == [person.roles[0].unit_id] and lang == "en"


async def test_a_units_chain_up_is_read_in_one_query(db: Database) -> None:
    units = await setup(db)
    async with db.reading() as uow:
        assert set(await uow.units.ancestors(units["V1"])) == {units[c] for c in ("V1", "T1", "C1")}
        assert await uow.units.ancestors(units["C1"]) == [units["C1"]]
        assert await uow.units.ancestors(10**9) == []


async def test_an_appeal_is_answered_once(db: Database) -> None:
    units = await setup(db)
    person = await make_cadre(db, CADRE, "V1", "Wang")
    async with db.transaction() as uow:
        await grant_role(uow, telegram_user_id=AUDITOR, role=Role.AUDITOR, unit_code=None,
                         name="Auditor", actor="t")
        await grant_role(uow, telegram_user_id=ADMIN, role=Role.ADMIN, unit_code="T1",
                         name="Admin", actor="t")
    await add_run(db, "2026-Q4", AppraisalStatus.PUBLISHED,
                  [{"unit_id": units["V1"], "person_id": person, "score": 60.0}])
    async with db.transaction() as uow:
        filed = await appeals.file_appeal(uow, caller(CADRE), "  " + "r" * 20 + "  ")
    assert filed.reason == "r" * 20
    assert filed.reviewers == ("Admin", "Auditor"), "the narrowest scope first"
    assert {r.chat_id for r in filed.notify} == {ADMIN, AUDITOR}
    async with db.transaction() as uow:
        first = await appeals.answer_appeal(uow, caller(AUDITOR), filed.appeal_id,
                                            appeals.REJECT, "No.")
    assert first.cadre is not None and first.cadre.chat_id == CADRE
    async with db.transaction() as uow:
        with pytest.raises(Refused) as refused:
            await appeals.answer_appeal(uow, caller(ADMIN), filed.appeal_id, appeals.UPHOLD,
                                        "Yes.")
    assert refused.value.key == "appeal_answered" and refused.value.params["status"] == "rejected"
    async with db.reading() as uow:
        appeal = await uow.appeals.get(filed.appeal_id)
        assert appeal is not None and appeal.status == AppealStatus.REJECTED
        assert appeal.answer == "No."
    async with db.transaction() as uow:
        listed = await appeals.list_appeals(uow, caller(ADMIN))
    assert listed.items == () and listed.total == 0
