"""The dashboard's long lists (campaigns, cadres) a page at a time and narrowed to a unit a
level at a time: the pages' arithmetic and the level's links (pure), then on a real database
the pages in order (open campaigns first, each status newest first), the filters, the scope,
and a page's statements, as many for 60 campaigns as for 6 (never one per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from storage.campaigns import Slice
from storage.models import (
    Campaign,
    CampaignStatus,
    PersonRole,
    Response,
    ResponseStatus,
    Role,
    Unit,
)
from storage.uow import Database
from surveys.appraisal.published_rows import PublishedRows
from surveys.campaigns.admin import close_campaign, create_campaign
from surveys.campaigns.commands import STATUS_ORDER, list_campaigns, slices
from surveys.campaigns.progress import KeptCampaigns
from surveys.fieldwork import cadres
from surveys.fieldwork.invites import KeptCadres, list_cadres
from surveys.paging import Paging
from surveys.people.access import Actor, UnitTree, level
from surveys.people.caller import Caller, Refused
from surveys.people.roles import grant_role
from surveys.people.units import UnitRow, import_units
from surveys.questionnaire.catalog import SurveyCatalog
from surveys.questionnaire.loader import load_template
from tests.conftest import TEST_UNITS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
COUNTY_ADMIN, TOWNSHIP_ADMIN = 7101, 7102
SOUTH = [UnitRow("T2", "South Township", "C1", "township", 15_000, 5),
         UnitRow("V3", "Oak Village", "T2", "village", 900, 6)]
OPEN, SCHEDULED, DRAFT, CLOSED = (CampaignStatus.OPEN, CampaignStatus.SCHEDULED,
                                  CampaignStatus.DRAFT, CampaignStatus.CLOSED)


# --- pure: pages and slices -----------------------------------------------------------------


def test_a_page_knows_its_rows_and_its_neighbours() -> None:
    third = Paging.of(3, 50, 120)
    assert (third.number, third.pages, third.offset, third.first, third.last) == (3, 3, 100,
                                                                                 101, 120)
    assert (third.previous, third.next) == (2, None)
    first = Paging.of(1, 50, 120)
    assert (first.previous, first.next, first.first, first.last) == (None, 2, 1, 50)
    assert Paging.of(9, 50, 120).number == 3, "past the end: the last page"
    empty = Paging.of(1, 50, 0)
    assert (empty.pages, empty.first, empty.last, empty.next) == (1, 0, 0, None)


def test_a_page_of_several_statuses_is_a_slice_of_each_it_falls_in() -> None:
    counts = {OPEN: 3, DRAFT: 1, CLOSED: 100}
    assert slices(counts, STATUS_ORDER, 0, 50) == [
        Slice(OPEN, 0, 3), Slice(DRAFT, 0, 1), Slice(CLOSED, 0, 46)]
    assert slices(counts, STATUS_ORDER, 50, 50) == [Slice(CLOSED, 46, 50)]
    assert slices(counts, STATUS_ORDER, 100, 50) == [Slice(CLOSED, 96, 4)]
    assert slices(counts, STATUS_ORDER, 150, 50) == []
    assert slices(counts, [CLOSED], 50, 50) == [Slice(CLOSED, 50, 50)]


# --- pure: a level at a time ----------------------------------------------------------------


def _tree() -> UnitTree:
    rows = [("C1", None), ("T1", "C1"), ("V1", "T1"), ("V2", "T1"), ("T2", "C1"), ("V3", "T2")]
    ids = {code: i for i, (code, _parent) in enumerate(rows, start=1)}
    names = {"C1": "Riverside County", "T1": "North Township", "V1": "Willow Village",
             "V2": "Pine Village", "T2": "South Township", "V3": "Oak Village"}
    return UnitTree([Unit(id=ids[code], code=code, name=names[code],
                          parent_id=ids[parent] if parent else None) for code, parent in rows])


def _actor(*scopes: str | None, tree: UnitTree) -> Actor:
    return Actor(1, "Admin", tuple((Role.ADMIN, tree.by_code[s].id if s else None)
                                   for s in scopes))


def test_a_county_admin_starts_at_the_county_and_goes_down_a_level_at_a_time() -> None:
    tree = _tree()
    ids = {code: unit.id for code, unit in tree.by_code.items()}
    top = level(tree, _actor(None, tree=tree), [Role.ADMIN], None)
    assert top is not None and top.node is not None and top.node.code == "C1"
    assert [u.code for u in top.below] == ["T1", "T2"]  # by name
    assert top.up is None and top.roots is None, "everything: no scope in the statement"
    north = level(tree, _actor(None, tree=tree), [Role.ADMIN], ids["T1"])
    assert north is not None and north.node is not None and north.node.code == "T1"
    assert [u.code for u in north.below] == ["V2", "V1"]
    assert north.up == ids["C1"] and north.roots == (ids["T1"],)
    village = level(tree, _actor(None, tree=tree), [Role.ADMIN], ids["V1"])
    assert village is not None and village.below == [] and village.up == ids["T1"]
    assert level(tree, _actor(None, tree=tree), [Role.ADMIN], 99) is None


def test_a_township_admin_stays_in_the_township() -> None:
    tree = _tree()
    ids = {code: unit.id for code, unit in tree.by_code.items()}
    admin = _actor("T1", tree=tree)
    top = level(tree, admin, [Role.ADMIN], None)
    assert top is not None and top.node is not None and top.node.code == "T1"
    assert top.up is None, "nowhere above the scope"
    assert top.roots == (ids["T1"],)
    assert level(tree, admin, [Role.ADMIN], ids["V2"]) is not None
    for outside in ("C1", "T2", "V3"):
        assert level(tree, admin, [Role.ADMIN], ids[outside]) is None, outside


def test_two_scopes_start_above_both_and_one_inside_another_adds_nothing() -> None:
    tree = _tree()
    ids = {code: unit.id for code, unit in tree.by_code.items()}
    both = level(tree, _actor("T2", "T1", "V1", tree=tree), [Role.ADMIN], None)
    assert both is not None and both.node is None
    assert [u.code for u in both.below] == ["T1", "T2"] and both.up is None
    assert both.roots == (ids["T1"], ids["T2"])
    north = level(tree, _actor("T2", "T1", tree=tree), [Role.ADMIN], ids["T1"])
    assert north is not None and north.up == 0, "back to the whole scope"


# --- on a database --------------------------------------------------------------------------


def _caller(user: int) -> Caller:
    return Caller(telegram_user_id=user, now=NOW)


async def _campaigns(db: Database, n_closed: int, prefix: str = "c") -> None:
    """Admins, the units, three open campaigns (V1, V2, V3) and ``n_closed`` closed ones,
    each opened an hour before the last: every status's list newest first is known."""
    survey = load_template("resident_satisfaction")
    async with db.transaction() as uow:
        await import_units(uow, [*TEST_UNITS, *SOUTH], actor="test")
        await grant_role(uow, telegram_user_id=COUNTY_ADMIN, role=Role.ADMIN, unit_code=None,
                         name="County admin", actor="test")
        await grant_role(uow, telegram_user_id=TOWNSHIP_ADMIN, role=Role.ADMIN,
                         unit_code="T1", name="Township admin", actor="test")
        for i in range(3 + n_closed):
            opens = NOW - timedelta(hours=i + 1)
            await create_campaign(uow, survey=survey, unit_code=("V1", "V2", "V3")[i % 3],
                                  code=f"{prefix}{i:03d}", opens_at=opens,
                                  closes_at=NOW + timedelta(days=30), now=opens, actor="test")
        await uow.session.flush()
        await uow.session.execute(
            update(Campaign).where(Campaign.code >= f"{prefix}003")
            .values(status=CampaignStatus.CLOSED, closed_at=NOW - timedelta(minutes=1)))


async def _every_page(db: Database, user: int, **kwargs: Any) -> list[str]:
    codes: list[str] = []
    page = 1
    while True:
        async with db.reading() as uow:
            listing = await list_campaigns(uow, _caller(user), page=page, size=50, **kwargs)
        codes += [r.campaign.code for r in listing.reports]
        if listing.paging.next is None:
            return codes
        page = listing.paging.next


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_the_pages_hold_open_campaigns_first_then_each_status_newest_first(
        db: Database) -> None:
    await _campaigns(db, 60)
    async with db.reading() as uow:
        first = await list_campaigns(uow, _caller(COUNTY_ADMIN), page=1, size=50)
        second = await list_campaigns(uow, _caller(COUNTY_ADMIN), page=2, size=50)
    assert first.total == 63 and first.counts == {OPEN: 3, CLOSED: 60}
    assert (first.paging.pages, first.paging.next, second.paging.previous) == (2, 2, 1)
    assert [r.campaign.code for r in first.reports][:4] == ["c000", "c001", "c002", "c003"]
    assert [r.campaign.status for r in first.reports[:3]] == [OPEN] * 3
    assert len(first.reports) == 50 and len(second.reports) == 13
    assert [r.campaign.code for r in second.reports][-1] == "c062", "the oldest last"
    assert await _every_page(db, COUNTY_ADMIN) == [f"c{i:03d}" for i in range(63)]


async def test_a_status_a_unit_and_the_scope_narrow_the_list(db: Database) -> None:
    await _campaigns(db, 60)
    closed = await _every_page(db, COUNTY_ADMIN, status=CLOSED)
    assert closed == [f"c{i:03d}" for i in range(3, 63)]
    assert await _every_page(db, COUNTY_ADMIN, status=SCHEDULED) == []
    async with db.reading() as uow:
        units = {u.code: u.id for u in await uow.units.all()}
        south = await list_campaigns(uow, _caller(COUNTY_ADMIN), unit_id=units["T2"])
        township = await list_campaigns(uow, _caller(TOWNSHIP_ADMIN), page=2, size=10)
        with pytest.raises(Refused):
            await list_campaigns(uow, _caller(TOWNSHIP_ADMIN), unit_id=units["T2"])
        with pytest.raises(Refused):
            await list_campaigns(uow, _caller(TOWNSHIP_ADMIN), unit_id=10**6)
    # Every third campaign is Oak Village's (South Township).
    assert [r.campaign.code for r in south.reports] == [f"c{i:03d}" for i in range(2, 63, 3)]
    assert south.path == "Riverside County › South Township"
    assert south.level.node is not None and south.level.node.code == "T2"
    assert township.total == 42 and township.paging.pages == 5
    assert all(r.campaign.unit.code in ("V1", "V2") for r in township.reports)
    assert township.level.up is None, "a township admin cannot widen past the township"


async def test_a_pages_figures_are_counted_for_its_rows_in_as_many_statements_as_ever(
        db: Database) -> None:
    await _campaigns(db, 3, prefix="a")
    async with db.transaction() as uow:
        campaign = await uow.campaigns.by_code("a001")
        assert campaign is not None
        for i, status in enumerate([ResponseStatus.COMPLETED] * 4 + [ResponseStatus.IN_PROGRESS]):
            uow.session.add(Response(
                campaign_id=campaign.id, survey_id=campaign.survey_id,
                respondent_key=f"{i:064d}", status=status, language="en", started_at=NOW,
                completed_at=NOW if status == ResponseStatus.COMPLETED else None))
    async def listed() -> tuple[int, dict[str, tuple[int, int]]]:
        kept = KeptCampaigns(PublishedRows(), SurveyCatalog())  # nothing kept yet
        async with db.reading() as uow:
            await kept.published.tree(uow)  # what a page before this one kept
            with counting(db) as statements:
                listing = await list_campaigns(uow, _caller(COUNTY_ADMIN), size=50, kept=kept)
        return len(statements), {r.campaign.code: (r.completed, r.started)
                                 for r in listing.reports}

    few, figures = await listed()
    assert figures["a001"] == (4, 5) and figures["a000"] == (0, 0)
    await _campaigns_more(db, 60)
    many, figures = await listed()
    assert len(figures) == 50 and figures["a001"] == (4, 5)
    assert many == few, "a page costs the same whatever the county holds"


async def _campaigns_more(db: Database, n: int) -> None:
    survey = load_template("resident_satisfaction")
    async with db.transaction() as uow:
        for i in range(n):
            opens = NOW - timedelta(days=2, hours=i)
            await create_campaign(uow, survey=survey, unit_code="V2", code=f"more{i:03d}",
                                  opens_at=opens, closes_at=NOW + timedelta(days=3),
                                  now=opens, actor="test")


async def test_the_cadres_of_the_scope_a_page_at_a_time_by_name(db: Database) -> None:
    await _campaigns(db, 0)
    async with db.transaction() as uow:
        units = {u.code: u.id for u in await uow.units.all()}
        for i in range(57):
            person = await uow.cadres.create(f"Cadre {i:02d}", "Village head")
            uow.session.add(PersonRole(person_id=person.id, role=Role.CADRE,
                                       unit_id=units[("V1", "V2", "V3")[i % 3]]))
            if i % 2:
                await uow.cadres.add_task(person.id, f"Task of {i}", None)
    async with db.reading() as uow:
        first = await list_cadres(uow, _caller(COUNTY_ADMIN), size=50)
        second = await list_cadres(uow, _caller(COUNTY_ADMIN), page=2, size=50)
        north = await list_cadres(uow, _caller(TOWNSHIP_ADMIN), size=50)
        oak = await list_cadres(uow, _caller(COUNTY_ADMIN), unit_id=units["V3"])
        with pytest.raises(Refused):
            await list_cadres(uow, _caller(TOWNSHIP_ADMIN), unit_id=units["V3"])
    names = [p.name for p in first.profiles + second.profiles]
    assert names == [f"Cadre {i:02d}" for i in range(57)] and first.total == 57
    assert (len(first.profiles), second.paging.previous, second.paging.next) == (50, 1, None)
    assert [t.title for t in second.profiles[1].tasks] == ["Task of 51"]
    assert second.profiles[0].tasks == ()
    assert north.total == 38 and all(p.units[0].code in ("V1", "V2") for p in north.profiles)
    assert [p.name for p in oak.profiles] == [f"Cadre {i:02d}" for i in range(2, 57, 3)]


async def test_a_page_is_kept_until_the_audit_log_moves(db: Database) -> None:
    """Every change to campaigns and profiles is audited: a page read once is served again
    until then, and a change made the audited way shows at once."""
    await _campaigns(db, 0)
    published = PublishedRows()
    kept, kept_cadres = KeptCampaigns(published, SurveyCatalog()), KeptCadres(published)

    async def shown() -> tuple[list[tuple[str, CampaignStatus]], list[str]]:
        async with db.reading() as uow:
            listing = await list_campaigns(uow, _caller(COUNTY_ADMIN), kept=kept)
            profiles = await list_cadres(uow, _caller(COUNTY_ADMIN), kept=kept_cadres)
        return ([(r.campaign.code, r.campaign.status) for r in listing.reports],
                [p.name for p in profiles.profiles])

    before = await shown()
    assert before == ([("c000", OPEN), ("c001", OPEN), ("c002", OPEN)], [])
    async with db.transaction() as uow:
        await close_campaign(uow, "c001", NOW, "test")
    campaigns, _ = await shown()
    assert campaigns == [("c000", OPEN), ("c002", OPEN), ("c001", CLOSED)], "audited: at once"

    # Written behind the use cases' back (nothing audited): the kept page stands.
    async with db.transaction() as uow:
        person = await uow.cadres.create("Cadre Hu", None)
        village = await uow.units.by_code("V1")
        assert village is not None
        uow.session.add(PersonRole(person_id=person.id, role=Role.CADRE, unit_id=village.id))
    assert (await shown())[1] == []
    async with db.transaction() as uow:
        await uow.audit.record("test", "test.event", "person", person.id)
    assert (await shown())[1] == ["Cadre Hu"]


async def test_a_kept_page_says_a_link_expired_once_it_has(db: Database) -> None:
    """A link expires with time alone, no audit: the page kept is made again for it."""
    await _campaigns(db, 0)
    async with db.transaction() as uow:
        await cadres.create_profile(uow, cadres.ProfileDraft("Cadre Hu", "Head", ("V1",)),
                                    actor="test", now=NOW, valid_for=timedelta(days=2))
    kept = KeptCadres(PublishedRows())

    async def state(at: datetime) -> tuple[str, tuple[object, ...]]:
        async with db.reading() as uow:
            listing = await list_cadres(uow, Caller(telegram_user_id=COUNTY_ADMIN, now=at),
                                        kept=kept)
        return listing.profiles[0].link.latest, listing.version

    pending, first = await state(NOW + timedelta(days=1))
    assert pending == cadres.PENDING
    assert await state(NOW + timedelta(days=1, hours=1)) == (cadres.PENDING, first)
    expired, later = await state(NOW + timedelta(days=3))
    assert expired == cadres.EXPIRED and later != first, "another version: rendered anew"
    assert (await state(NOW + timedelta(hours=1)))[0] == cadres.PENDING
